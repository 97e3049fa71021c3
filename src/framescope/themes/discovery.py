"""Topic discovery as BERTopic's steps: framescope's reducer and clusterer, outlier reduction,
and the 2-D map.

BERTopic (``themes.topic_model``) runs discovery with two of framescope's objects as its steps:

- ``umap_model=TopicReducer(plan)``: UMAP (cosine) with parameters scaled to the number of
  sentences (:func:`cluster_params`); up to CONSENSUS_MAX sentences it returns CONSENSUS_RUNS
  seeded layouts side by side, because one UMAP layout of a few dozen points is not stable
  (noise of 1e-7 in the vectors changes it; docs/themes.md);
- ``hdbscan_model=TopicClusterer(plan)``: HDBSCAN whose clusters may not exceed a size cap
  (:func:`max_cluster_size`); on the side-by-side layouts, the consensus of one HDBSCAN run per
  layout (evidence accumulation, :func:`consensus_clusters`).

Every step is deterministic: UMAP runs single-threaded with a fixed ``random_state`` (and its
spectral start with a seeded ARPACK, :func:`seeded_arpack`), HDBSCAN and the rest have no
randomness, and ties are broken by sentence order.
"""
from __future__ import annotations

import logging
import re
import threading
import warnings
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from framescope.embed.encoders import normalise, row_dot

log = logging.getLogger("framescope.themes")
MAX_ANCHORS = 2000  # map anchors kept in the saved model; other sentences are interpolated
UMAP_SMALL_DATA = 4096  # below this UMAP computes all distances itself (umap-learn's own threshold)
EXACT_KNN_MAX = 60_000  # exact neighbour graph up to here (O(n^2) products); pynndescent beyond
CONSENSUS_MAX = 200  # up to here topics are a consensus of several UMAP + HDBSCAN runs (~6 s CPU at 200)
CONSENSUS_RUNS = 25  # UMAP seeds in the consensus (odd, so no pair is together in exactly half)


