"""Reliability: a reused study folder, leftovers of killed runs, links out of an input folder,
self-checking cache shards, damaged or over-wide inputs, partitions for every worker, a lost
dask scheduler. Each test checks what a user would see: files on disk, messages, exit codes.
"""
from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import SEED_CODEBOOK, SEED_CORPUS
from framescope.errors import InputError

HELLO = "The harbour reopened after the storm, and the ferries ran again on Monday morning."


def cli(*args, timeout=120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "framescope.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def _config(out: Path, codebook: Path | None, inputs=(SEED_CORPUS,), **extra):
    from framescope.config import RunConfig

    return RunConfig.model_validate({
        "inputs": [str(p) for p in inputs], "out": str(out), "embed": {"model": "wordllama"},
        "themes": {"codebook": str(codebook) if codebook else None, "min_sentences_for_clustering": 20},
        "measures": {"n_boot": 100}, **extra,
    })


def _named(study: Path) -> list[str]:
    themes = pd.read_parquet(study / "themes.parquet")
    return sorted(themes.loc[themes["named"].astype(bool), "theme"])


# ------------------------------------------------------------------ 1. a reused output folder
@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    """A seed-like study (four named themes from the seed codebook), plus a file an earlier
    command left in the folder (a report of that study)."""
    from framescope.engines.pipeline import run

    out = tmp_path_factory.mktemp("seeded") / "study"
    run(_config(out, SEED_CODEBOOK))
    (out / "report.md").write_text("a report of the seed study\n")
    return out


def _copy(study: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(study, dest)
    return dest


def test_discovery_run_into_a_seed_study_folder_keeps_nothing_of_it(seeded, tmp_path):
    from framescope.app.edits import reapply
    from framescope.engines.pipeline import run

    out = _copy(seeded, tmp_path / "study")
    assert (out / "codebook.yaml").is_file() and len(_named(out)) == 4
    run(_config(out, None))
    manifest = json.loads((out / "manifest.json").read_text())
    assert not (out / "codebook.yaml").exists() and not (out / "report.md").exists()
    assert manifest["codebook"] is None and manifest["codebook_sha256"] is None
    assert manifest["kept_from_previous_run"] == []
    assert _named(out) == []
    reapply(out)  # the Themes page's re-apply after an edit
    assert _named(out) == [] and not (out / "codebook.yaml").exists()
    assert json.loads((out / "manifest.json").read_text())["codebook"] is None


def test_reapply_reads_the_manifest_codebook_and_says_when_the_file_differs(seeded, tmp_path, caplog):
    from framescope.app.edits import codebook_note, reapply, study_edits

    out = _copy(seeded, tmp_path / "study")
    recorded = json.loads((out / "manifest.json").read_text())["codebook"]
    stray = dict(recorded, themes=recorded["themes"][:1])  # a hand-edited file: one theme left
    (out / "codebook.yaml").write_text(yaml.safe_dump(stray))
    assert "differs from the codebook in its manifest" in codebook_note(out)
    with caplog.at_level(logging.WARNING, logger="framescope"):
        reapply(out, {"rename": {recorded["themes"][0]["key"]: "Renamed"}})
    assert any("differs from the codebook in its manifest" in r.getMessage() for r in caplog.records)
    assert len(_named(out)) == 4  # the manifest's four themes, not the stray file's one
    assert codebook_note(out) is None  # the file is now the recorded codebook
    assert study_edits(out)["rename"] == {recorded["themes"][0]["key"]: "Renamed"}


# ---------------------------------------------------------------- 2. leftovers of killed runs
def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_next_run_removes_leftovers_of_dead_runs_but_not_of_live_ones(tmp_path):
    (tmp_path / "in.txt").write_text(HELLO + " " + HELLO.replace("Monday", "Tuesday"))
    out = tmp_path / "study"
    dead, alive = _dead_pid(), subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        old = time.time() - 120
        gone = [tmp_path / f".study.staging-{dead}-abc123", tmp_path / f".study.old-{dead}-x1",
                tmp_path / f".study.old-{dead}", tmp_path / ".study.staging-dask-q8w7"]
        kept = [tmp_path / f".study.staging-{alive.pid}-live", tmp_path / f".other.staging-{dead}-abc"]
        for p in gone + kept:
            (p / "model").mkdir(parents=True)
            (p / "sentences.parquet").write_bytes(b"x")
        for p in gone[:3] + kept:
            os.utime(p, (old, old))
        week = time.time() - 8 * 24 * 3600  # no PID in the name: removed once a week old
        os.utime(gone[3], (week, week))
        res = cli("ingest", tmp_path / "in.txt", "--out", out)
        assert res.returncode == 0, res.stderr
        assert [p for p in gone if p.exists()] == []
        assert all(p.is_dir() for p in kept)
        assert sorted(p.name for p in out.iterdir()) == ["documents.parquet", "sentences.parquet"]
    finally:
        alive.kill()
        alive.wait()


def test_a_fresh_leftover_of_a_dead_run_gets_a_grace_minute(tmp_path):
    from framescope.artifacts import remove_leftovers

    fresh = tmp_path / f".study.staging-{_dead_pid()}-abc"
    fresh.mkdir()
    assert remove_leftovers(tmp_path / "study") == [] and fresh.is_dir()


# ----------------------------------------------------------------- 3. links out of the folder
@pytest.fixture
def linked_folder(tmp_path) -> Path:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("The private key of the server is stored in this file for everyone to read.")
    folder = tmp_path / "allowed" / "corpus"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text(HELLO)
    (folder / "zz_link.txt").symlink_to(secret)
    return folder


def test_cli_refuses_a_link_out_of_the_input_folder(linked_folder, tmp_path):
    res = cli("ingest", linked_folder, "--out", tmp_path / "study")
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "zz_link.txt is a link to a file outside" in lines[0], res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "study").exists()


def test_cli_reads_a_link_that_stays_inside_the_folder(linked_folder, tmp_path):
    from framescope.config import IngestConfig
    from framescope.ingest.corpus import load_documents

    (linked_folder / "zz_link.txt").unlink()
    (linked_folder / "b.txt").write_text(HELLO.replace("harbour", "airport"))
    (linked_folder / "c.txt").symlink_to(linked_folder / "b.txt")
    docs = load_documents([str(linked_folder)], IngestConfig())
    assert sorted(docs["path"]) == ["a.txt", "b.txt"]  # c.txt read, same text as b.txt: kept once


def test_app_server_folder_refuses_a_link_out_of_the_folder(linked_folder, tmp_path):
    from framescope.app.runs import server_folder

    with pytest.raises(InputError, match="zz_link.txt is a link to a file outside"):
        server_folder(str(linked_folder), [tmp_path / "allowed"])
    (linked_folder / "zz_link.txt").unlink()
    assert server_folder(str(linked_folder), [tmp_path / "allowed"]).names == ["a.txt"]


# ---------------------------------------------------------------------- 4. cache self-checks
TEXTS = ["Climate change is the defining challenge of our age.",
         "The boundary dispute between the two countries has been resolved.",
         "China is Kazakhstan's largest trading partner."]


@pytest.fixture
def wordllama(tmp_path, monkeypatch):
    from framescope.config import EmbedConfig
    from framescope.embed import cache
    from framescope.embed.encoders import get_embedder

    monkeypatch.setenv("FRAMESCOPE_CACHE_DIR", str(tmp_path / "cache"))
    cache._LOADED.clear()
    yield get_embedder(EmbedConfig(model="wordllama"))
    cache._LOADED.clear()


def _shards(embedder) -> list[Path]:
    from framescope.embed.cache import cache_dir

    return sorted((cache_dir() / "embeddings").rglob("shard-*.npz"))


def _rewrite(shard: Path, **arrays) -> None:
    with np.load(shard, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    data.update(arrays)
    with open(shard, "wb") as f:
        np.savez(f, **data)


def _as_new_process():
    from framescope.embed import cache

    cache._LOADED.clear()


def test_a_shard_with_rows_shifted_by_one_is_detected_and_recomputed(wordllama, caplog):
    from framescope.embed.cache import cached_encode

    fresh = wordllama.encode(TEXTS)
    cached_encode(TEXTS, wordllama)
    [shard] = _shards(wordllama)
    with np.load(shard) as z:
        _rewrite(shard, vectors=np.roll(z["vectors"], 1, axis=0))
    _as_new_process()
    n = wordllama.n_encoded
    with caplog.at_level(logging.WARNING, logger="framescope.embed"):
        got = cached_encode(TEXTS, wordllama)
    assert np.array_equal(got, fresh) and wordllama.n_encoded == n + 3
    assert any("discarded" in r.getMessage() and "checksums" in r.getMessage() for r in caplog.records)
    _as_new_process()
    assert np.array_equal(cached_encode(TEXTS, wordllama), fresh) and wordllama.n_encoded == n + 3


def test_an_old_format_shard_is_discarded_cleanly(wordllama, caplog):
    from framescope.embed.cache import cached_encode

    cached_encode(TEXTS, wordllama)
    [shard] = _shards(wordllama)
    with np.load(shard) as z:
        keys, vecs = z["keys"], z["vectors"]
    with open(shard, "wb") as f:
        np.savez(f, keys=keys, vectors=vecs[::-1].copy())  # no self-checks, and wrong rows
    _as_new_process()
    with caplog.at_level(logging.WARNING, logger="framescope.embed"):
        got = cached_encode(TEXTS, wordllama)
    assert np.array_equal(got, wordllama.encode(TEXTS))
    assert any("older framescope" in r.getMessage() for r in caplog.records)


def test_a_well_formed_shard_of_the_wrong_width_does_not_break_later_runs(wordllama, tmp_path, caplog):
    """A run fills the cache; every shard is replaced by a well-formed one of width 255 (the model
    gives 256); the next run warns, re-embeds and succeeds, and the one after uses the cache."""
    from framescope.embed import cache
    from framescope.engines.pipeline import run

    cfg = _config(tmp_path / "study", SEED_CODEBOOK)
    run(cfg)
    first = pd.read_parquet(tmp_path / "study" / "sentences.parquet")
    for shard in _shards(wordllama):
        with np.load(shard) as z:
            keys, vecs = z["keys"], z["vectors"]
        shard.unlink()
        cache._write_shard(shard.parent, keys.tolist(), vecs[:, :-1])
    _as_new_process()
    with caplog.at_level(logging.WARNING, logger="framescope.embed"):
        run(cfg)
    assert any("width 255, the model gives 256" in r.getMessage() for r in caplog.records)
    assert pd.read_parquet(tmp_path / "study" / "sentences.parquet").equals(first)


# ----------------------------------------------------------------------- 5a. a damaged zip
def test_a_zip_with_a_bad_crc_is_a_one_line_message(tmp_path):
    from framescope.app.uploads import store_uploads

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("one.txt", HELLO)
    data = buf.getvalue().replace(b"harbour", b"harbor!")  # same length, wrong CRC
    with pytest.raises(InputError, match=r"^the ZIP member 'one.txt' is damaged") as e:
        store_uploads([("corpus.zip", data)], tmp_path)
    assert "\n" not in str(e.value)
    deflated = io.BytesIO()
    with zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("one.txt", HELLO * 20)
    raw = bytearray(deflated.getvalue())
    raw[60:70] = b"\xff" * 10  # a broken compressed stream
    with pytest.raises(InputError, match="damaged"):
        store_uploads([("corpus.zip", bytes(raw))], tmp_path)


# ------------------------------------------------------------------ 5b. a table too wide to read
WIDE = ",".join(["text", "source"] + [f"c{i}" for i in range(999)]).encode() + b"\n" \
    + (HELLO + ",bbc" + "," * 999).encode() + b"\n"


def test_cli_refuses_a_table_over_1000_columns_from_its_header(tmp_path):
    (tmp_path / "wide.csv").write_bytes(WIDE)
    res = cli("ingest", tmp_path / "wide.csv", "--out", tmp_path / "study")
    assert res.returncode == 2
    assert res.stderr.strip() == ("error: wide.csv has 1,001 columns; framescope reads tables of at most 1,000 "
                                  "columns (keep the text, source, date and title columns)")
    jsonl = tmp_path / "wide.jsonl"
    jsonl.write_text(json.dumps({"text": HELLO, **{f"c{i}": 1 for i in range(1000)}}) + "\n")
    res = cli("ingest", jsonl, "--out", tmp_path / "study")
    assert res.returncode == 2 and "wide.jsonl has 1,001 columns" in res.stderr


def test_app_refuses_a_table_over_1000_columns(tmp_path):
    from framescope.app.uploads import store_uploads

    with pytest.raises(InputError, match="the table has 1,001 columns"):
        store_uploads([("wide.csv", WIDE)], tmp_path)
    narrow = b"text,source\n" + HELLO.encode() + b",bbc\n"
    assert store_uploads([("ok.csv", narrow)], tmp_path).columns == ["text", "source"]


# ------------------------------------------------------------------- 5d. a lost dask scheduler
SCHEDULER = """
if __name__ == "__main__":
    import time
    from dask.distributed import LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None)
    print(cluster.scheduler_address, flush=True)
    time.sleep(120)
"""


def test_losing_the_scheduler_mid_run_is_one_line_and_leaves_the_study(seeded, tmp_path):
    from framescope.engines.pipeline import run
    from framescope.errors import RunInterrupted

    out = _copy(seeded, tmp_path / "study")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    script = tmp_path / "scheduler.py"
    script.write_text(SCHEDULER)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONWARNINGS="ignore"), start_new_session=True)

    def stop():  # the scheduler and its worker process, all at once
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    try:
        address = proc.stdout.readline().strip()
        assert address.startswith("tcp://"), address

        def progress(stage, fraction):
            if stage == "themes":  # after segment and embed ran on the cluster
                stop()

        cfg = _config(out, None, engine="dask", scheduler=address)
        with pytest.raises(RunInterrupted) as e:
            run(cfg, progress=progress)
    finally:
        stop()
    message = str(e.value)
    assert "\n" not in message and f"lost the dask scheduler at {address}" in message
    assert f"the study folder {out} is unchanged" in message and "re-run the same command" in message
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".study.")] == []


def test_cli_prints_a_lost_scheduler_as_one_line_and_exits_1(monkeypatch, capsys, tmp_path):
    from framescope import cli as cli_module
    from framescope.engines import pipeline
    from framescope.engines.distributed import lost_scheduler_message
    from framescope.errors import RunInterrupted

    def lost(cfg, progress=False):
        raise RunInterrupted(lost_scheduler_message("tcp://127.0.0.1:8786", tmp_path / "study",
                                                    ConnectionResetError()))

    monkeypatch.setattr(pipeline, "run", lost)
    monkeypatch.setattr(sys, "argv", ["framescope", "run", str(SEED_CORPUS), "--out", str(tmp_path / "study"),
                                      "--engine", "dask", "--scheduler", "tcp://127.0.0.1:8786"])
    with pytest.raises(SystemExit) as e:
        cli_module.main()
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 1 and len(err) == 1
    assert err[0].startswith("error: lost the dask scheduler at tcp://127.0.0.1:8786") and "Traceback" not in err[0]
