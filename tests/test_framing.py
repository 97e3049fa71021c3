"""Notes, and every measure together on the real seed corpus with hand-assigned themes.

The seed test uses the real ingest, the real MiniLM model and VADER. Themes are assigned by
hand below (not by the theme model), so it checks the measures, not the theme discovery.
"""
from __future__ import annotations

import pandas as pd
import pytest

from framescope.config import EmbedConfig, IngestConfig, MeasureConfig
from framescope.measures.emphasis import emphasis_table
from framescope.measures.framing import (
    contrasts_table, distinctive_terms, exemplars_table, frame_scores, frame_table, load_frames,
    notes_table, tone_scores, tone_table, voice_frame, voices_table,
)

from conftest import SEED_CORPUS


def _rows(source, doc, spec, body=True):
    return [dict(source=source, doc_id=doc, paragraph=p, theme=t, is_body=body, text="x", n_words=1)
            for p, t, n in spec for _ in range(n)]


def _notes(df, cfg=None, **kw):
    cfg = cfg or MeasureConfig()
    return notes_table(df, emphasis_table(df, cfg), cfg, **kw)


def test_notes_theme_in_one_source_small_cells_and_run_notes():
    df = pd.DataFrame(_rows("A", "a", [(p, "t1", 2) for p in range(5)] + [(5, "solo", 3)])
                      + _rows("B", "b", [(p, "t1", 2) for p in range(5)] + [(6, "unassigned", 1)]))
    notes = _notes(df, run_notes=["theme model: 2 topics merged"])
    assert list(notes.columns) == ["scope", "theme", "source", "note"]
    assert notes.iloc[0]["note"] == "theme model: 2 topics merged"
    theme_notes = notes[notes["scope"] == "theme"]
    assert theme_notes[["theme", "source"]].values.tolist() == [["solo", "A"]]  # not 'unassigned'
    assert "only in A" in theme_notes.iloc[0]["note"]
    cells = notes[notes["scope"] == "cell"]
    assert cells[["theme", "source"]].values.tolist() == [["solo", "A"], ["unassigned", "B"]]
    assert "only 3 sentence(s)" in cells.iloc[0]["note"]
    assert list(notes["scope"]) == sorted(notes["scope"], key=["run", "theme", "cell"].index)


def test_notes_one_source_corpus_and_source_without_body():
    df = pd.DataFrame(_rows("A", "a", [(p, "t1", 2) for p in range(6)]) + _rows("B", "b", [(0, "t1", 1)], body=False))
    notes = _notes(df)
    text = " | ".join(notes["note"])
    assert "one-source corpus (A)" in text
    assert "source B has no body sentences" in text
    assert not (notes["scope"] == "theme").any()  # nothing to compare, so no per-theme notes


def test_notes_coarse_permutation_and_few_clusters():
    df = pd.DataFrame(_rows("A", "a", [(0, "t1", 5), (1, "t2", 5)]) + _rows("B", "b", [(0, "t2", 5), (1, "t1", 5)]))
    notes = _notes(df, MeasureConfig(resample_unit="document"))
    text = " | ".join(notes["note"])
    assert "only about 2 distinct ways to reassign documents" in text
    assert "source A has only 1 document(s)" in text


def test_notes_dates():
    df = pd.DataFrame(_rows("A", "a", [(0, "t1", 5)]) + _rows("B", "b", [(0, "t1", 5)]))
    docs = pd.DataFrame({"doc_id": ["a", "b"], "date": ["2022-11", None]})
    text = " | ".join(_notes(df, documents=docs)["note"])
    assert "1 of 2 documents have no usable date" in text
    assert "emphasis over time is by month (chosen from the date span)" in text


# --------------------------------------------------------------------------- the seed

THEMES = {
    "climate": ["lecture on climate change", "crucial topic of climate change", "overview of climate issues",
                "international climate negotiations", "defining challenge of our age"],
    "border_settlement": ["a complete settlement of the border issue", "boundary dispute between the two",
                          "resolve the border issue", "obsessions over border disputes"],
    "bri_coercion": ["cooperation in production capacity", "largest trading partner", "mutual trade has increased",
                     "(BRI), showcases", "joined the BRI in 2017", "Beijing retaliated", "Through Lithuania",
                     "failed public relations campaign", "The choice was deliberate",
                     "choosing another BRI region", "This economic direness"],
    "wolf_warrior_diplomacy": ["known as \u201cwolf warrior\u201d diplomacy", "this strategy is backfiring",
                               "defended its aggressive foreign policy", "refers to this style",
                               "Xiplomacy is more about Xi", "fervent advocate", "loyalty to Xi and his agenda",
                               "soft power was embraced"],
}


