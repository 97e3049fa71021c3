"""The dask engine writes the same study as the local engine, on a real dask.distributed cluster.

A two-worker LocalCluster (separate processes, loopback only) is started from this module.
The corpus is the seed articles cut into one document per paragraph (a CSV table), and the
partition size is lowered so that the cluster gets several partitions of several documents
each; ``themes.fit_sample`` is set below the corpus size, so both engines fit on a sample of
documents and assign the rest with the fitted model. Equality is exact: every table, every float.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import SEED_CODEBOOK, SEED_CORPUS
from framescope.artifacts import TABLES, read_table

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    c = LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                     processes=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The three seed articles, one document per paragraph, as a CSV with a source column."""
    from framescope.config import IngestConfig
    from framescope.ingest.corpus import load_documents

    docs = load_documents([str(SEED_CORPUS)], IngestConfig())
    rows = []
    for d in docs.itertuples():
        for para in [p.strip() for p in d.text.split("\n\n") if p.strip()]:
            rows.append({"source": d.source, "text": para})
    path = tmp_path_factory.mktemp("dask-corpus") / "paragraphs.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _config(corpus: Path, out: Path, **extra):
    from framescope.config import RunConfig

    return RunConfig.model_validate({
        "inputs": [str(corpus)], "out": str(out),
        "embed": {"model": "wordllama"},
        "themes": {"codebook": str(SEED_CODEBOOK), "fit_sample": 40, "min_sentences_for_clustering": 20},
        "measures": {"n_boot": 200},
        **extra,
    })


@pytest.fixture(scope="module")
def studies(corpus, cluster, tmp_path_factory):
    """The local and the dask study of the corpus, and everything the dask client gathered from
    its workers: (task name, result) pairs."""
    from dask.distributed import Client

    from framescope.engines.pipeline import run

    received: list[tuple[str, object]] = []
    gather = Client.gather

    def spy(self, futures, *args, **kwargs):
        out = gather(self, futures, *args, **kwargs)
        if isinstance(futures, list):
            received.extend((f.key.split("-")[0], r) for f, r in zip(futures, out))
        return out

    def reader(real):
        def read(path, *args, **kwargs):
            received.append(("client reads", str(path)))
            return real(path, *args, **kwargs)
        return read

    root = tmp_path_factory.mktemp("dask-studies")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FRAMESCOPE_PARTITION_CHARS", str(10**9))
        whole = run(_config(corpus, root / "one-partition"))
        mp.setenv("FRAMESCOPE_PARTITION_CHARS", "4000")  # the ~30k-character corpus in several partitions
        local = run(_config(corpus, root / "local"))
        mp.setattr(Client, "gather", spy)
        mp.setattr(pd, "read_parquet", reader(pd.read_parquet))
        mp.setattr(np, "load", reader(np.load))
        dask = run(_config(corpus, root / "dask", engine="dask", scheduler=cluster.scheduler_address))
    return local, dask, received, whole


def test_dask_engine_writes_the_same_tables_as_the_local_engine(studies):
    local, dask, *_ = studies
    for name in TABLES:
        a, b = read_table(local, name), read_table(dask, name)
        assert len(a) == len(b), name
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
    ml = json.loads((local / "manifest.json").read_text())
    md = json.loads((dask / "manifest.json").read_text())
    assert ml["notes"] == md["notes"]
    assert ml["counts"] == md["counts"]


def test_dask_run_used_the_cluster_partitions_and_a_fit_sample(studies, cluster):
    _, dask, *_ = studies
    m = json.loads((dask / "manifest.json").read_text())
    assert m["engine"]["name"] == "dask"
    assert m["engine"]["scheduler"] == cluster.scheduler_address
    assert m["engine"]["workers"] == 2 and m["engine"]["partitions"] >= 4
    assert any("fitted on" in n for n in m["notes"]), m["notes"]
    sentences = read_table(dask, "sentences")
    body = sentences[sentences["is_body"]]
    # sentences outside the fitted sample still get named themes from the fitted model
    assert body["theme"].isin(["climate", "border_settlement", "wolf_warrior_diplomacy", "bri_coercion"]).sum() >= 10
    assert (body["theme"] == "unassigned").mean() < 0.5
    assert not list(dask.parent.glob(".dask.staging-dask-*")), "partition files were left behind"


