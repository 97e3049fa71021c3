"""Recalibrate theme assignment from the researcher's labels, and its cross-validated F1 against
the study's own assignment.

Two recalibrations, one of which a study gets (:func:`study_recalibration`):

- **The corpus rule with the labels** (:func:`rule_recalibration`), for a study whose named
  themes the corpus rule assigns (``themes.assignment``): exactly what ``framescope run --labels``
  does with the labels, cross-validated as that run cross-validates it
  (``themes.assignment.label_cross_validation``): *before* is the rule without labels, *after*
  each labelled sentence's theme from the rule calibrated with the other folds' labels. So the
  figure the Validate page shows is the figure a ``run --labels`` records.
- **A classifier on the labels alone** (:class:`LabelClassifier`, :func:`cross_validated_f1`), for
  a study with no named themes (or a fixed threshold), where ``run --labels`` has nothing to
  recalibrate: a logistic regression with balanced class weights on the study's in-context
  sentence vectors (:func:`labelled_vectors`), predicting the label's theme key (``unassigned``
  for ``none``), against the study's assignment (a theme the labels never use counts as
  ``none``, as in ``correction.agreement``). No command applies it; it is public API
  (``fit(vectors, themes)``, ``predict``, ``predict_proba``, scikit-learn's shape).

Folds are stratified and seeded, adapted to the label set: ``k = min(5, the smallest class with at
least two labels)``, at least 2. Macro F1 averages the labelled themes other than ``none`` (as
``correction.agreement``); the difference after − before has a paired percentile bootstrap CI
over the labelled sentences (:func:`compare_predictions`). Fewer than MIN_LABELS labels, or fewer
than two classes with two or more labels each, raise :class:`TooFewLabels` (one line saying
what is missing). Nothing here changes a study's assignment.
"""
from __future__ import annotations

import warnings
from pathlib import Path

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


CLASSIFIER_METHOD = "logistic regression (balanced class weights) on the in-context sentence vectors"
RULE_METHOD = ("the corpus rule with your labels (its sure examples and "
               "your labels, a logistic regression on the corpus' sentence vectors)")


def compare_predictions(truth: np.ndarray, before: np.ndarray, after: np.ndarray, fold: np.ndarray, seed: int,
                        n_boot: int, method: str, applied_by: str | None) -> dict:
    """Macro F1 of ``before`` and of the out-of-fold ``after`` against ``truth`` (theme keys,
    ``unassigned`` for none; ``fold``: the fold each sentence was tested in), pooled and per fold,
    the difference with a 95% paired bootstrap CI over the sentences, and the per-theme table."""
    truth, before, after = (np.asarray(a, dtype=object).astype(str) for a in (truth, before, after))
    themes = sorted(t for t in set(truth) if t != UNASSIGNED)
    folds = sorted(set(np.asarray(fold).tolist()))
    fold_before = [macro_f1(truth[fold == f], before[fold == f], themes) for f in folds]
    fold_after = [macro_f1(truth[fold == f], after[fold == f], themes) for f in folds]
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
    return {"n": int(len(truth)), "folds": len(folds), "classifier": method, "applied_by": applied_by,
            "macro_f1_before": point_before, "macro_f1_after": point_after,
            "fold_macro_f1_before": fold_before, "fold_macro_f1_after": fold_after,
            "difference": point_after - point_before,
            "difference_low": float(np.percentile(diffs, 2.5)) if len(diffs) else float("nan"),
            "difference_high": float(np.percentile(diffs, 97.5)) if len(diffs) else float("nan"),
            "per_theme": per_theme}