@pytest.fixture(scope="module")
def seed():
    from framescope.ingest.corpus import load_documents
    from framescope.embed.encoders import get_embedder
    from framescope.embed.vectors import sentence_vectors
    from framescope.ingest.segment import sentence_table

    documents = load_documents([str(SEED_CORPUS)], IngestConfig())
    sentences = sentence_table(documents)
    theme = pd.Series("unassigned", index=sentences.index)
    plain = sentences["text"].str.replace(r"\s+", " ", regex=True)  # the seed has no-break spaces
    for key, needles in THEMES.items():
        for needle in needles:
            hit = plain.str.contains(needle, regex=False)
            assert hit.sum() == 1, needle
            theme[hit] = key
    sentences["theme"] = theme
    embedder = get_embedder(EmbedConfig())
    vectors = sentence_vectors(sentences, embedder, EmbedConfig())
    sentences["tone"] = tone_scores(sentences)
    scores = frame_scores(sentences, vectors, embedder, load_frames())
    sentences = pd.concat([sentences, scores], axis=1)
    sentences = pd.concat([sentences, voice_frame(sentences)], axis=1)
    return documents, sentences, vectors


def test_seed_emphasis_climate_is_the_embassy(seed):
    _, sentences, _ = seed
    e = emphasis_table(sentences, MeasureConfig()).set_index(["source", "theme"])
    assert e.loc[("uk_embassy", "climate"), "share"] > 0.5
    assert e.loc[("global_times", "climate"), "n_sentences"] == e.loc[("foreign_policy", "climate"), "n_sentences"] == 0
    assert e.loc[("global_times", "climate"), "ci_high"] > 0  # a zero share with an honest interval
    assert e.loc[("uk_embassy", "climate"), "residual"] > 3
    assert e["p_value"].iloc[0] < 0.05


def test_seed_single_source_themes_get_notes_not_comparisons(seed):
    _, sentences, vectors = seed
    cfg = MeasureConfig()
    notes = notes_table(sentences, emphasis_table(sentences, cfg), cfg)
    only = notes[notes["scope"] == "theme"].set_index("theme")["source"].to_dict()
    assert only == {"climate": "uk_embassy", "wolf_warrior_diplomacy": "foreign_policy"}
    terms = distinctive_terms(sentences, cfg)
    contrasts = contrasts_table(sentences, vectors, cfg)
    assert set(terms["theme"]) == set(contrasts["theme"]) == {"border_settlement", "bri_coercion"}


def test_seed_bri_framing_cooperation_versus_coercion(seed):
    _, sentences, _ = seed
    cfg = MeasureConfig()
    # 3 Global Times vs 8 Foreign Policy sentences: most terms occur once, so look at the sign
    # of z for every term and at the rank of the one repeated word, "Lithuania" (3 times)
    terms = distinctive_terms(sentences, cfg.model_copy(update={"n_terms": 1000}))
    bri = terms[(terms["theme"] == "bri_coercion") & (terms["z"] > 0)]
    gt = set(bri[bri["source"] == "global_times"]["term"])
    fp = bri[bri["source"] == "foreign_policy"]["term"].tolist()
    assert {"cooperation", "model", "partner", "trading partner", "mutual trade"} <= gt
    assert {"coercion", "economic coercion", "influence", "lithuania"} <= set(fp)
    assert not gt & {"coercion", "influence", "lithuania"}
    assert "lithuania" in fp[:5]
    tone = tone_table(sentences, cfg).set_index(["theme", "source"])
    assert tone.loc[("bri_coercion", "global_times"), "mean"] > tone.loc[("bri_coercion", "foreign_policy"), "mean"]
    assert tone.loc[("bri_coercion", "global_times"), "small_cell"]  # 3 sentences


