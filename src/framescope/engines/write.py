"""The last stage: one study folder, written atomically (tables, sentences, model, codebook, manifest)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from framescope.artifacts import (
    package_versions, sha256_file, staging_dir, stored, write_json, write_table,
)
from framescope.engines.study import StudyRun
from framescope.measures.frames import frames_digest
from framescope.measures.speakers import voices_model
from framescope.validate.study import apply_labels

LABELS_FILE = "labels.parquet"
KEEP_FROM_PREVIOUS_RUN: tuple[str, ...] = (LABELS_FILE,)
"""Files of an earlier study in the same folder that a new run keeps (when it does not write them
itself), recorded in the manifest as ``kept_from_previous_run``. Only the researcher's own hand
labels (``framescope validate``), which no run can recreate: they name sentence ids, and
``framescope validate`` checks them against the new study before using them. Everything else in
the folder is exactly what the run wrote (a stale ``codebook.yaml`` of an earlier seed study once
leaked into a discovery-only study); the agreement and corrected shares computed from the labels
are not kept, since they describe the earlier run. A run with ``--labels`` writes ``labels.parquet``
itself: the file's labels merged over the kept ones, with the agreement and the corrected shares
(``validate.study.apply_labels``)."""


@dataclass
class StudyResult:
    """What a run writes: the documents, the sentences (as partitions: DataFrames, or Parquet
    files already at their stored precision), the themes, the other tables by name, the fitted
    theme model, the run notes and the sentence counts (``sentences``, ``body_sentences``)."""

    documents: pd.DataFrame
    sentence_parts: list
    themes: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    model: object
    notes: list[str]
    counts: dict[str, int]


def input_hashes(paths: list[Path]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in paths:
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            out[str(f)] = sha256_file(f)
    return out


def write_sentence_parts(parts: list, path: Path) -> None:
    """Write the sentences table from its partitions in order (DataFrames, or Parquet files already
    at their stored precision), one partition in memory at a time; column types are unified across
    partitions (a column that is empty in one partition takes its type from the others)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(parts) == 1 and isinstance(parts[0], pd.DataFrame):
        stored(parts[0]).to_parquet(path, index=False)
        return

    def table(p):  # partition files are written at their stored precision by the workers
        return pq.read_table(p) if isinstance(p, (str, Path)) else pa.Table.from_pandas(stored(p), preserve_index=False)

    schemas = [pq.read_schema(p) if isinstance(p, (str, Path)) else table(p).schema for p in parts]
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    with pq.ParquetWriter(path, schema) as writer:
        for p in parts:
            writer.write_table(table(p).select(schema.names).cast(schema))


def manifest(study: StudyRun, result: StudyResult) -> dict:
    """The run record: config, codebook, input hashes, model, seeds, versions, timings, counts."""
    cfg, codebook_path, frames = study.cfg, study.codebook_path, study.frames
    return {
        "framescope_study": 1,
        "config": cfg.model_dump(mode="json"),
        "codebook": yaml.safe_load(codebook_path.read_text(encoding="utf-8")) if codebook_path else None,
        "codebook_sha256": sha256_file(codebook_path) if codebook_path else None,
        "frames_sha256": frames_digest(frames) if hasattr(frames, "model_dump") else None,
        "inputs": input_hashes(study.inputs),
        "embedding": {"model": study.embedder.model_id, "weights_sha256": study.embedder.weights_sha256},
        "voices_model": voices_model(),
        "seeds": {"themes": cfg.themes.seed, "measures": cfg.measures.seed},
        "versions": package_versions(),
        "started_at": study.started,
        "timings": study.timings,
        "reused": list(study.reused),
        "engine": {"name": cfg.engine, **study.engine_info},
        "counts": {"documents": len(result.documents), "sentences": result.counts["sentences"],
                   "body_sentences": result.counts["body_sentences"],
                   "sources": int(result.documents["source"].nunique()), "themes": len(result.themes)},
        "notes": result.notes,
        "kept_from_previous_run": [f for f in kept_files(study.out) if study.labels is None or f != LABELS_FILE],
        **({"labels": labels_record(study)} if study.labels is not None else {}),
    }


def labels_record(study: StudyRun) -> dict:
    """What the manifest says of ``run --labels``: the file, its sha256, its labels and whether
    labels of the earlier study in the folder were merged in."""
    return {"file": str(study.labels_path), "sha256": sha256_file(study.labels_path),
            "n_labels": int(len(study.labels)), "merged_with_previous": LABELS_FILE in kept_files(study.out)}


def kept_files(out: Path) -> list[str]:
    """The files of ``KEEP_FROM_PREVIOUS_RUN`` that the earlier study in ``out`` holds."""
    return [name for name in KEEP_FROM_PREVIOUS_RUN if (Path(out) / name).exists()]


def write_study(study: StudyRun, result: StudyResult) -> Path:
    """Write the study folder atomically: the tables, the sentences (:func:`write_sentence_parts`),
    the model, the codebook and the manifest; with ``study.labels``, also the labels, the agreement
    and the corrected shares (``validate.study.apply_labels`` in the staging folder, so bad labels
    leave the earlier study in the folder as it was)."""
    out = study.out
    with study.stage("write"):
        with staging_dir(out, keep=KEEP_FROM_PREVIOUS_RUN) as tmp:
            write_sentence_parts(result.sentence_parts, tmp / "sentences.parquet")
            for name, df in {"documents": result.documents, "themes": result.themes, **result.tables}.items():
                write_table(df, tmp / f"{name}.parquet")
            result.model.save(tmp / "model")
            if study.codebook_path:
                (tmp / "codebook.yaml").write_text(study.codebook_path.read_text(encoding="utf-8"), encoding="utf-8")
            write_json(manifest(study, result), tmp / "manifest.json")
            if study.labels is not None:
                apply_labels(tmp, study.labels, str(study.labels_path), previous=out if out.is_dir() else None,
                             embedder=study.load_embedder())
    study.progress("done", 1.0)
    return out
