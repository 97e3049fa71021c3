"""Which documents the theme model is fitted on: a seeded sample of whole documents
(:func:`fit_sample_documents`), always holding the documents of the researcher's labelled
sentences (:func:`labelled_documents`). Both engines and the Validate recalibration
(``validate.recalibrate.rule_recalibration``) draw the same sample from the same counts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def fit_sample_documents(doc_body: pd.Series, n: int | None, seed: int, include=()) -> list[str]:
    """The documents the theme model is fitted on: all of them when their body sentences number
    at most ``n`` (or ``n`` is None), else whole documents in a seeded random order until they
    hold at least ``n`` body sentences, plus the documents in ``include`` (those holding the
    sentences of ``run --labels``, which keep their labels only if they are in the fit).
    ``doc_body`` is body sentences per ``doc_id``.

    Whole documents keep each sentence's context (neighbours, acronyms) as in the full run.
    Both engines call this on the same counts, so they fit on the same sentences.
    """
    doc_body = doc_body.sort_index()
    if n is None or int(doc_body.sum()) <= n:
        return list(doc_body.index)
    order = np.random.default_rng(seed).permutation(len(doc_body))
    cum = np.cumsum(doc_body.to_numpy()[order])
    k = int(np.searchsorted(cum, n)) + 1
    return sorted(set(doc_body.index[order[:k]]) | (set(include) & set(doc_body.index)))


def labelled_documents(labels: pd.DataFrame | None) -> set[str]:
    """The documents of labelled sentences."""
    from framescope.ingest.segment import document_of

    if labels is None or not len(labels):
        return set()
    return {document_of(i) for i in labels["sentence_id"]}
