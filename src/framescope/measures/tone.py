"""Tone: VADER compound score per sentence, and its mean per theme × source with a CI.

VADER (Hutto & Gilbert 2014) is a lexicon-and-rules sentiment model built for short texts; its
compound score lies in [-1, 1] and saturates on long passages, so it is applied to single
sentences, never to whole articles. The cell mean's interval is a percentile bootstrap that
resamples paragraphs (or documents) within the cell, widened to at least a t interval whose
standard error is never below the corpus-wide sentence SD / sqrt(n); a cell from a single
paragraph gets the whole range [-1, 1] (see docs/measures.md).
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd

from framescope.measures.bootstrap import (
    cluster_keys, cluster_sums, mean_interval_from_sums, measured_sentences, rng_for, spread_from_moments,
    spread_moments, theme_order,
)
from framescope.config import MeasureConfig
from framescope.errors import InputError

COLUMNS = ["theme", "source", "n_sentences", "mean", "ci_low", "ci_high", "small_cell"]


@lru_cache(maxsize=1)
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def tone_scores(sentences: pd.DataFrame) -> pd.Series:
    """VADER compound score of each sentence (index aligned with ``sentences``)."""
    if "text" not in sentences.columns:
        raise InputError("sentences table has no 'text' column")
    analyzer = _analyzer()
    texts = sentences["text"].fillna("").astype(str)
    return pd.Series([analyzer.polarity_scores(t)["compound"] for t in texts],
                     index=sentences.index, name="tone", dtype="float64")


CELL_SUM_COLUMNS = ["theme", "source", "cluster", "n", "sum"]


def tone_sums(sentences: pd.DataFrame, cfg: MeasureConfig) -> tuple[pd.DataFrame, tuple[int, float, float]]:
    """What the tone table needs from some sentences: tone sum and count per theme × source ×
    cluster (summed in row order), and the moments of the sentences' tone (for the corpus SD).

    A cluster lies inside one document, so the sums of partitions of whole documents are simply
    stacked, and each cluster's sum is the one the whole table would give (:func:`tone_from_sums`).
    """
    body = measured_sentences(sentences, cfg.include_non_body)
    if "tone" not in body.columns:
        body = body.assign(tone=tone_scores(body))
    tone = pd.to_numeric(body["tone"], errors="coerce")
    moments = spread_moments(tone.to_numpy(float))
    body = body.assign(_cluster=cluster_keys(body, cfg.resample_unit), _tone=tone)[tone.notna()]
    parts = []
    for (theme, source), cell in body.groupby(["theme", "source"], sort=False):
        keys, sums, counts = cluster_sums(cell["_tone"].to_numpy(float), cell["_cluster"].to_numpy())
        parts.append(pd.DataFrame({"theme": theme, "source": source, "cluster": keys,
                                   "n": counts.astype("int64"), "sum": sums}))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            CELL_SUM_COLUMNS, ["object", "object", "object", "int64", "float64"])}), moments
    return pd.concat(parts, ignore_index=True), moments


def tone_from_sums(sums: pd.DataFrame, moments: list[tuple[int, float, float]], cfg: MeasureConfig) -> pd.DataFrame:
    """Mean tone per theme × source with a cluster CI, from :func:`tone_sums` of the partitions
    (their sum tables stacked, their moments in partition order)."""
    spread = spread_from_moments(moments)  # corpus-wide sentence SD
    rows = []
    for (theme, source), cell in sums.groupby(["theme", "source"], sort=True):
        cell = cell.sort_values("cluster", kind="stable")
        mean, lo, hi = mean_interval_from_sums(cell["sum"].to_numpy(float), cell["n"].to_numpy(float),
                                               cfg.n_boot, cfg.ci_level, rng_for(cfg.seed, "tone", theme, source),
                                               bounds=(-1.0, 1.0), floor_sd=spread)
        n = int(cell["n"].sum())
        rows.append((theme, source, n, mean, lo, hi, n < cfg.min_cell))
    out = pd.DataFrame(rows, columns=COLUMNS)
    if out.empty:
        return out.astype({"n_sentences": "int64", "mean": "float64", "ci_low": "float64",
                           "ci_high": "float64", "small_cell": "bool"})
    order = {t: i for i, t in enumerate(theme_order(out["theme"].unique()))}
    out = out.assign(_o=out["theme"].map(order)).sort_values(["_o", "source"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True).astype({"n_sentences": "int64"})


def tone_table(sentences: pd.DataFrame, cfg: MeasureConfig) -> pd.DataFrame:
    """Mean tone per theme × source (cells with at least one sentence), with a cluster CI."""
    sums, moments = tone_sums(sentences, cfg)
    return tone_from_sums(sums, [moments], cfg)
