"""A battery of hostile inputs, through the real command line and through the app's input checks.

Every CLI case runs `python -m framescope.cli` as its own process (the real exit code and stderr)
in a scratch folder, and asserts:
- the exit code (2 for bad input, 0 where the input is odd but readable);
- for a refusal, stderr is one line `error: …` naming the problem (no traceback), and the output
  folder was not created;
- nothing was written anywhere in the scratch folder outside the output folder (inputs, working
  directory, home, embedding cache), and a pickle sentinel was never unpickled;
- bounded time (wall clock under a generous limit; the process is killed past it) and bounded
  memory (the CLI process's own peak resident set, `VmHWM`).

The app cases call what the Corpus, Validate and codebook widgets call with an upload's bytes
(`store_uploads`, `server_folder`, `store_codebook`, `read_labels`) and assert the message the
page shows (`InputError`), that nothing was left outside the session's upload folder, and bounded
time and traced memory.

The cases run two at a time in one module fixture (about 40 s in all on 2 cores).
"""
from __future__ import annotations

import gzip
import io
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from framescope.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SEED_STUDY = ROOT / "artifacts" / "seed"
ARTICLE = ("The minister spoke about climate change on Monday. She said water resources are dwindling. "
           "The border issue with the neighbour was settled in 2002.\n\n"
           "Critics called the project economic coercion. Supporters called it a model for coordination.\n")
SENTINEL_NAME = "UNPICKLED"


class Unsafe:
    """Unpickling this creates a file named SENTINEL_NAME in the scratch folder's working directory."""

    def __reduce__(self):
        return (open, (SENTINEL_NAME, "w"))


# ------------------------------------------------------------------------------------ inputs
def _w(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _parquet(path: Path, table: pa.Table) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def _nested_json(depth: int) -> str:
    return '{"text": "A sentence here.", "source": "a", "x": ' + "[" * depth + "]" * depth + "}\n"


@dataclass
class Case:
    name: str
    build: Callable[[Path], list[str]]  # writes inputs under tmp/"in", returns argv after `framescope --quiet`
    code: int
    message: str = ""  # a substring of stderr's one line (refusals) or "" (successes)
    check: Callable[[Path], None] | None = None  # for successes: checks the output folder
    limit_s: float = 120.0
    max_rss_mb: float = 1500.0
    out_may_exist: bool = False  # `validate` writes into an existing study


def _ingest(*inputs: str, extra: tuple[str, ...] = ()) -> list[str]:
    return ["ingest", *inputs, "--out", "out", *extra]


def _sentences(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "sentences.parquet")


def _texts(out: Path) -> list[str]:
    return _sentences(out)["text"].tolist()


def _expect_sentences(*needles: str, n_min: int = 1):
    def check(out: Path) -> None:
        texts = _texts(out)
        assert len(texts) >= n_min
        joined = "\n".join(texts)
        for n in needles:
            assert n in joined, (n, texts[:5])
    return check


def _same_as_plain(out: Path) -> None:
    assert _texts(out) == [
        "The minister spoke about climate change on Monday.", "She said water resources are dwindling.",
        "The border issue with the neighbour was settled in 2002.", "Critics called the project economic coercion.",
        "Supporters called it a model for coordination."], _texts(out)


def _seed_study_copy(tmp: Path) -> Path:
    dest = tmp / "out"
    shutil.copytree(SEED_STUDY, dest)
    return dest


def _labels(tmp: Path, rows: list[tuple[str, str]], name: str = "labels.csv") -> str:
    lines = "sentence_id,label\n" + "".join(f"{a},{b}\n" for a, b in rows)
    return str(_w(tmp / "in" / name, lines))


def _seed_ids(n: int) -> list[str]:
    return pd.read_parquet(SEED_STUDY / "sentences.parquet", columns=["sentence_id"])["sentence_id"].head(n).tolist()


def _folder(tmp: Path, files: dict[str, bytes | str]) -> str:
    d = tmp / "in" / "corpus"
    d.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        _w(d / name, data)
    return str(d)


def _table(tmp: Path, name: str, df: pd.DataFrame, **kw) -> str:
    p = tmp / "in" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".csv"):
        df.to_csv(p, index=False, **kw)
    elif name.endswith(".jsonl"):
        df.to_json(p, orient="records", lines=True)
    return str(p)


