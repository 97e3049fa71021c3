"""The stage functions both executors run, in the order the stage sequence calls them
(:func:`framescope.engines.pipeline.run_stages`).

Partitions: runs of whole documents (:func:`corpus_partitions`) that depend on the corpus
alone, so both executors give every embedding batch the same rows; per-sentence products are
row-exact (``encoders.row_dot``), so the partitions change no score. Themes:
the model is fitted on a sample of whole documents (``themes.sample.fit_sample_documents``,
:func:`fit_themes`); every other sentence gets the fitted model's theme
(:func:`assign_themes`), partition by partition (:func:`theme_and_measure`, which also scores
tone, frames and voice, :func:`sentence_measures`; the local engine scores the tone and finds
the voices of the whole corpus at once, :func:`with_tone`, :func:`with_voices`). :func:`themes_for_corpus` counts the
themes over the whole corpus.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from framescope.config import RunConfig
from framescope.numba_cache import enable_numba_cache
from framescope.themes.codebook import UNASSIGNED

PARTITION_CHARS = 2_000_000  # ~13k sentences of news prose per partition
MIN_PARTITIONS = 16  # 2 x the local cluster's cap of 8 workers, so that every worker gets work
MIN_SPLIT_CHARS = 250_000  # below this (~1,700 sentences) a corpus stays in one partition


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
    (``FRAMESCOPE_PARTITION_CHARS`` overrides it), and at least ``MIN_PARTITIONS`` (as many as
    there are documents, if fewer) once the corpus has ``MIN_SPLIT_CHARS``, so that each worker
    of a cluster gets work. They depend on the corpus alone, not on the engine or the number of
    workers, so both engines embed every partition in the same batches. The tables do not depend
    on the partitions otherwise: every per-sentence product is row-exact (``encoders.row_dot``)."""
    size = int(os.environ.get("FRAMESCOPE_PARTITION_CHARS") or PARTITION_CHARS)
    total = int(documents["n_chars"].sum()) if len(documents) else 0
    n_parts = max(1, -(-total // max(1, size)))
    if total >= MIN_SPLIT_CHARS:
        n_parts = max(n_parts, MIN_PARTITIONS)
    return partition_bounds(documents["n_chars"].to_numpy(), n_parts)


def body_per_document(sentences: pd.DataFrame) -> pd.Series:
    """Body sentences per ``doc_id`` (documents without any keep a 0)."""
    body = sentences["is_body"].to_numpy(bool)
    return pd.Series(body).groupby(sentences["doc_id"].to_numpy()).sum().astype("int64")


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


def fit_themes(cfg: RunConfig, sample: pd.DataFrame, vectors: np.ndarray, codebook, embedder,
               labels: pd.DataFrame | None = None, reused: list | None = None):
    """Fit the theme model on the sample's sentences (with their vectors, and the researcher's
    ``labels`` of ``run --labels`` if any); return the model. With ``embed.cache`` on, a fit of
    exactly these inputs by this code on this machine is taken from the cache (``framescope.reuse``;
    its name is appended to ``reused``) and a new fit is stored there (unless ``reuse`` is off)."""
    from framescope import reuse
    from framescope.themes import ThemeModel
    from framescope.themes.io import load_fit, save_fit

    sample = sample.reset_index(drop=True)
    k = fit_key(cfg, sample, vectors, codebook, embedder, labels) if reuses(cfg) else None
    entry = reuse.lookup("theme_fit", k) if k else None
    if entry is not None:
        try:
            model = load_fit(ThemeModel, entry)
        except Exception as e:  # noqa: BLE001 — an unreadable entry is refitted, never fatal
            reuse.log.warning("cached theme fit %s unreadable (%s); fitting again", k[:12], e)
        else:
            if reused is not None:
                reused.append(f"theme fit {k[:16]}")
            return model
    enable_numba_cache()
    model = ThemeModel(cfg.themes).fit(sample, vectors, codebook, embedder, labels=labels)
    if k:
        reuse.store("theme_fit", k, lambda folder: save_fit(model, folder))
    return model


def split_sentences(documents: pd.DataFrame, workers: int | None, reuse: bool) -> pd.DataFrame:
    """``ingest.segment.sentence_table`` of the documents, each distinct document text split once;
    with ``reuse``, texts an earlier run split (same code and library versions, pysbd's among them:
    ``reuse.code_fingerprint``) are taken from the cache
    folder's records (``framescope.reuse``, kind ``sentences``, keyed by the text's sha256: offsets
    and kinds, no text) and new ones kept there, so a re-run splits only the documents whose text
    changed. Counted in ``reuse.COMPUTED``."""
    from framescope import reuse as kept
    from framescope.ingest.segment import document_records, sentence_table

    texts = documents["text"].tolist()
    found = kept.per_text("sentences", {"splitter": "pysbd"}, texts, lambda todo: document_records(todo, workers),
                          reuse)
    return sentence_table(documents, workers, records=[found[t] for t in texts])


def reuses(cfg: RunConfig) -> bool:
    """Whether a run takes results from the cache folder and keeps its own there."""
    return bool(cfg.embed.cache and cfg.reuse)


def fit_key(cfg: RunConfig, sample: pd.DataFrame, vectors: np.ndarray, codebook, embedder,
            labels: pd.DataFrame | None) -> str:
    """The theme fit's cache key: everything :meth:`ThemeModel.fit` reads (``framescope.reuse``)."""
    from framescope import reuse

    return reuse.key("theme_fit", {
        "themes": cfg.themes.model_dump(mode="json"),
        "embed": cfg.embed.model_dump(mode="json"),  # the vectors are in the key too; this is belt and braces
        "codebook": codebook.model_dump(mode="json", by_alias=True) if codebook is not None else None,
        "embedder": [getattr(embedder, a, None) for a in ("name", "model_id", "weights_sha256", "cache_tag")],
        "sentences": reuse.frame_digest(sample),
        "vectors": reuse.array_digest(np.asarray(vectors)),
        "labels": reuse.frame_digest(labels),
    })


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


def fitted_rows(model, sample: pd.DataFrame, doc_ids) -> pd.DataFrame:
    """The fit's own assignment rows for the sample sentences of the given documents."""
    return model.assign_[sample["doc_id"].isin(list(doc_ids)).to_numpy()].reset_index(drop=True)


def theme_and_measure(model, fitted: pd.DataFrame, sentences: pd.DataFrame, vectors: np.ndarray,
                      sample_docs: list[str], embedder, frames, cache: bool = True,
                      voices: bool = True, tone: bool = True) -> pd.DataFrame:
    """One partition's sentences with their theme (see :func:`assign_themes`), tone (with
    ``tone``), frames and (with ``voices``) voice."""
    in_sample = sentences["doc_id"].isin(sample_docs).to_numpy()
    assign = assign_themes(model, fitted, sentences, vectors, in_sample, embedder)
    sentences = sentences.merge(assign, on="sentence_id", how="left", validate="one_to_one")
    return sentence_measures(sentences, vectors, embedder, frames, cache, voices, tone)


def sentence_measures(sentences: pd.DataFrame, vectors: np.ndarray, embedder, frames, cache: bool = True,
                      voices: bool = True, tone: bool = True) -> pd.DataFrame:
    """Tone (with ``tone``; else a ``tone`` column of NaN in its place, for :func:`with_tone`),
    frame scores and (with ``voices``) voice of each sentence (row- or document-local, so
    partitionable); ``cache`` (``embed.cache``): reuse spaCy's findings and VADER's scores per
    sentence."""
    from framescope.measures.frames import frame_scores
    from framescope.measures.tone import tone_scores

    sentences = sentences.copy()
    sentences["tone"] = tone_scores(sentences, cache) if tone else np.nan
    scores = frame_scores(sentences, vectors, embedder, frames)
    sentences = pd.concat([sentences, scores.set_index(sentences.index)], axis=1)
    return with_voices(sentences, cache) if voices else sentences


def with_tone(sentences: pd.DataFrame, cache: bool = True, workers: int | None = 1) -> pd.DataFrame:
    """The sentences with their ``tone`` column filled in place (``tone.tone_scores``). Tone is
    sentence-local, so the local engine scores the whole corpus at once: each distinct text once,
    over ``workers`` processes (the same scores for any number)."""
    from framescope.measures.tone import tone_scores

    return sentences.assign(tone=tone_scores(sentences, cache, workers).to_numpy())


def with_voices(sentences: pd.DataFrame, cache: bool = True, workers: int | None = 1) -> pd.DataFrame:
    """The sentences with their voice columns (``voices.voice_frame``) added last. Voices are
    document-local, so whole documents may be measured together or apart with the same result;
    the local engine measures the whole corpus at once so that spaCy's parse fills ``workers``
    processes (the same findings for any number, and in any batches: ``speakers.parse_speakers``)."""
    from framescope.measures.voices import voice_frame

    found = voice_frame(sentences, cache, workers)
    return sentences.assign(**{col: found[col].to_numpy() for col in found.columns})


def themes_for_corpus(model, assigned: pd.Series | None, n_sample: int, n_all: int,
                      counts: pd.Series | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The fitted themes table with ``n_sentences`` counted over the whole corpus (the body
    sentences' themes ``assigned``, or their ``counts`` per theme), and the run notes (the
    fit's own, plus one saying the model was fitted on a sample)."""
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
