"""c-TF-IDF without bertopic: the same numbers as BERTopic's ClassTfidfTransformer."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from conftest import SEED_CORPUS
from framescope.config import IngestConfig
from framescope.ingest.corpus import load_documents
from framescope.ctfidf import class_tfidf
from framescope.ingest.segment import sentence_table
from framescope.themes.discovery import _analyzer


@pytest.fixture(scope="module")
def seed_counts():
    """Counts of the seed's words per source and per paragraph-sized class, as theme_keywords makes them."""
    s = sentence_table(load_documents([str(SEED_CORPUS)], IngestConfig()))
    s = s[s["is_body"]]
    by_source = [" | ".join(g["text"]) for _, g in s.groupby("source")]
    by_block = [" | ".join(s["text"].iloc[i:i + 7]) for i in range(0, len(s), 7)]  # 14 uneven classes
    return [CountVectorizer(analyzer=_analyzer()).fit_transform(docs) for docs in (by_source, by_block)]


@pytest.mark.parametrize("reduce_frequent_words", [True, False])
def test_equals_bertopic_class_tfidf_on_real_counts(seed_counts, reduce_frequent_words):
    from bertopic.vectorizers import ClassTfidfTransformer

    for counts in seed_counts:
        want = ClassTfidfTransformer(reduce_frequent_words=reduce_frequent_words).fit_transform(counts)
        got = class_tfidf(counts, reduce_frequent_words=reduce_frequent_words)
        assert got.shape == want.shape and got.dtype == np.float64
        assert np.array_equal(got.toarray(), want.toarray())  # bit for bit: keywords cannot move


def test_a_word_frequent_everywhere_scores_below_a_distinctive_one():
    counts = np.array([[10, 5, 0], [10, 0, 5]])  # word 0 in both classes, 1 and 2 in one each
    score = class_tfidf(counts).toarray()
    assert score[0, 1] > score[0, 0] and score[1, 2] > score[1, 0]
    assert score[0, 2] == 0 and score[1, 1] == 0
