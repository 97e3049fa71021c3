"""Config -> stages in order -> one study folder of tables plus manifest.json.

The stages are pure functions over tidy tables (see docs/artifacts.md); this module only
orders them, times them, and writes their results atomically. Two engines run the same
stages: ``local`` (this process) and ``dask`` (``framescope.distributed``, the same work on a
dask.distributed cluster). Both cut the corpus into the same partitions of whole documents
(:func:`corpus_partitions`), segment, embed, assign themes and score sentences partition by
partition with the same functions, fit the theme model on the same sample of documents
(:func:`fit_sample_documents`), compute every table from per-partition partials combined in
partition order (``framing.measure_partials``/``measure_tables``, see :func:`finish_study`) and
write the study with :func:`write_study`; so on one machine they write the same study, down to
the last bit of every float (across machines, see docs/artifacts.md, "Precision").
"""
from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import yaml

from framescope.artifacts import (
    package_versions, sha256_file, sha256_text, staging_dir, stored, write_json, write_table,
)
from framescope.config import SEED_ROOT, RunConfig
from framescope.errors import InputError

log = logging.getLogger("framescope")
Progress = Callable[[str, float], None]
STAGES = ("ingest", "embed", "themes", "sentence measures", "emphasis", "framing", "write")
# umap-learn's numba modules: none of their functions asks for numba's disk cache. (pynndescent
# chooses cache=True or cache=False function by function, so it is left as its authors set it.)
_UNCACHED_NUMBA = ("umap.umap_", "umap.layouts", "umap.distances", "umap.spectral", "umap.utils", "umap.sparse")
_numba_cache_on = False


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


def input_hashes(paths: list[Path]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in paths:
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            out[str(f)] = sha256_file(f)
    return out


def enable_numba_cache() -> int:
    """Let UMAP's numba functions keep their machine code on disk.

    umap-learn declares its ``@njit`` functions without ``cache=True``, so every new process
    spends ~10 s of CPU compiling them before the first fit. Turning numba's own cache on for
    them (before their first call) makes the next process load the compiled code instead. The
    cache lives where numba puts it: ``NUMBA_CACHE_DIR`` if set, else ``__pycache__`` beside the
    package (or the user cache folder when that is read-only); it is keyed by source file,
    signature and CPU, so a library upgrade recompiles. hdbscan is Cython: nothing to compile.
    pynndescent's NNDescent (which UMAP would use from 4,096 points) cannot be cached this way
    (its functions take the distance function as an argument), so ``theme_discovery._umap``
    gives UMAP an exact neighbour graph there instead (docs/performance.md).
    ``FRAMESCOPE_NUMBA_CACHE=0`` turns this off. Returns the number of functions switched on.
    """
    global _numba_cache_on
    if _numba_cache_on or os.environ.get("FRAMESCOPE_NUMBA_CACHE", "1") == "0":
        return 0
    import importlib

    from numba.core.dispatcher import Dispatcher

    n = 0
    for name in _UNCACHED_NUMBA:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        for obj in vars(mod).values():
            cache = getattr(obj, "_cache", None)
            if isinstance(obj, Dispatcher) and type(cache).__name__ == "NullCache" and not obj.overloads:
                obj.enable_caching()
                n += 1
    _numba_cache_on = True
    return n


_EMBEDDERS: dict[str, object] = {}


def embedder_for(cfg) -> object:
    """``embed.get_embedder(cfg)``, kept for the life of the process (a second run in the same
    process, e.g. from the app, skips loading and hashing the weights again). The ``tfidf``
    embedder learns from its corpus, so it is made anew for every run."""
    from framescope.embed import get_embedder

    key = f"{cfg.model.strip()}|{cfg.batch_size}"
    if cfg.model.strip() == "tfidf":
        return get_embedder(cfg)
    if key not in _EMBEDDERS:
        _EMBEDDERS.clear()  # one model in memory at a time
        _EMBEDDERS[key] = get_embedder(cfg)
    return _EMBEDDERS[key]


def _progress_fn(progress: bool | Progress) -> Progress:
    if callable(progress):
        return progress
    if progress:
        return lambda stage, frac: log.info("[%3.0f%%] %s", 100 * frac, stage)
    return lambda stage, frac: None


@contextmanager
def timed(timings: dict[str, float], name: str, report: Progress) -> Iterator[None]:
    report(name, STAGES.index(name) / len(STAGES))
    t0 = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - t0, 3)