def _cb(tmp: Path, text: str) -> list[str]:
    corpus = _w(tmp / "in" / "a.txt", ARTICLE)
    return ["run", str(corpus), "--out", "out", "--codebook", str(_w(tmp / "in" / "codebook.yaml", text))]


def _fifo_folder(tmp: Path) -> list[str]:
    d = Path(_folder(tmp, {"a.txt": ARTICLE}))
    os.mkfifo(d / "pipe.txt")
    return _ingest(str(d))


def _fifo_direct(tmp: Path) -> list[str]:
    (tmp / "in").mkdir(parents=True, exist_ok=True)
    os.mkfifo(tmp / "in" / "pipe.txt")
    return _ingest(str(tmp / "in" / "pipe.txt"))


def _link_out(tmp: Path) -> list[str]:
    d = Path(_folder(tmp, {"a.txt": ARTICLE}))
    secret = _w(tmp / "secret" / "hostname.txt", "secret-host-name\n")
    (d / "zz_link.txt").symlink_to(secret)
    return _ingest(str(d))


def _zip_input(tmp: Path) -> list[str]:
    p = tmp / "in" / "corpus.zip"
    p.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("a.txt", ARTICLE)
    return _ingest(str(p))


META = pd.DataFrame({"text": ["The minister spoke about climate change at length.", "The border issue was settled."],
                     "source": ["a", "b"], "party": ["red", "blue"], "notes": ["n1", "n2"]})


def _documents_have(present: list[str], absent: list[str]):
    def check(out: Path) -> None:
        cols = set(pd.read_parquet(out / "documents.parquet").columns)
        assert set(present) <= cols and not (set(absent) & cols), cols
    return check


WIDE = pd.DataFrame([[f"v{j}" for j in range(1001)]], columns=["text"] + [f"c{j}" for j in range(1000)])

