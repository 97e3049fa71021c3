"""Emphasis: how much of each source's text goes to each theme, with uncertainty and a test.

``emphasis_table`` gives, for every source × theme (zeros included, ``unassigned`` kept as its
own theme), the number of body sentences, their share of the source's body sentences, the
share of its words, a 95% interval from a cluster bootstrap (paragraphs or documents resampled
within the source) widened to at least the Wilson interval, and a small-cell flag. It adds a
chi-square test of independence of source and theme whose p-value comes from permuting whole
clusters across sources (in a big study, from Rao and Scott's correction for clustering; the
uncorrected asymptotic p is kept as ``p_chi2``), and adjusted standardized residuals per cell
(Agresti 2013, sec. 2.4.5). ``emphasis_over_time`` repeats the shares per period when documents
are dated. Big sources get closed-form intervals (``asymptotic.py``). Methods: ``docs/measures.md``.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import sparse, stats

from framescope.measures.asymptotic import (
    ClusterMoments, effective_wilson, is_big, rao_scott, rao_scott_applies,
)
from framescope.measures.bootstrap import (
    cluster_keys, measured_sentences, percentile_interval, replicate_counts, rng_for, source_cluster_matrices,
    theme_order, wilson_interval,
)
from framescope.config import MeasureConfig
from framescope.themes.codebook import UNASSIGNED

SHARE_COLUMNS = ["source", "theme", "n_sentences", "share", "word_share", "ci_low", "ci_high",
                 "small_cell", "n_source"]
COLUMNS = ["source", "theme", "n_sentences", "share", "word_share", "ci_low", "ci_high", "small_cell",
           "residual", "chi2", "dof", "p_value", "p_chi2", "test", "n_source"]
# The app, the report and the headline findings judge the emphasis test and the residuals by
# these two constants only: the test says emphasis differs when p < ALPHA, and a cell is notable
# when |residual| >= RESIDUAL_THRESHOLD, the two-sided 5% point of the standard normal.
ALPHA = 0.05
RESIDUAL_THRESHOLD = 1.96
TIME_COLUMNS = ["period", "source", "theme", "n_sentences", "share", "ci_low", "ci_high",
                "small_cell", "n_source"]
_PERIODS = ("D", "W", "M", "Q", "Y")
# A study of at most this many sources keeps the bootstrap replicates of every source once drawn
# (the pairwise differences read each source's replicates once per other source).
KEPT_REPLICATES = 100


def _word_counts(df: pd.DataFrame) -> np.ndarray:
    if "n_words" in df.columns:
        return pd.to_numeric(df["n_words"], errors="coerce").fillna(0).to_numpy(float)
    return df["text"].fillna("").astype(str).str.split().str.len().to_numpy(float)


def _cluster_matrix(codes: np.ndarray, theme_codes: np.ndarray, n_clusters: int, n_themes: int,
                    weights: np.ndarray | None = None) -> np.ndarray:
    """Clusters × themes sums (sentence counts, or ``weights`` such as word counts)."""
    flat = codes * n_themes + theme_codes
    return np.bincount(flat, weights=weights, minlength=n_clusters * n_themes).reshape(n_clusters, n_themes)


def cluster_counts(sentences: pd.DataFrame, cfg: MeasureConfig) -> pd.DataFrame:
    """Measured sentences and their words per ``source, doc_id, cluster, theme`` (``n``, ``words``).

    This is all that emphasis needs from the sentences: a resampling cluster (paragraph or
    document) lies inside one document, so the tables of partitions of whole documents are
    simply stacked (:func:`emphasis_from_counts`). Sums of whole numbers, so exact in any order.
    """
    body = measured_sentences(sentences, cfg.include_non_body)
    df = pd.DataFrame({"source": body["source"].to_numpy(), "doc_id": body["doc_id"].astype(str).to_numpy(),
                       "cluster": cluster_keys(body, cfg.resample_unit).to_numpy(),
                       "theme": body["theme"].to_numpy(), "words": _word_counts(body)})
    out = (df.groupby(["source", "doc_id", "cluster", "theme"], sort=True)
             .agg(n=("words", "size"), words=("words", "sum")).reset_index())
    return out.astype({"n": "int64", "words": "float64"})


def study_sources_and_themes(sentences: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Every source and every theme (``unassigned`` for none) of the sentences, body or not."""
    sources = {str(s) for s in sentences["source"].astype(str).unique()}
    themes = sentences["theme"].astype("object").where(sentences["theme"].notna(), "unassigned")
    return sorted(sources), theme_order(themes.astype(str).unique())