def test_seed_border_contrast_pair(seed):
    _, sentences, vectors = seed
    cfg = MeasureConfig()
    pairs = contrasts_table(sentences, vectors, cfg)
    border = pairs[pairs["theme"] == "border_settlement"]
    assert len(border) == 1  # Foreign Policy has one border sentence
    pair = border.iloc[0]
    assert (pair["source_a"], pair["source_b"]) == ("foreign_policy", "global_times")
    assert "obsessions over border disputes" in pair["text_a"]
    assert "border" in pair["text_b"] or "boundary" in pair["text_b"]
    assert pair["tone_b"] > pair["tone_a"]
    terms = distinctive_terms(sentences, cfg)
    gt = terms[(terms["theme"] == "border_settlement") & (terms["source"] == "global_times") & (terms["z"] > 0)]
    assert {"friendship", "resolved", "resolve"} & set(gt["term"])


def test_seed_voices_exemplars_and_frames(seed):
    _, sentences, vectors = seed
    cfg = MeasureConfig()
    v = voices_table(sentences)
    gt_bri = v[(v["theme"] == "bri_coercion") & (v["source"] == "global_times")]
    assert "Shakhrat Nuryshev" in set(gt_bri["speaker"])  # "..., he added." after "Nuryshev noted."
    assert sentences["voice"].str.contains("Christopher Walker", regex=False).any()
    people = set(v.loc[v["kind"] == "person", "speaker"])
    assert {"Shakhrat Nuryshev", "Yang Jiechi", "Xi Jinping", "Elizabeth Economy", "Christopher Walker"} <= people
    assert {"Reuters", "Xinhua News Agency", "China Media Project"} <= set(v.loc[v["kind"] == "organisation", "speaker"])
    assert not {"Lithuania", "experts", "the ambassador", "Nuryshev", "Yang", "Xi"} & set(v["speaker"])
    gt = v[v["source"] == "global_times"]
    assert gt.loc[gt["speaker"] == "Shakhrat Nuryshev", "n"].sum() == 20  # "the envoy", "the diplomat", "he" too
    ex = exemplars_table(sentences, vectors, cfg)
    assert set(ex[ex["theme"] == "climate"]["source"]) == {"uk_embassy"}
    assert (ex.groupby(["theme", "source"]).size() <= cfg.n_exemplars).all()
    frames = frame_table(sentences, cfg)
    assert frames.groupby(["theme", "source"])["share"].sum().round(9).eq(1.0).all()
    gt_bri_frames = frames[(frames["theme"] == "bri_coercion") & (frames["source"] == "global_times")]
    assert gt_bri_frames.set_index("frame").loc["economic", "n_sentences"] >= 1  # "mutual trade has increased"


# --------------------------------------------------------------------------- over partitions

