"""Recalibration from the researcher's labels: a classifier on the sentence vectors, cross-validated
against the study's own assignment, with folds adapted to the label set and a clear refusal when
the labels are too few. The labelling order the Validate page uses is checked here too."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from framescope.themes.codebook import UNASSIGNED
from framescope.validate.labels import labelling_order, sentence_context
from framescope.validate.recalibrate import (
    MIN_LABELS, LabelClassifier, TooFewLabels, cross_validated_f1, fold_count, labelled_vectors,
)


def _separable(n_per_class=(30, 20, 10), dim=16, noise=0.25, seed=0):
    """Vectors around one random direction per class; the 'study' assigns each sentence its true
    theme except every third one of the first class, which it calls the second."""
    rng = np.random.default_rng(seed)
    classes = ["econ", "war", UNASSIGNED]
    centres = rng.normal(size=(len(classes), dim))
    truth = np.repeat(classes, n_per_class)
    vectors = np.vstack([centres[classes.index(t)] + noise * rng.normal(size=dim) for t in truth])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    current = truth.copy().astype(object)
    econ = np.flatnonzero(truth == "econ")
    current[econ[::3]] = "war"
    return vectors, truth, current


def test_a_classifier_on_separable_labels_beats_a_noisy_assignment():
    vectors, truth, current = _separable()
    r = cross_validated_f1(vectors, truth, current, seed=3, n_boot=300)
    assert r["n"] == 60 and r["folds"] == 5
    assert r["macro_f1_after"] > 0.95 and r["macro_f1_before"] < 0.85  # the study missed a third of econ
    assert r["difference_low"] > 0  # the gain is outside chance
    per = r["per_theme"].set_index("theme")
    assert list(per.index) == ["econ", "war"]  # none is not averaged into macro F1
    assert per.loc["econ", "f1_before"] == pytest.approx(2 * 20 / (30 + 20))
    assert len(r["fold_macro_f1_after"]) == 5
    again = cross_validated_f1(vectors, truth, current, seed=3, n_boot=300)
    pd.testing.assert_frame_equal(r.pop("per_theme"), again.pop("per_theme"))
    assert r == again  # seeded folds and bootstrap: the same figures on every run


def test_a_theme_the_labels_never_use_counts_as_none_before():
    vectors, truth, current = _separable()
    current = np.where(truth == UNASSIGNED, "topic_7", current)  # a discovered topic the reader calls none
    r = cross_validated_f1(vectors, truth, current, n_boot=50)
    base = cross_validated_f1(*_separable(), n_boot=50)
    assert r["macro_f1_before"] == pytest.approx(base["macro_f1_before"])


def test_folds_adapt_to_small_label_sets():
    assert fold_count(np.array(["a"] * 15 + ["b"] * 3 + ["c"] * 2)) == 2
    assert fold_count(np.array(["a"] * 15 + ["b"] * 4 + ["c"])) == 4  # c (one label) is only ever tested
    assert fold_count(np.array(["a"] * 30 + ["b"] * 30)) == 5
    vectors, truth, current = _separable((12, 3, 6))
    r = cross_validated_f1(vectors, truth, current, n_boot=50)
    assert r["folds"] == 3


@pytest.mark.parametrize("truth, why", [
    (["a"] * 10 + ["b"] * 9, "19 labels"),
    (["a"] * 25 + ["b"], "1 theme(s) with two or more"),
    (["a"] * 30, "1 theme(s) with two or more"),
])
def test_too_few_labels_are_refused_with_one_clear_line(truth, why):
    truth = np.array(truth)
    vectors = np.random.default_rng(0).normal(size=(len(truth), 4))
    with pytest.raises(TooFewLabels) as e:
        cross_validated_f1(vectors, truth, truth)
    message = str(e.value)
    assert why in message and f"at least {MIN_LABELS} labels" in message and "\n" not in message


def test_the_classifier_api_fits_and_predicts():
    vectors, truth, _ = _separable()
    clf = LabelClassifier(seed=1).fit(vectors, truth)
    assert set(clf.classes_) == {"econ", "war", UNASSIGNED}
    assert (clf.predict(vectors) == truth).mean() > 0.95
    assert clf.predict_proba(vectors[:3]).shape == (3, 3)
    with pytest.raises(TooFewLabels):
        LabelClassifier().fit(vectors[:5], ["econ"] * 5)


def test_labelled_vectors_are_the_run_vectors(seed_study):
    """The vectors of a few labelled sentences, computed over their documents only, equal the
    vectors a run computes over the whole corpus (same context, same cache)."""
    from framescope.config import EmbedConfig
    from framescope.embed.encoders import get_embedder
    from framescope.embed.vectors import sentence_vectors

    sentences = pd.read_parquet(seed_study / "sentences.parquet")
    cfg = EmbedConfig()
    embedder = get_embedder(cfg)
    whole = sentence_vectors(sentences, embedder, cfg)
    ids = sentences.loc[sentences["is_body"], "sentence_id"].iloc[[3, 40, 17, 80]].tolist()
    some = labelled_vectors(sentences, ids, embedder, cfg)
    rows = sentences["sentence_id"].reset_index(drop=True)
    expect = whole[[rows[rows == i].index[0] for i in ids]]
    np.testing.assert_allclose(some, expect, atol=1e-6)


# --------------------------------------------------------------------------- what to label next

def _themed(counts: dict[str, int]) -> pd.DataFrame:
    rows = []
    for theme, n in counts.items():
        rows += [dict(sentence_id=f"{theme}-{i:03d}", theme=theme, is_body=True) for i in range(n)]
    return pd.DataFrame(rows + [dict(sentence_id="caption", theme="a", is_body=False)])


def test_the_labelling_order_is_stratified_in_proportion_and_stable():
    sentences = _themed({"a": 60, "b": 30, "c": 10})
    order = labelling_order(sentences, seed=7)
    assert len(order) == 100 and "caption" not in order and len(set(order)) == 100
    assert order == labelling_order(sentences.sample(frac=1, random_state=1), seed=7)  # row order does not matter
    assert order != labelling_order(sentences, seed=8)
    for n in (10, 20, 50):  # every prefix holds each theme in about its share
        first = pd.Series([s.split("-")[0] for s in order[:n]]).value_counts()
        for theme, share in (("a", 0.6), ("b", 0.3), ("c", 0.1)):
            assert abs(first.get(theme, 0) - share * n) <= 1, (n, theme, first.to_dict())


def test_a_sentence_is_shown_with_the_two_before_it(seed_study, tmp_path):
    study = shutil.copytree(seed_study, tmp_path / "study")
    sentences = pd.read_parquet(study / "sentences.parquet")
    doc = sentences[sentences["doc_id"] == sentences["doc_id"].iloc[0]].sort_values("position")
    prior, text = sentence_context(sentences, doc["sentence_id"].iloc[3])
    assert prior == doc["text"].iloc[1:3].tolist() and text == doc["text"].iloc[3]
    assert sentence_context(sentences, doc["sentence_id"].iloc[0])[0] == []
