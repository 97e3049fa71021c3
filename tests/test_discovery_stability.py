"""Discovered topics on a small corpus must not depend on 1e-7 differences in the vectors
(another machine, another BLAS): the seed's leftover sentences, real MiniLM vectors, real
UMAP + HDBSCAN consensus."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import SEED_LABELS
from sklearn.metrics import adjusted_rand_score

from framescope.themes.discovery import TopicReducer
from framescope.config import EmbedConfig, ThemeConfig
from framescope.embed.encoders import normalise, get_embedder
from framescope.embed.vectors import sentence_vectors
from framescope.validate.evaluate import seed_inputs
from framescope.themes.discovery import cluster_params, cluster_sentences, order_topics
from framescope.themes import ThemeModel


@pytest.fixture(scope="module")
def leftovers():
    """Texts and vectors of the seed's body sentences that no named theme claims, exactly as
    BERTopic hands them to framescope's reducer step."""
    sentences, codebook, _ = seed_inputs(SEED_LABELS)
    embedder = get_embedder(EmbedConfig())
    vectors = sentence_vectors(sentences, embedder, EmbedConfig())
    seen = {}
    real = TopicReducer.fit_transform

    def record(self, X, y=None):
        seen["vectors"] = np.array(X)
        return real(self, X, y)

    TopicReducer.fit_transform = record
    try:
        ThemeModel(ThemeConfig()).fit(sentences, vectors, codebook, embedder)
    finally:
        TopicReducer.fit_transform = real
    body = sentences["is_body"].fillna(False).astype(bool).to_numpy()
    texts, bv = sentences.loc[body, "text"].tolist(), vectors[body]
    rows = [int(np.flatnonzero((bv == v).all(1))[0]) for v in seen["vectors"]]
    return [texts[i] for i in rows], seen["vectors"]


def test_topics_survive_1e7_noise(leftovers):
    texts, vectors = leftovers
    base = cluster_sentences(vectors, seed=42)
    rng = np.random.default_rng(0)
    aris = []
    for _ in range(10):
        noisy = normalise(vectors + rng.normal(0, 1e-7, vectors.shape).astype(np.float32))
        aris.append(adjusted_rand_score(base, cluster_sentences(noisy, seed=42)))
    assert min(aris) >= 0.9, aris


def test_topics_do_not_depend_on_the_seed(leftovers):
    _, vectors = leftovers
    runs = [cluster_sentences(vectors, seed=s) for s in (0, 1, 42)]
    assert all(adjusted_rand_score(runs[0], r) >= 0.9 for r in runs[1:])
    np.testing.assert_array_equal(cluster_sentences(vectors, seed=42), cluster_sentences(vectors, seed=42))


def test_war_and_elections_are_topics_of_their_own(leftovers):
    texts, vectors = leftovers
    labels = order_topics(cluster_sentences(vectors, seed=42))
    mcs, _, _ = cluster_params(len(texts), None, None)
    sizes = np.bincount(labels[labels >= 0])
    assert len(sizes) >= 3 and sizes.min() >= mcs and sizes.max() <= len(texts) / 2, sizes

    def topic_of(word):
        hits = labels[[word in t for t in texts]]
        assert (hits >= 0).mean() >= 0.75, (word, hits)
        return np.bincount(hits[hits >= 0]).argmax()

    war = topic_of("Russia")
    elections = topic_of("election")
    assert war != elections
    assert np.mean(labels == -1) <= 0.15


def test_umaps_spectral_start_is_the_same_in_every_run_for_repeated_sentences():
    """16 copies of one sentence ("U.S.A.!" in State of the Union text) make a complete graph of
    16 in UMAP's neighbour graph, whose eigenvalues repeat. SciPy's eigsh, given no generator,
    draws ARPACK's vectors from operating-system entropy, so UMAP's spectral start differed from
    run to run and a 10k-sentence corpus gave 35 themes in one run and 36 in the next. The fit
    runs UMAP inside ``seeded_arpack`` (``discovery._umap``), where every run lays it out alike."""
    import scipy.sparse as sp
    from umap.spectral import spectral_layout

    from framescope.themes.discovery import seeded_arpack

    clique = np.ones((16, 16)) - np.eye(16)
    ring = np.roll(np.eye(40), 1, axis=1)
    graph = sp.block_diag([ring + ring.T, clique]).tocoo()
    with seeded_arpack(42):
        runs = [spectral_layout(None, graph, 5, np.random.RandomState(42)) for _ in range(4)]
    assert all(np.array_equal(runs[0], r) for r in runs[1:])
