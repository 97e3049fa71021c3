"""Named-theme assignment that calibrates itself to the corpus (themes.assignment), on synthetic
vectors with a known answer and on a held-out labelled corpus with the real MiniLM."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from framescope.themes.assignment import calibrate, label_cross_validation

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = dict(seed_share=0.2, seed_fraction=0.5, none_share=0.1, C=0.3)


def _corpus(scale: float, n: int = 60, seed: int = 0):
    """Three groups of unit vectors: about theme 0, about theme 1, about neither; evidence is the
    cosine with each theme's prototype times ``scale`` (a corpus whose sentences are all less
    similar to any prototype, as short spoken sentences are)."""
    rng = np.random.default_rng(seed)
    dim = 16
    centres = np.eye(dim)[:3]
    truth = np.repeat([0, 1, -1], n)
    V = np.repeat(centres, n, axis=0) + 0.35 * rng.standard_normal((3 * n, dim))
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    prototypes = np.stack([centres[0] + 0.3 * centres[2], centres[1] + 0.3 * centres[2]])
    prototypes /= np.linalg.norm(prototypes, axis=1, keepdims=True)
    return V, scale * (V @ prototypes.T), truth


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_lower_similarities_give_the_same_themes(scale):
    """A fixed cut-off fails a corpus whose similarities are all lower; the corpus rule does not."""
    V, Z, truth = _corpus(scale)
    best = calibrate(Z, V, floor=0.1, **SETTINGS).best
    assert np.mean(best == truth) >= 0.9
    fixed = np.where(Z.max(1) >= 0.45, Z.argmax(1), -1)
    if scale == 0.5:
        assert np.mean(fixed == truth) < 0.5  # what the former threshold rule did


def test_a_codebook_the_corpus_does_not_discuss_claims_nothing():
    V, Z, _ = _corpus(1.0)
    cal = calibrate(Z * 0.2, V, floor=0.25, **SETTINGS)  # every evidence below the floor
    assert (cal.best == -1).all() and cal.n_examples.tolist() == [0, 0] and cal.method == "cut-off"


def test_labels_teach_the_rule_what_the_evidence_missed():
    """The researcher labels part of the 'neither' group as theme 1: the classifier follows."""
    V, Z, truth = _corpus(1.0)
    neither = np.flatnonzero(truth == -1)
    labelled = np.full(len(V), -2)
    labelled[neither[::2]] = 1
    before = calibrate(Z, V, floor=0.1, **SETTINGS).best
    best = calibrate(Z, V, floor=0.1, labelled=labelled, **SETTINGS).best
    rest = neither[1::2]  # the unlabelled half of the group
    assert np.mean(before[rest] == 1) <= 0.1
    assert np.mean(best[rest] == 1) >= 0.4  # they count as much as the sure examples (weight 1)
    assert np.mean(best[truth == 0] == 0) >= 0.9


def test_cross_validation_of_labels():
    V, Z, truth = _corpus(1.0)
    few = np.full(len(V), -2)
    few[:5] = 0
    assert label_cross_validation(Z, V, few, ["a", "b"], 42, floor=0.1, **SETTINGS) is None
    labelled = np.full(len(V), -2)
    pick = np.random.default_rng(1).choice(len(V), 60, replace=False)
    labelled[pick] = truth[pick]
    cv = label_cross_validation(Z, V, labelled, ["a", "b"], 42, floor=0.1, **SETTINGS)
    assert cv["n_labels"] == 60 and cv["folds"] == 5 and set(cv["per_theme_f1_before_after"]) == {"a", "b"}
    assert cv["macro_f1_after"] >= 0.85 and cv["macro_f1_before"] >= 0.85


def test_held_out_speeches_beat_the_plain_zero_shot_baseline():
    """Issue 11's failure case, on a labelled corpus of spoken State of the Union sentences that
    the rule's settings were not chosen on alone (research/validation/speeches; two blind readers'
    agreed labels): macro F1 of the named themes at least the plain baseline's (the in-context
    vector against each prototype, cut-off 0.25). The former fixed threshold gave 0.46 < 0.57."""
    from framescope.config import EmbedConfig, IngestConfig, ThemeConfig
    from framescope.embed.encoders import get_embedder
    from framescope.embed.vectors import sentence_vectors
    from framescope.ingest.corpus import load_documents
    from framescope.ingest.segment import sentence_table
    from framescope.themes import ThemeModel, load_codebook
    from framescope.themes.model import codebook_vectors

    folder = ROOT / "research" / "validation" / "speeches"
    sentences = sentence_table(load_documents([str(folder / "corpus.csv")], IngestConfig(title_col="title")))
    codebook = load_codebook(folder / "codebook.yaml")
    a = pd.read_csv(folder / "labels_reader_a.csv", dtype=str)
    b = pd.read_csv(folder / "labels_reader_b.csv", dtype=str)
    both = a.merge(b, on="sentence_id", suffixes=("_a", "_b"))
    gold = both.loc[both["label_a"] == both["label_b"]].set_index("sentence_id")["label_a"]
    embedder = get_embedder(EmbedConfig())
    vectors = sentence_vectors(sentences, embedder, EmbedConfig())
    model = ThemeModel(ThemeConfig(min_sentences_for_clustering=10**9)).fit(sentences, vectors, codebook, embedder)
    ours = model.assign_.set_index("sentence_id")["theme"]
    body = sentences["is_body"].to_numpy(bool)
    P, _, _ = codebook_vectors(codebook, embedder)
    base_v = sentence_vectors(sentences, embedder, EmbedConfig(context_weight=0.3))[body] @ P.T
    keys = np.array(codebook.keys, dtype=object)
    base = pd.Series(np.where(base_v.max(1) >= 0.25, keys[base_v.argmax(1)], "none"),
                     index=sentences["sentence_id"].to_numpy()[body])

    def macro_f1(pred: pd.Series) -> float:
        p = pred.reindex(gold.index).fillna("none").where(lambda x: x.isin(keys), "none")
        f1 = [2 * ((gold == k) & (p == k)).sum() / ((gold == k).sum() + (p == k).sum()) for k in keys]
        return float(np.mean(f1))

    assert len(gold) >= 300
    assert macro_f1(ours) >= macro_f1(base) + 0.03, (macro_f1(ours), macro_f1(base))
    assert macro_f1(ours) >= 0.6
