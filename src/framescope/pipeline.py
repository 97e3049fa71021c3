"""Config -> stages in order -> one study folder of tables plus manifest.json.

The stages are pure functions over tidy tables (see docs/artifacts.md); this module only
orders them, times them, and writes their results atomically.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd
import yaml

from framescope.artifacts import (
    package_versions, sha256_file, sha256_text, staging_dir, write_json, write_table,
)
from framescope.config import REPO_ROOT, RunConfig
from framescope.errors import InputError

log = logging.getLogger("framescope")
Progress = Callable[[str, float], None]
STAGES = ("ingest", "embed", "themes", "sentence measures", "emphasis", "framing", "write")


def resolve_path(p: str | Path) -> Path:
    """A relative path is taken from the working folder, else from the repository (seed study)."""
    p = Path(p).expanduser()
    if p.is_absolute() or p.exists():
        return p
    alt = REPO_ROOT / p
    return alt if alt.exists() else p


def input_hashes(paths: list[Path]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in paths:
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            out[str(f)] = sha256_file(f)
    return out


def _progress_fn(progress: bool | Progress) -> Progress:
    if callable(progress):
        return progress
    if progress:
        return lambda stage, frac: log.info("[%3.0f%%] %s", 100 * frac, stage)
    return lambda stage, frac: None


@contextmanager
def _timed(timings: dict[str, float], name: str, report: Progress) -> Iterator[None]:
    report(name, STAGES.index(name) / len(STAGES))
    t0 = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - t0, 3)


def run(cfg: RunConfig, progress: bool | Progress = False) -> Path:
    """Run a whole study and return its folder."""
    from framescope.corpus import load_documents
    from framescope.embed import get_embedder, sentence_vectors
    from framescope.emphasis import emphasis_over_time, emphasis_table
    from framescope.framing import (
        contrasts_table, distinctive_terms, exemplars_table, frame_scores, frame_table,
        load_frames, notes_table, tone_scores, tone_table, voices, voices_table,
    )
    from framescope.themes import ThemeModel, load_codebook

    report = _progress_fn(progress)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    timings: dict[str, float] = {}
    notes: list[str] = []
    inputs = [resolve_path(p) for p in cfg.inputs]
    if not inputs:
        raise InputError("no inputs: give at least one corpus PATH")
    codebook_path = resolve_path(cfg.themes.codebook) if cfg.themes.codebook else None
    frames_path = resolve_path(cfg.measures.frames) if cfg.measures.frames else None

    with _timed(timings, "ingest", report):
        documents = load_documents([str(p) for p in inputs], cfg.ingest)
        from framescope.segment import sentence_table
        sentences = sentence_table(documents)
        if int(sentences["is_body"].sum()) < 2:
            raise InputError("the corpus has fewer than 2 body sentences: nothing to compare")
        codebook = load_codebook(codebook_path) if codebook_path else None
        frames = load_frames(frames_path)

    with _timed(timings, "embed", report):
        embedder = get_embedder(cfg.embed)
        vectors = sentence_vectors(sentences, embedder, cfg.embed)

    with _timed(timings, "themes", report):
        model = ThemeModel(cfg.themes).fit(sentences, vectors, codebook, embedder)
        sentences = sentences.merge(model.assign_, on="sentence_id", how="left", validate="one_to_one")
        themes = model.themes_
        notes += list(getattr(model, "notes_", []))

    with _timed(timings, "sentence measures", report):
        sentences["tone"] = tone_scores(sentences)
        scores = frame_scores(sentences, vectors, embedder, frames)
        sentences = pd.concat([sentences, scores.set_index(sentences.index)], axis=1)
        sentences["voice"] = voices(sentences)

    with _timed(timings, "emphasis", report):
        emphasis = emphasis_table(sentences, cfg.measures)
        emphasis_time = emphasis_over_time(sentences, documents, cfg.measures)

    with _timed(timings, "framing", report):
        tables = {
            "terms": distinctive_terms(sentences, cfg.measures),
            "tone": tone_table(sentences, cfg.measures),
            "frames": frame_table(sentences, cfg.measures, frames),
            "voices": voices_table(sentences),
            "exemplars": exemplars_table(sentences, vectors, cfg.measures),
            "contrasts": contrasts_table(sentences, vectors, cfg.measures),
        }
        tables["notes"] = notes_table(sentences, emphasis, cfg.measures, run_notes=notes)

    out = resolve_out(cfg.out)
    with _timed(timings, "write", report):
        with staging_dir(out) as tmp:
            all_tables = {"documents": documents, "sentences": sentences, "themes": themes,
                          "emphasis": emphasis, "emphasis_time": emphasis_time, **tables}
            for name, df in all_tables.items():
                write_table(df, tmp / f"{name}.parquet")
            model.save(tmp / "model")
            if codebook_path:
                (tmp / "codebook.yaml").write_text(codebook_path.read_text(encoding="utf-8"), encoding="utf-8")
            manifest = {
                "framescope_study": 1,
                "config": cfg.model_dump(mode="json"),
                "codebook": yaml.safe_load(codebook_path.read_text(encoding="utf-8")) if codebook_path else None,
                "codebook_sha256": sha256_file(codebook_path) if codebook_path else None,
                "frames_sha256": sha256_text(yaml.safe_dump(frames.model_dump(), sort_keys=True)) if hasattr(frames, "model_dump") else None,
                "inputs": input_hashes(inputs),
                "embedding": {"model": embedder.model_id, "weights_sha256": embedder.weights_sha256},
                "seeds": {"themes": cfg.themes.seed, "measures": cfg.measures.seed},
                "versions": package_versions(),
                "started_at": started,
                "timings": timings,
                "counts": {"documents": len(documents), "sentences": len(sentences),
                           "body_sentences": int(sentences["is_body"].sum()),
                           "sources": int(documents["source"].nunique()), "themes": len(themes)},
                "notes": notes,
            }
            write_json(manifest, tmp / "manifest.json")
    report("done", 1.0)
    return out


def resolve_out(out: str | Path) -> Path:
    p = Path(out).expanduser()
    return p if p.is_absolute() else Path.cwd() / p
