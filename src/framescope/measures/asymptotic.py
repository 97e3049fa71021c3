"""Analytic emphasis methods for big sources: what the cluster bootstrap and the permutation test
converge to when there are many clusters, at a cost that does not grow with ``n_boot``.

A source with at least ``MeasureConfig.asymptotic_clusters`` clusters (paragraphs or documents)
gets its shares' intervals from the linearised (ratio-estimator) variance over its clusters, the
variance the cluster bootstrap estimates, instead of ``n_boot`` bootstrap replicates. The
emphasis test uses Rao and Scott's second-order correction of the chi-square for clustering
when every source is big enough for it (:func:`rao_scott_applies`), instead of permuting
clusters ``n_boot`` times. Methods and the rule for "big": ``docs/measures.md``.

Everything here is computed from per-source moments of whole numbers (sums of counts, of their
squares and cross products over clusters), which are exact in any summation order; the floating
point work that follows is a few operations per source × theme.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from framescope.measures.bootstrap import source_cluster_matrices, wilson_interval

# Rao-Scott is used only when every source has at least this many clusters (its themes' covariance
# is estimated from them), Cochran's (1954) rule holds for the expected counts (rao_scott_applies),
# and sources × themes is at most RAO_SCOTT_MAX_CELLS (the correction's matrix is that size squared).
RAO_SCOTT_MIN_CLUSTERS = 200
RAO_SCOTT_MAX_CELLS = 2500


def is_big(n_clusters: int, threshold: int | None) -> bool:
    """Whether a source (or a tone cell) of ``n_clusters`` clusters gets the closed forms:
    ``threshold`` is ``MeasureConfig.asymptotic_clusters`` (None: never)."""
    return threshold is not None and n_clusters >= threshold


class ClusterMoments:
    """Per source, sums over its clusters of the theme counts ``k_c`` (a vector per cluster) and
    cluster sizes ``n_c``: ``clusters`` C, ``size`` N = sum n_c, ``counts`` K = sum k_c,
    ``cross`` sum k_c k_c^T (themes × themes), ``by_size`` sum n_c k_c, ``size_sq`` sum n_c^2.

    Built from each source's clusters × themes counts (``bootstrap.source_cluster_matrices``);
    every sum is of whole numbers, so exact in any order (below 2**53)."""

    def __init__(self, matrices: dict[str, np.ndarray], sources: list[str], themes: list[str]):
        self.sources, self.themes = list(sources), list(themes)
        self._row = {s: i for i, s in enumerate(self.sources)}
        n_s, n_t = len(self.sources), len(self.themes)
        self.clusters = np.zeros(n_s)
        self.size = np.zeros(n_s)
        self.size_sq = np.zeros(n_s)
        self.counts = np.zeros((n_s, n_t))
        self.by_size = np.zeros((n_s, n_t))
        self.cross = np.zeros((n_s, n_t, n_t))
        for i, src in enumerate(self.sources):
            kc = matrices.get(src)
            if kc is None or not len(kc):
                continue
            nc = kc.sum(axis=1)
            self.clusters[i] = len(kc)
            self.size[i] = nc.sum()
            self.size_sq[i] = nc @ nc
            self.counts[i] = kc.sum(axis=0)
            self.by_size[i] = nc @ kc
            self.cross[i] = kc.T @ kc

    @classmethod
    def of(cls, counts: pd.DataFrame, sources: list[str], themes: list[str]) -> "ClusterMoments":
        """The moments of a ``cluster_counts`` table's sources over ``themes``."""
        return cls(source_cluster_matrices(counts, sources, themes), sources, themes)

    def index(self, source: str) -> int:
        return self._row[source]

    def shares(self) -> np.ndarray:
        """Sources × themes shares K / N (NaN for a source without sentences)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.counts / self.size[:, None]

    def _factor(self) -> np.ndarray:
        """C / (C - 1) per source, 0 where there are fewer than two clusters (no spread to see)."""
        c = self.clusters
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(c >= 2, c / (c - 1), 0.0)

    def variances(self) -> np.ndarray:
        """Sources × themes linearised variance of each share (Cochran 1977, sec. 6.11; Wolter
        2007, ch. 6): C/(C-1) * sum_c (k_ct - p_t n_c)^2 / N^2 with p = K/N. The cluster
        bootstrap's variance tends to it (without the C/(C-1)) as the clusters grow in number."""
        p = self.shares()
        diag = np.diagonal(self.cross, axis1=1, axis2=2)
        n = self.size[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            zz = diag - 2 * p * self.by_size + p * p * self.size_sq[:, None]
            return self._factor()[:, None] * np.maximum(zz, 0.0) / (n * n)

    def pooled_except(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each source, the pool of all the other sources: (counts K, size N, linearised
        variance of its shares), sources × themes. The variance treats each source as a stratum
        resampled on its own (as the bootstrap does): sum over the pool's sources of
        C_s/(C_s-1) * sum_c (z_c - mean_s z)^2 with z_c = k_c - p n_c, over N^2."""
        f = self._factor()
        c = np.where(self.clusters > 0, self.clusters, 1.0)
        diag = np.diagonal(self.cross, axis1=1, axis2=2)
        alpha = f[:, None] * (diag - self.counts ** 2 / c[:, None])
        beta = f[:, None] * (self.by_size - self.counts * (self.size / c)[:, None])
        gamma = f * (self.size_sq - self.size ** 2 / c)
        k_rest = self.counts.sum(axis=0)[None, :] - self.counts
        n_rest = (self.size.sum() - self.size)[:, None]
        a_rest = alpha.sum(axis=0)[None, :] - alpha
        b_rest = beta.sum(axis=0)[None, :] - beta
        g_rest = (gamma.sum() - gamma)[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            p = k_rest / n_rest
            var = np.maximum(a_rest - 2 * p * b_rest + p * p * g_rest, 0.0) / (n_rest * n_rest)
        return k_rest, n_rest[:, 0], var

    def covariance(self, i: int, keep: np.ndarray) -> np.ndarray:
        """Linearised covariance of source i's shares over the themes ``keep`` (themes × themes)."""
        p = self.shares()[i][keep]
        q = self.cross[i][np.ix_(keep, keep)]
        b = self.by_size[i][keep]
        zz = q - np.outer(p, b) - np.outer(b, p) + self.size_sq[i] * np.outer(p, p)
        return self._factor()[i] * zz / (self.size[i] ** 2)


def effective_wilson(share: np.ndarray, variance: np.ndarray, n: np.ndarray,
                     level: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's interval with the effective sample size n_eff = p(1 - p) / variance (Kish 1965),
    never more than n, so never narrower than Wilson's for n independent sentences; n_eff = n
    when the variance is 0 (a share of 0 or 1). Dean & Pagano (2015) compare such intervals for
    clustered samples."""
    share = np.asarray(share, dtype=float)
    n = np.broadcast_to(np.asarray(n, dtype=float), share.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_eff = np.where(variance > 0, share * (1 - share) / variance, n)
        n_eff = np.fmin(np.where(n_eff > 0, n_eff, n), n)
    return wilson_interval(share * n_eff, n_eff, level)


def wald_difference(d: np.ndarray, var_a: np.ndarray, var_b: np.ndarray,
                    level: float) -> tuple[np.ndarray, np.ndarray]:
    """d ± z sqrt(var_a + var_b): the normal interval of a difference of two independent shares."""
    z = stats.norm.ppf(1.0 - (1.0 - level) / 2.0)
    half = z * np.sqrt(np.asarray(var_a) + np.asarray(var_b))
    return d - half, d + half


def rao_scott_applies(moments: ClusterMoments, observed: np.ndarray, min_total: int) -> str | None:
    """Why the Rao-Scott test cannot replace the permutation test here (None when it can).

    It replaces it when the study has at least ``min_total`` clusters (``asymptotic_clusters``:
    below that the permutation test is cheap), every source at least
    :data:`RAO_SCOTT_MIN_CLUSTERS`, Cochran's rule holds for the expected counts (none below 1,
    at most a fifth below 5), and sources × themes is at most :data:`RAO_SCOTT_MAX_CELLS`."""
    if moments.clusters.sum() < min_total:
        return f"fewer than {min_total:,} clusters"
    if moments.clusters.min() < RAO_SCOTT_MIN_CLUSTERS:
        return f"a source has fewer than {RAO_SCOTT_MIN_CLUSTERS} clusters"
    o = np.asarray(observed, dtype=float)
    expected = o.sum(axis=1, keepdims=True) * o.sum(axis=0, keepdims=True) / o.sum()
    if expected.min() < 1:
        return "an expected count is below 1"
    if np.mean(expected < 5) > 0.2:
        return "more than a fifth of the expected counts are below 5"
    if o.size > RAO_SCOTT_MAX_CELLS:
        return f"more than {RAO_SCOTT_MAX_CELLS:,} source × theme cells"
    return None


def rao_scott(moments: ClusterMoments, keep: np.ndarray, chi2: float) -> tuple[float, float, float]:
    """Rao and Scott's (1981, 1984) second-order correction of Pearson's chi-square of
    homogeneity for clustered samples, each source an independent sample of clusters.

    With the stacked shares x = (p_s), their deviations d = L x from the pooled shares
    (weights N_s / N), the block-diagonal covariance of x from each source's linearised
    covariance (:meth:`ClusterMoments.covariance`) and A = diag(N_s / p_t), Pearson's statistic is
    d^T A d, distributed about as sum_k lambda_k chi2_1 with lambda the eigenvalues of
    M = A^1/2 L Cov(x) L^T A^1/2. Satterthwaite's match of the first two moments gives
    chi2 * nu / tr(M) ~ chi2_nu with nu = tr(M)^2 / tr(M^2) (Thomas & Rao 1987).
    Returns (p-value, nu, mean design effect tr(M) / dof)."""
    n_s, n_t = len(moments.sources), int(np.sum(keep))
    p_pool = moments.counts[:, keep].sum(axis=0) / moments.size.sum()
    w = moments.size / moments.size.sum()
    cov = np.zeros((n_s * n_t, n_s * n_t))
    for i in range(n_s):
        cov[i * n_t:(i + 1) * n_t, i * n_t:(i + 1) * n_t] = moments.covariance(i, keep)
    lin = np.eye(n_s * n_t) - np.kron(np.outer(np.ones(n_s), w), np.eye(n_t))
    root_a = np.sqrt(np.kron(moments.size, 1.0 / p_pool))
    m = root_a[:, None] * (lin @ cov @ lin.T) * root_a[None, :]
    tr = float(np.trace(m))
    tr2 = float(np.sum(m * m))
    dof = (n_s - 1) * (n_t - 1)
    if tr <= 0 or tr2 <= 0:
        return 1.0, float(dof), 0.0
    nu = tr * tr / tr2
    return float(stats.chi2.sf(chi2 * nu / tr, nu)), nu, tr / dof
