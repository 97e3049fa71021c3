"""How far the sources diverge on each theme: differences of shares with intervals, and the
order of themes by that divergence.

``gaps_from_replicates`` turns the emphasis table and its cluster-bootstrap replicates
(``emphasis.share_replicates``) into one row per theme × pair of sources: the difference of the
two shares (a fraction; ×100 for percentage points), oriented so that it is never negative
(``source_a`` is the source with the larger share), with an interval at ``cfg.ci_level``. The
interval is the percentile interval of the differences of the two sources' own replicates
(each source is resampled on its own, seeded from its own name, so the interval of a pair
never depends on the other sources or on processing order), widened to at least Newcombe's
(1998, method 10) interval built from the two shares' intervals, so that two empty cells still
get an interval of honest width. Methods: ``docs/measures.md``.
"""
from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import numpy as np
import pandas as pd

from framescope.measures.asymptotic import effective_wilson, wald_difference
from framescope.measures.bootstrap import wilson_interval
from framescope.config import MeasureConfig
from framescope.measures.emphasis import (
    cluster_counts, emphasis_from_counts, replicate_intervals, share_replicates, study_sources_and_themes,
)
from framescope.themes.codebook import UNASSIGNED

GAP_COLUMNS = ["theme", "source_a", "source_b", "share_a", "share_b", "n_sentences_a", "n_sentences_b",
               "difference", "ci_low", "ci_high"]
# Up to this many sources with sentences, the table holds every pair of them (at most 435 pairs a
# theme); above it, each source against the pool of all the others (OTHER_SOURCES), so the table
# and its cost grow with the sources, not with their pairs (docs/measures.md).
MAX_PAIRED_SOURCES = 30
OTHER_SOURCES = "(all other sources)"
_GAP_TYPES = {"theme": "object", "source_a": "object", "source_b": "object", "share_a": "float64",
              "share_b": "float64", "n_sentences_a": "int64", "n_sentences_b": "int64", "difference": "float64",
              "ci_low": "float64", "ci_high": "float64"}


def gaps_from_replicates(emphasis: pd.DataFrame, replicates: Mapping, cfg: MeasureConfig) -> pd.DataFrame:
    """One row per theme × pair of sources with sentences (:data:`GAP_COLUMNS`), largest
    ``difference`` first (ties by theme, ``source_a``, ``source_b``).

    ``emphasis`` is an ``emphasis_from_counts`` table (every source × theme, themes in the same
    order for every source, which is the column order of ``replicates``). With more than
    :data:`MAX_PAIRED_SOURCES` sources with sentences, each source is compared with the rest of
    the corpus instead (:data:`OTHER_SOURCES`, see :func:`gaps_against_the_rest`), so the table
    grows linearly with the sources, not with their pairs."""
    sources = sorted(s for s in emphasis["source"].unique() if s in replicates)
    if len(sources) > MAX_PAIRED_SOURCES:
        return gaps_against_the_rest(emphasis, replicates, cfg, sources)
    cells = _cells(emphasis, sources)
    pairs = list(combinations(range(len(sources)), 2))
    if not pairs:
        return _ordered(pd.DataFrame(columns=GAP_COLUMNS))
    ia, ib = np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])
    share, lo, hi, n = cells["share"], cells["ci_low"], cells["ci_high"], cells["n_sentences"]
    analytic = getattr(replicates, "analytic", frozenset())
    drawn = [j for j, (a, b) in enumerate(pairs) if sources[a] not in analytic and sources[b] not in analytic]
    diffs = {f"{pairs[j][0]}|{pairs[j][1]}": replicates[sources[pairs[j][0]]] - replicates[sources[pairs[j][1]]]
             for j in drawn}
    bounds = replicate_intervals(diffs, list(diffs), cfg.ci_level, width=4096)
    b_lo = np.full((len(pairs), len(cells["themes"])), np.nan)
    b_hi = np.full_like(b_lo, np.nan)
    for j, key in zip(drawn, diffs):
        b_lo[j], b_hi[j] = bounds[key]
    both = [j for j, (a, b) in enumerate(pairs) if sources[a] in analytic and sources[b] in analytic]
    if both:  # two big sources: the normal interval from their linearised variances
        m = replicates.moments
        var = m.variances()[[m.index(s) for s in sources]]
        b_lo[both], b_hi[both] = wald_difference(share[ia[both]] - share[ib[both]], var[ia[both]], var[ib[both]],
                                                 cfg.ci_level)
    # a big and a small source: Newcombe's interval from their two intervals alone (NaN here)
    return _oriented(cells["themes"], np.asarray(sources, dtype=object)[ia], np.asarray(sources, dtype=object)[ib],
                     share[ia], share[ib], lo[ia], hi[ia], lo[ib], hi[ib], n[ia], n[ib], b_lo, b_hi)