class ShareReplicates(Mapping):
    """Cluster-bootstrap replicates of each source's shares, drawn when asked for: source ->
    ``n_boot`` × themes (a read-only mapping; sources without a measured sentence have no entry).

    A source's draws are seeded from ``cfg.seed`` and the source's name only (``bootstrap.rng_for``),
    so they never depend on which other sources are processed, or in which order, nor on when
    they are drawn; they are drawn in chunks (``bootstrap.replicate_counts``). Only the clusters
    × themes counts of each source are kept (linear in the corpus); the replicates of at most
    :data:`KEPT_REPLICATES` sources are kept once drawn, so a study of thousands of sources never
    holds sources × ``n_boot`` × themes floats at once. A source with at least
    ``cfg.asymptotic_clusters`` clusters is in ``analytic``: its intervals come from its cluster
    ``moments`` (``asymptotic.py``) and its replicates are never drawn by the emphasis tables.
    """

    def __init__(self, counts: pd.DataFrame, sources: list[str], themes: list[str], cfg: MeasureConfig):
        self.themes, self.n_boot, self.seed = list(themes), cfg.n_boot, cfg.seed
        self._mats = source_cluster_matrices(counts, sources, self.themes)
        self._kept: dict[str, np.ndarray] | None = {} if len(self._mats) <= KEPT_REPLICATES else None
        # sources whose intervals are analytic (asymptotic.py), never drawn
        self.analytic = frozenset(s for s, m in self._mats.items() if is_big(len(m), cfg.asymptotic_clusters))
        self._moments: ClusterMoments | None = None

    @property
    def moments(self) -> ClusterMoments:
        """The sources' cluster moments (sources with sentences, in sorted order), for the
        linearised variances of the analytic intervals."""
        if self._moments is None:
            self._moments = ClusterMoments(self._mats, sorted(self._mats), self.themes)
        return self._moments

    def __len__(self) -> int:
        return len(self._mats)

    def __iter__(self):
        return iter(self._mats)

    def __contains__(self, source) -> bool:
        return source in self._mats

    def counts(self, source: str) -> np.ndarray:
        """``n_boot`` × themes replicate counts of the source's sentences per theme."""
        return replicate_counts(self._mats[source], self.n_boot, rng_for(self.seed, source))

    def __getitem__(self, source: str) -> np.ndarray:
        if self._kept is not None and source in self._kept:
            return self._kept[source]
        boot_k = self.counts(source)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = boot_k / boot_k.sum(axis=1, keepdims=True)
        if self._kept is not None:
            self._kept[source] = out
        return out


def share_replicates(counts: pd.DataFrame, sources: list[str], themes: list[str],
                     cfg: MeasureConfig) -> ShareReplicates:
    """Cluster-bootstrap replicates of each source's shares: source -> ``n_boot`` × themes
    (:class:`ShareReplicates`, drawn when asked for). ``counts`` is a :func:`cluster_counts`
    table (or several stacked)."""
    return ShareReplicates(counts, sources, themes, cfg)


def source_theme_sums(counts: pd.DataFrame, sources: list[str], themes: list[str],
                      column: str = "n") -> np.ndarray:
    """Sources × themes sums of a :func:`cluster_counts` column (``n`` or ``words``)."""
    s_codes = pd.Categorical(counts["source"], categories=sources).codes
    t_codes = pd.Categorical(counts["theme"], categories=themes).codes
    keep = (s_codes >= 0) & (t_codes >= 0)
    flat = s_codes[keep].astype(np.int64) * len(themes) + t_codes[keep]
    return np.bincount(flat, weights=counts[column].to_numpy(float)[keep],
                       minlength=len(sources) * len(themes)).reshape(len(sources), len(themes))


