"""Many sources (issue 14): the table-level measures cost time linear in sources × themes, and
above ``divergence.MAX_PAIRED_SOURCES`` sources the two pairwise tables (emphasis gaps, contrast
pairs) compare each source with the rest of the corpus instead of with every other source."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from framescope.config import MeasureConfig
from framescope.measures.bootstrap import percentile_interval
from framescope.measures.divergence import MAX_PAIRED_SOURCES, OTHER_SOURCES, emphasis_gaps, largest_gaps
from framescope.measures.emphasis import emphasis_table
from framescope.measures.exemplars import contrasts_table
from framescope.measures.frames import load_frames
from framescope.measures.framing import (
    candidate_partials, measure_partials, measure_tables, settle_candidates, study_centroids,
)


def many_sources(n_sources: int, per_source: int = 2, n_themes: int = 5, seed: int = 0,
                 dim: int = 16) -> tuple[pd.DataFrame, np.ndarray]:
    """Themed body sentences: one document per source, a paragraph per two sentences, themes,
    tones and frames drawn at random (seeded), and random unit vectors."""
    rng = np.random.default_rng(seed)
    n = n_sources * per_source
    src = np.repeat([f"s{i:05d}" for i in range(n_sources)], per_source)
    pos = np.tile(np.arange(per_source), n_sources)
    words = np.array(["trade", "border", "climate", "talks", "coercion", "friendship", "summit", "tariff",
                      "envoy", "treaty", "security", "market"])
    texts = [" ".join(rng.choice(words, 6)) + f" {i}." for i in range(n)]
    themes = np.array([f"t{j}" for j in range(n_themes)])
    df = pd.DataFrame({
        "sentence_id": [f"{s}-{k:03d}" for s, k in zip(src, pos)], "doc_id": src, "source": src,
        "paragraph": pos // 2, "position": pos, "text": texts, "is_body": True, "n_words": 7,
        "theme": themes[rng.integers(0, n_themes, n)], "tone": np.round(rng.uniform(-1, 1, n), 4),
        "frame": rng.choice(["economic", "political", "other"], n), "voice": None,
    })
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return df, v / np.linalg.norm(v, axis=1, keepdims=True)


def study_tables(parts, cfg):
    """Every table of a study from its partitions, as both engines compute them."""
    partials = [measure_partials(s, v, cfg) for s, v in parts]
    tables = measure_tables(partials, cfg, load_frames(), None)
    centroids = study_centroids(partials)
    exemplars, contrasts = settle_candidates(
        lambda limit: [candidate_partials(s, v, cfg, centroids, parts, limit) for s, v in parts], cfg)
    return {**tables, "exemplars": exemplars, "contrasts": contrasts}


def test_two_thousand_sources_finish_in_bounded_time_with_right_counts():
    """Before this change, 200 sources of 2 sentences took about 10 minutes in these stages (all
    pairs of sources in emphasis_gaps and in the contrast pairs); 2,000 would take hours."""
    sentences, vectors = many_sources(2000)
    cfg = MeasureConfig(n_boot=200)
    start = time.perf_counter()
    t = study_tables([(sentences, vectors)], cfg)
    assert time.perf_counter() - start < 120  # a guard, not a benchmark (about 2 s here)

    em = t["emphasis"]
    expected = sentences.groupby(["source", "theme"]).size()
    got = em.set_index(["source", "theme"])["n_sentences"]
    assert len(em) == 2000 * 5 and (em["n_source"] == 2).all()
    assert (got.reindex(expected.index) == expected).all() and got.sum() == len(sentences)
    # one row per source and theme against the pool of the other 1,999 sources, never 2,000 x 1,999 / 2 pairs
    gaps = t["emphasis_gaps"]
    assert len(gaps) == 2000 * 5
    assert ((gaps["source_a"] == OTHER_SOURCES) ^ (gaps["source_b"] == OTHER_SOURCES)).all()
    row = gaps[(gaps["theme"] == "t0") & ((gaps["source_a"] == "s00007") | (gaps["source_b"] == "s00007"))].iloc[0]
    k_rest = int((sentences["theme"] == "t0").sum() - expected.get(("s00007", "t0"), 0))
    rest_side = "a" if row["source_a"] == OTHER_SOURCES else "b"
    assert row[f"n_sentences_{rest_side}"] == k_rest
    assert row[f"share_{rest_side}"] == pytest.approx(k_rest / (len(sentences) - 2))
    assert (gaps["ci_low"] <= gaps["difference"] + 1e-12).all() and (gaps["difference"] <= gaps["ci_high"] + 1e-12).all()
    # contrast pairs: at most n_contrasts per theme and source, always with another source
    con = t["contrasts"]
    assert len(con) and (con["source_a"] != con["source_b"]).all()
    assert con.groupby(["theme", "source_a"]).size().max() <= min(cfg.n_contrasts, 2)
    assert len(t["tone"]) == len(expected) and t["exemplars"].groupby(["theme", "source"]).size().max() <= 2


def test_gaps_pair_every_two_sources_up_to_the_limit_then_each_against_the_rest():
    cfg = MeasureConfig(n_boot=100)
    paired, _ = many_sources(MAX_PAIRED_SOURCES, per_source=4, n_themes=3)
    g = emphasis_gaps(paired, cfg)
    assert len(g) == 3 * MAX_PAIRED_SOURCES * (MAX_PAIRED_SOURCES - 1) // 2 and OTHER_SOURCES not in set(g["source_b"])
    rest, _ = many_sources(MAX_PAIRED_SOURCES + 1, per_source=4, n_themes=3)
    g = emphasis_gaps(rest, cfg)
    assert len(g) == 3 * (MAX_PAIRED_SOURCES + 1)
    em = emphasis_table(rest, cfg).set_index(["source", "theme"])
    for r in g.itertuples():
        source, theme = (r.source_b, r.theme) if r.source_a == OTHER_SOURCES else (r.source_a, r.theme)
        own = em.loc[(source, theme)]
        k_rest = int(em.xs(theme, level="theme")["n_sentences"].sum() - own["n_sentences"])
        share_rest = k_rest / (len(rest) - own["n_source"])
        pair = {r.source_a: (r.share_a, r.n_sentences_a), r.source_b: (r.share_b, r.n_sentences_b)}
        assert pair[source] == (own["share"], own["n_sentences"])
        assert pair[OTHER_SOURCES] == (pytest.approx(share_rest), k_rest)
        assert r.difference == pytest.approx(abs(own["share"] - share_rest)) and r.ci_low <= r.difference <= r.ci_high
    # the app's and the report's "largest gap per theme" keeps the pool as a side
    best = largest_gaps(g, ["s00003", "s00004"])
    assert len(best) == 3 and set(best["source_a"]) | set(best["source_b"]) <= {"s00003", "s00004", OTHER_SOURCES}


def _greedy_against_the_rest(sentences: pd.DataFrame, vectors: np.ndarray, k: int) -> pd.DataFrame:
    """The contrast pairs of each theme × source by brute force: every pair of one of its
    sentences with a sentence of another source, most similar first, no sentence twice."""
    v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = []
    for theme, cell in sentences.groupby("theme", sort=True):
        idx = cell.index.to_numpy()
        sim = v[idx] @ v[idx].T
        for a in sorted(cell["source"].unique()):
            ia = np.flatnonzero(cell["source"].to_numpy() == a)
            ib = np.flatnonzero(cell["source"].to_numpy() != a)
            pairs = pd.DataFrame({"sentence_id_a": np.repeat(cell["sentence_id"].to_numpy()[ia], len(ib)),
                                  "sentence_id_b": np.tile(cell["sentence_id"].to_numpy()[ib], len(ia)),
                                  "source_b": np.tile(cell["source"].to_numpy()[ib], len(ia)),
                                  "r": np.round(sim[np.ix_(ia, ib)].ravel().astype(np.float32), 6)})
            pairs = pairs.sort_values(["r", "sentence_id_a", "sentence_id_b"], ascending=[False, True, True])
            used_a, used_b, n = set(), set(), 0
            for p in pairs.itertuples():
                if p.sentence_id_a in used_a or p.sentence_id_b in used_b:
                    continue
                rows.append((theme, a, p.source_b, p.sentence_id_a, p.sentence_id_b))
                used_a.add(p.sentence_id_a)
                used_b.add(p.sentence_id_b)
                n += 1
                if n == k:
                    break
    return pd.DataFrame(rows, columns=["theme", "source_a", "source_b", "sentence_id_a", "sentence_id_b"])


def test_contrast_pairs_against_the_rest_are_the_greedy_choice_over_all_partitions():
    """Each source's pairs with any other source equal the brute-force greedy choice, whether the
    study is one partition or three, and also when the first candidate lists are cut (k = 2: 40
    rows per list, and a source's list here holds 8 sentences × 12 candidates)."""
    sentences, vectors = many_sources(MAX_PAIRED_SOURCES + 5, per_source=8, n_themes=2, seed=3)
    cfg = MeasureConfig(n_boot=100, n_contrasts=2)
    expected = _greedy_against_the_rest(sentences, vectors, cfg.n_contrasts)
    cols = list(expected.columns)
    whole = contrasts_table(sentences, vectors, cfg)
    pd.testing.assert_frame_equal(whole[cols].reset_index(drop=True), expected)
    cuts = [0, 8 * 11, 8 * 12, len(sentences)]  # whole documents; one partition of one document
    parts = [(sentences.iloc[a:b].reset_index(drop=True), vectors[a:b]) for a, b in zip(cuts, cuts[1:])]
    combined = study_tables(parts, cfg)["contrasts"]
    pd.testing.assert_frame_equal(combined[cols].reset_index(drop=True), expected)


def test_percentile_interval_is_nanquantile_with_or_without_missing_replicates():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 9, size=(400, 30)) / 8.0
    lo, hi = percentile_interval(x, 0.95)
    assert np.array_equal(lo, np.nanquantile(x, 0.025, axis=0)) and np.array_equal(hi, np.nanquantile(x, 0.975, axis=0))
    x[3, 4] = np.nan
    lo, hi = percentile_interval(x, 0.95)
    assert lo[4] == np.nanquantile(x[:, 4], 0.025) and np.array_equal(lo[5:], np.quantile(x[:, 5:], 0.025, axis=0))
