"""The local executor: every partition's work runs in this process, one partition after another.

It implements the executor steps the stage sequence calls
(:func:`framescope.engines.pipeline.run_stages`); the dask executor
(:mod:`framescope.engines.distributed`) implements the same steps on a cluster.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from framescope.embed.vectors import sentence_vectors
from framescope.engines.stages import (
    body_per_document, fitted_rows, partition_rows, reuses, split_sentences, theme_and_measure, with_tone,
    with_voices,
)
from framescope.engines.study import StudyRun
from framescope.measures.framing import MentionPartitions, candidate_partials, measure_partials


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


class LocalExecutor:
    """The executor steps, run in this process. After :meth:`measure` (or when made with
    :meth:`from_sentences`) it holds the themed sentences and their vectors in memory."""

    def __init__(self, workers: int | None = None):
        self.workers = workers  # processes that split sentences and parse them (``IngestConfig.workers``)
        self.segmented: Counter = Counter()  # documents this run split into sentences (``segment``)
        self.all_documents: pd.DataFrame | None = None
        self.documents: list[pd.DataFrame] = []
        self.sentences: list[pd.DataFrame] = []
        self.vectors: list[np.ndarray] = []
        self.parts: RowPartitions | None = None
        self.info: dict = {}

    @classmethod
    def from_sentences(cls, documents: pd.DataFrame, sentences: pd.DataFrame, vectors: np.ndarray) -> LocalExecutor:
        """An executor over sentences already themed and scored (the measures of a study whose
        earlier stages ran elsewhere, as in ``research/03_measures.py``)."""
        ex = cls()
        ex._themed(documents, sentences, vectors)
        return ex

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def segment(self, documents: pd.DataFrame, bounds: list[tuple[int, int]], reuse: bool = False) -> list[pd.Series]:
        """Each partition's sentences (``sentence_table`` of its documents; with ``reuse``, texts
        an earlier run split are taken from the cache folder); returns body sentences per
        document, partition by partition."""
        from framescope.reuse import counting

        self.all_documents = documents
        self.documents = [documents.iloc[a:b] for a, b in bounds]
        with counting() as computed:
            self.sentences = [split_sentences(d, self.workers, reuse) for d in self.documents]
        self.info = {"partitions": len(bounds)}
        self.segmented = computed
        return [body_per_document(s) for s in self.sentences]

    def embed(self, study: StudyRun) -> None:
        embedder = study.load_embedder()
        self.vectors = [sentence_vectors(s, embedder, study.cfg.embed) for s in self.sentences]

    def sample(self, doc_ids: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
        """The sentences of the given documents, with their vectors, in partition order."""
        picked = [(s["doc_id"].isin(doc_ids).to_numpy(), s, v) for s, v in zip(self.sentences, self.vectors)]
        return (pd.concat([s[k] for k, s, _ in picked], ignore_index=True),
                np.concatenate([v[k] for k, _, v in picked]))

    def measure(self, study: StudyRun, model, sample: pd.DataFrame, sample_docs: list[str]) -> list[dict]:
        """Themes, tone, frames and voice of every partition's sentences; returns the partials
        of the study's measures (``framing.measure_partials``), one per partition."""
        from framescope.reuse import counting

        with counting() as computed:
            themed = [theme_and_measure(model, fitted_rows(model, sample, d["doc_id"]), s, v, sample_docs,
                                        study.embedder, study.frames, reuses(study.cfg), voices=False, tone=False)
                      for d, s, v in zip(self.documents, self.sentences, self.vectors)]
            # tone and voices over the whole corpus at once: each distinct text once, on every process
            themed = with_tone(pd.concat(themed, ignore_index=True), reuses(study.cfg), self.workers)
            themed = with_voices(themed, reuses(study.cfg), self.workers)
        self.info["computed"] = dict(sorted((computed + self.segmented).items()))
        self._themed(self.all_documents, themed, np.concatenate(self.vectors))
        return self.partials(study)

    def _themed(self, documents: pd.DataFrame, sentences: pd.DataFrame, vectors: np.ndarray) -> None:
        self.all_sentences, self.all_vectors = sentences, vectors
        self.parts = RowPartitions(sentences, vectors, partition_rows(sentences, documents))

    def partials(self, study: StudyRun) -> list[dict]:
        return [measure_partials(s, v, study.cfg.measures) for s, v in self.parts]

    def candidates(self, study: StudyRun, centroids: dict, limit: int) -> list[dict]:
        """Exemplar and contrast-pair candidates of every partition (``framing.candidate_partials``)."""
        others = MentionPartitions(self.parts, keep=True)  # each partition prepared once, not once per partition
        return [candidate_partials(s, v, study.cfg.measures, centroids, others, limit) for s, v in self.parts]

    def texts(self, ids: list[str]) -> pd.Series:
        """The texts of the given sentences, indexed by sentence id."""
        s = self.all_sentences
        found = s.loc[s["sentence_id"].isin(ids), ["sentence_id", "text"]]
        return pd.Series(found["text"].to_numpy(dtype=object), index=found["sentence_id"].to_numpy())

    def sentence_parts(self) -> list:
        """What ``write.write_sentence_parts`` writes: the sentences table, whole."""
        return [self.all_sentences]
