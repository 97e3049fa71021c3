"""`framescope validate`: agreement with the researcher's labels and emphasis corrected for
misclassification (adjusted classify-and-count), with one-line errors for bad label files."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import seed_labels_by_id
from framescope.validate.correction import (MIN_LABELS, adjusted_shares, corrected_emphasis, errors_by_source,
                                            misclassification)


# --------------------------------------------------------------------------- the method on a known case

CONFUSION = {"econ": {"econ": 0.7, "war": 0.2, "unassigned": 0.1},
             "war": {"econ": 0.1, "war": 0.8, "unassigned": 0.1},
             "unassigned": {"econ": 0.3, "war": 0.1, "unassigned": 0.6}}


def _synthetic(n_per_source=1000, confusion_of=None):
    """Two sources with known true shares; the 'study' mislabels an exactly known share of each
    theme, the same in both sources (the assumption adjusted classify-and-count rests on), or
    per source with ``confusion_of``."""
    truth_share = {"A": {"econ": 0.6, "war": 0.3, "unassigned": 0.1}, "B": {"econ": 0.2, "war": 0.5, "unassigned": 0.3}}
    # P(study says j | truly i): econ is often called war, war rarely econ, unassigned often econ
    rows = []
    for source, shares in truth_share.items():
        confusion = (confusion_of or {}).get(source, CONFUSION)
        i = 0
        for t, share in shares.items():
            n_true = int(round(share * n_per_source))
            said = [p for p, q in confusion[t].items() for _ in range(int(round(q * n_true)))]
            for p in said:
                rows.append(dict(sentence_id=f"{source}-s{i:04d}", doc_id=f"{source}{i // 6}", paragraph=i // 3,
                                 source=source, is_body=True, theme=p, truth=t))
                i += 1
    sentences = pd.DataFrame(rows).sample(frac=1.0, random_state=0).reset_index(drop=True)
    emphasis = (sentences.groupby(["source", "theme"]).size() / sentences.groupby("source").size()) \
        .rename("share").reset_index()
    return sentences, emphasis, truth_share


def test_adjusted_classify_and_count_recovers_known_shares():
    sentences, emphasis, truth = _synthetic()
    labelled = sentences.sample(600, random_state=1)  # the researcher labels 600 of 2,000
    labels = pd.DataFrame({"sentence_id": labelled["sentence_id"],
                           "label": labelled["truth"].replace({"unassigned": "none"})})
    out = corrected_emphasis(sentences, labels, emphasis, n_boot=300, seed=3).set_index(["source", "theme"])
    raw_error = max(abs(out.loc[(s, t), "share"] - truth[s][t]) for s in truth for t in truth[s])
    errors = [abs(out.loc[(s, t), "share_corrected"] - truth[s][t]) for s in truth for t in truth[s]]
    assert raw_error > 0.1  # the study's own shares are badly off…
    assert np.mean(errors) < 0.05 and max(errors) < 0.1, errors  # …the corrected ones are not
    covered = [out.loc[(s, t), "ci_low"] <= truth[s][t] <= out.loc[(s, t), "ci_high"] for s in truth for t in truth[s]]
    assert sum(covered) >= 5, covered
    assert out["corrected"].all()
    again = corrected_emphasis(sentences, labels, emphasis, n_boot=300, seed=3).set_index(["source", "theme"])
    pd.testing.assert_frame_equal(out, again)  # seeded: the same intervals on every run


def test_sources_that_err_differently_are_corrected_each_by_its_own_errors_when_asked():
    """The pooled correction assumes one error pattern; when half of source B's war sentences are
    called unassigned and A's are not, B's pooled correction is off, and each source's own (partially
    pooled, ``pool_strength``) error matrix recovers both; a very large strength is the pooled one."""
    b_errs = {**CONFUSION, "war": {"econ": 0.05, "war": 0.45, "unassigned": 0.5}}
    sentences, emphasis, truth = _synthetic(n_per_source=5000, confusion_of={"B": b_errs})
    labelled = sentences.sample(4000, random_state=1)  # many labels: a source's own matrix is noisy
    labels = pd.DataFrame({"sentence_id": labelled["sentence_id"],
                           "label": labelled["truth"].replace({"unassigned": "none"})})
    cells = [(s, t) for s in truth for t in truth[s]]

    def error(out):
        out = out.set_index(["source", "theme"])
        return max(abs(out.loc[c, "share_corrected"] - truth[c[0]][c[1]]) for c in cells)

    pooled = corrected_emphasis(sentences, labels, emphasis, n_boot=100, seed=3)
    own = corrected_emphasis(sentences, labels, emphasis, n_boot=100, seed=3, pool_strength=0)
    nearly_pooled = corrected_emphasis(sentences, labels, emphasis, n_boot=100, seed=3, pool_strength=1e9)
    assert error(pooled) > 0.08 and error(own) < 0.04, (error(pooled), error(own))
    assert np.allclose(nearly_pooled["share_corrected"], pooled["share_corrected"], atol=1e-6)


def test_labelled_sentences_count_as_known_in_the_corrected_shares():
    """A researcher who labels every sentence gets the labels' shares, whatever the study said
    (the interval is then the paragraph bootstrap's alone, as for the raw shares); labelling half
    of them estimates the other half from the study's error rates, with wider intervals."""
    sentences, emphasis, truth = _synthetic(n_per_source=300)
    every = pd.DataFrame({"sentence_id": sentences["sentence_id"], "label": sentences["truth"].replace({"unassigned": "none"})})
    out = corrected_emphasis(sentences, every, emphasis, n_boot=200, seed=3).set_index(["source", "theme"])
    half = corrected_emphasis(sentences, every.sample(frac=0.5, random_state=4), emphasis, n_boot=200,
                              seed=3).set_index(["source", "theme"])
    cells = [(s, t) for s in truth for t in truth[s]]
    for cell in cells:
        assert out.loc[cell, "share_corrected"] == pytest.approx(truth[cell[0]][cell[1]], abs=0.005)
        assert out.loc[cell, "ci_low"] <= truth[cell[0]][cell[1]] <= out.loc[cell, "ci_high"]
    assert max(abs(half.loc[c, "share_corrected"] - truth[c[0]][c[1]]) for c in cells) < 0.05
    assert max(abs(half.loc[c, "share"] - truth[c[0]][c[1]]) for c in cells) > 0.1
    width = lambda df: (df["ci_high"] - df["ci_low"]).mean()  # noqa: E731
    assert 0 < width(out) < width(half)


def test_the_exact_confusion_matrix_inverts_exactly():
    m = misclassification(np.array(["a", "a", "b", "b", "b", "b"]), np.array(["a", "b", "b", "b", "b", "a"]), ["a", "b"])
    assert np.allclose(m, [[0.5, 0.25], [0.5, 0.75]])
    p = np.array([0.3, 0.7])
    assert np.allclose(adjusted_shares(m @ p, m), p, atol=1e-5)


def test_a_theme_with_too_few_labels_is_left_uncorrected():
    sentences, emphasis, _ = _synthetic()
    labelled = sentences[sentences["truth"] != "war"].sample(200, random_state=2)
    few_war = sentences[sentences["truth"] == "war"].head(MIN_LABELS - 1)
    labelled = pd.concat([labelled, few_war])
    labels = pd.DataFrame({"sentence_id": labelled["sentence_id"], "label": labelled["truth"].replace({"unassigned": "none"})})
    out = corrected_emphasis(sentences, labels, emphasis, n_boot=100).set_index(["source", "theme"])
    war = out.xs("war", level="theme")
    assert (~war["corrected"]).all() and war["share_corrected"].isna().all()
    assert war["note"].str.contains("too few labels").all()
    assert out.xs("econ", level="theme")["corrected"].all()


def _labelled(rng, n, confusion_by_source, truth_share):
    """``n`` labelled sentences per source: a true theme drawn from ``truth_share``, the study's
    theme from that source's row of ``confusion_by_source``."""
    themes = list(truth_share)
    rows = []
    for source, confusion in confusion_by_source.items():
        truth = rng.choice(themes, size=n, p=list(truth_share.values()))
        pred = [rng.choice(themes, p=[confusion[t][j] for j in themes]) for t in truth]
        rows += [dict(sentence_id=f"{source}-{i}", source=source, truth=t, predicted=p)
                 for i, (t, p) in enumerate(zip(truth, pred))]
    return pd.DataFrame(rows)


def test_errors_by_source_tell_apart_one_error_pattern_from_two():
    same = {"econ": {"econ": 0.8, "war": 0.1, "unassigned": 0.1}, "war": {"econ": 0.1, "war": 0.8, "unassigned": 0.1},
            "unassigned": {"econ": 0.2, "war": 0.2, "unassigned": 0.6}}
    other = {**same, "econ": {"econ": 0.4, "war": 0.5, "unassigned": 0.1}}  # B calls half its economy war
    shares = {"econ": 0.4, "war": 0.3, "unassigned": 0.3}
    rng = np.random.default_rng(7)
    null = [errors_by_source(_labelled(rng, 60, {"A": same, "B": same}, shares), n_perm=199)["p_value"]
            for _ in range(40)]
    alt = [errors_by_source(_labelled(rng, 150, {"A": same, "B": other}, shares), n_perm=199)["p_value"]
           for _ in range(20)]
    assert np.mean(np.array(null) < 0.05) <= 0.15  # about its level when both sources err alike
    assert np.mean(np.array(alt) < 0.05) >= 0.8  # and finds a source that errs differently
    # per source: the share right with its interval, and the same figures on every run
    pairs = pd.DataFrame({"sentence_id": [str(i) for i in range(8)], "source": ["A"] * 4 + ["B"] * 4,
                          "truth": ["econ", "econ", "war", "war"] * 2,
                          "predicted": ["econ", "econ", "war", "war", "econ", "war", "war", "econ"]})
    r = errors_by_source(pairs, n_perm=99)
    assert [(x["source"], x["n_labels"], x["accuracy"]) for x in r["sources"]] == [("A", 4, 1.0), ("B", 4, 0.5)]
    assert all(x["accuracy_low"] <= x["accuracy"] <= x["accuracy_high"] for x in r["sources"])
    assert errors_by_source(pairs, n_perm=99) == r
    assert errors_by_source(pairs[pairs["source"] == "A"], n_perm=99) is None  # one source: nothing to compare


# --------------------------------------------------------------------------- the command on a study

@pytest.fixture
def study(seed_study, tmp_path):
    return shutil.copytree(seed_study, tmp_path / "study")


def _seed_labels_by_id(study) -> pd.DataFrame:
    return seed_labels_by_id(study)


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "framescope.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_validate_writes_agreement_and_corrected_shares(study, tmp_path):
    labels = _seed_labels_by_id(study)
    assert len(labels) >= 80
    labels.to_csv(tmp_path / "labels.csv", index=False)
    r = _cli("validate", study, "--labels", tmp_path / "labels.csv", "--n-boot", 200, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Cohen's kappa" in r.stdout and "corrected" in r.stdout and "climate" in r.stdout
    assert "stratified cross-validation over" in r.stdout and "`framescope run --labels` applies it" in r.stdout
    assert "macro F1 before (the corpus rule without labels)" in r.stdout
    record = json.loads((study / "validation.json").read_text())
    recal = record["recalibration"]
    assert recal["applied_by"] == "framescope run --labels" and recal["classifier"].startswith("the corpus rule")
    assert recal["n"] == len(labels) and 2 <= recal["folds"] <= 5
    by_source = record["by_source"]  # the correction's assumption, checked: one error pattern for every source?
    assert sorted(r["source"] for r in by_source["sources"]) == sorted(set(pd.read_parquet(
        study / "sentences.parquet").query("is_body")["source"]))
    assert sum(r["n_labels"] for r in by_source["sources"]) == len(labels) and 0 < by_source["p_value"] <= 1
    assert "errors by source" in r.stdout and f"p = {by_source['p_value']:.3g}" in r.stdout
    assert 0 <= recal["macro_f1_after"] <= 1 and recal["difference_low"] <= recal["difference"] <= recal["difference_high"]
    stored = pd.read_parquet(study / "labels.parquet")
    assert set(stored.columns) >= {"sentence_id", "label", "labeller", "labelled_at"} and len(stored) == len(labels)
    corrected = pd.read_parquet(study / "emphasis_corrected.parquet")
    assert set(corrected["theme"]) == set(pd.read_parquet(study / "emphasis.parquet")["theme"])
    ok = corrected[corrected["corrected"]]
    assert len(ok) and ((ok["ci_low"] <= ok["share_corrected"] + 1e-9) & (ok["share_corrected"] <= ok["ci_high"] + 1e-9)).all()
    # without --labels the stored labels are used again: the same result
    again = _cli("validate", study, "--n-boot", 200, cwd=tmp_path)
    assert again.returncode == 0
    assert again.stdout.splitlines()[0].split(");")[1] == r.stdout.splitlines()[0].split(");")[1]
    assert again.stdout.splitlines()[1:] == r.stdout.splitlines()[1:]


def test_without_the_corpus_rule_the_recalibration_is_a_classifier_no_command_applies(study, tmp_path):
    # a study whose named themes a fixed threshold assigns: `run --labels` has nothing to recalibrate
    path = study / "model" / "theme_model.json"
    model = json.loads(path.read_text())
    model["config"]["assignment"] = "threshold"
    path.write_text(json.dumps(model))
    _seed_labels_by_id(study).to_csv(tmp_path / "labels.csv", index=False)
    r = _cli("validate", study, "--labels", tmp_path / "labels.csv", "--n-boot", 100, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "no command applies it" in r.stdout and "macro F1 before (the study's themes)" in r.stdout
    recal = json.loads((study / "validation.json").read_text())["recalibration"]
    assert recal["applied_by"] is None and recal["classifier"].startswith("logistic regression")
    assert 0 <= recal["macro_f1_after"] <= 1


@pytest.mark.parametrize("case, message", [
    ("unknown theme", "name no theme of this study"),
    ("other study", "labels made for another study"),
    ("empty", "holds no labels"),
    ("no label column", "lacks column(s) label"),
])
def test_bad_label_files_are_one_line_errors_and_change_nothing(study, tmp_path, case, message):
    before = sorted(p.name for p in study.iterdir())
    path = tmp_path / "labels.csv"
    good = _seed_labels_by_id(study).head(20)
    if case == "unknown theme":
        good.assign(label="economy").to_csv(path, index=False)
    elif case == "other study":
        good.assign(sentence_id=[f"d9{i:03d}-s0000" for i in range(len(good))]).to_csv(path, index=False)
    elif case == "empty":
        path.write_text("sentence_id,label\n")
    else:
        good[["sentence_id"]].to_csv(path, index=False)
    r = _cli("validate", study, "--labels", path, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in study.iterdir()) == before


def test_the_emphasis_page_shows_the_corrected_shares_after_validation(study, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    monkeypatch.setenv("FRAMESCOPE_STUDY", str(study))

    def emphasis_page():
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
        at.switch_page("src/framescope/app/views/emphasis.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    before = emphasis_page()
    assert any("framescope validate" in c.value for c in before.caption)
    _seed_labels_by_id(study).to_csv(tmp_path / "labels.csv", index=False)
    assert _cli("validate", study, "--labels", tmp_path / "labels.csv", "--n-boot", 200, cwd=tmp_path).returncode == 0
    after = emphasis_page()
    tables = [d.value for d in after.dataframe]
    corrected = next(t for t in tables if "share_corrected" in t.columns)
    climate = corrected[corrected["theme"] == "Climate change"]
    assert len(climate) and climate["share_corrected"].notna().any()


def test_a_rerun_keeps_the_hand_labels_and_drops_what_was_computed_from_them(study, tmp_path):
    import json

    _seed_labels_by_id(study).to_csv(tmp_path / "labels.csv", index=False)
    assert _cli("validate", study, "--labels", tmp_path / "labels.csv", "--n-boot", 100, cwd=tmp_path).returncode == 0
    labels = pd.read_parquet(study / "labels.parquet")
    r = _cli("--quiet", "run", "--config", study / "manifest.json", "--out", study, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(study / "labels.parquet"), labels)
    assert json.loads((study / "manifest.json").read_text())["kept_from_previous_run"] == ["labels.parquet"]
    assert not (study / "validation.json").exists() and not (study / "emphasis_corrected.parquet").exists()
    assert _cli("validate", study, "--n-boot", 100, cwd=tmp_path).returncode == 0  # the kept labels still fit


# --------------------------------------------------------------------------- run --labels

def _files(folder):
    """Every file of a study folder with its bytes' hash: what "unchanged" means."""
    from framescope.artifacts import sha256_file

    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_run_with_labels_writes_the_validation_with_the_study(study, tmp_path, monkeypatch):
    labels = _seed_labels_by_id(study)
    labels.to_csv(tmp_path / "labels.csv", index=False)
    r = _cli("--quiet", "run", "--config", study / "manifest.json", "--out", study, "--labels", tmp_path / "labels.csv",
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"validation: {len(labels)} labels, Cohen's kappa")
    stored = pd.read_parquet(study / "labels.parquet")
    assert sorted(stored["sentence_id"]) == sorted(labels["sentence_id"]) and set(stored["labeller"]) == {"reader-1"}
    record = json.loads((study / "validation.json").read_text())
    assert record["n_labels"] == len(labels) and record["kappa"] > 0.5 and "macro_f1_after" in record["recalibration"]
    corrected = pd.read_parquet(study / "emphasis_corrected.parquet")
    assert corrected.loc[corrected["theme"] == "climate", "corrected"].all()
    manifest = json.loads((study / "manifest.json").read_text())
    assert manifest["labels"]["n_labels"] == len(labels) and manifest["kept_from_previous_run"] == []
    # the run's named themes learnt from the labels too, and say so with the cross-validated effect
    model = json.loads((study / "model" / "theme_model.json").read_text())
    cv = model["recalibration"]["cross_validation"]
    assert model["recalibration"]["n_labels_used"] == len(labels) and cv["n_labels"] == len(labels)
    assert 0 <= cv["macro_f1_before"] <= 1 and 0 <= cv["macro_f1_after"] <= 1 and cv["folds"] >= 2
    assert record["assignment_used_labels"] == {k: v for k, v in model["recalibration"].items()
                                                  if k not in ("used", "out_of_fold")}
    # the recalibration the validation reports is the one this run applied, with the same figures
    recal = record["recalibration"]
    assert recal["applied_by"] == "framescope run --labels" and recal["folds"] == cv["folds"]
    assert (round(recal["macro_f1_before"], 4), round(recal["macro_f1_after"], 4)) == (cv["macro_f1_before"],
                                                                                         cv["macro_f1_after"])
    assert {r["theme"]: [round(r["f1_before"], 4), round(r["f1_after"], 4)] for r in recal["per_theme"]} == \
        cv["per_theme_f1_before_after"]
    assert any(f"learnt from {len(labels)} of your labels" in n for n in manifest["notes"])
    # every labelled sentence keeps the theme the researcher gave it…
    sentences = pd.read_parquet(study / "sentences.parquet").set_index("sentence_id")
    named = set(pd.read_parquet(study / "themes.parquet").query("named")["theme"])
    for sid, label in zip(labels["sentence_id"], labels["label"]):
        assert sentences.loc[sid, "theme"] == label if label in named else sentences.loc[sid, "theme"] not in named
    # …so the agreement is computed from what the rule says of each without its own label
    oof = model["recalibration"]["out_of_fold"]
    assert sorted(oof) == sorted(labels["sentence_id"]) and record["out_of_fold"] == {"n_replaced": len(labels),
                                                                                       "n_left_out": 0}
    wrong = sum((oof[i] or "none") != label for i, label in zip(labels["sentence_id"], labels["label"]))
    assert wrong > 0 and record["kappa"] < 1.0  # not the trivial agreement of the labels with themselves
    confusion = np.array(record["confusion"]["counts"])
    assert confusion.sum() - np.trace(confusion) == wrong
    # the run's validation is `framescope validate`'s on the same study and labels
    again = _cli("validate", study, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "the theme the rule gives each without its own label" in again.stdout
    report = _cli("report", study, cwd=tmp_path)  # the report's method section says the same
    assert report.returncode == 0, report.stderr
    assert "the theme the rule gives each without its own label" in " ".join((study / "report.md").read_text().split())
    from pathlib import Path

    from streamlit.testing.v1 import AppTest  # and the app's Validate page

    monkeypatch.setenv("FRAMESCOPE_STUDY", str(study))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120).run()
    at.switch_page("src/framescope/app/views/validate.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("the theme the rule gives each without its own label" in i.value for i in at.info)
    shown = {m.label: m.value for m in at.metric}  # the recalibration this run applied, and how to apply it
    assert shown["Macro F1, with your labels (cross-validated)"] == f"{recal['macro_f1_after']:.2f}"
    assert any("--labels labels.csv" in c.value for c in at.caption)
    redone = json.loads((study / "validation.json").read_text())
    assert {k: v for k, v in redone.items() if k != "labels"} == {k: v for k, v in record.items() if k != "labels"}
    pd.testing.assert_frame_equal(pd.read_parquet(study / "emphasis_corrected.parquet"), corrected)


@pytest.mark.parametrize("case, message", [
    ("unknown theme", "name no theme of this study"),
    ("other study", "labels made for another study"),
    ("empty", "holds no labels"),
])
def test_run_with_bad_labels_is_a_one_line_error_and_leaves_the_study(study, tmp_path, case, message):
    before = _files(study)
    path = tmp_path / "labels.csv"
    good = _seed_labels_by_id(study).head(20)
    if case == "unknown theme":
        good.assign(label=["economy"] + list(good["label"][1:])).to_csv(path, index=False)
    elif case == "other study":
        good.assign(sentence_id=[f"d9{i:03d}-s0000" for i in range(len(good))]).to_csv(path, index=False)
    else:
        path.write_text("sentence_id,label\n")
    r = _cli("--quiet", "run", "--config", study / "manifest.json", "--out", study, "--labels", path, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr and "Traceback" not in r.stderr
    assert _files(study) == before
    assert [p.name for p in study.parent.iterdir() if p.is_dir()] == ["study"]  # no staging folder left behind