def replicate_intervals(replicates: Mapping, sources: list[str], level: float,
                        width: int = 20_000) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Percentile intervals of each source's replicates (``bootstrap.percentile_interval``),
    computed for many sources at once (about ``width`` columns per call)."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    batch: list[tuple[str, np.ndarray]] = []

    def flush():
        if not batch:
            return
        lo, hi = percentile_interval(np.concatenate([r for _, r in batch], axis=1), level)
        start = 0
        for src, r in batch:
            out[src] = (lo[start:start + r.shape[1]], hi[start:start + r.shape[1]])
            start += r.shape[1]
        batch.clear()

    used = 0
    for src in sources:
        if src not in replicates:
            continue
        rep = replicates[src]
        batch.append((src, rep))
        used += rep.shape[1]
        if used >= width:
            flush()
            used = 0
    flush()
    return out


def shares_from_counts(counts: pd.DataFrame, sources: list[str], themes: list[str], cfg: MeasureConfig,
                       replicates: Mapping | None = None) -> pd.DataFrame:
    """Share of each source's sentences per theme with a cluster-bootstrap + Wilson interval.

    ``counts`` is a :func:`cluster_counts` table (or several stacked); ``replicates`` are its
    :func:`share_replicates` (drawn here when not given). The same data always gives the same
    interval (also per period). Vectorised over sources × themes: linear in both.
    """
    if replicates is None:
        replicates = share_replicates(counts, sources, themes, cfg)
    n_s, n_t = len(sources), len(themes)
    k = source_theme_sums(counts, sources, themes, "n")
    w = source_theme_sums(counts, sources, themes, "words")
    n = k.sum(axis=1)
    w_tot = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n[:, None] > 0, k / n[:, None], np.nan)
        word_share = np.where(w_tot[:, None] > 0, w / w_tot[:, None], np.nan)
    b_lo = np.full((n_s, n_t), np.nan)
    b_hi = np.full((n_s, n_t), np.nan)
    analytic = getattr(replicates, "analytic", frozenset())
    intervals = replicate_intervals(replicates, [s for i, s in enumerate(sources) if n[i] and s not in analytic],
                                    cfg.ci_level)
    for i, src in enumerate(sources):
        if src in intervals:
            b_lo[i], b_hi[i] = intervals[src]
    if analytic:
        m = replicates.moments
        rows = [m.index(s) for s in sources if s in analytic]
        at = [i for i, s in enumerate(sources) if s in analytic]
        b_lo[at], b_hi[at] = effective_wilson(m.shares()[rows], m.variances()[rows], m.size[rows][:, None],
                                              cfg.ci_level)
    w_lo, w_hi = wilson_interval(k, np.broadcast_to(n[:, None], k.shape), cfg.ci_level)
    lo, hi = np.fmin(b_lo, w_lo), np.fmax(b_hi, w_hi)
    lo[n == 0] = np.nan
    hi[n == 0] = np.nan
    out = pd.DataFrame({
        "source": pd.array(np.repeat(np.asarray(sources, dtype=object), n_t).tolist(), dtype="str"),
        "theme": pd.array(np.tile(np.asarray(themes, dtype=object), n_s).tolist(), dtype="str"),
        "n_sentences": k.ravel().astype("int64"), "share": share.ravel(), "word_share": word_share.ravel(),
        "ci_low": lo.ravel(), "ci_high": hi.ravel(), "small_cell": (k < cfg.min_cell).ravel(),
        "n_source": np.repeat(n, n_t).astype("int64")}, columns=SHARE_COLUMNS)
    return out.astype({"n_sentences": "int64", "n_source": "int64", "small_cell": "bool"})


def _chi2_stats(tables: np.ndarray) -> np.ndarray:
    """Pearson chi-square of each table in a stack (..., sources, themes)."""
    r = tables.sum(axis=-1, keepdims=True)
    c = tables.sum(axis=-2, keepdims=True)
    n = tables.sum(axis=(-1, -2), keepdims=True)
    e = r * c / n
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(e > 0, (tables - e) ** 2 / e, 0.0)
    return terms.sum(axis=(-1, -2))