def cluster_params(n: int, min_cluster_size: int | None, n_neighbors: int | None) -> tuple[int, int, int]:
    """(min_cluster_size, min_samples, n_neighbors) adapted to ``n`` sentences.

    min_cluster_size grows as sqrt(n)/2 (3 for 40 sentences, ~46 for 8,500, ~224 for 200,000),
    so a small corpus still yields topics and a large one does not shatter into hundreds.
    """
    mcs = min_cluster_size or max(3, int(round(0.5 * np.sqrt(n))))
    mcs = max(2, min(mcs, n))
    ms = max(1, mcs // 2)
    nn = n_neighbors or int(np.clip(round(np.sqrt(n)), 5, 30))
    return mcs, ms, max(2, min(nn, n - 1))


def exact_knn(vectors: np.ndarray, k: int, block: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours by cosine, brute force in row blocks of ``block`` x n
    (default: about 16 M similarities per block, ~200 MB with the partition's indices).

    Returns (indices int32, cosine distances float32), both n x k, each row's own point first
    and the rest by distance, ties by index: the graph UMAP builds with pynndescent, but exact
    and the same in every process.
    """
    X = normalise(np.asarray(vectors, dtype=np.float32))
    n = len(X)
    k = min(k, n)
    block = block or int(np.clip(2**24 // max(n, 1), 64, 1024))
    idx = np.empty((n, k), dtype=np.int32)
    dist = np.empty((n, k), dtype=np.float32)
    for a in range(0, n, block):
        rows = np.arange(a, min(a + block, n))
        sims = X[rows] @ X.T
        sims[np.arange(len(rows)), rows] = np.inf  # a point is its own nearest neighbour
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (len(rows), 1))
        top = np.take_along_axis(sims, part, 1)
        order = np.lexsort((part, -top), axis=1)
        idx[rows] = np.take_along_axis(part, order, 1)
        top = np.take_along_axis(top, order, 1)
        top[:, 0] = 1.0
        dist[rows] = np.clip(1.0 - top, 0.0, 2.0)
    return idx, dist


_ARPACK_LOCK = threading.Lock()


@contextmanager
def seeded_arpack(seed: int) -> Iterator[None]:
    """Within the block, scipy's ``eigsh`` draws ARPACK's random vectors from a generator seeded
    with ``seed`` when its caller gives none.

    UMAP's spectral initialisation calls ``scipy.sparse.linalg.eigsh`` without ``rng``; SciPy's
    eigsh (1.17 here) then draws ARPACK's random vectors from operating-system entropy. A
    neighbour graph with a component whose eigenvalues repeat (16 copies of the sentence
    "U.S.A.!" in State of the Union text form a complete graph of 16) then got a different layout
    in every run, and a 9.7k-sentence corpus gave 35 themes in one run and 36 in the next, with
    the same inputs. The lock keeps two fits in one process (the app) from swapping the function
    under each other."""
    import inspect

    import scipy.sparse.linalg as sla

    real = sla.eigsh
    if "rng" not in inspect.signature(real).parameters:  # older SciPy: ARPACK's own fixed seed
        yield
        return

    def eigsh(*args, rng=None, **kw):
        return real(*args, rng=np.random.default_rng(seed) if rng is None else rng, **kw)

    with _ARPACK_LOCK:
        sla.eigsh = eigsh
        try:
            yield
        finally:
            sla.eigsh = real


def _umap(vectors: np.ndarray, n_components: int, n_neighbors: int, seed: int) -> np.ndarray:
    """UMAP (cosine), single-threaded with a fixed seed. From UMAP_SMALL_DATA points UMAP would
    build its neighbour graph with pynndescent, whose numba functions compile again in every
    process (~12 s of CPU); up to EXACT_KNN_MAX points it is given the exact graph instead."""
    from framescope.numba_cache import enable_numba_cache

    enable_numba_cache()  # UMAP's numba functions from the disk cache, whoever fits a model
    import umap

    n = len(vectors)
    knn = exact_knn(vectors, n_neighbors) if UMAP_SMALL_DATA <= n <= EXACT_KNN_MAX else (None, None, None)
    with warnings.catch_warnings(), seeded_arpack(seed):
        warnings.simplefilter("ignore")  # random_state disables parallelism; a given graph has no search index
        reducer = umap.UMAP(
            n_neighbors=n_neighbors, n_components=n_components, min_dist=0.0, metric="cosine",
            random_state=seed, n_jobs=1, init="spectral" if n > n_components + 10 else "random",
            precomputed_knn=knn,
        )
        return reducer.fit_transform(vectors)


@dataclass(frozen=True)
class DiscoveryPlan:
    """How ``n`` sentences are clustered: one plan configures both BERTopic steps."""

    n: int
    seed: int
    n_components: int
    min_cluster_size: int
    min_samples: int
    n_neighbors: int
    max_size: int
    mode: str  # "direct" (too few for UMAP), "consensus" (<= CONSENSUS_MAX) or "single"
    runs: int

    def describe_reducer(self) -> str:
        if self.mode == "direct":
            return f"none: {self.n} sentences are too few for UMAP"
        what = f"UMAP(metric='cosine', n_components={self.n_components}, n_neighbors={self.n_neighbors}, min_dist=0.0"
        if self.mode == "consensus":
            return f"{what}), {self.runs} layouts seeded from {self.seed}"
        return f"{what}, random_state={self.seed})"

    def describe_clusterer(self) -> str:
        what = (f"HDBSCAN(min_cluster_size={self.min_cluster_size}, min_samples={self.min_samples}, "
                f"max_cluster_size={self.max_size}, cluster_selection_method='eom')")
        if self.mode == "consensus":
            return f"consensus of {self.runs} leaf-HDBSCAN runs, then {what} on 1 - co-association"
        return what


def discovery_plan(n: int, *, seed: int, n_components: int = 5, min_cluster_size: int | None = None,
                   n_neighbors: int | None = None) -> DiscoveryPlan:
    """The plan for ``n`` sentences: parameters from :func:`cluster_params`, the size cap from
    :func:`max_cluster_size`, and the mode."""
    mcs, ms, nn = cluster_params(n, min_cluster_size, n_neighbors)
    dims = max(2, min(n_components, n - 2))
    mode = "direct" if n <= dims + 2 else ("consensus" if n <= CONSENSUS_MAX else "single")
    return DiscoveryPlan(n=n, seed=seed, n_components=dims, min_cluster_size=mcs, min_samples=ms, n_neighbors=nn,
                         max_size=max_cluster_size(n, mcs), mode=mode,
                         runs=CONSENSUS_RUNS if mode == "consensus" else 1)


class TopicReducer(BaseEstimator):
    """BERTopic's ``umap_model`` step: the sentences' UMAP layout for :class:`TopicClusterer`.

    "single": one UMAP layout (``plan.n_components`` dimensions); "consensus": ``plan.runs``
    layouts side by side (n x runs * n_components), one per seed drawn from ``plan.seed``;
    "direct": the vectors themselves. New sentences are assigned by topic embeddings, not
    through this step, so there is no ``transform`` of unseen data."""

    def __init__(self, plan: DiscoveryPlan):
        self.plan = plan

    def fit_transform(self, X, y=None) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        p = self.plan
        if len(X) != p.n:
            raise ValueError(f"TopicReducer was planned for {p.n} sentences, got {len(X)}")
        if p.mode == "direct":
            self.embedding_ = X
        elif p.mode == "consensus":
            self.embedding_ = np.hstack([_umap(X, p.n_components, p.n_neighbors, s) for s in run_seeds(p.seed, p.runs)])
        else:
            self.embedding_ = _umap(X, p.n_components, p.n_neighbors, p.seed)
        return self.embedding_

    def fit(self, X, y=None) -> "TopicReducer":
        self.fit_transform(X, y)
        return self

    def transform(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if hasattr(self, "embedding_") and self.plan.mode == "direct" and X.shape == self.embedding_.shape:
            return X
        raise NotImplementedError("framescope assigns new sentences by topic embeddings (ThemeModel.transform, "
                                  "or BERTopic.load(STUDY/model/bertopic).transform), not through UMAP")


class TopicClusterer(BaseEstimator, ClusterMixin):
    """BERTopic's ``hdbscan_model`` step: ``fit`` sets ``labels_`` (-1 = outlier).

    On one layout: HDBSCAN with the plan's size cap (:func:`select_clusters`). On the consensus
    layouts: the co-association of one leaf-HDBSCAN run per layout, clustered again
    (:func:`consensus_clusters`)."""

    def __init__(self, plan: DiscoveryPlan):
        self.plan = plan

    def fit(self, X, y=None) -> "TopicClusterer":
        X = np.asarray(X)
        p = self.plan
        if p.mode == "consensus":
            layouts = np.split(X, p.runs, axis=1)
            self.labels_ = consensus_clusters(layouts, min_cluster_size=p.min_cluster_size,
                                              min_samples=p.min_samples, max_size=p.max_size)
        else:
            self.labels_ = select_clusters(X, p.min_cluster_size, p.min_samples, p.max_size)
        return self

    def predict(self, X) -> np.ndarray:
        raise NotImplementedError("framescope assigns new sentences by topic embeddings (ThemeModel.transform)")


def cluster_sentences(vectors: np.ndarray, *, seed: int, n_components: int = 5,
                      min_cluster_size: int | None = None, n_neighbors: int | None = None) -> np.ndarray:
    """Cluster labels (-1 = outlier) from the reducer and clusterer above, without BERTopic's
    c-TF-IDF (the tests of stability and scale use it; a run goes through BERTopic)."""
    plan = discovery_plan(len(vectors), seed=seed, n_components=n_components, min_cluster_size=min_cluster_size,
                          n_neighbors=n_neighbors)
    return TopicClusterer(plan).fit(TopicReducer(plan).fit_transform(vectors)).labels_


def run_seeds(seed: int, runs: int = CONSENSUS_RUNS) -> list[int]:
    """The UMAP seeds of a consensus, drawn from the configured ``seed``."""
    return [int(s) for s in np.random.default_rng(seed).integers(0, 2**31 - 1, runs)]


def co_association(layouts: list[np.ndarray], min_cluster_size: int, min_samples: int) -> np.ndarray:
    """Share of layouts (one UMAP seed each) in which two sentences fall in the same HDBSCAN
    cluster (Fred & Jain 2005). Each run keeps the leaves of the cluster tree, the finest
    clusters of at least ``min_cluster_size``: the consensus merges what the runs agree on, and
    cannot split what every run lumps together."""
    import hdbscan

    n = len(layouts[0])
    co = np.zeros((n, n), dtype=np.float64)
    for reduced in layouts:
        labels = hdbscan.HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples,
                                 cluster_selection_method="leaf").fit_predict(reduced)
        co += (labels[:, None] == labels[None, :]) & (labels[:, None] >= 0)
    return co / max(len(layouts), 1)


def consensus_clusters(layouts: list[np.ndarray], *, min_cluster_size: int, min_samples: int,
                       max_size: int) -> np.ndarray:
    """Evidence-accumulation clustering (Fred & Jain 2005; Strehl & Ghosh 2002): HDBSCAN
    (same min_cluster_size, min_samples and size cap) on 1 - the co-association of the runs on
    ``layouts``. A sentence that changes cluster in one run moves a co-association by 1/runs,
    not the whole partition, so the topics survive the 1e-7 differences between machines that
    change a single UMAP layout of a few dozen points."""
    co = co_association(layouts, min_cluster_size, min_samples)
    dist = 1.0 - co
    np.fill_diagonal(dist, 0.0)
    labels = select_clusters(dist, min_cluster_size, min_samples, max_size, metric="precomputed")
    # an outlier of the consensus joins the cluster whose members it was with in most runs
    # (mean co-association above one half; ties by cluster number)
    out = np.flatnonzero(labels < 0)
    if len(out) and labels.max() >= 0:
        member = np.stack([co[out][:, labels == c].mean(1) for c in range(labels.max() + 1)], 1)
        best = member.argmax(1)
        ok = member[np.arange(len(out)), best] > 0.5
        labels[out[ok]] = best[ok]
    return labels


def max_cluster_size(n: int, min_cluster_size: int) -> int:
    """The largest cluster HDBSCAN may select among ``n`` sentences: 15 sqrt(n) (at least
    twice min_cluster_size), i.e. a third of 2,000 sentences, 15% of 10,000, 11% of 20,000 (the
    default fit sample), and no limit up to 225. Without it, a corpus of two very different
    registers (speeches and scripture) gives two 'themes', the registers, because excess of mass
    prefers the two top-level clusters to the many topics inside each. (The clusters found on
    the benchmark corpora are the same for any factor from 10 to 30; see docs/performance.md.)"""
    return max(int(np.ceil(15 * np.sqrt(n))), 2 * min_cluster_size)


def select_clusters(reduced: np.ndarray, min_cluster_size: int, min_samples: int, max_size: int,
                    metric: str = "euclidean") -> np.ndarray:
    """HDBSCAN labels (-1 = outlier): excess of mass among clusters of at most ``max_size``
    points, so an oversized cluster gives way to the clusters inside it. A leaf of the cluster
    tree bigger than ``max_size`` (one that does not split into clusters of min_cluster_size)
    stays a cluster of its own: hdbscan would otherwise drop its points as outliers.
    ``metric="precomputed"`` takes a distance matrix instead of coordinates."""
    import hdbscan

    clusterer = hdbscan.HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, metric=metric,
                                cluster_selection_method="eom",
                                max_cluster_size=max_size if max_size < len(reduced) else 0)
    labels = clusterer.fit_predict(reduced).astype(int)
    if max_size >= len(reduced):
        return labels
    tree = clusterer.condensed_tree_.to_pandas()
    nodes = tree[tree["child_size"] > 1]
    big = nodes.loc[~nodes["child"].isin(nodes["parent"]) & (nodes["child_size"] > max_size), "child"]
    for leaf in sorted(big.tolist()):
        members = tree.loc[(tree["parent"] == leaf) & (tree["child_size"] == 1), "child"].to_numpy()
        if len(members) and np.all(labels[members] < 0):
            labels[members] = labels.max() + 1
    return labels


def order_topics(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters by size (largest first; ties by first appearance); -1 stays -1."""
    ids = [c for c in dict.fromkeys(labels.tolist()) if c >= 0]
    sizes = Counter(labels.tolist())
    ranked = sorted(ids, key=lambda c: (-sizes[c], ids.index(c)))
    remap = {c: i for i, c in enumerate(ranked)}
    return np.array([remap.get(c, -1) for c in labels.tolist()], dtype=int)


def centroids(vectors: np.ndarray, labels: np.ndarray, n_topics: int) -> np.ndarray:
    out = np.zeros((n_topics, vectors.shape[1]), dtype=np.float32)
    for t in range(n_topics):
        out[t] = vectors[labels == t].mean(0)
    return normalise(out)


def topic_floors(vectors: np.ndarray, labels: np.ndarray, cents: np.ndarray, q: float = 0.0) -> np.ndarray:
    """Per topic, the ``q``-th percentile (default: the least) of its members' similarity to its centroid.

    A sentence outside a topic may join it only if it is at least as close as the topic's least
    typical member; so "nothing fits" is judged on each topic's own scale, whatever the
    embedding model.
    """
    floors = np.zeros(len(cents), dtype=np.float32)
    for t in range(len(cents)):
        sims = vectors[labels == t] @ cents[t]
        floors[t] = np.percentile(sims, q) if len(sims) else 1.0
    return floors


def nearest_topic(vectors: np.ndarray, cents: np.ndarray, floors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each vector, the most similar topic whose floor it clears (-1 if none) and the cosine."""
    if len(cents) == 0 or len(vectors) == 0:
        return np.full(len(vectors), -1), np.full(len(vectors), np.nan, dtype=np.float32)
    sims = row_dot(vectors, cents)
    ok = np.where(sims >= floors[None, :], sims, -np.inf)
    best = ok.argmax(1)
    score = sims[np.arange(len(vectors)), best]
    return np.where(np.isfinite(ok.max(1)), best, -1), score.astype(np.float32)


# --------------------------------------------------------------------------- labels

def usual_casing(texts: list[str]) -> dict[str, str]:
    """Each lower-case word's usual form in ``texts``: capitalised only if nearly always capitalised."""
    seen: dict[str, Counter] = {}
    for t in texts:
        for w in re.findall(r"[^\W\d_][^\W_]+", t):
            seen.setdefault(w.lower(), Counter())[w] += 1
    out = {}
    for low, c in seen.items():
        form, _ = max(c.items(), key=lambda kv: (kv[1], kv[0] == low, kv[0]))
        # a word is capitalised only if it is nearly always capitalised (names, places)
        out[low] = form if c[form] >= 0.8 * sum(c.values()) and form[0].isupper() else low
    return out


def topic_label(keywords: list[str], n: int = 3) -> str:
    """A readable label from the first keywords, skipping any that shares a word with one already
    picked (so not "China continue, China European, China model")."""
    picked: list[str] = []
    seen: set[str] = set()
    for k in keywords:
        words = {w.lower() for w in k.split()}
        if words & seen:
            continue
        picked.append(k)
        seen |= words
        if len(picked) == n:
            break
    return ", ".join(picked) if picked else "(no keywords)"


# --------------------------------------------------------------------------- 2-D map

def layout_2d(vectors: np.ndarray, seed: int) -> np.ndarray:
    """2-D coordinates for the app's map: UMAP (cosine) when there are enough sentences,
    else PCA; both deterministic."""
    n = len(vectors)
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32)
    if n >= 15:
        nn = int(np.clip(round(np.sqrt(n)), 5, 30))
        xy = _umap(vectors, 2, min(nn, n - 1), seed)
    elif n >= 3:
        from sklearn.decomposition import PCA

        xy = PCA(n_components=2, svd_solver="full").fit_transform(vectors)
    else:
        xy = np.zeros((n, 2))
    return np.asarray(xy, dtype=np.float32)


def interpolate_xy(vectors: np.ndarray, anchors: np.ndarray, anchor_xy: np.ndarray, k: int = 8) -> np.ndarray:
    """Place new sentences on the map at the similarity-weighted mean of their nearest anchors."""
    if len(anchors) == 0 or len(vectors) == 0:
        return np.full((len(vectors), 2), np.nan, dtype=np.float32)
    k = min(k, len(anchors))
    out = np.zeros((len(vectors), 2), dtype=np.float32)
    for i in range(0, len(vectors), 2048):
        sims = row_dot(vectors[i:i + 2048], anchors)
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < sims.shape[1] else np.argsort(-sims, axis=1)
        w = np.clip(np.take_along_axis(sims, idx, 1), 1e-6, None) ** 4
        out[i:i + 2048] = (anchor_xy[idx] * w[..., None]).sum(1) / w.sum(1, keepdims=True)
    return out