def gaps_against_the_rest(emphasis: pd.DataFrame, replicates: Mapping, cfg: MeasureConfig,
                          sources: list[str] | None = None) -> pd.DataFrame:
    """One row per theme × source with sentences: the source against all the other sources'
    sentences pooled (``OTHER_SOURCES``; ``n_sentences`` and ``share`` of that pool), the
    same columns and orientation as the pairwise table.

    Each source is resampled on its own (the cluster bootstrap of ``emphasis.ShareReplicates``),
    so the pool's replicate counts are the sum of every source's minus this one's; the
    difference's percentile interval is widened to Newcombe's, built from the source's interval
    (the emphasis table's) and the pool's (its percentile interval widened to Wilson's)."""
    sources = sources if sources is not None else sorted(s for s in emphasis["source"].unique() if s in replicates)
    if getattr(replicates, "analytic", None):
        return _analytic_against_the_rest(emphasis, replicates, cfg, sources)
    cells = _cells(emphasis, sources)
    n_t = len(cells["themes"])
    total = np.zeros((cfg.n_boot, n_t))
    for src in sources:
        total += replicates.counts(src)
    k_rest = cells["n_sentences"].sum(axis=0)[None, :] - cells["n_sentences"]
    n_rest = k_rest.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_rest = k_rest / n_rest
    w_lo, w_hi = wilson_interval(k_rest, np.broadcast_to(n_rest, k_rest.shape), cfg.ci_level)

    def rest_and_difference(src: str) -> np.ndarray:
        own = replicates.counts(src)
        rest = total - own
        with np.errstate(invalid="ignore", divide="ignore"):
            own_share = own / own.sum(axis=1, keepdims=True)
            rest_share = rest / rest.sum(axis=1, keepdims=True)
        return np.concatenate([rest_share, own_share - rest_share], axis=1)

    bounds = replicate_intervals(_Lazy(rest_and_difference, sources), sources, cfg.ci_level, width=4096)
    lo_all = np.stack([bounds[s][0] for s in sources])
    hi_all = np.stack([bounds[s][1] for s in sources])
    rest_lo, rest_hi = np.fmin(lo_all[:, :n_t], w_lo), np.fmax(hi_all[:, :n_t], w_hi)
    others = np.full(len(sources), OTHER_SOURCES, dtype=object)
    return _oriented(cells["themes"], np.asarray(sources, dtype=object), others, cells["share"], share_rest,
                     cells["ci_low"], cells["ci_high"], rest_lo, rest_hi, cells["n_sentences"], k_rest,
                     lo_all[:, n_t:], hi_all[:, n_t:])


def _analytic_against_the_rest(emphasis: pd.DataFrame, replicates, cfg: MeasureConfig,
                               sources: list[str]) -> pd.DataFrame:
    """:func:`gaps_against_the_rest` when a source's intervals are analytic: the pool's interval
    is Wilson's with its effective sample size (its linearised variance, each source a stratum);
    a big source's difference from it has the normal interval from the two linearised variances,
    widened to Newcombe's, and a small source's (whose bootstrap interval may be skewed) has
    Newcombe's interval from its own interval and the pool's."""
    cells = _cells(emphasis, sources)
    m = replicates.moments
    rows = [m.index(s) for s in sources]
    k_all, n_all, var_all = m.pooled_except()
    k_rest, n_rest, var_rest = k_all[rows], n_all[rows][:, None], var_all[rows]
    with np.errstate(invalid="ignore", divide="ignore"):
        share_rest = k_rest / n_rest
    w_lo, w_hi = wilson_interval(k_rest, np.broadcast_to(n_rest, k_rest.shape), cfg.ci_level)
    e_lo, e_hi = effective_wilson(share_rest, var_rest, n_rest, cfg.ci_level)
    rest_lo, rest_hi = np.fmin(e_lo, w_lo), np.fmax(e_hi, w_hi)
    d_lo, d_hi = wald_difference(cells["share"] - share_rest, m.variances()[rows], var_rest, cfg.ci_level)
    small = ~np.isin(np.asarray(sources, dtype=object), list(replicates.analytic))
    d_lo[small], d_hi[small] = np.nan, np.nan  # a small source: Newcombe's interval from the two intervals
    others = np.full(len(sources), OTHER_SOURCES, dtype=object)
    return _oriented(cells["themes"], np.asarray(sources, dtype=object), others, cells["share"], share_rest,
                     cells["ci_low"], cells["ci_high"], rest_lo, rest_hi, cells["n_sentences"],
                     k_rest.astype("int64"), d_lo, d_hi)


class _Lazy(Mapping):
    """A read-only mapping whose values are computed when asked for."""

    def __init__(self, fn, keys):
        self.fn, self.keys_ = fn, list(keys)
        self.known = set(self.keys_)

    def __contains__(self, key) -> bool:
        return key in self.known

    def __getitem__(self, key):
        return self.fn(key)

    def __iter__(self):
        return iter(self.keys_)

    def __len__(self) -> int:
        return len(self.keys_)


def _cells(emphasis: pd.DataFrame, sources: list[str]) -> dict:
    """The emphasis table's columns as sources × themes arrays (sources in the given order)."""
    where = emphasis.groupby("source", sort=False).indices
    rows = np.stack([where[s] for s in sources]) if sources else np.zeros((0, 0), dtype=int)
    themes = emphasis["theme"].to_numpy(dtype=object)[rows[0]] if len(sources) else np.array([], dtype=object)
    out = {c: emphasis[c].to_numpy(float)[rows] for c in ("share", "ci_low", "ci_high")}
    out["n_sentences"] = emphasis["n_sentences"].to_numpy("int64")[rows]
    out["themes"] = themes
    return out


