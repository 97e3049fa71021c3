"""Discovered themes on big corpora: the exact neighbour graph given to UMAP, the cap on a
cluster's size that keeps two registers from swallowing their topics, and UMAP's numba cache
switched on by the theme model itself. Real UMAP and HDBSCAN on synthetic vectors."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from framescope.themes.discovery import (
    UMAP_SMALL_DATA, cluster_params, cluster_sentences, exact_knn, max_cluster_size, order_topics,
    select_clusters,
)


def two_registers(n_per_topic: int = 420, topics: int = 5, dim: int = 64, seed: int = 0):
    """Vectors of two far-apart registers (think speeches and scripture), each holding
    ``topics`` topics that sit close together inside their register."""
    rng = np.random.default_rng(seed)
    registers = rng.normal(size=(2, dim)) * 3.0
    X, register, topic = [], [], []
    for r in range(2):
        for t in range(topics):
            centre = registers[r] + rng.normal(size=dim) * 0.12
            X.append(centre + rng.normal(size=(n_per_topic, dim)) * 0.35)
            register += [r] * n_per_topic
            topic += [r * topics + t] * n_per_topic
    return np.vstack(X).astype(np.float32), np.array(register), np.array(topic)


def test_exact_knn_gives_the_brute_force_neighbours():
    from sklearn.neighbors import NearestNeighbors

    X = np.random.default_rng(3).normal(size=(700, 24)).astype(np.float32)
    idx, dist = exact_knn(X, 15, block=128)  # several blocks, the last one short
    want_dist, want_idx = NearestNeighbors(n_neighbors=15, metric="cosine", algorithm="brute").fit(X).kneighbors(X)
    assert idx.shape == dist.shape == (700, 15)
    assert (idx[:, 0] == np.arange(700)).all() and (dist[:, 0] == 0).all()  # each point first, at 0
    assert all(set(a) == set(b) for a, b in zip(idx.tolist(), want_idx.tolist()))
    np.testing.assert_allclose(dist, want_dist, atol=1e-5)
    assert (np.diff(dist, axis=1) >= 0).all()


def test_two_registers_yield_their_topics_not_two_themes(monkeypatch):
    """A corpus of two very different registers, each with five topics, must not come back as
    two 'themes' (the registers): the themes are the topics, none mixes the registers. From
    4,096 sentences UMAP gets the exact neighbour graph, so pynndescent is never built."""
    import umap.umap_

    built = []

    class Spy(umap.umap_.NNDescent):
        def __init__(self, *a, **k):
            built.append(1)
            super().__init__(*a, **k)

    monkeypatch.setattr(umap.umap_, "NNDescent", Spy)
    X, register, topic = two_registers()
    assert len(X) >= UMAP_SMALL_DATA
    labels = order_topics(cluster_sentences(X, seed=42))
    n_themes = labels.max() + 1
    assert not built
    assert 8 <= n_themes <= 12, n_themes
    inside = labels >= 0
    by_register = pd.crosstab(labels[inside], register[inside])
    assert (by_register.max(axis=1) / by_register.sum(axis=1)).min() >= 0.95  # no theme mixes the registers
    by_topic = pd.crosstab(labels[inside], topic[inside])
    assert by_topic.idxmax(axis=1).nunique() >= 8  # the themes are the planted topics, not halves of a few
    assert by_topic.sum(axis=1).max() <= max_cluster_size(len(X), cluster_params(len(X), None, None)[0])


def test_an_oversized_cluster_that_cannot_split_stays_a_theme():
    """A big homogeneous cluster (no topics inside it) is kept whole, not dropped as outliers."""
    rng = np.random.default_rng(0)
    big = rng.normal(size=(1500, 5)) * 0.3
    small = [rng.normal(size=(100, 5)) * 0.3 + c for c in [*np.eye(5) * 8, -np.eye(5)[0] * 8]]
    X = np.vstack([big, *small])
    truth = np.repeat(np.arange(7), [1500] + [100] * 6)
    mcs, ms, _ = cluster_params(len(X), None, None)
    cap = max_cluster_size(len(X), mcs)
    assert cap < 1500
    labels = select_clusters(X, mcs, ms, cap)
    assert labels.max() + 1 == 7
    assert len(set(labels[truth == 0])) == 1 and labels[truth == 0][0] >= 0
    assert pd.crosstab(labels, truth).max(axis=0).sum() == len(X)  # every planted cluster whole and alone


def test_the_size_cap_leaves_small_corpora_alone():
    for n in (20, 92, 225):
        assert max_cluster_size(n, cluster_params(n, None, None)[0]) >= n
    assert max_cluster_size(20_000, cluster_params(20_000, None, None)[0]) < 0.15 * 20_000
    X, _, _ = two_registers(n_per_topic=30, topics=2, dim=16)  # 120 sentences: plain excess of mass
    import hdbscan

    mcs, ms, _ = cluster_params(len(X), None, None)
    plain = hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=ms, cluster_selection_method="eom").fit_predict(X)
    assert (select_clusters(X, mcs, ms, max_cluster_size(len(X), mcs)) == plain).all()


@pytest.mark.skipif(os.environ.get("FRAMESCOPE_NUMBA_CACHE") == "0", reason="numba cache turned off")
def test_fitting_outside_the_pipeline_uses_numba_disk_cache():
    """A script that only uses the theme model (no engines.pipeline.run) still gets UMAP's compiled
    code from numba's disk cache instead of compiling it in every process."""
    code = (
        "import numpy as np\n"
        "from numba.core.dispatcher import Dispatcher\n"
        "from framescope.themes.discovery import layout_2d\n"
        "import umap.layouts as L\n"
        "layout_2d(np.random.default_rng(0).normal(size=(40, 16)).astype(np.float32), 42)\n"
        "used = [o for n, o in vars(L).items() if isinstance(o, Dispatcher) and o.overloads and 'optimize' in n]\n"
        "assert used, 'no UMAP layout function was compiled'\n"
        "print(sorted({type(o._cache).__name__ for o in used}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "['FunctionCache']"
