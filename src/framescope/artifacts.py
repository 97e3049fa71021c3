"""Read and write the artifact set atomically, and build the run manifest.

A study is one folder of Parquet tables plus `manifest.json`. Tables are written into a
temporary sibling folder which is renamed over the target only when everything succeeded,
so a failed run never leaves a half-written study behind.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Iterator

import pandas as pd

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


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write one Parquet file atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        df.to_parquet(tmp, index=False)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a study must be readable by the app's user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(obj: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=False, default=str, ensure_ascii=False)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


@contextmanager
def staging_dir(out: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside `out`; on success it replaces `out` whole.

    Files already in `out` that the run does not write (for example a user's notes) are
    carried over, so re-running a study never loses anything but the tables it rewrites.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.staging-"))
    try:
        yield tmp
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700
        if out.exists():
            for item in out.iterdir():
                if not (tmp / item.name).exists():
                    if item.is_dir():
                        shutil.copytree(item, tmp / item.name)
                    else:
                        shutil.copy2(item, tmp / item.name)
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
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
