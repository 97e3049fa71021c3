"""The dask engine (``--engine dask``): the same study, computed on a dask.distributed cluster.

The corpus is cut into the same partitions of whole documents as the local engine uses
(``pipeline.corpus_partitions``), written as Parquet files, and every step whose cost grows
with the corpus runs on the workers, one task per partition (``Client.map``):

1. ``segment_and_embed``: sentences of the partition's documents and their in-context vectors
   (the embedding cache is the worker's own ``FRAMESCOPE_CACHE_DIR``);
2. the theme model is fitted once, on the client, on the sample of whole documents that
   ``pipeline.fit_sample_documents`` draws (``themes.fit_sample``), gathered from the workers;
3. ``assign_and_measure``: every sentence of the partition gets the fit's own theme (sample
   sentences) or the fitted model's (the rest), then tone, frame scores and voice; the rows are
   written beside the partition and the task returns only the partition's partials of the
   study's measures (``framing.measure_partials``: counts per cluster, cell, frame, term and
   speaker; tone sums per cluster; vector sums per cell);
4. ``candidates``: exemplar and contrast-pair candidates of the partition, given the centroids
   combined on the client (capped per cell and per theme × source pair, no text);
5. ``sentence_texts``: the texts of the chosen contrast pairs.

The client combines the partials into the tables (``framing.measure_tables``,
``framing.settle_candidates``) and writes the study, streaming ``sentences.parquet`` from the
partition files one at a time (``pipeline.write_study``). It never holds the sentence rows or
their vectors, except the fit sample.

Why the result equals the local engine's, bit for bit (on one machine): both engines run the same functions
(``pipeline.theme_and_measure``, the partials and their combination) on the same partitions, so
every embedding batch and matrix product sees the same rows; segmentation, sentence ids, context
mixing, acronyms and voices depend on nothing outside a sentence's own document, and no document
is split; the fit sees the same sample; the model reaches the workers through its safetensors +
JSON files, which hold its arrays exactly; resampling clusters (paragraphs or documents) never
straddle two partitions, so the bootstrap and the permutation test draw from the same
per-cluster counts with the same seeds; and the float sums that are combined (the tone SD, the
centroids) are added in partition order by both. One caveat, for MiniLM on an empty embedding
cache: a sentence text that also occurs in an earlier partition is read from the cache by the
local engine (which runs the partitions in turn) but embedded again on the cluster (where they
run at once), so that partition's batches differ, and MiniLM's output depends in the 7th decimal
on a batch's padded length. With a warm cache, or with wordllama, the two engines agree exactly.
``tfidf`` learns from the whole corpus and is refused.

``--scheduler tcp://host:8786`` connects to a running cluster; without it a ``LocalCluster``
(one single-threaded worker process per core, on 127.0.0.1) is started and closed. Partition
files go to ``FRAMESCOPE_DASK_DIR`` (a folder every worker can read and write) or, by default,
a temporary folder beside the study, removed at the end.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from framescope.artifacts import stored
from framescope.config import EmbedConfig, MeasureConfig, RunConfig
from framescope.errors import InputError

log = logging.getLogger("framescope.distributed")
_MODELS: dict[str, object] = {}  # per worker process


# --------------------------------------------------------------------------- worker side

def _embedder(embed: dict):
    from framescope.pipeline import embedder_for

    return embedder_for(EmbedConfig.model_validate(embed))


def _model(folder: str):
    from framescope.themes import ThemeModel

    if folder not in _MODELS:
        _MODELS.clear()
        _MODELS[folder] = ThemeModel.load(folder)
    return _MODELS[folder]


def _need(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"partition file {path} is not visible on worker {socket.gethostname()}: set "
                         "FRAMESCOPE_DASK_DIR to a folder that the client and every worker can read and write")
    return path


def segment_and_embed(work: str, part: int, embed: dict) -> pd.Series:
    """Sentences and vectors of one partition, written beside it; returns body sentences per document."""
    from framescope.embed import sentence_vectors
    from framescope.pipeline import body_per_document
    from framescope.segment import sentence_table

    w = Path(work)
    sentences = sentence_table(pd.read_parquet(_need(w / f"documents-{part:05d}.parquet")))
    vectors = sentence_vectors(sentences, _embedder(embed), EmbedConfig.model_validate(embed))
    sentences.to_parquet(w / f"sentences-{part:05d}.parquet", index=False)
    np.save(w / f"vectors-{part:05d}.npy", vectors, allow_pickle=False)
    return body_per_document(sentences)


def sample_rows(work: str, part: int, doc_ids: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The partition's sentences of the sample documents, with their vectors."""
    w = Path(work)
    sentences = pd.read_parquet(w / f"sentences-{part:05d}.parquet")
    vectors = np.load(w / f"vectors-{part:05d}.npy", allow_pickle=False)
    keep = sentences["doc_id"].isin(doc_ids).to_numpy()
    return sentences[keep].reset_index(drop=True), vectors[keep]


