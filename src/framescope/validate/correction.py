"""Agreement with the researcher's labels, and emphasis corrected for misclassification.

Agreement (:func:`agreement`): per theme, precision, recall and F1 of the study's themes against the
labels, each with a percentile bootstrap CI over the labelled sentences; Cohen's kappa; the
confusion table (rows: the label, columns: the study's theme). Labels may use only some of the
study's themes (say, the codebook's, and ``none``): a sentence the study put in a theme the labels
never use then counts as ``none``. Macro F1 averages the labelled themes other than ``none``.

Correction (:func:`corrected_emphasis`): adjusted classify-and-count (Forman 2008; Hopkins &
King 2010). From the labelled sentences, ``M[j, i]`` = P(the study says theme j | the sentence is
theme i). The labelled sentences' own themes are known; the rest of a source are estimated: their
observed shares ``q`` (the study's themes) satisfy ``q ≈ M p`` for their true shares ``p``, the
non-negative solution that sums to one (least squares). A source's corrected share counts its
labelled sentences by their labels and the others by ``p``. The 95% CI is a percentile bootstrap
that redraws both the labelled sentences (M's own uncertainty) and the source's paragraphs (the
shares' uncertainty), ``n_boot`` times, each draw seeded from the source's name. A theme with fewer than MIN_LABELS labels is too few to correct: it is pooled
with the other such themes inside the correction and reported uncorrected, with a note.
``pool_strength`` gives each source its own ``M``, partially pooled (:func:`shrunk_misclassification`);
measured on the held-out sets and not adopted (docs/validation.md), so the commands use one ``M``.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from framescope.measures.bootstrap import cluster_keys, rng_for
from framescope.themes.codebook import UNASSIGNED
from framescope.validate.labels import true_theme

MIN_LABELS = 5
POOLED = "(themes with too few labels)"
CORRECTED_COLUMNS = ["source", "theme", "share", "share_corrected", "ci_low", "ci_high", "n_labels", "corrected", "note"]
AGREEMENT_COLUMNS = ["theme", "n_labelled", "n_assigned", "precision", "precision_low", "precision_high",
                     "recall", "recall_low", "recall_high", "f1", "f1_low", "f1_high"]


def labelled_pairs(labels: pd.DataFrame, sentences: pd.DataFrame) -> pd.DataFrame:
    """One row per labelled body sentence: ``sentence_id``, ``source``, ``truth`` (theme key,
    `unassigned` for none) and ``predicted`` (the study's theme)."""
    s = sentences[["sentence_id", "source", "theme"]].astype({"sentence_id": str})
    out = labels[["sentence_id", "label"]].merge(s, on="sentence_id", how="inner")
    return pd.DataFrame({"sentence_id": out["sentence_id"], "source": out["source"].astype(str),
                         "truth": out["label"].map(true_theme), "predicted": out["theme"].fillna(UNASSIGNED).astype(str)})


def _scores(truth: np.ndarray, pred: np.ndarray, theme: str) -> tuple[float, float, float]:
    t, p = truth == theme, pred == theme
    tp = float((t & p).sum())
    prec = tp / p.sum() if p.sum() else np.nan
    rec = tp / t.sum() if t.sum() else np.nan
    f1 = 2 * tp / (t.sum() + p.sum()) if (t.sum() + p.sum()) else np.nan
    return prec, rec, f1


def agreement(pairs: pd.DataFrame, themes: list[str], n_boot: int = 1000, seed: int = 42) -> dict:
    """Per-theme precision/recall/F1 with bootstrap CIs, Cohen's kappa and the confusion table."""
    from sklearn.metrics import cohen_kappa_score

    truth = pairs["truth"].to_numpy()
    vocabulary = set(truth) | {UNASSIGNED}  # a study theme the labels never use counts as "none"
    pred = np.where(np.isin(pairs["predicted"].to_numpy(), list(vocabulary)), pairs["predicted"].to_numpy(), UNASSIGNED)
    themes = [t for t in themes if t in vocabulary]
    rng = rng_for(seed, "agreement")
    draws = [rng.integers(0, len(pairs), len(pairs)) for _ in range(n_boot)] if len(pairs) else []
    rows = []
    for theme in themes:
        point = _scores(truth, pred, theme)
        boot = np.array([_scores(truth[d], pred[d], theme) for d in draws]) if draws else np.full((1, 3), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a theme never assigned in a draw: NaN
            lo, hi = np.nanpercentile(boot, 2.5, axis=0), np.nanpercentile(boot, 97.5, axis=0)
        rows.append(dict(theme=theme, n_labelled=int((truth == theme).sum()), n_assigned=int((pred == theme).sum()),
                         precision=point[0], precision_low=lo[0], precision_high=hi[0],
                         recall=point[1], recall_low=lo[1], recall_high=hi[1],
                         f1=point[2], f1_low=lo[2], f1_high=hi[2]))
    per_theme = pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
    kappa = float(cohen_kappa_score(truth, pred)) if len(set(truth) | set(pred)) > 1 else float("nan")
    confusion = pd.crosstab(pd.Series(truth, name="label"), pd.Series(pred, name="study"))
    named = per_theme[(per_theme["theme"] != UNASSIGNED) & (per_theme["n_labelled"] > 0)]
    return {"n": int(len(pairs)), "kappa": kappa, "per_theme": per_theme, "confusion": confusion,
            "macro_f1": float(named["f1"].mean()) if len(named) else float("nan")}


def _homogeneity(strata: list[tuple[np.ndarray, np.ndarray]], n_sources: int, n_pred: int) -> float:
    """Sum over the true-theme strata of Pearson's chi-square of source x predicted theme (a
    stratum or a row/column with no count adds nothing)."""
    total = 0.0
    for src, pred in strata:
        table = np.zeros((n_sources, n_pred))
        np.add.at(table, (src, pred), 1.0)
        table = table[table.sum(1) > 0][:, table.sum(0) > 0]
        if table.shape[0] < 2 or table.shape[1] < 2:
            continue
        expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
        total += float(((table - expected) ** 2 / expected).sum())
    return total


def errors_by_source(pairs: pd.DataFrame, n_perm: int = 1000, seed: int = 42, level: float = 0.95) -> dict | None:
    """Does the study err the same way in every source? The correction assumes so (one ``M``).

    Per source: its labels, the share the study got right with a Wilson interval, and Cohen's
    kappa. The test: within each true theme (label), is the study's theme independent of the
    source? The statistic sums, over the true themes, Pearson's chi-square of source x the
    study's theme (the columns of ``M`` compared across sources); its p-value is from permuting
    the sources of the labelled sentences within each true theme (``n_perm`` times, seeded), so
    each source keeps its mix of true themes and small tables need no chi-square approximation.
    A theme the labels never use counts as ``none``, as in :func:`agreement`. None with fewer
    than two sources that have labels."""
    from sklearn.metrics import cohen_kappa_score

    from framescope.measures.bootstrap import wilson_interval

    if "source" not in pairs or pairs["source"].nunique() < 2:
        return None
    truth = pairs["truth"].astype(str).to_numpy()
    vocabulary = set(truth) | {UNASSIGNED}
    pred = pairs["predicted"].astype(str).to_numpy()
    pred = np.where(np.isin(pred, list(vocabulary)), pred, UNASSIGNED)
    src_codes, sources = pd.factorize(pairs["source"].astype(str), sort=True)
    pred_codes, _ = pd.factorize(pred, sort=True)
    strata = [np.flatnonzero(truth == t) for t in sorted(set(truth))]
    observed = _homogeneity([(src_codes[i], pred_codes[i]) for i in strata], len(sources), int(pred_codes.max()) + 1)
    rng = rng_for(seed, "errors-by-source")
    hits = 0
    for _ in range(n_perm):
        perm = [(rng.permutation(src_codes[i]), pred_codes[i]) for i in strata]
        hits += _homogeneity(perm, len(sources), int(pred_codes.max()) + 1) >= observed - 1e-9 * max(1.0, observed)
    rows = []
    for k, source in enumerate(sources):
        mine = src_codes == k
        right = int((truth[mine] == pred[mine]).sum())
        lo, hi = wilson_interval(np.array([right]), np.array([int(mine.sum())]), level)
        kappa = (float(cohen_kappa_score(truth[mine], pred[mine]))
                 if len(set(truth[mine]) | set(pred[mine])) > 1 else float("nan"))
        rows.append({"source": str(source), "n_labels": int(mine.sum()), "accuracy": right / int(mine.sum()),
                     "accuracy_low": float(lo[0]), "accuracy_high": float(hi[0]), "kappa": kappa})
    return {"sources": rows, "statistic": observed, "p_value": (1 + hits) / (1 + n_perm), "n_perm": n_perm,
            "test": "within each labelled theme, the study's theme against the source: Pearson's chi-square summed "
                    f"over the labelled themes, p by permuting sources within each labelled theme ({n_perm}x)"}


def confusion_counts(truth: np.ndarray, pred: np.ndarray, categories: list[str]) -> np.ndarray:
    """``counts[j, i]``: labelled sentences of true category i that the study put in category j."""
    index = {c: n for n, c in enumerate(categories)}
    counts = np.zeros((len(categories), len(categories)))
    np.add.at(counts, ([index[p] for p in pred], [index[t] for t in truth]), 1.0)
    return counts


def misclassification(truth: np.ndarray, pred: np.ndarray, categories: list[str]) -> np.ndarray:
    """``M[j, i]`` = P(predicted category j | true category i); a category with no labels keeps the
    identity column (no information: assume it is classified correctly)."""
    counts = confusion_counts(truth, pred, categories)
    col = counts.sum(0)
    return np.where(col > 0, counts / np.where(col > 0, col, 1.0), np.eye(len(categories)))


def shrunk_misclassification(truth: np.ndarray, pred: np.ndarray, categories: list[str], pooled: np.ndarray,
                              strength: float) -> np.ndarray:
    """One source's own ``M`` (from its labelled sentences ``truth``, ``pred``) shrunk towards the
    ``pooled`` one (partial pooling): column ``i`` is ``(counts[:, i] + strength * pooled[:, i]) /
    (n_i + strength)``, so a source with many labels of theme ``i`` keeps its own error rates
    for it and one with few keeps the pooled ones (``strength``: a number of labels)."""
    counts = confusion_counts(truth, pred, categories)
    col = counts.sum(0) + strength
    return np.where(col > 0, (counts + strength * pooled) / np.where(col > 0, col, 1.0), pooled)


def adjusted_shares(observed: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The non-negative shares ``p`` (summing to one) that best explain ``observed ≈ M p``."""
    k = len(observed)
    weight = 1e3  # the sum-to-one row, weighted so it holds to ~1e-6
    a = np.vstack([m, weight * np.ones((1, k))])
    b = np.concatenate([observed, [weight]])
    p, _ = nnls(a, b)
    total = p.sum()
    return p / total if total > 0 else observed


def corrected_emphasis(sentences: pd.DataFrame, labels: pd.DataFrame, emphasis: pd.DataFrame,
                       n_boot: int = 1000, seed: int = 42, resample_unit: str = "paragraph",
                       pairs: pd.DataFrame | None = None, pool_strength: float | None = None) -> pd.DataFrame:
    """One row per source x theme of ``emphasis``: the raw share, the share corrected for
    misclassification with its bootstrap CI, the theme's number of labels, and whether it was
    corrected (a note says why not). See the module docstring for the method. ``pairs``: the
    labelled sentences with the predictions to learn the error rates from (default: the study's
    themes, :func:`labelled_pairs`); when the study's themes learnt from the labels, pass
    predictions made without each sentence's own label. ``pool_strength``: None for one error
    matrix for all sources; a number of labels for each source's own, partially pooled
    (:func:`shrunk_misclassification`)."""
    known = labelled_pairs(labels, sentences)  # what each labelled sentence truly is
    pairs = known if pairs is None else pairs
    body = sentences[sentences["is_body"].fillna(False).astype(bool)].copy()
    body["theme"] = body["theme"].fillna(UNASSIGNED).astype(str)
    truth_of = dict(zip(known["sentence_id"], known["truth"]))
    labelled = body["sentence_id"].astype(str).map(truth_of)
    is_known = labelled.notna().to_numpy()
    themes = list(dict.fromkeys(emphasis["theme"].astype(str)))
    n_labels = known["truth"].value_counts()
    enough = [t for t in themes if n_labels.get(t, 0) >= MIN_LABELS]
    pooled = [t for t in themes if t not in enough]
    categories = enough + ([POOLED] if pooled else [])

    def cat(values: pd.Series) -> np.ndarray:
        return values.where(values.isin(enough), POOLED).to_numpy()

    truth, pred = cat(pairs["truth"]), cat(pairs["predicted"])
    label_source = pairs["source"].astype(str).to_numpy() if "source" in pairs else np.full(len(pairs), "")
    body_cat = cat(body["theme"].where(~is_known, labelled))  # labelled sentences: their label
    m = misclassification(truth, pred, categories)

    def matrix(mp: np.ndarray, rows: np.ndarray, source: str) -> np.ndarray:
        if pool_strength is None:
            return mp
        own = rows[label_source[rows] == source]
        return shrunk_misclassification(truth[own], pred[own], categories, mp, pool_strength)

    rows = []
    for source in sorted(body["source"].astype(str).unique()):
        mine = (body["source"].astype(str) == source).to_numpy()
        clusters = cluster_keys(body[mine], resample_unit).to_numpy()
        cluster_ids, inverse = np.unique(clusters, return_inverse=True)
        which = np.array([categories.index(c) for c in body_cat[mine]], dtype=np.int64)
        counts = np.zeros((2, len(cluster_ids), len(categories)))  # [0]: estimated, [1]: labelled (known)
        np.add.at(counts, (is_known[mine].astype(np.int64), inverse, which), 1.0)
        point = _combined(counts.sum(1), matrix(m, np.arange(len(truth)), source))
        rng = rng_for(seed, "corrected", source)
        boot = np.empty((n_boot, len(categories)))
        for b in range(n_boot):
            c = counts[:, rng.integers(0, len(cluster_ids), len(cluster_ids))].sum(1)
            d = rng.integers(0, len(truth), len(truth)) if len(truth) else np.array([], dtype=int)
            mb = matrix(misclassification(truth[d], pred[d], categories), d, source) if len(d) else m
            boot[b] = _combined(c, mb)
        lo, hi = np.percentile(boot, 2.5, axis=0), np.percentile(boot, 97.5, axis=0)
        raw = emphasis[emphasis["source"].astype(str) == source].set_index("theme")["share"]
        for theme in themes:
            if theme in enough:
                i = categories.index(theme)
                rows.append(dict(source=source, theme=theme, share=float(raw.get(theme, np.nan)),
                                 share_corrected=float(point[i]), ci_low=float(lo[i]), ci_high=float(hi[i]),
                                 n_labels=int(n_labels.get(theme, 0)), corrected=True, note=""))
            else:
                rows.append(dict(source=source, theme=theme, share=float(raw.get(theme, np.nan)),
                                 share_corrected=np.nan, ci_low=np.nan, ci_high=np.nan,
                                 n_labels=int(n_labels.get(theme, 0)), corrected=False,
                                 note=f"too few labels to correct ({int(n_labels.get(theme, 0))} < {MIN_LABELS})"))
    return pd.DataFrame(rows, columns=CORRECTED_COLUMNS)


def _combined(counts: np.ndarray, m: np.ndarray) -> np.ndarray:
    """A source's corrected shares from its category counts: row 0, the sentences the study
    themed (corrected with ``m``); row 1, the labelled sentences, by their labels (known)."""
    estimated, known = counts
    n_est, n_known = estimated.sum(), known.sum()
    total = n_est + n_known
    if total == 0:
        return np.zeros(counts.shape[1])
    p = adjusted_shares(estimated / n_est, m) if n_est else np.zeros(counts.shape[1])
    return (n_est * p + known) / total