# --------------------------------------------------------------------------- shared by both engines

def load_inputs(cfg: RunConfig):
    """Resolved input paths, codebook (or None), its path, and the frames file."""
    from framescope.framing import load_frames
    from framescope.themes import load_codebook

    inputs = [resolve_path(p) for p in cfg.inputs]
    if not inputs:
        raise InputError("no inputs: give at least one corpus PATH")
    codebook_path = resolve_path(cfg.themes.codebook) if cfg.themes.codebook else None
    frames_path = resolve_path(cfg.measures.frames) if cfg.measures.frames else None
    codebook = load_codebook(codebook_path) if codebook_path else None
    return inputs, codebook, codebook_path, load_frames(frames_path)


PARTITION_CHARS = 2_000_000  # ~13k sentences of news prose per partition


def partition_bounds(n_chars: np.ndarray, n_parts: int) -> list[tuple[int, int]]:
    """Contiguous document ranges [a, b) of about equal text length, none empty."""
    n = len(n_chars)
    if n == 0:
        return []
    n_parts = max(1, min(n_parts, n))
    cum = np.cumsum(np.asarray(n_chars, dtype=float))
    cuts = np.searchsorted(cum, cum[-1] * np.arange(1, n_parts) / n_parts, side="right")
    edges = sorted({0, *np.clip(cuts, 1, n - 1).tolist(), n})
    return list(zip(edges[:-1], edges[1:]))


