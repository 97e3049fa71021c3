"""A warm re-run takes the theme fit and spaCy's parses from the cache (``framescope.reuse``), and
writes the same study; anything that could change the result is a new fit; a damaged entry is
never used."""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from conftest import SEED_CODEBOOK, SEED_CORPUS


def _cfg(out: Path, codebook: Path = SEED_CODEBOOK, cache: bool = True, reuse: bool = True):
    from framescope.config import seed_config

    cfg = seed_config()
    return cfg.model_copy(update={
        "inputs": [str(SEED_CORPUS)], "out": str(out),
        "themes": cfg.themes.model_copy(update={"codebook": str(codebook)}),
        "embed": cfg.embed.model_copy(update={"cache": cache}), "reuse": reuse,
    })


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """A fresh cache folder, and counters of theme fits, spaCy parses and VADER scores in this process."""
    from framescope.measures import speakers, tone
    from framescope.themes import ThemeModel

    monkeypatch.setenv("FRAMESCOPE_CACHE_DIR", str(tmp_path / "cache"))
    calls = {"fit": 0, "parsed": 0, "scored": 0}
    analyzer = tone._analyzer()

    class Counting:
        def polarity_scores(self, text):
            calls["scored"] += 1
            return analyzer.polarity_scores(text)

    monkeypatch.setattr(tone, "_analyzer", Counting)
    real_fit, real_speakers = ThemeModel.fit, speakers.sentence_speakers

    def fit(self, *a, **k):
        calls["fit"] += 1
        return real_fit(self, *a, **k)

    def parse(doc):
        calls["parsed"] += 1
        return real_speakers(doc)

    monkeypatch.setattr(ThemeModel, "fit", fit)
    monkeypatch.setattr(speakers, "sentence_speakers", parse)
    return calls


def _files(study: Path) -> dict[str, bytes]:
    return {p.relative_to(study).as_posix(): p.read_bytes() for p in sorted(study.rglob("*"))
            if p.is_file() and p.name != "manifest.json"}


def _manifest(study: Path) -> dict:
    import json

    return json.loads((study / "manifest.json").read_text(encoding="utf-8"))


def test_a_warm_rerun_takes_the_fit_and_parses_from_the_cache_and_writes_the_same_study(counted, tmp_path):
    from framescope.engines.pipeline import run

    first = run(_cfg(tmp_path / "a"))
    assert counted["fit"] == 1 and counted["parsed"] > 0 and counted["scored"] > 90
    assert _manifest(first)["reused"] == []
    parsed, scored = counted["parsed"], counted["scored"]
    again = run(_cfg(tmp_path / "b"))
    assert counted["fit"] == 1, "the re-run fitted the theme model again"
    assert counted["parsed"] == parsed, "the re-run parsed sentences with spaCy again"
    assert counted["scored"] == scored, "the re-run scored tone again"
    assert [r.split()[:2] for r in _manifest(again)["reused"]] == [["theme", "fit"]]
    assert _manifest(first)["engine"]["computed"]["sentences"] == 3  # the seed's three articles, split once
    assert "sentences" not in _manifest(again)["engine"]["computed"], "the re-run split the documents again"
    kept = [p for p in (tmp_path / "cache" / "reuse").rglob("*") if p.is_file()]
    assert kept and {p.suffix for p in kept} <= {".json", ".parquet", ".safetensors"}  # no pickle, no temp files
    a, b = _files(first), _files(again)
    assert a.keys() == b.keys() and "model/bertopic/topics.json" in a
    assert [name for name in a if a[name] != b[name]] == []  # every table, the model, byte for byte


def test_anything_that_changes_the_fit_is_fitted_again(counted, tmp_path, monkeypatch):
    from framescope import reuse
    from framescope.engines.pipeline import run

    run(_cfg(tmp_path / "a"))
    edited = tmp_path / "codebook.yaml"  # one word of one description changed
    text = SEED_CODEBOOK.read_text(encoding="utf-8")
    edited.write_text(text.replace("rising", "increasing", 1), encoding="utf-8")
    assert edited.read_text(encoding="utf-8") != text
    again = run(_cfg(tmp_path / "b", codebook=edited))
    assert counted["fit"] == 2 and _manifest(again)["reused"] == []
    # the thread settings, which change floats, are part of every key
    before = reuse.key("theme_fit", {"x": 1})
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    assert reuse.key("theme_fit", {"x": 1}) != before