def _frames(obj):
    """Every DataFrame and array inside a gathered result."""
    if isinstance(obj, (pd.DataFrame, pd.Series, np.ndarray)):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _frames(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _frames(v)


def test_the_client_gets_counts_and_capped_candidates_never_the_sentence_table(studies):
    """What crosses from the workers to the client: per-cluster and per-cell counts, at most
    n_exemplars candidates per cell and partition, capped contrast candidates without text, the
    texts of the chosen contrast pairs, and the fit sample. Sentence texts and vectors beyond
    those never reach the client; the study's sentences.parquet is written from the partitions."""
    _, dask, received, _ = studies
    sentences = read_table(dask, "sentences")
    body = sentences[sentences["is_body"]]
    m = json.loads((dask / "manifest.json").read_text())
    n_parts, k_ex, k_con = m["engine"]["partitions"], m["config"]["measures"]["n_exemplars"], m["config"]["measures"]["n_contrasts"]
    by_task: dict[str, list] = {}
    for name, result in received:
        by_task.setdefault(name, []).append(result)
    # the client itself reads no partition's sentences or vectors (sentences.parquet is streamed
    # from the partition files by pyarrow, one partition at a time)
    assert not [p for p in by_task.pop("client reads", []) if "measured-" in p or "vectors-" in p]
    assert set(by_task) == {"segment", "embed_partition", "sample_rows", "text_keys", "score_shared", "context_keys",
                            "score_context", "assign_and_measure", "candidates", "sentence_texts"}
    # texts that several partitions share travel as sha256 digests, and their tone and speaker
    # findings keyed by those digests, never as text
    for keys in by_task["text_keys"] + [k for k, _ in by_task["context_keys"]]:
        assert {k.dtype.str for k in keys.values()} <= {"|V32"}
    body_texts = set(body["text"])
    for found, _ in by_task["score_shared"] + by_task["score_context"]:
        for records in found.values():
            assert all(len(h) == 64 and h not in body_texts for h in records)
    by_task["assign_and_measure"] = [partials for partials, _ in by_task["assign_and_measure"]]

    sample_ids = set().union(*(set(s["sentence_id"]) for s, _ in by_task["sample_rows"]))
    assert sum(len(v) for _, v in by_task["sample_rows"]) == len(sample_ids) < len(sentences)  # vectors: the fit sample only
    for partials in by_task["assign_and_measure"]:  # counts: nothing per sentence, no text, no vectors
        assert not any(isinstance(f, pd.DataFrame) and "text" in f.columns for f in _frames(partials))
        keys, sums = partials["centroids"]
        # one centroid sum per cell that framing reads (a theme's own sentences and its mentions)
        assert len(sums) == len(keys) == len(partials["tone"][0][["theme", "source"]].drop_duplicates())
        assert len(partials["clusters"]) == len(partials["clusters"][["cluster", "theme"]].drop_duplicates())
    seen_texts = set()
    for c in by_task["candidates"]:
        per_cell = c["exemplars"].groupby(["theme", "source"]).size()
        assert per_cell.max() <= k_ex
        seen_texts |= set(c["exemplars"]["sentence_id"])
        for pairs, _cut in c["contrasts"].values():
            assert "text_a" not in pairs.columns and "text_b" not in pairs.columns
    contrasts = read_table(dask, "contrasts")
    texts = pd.concat(by_task["sentence_texts"])
    assert set(texts["sentence_id"]) == set(contrasts["sentence_id_a"]) | set(contrasts["sentence_id_b"])
    seen_texts |= set(texts["sentence_id"])
    cells = body.groupby(["theme", "source"]).ngroups
    assert len(seen_texts) <= cells * k_ex * n_parts + 2 * len(contrasts)
    assert not seen_texts >= set(body["sentence_id"]) - sample_ids  # not every sentence's text came back
    assert len(contrasts) <= k_con * 3 * body["theme"].nunique()


@pytest.fixture(scope="module")
def doubled(corpus, cluster, tmp_path_factory):
    """The local and the dask study, without the cache, of the corpus with every paragraph
    reprinted at the end by a second outlet with a line of its own (as wire copy recurs across
    outlets): each copy of a sentence in a different partition."""
    from framescope.engines.pipeline import run

    rows = pd.read_csv(corpus)
    reprints = rows.assign(source="reprints", text=rows["text"] + " This story was first published elsewhere.")
    path = tmp_path_factory.mktemp("dask-doubled") / "twice.csv"
    pd.concat([rows, reprints], ignore_index=True).to_csv(path, index=False)
    root = tmp_path_factory.mktemp("dask-doubled-studies")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FRAMESCOPE_PARTITION_CHARS", "4000")
        local = run(_config(path, root / "local", reuse=False))
        dask = run(_config(path, root / "dask", reuse=False, engine="dask", scheduler=cluster.scheduler_address))
    return local, dask


def test_texts_that_partitions_share_are_scored_and_parsed_once(doubled):
    """The local engine scores tone and parses speakers once per distinct text of the corpus; the
    dask engine used to do it once per partition holding the text, so a corpus read in twice cost
    it twice the work (2.2x the local engine's time at 1M sentences). Now it computes each shared
    text once, in the first partition that holds it, and hands the findings to the others: the
    manifest counts the same tone scores and parses as the local run's, and the tables are the same."""
    local, dask = doubled
    for name in TABLES:
        pd.testing.assert_frame_equal(read_table(local, name), read_table(dask, name), check_exact=True, obj=name)
    ml = json.loads((local / "manifest.json").read_text())["engine"]
    md = json.loads((dask / "manifest.json").read_text())["engine"]
    sentences = read_table(local, "sentences")
    distinct = sentences["text"].nunique()
    assert md["partitions"] >= 8
    assert ml["computed"]["tone"] == md["computed"]["tone"] == distinct
    assert md["shared_texts"]["tone"] >= 0.9 * distinct  # nearly every text lies in two partitions
    assert md["shared_texts"]["speakers"] > 0
    assert ml["computed"]["speakers"] == md["computed"]["speakers"]  # speech cues, then their documents' names


def test_dask_engine_refuses_the_tfidf_embedder(corpus, cluster, tmp_path):
    from framescope.errors import InputError
    from framescope.engines.pipeline import run

    cfg = _config(corpus, tmp_path / "x", engine="dask", scheduler=cluster.scheduler_address)
    cfg = cfg.model_copy(update={"embed": cfg.embed.model_copy(update={"model": "tfidf"})})
    with pytest.raises(InputError, match="tfidf"):
        run(cfg)


def test_unreachable_scheduler_is_a_bad_input(corpus, tmp_path):
    from framescope.errors import InputError
    from framescope.engines.pipeline import run

    with pytest.raises(InputError, match="cannot reach the dask scheduler"):
        run(_config(corpus, tmp_path / "x", engine="dask", scheduler="tcp://127.0.0.1:9"))


def test_the_partitions_change_no_table(studies):
    """Per-sentence products are row-exact (``encoders.row_dot``): the local engine writes the
    same tables bit for bit with the corpus in one partition and in several."""
    local, _, _, whole = studies
    assert json.loads((whole / "manifest.json").read_text())["engine"]["partitions"] == 1
    assert json.loads((local / "manifest.json").read_text())["engine"]["partitions"] > 3
    for name in TABLES:
        pd.testing.assert_frame_equal(read_table(local, name), read_table(whole, name), check_exact=True, obj=name)


def test_a_mid_size_corpus_gives_every_worker_work():
    """Issue 14: an 8.7k-sentence corpus (about 1.3M characters in 433 documents) was one
    partition, so one of two workers did everything; now a corpus of 250k characters or more has
    at least 16 partitions (2 x the local cluster's cap of 8 workers), small ones stay whole."""
    import numpy as np

    from framescope.engines.stages import MIN_PARTITIONS, corpus_partitions

    rng = np.random.default_rng(3)
    mid = pd.DataFrame({"n_chars": rng.integers(500, 5500, size=433)})
    assert 1_000_000 < mid["n_chars"].sum() < 2_000_000
    assert len(corpus_partitions(mid)) >= 2 * 8 == MIN_PARTITIONS
    assert len(corpus_partitions(pd.DataFrame({"n_chars": [10_000] * 3}))) == 1  # the seed's size
    assert len(corpus_partitions(pd.DataFrame({"n_chars": [100_000] * 5}))) == 5  # no more than its documents
    big = pd.DataFrame({"n_chars": [50_000] * 1_000})  # 50M characters: 25 partitions of 2M
    assert len(corpus_partitions(big)) == 25


def test_partitions_cover_every_document_once_in_order():
    import numpy as np

    from framescope.engines.stages import partition_bounds

    rng = np.random.default_rng(1)
    for n, parts in [(1, 4), (7, 3), (50, 8), (50, 200)]:
        chars = rng.integers(1, 5000, size=n)
        bounds = partition_bounds(chars, parts)
        assert bounds[0][0] == 0 and bounds[-1][1] == n
        assert all(a < b for a, b in bounds) and all(b == c for (_, b), (c, _) in zip(bounds, bounds[1:]))
        assert 1 <= len(bounds) <= min(parts, n)
        sizes = [chars[a:b].sum() for a, b in bounds]  # about equal: no part over its share by more than a document
        assert max(sizes) <= chars.sum() / len(bounds) + chars.max()


def test_fit_sample_is_whole_documents_seeded_and_large_enough():
    from framescope.themes.sample import fit_sample_documents

    body = pd.Series([30, 5, 0, 120, 40, 8, 60], index=[f"d{i}" for i in range(7)])
    assert fit_sample_documents(body, None, 42) == list(body.index)
    assert fit_sample_documents(body, 10_000, 42) == list(body.index)
    picked = fit_sample_documents(body, 100, 42)
    assert picked == fit_sample_documents(body, 100, 42) == sorted(picked)
    assert body[picked].sum() >= 100 and len(picked) < len(body)
    assert fit_sample_documents(body, 100, 7) != picked or len(picked) == len(body)
    # the documents of labelled sentences are always in the fit (they keep their labels there)
    left_out = sorted(set(body.index) - set(picked))[0]
    assert fit_sample_documents(body, 100, 42, include={left_out, "d99"}) == sorted(set(picked) | {left_out})


def test_sentences_written_from_partition_files_read_back_as_one_table(tmp_path):
    """The study's sentences.parquet is streamed from the partition files; a column that is
    empty in one partition (no voice found there) takes its type from the others."""
    from framescope.engines.write import write_sentence_parts

    a = pd.DataFrame({"sentence_id": ["d1-s0000", "d1-s0001"], "tone": [0.1, -0.2],
                      "voice": pd.Series([None, None], dtype=object)})
    b = pd.DataFrame({"sentence_id": ["d2-s0000"], "tone": [0.3], "voice": pd.Series(["Xi"], dtype=object)})
    a.to_parquet(tmp_path / "measured-00000.parquet", index=False)
    b.to_parquet(tmp_path / "measured-00001.parquet", index=False)
    write_sentence_parts([tmp_path / "measured-00000.parquet", tmp_path / "measured-00001.parquet"],
                         tmp_path / "sentences.parquet")
    whole = tmp_path / "whole.parquet"
    pd.concat([a, b], ignore_index=True).to_parquet(whole, index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "sentences.parquet"), pd.read_parquet(whole),
                                  check_exact=True)
