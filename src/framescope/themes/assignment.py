"""Named-theme assignment that calibrates itself to the corpus.

A fixed cosine cut-off does not carry from one corpus to another: short spoken sentences are
less similar to any prototype than long written ones, so a cut-off that suits one genre sends
most of another genre's sentences to "no named theme". This rule takes its cut points from the
corpus being studied instead (a zero-shot, self-training classifier):

1. **Sure examples.** Every body sentence has an evidence score for every named theme (the
   codebook prototype and seed-phrase similarity, ``themes.model.named_evidence``). A theme's
   *sure examples* are the sentences whose best theme it is, taken by decreasing evidence: at
   most ``seed_share`` of the body sentences divided by the number of themes, at most
   ``seed_fraction`` of the sentences whose best theme it is, and only those whose evidence
   reaches ``evidence_floor`` (so a codebook about football finds nothing in a corpus about
   diplomacy).
2. **Sure non-examples.** The ``none_share`` of body sentences with the weakest best evidence
   are examples of "no named theme".
3. **A classifier on the corpus' own vectors.** A multinomial logistic regression
   (scikit-learn, balanced class weights, ``C``) learns from these examples which regions of the
   corpus' embedding space belong to each theme or to none, and labels every body sentence.
   It is refitted for each corpus, so each corpus gets its own boundaries.

The settings were chosen by leave-one-corpus-out over three held-out labelled sets and the seed
(``research/validation/assignment.py``; docs/validation.md gives the figures).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NONE = -1


@dataclass(frozen=True)
class CorpusCalibration:
    """What the rule learnt from one corpus: the theme of every sentence (-1 = none), how many
    sure examples each theme had, and the lowest evidence among all sure examples (the corpus'
    own cut-off, used for secondary themes)."""
    best: np.ndarray
    n_examples: np.ndarray
    n_none_examples: int
    cut: float
    method: str


def sure_examples(Z: np.ndarray, seed_share: float, seed_fraction: float, none_share: float,
                  floor: float) -> np.ndarray:
    """Training labels: theme index for sure examples, -1 for sure non-examples, -2 otherwise."""
    n, k = Z.shape
    y = np.full(n, -2, dtype=np.int64)
    if n == 0 or k == 0:
        return y
    best, top = Z.argmax(1), Z.max(1)
    n_none = int(none_share * n)
    if n_none:
        y[np.argsort(top, kind="stable")[:n_none]] = NONE
    per_theme = max(3, int(round(seed_share * n / k)))
    for t in range(k):
        own = np.flatnonzero((best == t) & (Z[:, t] >= floor))
        if len(own) == 0:
            continue
        m = max(min(3, len(own)), min(per_theme, int(np.ceil(seed_fraction * len(own)))))
        y[own[np.argsort(-Z[own, t], kind="stable")[:m]]] = t
    return y


def calibrate(Z: np.ndarray, V: np.ndarray, *, seed_share: float, seed_fraction: float, none_share: float,
              floor: float, C: float, labelled: np.ndarray | None = None) -> CorpusCalibration:
    """Theme index per sentence (rows of ``Z``, evidence; ``V``, the sentences' vectors).
    ``labelled`` (optional, one entry per sentence): the researcher's label as a theme index, -1
    for no named theme, -2 for unlabelled. Labelled sentences are examples too (their label
    replaces the one the evidence gave them), and each keeps its label in the result: the
    researcher's reading of a sentence is not overruled by the classifier it helped to train."""
    from sklearn.linear_model import LogisticRegression

    n, k = Z.shape
    y = sure_examples(Z, seed_share, seed_fraction, none_share, floor)
    named = y >= 0
    cut = float(Z[named, y[named]].min()) if named.any() else float("inf")
    if labelled is not None:
        given = np.asarray(labelled) > -2
        y[given] = np.asarray(labelled)[given]
    counts = np.array([int(np.sum(y == t)) for t in range(k)], dtype=np.int64)
    n_none = int(np.sum(y == NONE))
    train = y > -2
    classes = np.unique(y[train])
    if len(classes) >= 2:
        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=5000)
        clf.fit(V[train].astype(np.float64), y[train])
        best = clf.predict(V.astype(np.float64)).astype(np.int64)
        return CorpusCalibration(_keep_labels(best, labelled), counts, n_none, cut, "classifier")
    # one class of examples only (a tiny corpus, or a codebook the corpus does not discuss):
    # the corpus' own cut-off alone decides
    best = np.where(Z.max(1) >= cut, Z.argmax(1), NONE) if n and k else np.full(n, NONE, np.int64)
    return CorpusCalibration(_keep_labels(best.astype(np.int64), labelled), counts, n_none, cut, "cut-off")


def _keep_labels(best: np.ndarray, labelled: np.ndarray | None) -> np.ndarray:
    """``best`` with every labelled sentence given its label (-1: no named theme)."""
    if labelled is None:
        return best
    labelled = np.asarray(labelled)
    return np.where(labelled > -2, labelled, best).astype(np.int64)


def label_cross_validation(Z: np.ndarray, V: np.ndarray, labelled: np.ndarray, keys: list[str], seed: int,
                           **settings) -> dict | None:
    """What the researcher's labels add, cross-validated: the labelled sentences are split into
    stratified folds (seeded); each fold is predicted by the rule calibrated with the other folds'
    labels ("after") and by the rule with no labels ("before"). Macro F1 over the named themes
    that have labels. ``out_of_fold``: the labelled rows and their "after" predictions (theme
    index, -1 none), each made without its own label; ``predictions``: the labelled rows, their
    "before" predictions and the fold each was tested in. None when there are fewer than 10
    labels or one kind of label only."""
    import warnings

    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    idx = np.flatnonzero(np.asarray(labelled) > -2)
    truth = np.asarray(labelled)[idx]
    classes, sizes = np.unique(truth, return_counts=True)
    if len(idx) < 10 or len(classes) < 2:
        return None
    n_splits = int(max(2, min(5, sizes[sizes >= 2].min() if (sizes >= 2).any() else 2)))
    before = calibrate(Z, V, **settings).best[idx]
    after = np.empty(len(idx), dtype=np.int64)
    fold = np.empty(len(idx), dtype=np.int64)
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a class with fewer labels than folds
        for f, (train, test) in enumerate(folds.split(idx, truth)):
            fold[test] = f
            lab = np.full(len(Z), -2, dtype=np.int64)
            lab[idx[train]] = truth[train]
            after[test] = calibrate(Z, V, labelled=lab, **settings).best[idx[test]]

    themes = [int(t) for t in classes if t >= 0]  # each has labels, so no F1 is 0/0
    f1_before, f1_after = (f1_score(truth, pred, labels=themes, average=None, zero_division=0.0)
                           for pred in (before, after))
    per = {keys[t]: [round(float(b), 4), round(float(a), 4)] for t, b, a in zip(themes, f1_before, f1_after)}
    mean = (lambda j: round(float(np.mean([v[j] for v in per.values()])), 4) if per else None)
    return {"n_labels": int(len(idx)), "folds": n_splits, "macro_f1_before": mean(0), "macro_f1_after": mean(1),
            "per_theme_f1_before_after": per, "out_of_fold": (idx, after), "predictions": (idx, before, fold)}
