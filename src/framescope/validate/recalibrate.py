"""Recalibrate theme assignment from the researcher's labels: a small classifier on the sentence
vectors, and its cross-validated F1 against the study's own assignment.

The classifier (:class:`LabelClassifier`) is a logistic regression with balanced class weights on
the study's in-context sentence vectors (the vectors a run embeds, :func:`labelled_vectors`),
predicting the label's theme key (``unassigned`` for ``none``). It follows scikit-learn's shape:
``fit(vectors, themes)`` sets the fitted state (``classes_``, ``model_``), ``predict(vectors)``
and ``predict_proba(vectors)`` are queries.

:func:`cross_validated_f1` compares, on the same labelled sentences:

- *before*: the study's assignment (a theme the labels never use counts as ``none``, as in
  ``correction.agreement``);
- *after*: the classifier's out-of-fold predictions from stratified k-fold cross-validation
  (seeded), the folds adapted to the label set: ``k = min(5, the smallest class with at least two
  labels)``, at least 2. A class with a single label is never in a training fold and counts as
  missed when it is tested.

Macro F1 averages the labelled themes other than ``none`` (as ``correction.agreement``); the
difference after − before has a paired percentile bootstrap CI over the labelled sentences.
Fewer than MIN_LABELS labels, or fewer than two classes with two or more labels each, raise
:class:`TooFewLabels` (one line saying what is missing).

Nothing here changes a study's assignment: wiring a fitted classifier into the theme model is
the theme model's job.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from framescope.config import EmbedConfig
from framescope.errors import InputError
from framescope.measures.bootstrap import rng_for
from framescope.themes.codebook import UNASSIGNED

MIN_LABELS = 20
"""Labels needed before a classifier is cross-validated at all."""
MAX_FOLDS = 5
RECALIBRATION_COLUMNS = ["theme", "n_labelled", "f1_before", "f1_after"]


class TooFewLabels(InputError):
    """The labels are too few to fit and cross-validate a classifier."""


class LabelClassifier:
    """Logistic regression (balanced class weights) from sentence vectors to theme keys."""

    def __init__(self, C: float = 1.0, seed: int = 42, max_iter: int = 2000):
        self.C = C
        self.seed = seed
        self.max_iter = max_iter

    def fit(self, vectors: np.ndarray, themes) -> LabelClassifier:
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(themes, dtype=object).astype(str)
        if len(set(y)) < 2:
            raise TooFewLabels("a classifier needs labels of at least two themes (or a theme and none)")
        self.model_ = LogisticRegression(C=self.C, class_weight="balanced", max_iter=self.max_iter,
                                         random_state=self.seed)
        self.model_.fit(np.asarray(vectors, dtype=np.float64), y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        return self.model_.predict(np.asarray(vectors, dtype=np.float64))

    def predict_proba(self, vectors: np.ndarray) -> np.ndarray:
        """One column per theme of ``classes_``."""
        return self.model_.predict_proba(np.asarray(vectors, dtype=np.float64))


def in_label_vocabulary(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """The study's themes as the labels see them: a theme no label uses counts as unassigned."""
    vocabulary = set(truth) | {UNASSIGNED}
    return np.where(np.isin(predicted, list(vocabulary)), predicted, UNASSIGNED)


def f1_per_theme(truth: np.ndarray, pred: np.ndarray, themes: list[str]) -> np.ndarray:
    """``2 TP / (labelled + assigned)`` per theme (NaN when a theme is neither)."""
    out = np.full(len(themes), np.nan)
    for i, t in enumerate(themes):
        a, b = truth == t, pred == t
        denom = a.sum() + b.sum()
        if denom:
            out[i] = 2.0 * (a & b).sum() / denom
    return out


def macro_f1(truth: np.ndarray, pred: np.ndarray, themes: list[str]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmean(f1_per_theme(truth, pred, themes))) if themes else float("nan")


def fold_count(truth: np.ndarray) -> int:
    """Stratified folds for this label set (see the module docstring); TooFewLabels if none fit."""
    counts = pd.Series(truth).value_counts()
    usable = counts[counts >= 2]
    if len(truth) < MIN_LABELS or len(usable) < 2:
        raise TooFewLabels(
            f"too few labels to recalibrate: {len(truth)} labels, {len(usable)} theme(s) with two or more "
            f"(need at least {MIN_LABELS} labels and two themes, or a theme and none, with two or more each)")
    return int(max(2, min(MAX_FOLDS, usable.min())))


