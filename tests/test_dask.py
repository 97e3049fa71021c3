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
    from framescope.corpus import load_documents

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
    from framescope.pipeline import run

    root = tmp_path_factory.mktemp("dask-studies")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FRAMESCOPE_PARTITION_CHARS", "4000")  # the ~30k-character corpus in several partitions
        local = run(_config(corpus, root / "local"))
        dask = run(_config(corpus, root / "dask", engine="dask", scheduler=cluster.scheduler_address))
    return local, dask


def test_dask_engine_writes_the_same_tables_as_the_local_engine(studies):
    local, dask = studies
    for name in TABLES:
        a, b = read_table(local, name), read_table(dask, name)
        assert len(a) == len(b), name
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
    ml = json.loads((local / "manifest.json").read_text())
    md = json.loads((dask / "manifest.json").read_text())
    assert ml["notes"] == md["notes"]
    assert ml["counts"] == md["counts"]


def test_dask_run_used_the_cluster_partitions_and_a_fit_sample(studies, cluster):
    _, dask = studies
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


def test_dask_engine_refuses_the_tfidf_embedder(corpus, cluster, tmp_path):
    from framescope.errors import InputError
    from framescope.pipeline import run

    cfg = _config(corpus, tmp_path / "x", engine="dask", scheduler=cluster.scheduler_address)
    cfg = cfg.model_copy(update={"embed": cfg.embed.model_copy(update={"model": "tfidf"})})
    with pytest.raises(InputError, match="tfidf"):
        run(cfg)


def test_unreachable_scheduler_is_a_bad_input(corpus, tmp_path):
    from framescope.errors import InputError
    from framescope.pipeline import run

    with pytest.raises(InputError, match="cannot reach the dask scheduler"):
        run(_config(corpus, tmp_path / "x", engine="dask", scheduler="tcp://127.0.0.1:9"))


def test_partitions_cover_every_document_once_in_order():
    import numpy as np

    from framescope.pipeline import partition_bounds

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
    from framescope.pipeline import fit_sample_documents

    body = pd.Series([30, 5, 0, 120, 40, 8, 60], index=[f"d{i}" for i in range(7)])
    assert fit_sample_documents(body, None, 42) == list(body.index)
    assert fit_sample_documents(body, 10_000, 42) == list(body.index)
    picked = fit_sample_documents(body, 100, 42)
    assert picked == fit_sample_documents(body, 100, 42) == sorted(picked)
    assert body[picked].sum() >= 100 and len(picked) < len(body)
    assert fit_sample_documents(body, 100, 7) != picked or len(picked) == len(body)
