"""Evaluation against sentence labels: hand-checkable numbers on a small study folder."""
from __future__ import annotations

import pandas as pd
import pytest

from conftest import SEED_LABELS
from typer.testing import CliRunner

from framescope.artifacts import write_table
from framescope.errors import InputError
from framescope.validate.evaluate import evaluate_study, format_report, normalise_text, read_labels

SENTENCES = [
    # source, text, is_body, theme
    ("a", "Climate change is the defining challenge of our age.", True, "climate"),
    ("a", "Temperatures are rising fast.", True, "climate"),
    ("a", "Sophie answered questions.", True, "climate"),
    ("a", "Photo: Reuters", False, None),
    ("b", "The border issue was resolved.", True, "border_settlement"),
    ("b", "Trade grew seventy-fold.", True, "topic_0"),
    ("b", "Kazakhstan will hold elections.", True, "topic_1"),
    ("b", "He said so.", True, "unassigned"),
]
LABELS = [
    ("a", "Climate change is the defining challenge of our age.", "climate"),
    ("a", "Temperatures are rising fast.", "climate"),
    ("a", "Sophie answered questions.", "other"),
    ("b", "The border issue was resolved.", "border_settlement"),
    ("b", "Trade grew seventy-fold.", "bri_coercion"),
    ("b", "Kazakhstan will hold elections.", "other"),
    ("b", "He said so.", "other"),
    ("b", "A sentence that the study does not have.", "climate"),
]


@pytest.fixture
def study(tmp_path):
    rows = [dict(sentence_id=f"d0000-s{i:04d}", doc_id="d0000", source=s, text=t, is_body=b, theme=th)
            for i, (s, t, b, th) in enumerate(SENTENCES)]
    write_table(pd.DataFrame(rows), tmp_path / "study" / "sentences.parquet")
    themes = pd.DataFrame({"theme": ["climate", "border_settlement", "bri_coercion", "topic_0", "topic_1"],
                           "named": [True, True, True, False, False]})
    write_table(themes, tmp_path / "study" / "themes.parquet")
    labels = tmp_path / "labels.csv"
    pd.DataFrame(LABELS, columns=["source", "text", "label"]).to_csv(labels, index=False)
    return tmp_path / "study", labels


def test_per_theme_scores_ari_and_unassigned(study):
    r = evaluate_study(*study)
    per = r["per_theme"].set_index("theme")
    # climate: assigned 3, labelled 2, both right -> P 2/3, R 1, F1 0.8
    assert per.loc["climate", ["n_labelled", "n_assigned", "true_positive"]].tolist() == [2, 3, 2]
    assert per.loc["climate", "precision"] == pytest.approx(2 / 3)
    assert per.loc["climate", "f1"] == pytest.approx(0.8)
    assert per.loc["border_settlement", "f1"] == pytest.approx(1.0)
    # bri_coercion: labelled once, never assigned (the study put it in a discovered topic)
    assert per.loc["bri_coercion", "recall"] == 0 and per.loc["bri_coercion", "f1"] == 0
    assert r["n_labels"] == 8 and r["n_matched"] == 7
    assert r["unmatched"] == [{"source": "b", "text": "A sentence that the study does not have."}]
    assert r["unassigned_share"] == pytest.approx(1 / 7)  # body sentences only; the caption is not counted
    assert -1 <= r["ari"] < 1


def test_labels_match_despite_quotes_case_and_spacing(study, tmp_path):
    labels = tmp_path / "curly.csv"
    pd.DataFrame([("a", "  CLIMATE change is the defining   challenge of our age. ", "climate")],
                 columns=["source", "text", "label"]).to_csv(labels, index=False)
    r = evaluate_study(study[0], labels)
    assert r["n_matched"] == 1
    assert normalise_text("“Wolf warrior” – diplomacy’s") == normalise_text('"wolf warrior" - diplomacy\'s')


def test_report_text(study):
    text = format_report(evaluate_study(*study))
    assert "climate" in text and "0.800" in text and "unassigned body sentences: 14.3% of 7" in text
    assert "A sentence that the study does not have." in text


def test_cli_evaluate(study):
    from framescope.cli import app

    res = CliRunner().invoke(app, ["evaluate", str(study[0]), "--labels", str(study[1])])
    assert res.exit_code == 0, res.output
    assert "border_settlement" in res.output


@pytest.mark.parametrize("content, message", [
    ("source,text\na,b\n", "lacks column"),
    ("source,text,label\na,b,\n", "empty label"),
])
def test_bad_label_files(tmp_path, content, message):
    p = tmp_path / "labels.csv"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_labels(p)


def test_missing_study_or_labels(tmp_path, study):
    with pytest.raises(InputError, match="label file not found"):
        read_labels(tmp_path / "none.csv")
    with pytest.raises(InputError, match="no themed sentences"):
        evaluate_study(tmp_path / "empty", study[1])


def test_seed_labels_cover_every_body_sentence():
    """The shipped reader labels: one per body sentence of the seed, only known keys."""
    from framescope.validate.evaluate import seed_inputs

    sentences, codebook, labels = seed_inputs(SEED_LABELS)
    assert set(labels["label"]) <= set(codebook.keys) | {"other"}
    body = sentences[sentences["is_body"]]
    keys = set(zip(body["source"], body["text"].map(normalise_text)))
    assert keys == set(zip(labels["source"], labels["text"].map(normalise_text)))
