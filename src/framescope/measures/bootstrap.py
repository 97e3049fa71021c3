"""Cluster bootstrap and interval floors shared by the emphasis and tone measures.

Neighbouring sentences are not independent (they share a paragraph, an author, a topic), so
uncertainty is estimated by resampling whole clusters: paragraphs, ``(doc_id, paragraph)``, or
documents, ``doc_id`` (``MeasureConfig.resample_unit``). Resampling is vectorised: one draw of
multinomial cluster weights ``W`` (``n_boot`` × ``n_clusters``) turns per-cluster sums into
bootstrap replicates by a single matrix product.

Percentile bootstrap intervals are too narrow when there are few clusters, and collapse to a
point when a count is zero (a share of 0 in every replicate gives [0, 0]). Each measure
therefore widens its bootstrap interval to at least an analytic floor (Wilson for shares, a
cluster-level t interval for means); see ``docs/measures.md``.
"""
from __future__ import annotations

import warnings
import zlib

import numpy as np
import pandas as pd
from scipy import stats

from framescope.errors import InputError
from framescope.themes.codebook import UNASSIGNED


def rng_for(seed: int, *keys: str) -> np.random.Generator:
    """A generator seeded from ``seed`` and stable hashes of ``keys`` (e.g. a source name).

    A cell's interval then depends only on its own data and the seed, never on which other
    sources or themes happen to be processed before it.
    """
    return np.random.default_rng([int(seed)] + [zlib.crc32(str(k).encode("utf-8")) for k in keys])


def cluster_keys(sentences: pd.DataFrame, unit: str) -> pd.Series:
    """The resampling cluster of each sentence: ``doc_id|paragraph`` or ``doc_id``."""
    if unit == "document":
        return sentences["doc_id"].astype(str)
    if unit == "paragraph":
        return sentences["doc_id"].astype(str) + "|" + sentences["paragraph"].astype(str)
    raise InputError(f"resample_unit must be 'paragraph' or 'document', not {unit!r}")


