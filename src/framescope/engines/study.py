"""One study run, described by one object: :class:`StudyRun`.

A ``StudyRun`` holds everything a run needs besides the data flowing through its stages: the
config, the resolved inputs, the codebook and frames, the embedder, the progress callback, the
stage timings and the start time. Both executors and every stage function read it, so no
function needs a long list of keyword arguments.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from framescope.config import SEED_ROOT, RunConfig
from framescope.errors import InputError

log = logging.getLogger("framescope")
Progress = Callable[[str, float], None]
STAGES = ("ingest", "embed", "themes", "sentence measures", "emphasis", "framing", "write")


def resolve_path(p: str | Path) -> Path:
    """A relative path is taken from the working folder, else from the packaged seed files
    (`config.SEED_ROOT`: `seeds/corpus`, `seeds/codebook.yaml`)."""
    p = Path(p).expanduser()
    if p.is_absolute() or p.exists():
        return p
    alt = SEED_ROOT / p
    return alt if alt.exists() else p


def resolve_out(out: str | Path) -> Path:
    p = Path(out).expanduser()
    return p if p.is_absolute() else Path.cwd() / p


def no_progress(stage: str, fraction: float) -> None:
    """The progress callback of a quiet run."""


def log_progress(stage: str, fraction: float) -> None:
    """The progress callback of ``--progress``: one log line per stage."""
    log.info("[%3.0f%%] %s", 100 * fraction, stage)


def progress_callback(progress: bool | Progress) -> Progress:
    """``progress(stage, fraction)``: the given callable, else log lines (True) or nothing (False)."""
    if callable(progress):
        return progress
    return log_progress if progress else no_progress


_EMBEDDERS: dict[str, object] = {}


def embedder_for(cfg) -> object:
    """``embed.encoders.get_embedder(cfg)``, kept for the life of the process (a second run in the
    same process, e.g. from the app, skips loading and hashing the weights again). The ``tfidf``
    embedder learns from its corpus, so it is made anew for every run."""
    from framescope.embed.encoders import get_embedder

    key = f"{cfg.model.strip()}|{cfg.batch_size}"
    if cfg.model.strip() == "tfidf":
        return get_embedder(cfg)
    if key not in _EMBEDDERS:
        _EMBEDDERS.clear()  # one model in memory at a time
        _EMBEDDERS[key] = get_embedder(cfg)
    return _EMBEDDERS[key]


@dataclass
class StudyRun:
    """One run of the stages: its config and what was resolved from it, plus the run record.

    - ``cfg``: the whole run config (``framescope.config.RunConfig``);
    - ``inputs``: the resolved corpus paths; ``codebook`` (or None) and ``codebook_path``;
      ``frames``: the frames file, loaded;
    - ``embedder``: the sentence embedder, loaded on first use (:meth:`load_embedder`);
    - ``progress``: ``progress(stage, fraction)``, called as each stage starts;
    - ``timings``: seconds per stage, filled as the stages run; ``started``: the start time
      (ISO 8601, UTC); ``engine_info``: what the executor reports for the manifest;
      ``reused``: the results taken from the cache instead of computed (``framescope.reuse``);
    - ``labels_path`` and ``labels``: the researcher's label file (``run --labels``) and its labels,
      read when the run is made (a bad file fails before any stage runs) and applied to the study
      in the write stage (``validate.study.apply_labels``), or None.

    Make one with :meth:`from_config`.
    """

    cfg: RunConfig
    inputs: list[Path]
    codebook: object | None
    codebook_path: Path | None
    frames: object
    embedder: object | None = None
    progress: Progress = no_progress
    timings: dict[str, float] = field(default_factory=dict)
    started: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    engine_info: dict = field(default_factory=dict)
    reused: list = field(default_factory=list)
    labels_path: Path | None = None
    labels: object | None = None

    @classmethod
    def from_config(cls, cfg: RunConfig, progress: bool | Progress = False, **fields) -> StudyRun:
        """Resolve the config's inputs, codebook and frames (InputError when they do not load);
        ``fields`` sets any other field (``embedder``, ``timings``, ``started``, ``labels_path``:
        its labels are read here)."""
        from framescope.measures.frames import load_frames
        from framescope.themes.codebook import load_codebook
        from framescope.validate.labels import read_label_file

        inputs = [resolve_path(p) for p in cfg.inputs]
        if not inputs:
            raise InputError("no inputs: give at least one corpus PATH")
        codebook_path = resolve_path(cfg.themes.codebook) if cfg.themes.codebook else None
        frames_path = resolve_path(cfg.measures.frames) if cfg.measures.frames else None
        codebook = load_codebook(codebook_path) if codebook_path else None
        if fields.get("labels_path") is not None:
            fields["labels_path"] = Path(fields["labels_path"])
            fields["labels"] = read_label_file(fields["labels_path"])
        return cls(cfg=cfg, inputs=inputs, codebook=codebook, codebook_path=codebook_path,
                   frames=load_frames(frames_path), progress=progress_callback(progress), **fields)

    @property
    def out(self) -> Path:
        """The study folder the run writes."""
        return resolve_out(self.cfg.out)

    def load_embedder(self):
        """The run's embedder (:func:`embedder_for` the config's, unless one was given)."""
        if self.embedder is None:
            self.embedder = embedder_for(self.cfg.embed)
        return self.embedder

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Report the stage's start, run the block, record its seconds in ``timings``."""
        self.progress(name, STAGES.index(name) / len(STAGES))
        t0 = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - t0, 3)
