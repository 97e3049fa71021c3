"""Discovered topics: UMAP + HDBSCAN on the sentences no named theme claims, outlier
reduction, readable keywords (c-TF-IDF refined KeyBERT-style, then MMR), and the 2-D map.

Every step is deterministic: UMAP runs single-threaded with a fixed ``random_state``,
HDBSCAN and the rest have no randomness, and ties are broken by sentence order. Up to
CONSENSUS_MAX sentences the topics are a consensus of CONSENSUS_RUNS UMAP + HDBSCAN runs
(evidence accumulation), because one UMAP layout of a few dozen points is not stable: noise of
1e-7 in the vectors changes it (docs/themes.md).
"""
from __future__ import annotations

import logging
import re
import warnings
from collections import Counter

import numpy as np

from framescope.embed.encoders import normalise as _normalise

log = logging.getLogger("framescope.themes")
TOKEN_PATTERN = r"(?u)\b[^\W\d_][^\W_]+\b"  # words of 2+ characters that start with a letter
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
    X = _normalise(np.asarray(vectors, dtype=np.float32))
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


def _umap(vectors: np.ndarray, n_components: int, n_neighbors: int, seed: int) -> np.ndarray:
    """UMAP (cosine), single-threaded with a fixed seed. From UMAP_SMALL_DATA points UMAP would
    build its neighbour graph with pynndescent, whose numba functions compile again in every
    process (~12 s of CPU); up to EXACT_KNN_MAX points it is given the exact graph instead."""
    from framescope.numba_cache import enable_numba_cache

    enable_numba_cache()  # UMAP's numba functions from the disk cache, whoever fits a model
    import umap

    n = len(vectors)
    knn = exact_knn(vectors, n_neighbors) if UMAP_SMALL_DATA <= n <= EXACT_KNN_MAX else (None, None, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random_state disables parallelism; a given graph has no search index
        reducer = umap.UMAP(
            n_neighbors=n_neighbors, n_components=n_components, min_dist=0.0, metric="cosine",
            random_state=seed, n_jobs=1, init="spectral" if n > n_components + 10 else "random",
            precomputed_knn=knn,
        )
        return reducer.fit_transform(vectors)


def cluster_sentences(vectors: np.ndarray, *, seed: int, n_components: int = 5,
                      min_cluster_size: int | None = None, n_neighbors: int | None = None) -> np.ndarray:
    """Cluster labels (-1 = outlier) from UMAP to ``n_components`` dimensions + HDBSCAN; up to
    CONSENSUS_MAX sentences, the consensus of CONSENSUS_RUNS such runs (:func:`consensus_clusters`)."""
    n = len(vectors)
    mcs, ms, nn = cluster_params(n, min_cluster_size, n_neighbors)
    dims = max(2, min(n_components, n - 2))
    if n <= dims + 2:
        return select_clusters(vectors, mcs, ms, max_cluster_size(n, mcs))
    if n <= CONSENSUS_MAX:
        return consensus_clusters(vectors, seed=seed, n_components=dims, min_cluster_size=mcs,
                                  min_samples=ms, n_neighbors=nn)
    return select_clusters(_umap(vectors, dims, nn, seed), mcs, ms, max_cluster_size(n, mcs))


def run_seeds(seed: int, runs: int = CONSENSUS_RUNS) -> list[int]:
    """The UMAP seeds of a consensus, drawn from the configured ``seed``."""
    return [int(s) for s in np.random.default_rng(seed).integers(0, 2**31 - 1, runs)]


def co_association(vectors: np.ndarray, seeds: list[int], n_components: int, n_neighbors: int,
                   min_cluster_size: int, min_samples: int) -> np.ndarray:
    """Share of runs (one UMAP seed each) in which two sentences fall in the same HDBSCAN
    cluster (Fred & Jain 2005). Each run keeps the leaves of the cluster tree, the finest
    clusters of at least ``min_cluster_size``: the consensus merges what the runs agree on, and
    cannot split what every run lumps together."""
    import hdbscan

    n = len(vectors)
    co = np.zeros((n, n), dtype=np.float64)
    for s in seeds:
        reduced = _umap(vectors, n_components, n_neighbors, s)
        labels = hdbscan.HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples,
                                 cluster_selection_method="leaf").fit_predict(reduced)
        co += (labels[:, None] == labels[None, :]) & (labels[:, None] >= 0)
    return co / max(len(seeds), 1)


def consensus_clusters(vectors: np.ndarray, *, seed: int, n_components: int, min_cluster_size: int,
                       min_samples: int, n_neighbors: int, runs: int = CONSENSUS_RUNS) -> np.ndarray:
    """Evidence-accumulation clustering (Fred & Jain 2005; Strehl & Ghosh 2002): HDBSCAN
    (same min_cluster_size, min_samples and size cap) on 1 - the co-association of ``runs``
    UMAP + HDBSCAN runs with seeds drawn from ``seed``. A sentence that changes cluster in one
    run moves a co-association by 1/runs, not the whole partition, so the topics survive the
    1e-7 differences between machines that change a single UMAP layout of a few dozen points."""
    co = co_association(vectors, run_seeds(seed, runs), n_components, n_neighbors, min_cluster_size, min_samples)
    dist = 1.0 - co
    np.fill_diagonal(dist, 0.0)
    n = len(vectors)
    labels = select_clusters(dist, min_cluster_size, min_samples, max_cluster_size(n, min_cluster_size),
                             metric="precomputed")
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
    return _normalise(out)


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
    sims = vectors @ cents.T
    ok = np.where(sims >= floors[None, :], sims, -np.inf)
    best = ok.argmax(1)
    score = sims[np.arange(len(vectors)), best]
    return np.where(np.isfinite(ok.max(1)), best, -1), score.astype(np.float32)