def _oriented(themes, src_a, src_b, pa, pb, a_lo, a_hi, b_lo_ci, b_hi_ci, na, nb, boot_lo, boot_hi) -> pd.DataFrame:
    """The gap rows of pairs (a, b) × themes (arrays pairs × themes; ``boot_*`` the percentile
    interval of a's replicates minus b's), widened to Newcombe's hybrid score interval and
    oriented so that ``source_a`` has the larger share."""
    n_t = len(themes)
    d = pa - pb
    n_lo = d - np.sqrt((pa - a_lo) ** 2 + (b_hi_ci - pb) ** 2)
    n_hi = d + np.sqrt((a_hi - pa) ** 2 + (pb - b_lo_ci) ** 2)
    lo, hi = np.clip(np.fmin(boot_lo, n_lo), -1.0, 1.0), np.clip(np.fmax(boot_hi, n_hi), -1.0, 1.0)
    flip = pb > pa
    col = lambda m: m.ravel()  # noqa: E731
    a_names = np.repeat(np.asarray(src_a, dtype=object), n_t).reshape(-1, n_t)
    b_names = np.repeat(np.asarray(src_b, dtype=object), n_t).reshape(-1, n_t)
    out = pd.DataFrame({
        "theme": np.tile(np.asarray(themes, dtype=object), len(pa)).tolist(),
        "source_a": col(np.where(flip, b_names, a_names)).tolist(),
        "source_b": col(np.where(flip, a_names, b_names)).tolist(),
        "share_a": col(np.where(flip, pb, pa)), "share_b": col(np.where(flip, pa, pb)),
        "n_sentences_a": col(np.where(flip, nb, na)), "n_sentences_b": col(np.where(flip, na, nb)),
        "difference": col(np.where(flip, pb - pa, pa - pb)),
        "ci_low": col(np.where(flip, -hi, lo)), "ci_high": col(np.where(flip, -lo, hi)),
    }, columns=GAP_COLUMNS)
    return _ordered(out)


def _ordered(out: pd.DataFrame) -> pd.DataFrame:
    out = out.astype(_GAP_TYPES)
    out = out.sort_values(["difference", "theme", "source_a", "source_b"], ascending=[False, True, True, True],
                          kind="stable")
    return out.reset_index(drop=True)


def emphasis_gaps(sentences: pd.DataFrame, cfg: MeasureConfig) -> pd.DataFrame:
    """:func:`gaps_from_replicates` straight from the sentences (what a study computes from the
    partials of its partitions, ``framing.measure_tables``)."""
    counts = cluster_counts(sentences, cfg)  # checks the columns
    sources, themes = study_sources_and_themes(sentences)
    replicates = share_replicates(counts, sources, themes, cfg)
    return gaps_from_replicates(emphasis_from_counts(counts, sources, themes, cfg, replicates), replicates, cfg)


def largest_gaps(gaps: pd.DataFrame, sources: list[str] | None = None) -> pd.DataFrame:
    """Per theme, the pair of ``sources`` (default: all) whose shares differ most: one row per
    theme, largest difference first (ties by theme). In a table of each source against the rest
    (:func:`gaps_against_the_rest`), the pool of the others (``OTHER_SOURCES``) is always kept:
    per theme, the chosen source that differs most from all the others."""
    if gaps.empty:
        return gaps
    if sources is not None:
        keep = set(sources) | {OTHER_SOURCES}
        gaps = gaps[gaps["source_a"].isin(keep) & gaps["source_b"].isin(keep)]
    best = gaps.sort_values(["difference", "theme", "source_a", "source_b"], ascending=[False, True, True, True],
                            kind="stable").drop_duplicates("theme")
    return best.reset_index(drop=True)


def against_the_rest(gaps: pd.DataFrame) -> bool:
    """Whether a gaps table compares each source with the rest (a study of more than
    :data:`MAX_PAIRED_SOURCES` sources) rather than every two sources."""
    return bool(len(gaps)) and bool(((gaps["source_a"] == OTHER_SOURCES) | (gaps["source_b"] == OTHER_SOURCES)).any())


def themes_by_divergence(emphasis: pd.DataFrame, measure: str = "share") -> list[str]:
    """The themes of an emphasis table, the one the sources differ most on first: by the range
    (largest minus smallest) of ``measure`` across the table's sources, then by the theme's
    sentences, then by key; ``unassigned`` last."""
    if emphasis.empty:
        return []
    by = emphasis.groupby("theme", sort=True)
    order = pd.DataFrame({"range": by[measure].max() - by[measure].min(), "n": by["n_sentences"].sum()})
    order = order.fillna({"range": 0.0}).reset_index()
    order = order.sort_values(["range", "n", "theme"], ascending=[False, False, True], kind="stable")
    themes = [str(t) for t in order["theme"]]
    return [t for t in themes if t != UNASSIGNED] + ([UNASSIGNED] if UNASSIGNED in themes else [])
