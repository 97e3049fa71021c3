"""Tone: VADER compound score per sentence, and its mean per theme × source with a CI.

VADER (Hutto & Gilbert 2014) is a lexicon-and-rules sentiment model built for short texts; its
compound score lies in [-1, 1] and saturates on long passages, so it is applied to single
sentences, never to whole articles. The cell mean's interval is a percentile bootstrap that
resamples paragraphs (or documents) within the cell, widened to at least a t interval whose
standard error is never below the corpus-wide sentence SD / sqrt(n); a cell of at least
``measures.asymptotic_clusters`` clusters gets that t interval alone (the bootstrap tends to it);
a cell from a single paragraph gets the whole range [-1, 1] (see docs/measures.md).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from framescope.measures.asymptotic import is_big
from framescope.measures.bootstrap import (
    cluster_keys, mean_interval_from_sums, measured_sentences, rng_for, spread_from_moments,
    spread_moments, theme_order,
)
from framescope.config import MeasureConfig
from framescope.errors import InputError
from framescope.processes import in_runs

COLUMNS = ["theme", "source", "n_sentences", "mean", "ci_low", "ci_high", "small_cell"]
# Below this many texts to score, VADER (about half a millisecond a sentence) runs in this process:
# sending the texts to other processes would cost about what the second core saves.
PARALLEL_MIN_TEXTS = 5000


@lru_cache(maxsize=1)
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _compound(texts: list[str]) -> list[float]:
    analyzer = _analyzer()
    return [analyzer.polarity_scores(t)["compound"] for t in texts]


def tone_scores(sentences: pd.DataFrame, cache: bool = False, workers: int | None = 1,
                min_parallel: int = PARALLEL_MIN_TEXTS) -> pd.Series:
    """VADER compound score of each sentence (index aligned with ``sentences``); a text that
    recurs is scored once. With ``cache``, the scores an earlier run computed for a text (this
    code, this vaderSentiment: ``framescope.reuse``) are taken from the cache and the new ones
    added to it. ``workers`` processes score (None: every available core) when at least
    ``min_parallel`` texts need a score (``processes.in_runs``); a text's score depends on that
    text alone, so not on ``workers``."""
    if "text" not in sentences.columns:
        raise InputError("sentences table has no 'text' column")
    from framescope.reuse import per_text

    def score(todo: list[str]) -> list[float]:
        return in_runs(_compound, todo, workers, min_parallel)

    texts = sentences["text"].fillna("").astype(str).tolist()
    found = per_text("tone", {"analyzer": "vader compound"}, texts, score, cache)
    return pd.Series([found[t] for t in texts], index=sentences.index, name="tone", dtype="float64")


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
    body = body[tone.notna().to_numpy()]
    tone = tone[tone.notna()]
    if body.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            CELL_SUM_COLUMNS, ["object", "object", "object", "int64", "float64"])}), moments
    keys = pd.DataFrame({"theme": body["theme"].to_numpy(), "source": body["source"].to_numpy(),
                         "cluster": cluster_keys(body, cfg.resample_unit).to_numpy()})
    codes = keys.groupby(["theme", "source", "cluster"], sort=True).ngroup().to_numpy()
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    out = keys.iloc[first].reset_index(drop=True)  # one row per theme × source × cluster, sorted
    # np.bincount adds each cluster's tones in row order, as cluster_sums does
    out["n"] = np.bincount(codes, minlength=len(first)).astype("int64")
    out["sum"] = np.bincount(codes, weights=tone.to_numpy(float), minlength=len(first))
    return out[CELL_SUM_COLUMNS], moments


def tone_from_sums(sums: pd.DataFrame, moments: list[tuple[int, float, float]], cfg: MeasureConfig) -> pd.DataFrame:
    """Mean tone per theme × source with a cluster CI, from :func:`tone_sums` of the partitions
    (their sum tables stacked, their moments in partition order)."""
    spread = spread_from_moments(moments)  # corpus-wide sentence SD
    rows = []
    if len(sums):
        # cells in (theme, source) order, each cell's clusters in key order (stable for equal keys)
        sums = sums.sort_values(["theme", "source", "cluster"], kind="stable")
        theme, source = sums["theme"].to_numpy(dtype=object), sums["source"].to_numpy(dtype=object)
        total, count = sums["sum"].to_numpy(float), sums["n"].to_numpy(float)
        starts = np.flatnonzero(np.r_[True, (theme[1:] != theme[:-1]) | (source[1:] != source[:-1])])
        for a, b in zip(starts, np.r_[starts[1:], len(sums)]):
            t, s = str(theme[a]), str(source[a])
            big = is_big(b - a, cfg.asymptotic_clusters)
            mean, lo, hi = mean_interval_from_sums(total[a:b], count[a:b], cfg.n_boot, cfg.ci_level,
                                                   rng_for(cfg.seed, "tone", t, s), bounds=(-1.0, 1.0),
                                                   floor_sd=spread, draw=not big)
            n = int(count[a:b].sum())
            rows.append((t, s, n, mean, lo, hi, n < cfg.min_cell))
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
