"""The BERTopic models of a study, with framescope's parts plugged in as BERTopic's steps.

Two fits, both through BERTopic's own API (Grootendorst 2022):

1. **Discovery** (:func:`discover_topics`): ``BERTopic.fit_transform`` on the body sentences no
   named theme claims, with their in-context vectors as precomputed embeddings,
   ``umap_model=TopicReducer`` (framescope's size-scaled UMAP; on small inputs several seeded
   layouts side by side) and ``hdbscan_model=TopicClusterer`` (HDBSCAN with a cluster-size cap;
   on small inputs the consensus of those layouts). See :mod:`framescope.themes.discovery`.
2. **The study's model** (:func:`study_topic_model`): BERTopic's manual mode
   (``BaseDimensionalityReduction`` + ``BaseCluster``, the final assignment passed as ``y``) over
   every body sentence, so that every theme, named or discovered, gets BERTopic's c-TF-IDF
   (``ClassTfidfTransformer(reduce_frequent_words=True)`` over a ``CountVectorizer``), its
   representation (``KeyBERTInspired`` then ``MaximalMarginalRelevance``) and a topic embedding
   (the mean vector of its sentences); sentences in no theme are BERTopic's outliers (-1).
   It is saved with ``BERTopic.save(serialization="safetensors", save_ctfidf=True)``, so
   ``BERTopic.load(STUDY/model/bertopic)`` opens it, and its ``transform`` (cosine to the topic
   embeddings) is framescope's own rule for new sentences (``ThemeModel.transform``).

Importing this module imports bertopic (and with it torch and sentence-transformers, ~8 s):
only a fit does.
"""
from __future__ import annotations

import re
import warnings
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import numpy as np
from bertopic import BERTopic
from bertopic.backend import BaseEmbedder
from bertopic.cluster import BaseCluster
from bertopic.dimensionality import BaseDimensionalityReduction
from bertopic.representation import KeyBERTInspired, MaximalMarginalRelevance
from bertopic.vectorizers import ClassTfidfTransformer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from framescope.embed.cache import cached_encode
from framescope.themes.discovery import DiscoveryPlan, TopicClusterer, TopicReducer, order_topics

TOKEN_PATTERN = r"(?u)\b[^\W\d_][^\W_]+\b"  # words of 2+ characters that start with a letter
REPORTING_WORDS = frozenset({"said", "says", "say", "told", "added", "noted", "according", "reported",
                             "also", "just", "like"})
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | REPORTING_WORDS)
KEYBERT = dict(top_n_words=20, nr_repr_docs=5, nr_candidate_words=40, random_state=42)
MMR = dict(diversity=0.3, top_n_words=10)


class CachedEmbedder(BaseEmbedder):
    """framescope's embedder as BERTopic's embedding backend: every text goes through the
    on-disk vector cache, so KeyBERTInspired's words and documents are embedded once."""

    def __init__(self, embedder):
        super().__init__()
        self.embedder = embedder

    def embed(self, documents, verbose: bool = False) -> np.ndarray:
        return cached_encode([str(d) for d in documents], self.embedder)


def phrase_analyzer():
    """Unigrams and bigrams of adjacent words, never across punctuation or stop words (so
    "Central Asia. Instead" gives no bigram "asia instead", and "minister of foreign affairs" no
    "minister foreign"): the CountVectorizer's analyzer."""
    word = re.compile(TOKEN_PATTERN)
    stop = frozenset(STOP_WORDS)

    def analyse(doc: str) -> list[str]:
        out: list[str] = []
        for chunk in re.split(r"[.,;:!?()\[\]\"“”‘’|/–—]+", doc.lower()):
            toks = word.findall(chunk)
            for i, t in enumerate(toks):
                if t in stop:
                    continue
                out.append(t)
                if i + 1 < len(toks) and toks[i + 1] not in stop:
                    out.append(f"{t} {toks[i + 1]}")
        return out

    return analyse


def vectorizer() -> CountVectorizer:
    """BERTopic's vectorizer step. The analyzer is :func:`phrase_analyzer`; the other parameters
    (the same stop words, token pattern and n-gram range) are what a saved model records, since
    BERTopic cannot save a callable analyzer: a model opened with ``BERTopic.load`` counts with
    scikit-learn's standard word analyzer, which may also join words across punctuation."""
    return CountVectorizer(analyzer=phrase_analyzer(), stop_words=STOP_WORDS, token_pattern=TOKEN_PATTERN,
                           ngram_range=(1, 2), lowercase=True)


@contextmanager
def _quiet_vectorizer():
    """scikit-learn warns that stop_words, token_pattern and ngram_range are unused beside a callable
    analyzer: they are set only for the saved model (see :func:`vectorizer`)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The parameter '(ngram_range|stop_words|token_pattern)' will not be used")
        yield


def discover_topics(docs: list[str], vectors: np.ndarray, plan: DiscoveryPlan) -> np.ndarray:
    """Topic labels (-1 = outlier; topics numbered by size, ties by first sentence) from
    ``BERTopic.fit_transform`` with framescope's reducer and clusterer as its steps (the
    keywords come later, from the study's model of the final themes)."""
    model = BERTopic(embedding_model=None, umap_model=TopicReducer(plan),
                     hdbscan_model=TopicClusterer(plan), vectorizer_model=vectorizer(),
                     ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
                     representation_model=None, calculate_probabilities=False, verbose=False)
    try:
        with _quiet_vectorizer():
            topics, _ = model.fit_transform(docs, embeddings=np.asarray(vectors, dtype=np.float32))
    except ValueError as e:  # an empty vocabulary (no word of 2+ letters): the partition stands
        if "vocabulary" not in str(e):
            raise
        topics = model.hdbscan_model.labels_
    return order_topics(np.asarray(topics, dtype=int))


