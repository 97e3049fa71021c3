"""Class-based TF-IDF (c-TF-IDF), the weighting BERTopic uses for topic words (Grootendorst 2022).

The same numbers as ``bertopic.vectorizers.ClassTfidfTransformer`` (checked in
tests/test_ctfidf.py), without importing ``bertopic``, whose package import loads
sentence-transformers and torch (seconds of start-up in every process that only needs keywords).

For a classes × terms count matrix:

    tf      = each class's counts divided by its total (l1-normalised rows)
    tf      = sqrt(tf)                               if reduce_frequent_words
    idf_t   = log(1 + A / f_t)

where A is the mean number of words per class, truncated to an integer as BERTopic does, and
f_t the term's count over all classes. The score is ``tf * idf``.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def class_tfidf(counts, reduce_frequent_words: bool = False) -> sp.csr_matrix:
    """c-TF-IDF of a classes × terms count matrix (dense or sparse); returns a CSR float64 matrix."""
    from sklearn.preprocessing import normalize

    x = sp.csr_matrix(counts)
    if x.ndim != 2:
        raise ValueError("class_tfidf needs a 2-D classes × terms count matrix")
    freq = np.asarray(x.sum(axis=0), dtype=np.float64).ravel()
    avg_words = int(x.sum(axis=1).mean())
    with np.errstate(divide="ignore"):
        idf = np.log(avg_words / freq + 1)
    tf = normalize(x, axis=1, norm="l1", copy=True)
    if reduce_frequent_words:
        tf.data = np.sqrt(tf.data)
    return sp.csr_matrix(tf @ sp.diags(idf, offsets=0, shape=(len(idf), len(idf)), format="csr",
                                       dtype=np.float64))