def assign_and_measure(work: str, part: int, model_dir: str, fitted: pd.DataFrame, doc_ids: list[str],
                       embed: dict, frames, measures: dict) -> dict:
    """Themes, tone, frame scores and voices of one partition's sentences, written beside it;
    returns the partition's partials of the study's measures (``framing.measure_partials``)."""
    from framescope.framing import measure_partials
    from framescope.pipeline import theme_and_measure

    w = Path(work)
    sentences = pd.read_parquet(w / f"sentences-{part:05d}.parquet")
    vectors = np.load(w / f"vectors-{part:05d}.npy", allow_pickle=False)
    out = theme_and_measure(_model(model_dir), fitted, sentences, vectors, doc_ids, _embedder(embed), frames)
    stored(out).to_parquet(w / f"measured-{part:05d}.parquet", index=False)  # as the study stores it
    return measure_partials(out, vectors, MeasureConfig.model_validate(measures))


_MEASURED = ["sentence_id", "doc_id", "source", "paragraph", "text", "is_body", "theme", "also_themes", "tone"]


class Partitions:
    """The measured partitions of a work folder, read one at a time: ``parts[q]`` is
    ``(sentences, vectors)`` of partition q (only the columns the candidates need; the vectors
    memory-mapped)."""

    def __init__(self, work: str, n: int):
        self.work, self.n = Path(work), n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, q: int) -> tuple[pd.DataFrame, np.ndarray]:
        sentences = pd.read_parquet(self.work / f"measured-{q:05d}.parquet", columns=_MEASURED)
        return sentences, np.load(self.work / f"vectors-{q:05d}.npy", mmap_mode="r", allow_pickle=False)


def candidates(work: str, part: int, n_parts: int, measures: dict, centroids: dict, limit: int) -> dict:
    """Exemplar and contrast-pair candidates of one partition (``framing.candidate_partials``)."""
    from framescope.framing import candidate_partials

    parts = Partitions(work, n_parts)
    sentences, vectors = parts[part]
    return candidate_partials(sentences, np.asarray(vectors), MeasureConfig.model_validate(measures), centroids,
                              parts, limit)


def sentence_texts(work: str, part: int, ids: list[str]) -> pd.DataFrame:
    """``sentence_id, text`` of the given sentences of one partition."""
    df = pd.read_parquet(Path(work) / f"measured-{part:05d}.parquet", columns=["sentence_id", "text"])
    return df[df["sentence_id"].isin(ids)].reset_index(drop=True)


# --------------------------------------------------------------------------- client side

def _client(cfg: RunConfig):
    """(client, cluster or None): connect to ``cfg.scheduler``, else start a loopback LocalCluster."""
    from dask.distributed import Client, LocalCluster

    if cfg.scheduler:
        try:
            return Client(cfg.scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as e:
            raise InputError(f"cannot reach the dask scheduler at {cfg.scheduler}: {e}") from None
    n = max(1, min(os.cpu_count() or 1, 8))
    quiet = "DASK_LOGGING__DISTRIBUTED" not in os.environ
    if quiet:  # the worker processes read their log level from the environment they inherit
        os.environ["DASK_LOGGING__DISTRIBUTED"] = "error"
    try:
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.ERROR)
    finally:
        if quiet:
            del os.environ["DASK_LOGGING__DISTRIBUTED"]
    return Client(cluster), cluster