def adjusted_residuals(observed: np.ndarray) -> np.ndarray:
    """Adjusted standardized residuals (O - E) / sqrt(E (1 - r/N) (1 - c/N)) (Agresti 2013)."""
    observed = np.asarray(observed, dtype=float)
    r = observed.sum(axis=1, keepdims=True)
    c = observed.sum(axis=0, keepdims=True)
    n = observed.sum()
    e = r * c / n
    with np.errstate(invalid="ignore", divide="ignore"):
        return (observed - e) / np.sqrt(e * (1 - r / n) * (1 - c / n))


def notable_residuals(emphasis: pd.DataFrame) -> pd.DataFrame:
    """The cells whose |residual| ≥ :data:`RESIDUAL_THRESHOLD` (``unassigned`` left out), largest
    |residual| first (ties by source, theme): ``source, theme, n_sentences, share, residual``."""
    cols = ["source", "theme", "n_sentences", "share", "residual"]
    if emphasis.empty or "residual" not in emphasis:
        return pd.DataFrame(columns=cols)
    df = emphasis[(emphasis["theme"] != UNASSIGNED) & (emphasis["residual"].abs() >= RESIDUAL_THRESHOLD)]
    df = df.assign(_abs=df["residual"].abs()).sort_values(["_abs", "source", "theme"], ascending=[False, True, True],
                                                          kind="stable")
    return df[cols].reset_index(drop=True)


def relabelings(cluster_counts: list[int]) -> float:
    """Number of distinct ways to hand clusters back to sources (a multinomial coefficient)."""
    log_n = math.lgamma(sum(cluster_counts) + 1) - sum(math.lgamma(k + 1) for k in cluster_counts)
    return math.exp(min(log_n, 700.0))


def _relabelled_tables(perm: np.ndarray, k_all: np.ndarray, n_sources: int) -> np.ndarray:
    """Source × theme tables (b, sources, themes) when cluster c goes to source ``perm[r, c]`` in
    replicate r: a sparse one-hot product, exact (whole numbers) and single-threaded."""
    b, n_clusters = perm.shape
    rows = (np.arange(b)[:, None] * n_sources + perm).ravel()
    cols = np.tile(np.arange(n_clusters), b)
    onehot = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(b * n_sources, n_clusters))
    return np.asarray(onehot @ k_all).reshape(b, n_sources, k_all.shape[1])