def study_topic_model(docs: list[str], vectors: np.ndarray, y: np.ndarray, embedder) -> BERTopic | None:
    """BERTopic in manual mode over the final assignment ``y`` (theme index, -1 for none): c-TF-IDF,
    KeyBERTInspired + MMR keywords (c-TF-IDF's own without an embedder) and topic embeddings for
    every theme. None when no sentence has a theme or the sentences hold no word BERTopic can count."""
    y = np.asarray(y, dtype=int)
    if not (y >= 0).any():
        return None
    representation = [KeyBERTInspired(**KEYBERT), MaximalMarginalRelevance(**MMR)] if embedder is not None else None
    model = BERTopic(embedding_model=CachedEmbedder(embedder) if embedder is not None else None,
                     umap_model=BaseDimensionalityReduction(), hdbscan_model=BaseCluster(),
                     vectorizer_model=vectorizer(), ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
                     representation_model=representation, calculate_probabilities=False, verbose=False)
    try:
        with _quiet_vectorizer():
            model.fit(docs, embeddings=np.asarray(vectors, dtype=np.float32), y=y)
    except ValueError as e:
        if "vocabulary" in str(e):
            return None
        raise
    return model


def topic_ids(model: BERTopic, y: np.ndarray) -> dict[int, int]:
    """BERTopic renumbers topics by size: the BERTopic topic of each index of ``y``."""
    out: dict[int, int] = {}
    for given, topic in zip(np.asarray(y, dtype=int).tolist(), model.topics_):
        out.setdefault(given, int(topic))
    return out


def keywords(model: BERTopic, topic: int) -> list[str]:
    words = model.get_topic(topic) or []
    return [w for w, _ in words if w]


def components(plan: DiscoveryPlan | None) -> dict:
    """What ran, for the saved model, the manifest and the report's method section."""
    return {
        "bertopic_version": metadata.version("bertopic"),
        "discovery": None if plan is None else {
            "embeddings": "precomputed in-context sentence vectors",
            "umap_model": f"framescope TopicReducer({plan.describe_reducer()})",
            "hdbscan_model": f"framescope TopicClusterer({plan.describe_clusterer()})",
            "vectorizer_model": "CountVectorizer(unigrams and bigrams, English stop words + reporting verbs)",
            "ctfidf_model": "ClassTfidfTransformer(reduce_frequent_words=True)",
            "outliers": "an outlier joins the most similar topic if it is at least as similar to it as the "
                        "topic's least typical member (framescope's per-topic form of reduce_outliers"
                        "(strategy='embeddings'))",
        },
        "study_model": {
            "mode": "manual (BaseDimensionalityReduction + BaseCluster, the final themes as y)",
            "vectorizer_model": "CountVectorizer(unigrams and bigrams, English stop words + reporting verbs)",
            "ctfidf_model": "ClassTfidfTransformer(reduce_frequent_words=True)",
            "representation_model": [f"KeyBERTInspired({', '.join(f'{k}={v}' for k, v in KEYBERT.items())})",
                                     f"MaximalMarginalRelevance({', '.join(f'{k}={v}' for k, v in MMR.items())})"],
            "transform": "cosine similarity to the topic embeddings (mean vector of each theme's sentences); "
                         "-1 (unassigned) when the outliers' embedding is the closest",
        },
    }


def save_topic_model(model: BERTopic, folder: Path, embedding_model_path: str | None) -> None:
    """``BERTopic.save`` with safetensors and the c-TF-IDF, pointing at the embedding model's
    local folder (so ``BERTopic.load`` on this machine needs no download)."""
    model.save(str(folder), serialization="safetensors", save_ctfidf=True,
               save_embedding_model=embedding_model_path or False)


VIEWS = {"hierarchy": "visualize_hierarchy", "topic_distance": "visualize_topics"}
"""BERTopic's own views of the study's model, saved with it (plotly JSON) so that the app and the
report show them without importing bertopic."""


def topic_views(model: BERTopic) -> dict[str, str]:
    """Plotly JSON of BERTopic's hierarchy and inter-topic distance map (a view BERTopic cannot
    draw for this model, e.g. with fewer than three themes, is left out)."""
    out = {}
    for name, method in VIEWS.items():
        try:
            fig = getattr(model, method)(custom_labels=True)
        except Exception:  # noqa: BLE001 - BERTopic raises various errors on tiny models
            continue
        fig.update_layout(width=None, autosize=True)  # BERTopic draws at a fixed width; fit the page instead
        out[name] = fig.to_json()
    return out