def multinomial_weights(n_clusters: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``n_boot`` × ``n_clusters`` counts: how often each cluster is drawn in each replicate."""
    if n_clusters == 0:
        return np.zeros((n_boot, 0))
    return rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_boot).astype(float)


def percentile_interval(replicates: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0, ignoring NaN replicates."""
    alpha = (1.0 - level) / 2.0
    replicates = np.asarray(replicates, dtype=float)
    if not np.isnan(replicates).any():  # the same numbers as nanquantile, column for column, far faster
        lo, hi = np.quantile(replicates, [alpha, 1.0 - alpha], axis=0)  # one partition for both
        return lo, hi
    with warnings.catch_warnings():  # all-NaN columns (empty cells) give NaN quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanquantile(replicates, alpha, axis=0)
        hi = np.nanquantile(replicates, 1.0 - alpha, axis=0)
    return lo, hi


def wilson_interval(k: np.ndarray, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes out of n (vectorised; NaN where n == 0).

    Wilson (1927); recommended over the Wald interval for small n and proportions near 0 or 1
    by Brown, Cai & DasGupta (2001). For k = 0 it gives [0, z²/(n + z²)], not [0, 0].
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(1.0 - (1.0 - level) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        lo = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        hi = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return lo, hi


def replicate_counts(counts: np.ndarray, n_boot: int, rng: np.random.Generator,
                     max_cells: int = 4_000_000) -> np.ndarray:
    """``multinomial_weights(len(counts), n_boot, rng) @ counts`` for a clusters × columns matrix
    of whole numbers, drawn ``max_cells // n_clusters`` replicates at a time.

    The generator yields the same draws whether they are taken at once or in chunks, and sums of
    whole numbers are exact, so the result equals the one-shot product bit for bit while the
    weights never take more than ``max_cells`` floats (1,000 x 400k clusters would be 3.2 GB).
    """
    counts = np.asarray(counts, dtype=float)
    n_clusters = len(counts)
    out = np.empty((n_boot,) + counts.shape[1:])
    if n_clusters == 0:
        out[...] = 0.0
        return out
    step = max(1, max_cells // n_clusters)
    for start in range(0, n_boot, step):
        b = min(step, n_boot - start)
        out[start:start + b] = multinomial_weights(n_clusters, b, rng) @ counts
    return out


def cluster_sums(values: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cluster keys sorted, sum of ``values`` per cluster, count per cluster), summed in row order."""
    codes, uniq = pd.factorize(pd.Series(clusters), sort=True)
    c = len(uniq)
    sums = np.bincount(codes, weights=np.asarray(values, dtype=float), minlength=c)
    return np.asarray(uniq), sums, np.bincount(codes, minlength=c).astype(float)


def cluster_mean_interval(values: np.ndarray, clusters: np.ndarray, n_boot: int, level: float,
                          rng: np.random.Generator, bounds: tuple[float, float],
                          floor_sd: float = 0.0) -> tuple[float, float, float]:
    """Mean of ``values`` with a cluster-bootstrap CI widened to a t interval
    (:func:`mean_interval_from_sums` over the per-cluster sums)."""
    if len(values) == 0:
        return np.nan, np.nan, np.nan
    _, sums, counts = cluster_sums(values, clusters)
    return mean_interval_from_sums(sums, counts, n_boot, level, rng, bounds, floor_sd)


def mean_interval_from_sums(sums: np.ndarray, counts: np.ndarray, n_boot: int, level: float,
                            rng: np.random.Generator, bounds: tuple[float, float],
                            floor_sd: float = 0.0, draw: bool = True) -> tuple[float, float, float]:
    """Mean with a cluster-bootstrap CI widened to a t interval, from per-cluster sums and
    counts (clusters in sorted key order); without ``draw``, the t interval alone (what the
    bootstrap interval tends to with many clusters: for big cells, ``asymptotic.py``).

    The t interval (C - 1 degrees of freedom) uses the larger of two standard errors: the
    linearised standard error of the ratio estimator over clusters,
    sqrt(sum_c (S_c - mean * N_c)^2 / (C (C - 1) Nbar^2)), and ``floor_sd / sqrt(n)``, the
    error that independent sentences with the corpus-wide spread ``floor_sd`` would give (so two
    sentences that happen to agree do not produce a zero-width interval). One cluster gives no
    information about between-cluster variability: the interval is the whole range ``bounds``.
    """
    sums = np.asarray(sums, dtype=float)
    counts = np.asarray(counts, dtype=float)
    c = len(sums)
    if c == 0:
        return np.nan, np.nan, np.nan
    mean = float(sums.sum() / counts.sum())
    if c < 2:
        return mean, bounds[0], bounds[1]
    if draw:
        w = multinomial_weights(c, n_boot, rng)
        boot = (w @ sums) / (w @ counts)
        b_lo, b_hi = percentile_interval(boot, level)
    else:
        b_lo, b_hi = np.nan, np.nan
    nbar = counts.mean()
    se = np.sqrt(np.sum((sums - mean * counts) ** 2) / (c * (c - 1) * nbar * nbar))
    se = max(float(se), float(floor_sd) / np.sqrt(counts.sum()))
    t = stats.t.ppf(1.0 - (1.0 - level) / 2.0, df=c - 1)
    lo = max(bounds[0], float(np.fmin(b_lo, mean - t * se)))
    hi = min(bounds[1], float(np.fmax(b_hi, mean + t * se)))
    return mean, lo, hi


def spread_moments(values: np.ndarray) -> tuple[int, float, float]:
    """(n, mean, sum of squared deviations) of the non-missing ``values``, computed as pandas'
    ``Series.std`` computes them, so :func:`spread_from_moments` of one part is that SD exactly."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return 0, 0.0, 0.0
    mean = x.sum(dtype=np.float64) / len(x)
    return len(x), float(mean), float(((mean - x) ** 2).sum(dtype=np.float64))


def spread_from_moments(parts: list[tuple[int, float, float]]) -> float:
    """Sample SD (ddof 1) of the union of parts, combined in the order given (Chan et al. 1979);
    0.0 when fewer than two values."""
    n, mean, m2 = 0, 0.0, 0.0
    for n_b, mean_b, m2_b in parts:
        if n_b == 0:
            continue
        if n == 0:
            n, mean, m2 = n_b, mean_b, m2_b
            continue
        total = n + n_b
        delta = mean_b - mean
        mean = mean + delta * n_b / total
        m2 = m2 + m2_b + delta * delta * n * n_b / total
        n = total
    if n < 2:
        return 0.0
    return float(np.sqrt(m2 / (n - 1)))


def measured_sentences(sentences: pd.DataFrame, include_non_body: bool,
                       required: tuple[str, ...] = ("source", "theme", "doc_id", "paragraph")) -> pd.DataFrame:
    """Body sentences (or all, if asked) with a clean ``theme`` column; checks the columns."""
    missing = [c for c in required if c not in sentences.columns]
    if missing:
        raise InputError(f"sentences table has no {', '.join(repr(c) for c in missing)} column")
    df = sentences
    if not include_non_body and "is_body" in df.columns:
        df = df[df["is_body"].fillna(False).astype(bool)]
    df = df.copy()
    df["theme"] = df["theme"].astype("object").where(df["theme"].notna(), UNASSIGNED).astype(str)
    df["source"] = df["source"].astype(str)
    return df


def theme_order(themes) -> list[str]:
    """Themes sorted by name with ``unassigned`` last (a stable order for every table)."""
    themes = {str(t) for t in themes}
    return sorted(t for t in themes if t != UNASSIGNED) + ([UNASSIGNED] if UNASSIGNED in themes else [])


def source_cluster_matrices(counts: pd.DataFrame, sources: list[str], themes: list[str]) -> dict[str, np.ndarray]:
    """Each source's clusters × themes sentence counts from a ``cluster_counts`` table (rows
    ``source, cluster, theme, n``): the source's clusters in sorted key order, sources without a
    sentence left out. Sums of whole numbers, so exact."""
    df = counts[counts["source"].isin(sources)]
    t_codes = pd.Categorical(df["theme"], categories=list(themes)).codes
    # one row per (source, cluster), in sorted key order: each source's clusters in the order
    # pd.factorize(..., sort=True) gives them
    c_codes = df.groupby(["source", "cluster"], sort=True).ngroup().to_numpy()
    n_rows = int(c_codes.max()) + 1 if len(c_codes) else 0
    n_t = len(themes)
    k_all = np.bincount(c_codes * n_t + t_codes, weights=df["n"].to_numpy(float),
                        minlength=n_rows * n_t).reshape(n_rows, n_t)
    row_source = np.empty(n_rows, dtype=object)
    row_source[c_codes] = df["source"].to_numpy(dtype=object)
    out: dict[str, np.ndarray] = {}
    if n_rows:
        starts = np.flatnonzero(np.r_[True, row_source[1:] != row_source[:-1]])
        for a, b in zip(starts, np.r_[starts[1:], n_rows]):
            if k_all[a:b].sum():
                out[str(row_source[a])] = k_all[a:b]
    return out
