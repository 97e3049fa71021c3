"""The on-disk embedding cache: vectors keyed by (model id + weights hash, sha256 of the text).

Each model has a folder of ``shard-*.npz`` files (format, model, width, keys, float32 vectors and
a checksum per row; written by atomic rename, read with ``allow_pickle=False``). A shard that fails
any check (``shard_problem``: older format, other model, wrong width, rows that do not match their
checksums) is removed with a warning and its sentences are embedded again; it is never used. A call embeds only the texts not yet cached and
writes them as one more shard; past ``_MAX_SHARDS`` shards the folder is compacted into one.
The shards a process has read stay in its memory (re-read only when they change on disk), so
the several cache look-ups of a run, and the runs of the app, do not read the folder again.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from framescope.artifacts import atomic_file, sha256_text

log = logging.getLogger("framescope.embed")
_MAX_SHARDS = 16  # cache shards per model before they are compacted into one
SHARD_FORMAT = 2  # 2: model, dim and a checksum per row recorded (1: keys and vectors only)


class Encoder(Protocol):
    """What the cache needs of an embedder (``framescope.embed.encoders.Embedder`` has it all)."""

    model_id: str
    weights_sha256: str | None
    cacheable: bool

    def encode(self, texts: list[str]) -> np.ndarray: ...


def cache_dir() -> Path:
    return Path(os.environ.get("FRAMESCOPE_CACHE_DIR") or Path.home() / ".cache" / "framescope")


def _model_cache(embedder: Encoder) -> Path:
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in embedder.model_id)[-60:]
    tag = getattr(embedder, "cache_tag", "")  # how the vectors were made, e.g. "pad16"
    name = f"{slug}-{(embedder.weights_sha256 or 'none')[:16]}" + (f"-{tag}" if tag else "")
    return cache_dir() / "embeddings" / name


# The shards of the last cache folder read, kept for the life of the process: folder ->
# ({shard path: (mtime_ns, size)}, {text key: vector}). A later call reads only the shards
# that appeared since (another run or process added them); if one it had read changed or
# vanished (compacted by another process), it reads the folder again.
_LOADED: dict[Path, tuple[dict[Path, tuple[int, int]], dict[bytes, np.ndarray]]] = {}
_LOADED_LOCK = threading.Lock()


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def row_checks(keys: np.ndarray, vecs: np.ndarray) -> np.ndarray:
    """One checksum per row, over the text's key and its vector's bytes together: a vector array
    shifted against its keys, or any changed value, fails it."""
    vecs = np.ascontiguousarray(vecs, dtype=np.float32)
    return np.array([hashlib.sha256(bytes(k) + v.tobytes()).hexdigest()[:32] for k, v in zip(keys, vecs)],
                    dtype="S32")


def shard_problem(z, folder: Path, dim: int | None) -> str | None:
    """Why a loaded shard must not be used (None: it passes every check). A shard records its
    format, the model's cache name (model id, weights hash, how vectors are made), the width, the
    texts' sha256 keys and a checksum per row (:func:`row_checks`)."""
    if "format" not in z.files:
        return "written by an older framescope, without self-checks"
    if int(z["format"]) != SHARD_FORMAT:
        return f"unknown shard format {int(z['format'])}"
    keys, vecs, checks = z["keys"], z["vectors"], z["checks"]
    if str(z["model"]) != folder.name:
        return f"made by another model ({str(z['model'])[:60]})"
    if keys.ndim != 1 or vecs.ndim != 2 or len(keys) != len(vecs) or len(checks) != len(keys):
        return "its keys, vectors and checksums do not line up"
    if vecs.dtype != np.float32 or vecs.shape[1] != int(z["dim"]):
        return f"its vectors are {vecs.dtype} of width {vecs.shape[1]}, not float32 of width {int(z['dim'])}"
    if dim is not None and vecs.shape[1] != dim:
        return f"its vectors have width {vecs.shape[1]}, the model gives {dim}"
    if not np.array_equal(checks, row_checks(keys, vecs)):
        return "its vectors do not match their checksums (shifted or damaged rows)"
    return None


def _discard(shard: Path, why: str) -> None:
    log.warning("embedding cache shard %s discarded (%s); its sentences are embedded again", shard.name, why)
    shard.unlink(missing_ok=True)