def emphasis_test(counts: pd.DataFrame, sources: list[str], themes: list[str], cfg: MeasureConfig,
                  replicates: Mapping | None = None) -> dict:
    """Chi-square of independence of source × theme; p from permuting clusters across sources,
    or, in a big study, from Rao and Scott's correction for clustering.

    ``counts`` is a :func:`cluster_counts` table. Whole clusters (paragraphs or documents) keep
    their sentences' themes and are handed back to the sources at random, keeping each source's
    number of clusters; ``p_value`` is (1 + #{permuted chi2 >= observed}) / (1 + n_boot). With at
    least ``cfg.asymptotic_clusters`` clusters, and every source and cell big enough
    (``asymptotic.rao_scott_applies``), ``p_value`` is Rao and Scott's (``asymptotic.rao_scott``)
    and nothing is permuted; ``test`` says which.
    ``replicates``: the same counts' :class:`ShareReplicates`, whose cluster moments (every source
    with sentences × ``themes``) Rao and Scott's test reuses instead of rebuilding them.
    Returns the statistics and a ``residual`` Series indexed by (source, theme); NaN everywhere
    when there is nothing to test.
    """
    na = {"chi2": np.nan, "dof": np.nan, "p_value": np.nan, "p_chi2": np.nan,
          "residual": pd.Series(dtype=float)}
    present = set(counts.loc[counts["n"] > 0, "source"])
    used = [s for s in sources if s in present]
    if len(used) < 2:
        return {**na, "test": "none: fewer than two sources with sentences"}
    df = counts[counts["source"].isin(used)]
    observed = (df.groupby(["source", "theme"])["n"].sum().unstack(fill_value=0)
                  .reindex(index=used, columns=themes, fill_value=0))
    observed = observed.loc[:, observed.sum(axis=0) > 0]
    if observed.shape[1] < 2:
        return {**na, "test": "none: all sentences are in one theme"}
    o = observed.to_numpy(float)
    chi2, p_chi2, dof, _ = stats.chi2_contingency(o, correction=False)
    resid = pd.DataFrame(adjusted_residuals(o), index=observed.index, columns=observed.columns).stack()
    resid.index.names = ["source", "theme"]

    c_codes, uniq = pd.factorize(pd.Series(df["cluster"].to_numpy()), sort=True)
    unit = "paragraphs" if cfg.resample_unit == "paragraph" else "documents"
    result = {"chi2": float(chi2), "dof": int(dof), "p_chi2": float(p_chi2), "residual": resid}
    kept = ""
    if cfg.asymptotic_clusters is not None and len(uniq) >= cfg.asymptotic_clusters:
        moments = getattr(replicates, "moments", None)
        if moments is None or set(moments.sources) != set(used) or list(moments.themes) != list(themes):
            moments = ClusterMoments.of(df, used, list(observed.columns))
        keep = np.isin(np.asarray(moments.themes, dtype=object), observed.columns.to_numpy(dtype=object))
        why_not = rao_scott_applies(moments, o, cfg.asymptotic_clusters)
        if why_not is None:
            p, nu, deff = rao_scott(moments, keep, float(chi2))
            return {**result, "p_value": p,
                    "test": (f"chi-square of independence; p by Rao and Scott's second-order correction for "
                             f"clustering by {unit} ({len(uniq):,} {unit}, at least {int(moments.clusters.min()):,} "
                             f"per source; mean design effect {deff:.2f}, {nu:.1f} degrees of freedom)")}
        kept = f"; not Rao-Scott: {why_not}"
    t_codes = pd.Categorical(df["theme"], categories=list(observed.columns)).codes
    k_all = _cluster_matrix(c_codes, t_codes, len(uniq), observed.shape[1], df["n"].to_numpy(float))
    first = pd.Series(df["source"].to_numpy()).groupby(c_codes).first()
    labels = pd.Categorical(first.to_numpy(), categories=used).codes
    rng = rng_for(cfg.seed, "emphasis-permutation")
    obs_stat = _chi2_stats(o)
    hits, done, chunk = 0, 0, max(1, min(cfg.n_boot, 4_000_000 // max(1, len(labels) * len(used))))
    while done < cfg.n_boot:
        b = min(chunk, cfg.n_boot - done)
        perm = rng.permuted(np.tile(labels, (b, 1)), axis=1)
        tables = _relabelled_tables(perm, k_all, len(used))
        hits += int(np.sum(_chi2_stats(tables) >= obs_stat - 1e-9 * max(1.0, obs_stat)))
        done += b
    return {**result, "p_value": (1 + hits) / (1 + cfg.n_boot),
            "test": f"chi-square of independence; p by permuting {unit} across sources ({cfg.n_boot}x){kept}"}


def emphasis_from_counts(counts: pd.DataFrame, sources: list[str], themes: list[str],
                         cfg: MeasureConfig, replicates: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """One row per source × theme from :func:`cluster_counts` (of all partitions, stacked):
    counts, shares, CI, small-cell flag, residual and the test (``replicates``: see
    :func:`shares_from_counts`)."""
    if replicates is None:
        replicates = share_replicates(counts, sources, themes, cfg)
    out = shares_from_counts(counts, sources, themes, cfg, replicates)
    test = emphasis_test(counts, sources, themes, cfg, replicates)
    resid = test.pop("residual")
    idx = pd.MultiIndex.from_frame(out[["source", "theme"]])
    out["residual"] = resid.reindex(idx).to_numpy(float) if len(resid) else np.nan
    for key in ("chi2", "dof", "p_value", "p_chi2", "test"):
        out[key] = test[key]
    out["dof"] = out["dof"].astype("float64")
    return out[COLUMNS].reset_index(drop=True)


def emphasis_table(sentences: pd.DataFrame, cfg: MeasureConfig) -> pd.DataFrame:
    """One row per source × theme: counts, shares, CI, small-cell flag, residual and the test."""
    counts = cluster_counts(sentences, cfg)  # checks the columns
    sources, themes = study_sources_and_themes(sentences)
    return emphasis_from_counts(counts, sources, themes, cfg)



# --------------------------------------------------------------------------- over time

def date_precision(value) -> str | None:
    """'Y', 'M' or 'D' for an ISO date string given to the year, month or day; None if no date."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    s = str(value).strip()
    if not s:
        return None
    if re.fullmatch(r"\d{4}", s):
        return "Y"
    if re.fullmatch(r"\d{4}-\d{1,2}", s):
        return "M"
    return "D"


def parse_dates(values: pd.Series) -> pd.Series:
    """ISO dates (``2022``, ``2022-11``, ``2022-11-05``, with or without a time) to Timestamps."""
    def one(v):
        p = date_precision(v)
        if p is None:
            return pd.NaT
        s = str(v).strip()
        s = {"Y": s + "-01-01", "M": s + "-01"}.get(p, s)
        return pd.to_datetime(s, errors="coerce", utc=True)
    return pd.Series([one(v) for v in values], index=values.index, dtype="datetime64[ns, UTC]")


def auto_period(dates: pd.Series, precisions: list[str]) -> str:
    """A period from the span of the dates, never finer than the coarsest date given.

    Span up to 31 days: days; 6 months: weeks; 3 years: months; 10 years: quarters; else years.
    A corpus dated only to the month is never split by week.
    """
    span = (dates.max() - dates.min()).days if len(dates) else 0
    by_span = "D" if span <= 31 else "W" if span <= 183 else "M" if span <= 3 * 366 else "Q" if span <= 10 * 366 else "Y"
    coarsest = max(precisions, key=_PERIODS.index) if precisions else "D"
    return max(by_span, coarsest, key=_PERIODS.index)


def period_labels(dates: pd.Series, period: str) -> pd.Series:
    """Readable, sortable period labels: 2022-11-05 (D), 2022-10-31 (week start), 2022-11, 2022Q4, 2022."""
    naive = dates.dt.tz_convert(None)
    if period == "D":
        return naive.dt.strftime("%Y-%m-%d")
    if period == "W":
        return (naive - pd.to_timedelta(naive.dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")
    if period == "M":
        return naive.dt.strftime("%Y-%m")
    if period == "Q":
        return naive.dt.year.astype(str) + "Q" + naive.dt.quarter.astype(str)
    return naive.dt.year.astype(str)


def document_periods(documents: pd.DataFrame, cfg: MeasureConfig) -> tuple[pd.Series, str | None]:
    """Period label per ``doc_id`` (undated documents left out) and the period used."""
    if documents is None or "date" not in documents.columns or "doc_id" not in documents.columns:
        return pd.Series(dtype=str), None
    dates = parse_dates(documents["date"])
    ok = dates.notna()
    if not ok.any():
        return pd.Series(dtype=str), None
    precisions = [p for p in documents.loc[ok, "date"].map(date_precision) if p]
    period = auto_period(dates[ok], precisions) if cfg.period == "auto" else cfg.period
    labels = period_labels(dates[ok], period)
    return pd.Series(labels.to_numpy(), index=documents.loc[ok, "doc_id"].astype(str).to_numpy()), period


def emphasis_over_time(sentences: pd.DataFrame, documents: pd.DataFrame, cfg: MeasureConfig) -> pd.DataFrame:
    """Shares per period × source × theme (same method as ``emphasis_table``); empty without dates."""
    counts = cluster_counts(sentences, cfg)  # checks the columns
    _, themes = study_sources_and_themes(sentences)
    return emphasis_time_from_counts(counts, themes, documents, cfg)


def emphasis_time_from_counts(counts: pd.DataFrame, themes: list[str], documents: pd.DataFrame,
                              cfg: MeasureConfig) -> pd.DataFrame:
    """:func:`emphasis_over_time` from :func:`cluster_counts` (of all partitions, stacked)."""
    periods, _ = document_periods(documents, cfg)
    empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
        TIME_COLUMNS, ["object", "object", "object", "int64", "float64", "float64", "float64", "bool", "int64"])})
    if periods.empty:
        return empty
    counts = counts.assign(period=counts["doc_id"].astype(str).map(periods)).dropna(subset=["period"])
    parts = []
    for period, part in counts.groupby("period", sort=True):
        sources = sorted(part["source"].unique())
        shares = shares_from_counts(part, sources, themes, cfg)
        parts.append(shares.assign(period=period))
    if not parts:
        return empty
    return pd.concat(parts, ignore_index=True)[TIME_COLUMNS]
