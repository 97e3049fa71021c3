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

from framescope.bootstrap import cluster_keys, cluster_mean_interval, measured_sentences, rng_for, theme_order
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


def tone_table(sentences: pd.DataFrame, cfg: MeasureConfig) -> pd.DataFrame:
    """Mean tone per theme × source (cells with at least one sentence), with a cluster CI."""
    body = measured_sentences(sentences, cfg.include_non_body)
    if "tone" not in body.columns:
        body = body.assign(tone=tone_scores(body))
    body = body.assign(_cluster=cluster_keys(body, cfg.resample_unit))
    spread = pd.to_numeric(body["tone"], errors="coerce").std(ddof=1)  # corpus-wide sentence SD
    spread = 0.0 if pd.isna(spread) else float(spread)
    rows = []
    order = {t: i for i, t in enumerate(theme_order(body["theme"].unique()))}
    for (theme, source), cell in body.groupby(["theme", "source"], sort=False):
        tone = pd.to_numeric(cell["tone"], errors="coerce")
        cell = cell[tone.notna()]
        mean, lo, hi = cluster_mean_interval(tone.dropna().to_numpy(), cell["_cluster"].to_numpy(),
                                             cfg.n_boot, cfg.ci_level, rng_for(cfg.seed, "tone", theme, source),
                                             bounds=(-1.0, 1.0), floor_sd=spread)
        rows.append((theme, source, len(cell), mean, lo, hi, len(cell) < cfg.min_cell))
    out = pd.DataFrame(rows, columns=COLUMNS)
    if out.empty:
        return out.astype({"n_sentences": "int64", "mean": "float64", "ci_low": "float64",
                           "ci_high": "float64", "small_cell": "bool"})
    out = out.assign(_o=out["theme"].map(order)).sort_values(["_o", "source"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)