def cross_validated_f1(vectors: np.ndarray, truth, current, seed: int = 42, n_boot: int = 1000,
                       classifier: LabelClassifier | None = None) -> dict:
    """Cross-validated macro F1 of the study's assignment (``current``) and of a classifier fitted on
    the labels (``truth``: theme keys, ``unassigned`` for none), on the same sentences. Returns
    ``n``, ``folds``, ``macro_f1_before``/``_after`` (pooled over the out-of-fold predictions),
    ``fold_macro_f1_before``/``_after`` (per fold), ``difference`` with ``difference_low``/``_high``
    (95% paired bootstrap), and ``per_theme`` (a table, RECALIBRATION_COLUMNS)."""
    from sklearn.model_selection import StratifiedKFold

    truth = np.asarray(truth, dtype=object).astype(str)
    vectors = np.asarray(vectors)
    if len(vectors) != len(truth) or len(np.asarray(current)) != len(truth):
        raise ValueError("vectors, truth and current must have one row per labelled sentence")
    before = in_label_vocabulary(truth, np.asarray(current, dtype=object).astype(str))
    k = fold_count(truth)
    template = classifier or LabelClassifier(seed=seed)
    after = np.empty(len(truth), dtype=object)
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    themes = sorted(t for t in set(truth) if t != UNASSIGNED)
    fold_before, fold_after = [], []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(folds.split(np.zeros(len(truth)), truth))
    for train, test in splits:
        fitted = LabelClassifier(C=template.C, seed=template.seed, max_iter=template.max_iter)
        after[test] = fitted.fit(vectors[train], truth[train]).predict(vectors[test])
        fold_before.append(macro_f1(truth[test], before[test], themes))
        fold_after.append(macro_f1(truth[test], after[test], themes))
    after = after.astype(str)
    point_before, point_after = macro_f1(truth, before, themes), macro_f1(truth, after, themes)
    rng = rng_for(seed, "recalibration")
    diffs = np.empty(n_boot)
    for b in range(n_boot):
        d = rng.integers(0, len(truth), len(truth))
        diffs[b] = macro_f1(truth[d], after[d], themes) - macro_f1(truth[d], before[d], themes)
    diffs = diffs[~np.isnan(diffs)]
    per_theme = pd.DataFrame({"theme": themes, "n_labelled": [int((truth == t).sum()) for t in themes],
                              "f1_before": f1_per_theme(truth, before, themes),
                              "f1_after": f1_per_theme(truth, after, themes)}, columns=RECALIBRATION_COLUMNS)
    return {"n": int(len(truth)), "folds": k, "classifier": "logistic regression (balanced class weights) "
            "on the in-context sentence vectors",
            "macro_f1_before": point_before, "macro_f1_after": point_after,
            "fold_macro_f1_before": fold_before, "fold_macro_f1_after": fold_after,
            "difference": point_after - point_before,
            "difference_low": float(np.percentile(diffs, 2.5)) if len(diffs) else float("nan"),
            "difference_high": float(np.percentile(diffs, 97.5)) if len(diffs) else float("nan"),
            "per_theme": per_theme}


# --------------------------------------------------------------------------- a study's vectors

def study_embedder(manifest: dict):
    """The embedder a study was run with (``manifest.json``'s embed config), checked against the
    weights hash the study recorded; an InputError when it differs or cannot load."""
    from framescope.embed.encoders import get_embedder

    cfg = EmbedConfig(**((manifest.get("config") or {}).get("embed") or {}))
    embedder = get_embedder(cfg)
    want = (manifest.get("embedding") or {}).get("weights_sha256")
    if want and embedder.weights_sha256 and want != embedder.weights_sha256:
        raise InputError(f"the study was embedded with weights {want[:12]}…, but '{cfg.model}' here has "
                         f"{embedder.weights_sha256[:12]}…: recalibrate where the study's model is installed")
    return embedder


def labelled_vectors(sentences: pd.DataFrame, sentence_ids, embedder, embed_cfg: EmbedConfig) -> np.ndarray:
    """The in-context vectors (``embed.vectors.sentence_vectors``) of the given sentences, in their
    order: computed over the sentences of their documents (a sentence's context never leaves its
    document), through the embedding cache, so a study's own run made them already. A TF-IDF
    embedder not yet fitted is fitted on all the study's sentences first."""
    from framescope.embed.encoders import TfidfEmbedder
    from framescope.embed.vectors import embedding_texts, sentence_vectors

    ids = pd.Index([str(i) for i in sentence_ids])
    all_ids = sentences["sentence_id"].astype(str)
    docs = set(sentences.loc[all_ids.isin(set(ids)), "doc_id"])
    sub = sentences[sentences["doc_id"].isin(docs)].reset_index(drop=True)
    if isinstance(embedder, TfidfEmbedder) and not embedder.fitted:
        embedder.fit(embedding_texts(sentences))
    vectors = sentence_vectors(sub, embedder, embed_cfg)
    row = pd.Series(np.arange(len(sub)), index=sub["sentence_id"].astype(str))
    return vectors[row.loc[ids].to_numpy()]


def study_recalibration(sentences: pd.DataFrame, pairs: pd.DataFrame, manifest: dict, embedder=None,
                        n_boot: int = 1000, seed: int = 42) -> dict:
    """:func:`cross_validated_f1` for a study's labelled sentences (``pairs``: ``sentence_id``,
    ``truth``, ``predicted``, as ``correction.labelled_pairs`` gives them), with the study's vectors.
    TooFewLabels is raised before any model is loaded."""
    fold_count(pairs["truth"].astype(str).to_numpy())
    embedder = embedder or study_embedder(manifest)
    cfg = EmbedConfig(**((manifest.get("config") or {}).get("embed") or {}))
    vectors = labelled_vectors(sentences, pairs["sentence_id"], embedder, cfg)
    return cross_validated_f1(vectors, pairs["truth"].to_numpy(), pairs["predicted"].to_numpy(),
                              seed=seed, n_boot=n_boot)