def run_dask(cfg: RunConfig, progress=False) -> Path:
    """Run a whole study on a dask.distributed cluster; same folder and tables as ``pipeline.run``."""
    from framescope.corpus import load_documents
    from framescope.framing import (
        body_theme_counts, contrast_ids, measure_tables, settle_candidates, stack, study_centroids, with_texts,
    )
    from framescope.pipeline import (
        _progress_fn, corpus_partitions, embedder_for, fit_sample_documents, fit_themes, fitted_rows, load_inputs,
        resolve_out, themes_for_corpus, timed, write_study,
    )

    if cfg.embed.model.strip() == "tfidf":
        raise InputError("the tfidf embedder learns from the whole corpus, so it cannot run per partition; "
                         "use --embedder minilm or wordllama with --engine dask")
    report = _progress_fn(progress)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    timings: dict[str, float] = {}
    embed = cfg.embed.model_dump(mode="json")
    measures = cfg.measures.model_dump(mode="json")
    out = resolve_out(cfg.out)
    given = os.environ.get("FRAMESCOPE_DASK_DIR")
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=given or out.parent, prefix=f".{out.name}.staging-dask-"))
    client, cluster = None, None
    import distributed  # noqa: F401  (configures its loggers on import: set their level after)

    dlog = logging.getLogger("distributed")
    dlog_level = dlog.level
    dlog.setLevel(logging.WARNING if progress else logging.ERROR)  # its INFO chatter is not ours
    try:
        with timed(timings, "ingest", report):
            inputs, codebook, codebook_path, frames = load_inputs(cfg)
            documents = load_documents([str(p) for p in inputs], cfg.ingest)
            client, cluster = _client(cfg)
            n_workers = max(1, len(client.scheduler_info()["workers"]))
            bounds = corpus_partitions(documents)
            for i, (a, b) in enumerate(bounds):
                documents.iloc[a:b].to_parquet(work / f"documents-{i:05d}.parquet", index=False)
        parts = list(range(len(bounds)))

        with timed(timings, "embed", report):  # segmentation and embedding, per partition
            doc_body = pd.concat(client.gather(client.map(
                segment_and_embed, [str(work)] * len(parts), parts, [embed] * len(parts), pure=False)))
            if int(doc_body.sum()) < 2:
                raise InputError("the corpus has fewer than 2 body sentences: nothing to compare")

        with timed(timings, "themes", report):
            sample_docs = fit_sample_documents(doc_body, cfg.themes.fit_sample, cfg.themes.seed)
            holders = [i for i, (a, b) in enumerate(bounds)
                       if documents["doc_id"].iloc[a:b].isin(sample_docs).any()]
            got = client.gather(client.map(sample_rows, [str(work)] * len(holders), holders,
                                           [sample_docs] * len(holders), pure=False))
            sample = pd.concat([s for s, _ in got], ignore_index=True)
            embedder = embedder_for(cfg.embed)
            model = fit_themes(cfg, sample, np.concatenate([v for _, v in got]), codebook, embedder)
            model.save(work / "model")
            by_part = [fitted_rows(model, sample, documents["doc_id"].iloc[a:b]) for a, b in bounds]

        with timed(timings, "sentence measures", report):
            partials = client.gather(client.map(
                assign_and_measure, [str(work)] * len(parts), parts, [str(work / "model")] * len(parts),
                by_part, [sample_docs] * len(parts), [embed] * len(parts), [frames] * len(parts),
                [measures] * len(parts), pure=False))
            counts = {"sentences": sum(p["n_sentences"] for p in partials),
                      "body_sentences": sum(p["n_body"] for p in partials)}
            themes, notes = themes_for_corpus(model, None, int(doc_body.loc[sample_docs].sum()),
                                              counts["body_sentences"], counts=body_theme_counts(partials))

        with timed(timings, "emphasis", report):  # and the other tables combined from per-partition counts
            tables = measure_tables(partials, cfg.measures, frames, documents, notes)

        with timed(timings, "framing", report):  # exemplars and contrast pairs from per-partition candidates
            centroids = study_centroids(partials)
            exemplars, contrasts = settle_candidates(lambda limit: client.gather(client.map(
                candidates, [str(work)] * len(parts), parts, [len(parts)] * len(parts), [measures] * len(parts),
                [centroids] * len(parts), [limit] * len(parts), pure=False)), cfg.measures)
            ids = contrast_ids(contrasts)
            texts = stack(client.gather(client.map(sentence_texts, [str(work)] * len(parts), parts,
                                                   [ids] * len(parts), pure=False)))
            contrasts = with_texts(contrasts, pd.Series(texts["text"].to_numpy(dtype=object),
                                                        index=texts["sentence_id"].to_numpy()))
            tables.update(exemplars=exemplars, contrasts=contrasts)
        info = {"scheduler": client.scheduler.address, "workers": n_workers, "partitions": len(parts)}
        return write_study(cfg, documents=documents,
                           sentence_parts=[work / f"measured-{i:05d}.parquet" for i in parts], themes=themes,
                           tables=tables, model=model, notes=notes, frames=frames, embedder=embedder,
                           inputs=inputs, codebook_path=codebook_path, timings=timings, report=report,
                           started=started, engine_info=info, counts=counts)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        dlog.setLevel(dlog_level)
        if not os.environ.get("FRAMESCOPE_KEEP_PARTITIONS"):
            shutil.rmtree(work, ignore_errors=True)
