"""The stage sequence, written once: config -> stages in order -> one study folder.

:func:`run_stages` is the whole run: ingest -> embed -> themes -> sentence measures ->
emphasis -> framing -> write (``study.STAGES``). It hands the work whose cost grows with the
corpus to an *executor*, partition by partition; the two executors differ only in where that
work runs:

- :class:`~framescope.engines.local.LocalExecutor` (``engine: local``): in this process, one
  partition after another;
- :class:`~framescope.engines.distributed.DaskExecutor` (``engine: dask``): one task per
  partition on a dask.distributed cluster, with the partitions' rows in Parquet files.

An executor's steps: ``segment(documents, bounds)`` (body sentences per document, per
partition), ``embed(study)``, ``sample(doc_ids)`` (the fit sample's sentences and vectors),
``measure(study, model, sample, sample_docs)`` (themes, tone, frames and voices of every
sentence; returns the partials of the study's measures, ``framing.measure_partials``),
``candidates(study, centroids, limit)``, ``texts(ids)``, ``sentence_parts()`` and ``info``.
Everything else (partitions, the fit sample, the fit, the combination of partials into tables,
the manifest) is computed here, once, from the same functions, so on one machine both engines
write the same study, down to the last bit of every float (across machines: docs/artifacts.md,
"Precision").
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from framescope.artifacts import check_out
from framescope.config import RunConfig
from framescope.engines.distributed import DaskExecutor
from framescope.engines.local import LocalExecutor
from framescope.engines.stages import corpus_partitions, fit_themes, reuses, themes_for_corpus
from framescope.engines.study import Progress, StudyRun, no_progress
from framescope.engines.write import StudyResult, write_study
from framescope.errors import InputError
from framescope.ingest.corpus import load_documents
from framescope.ingest.language import warn_non_english
from framescope.measures.framing import (
    body_theme_counts, contrast_ids, measure_tables, settle_candidates, study_centroids, with_texts,
)
from framescope.themes.sample import fit_sample_documents, labelled_documents


def run(cfg: RunConfig | StudyRun, progress: bool | Progress = False) -> Path:
    """Run a whole study and return its folder: ``cfg`` is a RunConfig (``progress``: True for
    log lines, or a ``progress(stage, fraction)`` callable) or a prepared :class:`StudyRun`.
    ``engine`` in the config picks the executor."""
    study = cfg if isinstance(cfg, StudyRun) else None
    run_cfg = study.cfg if study else cfg
    verbose = study.progress is not no_progress if study else bool(progress)
    check_out(run_cfg.out)
    executor = DaskExecutor(run_cfg, verbose) if run_cfg.engine == "dask" else LocalExecutor(run_cfg.ingest.workers)
    return run_stages(study or StudyRun.from_config(run_cfg, progress), executor)


def run_stages(study: StudyRun, executor) -> Path:
    """The stage sequence (see the module's docstring), on the given executor."""
    cfg = study.cfg
    with executor:
        with study.stage("ingest"):  # documents, then sentences partition by partition
            documents = load_documents([str(p) for p in study.inputs], cfg.ingest)
            doc_body = pd.concat(executor.segment(documents, corpus_partitions(documents), reuses(cfg)))
            if int(doc_body.sum()) < 2:
                raise InputError("the corpus has fewer than 2 body sentences: nothing to compare")
            language = warn_non_english(documents)

        with study.stage("embed"):
            executor.embed(study)

        with study.stage("themes"):
            sample_docs = fit_sample_documents(doc_body, cfg.themes.fit_sample, cfg.themes.seed,
                                               include=labelled_documents(study.labels))
            sample, vectors = executor.sample(sample_docs)
            model = fit_themes(cfg, sample, vectors, study.codebook, study.load_embedder(), labels=study.labels,
                               reused=study.reused)

        with study.stage("sentence measures"):  # themes assigned, tone, frames, voices; partials
            partials = executor.measure(study, model, sample, sample_docs)
            n_body = sum(p["n_body"] for p in partials)
            themes, notes = themes_for_corpus(model, None, int(doc_body.loc[sample_docs].sum()), n_body,
                                              counts=body_theme_counts(partials))
        return measure_and_write(study, executor, documents, model, themes, ([language] if language else []) + notes,
                                 partials)


def measure_and_write(study: StudyRun, executor, documents: pd.DataFrame, model, themes: pd.DataFrame,
                      notes: list[str], partials: list[dict] | None = None) -> Path:
    """The last three stages: emphasis and framing tables combined from the partitions' partials
    (``None``: the executor computes them first, ``executor.partials``), exemplars and contrast
    pairs from their candidates, then the study written atomically."""
    m = study.cfg.measures
    with study.stage("emphasis"):  # and the other tables combined from per-partition counts
        if partials is None:
            partials = executor.partials(study)
        tables = measure_tables(partials, m, study.frames, documents, notes)

    with study.stage("framing"):  # exemplars and contrast pairs from per-partition candidates
        centroids = study_centroids(partials)
        exemplars, contrasts = settle_candidates(lambda limit: executor.candidates(study, centroids, limit), m)
        contrasts = with_texts(contrasts, executor.texts(contrast_ids(contrasts)))
        tables.update(exemplars=exemplars, contrasts=contrasts)
    study.engine_info = dict(executor.info)
    counts = {"sentences": sum(p["n_sentences"] for p in partials),
              "body_sentences": sum(p["n_body"] for p in partials)}
    return write_study(study, StudyResult(documents=documents, sentence_parts=executor.sentence_parts(),
                                          themes=themes, tables=tables, model=model, notes=notes, counts=counts))


def finish_study(study: StudyRun, documents: pd.DataFrame, sentences: pd.DataFrame, vectors: np.ndarray,
                 model, themes: pd.DataFrame, notes: list[str]) -> Path:
    """The emphasis, framing and write stages for sentences already themed and scored in this
    process (with their vectors): the same code path as :func:`run`'s last stages."""
    executor = LocalExecutor.from_sentences(documents, sentences, vectors)
    return measure_and_write(study, executor, documents, model, themes, notes)