def corpus_partitions(documents: pd.DataFrame) -> list[tuple[int, int]]:
    """The corpus's partitions: runs of whole documents of about ``PARTITION_CHARS`` characters
    (``FRAMESCOPE_PARTITION_CHARS`` overrides it). They depend on the corpus alone, not on the
    engine or the number of workers, so every matrix product sees the same rows in both engines."""
    size = int(os.environ.get("FRAMESCOPE_PARTITION_CHARS") or PARTITION_CHARS)
    total = int(documents["n_chars"].sum()) if len(documents) else 0
    return partition_bounds(documents["n_chars"].to_numpy(), max(1, -(-total // max(1, size))))


def body_per_document(sentences: pd.DataFrame) -> pd.Series:
    """Body sentences per ``doc_id`` (documents without any keep a 0)."""
    body = sentences["is_body"].to_numpy(bool)
    return pd.Series(body).groupby(sentences["doc_id"].to_numpy()).sum().astype("int64")


def theme_and_measure(model, fitted: pd.DataFrame, sentences: pd.DataFrame, vectors: np.ndarray,
                      sample_docs: list[str], embedder, frames) -> pd.DataFrame:
    """One partition's sentences with their theme (see :func:`assign_themes`), tone, frames, voice."""
    in_sample = sentences["doc_id"].isin(sample_docs).to_numpy()
    assign = assign_themes(model, fitted, sentences, vectors, in_sample, embedder)
    sentences = sentences.merge(assign, on="sentence_id", how="left", validate="one_to_one")
    return sentence_measures(sentences, vectors, embedder, frames)


def fitted_rows(model, sample: pd.DataFrame, doc_ids) -> pd.DataFrame:
    """The fit's own assignment rows for the sample sentences of the given documents."""
    return model.assign_[sample["doc_id"].isin(list(doc_ids)).to_numpy()].reset_index(drop=True)


def fit_sample_documents(doc_body: pd.Series, n: int | None, seed: int) -> list[str]:
    """The documents the theme model is fitted on: all of them when their body sentences number
    at most ``n`` (or ``n`` is None), else whole documents in a seeded random order until they
    hold at least ``n`` body sentences. ``doc_body`` is body sentences per ``doc_id``.

    Whole documents keep each sentence's context (neighbours, acronyms) as in the full run.
    Both engines call this on the same counts, so they fit on the same sentences.
    """
    doc_body = doc_body.sort_index()
    if n is None or int(doc_body.sum()) <= n:
        return list(doc_body.index)
    order = np.random.default_rng(seed).permutation(len(doc_body))
    cum = np.cumsum(doc_body.to_numpy()[order])
    k = int(np.searchsorted(cum, n)) + 1
    return sorted(doc_body.index[order[:k]])


def fit_themes(cfg: RunConfig, sample: pd.DataFrame, vectors: np.ndarray, codebook, embedder):
    """Fit the theme model on the sample's sentences (with their vectors); return the model."""
    from framescope.themes import ThemeModel

    enable_numba_cache()
    return ThemeModel(cfg.themes).fit(sample.reset_index(drop=True), vectors, codebook, embedder)


def assign_themes(model, fitted: pd.DataFrame, sentences: pd.DataFrame, vectors: np.ndarray,
                  in_sample: np.ndarray, embedder) -> pd.DataFrame:
    """``sentence_id, theme, theme_score, x, y, also_themes`` for ``sentences``: the fit's own assignment
    (``fitted``, rows of ``model.assign_``) for sentences of the sample, the fitted model's
    ``transform`` for the rest (row by row, so any split of the rows into partitions gives the
    same answer)."""
    parts = []
    if in_sample.any():
        ids = sentences["sentence_id"].to_numpy()[in_sample]
        parts.append(fitted.set_index("sentence_id").loc[ids].reset_index())
    if (~in_sample).any():
        rest = sentences[~in_sample]
        parts.append(model.transform(rest, vectors[~in_sample], embedder))
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    order = pd.Series(np.arange(len(sentences)), index=sentences["sentence_id"].to_numpy())
    return out.iloc[np.argsort(order.loc[out["sentence_id"]].to_numpy(), kind="stable")].reset_index(drop=True)


def themes_for_corpus(model, assigned: pd.Series | None, n_sample: int, n_all: int,
                      counts: pd.Series | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The fitted themes table with ``n_sentences`` counted over the whole corpus (the body
    sentences' themes ``assigned``, or their ``counts`` per theme), and the run notes (the
    fit's own, plus one saying the model was fitted on a sample)."""
    from framescope.themes.codebook import UNASSIGNED

    themes = model.themes_.copy()
    if counts is None:
        counts = assigned.dropna().astype(str).value_counts()
    if counts.get(UNASSIGNED, 0) and UNASSIGNED not in set(themes["theme"]):
        themes = pd.concat([themes, pd.DataFrame([{
            "theme": UNASSIGNED, "label": "Unassigned", "keywords": [], "n_sentences": 0, "named": False,
            "description": "Body sentences that fit no named theme and no discovered topic."}])], ignore_index=True)
    themes["n_sentences"] = themes["theme"].map(counts).fillna(0).astype("int64")
    notes = list(getattr(model, "notes_", []))
    if n_sample < n_all:
        notes.append(f"the theme model was fitted on {n_sample:,} of {n_all:,} body sentences (whole documents "
                     "drawn at random, themes.fit_sample); the rest were assigned by the fitted model")
    return themes, notes


def sentence_measures(sentences: pd.DataFrame, vectors: np.ndarray, embedder, frames) -> pd.DataFrame:
    """Tone, frame scores and voice of each sentence (row- or document-local, so partitionable)."""
    from framescope.framing import frame_scores, tone_scores, voices

    sentences = sentences.copy()
    sentences["tone"] = tone_scores(sentences)
    scores = frame_scores(sentences, vectors, embedder, frames)
    sentences = pd.concat([sentences, scores.set_index(sentences.index)], axis=1)
    sentences["voice"] = voices(sentences)
    return sentences


def partition_rows(sentences: pd.DataFrame, documents: pd.DataFrame) -> list[np.ndarray]:
    """Row numbers of ``sentences`` in each corpus partition (:func:`corpus_partitions`)."""
    if documents is not None and len(documents) and "n_chars" not in documents.columns:
        documents = documents.assign(n_chars=documents["text"].fillna("").astype(str).str.len())
    bounds = corpus_partitions(documents) if documents is not None and len(documents) else []
    if len(bounds) < 2:
        return [np.arange(len(sentences))]
    part = np.repeat(np.arange(len(bounds)), [b - a for a, b in bounds])
    doc_part = pd.Series(part, index=documents["doc_id"].astype(str).to_numpy())
    doc_part = doc_part[~doc_part.index.duplicated()]
    where = sentences["doc_id"].astype(str).map(doc_part).fillna(len(bounds) - 1).to_numpy(int)
    return [np.flatnonzero(where == i) for i in range(len(bounds))]


class RowPartitions:
    """``(sentences, vectors)`` of each partition of an in-memory table, cut on access (a run of
    rows is a view, not a copy)."""

    def __init__(self, sentences: pd.DataFrame, vectors: np.ndarray, rows: list[np.ndarray]):
        self.sentences, self.vectors = sentences, vectors
        self.rows = [slice(int(r[0]), int(r[-1]) + 1) if len(r) and r[-1] - r[0] + 1 == len(r) else r for r in rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, q: int) -> tuple[pd.DataFrame, np.ndarray]:
        r = self.rows[q]
        return self.sentences.iloc[r].reset_index(drop=True), self.vectors[r]

    def __iter__(self):
        return (self[q] for q in range(len(self)))


def write_sentence_parts(parts: list, path: Path) -> None:
    """Write the sentences table from its partitions in order (DataFrames, or Parquet files already
    at their stored precision), one partition in memory at a time; column types are unified across partitions (a column that is
    empty in one partition takes its type from the others)."""
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


def finish_study(cfg: RunConfig, *, documents, sentences, vectors, themes, model, notes, frames, embedder,
                 inputs, codebook_path, timings, report, started, engine_info: dict | None = None) -> Path:
    """Emphasis and framing tables from the themed sentences, then the study written atomically.

    The tables are combined from partials computed partition by partition
    (``framing.measure_partials``, ``framing.candidate_partials``), exactly as the dask engine
    computes them on its workers, so both engines write the same tables.
    """
    from framescope.framing import (
        candidate_partials, contrast_ids, measure_partials, measure_tables, settle_candidates,
        study_centroids, with_texts,
    )

    m = cfg.measures
    parts = RowPartitions(sentences, vectors, partition_rows(sentences, documents))
    with timed(timings, "emphasis", report):
        partials = [measure_partials(s, v, m) for s, v in parts]
        tables = measure_tables(partials, m, frames, documents, notes)

    with timed(timings, "framing", report):
        centroids = study_centroids(partials)
        exemplars, contrasts = settle_candidates(
            lambda limit: [candidate_partials(s, v, m, centroids, parts, limit) for s, v in parts], m)
        ids = contrast_ids(contrasts)
        texts = sentences.loc[sentences["sentence_id"].isin(ids), ["sentence_id", "text"]]
        contrasts = with_texts(contrasts, pd.Series(texts["text"].to_numpy(dtype=object), index=texts["sentence_id"].to_numpy()))
        tables.update(exemplars=exemplars, contrasts=contrasts)
    counts = {"sentences": len(sentences), "body_sentences": int(sentences["is_body"].sum())}
    return write_study(cfg, documents=documents, sentence_parts=[sentences], themes=themes, tables=tables,
                       model=model, notes=notes, frames=frames, embedder=embedder, inputs=inputs,
                       codebook_path=codebook_path, timings=timings, report=report, started=started,
                       engine_info=engine_info, counts=counts)


def write_study(cfg: RunConfig, *, documents, sentence_parts: list, themes, tables: dict, model, notes, frames,
                embedder, inputs, codebook_path, timings, report, started, engine_info: dict | None,
                counts: dict) -> Path:
    """Write the study folder atomically: the tables, the sentences (:func:`write_sentence_parts`),
    the model, the codebook and the manifest."""
    out = resolve_out(cfg.out)
    with timed(timings, "write", report):
        with staging_dir(out) as tmp:
            write_sentence_parts(sentence_parts, tmp / "sentences.parquet")
            all_tables = {"documents": documents, "themes": themes, **tables}
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
                "engine": {"name": cfg.engine, **(engine_info or {})},
                "counts": {"documents": len(documents), "sentences": counts["sentences"],
                           "body_sentences": counts["body_sentences"],
                           "sources": int(documents["source"].nunique()), "themes": len(themes)},
                "notes": notes,
            }
            write_json(manifest, tmp / "manifest.json")
    report("done", 1.0)
    return out


# --------------------------------------------------------------------------- the local engine

def run(cfg: RunConfig, progress: bool | Progress = False) -> Path:
    """Run a whole study and return its folder."""
    if cfg.engine == "dask":
        from framescope.distributed import run_dask

        return run_dask(cfg, progress)
    from framescope.corpus import load_documents
    from framescope.embed import sentence_vectors
    from framescope.segment import sentence_table

    report = _progress_fn(progress)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    timings: dict[str, float] = {}

    with timed(timings, "ingest", report):  # documents, then sentences partition by partition
        inputs, codebook, codebook_path, frames = load_inputs(cfg)
        documents = load_documents([str(p) for p in inputs], cfg.ingest)
        parts = [documents.iloc[a:b] for a, b in corpus_partitions(documents)]
        part_sentences = [sentence_table(p) for p in parts]
        doc_body = pd.concat([body_per_document(s) for s in part_sentences])
        if int(doc_body.sum()) < 2:
            raise InputError("the corpus has fewer than 2 body sentences: nothing to compare")

    with timed(timings, "embed", report):
        embedder = embedder_for(cfg.embed)
        done = [(s, sentence_vectors(s, embedder, cfg.embed)) for s in part_sentences]

    with timed(timings, "themes", report):
        sample_docs = fit_sample_documents(doc_body, cfg.themes.fit_sample, cfg.themes.seed)
        picked = [(s["doc_id"].isin(sample_docs).to_numpy(), s, v) for s, v in done]
        sample = pd.concat([s[k] for k, s, _ in picked], ignore_index=True)
        model = fit_themes(cfg, sample, np.concatenate([v[k] for k, _, v in picked]), codebook, embedder)

    with timed(timings, "sentence measures", report):  # themes assigned, tone, frames, voices
        sentences = pd.concat([theme_and_measure(model, fitted_rows(model, sample, p["doc_id"]), s, v,
                                                 sample_docs, embedder, frames)
                               for p, (s, v) in zip(parts, done)], ignore_index=True)
        vectors = np.concatenate([v for _, v in done])
        body = sentences["is_body"].to_numpy(bool)
        themes, notes = themes_for_corpus(model, sentences.loc[body, "theme"],
                                          int(doc_body.loc[sample_docs].sum()), int(body.sum()))

    return finish_study(cfg, documents=documents, sentences=sentences, vectors=vectors, themes=themes,
                        model=model, notes=notes, frames=frames, embedder=embedder, inputs=inputs,
                        codebook_path=codebook_path, timings=timings, report=report, started=started,
                        engine_info={"partitions": len(parts)})
