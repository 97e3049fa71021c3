"""Analytic emphasis methods for big sources (measures/asymptotic.py): they give what the cluster
bootstrap and the permutation test give, without drawing, and the test keeps its level where the
uncorrected chi-square does not."""
from __future__ import annotations

import numpy as np
import pandas as pd

from framescope.config import MeasureConfig
from framescope.measures.bootstrap import wilson_interval
from framescope.measures.divergence import OTHER_SOURCES, gaps_from_replicates
from framescope.measures.emphasis import emphasis_from_counts, emphasis_test, share_replicates

SHARES = [0.4, 0.25, 0.15, 0.1, 0.06, 0.03, 0.01]


def clustered_counts(paragraphs: list[int], shares: list[list[float]], seed: int, stick: float = 0.8) -> pd.DataFrame:
    """A ``cluster_counts`` table: each source's paragraphs hold 1-6 sentences; a paragraph draws a
    theme from its source's shares and each sentence keeps it with probability ``stick`` (else it
    draws its own), so sentences of a paragraph are alike, as in real text."""
    rng = np.random.default_rng(seed)
    parts = []
    for s, (n_par, p) in enumerate(zip(paragraphs, shares)):
        p = np.asarray(p, float)
        size = rng.integers(1, 7, n_par)
        main = rng.choice(len(p), n_par, p=p)
        par = np.repeat(np.arange(n_par), size)
        theme = np.where(rng.random(len(par)) < stick, main[par], rng.choice(len(p), len(par), p=p))
        keys, n = np.unique(par * len(p) + theme, return_counts=True)
        src = f"s{s:02d}"
        cluster = np.char.add(f"{src}-d|", (keys // len(p)).astype(str))
        parts.append(pd.DataFrame({"source": src, "doc_id": f"{src}-d", "cluster": cluster,
                                   "theme": np.char.add("t", (keys % len(p)).astype(str)),
                                   "n": n.astype("int64"), "words": 10.0 * n}))
    return pd.concat(parts, ignore_index=True)


def tables(counts: pd.DataFrame, cfg: MeasureConfig):
    sources = sorted(counts["source"].unique())
    themes = sorted(counts["theme"].unique())
    replicates = share_replicates(counts, sources, themes, cfg)
    emphasis = emphasis_from_counts(counts, sources, themes, cfg, replicates)
    return emphasis, gaps_from_replicates(emphasis, replicates, cfg), replicates


def close(new: pd.DataFrame, old: pd.DataFrame, points: float, ratio: tuple[float, float]) -> None:
    for col in ("ci_low", "ci_high"):
        assert np.nanmax(np.abs(new[col] - old[col])) < points / 100, col
    widths = (new["ci_high"] - new["ci_low"]) / (old["ci_high"] - old["ci_low"])
    assert ratio[0] < widths.min() and widths.max() < ratio[1], (widths.min(), widths.max())


def test_big_sources_get_intervals_like_the_bootstrap_without_drawing_it():
    counts = clustered_counts([3000, 2500, 4000], [SHARES, SHARES[::-1], SHARES], seed=1)
    drawn, drawn_gaps, _ = tables(counts, MeasureConfig(asymptotic_clusters=None))
    cfg = MeasureConfig(asymptotic_clusters=2000)
    analytic, analytic_gaps, replicates = tables(counts, cfg)
    assert replicates.analytic == {"s00", "s01", "s02"}
    # the same shares; intervals within a fifth of a point of the bootstrap's (whose own Monte
    # Carlo error at 1,000 draws is a few percent of the width)
    pd.testing.assert_series_equal(analytic["share"], drawn["share"])
    close(analytic, drawn, points=0.2, ratio=(0.9, 1.1))
    close(analytic_gaps, drawn_gaps.set_index(["theme", "source_a", "source_b"]).reindex(
        pd.MultiIndex.from_frame(analytic_gaps[["theme", "source_a", "source_b"]])).reset_index(),
        points=0.3, ratio=(0.9, 1.1))
    # never narrower than Wilson's interval for independent sentences
    lo, hi = wilson_interval(analytic["n_sentences"], analytic["n_source"], 0.95)
    assert (analytic["ci_low"] <= lo + 1e-12).all() and (analytic["ci_high"] >= hi - 1e-12).all()
    # the test is Rao-Scott's, and agrees with the permutation test's p
    assert "Rao and Scott" in analytic["test"].iloc[0] and "permuting" in drawn["test"].iloc[0]
    again, again_gaps, _ = tables(counts, cfg)
    pd.testing.assert_frame_equal(again, analytic, check_exact=True)
    pd.testing.assert_frame_equal(again_gaps, analytic_gaps, check_exact=True)


def test_rao_scott_keeps_its_level_on_clustered_sentences_where_the_chi_square_does_not():
    """Same shares in every source (the null): Rao-Scott rejects at 5% about 5% of the time; the
    uncorrected chi-square, which takes sentences of a paragraph as independent, most of the time."""
    cfg = MeasureConfig(asymptotic_clusters=1000)
    rao, naive = [], []
    for seed in range(120):
        counts = clustered_counts([400, 700, 1000], [SHARES] * 3, seed=seed)
        test = emphasis_test(counts, ["s00", "s01", "s02"], sorted(counts["theme"].unique()), cfg)
        assert "Rao and Scott" in test["test"]
        rao.append(test["p_value"])
        naive.append(test["p_chi2"])
    assert 0.01 <= np.mean(np.array(rao) < 0.05) <= 0.10
    assert np.mean(np.array(naive) < 0.05) > 0.5
    # one of them against the permutation test it replaces
    counts = clustered_counts([400, 700, 1000], [SHARES] * 3, seed=3)
    themes = sorted(counts["theme"].unique())
    rs = emphasis_test(counts, ["s00", "s01", "s02"], themes, cfg)["p_value"]
    perm = emphasis_test(counts, ["s00", "s01", "s02"], themes, MeasureConfig(asymptotic_clusters=None))["p_value"]
    assert abs(rs - perm) < 0.06, (rs, perm)


def test_rao_scott_finds_a_real_difference_and_is_the_chi_square_for_unclustered_sentences():
    cfg = MeasureConfig(asymptotic_clusters=1000)
    other = [0.3, 0.3, 0.15, 0.1, 0.1, 0.04, 0.01]
    counts = clustered_counts([800, 800], [SHARES, other], seed=5)
    test = emphasis_test(counts, ["s00", "s01"], sorted(counts["theme"].unique()), cfg)
    assert "Rao and Scott" in test["test"] and test["p_value"] < 1e-3
    # one sentence per paragraph: no clustering, so the correction changes (almost) nothing
    single = clustered_counts([3000, 3000], [SHARES, SHARES], seed=6).assign(n=1)
    single = single.drop_duplicates("cluster")
    test = emphasis_test(single, ["s00", "s01"], sorted(single["theme"].unique()), cfg)
    effect = float(test["test"].split("mean design effect ")[1].split(",")[0])
    assert 0.9 < effect < 1.1
    assert abs(test["p_value"] - test["p_chi2"]) < 0.05


def test_small_sources_keep_the_bootstrap_and_the_permutation_test():
    counts = clustered_counts([3000, 150], [SHARES, SHARES], seed=8)
    cfg = MeasureConfig(asymptotic_clusters=2000)
    mixed, mixed_gaps, replicates = tables(counts, cfg)
    drawn, drawn_gaps, _ = tables(counts, MeasureConfig(asymptotic_clusters=None))
    assert replicates.analytic == {"s00"}
    small = (mixed["source"] == "s01").to_numpy()
    same = ["n_sentences", "share", "word_share", "ci_low", "ci_high", "residual", "chi2", "p_chi2"]
    pd.testing.assert_frame_equal(mixed.loc[small, same], drawn.loc[small, same], check_exact=True)
    test = mixed["test"].iloc[0]
    assert "permuting" in test and "not Rao-Scott: a source has fewer than 200 clusters" in test
    assert mixed["p_value"].iloc[0] == drawn["p_value"].iloc[0]
    # the pair with a big source: the normal interval from both variances, near the bootstrap's
    close(mixed_gaps, drawn_gaps, points=0.5, ratio=(0.85, 1.15))


def test_many_sources_with_a_big_one_compare_each_with_the_rest_analytically():
    counts = clustered_counts([3000] + [80] * 31, [SHARES] * 32, seed=9)
    analytic, gaps, replicates = tables(counts, MeasureConfig(asymptotic_clusters=2000))
    _, drawn_gaps, _ = tables(counts, MeasureConfig(asymptotic_clusters=None))
    assert replicates.analytic == {"s00"}
    assert (gaps["source_a"].eq(OTHER_SOURCES) | gaps["source_b"].eq(OTHER_SOURCES)).all()
    assert len(gaps) == 32 * len(SHARES)
    key = ["theme", "source_a", "source_b"]
    drawn_gaps = drawn_gaps.set_index(key).reindex(pd.MultiIndex.from_frame(gaps[key])).reset_index()
    pd.testing.assert_series_equal(gaps["difference"], drawn_gaps["difference"])
    close(gaps, drawn_gaps, points=0.6, ratio=(0.8, 1.2))


def test_a_big_cells_tone_interval_is_the_t_interval_the_bootstrap_tends_to():
    from framescope.measures.tone import tone_table

    rng = np.random.default_rng(11)
    size = rng.integers(1, 5, 3000)
    par = np.repeat(np.arange(3000), size)
    tone = np.clip(rng.normal(0.2, 0.3, 3000)[par] + rng.normal(0, 0.2, len(par)), -1, 1)
    big = pd.DataFrame({"source": "A", "doc_id": "a", "paragraph": par, "theme": "t", "is_body": True,
                        "tone": tone, "text": "x"})
    small = big[big["paragraph"] < 40].assign(source="B")
    df = pd.concat([big, small], ignore_index=True)
    drawn = tone_table(df, MeasureConfig(asymptotic_clusters=None))
    closed = tone_table(df, MeasureConfig(asymptotic_clusters=2000))
    a, b = closed["source"] == "A", closed["source"] == "B"
    assert np.abs(closed.loc[a, ["ci_low", "ci_high"]].to_numpy() - drawn.loc[a, ["ci_low", "ci_high"]].to_numpy()).max() < 0.003
    pd.testing.assert_frame_equal(closed[b], drawn[b], check_exact=True)  # 40 paragraphs: still drawn
    assert closed.equals(tone_table(df, MeasureConfig(asymptotic_clusters=2000)))