# --------------------------------------------------------------------------- keywords and labels

def _mmr(target: np.ndarray, cand: np.ndarray, top_n: int, diversity: float) -> list[int]:
    """Maximal Marginal Relevance (Carbonell & Goldstein 1998), as in BERTopic/KeyBERT."""
    rel = cand @ target
    chosen = [int(np.argmax(rel))]
    rest = [i for i in range(len(cand)) if i != chosen[0]]
    while rest and len(chosen) < top_n:
        red = (cand[rest] @ cand[chosen].T).max(1)
        score = (1 - diversity) * rel[rest] - diversity * red
        chosen.append(rest.pop(int(np.argmax(score))))
    return chosen


_REPORTING = {"said", "says", "say", "told", "added", "noted", "according", "reported", "also", "just", "like"}


def _analyzer():
    """Unigrams and bigrams of adjacent words, never across punctuation or stop words
    (so "Central Asia. Instead" gives no bigram "asia instead")."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    stop = ENGLISH_STOP_WORDS | _REPORTING
    word = re.compile(TOKEN_PATTERN)

    def analyse(doc: str) -> list[str]:
        out: list[str] = []
        for chunk in re.split(r"[.,;:!?()\[\]\"“”‘’|/–—]+", doc.lower()):
            toks = word.findall(chunk)
            for i, t in enumerate(toks):
                if t in stop:
                    continue
                out.append(t)
                if i + 1 < len(toks) and toks[i + 1] not in stop:
                    out.append(f"{t} {toks[i + 1]}")
        return out

    return analyse


def theme_keywords(texts: list[str], themes: list[str], vectors: np.ndarray, encode,
                   top_n: int = 10, n_candidates: int = 30, diversity: float = 0.3) -> dict[str, list[str]]:
    """Keywords per theme: c-TF-IDF candidates (English stop words, uni+bigrams, BERTopic's
    ClassTfidfTransformer formula in :mod:`framescope.ctfidf`), re-ranked by similarity to the
    theme's mean sentence vector (KeyBERTInspired) and diversified with MMR. A word already
    inside a chosen bigram is skipped. Keywords keep the corpus's usual casing."""
    from sklearn.feature_extraction.text import CountVectorizer

    from framescope.ctfidf import class_tfidf

    keys = sorted(set(themes))
    docs = {k: [] for k in keys}
    for t, k in zip(texts, themes):
        docs[k].append(t)
    try:
        cv = CountVectorizer(analyzer=_analyzer())
        counts = cv.fit_transform([" | ".join(docs[k]) for k in keys])
    except ValueError:  # empty vocabulary
        return {k: [] for k in keys}
    ctfidf = class_tfidf(counts, reduce_frequent_words=True).toarray()
    vocab = cv.get_feature_names_out()
    casing = _usual_casing(texts)
    # sentence frequency of each term within each theme: a term used in one sentence only is a
    # candidate only when the theme has too few repeated terms
    per_sentence = CountVectorizer(analyzer=_analyzer(), vocabulary=vocab, binary=True).transform(texts)
    themes_arr = np.asarray(themes)
    cand_idx = {}
    for i, k in enumerate(keys):
        sf = np.asarray(per_sentence[np.flatnonzero(themes_arr == k)].sum(0)).ravel()
        ranked = [j for j in np.argsort(-ctfidf[i], kind="stable") if ctfidf[i, j] > 0]
        repeated = [j for j in ranked if sf[j] >= 2]
        cand_idx[k] = (repeated if len(repeated) >= 5 else ranked)[:n_candidates]
    words = sorted({vocab[j] for js in cand_idx.values() for j in js})
    emb = dict(zip(words, encode(words))) if words and encode is not None else {}
    out: dict[str, list[str]] = {}
    for k in keys:
        cands = [vocab[j] for j in cand_idx[k]]
        if not cands:
            out[k] = []
            continue
        if emb:
            target = _normalise(vectors[themes_arr == k].mean(0, keepdims=True))[0]
            order = _mmr(target, np.stack([emb[w] for w in cands]), len(cands), diversity)
        else:  # no embedder: c-TF-IDF order
            order = list(range(len(cands)))
        chosen: list[str] = []
        for i in order:
            w = cands[i]
            parts = w.split()
            if any(w in c.split() for c in chosen) or (len(parts) == 2 and all(p in chosen for p in parts)):
                continue
            chosen = [c for c in chosen if not (len(parts) == 2 and c in parts)] + [w]
            if len(chosen) == top_n:
                break
        out[k] = [" ".join(casing.get(p, p) for p in w.split()) for w in chosen]
    return out


def _usual_casing(texts: list[str]) -> dict[str, str]:
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
    """A readable label from the first keywords, skipping any already contained in another."""
    picked: list[str] = []
    for k in keywords:
        if any(k.lower() in p.lower() or p.lower() in k.lower() for p in picked):
            continue
        picked.append(k)
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
        sims = vectors[i:i + 2048] @ anchors.T
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < sims.shape[1] else np.argsort(-sims, axis=1)
        w = np.clip(np.take_along_axis(sims, idx, 1), 1e-6, None) ** 4
        out[i:i + 2048] = (anchor_xy[idx] * w[..., None]).sum(1) / w.sum(1, keepdims=True)
    return out