def _synthetic(n_docs: int, seed: int = 0):
    """Documents of 3 sources, 4 paragraphs of 3 sentences each, random themes, tone, frames,
    voices and vectors; dated one day apart (every 5th undated)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for d in range(n_docs):
        src = ["A", "B", "C"][d % 3]
        for p in range(4):
            for k in range(3):
                i = len(rows)
                rows.append(dict(sentence_id=f"d{d:04d}-s{p * 3 + k:04d}", doc_id=f"d{d:04d}", source=src,
                                 paragraph=p, position=p * 3 + k, is_body=bool(k or p),
                                 theme=["t1", "t2", "t3", "unassigned"][rng.integers(0, 4)],
                                 text=f"{src} says word{rng.integers(0, 50)} and word{rng.integers(0, 50)} {i % 7}",
                                 tone=float(np.round(rng.uniform(-1, 1), 4)),
                                 frame=["economic", "morality", "political"][rng.integers(0, 3)],
                                 voice=None if rng.random() < 0.7 else f"Speaker{rng.integers(0, 4)}"))
    sentences = pd.DataFrame(rows)
    sentences["voice_kind"] = sentences["voice"].map(lambda v: v and "person")
    sentences["voice_as_written"] = sentences["voice"]
    documents = pd.DataFrame({"doc_id": [f"d{d:04d}" for d in range(n_docs)], "source": [["A", "B", "C"][d % 3] for d in range(n_docs)],
                              "date": [None if d % 5 == 4 else f"2022-03-{1 + d % 28:02d}" for d in range(n_docs)],
                              "n_chars": 1000})
    return sentences, documents, rng.normal(size=(len(sentences), 8)).astype(np.float32)


def _tables_over(parts, cfg, documents):
    from framescope.measures.framing import (
        candidate_partials, measure_partials, measure_tables, settle_candidates, study_centroids, with_texts,
    )

    partials = [measure_partials(s, v, cfg) for s, v in parts]
    tables = measure_tables(partials, cfg, load_frames(), documents, ["run note"])
    centroids = study_centroids(partials)
    exemplars, contrasts = settle_candidates(
        lambda limit: [candidate_partials(s, v, cfg, centroids, parts, limit) for s, v in parts], cfg)
    texts = pd.concat([s.set_index("sentence_id")["text"] for s, _ in parts])
    return {**tables, "exemplars": exemplars, "contrasts": with_texts(contrasts, texts)}, partials


def test_tables_combined_from_partitions_equal_the_whole_table_measures():
    """Counts-based measures combine exactly; tone's corpus SD, centroids and similarities are
    summed per partition, so they agree to float rounding (both engines use the same partitions)."""
    from framescope.measures.emphasis import emphasis_over_time

    sentences, documents, vectors = _synthetic(60)
    cfg = MeasureConfig(n_boot=200, n_contrasts=3)
    whole = {"emphasis": emphasis_table(sentences, cfg), "emphasis_time": emphasis_over_time(sentences, documents, cfg),
             "terms": distinctive_terms(sentences, cfg), "tone": tone_table(sentences, cfg),
             "frames": frame_table(sentences, cfg), "voices": voices_table(sentences),
             "exemplars": exemplars_table(sentences, vectors, cfg), "contrasts": contrasts_table(sentences, vectors, cfg)}
    whole["notes"] = notes_table(sentences, whole["emphasis"], cfg, run_notes=["run note"], documents=documents)
    cuts = [0, 12 * 13, 12 * 14, 12 * 40, len(sentences)]  # whole documents; one partition of one document
    parts = [(sentences.iloc[a:b].reset_index(drop=True), vectors[a:b]) for a, b in zip(cuts, cuts[1:])]
    combined, _ = _tables_over(parts, cfg, documents)
    assert len(whole["emphasis_time"]) and len(whole["contrasts"]) and len(whole["voices"])
    for name in ("emphasis", "emphasis_time", "terms", "frames", "voices", "notes"):
        pd.testing.assert_frame_equal(combined[name], whole[name], check_exact=True, obj=name)
    for name in ("tone", "exemplars", "contrasts"):
        pd.testing.assert_frame_equal(combined[name], whole[name], check_exact=False, rtol=1e-5, obj=name)
    one, _ = _tables_over([(sentences, vectors)], cfg, documents)  # one partition: the same bits
    for name in whole:
        pd.testing.assert_frame_equal(one[name], whole[name], check_exact=True, obj=name)


def test_partials_stay_small_as_the_corpus_grows():
    """What a partition hands over grows with its clusters and cells, not with its sentences'
    texts or vectors: at most n_exemplars exemplar candidates per cell, at most the cap of contrast
    candidates per theme × source pair (without texts), one centroid per cell."""
    from framescope.measures.exemplars import contrast_cap
    from framescope.measures.framing import candidate_partials, study_centroids

    cfg = MeasureConfig(n_boot=100, n_contrasts=3, n_exemplars=2)
    sizes = []
    for n_docs in (30, 300):
        sentences, documents, vectors = _synthetic(n_docs, seed=1)
        parts = [(sentences, vectors)]
        _, partials = _tables_over(parts, cfg, documents)
        p = partials[0]
        cand = candidate_partials(sentences, vectors, cfg, study_centroids(partials), parts, contrast_cap(3))
        n_cells = len(p["centroids"][0])
        assert len(p["centroids"][1]) == n_cells <= 3 * 4
        assert len(cand["exemplars"]) <= n_cells * cfg.n_exemplars
        assert all(len(pairs) <= contrast_cap(3) and "text_a" not in pairs for pairs, _ in cand["contrasts"].values())
        assert len(p["clusters"]) <= 4 * n_docs * 3  # per paragraph and theme, never per sentence text
        assert not any("text" in t.columns for t in (p["clusters"], p["tone"][0], p["frames"], p["voices"]))
        sizes.append((len(sentences), len(cand["exemplars"]) + sum(len(x) for x, _ in cand["contrasts"].values())))
    (n_small, c_small), (n_big, c_big) = sizes
    assert n_big == 10 * n_small and c_big <= 9 * contrast_cap(3) + 12 * cfg.n_exemplars