def cross_validated_f1(vectors: np.ndarray, truth, current, seed: int = 42, n_boot: int = 1000,
                       classifier: LabelClassifier | None = None) -> dict:
    """Cross-validated macro F1 of the study's assignment (``current``) and of a classifier fitted on
    the labels alone (``truth``: theme keys, ``unassigned`` for none), on the same sentences.
    Returns ``n``, ``folds``, ``macro_f1_before``/``_after`` (pooled over the out-of-fold predictions),
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
    fold = np.empty(len(truth), dtype=np.int64)
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(folds.split(np.zeros(len(truth)), truth))
    for f, (train, test) in enumerate(splits):
        fitted = LabelClassifier(C=template.C, seed=template.seed, max_iter=template.max_iter)
        after[test] = fitted.fit(vectors[train], truth[train]).predict(vectors[test])
        fold[test] = f
    return compare_predictions(truth, before, after, fold, seed, n_boot, CLASSIFIER_METHOD, None)


def rule_recalibration(study: str | Path, sentences: pd.DataFrame, pairs: pd.DataFrame, manifest: dict,
                       embedder=None, n_boot: int = 1000, seed: int = 42) -> dict | None:
    """What ``framescope run --labels`` would do with these labels, cross-validated: the study's
    theme model (``model/``) recalibrated by the corpus rule with the labels
    (``ThemeModel.cross_validate_labels``), on the sentences a run with these labels fits on
    (``themes.sample.fit_sample_documents``, the labelled documents included) and their vectors. Labels
    of discovered topics count as no named theme, as in the run. *Before* is the rule without
    labels, *after* each labelled sentence's prediction from the other folds' labels. None when
    the study has no theme model with named themes assigned by the corpus rule, or no label
    names a named theme: then only a classifier on the labels alone can be tried."""
    from framescope.themes.sample import fit_sample_documents, labelled_documents
    from framescope.themes.model import ThemeModel

    folder = Path(study) / "model"
    if not (folder / "theme_model.json").is_file():
        return None
    model = ThemeModel.load(folder)
    named = {str(k) for k in model.theme_keys_}
    if model.cfg.assignment != "corpus" or not named or not set(pairs["truth"].astype(str)) & named:
        return None
    labels = pd.DataFrame({"sentence_id": pairs["sentence_id"].astype(str).to_numpy(),
                           "label": pairs["truth"].astype(str).to_numpy()})
    doc_body = sentences["is_body"].fillna(False).astype(bool).groupby(sentences["doc_id"].astype(str)).sum()
    docs = set(fit_sample_documents(doc_body, model.cfg.fit_sample, model.cfg.seed,
                                    include=labelled_documents(labels)))
    sub = sentences[sentences["doc_id"].astype(str).isin(docs)].reset_index(drop=True)
    embedder = embedder or study_embedder(manifest)
    cfg = EmbedConfig(**((manifest.get("config") or {}).get("embed") or {}))
    vectors = labelled_vectors(sub, sub["sentence_id"], embedder, cfg)
    cv = model.cross_validate_labels(sub, vectors, labels, embedder)
    if cv is None:
        return None
    keys = np.array([str(k) for k in model.theme_keys_] + [UNASSIGNED], dtype=object)  # index -1: none
    body_ids = sub.loc[sub["is_body"].fillna(False).astype(bool), "sentence_id"].astype(str).to_numpy()
    rows, before, fold = cv["predictions"]
    _, after = cv["out_of_fold"]
    truth = dict(zip(labels["sentence_id"], labels["label"]))
    truth = np.array([truth[i] if truth[i] in named else UNASSIGNED for i in body_ids[rows]], dtype=object)
    return compare_predictions(truth, keys[before], keys[after], fold, seed, n_boot, RULE_METHOD,
                               "framescope run --labels")


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
                        n_boot: int = 1000, seed: int = 42, study: str | Path | None = None) -> dict:
    """The recalibration figures of a study's labelled sentences (``pairs``: ``sentence_id``,
    ``truth``, ``predicted``, as ``correction.labelled_pairs`` gives them): with a study folder
    whose theme model has named themes, :func:`rule_recalibration` (what ``run --labels`` would
    do); otherwise :func:`cross_validated_f1` of a classifier on the labels alone, which no command
    applies. TooFewLabels is raised before any model is loaded."""
    fold_count(pairs["truth"].astype(str).to_numpy())
    embedder = embedder or study_embedder(manifest)
    if study is not None:
        rule = rule_recalibration(study, sentences, pairs, manifest, embedder, n_boot=n_boot, seed=seed)
        if rule is not None:
            return rule
    cfg = EmbedConfig(**((manifest.get("config") or {}).get("embed") or {}))
    vectors = labelled_vectors(sentences, pairs["sentence_id"], embedder, cfg)
    return cross_validated_f1(vectors, pairs["truth"].to_numpy(), pairs["predicted"].to_numpy(),
                              seed=seed, n_boot=n_boot)
