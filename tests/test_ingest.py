"""`framescope ingest` end to end: seed dump, folder + manifest, tables, encodings and bad input."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pandas as pd
import pytest

from conftest import RAW_SEED, SEED_CORPUS
from framescope.config import IngestConfig
from framescope.ingest.corpus import load_documents
from framescope.errors import InputError

DATA = RAW_SEED.parents[2] / "tests" / "data" / "ingest"
DOC_COLUMNS = ["doc_id", "source", "title", "date", "text", "outlet", "genre", "attribution", "path", "n_chars"]


def ingest(*args, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "framescope.cli", "ingest", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def read_study(out):
    return pd.read_parquet(out / "documents.parquet"), pd.read_parquet(out / "sentences.parquet")


def assert_offsets(docs, sents):
    text = docs.set_index("doc_id")["text"]
    assert all(text[r.doc_id][r.start:r.end] == r.text for r in sents.itertuples())


# --------------------------------------------------------------------------------- seed inputs
def test_cli_ingests_raw_seed_dump_into_three_documents(tmp_path):
    out = tmp_path / "x"
    res = ingest(RAW_SEED, "--out", out)
    assert res.returncode == 0, res.stderr
    assert "3 documents" in res.stderr
    docs, sents = read_study(out)
    assert list(docs.columns[:10]) == DOC_COLUMNS
    assert docs["doc_id"].tolist() == ["d0000", "d0001", "d0002"]
    assert docs["text"].str[:28].tolist() == [
        "John Hamilton and Sophie Dau", "“Strong mutual trust,” “reci", "In recent years, China has p"]
    assert docs["source"].tolist() == ["000_b8736d677c6c073e_1", "000_b8736d677c6c073e_2", "ForeignPolice"]
    assert docs["attribution"].tolist()[2] == "ForeignPolice" and docs["outlet"].tolist()[2] == "ForeignPolice"
    assert docs["attribution"].isna().tolist()[:2] == [True, True]
    assert set(docs["path"]) == {RAW_SEED.name}
    assert (docs["n_chars"] == docs["text"].str.len()).all()
    trailer = sents[sents["text"] == "Source : ForeignPolice"]
    assert trailer[["doc_id", "kind", "is_body"]].values.tolist() == [["d0002", "trailer", False]]
    assert not sents.loc[sents["is_body"], "text"].str.contains("ForeignPolice").any()
    caption = sents[sents["text"] == "Chinese soldiers carry flags"]
    assert caption[["kind", "is_body"]].values.tolist() == [["caption", False]]
    assert sents.loc[sents["text"].str.contains("$25.2 billion", regex=False), "text"].tolist() == [
        "In the past 30 years, mutual trade has increased more than 70-fold, reaching $25.2 billion in 2021, "
        "the Xinhua News Agency reported."]
    assert_offsets(docs, sents)
    counts = sents.groupby(["doc_id", "is_body"]).size().to_dict()
    assert counts == {("d0000", True): 7, ("d0001", True): 25, ("d0002", True): 60, ("d0002", False): 2}


def test_folder_with_manifest_gives_seed_sources_and_metadata(tmp_path):
    docs = load_documents([str(SEED_CORPUS)], IngestConfig())
    assert docs["source"].tolist() == ["foreign_policy", "global_times", "uk_embassy"]  # file-name order
    row = docs.set_index("source")
    assert row.loc["uk_embassy", "outlet"] == "British Embassy (GOV.UK world news)"
    assert row.loc["uk_embassy", "genre"] == "government news item"
    assert row.loc["uk_embassy", "date"] == "2023-09-05"
    assert row.loc["global_times", "genre"] == "state-media interview" and row.loc["global_times", "date"] == "2022-11"
    assert row.loc["foreign_policy", "outlet"] == "Foreign Policy" and row.loc["foreign_policy", "genre"] == "analysis"
    assert "date_note" in docs.columns and row.loc["foreign_policy", "date_note"].startswith("refers to")
    assert row.loc["foreign_policy", "path"] == "foreign_policy.txt"
    raw = load_documents([str(RAW_SEED)], IngestConfig())
    assert sorted(raw["text"].str.replace("\n\nSource : ForeignPolice", "")) == sorted(docs["text"])


def test_folder_without_manifest_uses_file_stems(tmp_path):
    for name in ("bee_memory.txt", "flood_barrier.txt"):
        (tmp_path / name).write_text((DATA / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")  # not a text file: ignored in folders
    docs = load_documents([str(tmp_path)], IngestConfig())
    assert docs["source"].tolist() == ["bee_memory", "flood_barrier"]
    assert docs["title"].tolist() == ["Bees exposed to common pesticide forget flower scents, study finds",
                                      "Council approves £40m flood barrier for riverside district"]


def test_dump_sources_use_stem_and_attribution(tmp_path):
    names = ("flood_barrier", "bee_memory", "rail_strike")
    parts = [(DATA / f"{n}.txt").read_text(encoding="utf-8").strip() for n in names]
    dump = tmp_path / "pasted.txt"
    dump.write_text(f"{parts[0]}\n\nSource: Riverside Gazette\n\n{parts[1]}\n\n{parts[2]}\n", encoding="utf-8")
    docs = load_documents([str(dump)], IngestConfig())
    assert docs["source"].tolist() == ["Riverside Gazette", "pasted_2", "pasted_3"]
    assert docs["title"].tolist()[1] == "Bees exposed to common pesticide forget flower scents, study finds"
    single = load_documents([str(dump)], IngestConfig(split_dumps=False))
    assert len(single) == 1 and single["source"].tolist() == ["pasted"]


# -------------------------------------------------------------------------------------- tables
def _rows():
    texts = {n: (DATA / f"{n}.txt").read_text(encoding="utf-8").strip() for n in ("flood_barrier", "bee_memory", "rail_strike")}
    return pd.DataFrame({
        "body": [texts["flood_barrier"], texts["bee_memory"], texts["rail_strike"], "A short note. It matters."],
        "outlet_name": ["Gazette", "Science Daily", "Gazette", "Science Daily"],
        "published": ["2024-03-05", "5 March 2024", "2024-03-07T14:30:00", ""],
        "headline": ["Flood barrier", "Bees", "Rail strike", ""],
        "url": ["u1", "u2", "u3", "u4"],
    })


@pytest.mark.parametrize("ext", ["csv", "tsv", "jsonl", "parquet"])
def test_cli_tables_with_custom_columns(tmp_path, ext):
    df, path = _rows(), tmp_path / f"articles.{ext}"
    {"csv": lambda: df.to_csv(path, index=False), "tsv": lambda: df.to_csv(path, sep="\t", index=False),
     "jsonl": lambda: df.to_json(path, orient="records", lines=True, force_ascii=False),
     "parquet": lambda: df.to_parquet(path, index=False)}[ext]()
    out = tmp_path / "out"
    res = ingest(path, "--out", out, "--text-col", "body", "--source-col", "outlet_name",
                 "--date-col", "published", "--title-col", "headline")
    assert res.returncode == 0, res.stderr
    docs, sents = read_study(out)
    assert docs["source"].tolist() == ["Gazette", "Science Daily", "Gazette", "Science Daily"]
    assert docs["date"].tolist()[:3] == ["2024-03-05", "2024-03-05", "2024-03-07T14:30:00"]
    assert pd.isna(docs["date"].tolist()[3]) and pd.isna(docs["title"].tolist()[3])
    assert docs["title"].tolist()[:3] == ["Flood barrier", "Bees", "Rail strike"]
    assert docs["url"].tolist() == ["u1", "u2", "u3", "u4"]  # other columns are kept as metadata
    assert set(docs["path"]) == {path.name}
    assert docs["text"].str.startswith("Council approves").tolist()[0]
    assert sents.groupby("source")["doc_id"].nunique().to_dict() == {"Gazette": 2, "Science Daily": 2}
    assert_offsets(docs, sents)


def test_table_without_source_column_uses_file_stem(tmp_path):
    path = tmp_path / "letters.csv"
    pd.DataFrame({"text": ["My first letter to the editor is here.", "My second letter to the editor is here."]}
                 ).to_csv(path, index=False)
    docs = load_documents([str(path)], IngestConfig())
    assert docs["source"].tolist() == ["letters", "letters"]
    with pytest.raises(InputError, match="no source column 'outlet'; its columns are: text"):
        load_documents([str(path)], IngestConfig(source_col="outlet"))


def test_jsonl_numbers_and_years(tmp_path):
    path = tmp_path / "t.jsonl"
    rows = [{"text": "One text here, about the harbour.", "source": 7, "year": 2022},
            {"text": "Two texts here, about the valley.", "source": 8, "year": None}]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    docs = load_documents([str(path)], IngestConfig(date_col="year"))
    assert docs["source"].tolist() == ["7", "8"] and docs["date"].tolist() == ["2022", None]


def test_inputs_keep_their_order_and_duplicates_are_kept_once(tmp_path, caplog):
    flood = tmp_path / "flood.txt"
    flood.write_text((DATA / "flood_barrier.txt").read_text(encoding="utf-8"), encoding="utf-8")
    copy = tmp_path / "copy.txt"
    copy.write_text("  " + flood.read_text(encoding="utf-8").replace("\n\n", "\n\n\n") + "\n\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        docs = load_documents([str(DATA / "bee_memory.txt"), str(flood), str(copy)], IngestConfig())
    assert docs["source"].tolist() == ["bee_memory", "flood"]
    assert "duplicate document skipped: copy.txt" in caplog.text
    res = ingest(flood, copy, "--out", tmp_path / "out")
    assert res.returncode == 0 and "duplicate document skipped" in res.stderr


# ----------------------------------------------------------------------------------- encodings
ARTICLE = "The café’s owner said “déjà vu” twice. Prices rose 4% in Zürich."


@pytest.mark.parametrize("encoding, data", [
    ("utf-8-sig", ARTICLE.encode("utf-8-sig")),
    ("utf-16", ARTICLE.encode("utf-16")),
    ("utf-16-be-bom", b"\xfe\xff" + ARTICLE.encode("utf-16-be")),
    ("utf-16-le-no-bom", ARTICLE.encode("utf-16-le")),
    ("cp1252", ARTICLE.replace("\n", "\r\n").encode("cp1252")),
])
def test_encodings_are_decoded(tmp_path, encoding, data, caplog):
    path = tmp_path / "article.txt"
    path.write_bytes(data)
    with caplog.at_level(logging.WARNING):
        docs = load_documents([str(path)], IngestConfig())
    assert docs["text"].tolist() == [ARTICLE]
    assert ("decoded it as cp1252" in caplog.text) == (encoding == "cp1252")


def test_cp1252_table_is_decoded(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("text,source\r\n“Quoted” café news from the old town.,a\r\n".encode("cp1252"))
    docs = load_documents([str(path)], IngestConfig())
    assert docs["text"].tolist() == ["“Quoted” café news from the old town."]


# ---------------------------------------------------------------------------------- bad inputs
# name: (file name, content (bytes; "DIR" a folder holding only a CSV; None nothing), message, extra CLI args)
HELLO, WORLD = b"Hello from the harbour town today.", b"The world is watching the harbour."
BAD = {
    "empty": ("a.txt", b"", "a.txt is empty", []),
    "whitespace": ("a.txt", b" \n\t\n  \r\n", "a.txt contains only whitespace", []),
    "binary": ("a.txt", bytes(range(256)) * 8, "a.txt looks like a binary file, not text", []),
    "pdf_as_txt": ("a.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a.txt is a PDF file, not plain text", []),
    "no_text_files": ("folder", "DIR", "has no .txt or .md files", []),
    "missing": ("nope.txt", None, "no such file or folder:", []),
    "ambiguous_encoding": ("a.txt", "Привет, это новость о торговле и дипломатии.".encode("cp1251"),
                           "a.txt is not UTF-8 and its encoding is ambiguous", []),
    "undecodable": ("a.txt", b"Trade rose \x81\x8d\x90 in 2021.", "a.txt is not UTF-8 (byte 0x81", []),
    "mixed_encoding": ("a.txt", "café ".encode("utf-8") + "café".encode("cp1252"),
                       "a.txt is partly UTF-8 and partly another encoding", []),
    "no_text_column": ("t.csv", b"body,source\nhello,a\n", "t.csv has no text column 'text'; its columns are: body, source",
                       []),
    "blank_sources": ("t.csv", b"text,source\n" + HELLO + b",\n" + WORLD + b", \n",
                      "source column 'source' in t.csv is blank in every row", []),
    "some_blank_sources": ("t.csv", b"text,source\n" + HELLO + b",a\n" + WORLD + b",\n",
                           "is blank in 1 of 2 rows (first: data row 2)", []),
    "bad_jsonl": ("t.jsonl", b'{"text": "a"}\n{"text": \n', "t.jsonl is not a valid JSON Lines table", []),
    "bad_parquet": ("t.parquet", b"PAR1 not really parquet", "t.parquet is not a valid Parquet table", []),
    "empty_csv": ("t.csv", b"text,source\n", "t.csv has no rows", []),
    "blank_texts": ("t.csv", b"text,source\n ,a\n,b\n", "text column 'text' in t.csv is blank in every row", []),
    "too_big": ("big.txt", b"word " * 2000, "big.txt is 0.00954 MB, over the 0.001 MB limit", ["--max-file-mb", "0.001"]),
    "unsupported": ("a.docx", b"PK\x03\x04 zipped", "a.docx: unsupported file type '.docx'", []),
    "missing_date_column": ("t.csv", b"text,source\n" + HELLO + b",a\n", "t.csv has no date column 'when'",
                            ["--date-col", "when"]),
    "bad_date": ("t.csv", b"text,source,when\n" + HELLO + b",a,someday\n",
                 "t.csv: cannot read 'someday' in date column 'when' (data row 1) as a date", ["--date-col", "when"]),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, name):
    filename, content, message, extra = BAD[name]
    path = tmp_path / "in" / filename
    path.parent.mkdir()
    if content == "DIR":
        path.mkdir()
        (path / "data.csv").write_text("text\nhello\n", encoding="utf-8")
    elif content is not None:
        path.write_bytes(content)
    out_parent = tmp_path / "outs"
    out_parent.mkdir()
    res = ingest(path, "--out", out_parent / "study", *extra)
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert message in lines[0]
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert list(out_parent.iterdir()) == []  # no study, no staging folder left behind


def test_failed_ingest_leaves_existing_study_untouched(tmp_path):
    out = tmp_path / "study"
    assert ingest(DATA / "bee_memory.txt", "--out", out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    res = ingest(empty, "--out", out)
    assert res.returncode == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.txt", "study"]


def test_folder_manifest_errors(tmp_path):
    (tmp_path / "a.txt").write_text("A text here.", encoding="utf-8")
    (tmp_path / "manifest.yaml").write_text("documents:\n  - file: b.txt\n    source: b\n", encoding="utf-8")
    with pytest.raises(InputError, match="manifest.yaml lists b.txt, not found in the folder"):
        load_documents([str(tmp_path)], IngestConfig())
    (tmp_path / "manifest.yaml").write_text("documents:\n  - file: a.txt\n    date: someday\n", encoding="utf-8")
    with pytest.raises(InputError, match="entry for a.txt has date 'someday', which is not a date"):
        load_documents([str(tmp_path)], IngestConfig())
    (tmp_path / "manifest.yaml").write_text("documents: [oops\n", encoding="utf-8")
    with pytest.raises(InputError, match="is not valid YAML"):
        load_documents([str(tmp_path)], IngestConfig())
    (tmp_path / "manifest.yaml").write_text(json.dumps({"documents": [{"source": "x"}]}), encoding="utf-8")
    with pytest.raises(InputError, match="each with a 'file' key"):
        load_documents([str(tmp_path)], IngestConfig())