def _read_shards(folder: Path, dim: int | None = None) -> tuple[list[Path], dict[bytes, np.ndarray]]:
    """The folder's shards and every cached vector in them (read from disk only once per
    process: see ``_LOADED``). A shard that fails a check (:func:`shard_problem`) is discarded:
    removed with a warning, its vectors never used. The returned dict is the process's own;
    callers may add to it."""
    shards = sorted(folder.glob("shard-*.npz"))
    stamps = {s: _stamp(s) for s in shards}
    seen, found = _LOADED.get(folder, ({}, {}))
    if any(stamps.get(s) != st for s, st in seen.items()):
        seen, found = {}, {}
    seen = dict(seen)
    for shard in shards:
        if shard in seen or stamps[shard] is None:
            continue
        try:
            with np.load(shard, allow_pickle=False) as z:
                problem = shard_problem(z, folder, dim)
                keys, vecs = (z["keys"], z["vectors"]) if problem is None else (None, None)
        except Exception as e:  # noqa: BLE001 — a damaged file is re-embedded, never fatal
            problem = f"unreadable: {type(e).__name__}"
        if problem is not None:
            _discard(shard, problem)
            continue
        found.update(zip(keys.tolist(), vecs))
        seen[shard] = stamps[shard]
    shards = [s for s in shards if s.exists()]
    _LOADED.clear()  # one model's vectors in memory at a time
    _LOADED[folder] = (seen, found)
    return shards, found


def _remember_shards(folder: Path, written: list[Path], removed: list[Path]) -> None:
    """Record shards this process wrote (their vectors are already in ``_LOADED``)."""
    if folder in _LOADED:
        seen = _LOADED[folder][0]
        for s in removed:
            seen.pop(s, None)
        for s in written:
            if (st := _stamp(s)) is not None:
                seen[s] = st


def _write_shard(folder: Path, keys: list[bytes], vecs: np.ndarray) -> Path:
    arr = np.array(keys, dtype="S64")
    target = folder / f"shard-{hashlib.sha256(arr.tobytes()).hexdigest()[:20]}.npz"
    vecs = np.ascontiguousarray(vecs, dtype=np.float32)
    with atomic_file(target) as f:  # its temporary name starts with a dot: never read as a shard
        np.savez(f, format=np.array(SHARD_FORMAT), model=np.array(folder.name), dim=np.array(vecs.shape[1]),
                 keys=arr, vectors=vecs, checks=row_checks(arr, vecs))
    return target


def cached_encode(texts: list[str], embedder: Encoder, use_cache: bool = True) -> np.ndarray:
    """Embed ``texts`` through the on-disk cache keyed by (model id + weights hash, text sha256).

    Each distinct text is embedded once per call, with or without the cache. Only texts not yet
    in the cache are sent to the model (so a model whose texts are all
    cached is never loaded); the new vectors are written as one more ``.npz`` shard (atomic
    rename, loaded with ``allow_pickle=False``). Shards already read by this process are kept
    in memory and not read again.
    """
    texts = [str(t) for t in texts]
    if not use_cache or not embedder.cacheable:
        distinct = list(dict.fromkeys(texts))  # each distinct text embedded once (boilerplate, copies)
        if len(distinct) == len(texts):
            return embedder.encode(texts)
        where = {t: i for i, t in enumerate(distinct)}
        return embedder.encode(distinct)[[where[t] for t in texts]]
    if not texts:
        return np.zeros((0, getattr(embedder, "dim", 0)), dtype=np.float32)
    folder = _model_cache(embedder)
    keys = [sha256_text(t).encode() for t in texts]
    with _LOADED_LOCK:
        shards, found = _read_shards(folder, getattr(embedder, "declared_dim", None))
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in found}.items())
        if missing:
            new = embedder.encode([t for _, t in missing])
            found.update(zip([k for k, _ in missing], new))
            try:
                written = [_write_shard(folder, [k for k, _ in missing], new)]
                removed: list[Path] = []
                if len(shards) + 1 > _MAX_SHARDS:
                    allk = sorted(found)
                    written.append(_write_shard(folder, allk, np.stack([found[k] for k in allk])))
                    removed = shards + [w for w in written[:1] if w != written[1]]
                    for s in removed:
                        s.unlink(missing_ok=True)
                    written = written[1:]
                _remember_shards(folder, written, removed)
            except OSError as e:
                log.warning("embedding cache not written (%s)", e)
        return np.stack([found[k] for k in keys]).astype(np.float32)