def test_a_damaged_cached_fit_is_discarded_and_fitted_again(counted, tmp_path, caplog):
    from framescope.engines.pipeline import run

    first = run(_cfg(tmp_path / "a"))
    entries = [p for p in (tmp_path / "cache" / "reuse" / "theme_fit").iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1
    assigned = entries[0] / "assign.parquet"
    data = bytearray(assigned.read_bytes())
    data[len(data) // 2] ^= 0xFF
    assigned.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="framescope"):
        again = run(_cfg(tmp_path / "b"))
    assert "discarded" in caplog.text
    assert counted["fit"] == 2 and _manifest(again)["reused"] == []
    assert _files(first) == _files(again)


def test_with_the_cache_off_nothing_is_reused_or_kept(counted, tmp_path):
    from framescope.engines.pipeline import run

    run(_cfg(tmp_path / "a", cache=False))
    run(_cfg(tmp_path / "b", cache=False))
    assert counted["fit"] == 2
    assert not (tmp_path / "cache" / "reuse").exists()


def test_no_reuse_fits_parses_and_scores_again_but_keeps_the_embeddings(counted, tmp_path):
    """`framescope run --no-reuse` (config `reuse: false`): an earlier run's fit is not taken."""
    import subprocess
    import sys

    from framescope.engines.pipeline import run

    run(_cfg(tmp_path / "a"))
    parsed, scored = counted["parsed"], counted["scored"]
    again = run(_cfg(tmp_path / "b", reuse=False))
    assert counted["fit"] == 2 and counted["parsed"] > parsed and counted["scored"] > scored
    assert _manifest(again)["reused"] == [] and _manifest(again)["config"]["reuse"] is False
    assert _files(tmp_path / "a") == _files(again)
    out = tmp_path / "c"  # the command-line flag sets it
    proc = subprocess.run([sys.executable, "-m", "framescope.cli", "--quiet", "run", str(SEED_CORPUS), "--codebook",
                           str(SEED_CODEBOOK), "--out", str(out), "--no-reuse"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert _manifest(out)["config"]["reuse"] is False and _manifest(out)["reused"] == []


def test_a_damaged_parse_shard_is_discarded_and_the_sentences_parsed_again(counted, tmp_path, caplog):
    from framescope.measures.speakers import parse_speakers

    texts = ['"We will not yield," the ambassador said.', "According to Reuters, talks ended.",
             "Wang Yi told reporters the visit was a success."]
    first = parse_speakers(texts)
    assert counted["parsed"] == 3 and parse_speakers(texts) == first and counted["parsed"] == 3
    shards = list((tmp_path / "cache" / "reuse" / "speakers").rglob("shard-*.json"))
    assert len(shards) == 1
    shards[0].write_text(shards[0].read_text(encoding="utf-8").replace("Reuters", "Reuterz"), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="framescope"):
        assert parse_speakers(texts) == first
    assert "discarded" in caplog.text and counted["parsed"] == 6
    assert first[1].mentions and first[1].mentions[0].name == "Reuters"


def test_findings_handed_over_within_a_run_are_used_not_computed_again(counted, tmp_path):
    """The dask engine computes a text that several partitions share once and hands its findings
    to the other partitions (``reuse.given``): those are used as found, even with the cache off,
    and give what computing them would; the manifest counts what a run computed."""
    from framescope import reuse
    from framescope.artifacts import sha256_text
    from framescope.engines.pipeline import run
    from framescope.measures.speakers import parse_speakers, to_record
    from framescope.measures.tone import tone_scores

    texts = ['"We will not yield," the ambassador said.', "According to Reuters, talks ended.",
             "Wang Yi told reporters the visit was a success."]
    handed = {"speakers": {sha256_text(t): r for t, r in zip(texts[:2], map(to_record, parse_speakers(texts[:2], cache=False)))},
              "tone": {sha256_text(texts[0]): 0.5}}
    assert counted["parsed"] == 2
    with reuse.given(handed):
        got = parse_speakers(texts, cache=False)
        tone = tone_scores(pd.DataFrame({"text": texts}), cache=False)
    assert counted["parsed"] == 3 and counted["scored"] == 2  # only what was not handed over
    assert tone.iloc[0] == 0.5  # the handed-over score is the one used
    assert got == parse_speakers(texts, cache=False) and counted["parsed"] == 6  # outside the block: computed

    parsed, scored = counted["parsed"], counted["scored"]
    study = run(_cfg(tmp_path / "a", cache=False))
    computed = _manifest(study)["engine"]["computed"]
    assert computed == {"sentences": 3, "speakers": counted["parsed"] - parsed, "tone": counted["scored"] - scored}


def test_a_rerun_splits_only_the_documents_whose_text_changed(tmp_path, monkeypatch):
    """Sentence splitting is kept per document text: after one document of a corpus is edited, a
    re-run splits that document alone, and its sentences table is the one a run without any
    reuse writes."""
    from framescope.config import IngestConfig
    from framescope.engines.stages import split_sentences
    from framescope.ingest.corpus import load_documents
    from framescope.ingest.segment import sentence_table
    from framescope.reuse import counting

    monkeypatch.setenv("FRAMESCOPE_CACHE_DIR", str(tmp_path / "cache"))
    docs = load_documents([str(SEED_CORPUS)], IngestConfig())
    with counting() as first:
        before = split_sentences(docs, 1, reuse=True)
    assert first["sentences"] == len(docs) == 3
    with counting() as warm:
        again = split_sentences(docs, 1, reuse=True)
    assert warm["sentences"] == 0
    pd.testing.assert_frame_equal(again, before, check_exact=True)
    pd.testing.assert_frame_equal(before, sentence_table(docs, 1), check_exact=True)  # as splitting anew
    edited = docs.copy()
    edited.loc[1, "text"] = edited.loc[1, "text"].replace(". ", ". Indeed, this was new. ", 1)
    with counting() as changed:
        got = split_sentences(edited, 1, reuse=True)
    assert changed["sentences"] == 1
    pd.testing.assert_frame_equal(got, sentence_table(edited, 1), check_exact=True)
    assert got["text"].str.contains("Indeed, this was new.", regex=False).sum() == 1
    shards = list((tmp_path / "cache" / "reuse" / "sentences").rglob("shard-*.json"))
    assert shards and all("Indeed" not in p.read_text(encoding="utf-8") for p in shards)  # offsets, not text
