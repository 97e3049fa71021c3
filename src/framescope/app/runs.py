"""Run a new study from the Corpus page: inputs and options -> `framescope.engines.pipeline.run` -> folder.

Progress is shown in an `st.status` box fed by the run's `progress(stage, fraction)` callback.
The embedding model stays loaded for the life of the server process
(`framescope.engines.study.embedder_for`), so a second run does not load it again.
"""
from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from framescope.app.uploads import TEXT_TYPES, Upload, binary_reason
from framescope.config import EmbedConfig, IngestConfig, MeasureConfig, RunConfig, ThemeConfig
from framescope.errors import InputError
from framescope.ingest.corpus import folder_files

MAX_CODEBOOK_BYTES = 256 * 1024


def server_folder(folder: str, roots: list[Path]) -> Upload:
    """A folder of text files on the server, allowed only inside one of `roots`."""
    path = Path(folder).expanduser()
    path = (path if path.is_absolute() else Path.cwd() / path).resolve()
    if not any(path == r.resolve() or r.resolve() in path.parents for r in roots):
        raise InputError("that folder is outside the folders this server allows")
    if not path.is_dir():
        raise InputError("no such folder on the server")
    files = [p.name for p in folder_files(path, tuple(f".{t}" for t in TEXT_TYPES))]  # links out refused
    if not files:
        raise InputError("the folder has no .txt or .md files")
    return Upload(kind="text", inputs=[path], names=files)


def store_codebook(data: bytes, folder: Path) -> Path:
    """Check an uploaded codebook (size, text, valid codebook) and store it as `codebook-<n>.yaml`."""
    if len(data) > MAX_CODEBOOK_BYTES:
        raise InputError(f"the codebook is over {MAX_CODEBOOK_BYTES // 1024} KB")
    if not data.strip():
        raise InputError("the codebook file is empty")
    if reason := binary_reason(data):
        raise InputError(f"the codebook is not a text file ({reason})")
    folder.mkdir(parents=True, exist_ok=True)
    import hashlib

    path = folder / f"codebook-{hashlib.sha256(data).hexdigest()[:12]}.yaml"
    path.write_bytes(data)
    codebook_summary(path)  # raises InputError if it is no valid codebook
    return path


def codebook_summary(path: Path) -> str:
    """'key (label), …' of a codebook's themes; InputError if it does not load."""
    from framescope.themes.codebook import load_codebook

    cb = load_codebook(path)
    return ", ".join(f"{t.key} ({t.label})" for t in cb.themes) or "no themes"


def run_config(inputs: list[Path], ingest: dict, codebook: Path | None, model: str, seed: int,
               out: Path) -> RunConfig:
    return RunConfig(
        inputs=[str(p) for p in inputs], out=str(out), ingest=IngestConfig(**ingest),
        embed=EmbedConfig(model=model), themes=ThemeConfig(codebook=str(codebook) if codebook else None, seed=seed),
        measures=MeasureConfig(seed=seed),
    )


def run_study(inputs: list[Path], ingest: dict, codebook: Path | None, model: str, seed: int,
              workdir: Path) -> Path:
    """Run the pipeline into a new folder of `workdir`, showing progress; returns the study folder."""
    from framescope.engines.pipeline import run

    n = 1 + sum(1 for p in workdir.glob("study-*") if p.is_dir())
    cfg = run_config(inputs, ingest, codebook, model, seed, workdir / f"study-{n}")
    t0 = time.perf_counter()
    with st.status("Running the study…", expanded=True) as status:
        bar = st.progress(0.0, text="starting")
        seen: list[str] = []

        def progress(stage: str, fraction: float) -> None:
            bar.progress(min(1.0, max(0.0, float(fraction))), text=f"{stage} ({time.perf_counter() - t0:.0f} s)")
            if stage not in seen and stage != "done":
                seen.append(stage)
                st.write(f"• {stage}")

        try:
            path = run(cfg, progress=progress)
        except Exception:
            status.update(label="The run stopped", state="error", expanded=False)
            raise
        status.update(label=f"Study ready in {time.perf_counter() - t0:.0f} s", state="complete", expanded=False)
    return Path(path)