CLI_CASES = [
    # ---- paths and file types
    Case("missing_path", lambda t: _ingest(str(t / "in" / "nope.txt")), 2, "no such file or folder"),
    Case("empty_file", lambda t: _ingest(str(_w(t / "in" / "a.txt", b""))), 2, "a.txt is empty"),
    Case("whitespace_only", lambda t: _ingest(str(_w(t / "in" / "a.txt", " \n\t\r\n \u00a0\n"))), 2,
         "contains only whitespace"),
    Case("empty_folder", lambda t: _ingest(_folder(t, {})), 2, "no .txt or .md"),
    Case("folder_of_hidden_and_other_files", lambda t: _ingest(_folder(t, {".a.txt": ARTICLE, "b.docx": b"PK\x03\x04"})),
         2, "no .txt or .md"),
    Case("unsupported_extension", lambda t: _ingest(str(_w(t / "in" / "a.docx", ARTICLE))), 2,
         "unsupported file type '.docx'"),
    Case("pickle_is_never_read", lambda t: _ingest(str(_w(t / "in" / "corpus.pkl", pickle.dumps(Unsafe())))), 2,
         "unsupported file type '.pkl'"),
    Case("pickle_named_parquet", lambda t: _ingest(str(_w(t / "in" / "corpus.parquet", pickle.dumps(Unsafe())))), 2,
         "corpus.parquet is not a valid Parquet table"),
    Case("zip_given_to_the_cli", _zip_input, 2, "unsupported file type '.zip'"),
    Case("png_named_txt", lambda t: _ingest(str(_w(t / "in" / "a.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4))),
         2, "a.txt is a PNG image, not plain text"),
    Case("pdf_named_txt", lambda t: _ingest(str(_w(t / "in" / "a.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"))), 2,
         "a.txt is a PDF file"),
    Case("gzip_named_csv", lambda t: _ingest(str(_w(t / "in" / "a.csv", gzip.compress(b"text,source\nhi,a\n")))), 2,
         "a.csv is a gzip archive"),
    Case("binary_with_nul_bytes", lambda t: _ingest(str(_w(t / "in" / "a.txt", os.urandom(4096) + b"\x00" * 8))), 2,
         "a.txt looks like a binary file"),
    Case("named_pipe_in_folder_does_not_hang", _fifo_folder, 2, "pipe.txt is not a regular file", limit_s=60),
    Case("named_pipe_given_directly", _fifo_direct, 2, "pipe.txt is not a regular file", limit_s=60),
    Case("link_out_of_the_folder", _link_out, 2, "zz_link.txt is a link to a file outside"),
    Case("over_the_size_limit",
         lambda t: _ingest(str(_w(t / "in" / "a.txt", ARTICLE * 20000)), extra=("--max-file-mb", "1")), 2,
         "over the 1 MB limit"),
    # ---- encodings and line endings (readable: exit 0, the right text)
    Case("utf16_with_bom", lambda t: _ingest(str(_w(t / "in" / "a.txt", "\ufeff".encode("utf-16-le")
                                                       + ARTICLE.encode("utf-16-le")))), 0, check=_same_as_plain),
    Case("utf8_with_bom", lambda t: _ingest(str(_w(t / "in" / "a.txt", b"\xef\xbb\xbf" + ARTICLE.encode()))), 0,
         check=_same_as_plain),
    Case("cp1252_smart_quotes", lambda t: _ingest(str(_w(t / "in" / "a.txt",
                                                         "The caf\u00e9 owner said \u201cno\u201d to the plan. It was "
                                                         "a na\u00efve plan.\n".encode("cp1252")))),
         0, check=_expect_sentences("caf\u00e9", "\u201cno\u201d")),
    Case("half_utf8_half_latin1", lambda t: _ingest(str(_w(t / "in" / "a.txt", "caf\u00e9 ".encode() * 3
                                                           + "caf\u00e9".encode("latin-1")))),
         2, "partly UTF-8 and partly another encoding"),
    Case("utf16_bom_then_garbage", lambda t: _ingest(str(_w(t / "in" / "a.txt", b"\xff\xfe" + b"\x00\xd8a")),), 2,
         "byte-order mark but is not valid"),
    Case("mixed_line_endings", lambda t: _ingest(str(_w(t / "in" / "a.txt", ARTICLE.replace("\n\n", "\r\n\r\n", 1)
                                                       .replace("dwindling. ", "dwindling.\r")))), 0,
         check=_same_as_plain),
    Case("old_mac_line_endings_only", lambda t: _ingest(str(_w(t / "in" / "a.txt", ARTICLE.replace("\n", "\r")))), 0,
         check=_same_as_plain),
    Case("control_characters_and_zero_width", lambda t: _ingest(str(_w(
        t / "in" / "a.txt", "The \u200bminister\u200d spoke.\u202e Emoji \U0001F30D here. \u0645\u0631\u062d\u0628\u0627 "
        "says hello.\n"))), 0, check=_expect_sentences("Emoji \U0001F30D here.")),
    Case("one_megabyte_without_spaces", lambda t: _ingest(str(_w(t / "in" / "a.txt", "a" * 1_000_000 + ".\n"))), 0,
         check=lambda out: _expect_sentences()(out), limit_s=90),
    # ---- tables
    Case("csv_without_the_text_column", lambda t: _ingest(_table(t, "a.csv", pd.DataFrame({"body": ["x"]}))), 2,
         "a.csv has no text column 'text'; its columns are: body"),
    Case("csv_duplicate_column_names", lambda t: _ingest(str(_w(t / "in" / "a.csv",
                                                                "text,source,text\nThe minister spoke about climate change.,a,Other text.\n"))),
         2, "a.csv has a duplicate column name 'text'"),
    Case("csv_over_1000_columns", lambda t: _ingest(_table(t, "wide.csv", WIDE)), 2, "1,001 columns"),
    Case("csv_header_only", lambda t: _ingest(str(_w(t / "in" / "a.csv", "text,source\n"))), 2, "a.csv has no rows"),
    Case("csv_every_text_blank", lambda t: _ingest(str(_w(t / "in" / "a.csv", "text,source\n ,a\n,b\n"))), 2,
         "text column 'text' in a.csv is blank in every row"),
    Case("csv_unclosed_quote", lambda t: _ingest(str(_w(t / "in" / "a.csv", 'text,source\n"Hello there.,a\nMore,b\n'))),
         2, "a.csv"),
    Case("csv_giant_cell", lambda t: _ingest(_table(t, "a.csv", pd.DataFrame(
        {"text": ["The plan was debated at length. " * 60_000], "source": ["a"]}))), 0,
         check=_expect_sentences("The plan was debated at length.", n_min=50_000), limit_s=120),
    Case("csv_blank_source_cells", lambda t: _ingest(str(_w(t / "in" / "a.csv", "text,source\nThe minister spoke about climate change.,a\nThe border issue was settled in 2002.,\n"))),
         2, "source column 'source' in a.csv is blank in 1 of 2 rows"),
    Case("csv_bad_date_asked_for", lambda t: _ingest(str(_w(t / "in" / "a.csv", "text,source,when\nThe minister spoke about climate change.,a,"
                                                            "not a date\n")), extra=("--date-col", "when")), 2,
         "cannot read 'not a date' in date column 'when' (data row 1)"),
    Case("tsv_that_is_comma_separated", lambda t: _ingest(str(_w(t / "in" / "a.tsv", "text,source\nHello there.,a\n"))),
         2, "a.tsv has no text column 'text'; its columns are: text,source"),
    Case("jsonl_deeply_nested", lambda t: _ingest(str(_w(t / "in" / "a.jsonl", _nested_json(100_000)))), 2,
         "a.jsonl"),
    Case("jsonl_broken_line", lambda t: _ingest(str(_w(t / "in" / "a.jsonl", '{"text": "Hi there.", "source": "a"}\n'
                                                       '{"text": "Oops", \n'))), 2,
         "a.jsonl is not a valid JSON Lines table"),
    Case("jsonl_text_is_an_object", lambda t: _ingest(str(_w(t / "in" / "a.jsonl",
                                                             '{"text": {"nested": "Hi."}, "source": "a"}\n'))), 2,
         "text column 'text' in a.jsonl holds values that are not strings"),
    Case("json_top_level_scalar", lambda t: _ingest(str(_w(t / "in" / "a.json", "42"))), 2, "a.json"),
    Case("parquet_truncated", lambda t: _ingest(str(_w(t / "in" / "a.parquet", b"PAR1" + os.urandom(64)))), 2,
         "a.parquet is not a valid Parquet table"),
    Case("parquet_duplicate_column_names", lambda t: _ingest(str(_parquet(t / "in" / "a.parquet", pa.table(
        [pa.array(["Hello there."]), pa.array(["a"]), pa.array(["Other."])], names=["text", "source", "text"])))),
         2, "a.parquet has a duplicate column name 'text'"),
    Case("parquet_text_is_a_list", lambda t: _ingest(str(_parquet(t / "in" / "a.parquet", pa.table(
        {"text": pa.array([["Hello.", "There."]]), "source": pa.array(["a"])})))), 2,
         "text column 'text' in a.parquet holds values that are not strings"),
    Case("parquet_text_is_binary", lambda t: _ingest(str(_parquet(t / "in" / "a.parquet", pa.table(
        {"text": pa.array([b"\x00\x01\x02"], pa.binary()), "source": pa.array(["a"])})))), 2,
         "text column 'text' in a.parquet holds values that are not strings"),
    Case("parquet_dictionary_text_and_tz_dates", lambda t: _ingest(str(_parquet(t / "in" / "a.parquet", pa.table({
        "text": pa.array([f"The minister spoke about climate change on day {i}." for i in (1, 2, 1)]).dictionary_encode(),
        "source": pa.array(["a", "b", "c"]).dictionary_encode(),
        "date": pa.array([pd.Timestamp("2021-03-04 10:00", tz="Asia/Shanghai")] * 3,
                         pa.timestamp("ms", tz="Asia/Shanghai"))}))), extra=("--date-col", "date")), 0,
         check=_expect_sentences("climate change")),
    Case("meta_col_the_table_lacks", lambda t: _ingest(_table(t, "a.csv", META), extra=("--meta-col", "speaker")), 2,
         "a.csv has no metadata column 'speaker' (--meta-col); its columns are: text, source, party, notes"),
    Case("meta_col_keeps_only_that_column", lambda t: _ingest(_table(t, "a.csv", META), extra=("--meta-col", "party")),
         0, check=_documents_have(["party"], ["notes"])),
    Case("no_meta_reads_no_giant_unused_cell", lambda t: _ingest(_table(t, "a.csv", META.assign(
        notes=["x" * 30_000_000, "y"])), extra=("--no-meta",)), 0, check=_documents_have([], ["party", "notes"]),
         max_rss_mb=1000),
    Case("parquet_no_meta_skips_a_column_of_an_odd_type", lambda t: _ingest(str(_parquet(t / "in" / "a.parquet", pa.table({
        "text": pa.array(list(META["text"])), "source": pa.array(list(META["source"])),
        "odd": pa.array([{"k": [1, 2]}, None], pa.struct([("k", pa.list_(pa.int64()))]))}))), extra=("--no-meta",)), 0,
         check=_documents_have([], ["odd"])),
    Case("parquet_over_1000_columns", lambda t: _ingest(str(_parquet(t / "in" / "a.parquet",
                                                                     pa.Table.from_pandas(WIDE)))), 2, "1,001 columns"),
    # ---- codebooks and run options
    Case("codebook_not_yaml", lambda t: _cb(t, "themes: [unclosed\n  - key: x\n"), 2, "codebook.yaml"),
    Case("codebook_alias_bomb", lambda t: _cb(t, "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                                              "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                                              "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                                              "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                                              "themes: *h\n"), 2, "codebook.yaml", limit_s=60),
    Case("codebook_python_object_tag", lambda t: _cb(t, f"themes: !!python/object/apply:builtins.open "
                                                     f"['{SENTINEL_NAME}', 'w']\n"), 2, "codebook.yaml"),
    Case("codebook_duplicate_theme_keys", lambda t: _cb(t, "version: 1\nthemes:\n"
                                                        "  - {key: a, label: A, description: d, seed_phrases: [x]}\n"
                                                        "  - {key: a, label: B, description: d, seed_phrases: [y]}\n"),
         2, "duplicate"),
    Case("config_with_an_unknown_key", lambda t: ["run", "--config", str(_w(t / "in" / "c.yaml", "engine: local\n"
                                                                           "bogus_option: 3\n")), "--out", "out"],
         2, "bogus_option"),
    Case("out_is_an_existing_file", lambda t: ["run", str(_w(t / "in" / "a.txt", ARTICLE)), "--out",
                                               str(_w(t / "out", "I am a file\n"))], 2, "out is a file; name a folder for the results",
         out_may_exist=True),
    # ---- labels given to `validate` (the study must not change)
    Case("labels_empty_file", lambda t: ["validate", str(_seed_study_copy(t)), "--labels",
                                         str(_w(t / "in" / "labels.csv", ""))], 2, "labels", out_may_exist=True),
    Case("labels_unknown_theme", lambda t: ["validate", str(_seed_study_copy(t)), "--labels",
                                            _labels(t, [(i, "astrology") for i in _seed_ids(6)])],
         2, "astrology", out_may_exist=True),
    Case("labels_of_another_study", lambda t: ["validate", str(_seed_study_copy(t)), "--labels",
                                               _labels(t, [(f"d9999-s{i:04d}", "climate") for i in range(6)])],
         2, "d9999-s0000", out_may_exist=True),
]


# ----------------------------------------------------------------------------------- running
# The CLI as the child runs it, reporting its own peak resident memory (VmHWM of its image: a
# forked child's rusage would count the big test process it was forked from).
PEAK_WRAPPER = """
import atexit, os, sys

def _peak():
    with open("/proc/self/status") as f:
        kb = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    with open(os.environ["FS_PEAK_FILE"], "w") as out:
        out.write(kb)

atexit.register(_peak)
sys.argv = ["framescope", *sys.argv[1:]]
from framescope.cli import main
main()
"""

@dataclass
class Result:
    code: int
    stderr: str
    seconds: float
    rss_mb: float
    changed_outside: list[str] = field(default_factory=list)
    out: Path | None = None
    study_changed: list[str] = field(default_factory=list)


def _snapshot(root: Path, skip: Path) -> dict[str, tuple]:
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        if d == skip or skip in d.parents:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = d / name
            if p == skip:
                continue
            st = p.lstat()
            seen[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return seen


def _files(folder: Path) -> dict[str, tuple]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.read_bytes()) for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _run_case(case: Case, base: Path) -> Result:
    tmp = base / case.name
    for sub in ("in", "cwd", "home", "cache"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    argv = case.build(tmp)
    argv = [a if a != "out" else str(tmp / "out") for a in argv]
    out = tmp / "out"
    study_before = _files(out) if case.out_may_exist and out.is_dir() else None
    before = _snapshot(tmp, out)
    env = {**os.environ, "HOME": str(tmp / "home"), "FRAMESCOPE_CACHE_DIR": str(tmp / "cache"), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env["FS_PEAK_FILE"] = str(base / f"{case.name}.peak")
    with open(tmp / "stderr", "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", PEAK_WRAPPER, "--quiet", *argv], cwd=tmp / "cwd", env=env,
                                stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
        killer = threading.Timer(case.limit_s, lambda: os.killpg(proc.pid, signal.SIGKILL))
        killer.start()
        proc.wait()
        killer.cancel()
        seconds = time.perf_counter() - t0
    peak = base / f"{case.name}.peak"
    rss_mb = int(peak.read_text()) / 1024 if peak.is_file() else float("inf")
    stderr = (tmp / "stderr").read_text(errors="replace")
    (tmp / "stderr").unlink()
    after = _snapshot(tmp, out)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    study_changed = []
    if study_before is not None:
        now = _files(out)
        study_changed = sorted(k for k in set(study_before) | set(now) if study_before.get(k) != now.get(k))
    return Result(proc.returncode, stderr, seconds, rss_mb, changed, out, study_changed)


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    with ThreadPoolExecutor(2) as pool:
        futures = {c.name: pool.submit(_run_case, c, base) for c in CLI_CASES}
        return {name: f.result() for name, f in futures.items()}


def test_the_battery_has_at_least_forty_cases():
    assert len(CLI_CASES) + len(APP_CASES) >= 40
    assert len({c.name for c in CLI_CASES}) == len(CLI_CASES)


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.name for c in CLI_CASES])
def test_cli_hostile_input(case: Case, cli_results):
    r = cli_results[case.name]
    assert r.seconds < case.limit_s, f"{case.name} took {r.seconds:.0f} s (killed at the limit)"
    assert r.rss_mb < case.max_rss_mb, f"{case.name} peaked at {r.rss_mb:.0f} MB"
    assert r.code == case.code, (r.code, r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.changed_outside == [], f"written outside the output folder: {r.changed_outside}"
    assert r.study_changed == [], f"the study changed: {r.study_changed}"
    if case.code:
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
        assert case.message in lines[0], (case.message, lines[0])
        if not case.out_may_exist:
            assert not r.out.exists(), "a refused input left an output folder"
    else:
        case.check(r.out)


# ------------------------------------------------------------------------------------ the app
def _zip(members: dict[str, bytes], **kw) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", **kw) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _bad_crc_zip() -> bytes:
    data = bytearray(_zip({"one.txt": ARTICLE.encode()}, compression=zipfile.ZIP_STORED))
    i = data.index(b"minister")
    data[i] = ord("M")
    return bytes(data)


def _bomb_zip() -> bytes:
    return _zip({"bomb.txt": b"a" * 50_000_000}, compression=zipfile.ZIP_DEFLATED)


def _encrypted_zip() -> bytes:
    data = bytearray(_zip({"one.txt": ARTICLE.encode()}))
    data[6] |= 0x1  # the local header's flag bits
    cd = data.index(b"PK\x01\x02")
    data[cd + 8] |= 0x1  # the central directory's
    return bytes(data)


def _upload(files):
    def call(tmp: Path):
        from framescope.app.uploads import store_uploads
        return store_uploads(files() if callable(files) else files, tmp / "session" / "uploads")
    return call


def _server_folder(make):
    def call(tmp: Path):
        from framescope.app.runs import server_folder
        root = tmp / "allowed"
        root.mkdir()
        return server_folder(str(make(tmp, root)), [root])
    return call


def _codebook(data: bytes):
    def call(tmp: Path):
        from framescope.app.runs import store_codebook
        return store_codebook(data, tmp / "session" / "codebooks")
    return call


def _outside_link(tmp: Path, root: Path) -> Path:
    secret = _w(tmp / "etc" / "hostname.txt", "secret-host-name\n")
    _w(root / "corpus" / "a.txt", ARTICLE)
    (root / "corpus" / "zz.txt").symlink_to(secret)
    return root / "corpus"


def _fifo_in(tmp: Path, root: Path) -> Path:
    _w(root / "corpus" / "a.txt", ARTICLE)
    os.mkfifo(root / "corpus" / "pipe.txt")
    return root / "corpus"


WIDE_CSV = WIDE.to_csv(index=False).encode()

APP_CASES = [
    ("upload_nothing", _upload([]), "no file uploaded"),
    ("upload_pickle", _upload([("corpus.pkl", pickle.dumps(Unsafe()))]), ".pkl files are not accepted"),
    ("upload_parquet", _upload([("corpus.parquet", b"PAR1" + b"\x00" * 64 + b"PAR1")]), ".parquet files are not accepted"),
    ("upload_program_named_csv", _upload([("corpus.csv", b"MZ\x90\x00" + os.urandom(256))]), "looks like a program"),
    ("upload_docx_named_txt", _upload([("a.txt", _zip({"word/document.xml": b"<w/>"}))]), "ZIP container"),
    ("upload_over_the_limit", _upload(lambda: [("big.txt", b"word " * (6 * 2**20))]), "the limit is 25 MB"),
    ("upload_empty_txt", _upload([("a.txt", b"  \n")]), "a.txt is empty"),
    ("upload_latin1_txt", _upload([("a.txt", "caf\u00e9 au lait. Tr\u00e8s bon.".encode("latin-1"))]), "UTF-8"),
    ("upload_utf16_txt", _upload([("a.txt", "\ufeffThe talks went well. Both sides agreed.".encode("utf-16-le"))]),
     "a.txt is not UTF-8 text (it is UTF-16 or UTF-32); save it with UTF-8 encoding"),
    ("upload_table_and_texts", _upload([("a.csv", b"text,source\nHi.,a\n"), ("b.txt", b"Hello.")]), "not both"),
    ("upload_csv_over_1000_columns", _upload([("wide.csv", WIDE_CSV)]), "1,001 columns"),
    ("upload_csv_duplicate_columns", _upload([("a.csv", b"text,source,text\nHi.,a,Other.\n")]),
     "the table has a duplicate column name 'text'"),
    ("upload_csv_ragged_rows", _upload([("a.csv", b"text,source\nHi.,a\nOne,two,three,four\n")]), "could not be read as CSV"),
    ("upload_jsonl_deeply_nested", _upload([("a.jsonl", _nested_json(100_000).encode())]), "could not be read as JSONL"),
    ("upload_zip_bad_crc", _upload([("c.zip", _bad_crc_zip())]), "is damaged"),
    ("upload_zip_bomb", _upload(lambda: [("c.zip", _bomb_zip())]), "inflates suspiciously"),
    ("upload_zip_path_traversal", _upload([("c.zip", _zip({"../../etc/evil.txt": b"x"}))]), "unsafe path"),
    ("upload_zip_absolute_path", _upload([("c.zip", _zip({"/etc/evil.txt": b"x"}))]), "unsafe path"),
    ("upload_zip_encrypted", _upload([("c.zip", _encrypted_zip())]), "is encrypted"),
    ("upload_zip_inside_zip", _upload([("c.zip", _zip({"inner.zip": _zip({"a.txt": b"Hi."})}))]), "not a .txt or .md"),
    ("upload_zip_truncated", _upload([("c.zip", _zip({"a.txt": ARTICLE.encode()})[:40])]), "damaged or not a ZIP"),
    ("server_folder_link_out", _server_folder(_outside_link), "zz.txt is a link to a file outside"),
    ("server_folder_outside_roots", _server_folder(lambda tmp, root: tmp), "outside the folders this server allows"),
    ("server_folder_named_pipe", _server_folder(_fifo_in), "pipe.txt is not a regular file"),
    ("codebook_python_tag", _codebook(f"themes: !!python/object/apply:builtins.open ['{SENTINEL_NAME}', 'w']\n"
                                      .encode()), "codebook"),
    ("codebook_binary", _codebook(b"\x00\x01" * 100), "not a text file"),
    ("server_folder_is_a_file", _server_folder(lambda tmp, root: _w(root / "a.txt", ARTICLE)), "no such folder"),
]


@pytest.mark.parametrize("name,call,message", APP_CASES, ids=[c[0] for c in APP_CASES])
def test_app_hostile_input(name, call, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = _snapshot(tmp_path, tmp_path / "session")
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(InputError) as err:
            call(tmp_path)
        seconds = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    text = str(err.value)
    assert message in text, (message, text)
    assert "\n" not in text and len(text) < 400, text
    assert seconds < 30, f"{name} took {seconds:.1f} s"
    assert peak < 600 * 2**20, f"{name} traced {peak / 2**20:.0f} MB"
    assert not (tmp_path / SENTINEL_NAME).exists(), "a pickle or YAML tag was executed"
    after = _snapshot(tmp_path, tmp_path / "session")
    made = {k for k in set(after) - set(before)
            if not k.startswith(("allowed", "etc"))}  # the case's own inputs
    assert made == set(), f"written outside the session folder: {sorted(made)}"
