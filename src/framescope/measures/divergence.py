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

from itertools import combinations

import numpy as np
import pandas as pd

from framescope.measures.bootstrap import percentile_interval
from framescope.config import MeasureConfig
from framescope.measures.emphasis import cluster_counts, emphasis_from_counts, share_replicates, study_sources_and_themes
from framescope.themes.codebook import UNASSIGNED

GAP_COLUMNS = ["theme", "source_a", "source_b", "share_a", "share_b", "n_sentences_a", "n_sentences_b",
               "difference", "ci_low", "ci_high"]
_GAP_TYPES = {"theme": "object", "source_a": "object", "source_b": "object", "share_a": "float64",
              "share_b": "float64", "n_sentences_a": "int64", "n_sentences_b": "int64", "difference": "float64",
              "ci_low": "float64", "ci_high": "float64"}


def gaps_from_replicates(emphasis: pd.DataFrame, replicates: dict[str, np.ndarray],
                         cfg: MeasureConfig) -> pd.DataFrame:
    """One row per theme × pair of sources with sentences (:data:`GAP_COLUMNS`), largest
    ``difference`` first (ties by theme, ``source_a``, ``source_b``).

    ``emphasis`` is an ``emphasis_from_counts`` table (every source × theme, themes in the same
    order for every source, which is the column order of ``replicates``)."""
    rows = []
    sources = sorted(s for s in emphasis["source"].unique() if s in replicates)
    by_source = {s: emphasis[emphasis["source"] == s].reset_index(drop=True) for s in sources}
    for a, b in combinations(sources, 2):
        ea, eb = by_source[a], by_source[b]
        pa, pb = ea["share"].to_numpy(float), eb["share"].to_numpy(float)
        b_lo, b_hi = percentile_interval(replicates[a] - replicates[b], cfg.ci_level)
        # Newcombe's hybrid score interval from the two (already widened) share intervals
        n_lo = (pa - pb) - np.sqrt((pa - ea["ci_low"].to_numpy(float)) ** 2 + (eb["ci_high"].to_numpy(float) - pb) ** 2)
        n_hi = (pa - pb) + np.sqrt((ea["ci_high"].to_numpy(float) - pa) ** 2 + (pb - eb["ci_low"].to_numpy(float)) ** 2)
        lo, hi = np.clip(np.fmin(b_lo, n_lo), -1.0, 1.0), np.clip(np.fmax(b_hi, n_hi), -1.0, 1.0)
        for j, theme in enumerate(ea["theme"]):
            ra, rb = ea.iloc[j], eb.iloc[j]
            if pb[j] > pa[j]:  # orient the pair: source_a has the larger share
                rows.append((theme, b, a, pb[j], pa[j], int(rb["n_sentences"]), int(ra["n_sentences"]),
                             pb[j] - pa[j], -hi[j], -lo[j]))
            else:
                rows.append((theme, a, b, pa[j], pb[j], int(ra["n_sentences"]), int(rb["n_sentences"]),
                             pa[j] - pb[j], lo[j], hi[j]))
    out = pd.DataFrame(rows, columns=GAP_COLUMNS).astype(_GAP_TYPES)
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
    theme, largest difference first (ties by theme)."""
    if gaps.empty:
        return gaps
    if sources is not None:
        keep = set(sources)
        gaps = gaps[gaps["source_a"].isin(keep) & gaps["source_b"].isin(keep)]
    best = gaps.sort_values(["difference", "theme", "source_a", "source_b"], ascending=[False, True, True, True],
                            kind="stable").drop_duplicates("theme")
    return best.reset_index(drop=True)


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
