"""Differences between sources per theme (emphasis_gaps), the order of themes by divergence, the
notable residuals, the study summary, and the emphasis heatmap's colour scale."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from framescope.measures.bootstrap import percentile_interval
from framescope.config import MeasureConfig
from framescope.measures.divergence import GAP_COLUMNS, emphasis_gaps, largest_gaps, themes_by_divergence
from framescope.measures.emphasis import (
    RESIDUAL_THRESHOLD, cluster_counts, emphasis_table, notable_residuals, share_replicates, study_sources_and_themes,
)
from framescope.report.figures import emphasis_heatmap, share_scale_max
from framescope.measures.summary import study_summary
from conftest import sentence_rows


_rows = sentence_rows


def three_sources() -> pd.DataFrame:
    # A: t1 12, t2 4, unassigned 2 (18); B: t1 3, t2 9 (12); C: t1 5, t2 5 (10), plus a caption.
    rows = (_rows("A", "a1", [(p, "t1", 2) for p in range(6)] + [(6, "t2", 2), (7, "t2", 2), (8, "unassigned", 2)])
            + _rows("B", "b1", [(0, "t1", 3)] + [(p, "t2", 3) for p in range(1, 4)], words=5)
            + _rows("C", "c1", [(0, "t1", 5), (1, "t2", 5)])
            + _rows("C", "c1", [(2, "t2", 1)], words=7, body=False))
    return pd.DataFrame(rows)


def test_gaps_are_differences_of_shares_oriented_and_sorted():
    cfg = MeasureConfig()
    g = emphasis_gaps(three_sources(), cfg)
    e = emphasis_table(three_sources(), cfg).set_index(["source", "theme"])
    assert list(g.columns) == GAP_COLUMNS
    assert len(g) == 3 * 3  # three themes (unassigned kept) x three pairs
    assert (g["difference"] >= 0).all()
    assert g["difference"].is_monotonic_decreasing
    for r in g.itertuples():
        a, b = e.loc[(r.source_a, r.theme)], e.loc[(r.source_b, r.theme)]
        assert r.share_a == a["share"] and r.share_b == b["share"] and r.share_a >= r.share_b
        assert r.difference == pytest.approx(a["share"] - b["share"])
        assert (r.n_sentences_a, r.n_sentences_b) == (a["n_sentences"], b["n_sentences"])
        assert r.ci_low <= r.difference <= r.ci_high
    t1 = g[(g["theme"] == "t1") & (g["source_a"] == "A") & (g["source_b"] == "B")].iloc[0]
    assert t1["difference"] == pytest.approx(12 / 18 - 3 / 12)


def test_gap_interval_is_the_bootstrap_of_the_difference_widened_to_newcombe():
    cfg = MeasureConfig()
    s = three_sources()
    counts = cluster_counts(s, cfg)
    sources, themes = study_sources_and_themes(s)
    reps = share_replicates(counts, sources, themes, cfg)
    g = emphasis_gaps(s, cfg)
    e = emphasis_table(s, cfg).set_index(["source", "theme"])
    j = themes.index("t2")
    row = g[(g["theme"] == "t2") & (g["source_a"] == "B") & (g["source_b"] == "A")].iloc[0]
    lo, hi = percentile_interval(reps["B"][:, j] - reps["A"][:, j], cfg.ci_level)
    assert row["ci_low"] <= lo + 1e-12 and row["ci_high"] >= hi - 1e-12
    pb, pa = e.loc[("B", "t2")], e.loc[("A", "t2")]
    d = pb["share"] - pa["share"]
    newcombe_lo = d - np.sqrt((pb["share"] - pb["ci_low"]) ** 2 + (pa["ci_high"] - pa["share"]) ** 2)
    newcombe_hi = d + np.sqrt((pb["ci_high"] - pb["share"]) ** 2 + (pa["share"] - pa["ci_low"]) ** 2)
    assert row["ci_low"] == pytest.approx(min(lo, newcombe_lo))
    assert row["ci_high"] == pytest.approx(min(1.0, max(hi, newcombe_hi)))


def test_gaps_are_deterministic_and_independent_of_order_and_other_sources():
    cfg = MeasureConfig(n_boot=400)
    s = three_sources()
    g = emphasis_gaps(s, cfg)
    pd.testing.assert_frame_equal(g, emphasis_gaps(s, cfg))
    shuffled = s.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(g, emphasis_gaps(shuffled, cfg))
    # the A-B interval is the same whether or not C is in the study
    ab = emphasis_gaps(s[s["source"] != "C"], cfg)
    assert set(ab["source_a"]) | set(ab["source_b"]) == {"A", "B"}
    same = g[g[["source_a", "source_b"]].apply(frozenset, axis=1) == frozenset({"A", "B"})]
    pd.testing.assert_frame_equal(ab.reset_index(drop=True), same.reset_index(drop=True))
    assert emphasis_gaps(s[s["source"] == "A"], cfg).empty  # one source: no pair


def test_largest_gap_per_theme_among_the_chosen_sources():
    g = emphasis_gaps(three_sources(), MeasureConfig(n_boot=200))
    best = largest_gaps(g)
    assert sorted(best["theme"]) == ["t1", "t2", "unassigned"] and best["difference"].is_monotonic_decreasing
    for r in best.itertuples():
        assert r.difference == g.loc[g["theme"] == r.theme, "difference"].max()
    only = largest_gaps(g, ["B", "C"])
    assert set(only["source_a"]) | set(only["source_b"]) <= {"B", "C"} and len(only) == 3


def test_themes_sort_by_how_much_the_sources_differ_unassigned_last():
    e = emphasis_table(three_sources(), MeasureConfig(n_boot=200))
    # ranges: t1 12/18 - 3/12 = 0.417, t2 9/12 - 4/18 = 0.528, unassigned 0.111
    assert themes_by_divergence(e) == ["t2", "t1", "unassigned"]
    # A and C: t1 0.667 - 0.5 = 0.167, t2 0.5 - 0.222 = 0.278, unassigned 0.111
    assert themes_by_divergence(e[e["source"].isin(["A", "C"])]) == ["t2", "t1", "unassigned"]
    # B and C tie at 0.25 on t1 and t2; the larger theme (t2, 14 sentences against 8) comes first
    assert themes_by_divergence(e[e["source"].isin(["B", "C"])]) == ["t2", "t1", "unassigned"]


def test_notable_residuals_use_the_one_threshold():
    e = pd.DataFrame({"source": ["a", "b", "a", "b", "a"], "theme": ["t1", "t1", "t2", "t2", "unassigned"],
                      "n_sentences": [1] * 5, "share": [0.1] * 5,
                      "residual": [RESIDUAL_THRESHOLD, -1.959, -3.0, 2.5, 9.0]})
    out = notable_residuals(e)
    assert list(zip(out["source"], out["theme"])) == [("a", "t2"), ("b", "t2"), ("a", "t1")]


def test_study_summary_counts_themes_without_unassigned_and_body_words():
    s = three_sources()
    cfg = MeasureConfig(n_boot=200)
    themes = pd.DataFrame({"theme": ["t1", "t2", "unassigned"], "named": [True, False, False]})
    docs = pd.DataFrame({"doc_id": ["a1", "b1", "c1"], "source": ["A", "B", "C"]})
    emphasis = emphasis_table(s, cfg)
    summary = study_summary({"documents": docs, "sentences": s, "themes": themes, "emphasis": emphasis})
    assert (summary.n_themes, summary.n_named, summary.n_discovered) == (2, 1, 1)
    assert summary.n_sources == 3 and summary.n_documents == 3
    assert (summary.n_sentences, summary.n_body_sentences, summary.n_unassigned) == (41, 40, 2)
    assert summary.unassigned_share == pytest.approx(2 / 40)
    c = summary.sources.set_index("source")
    assert c.loc["C", "sentences"] == 11 and c.loc["C", "body_sentences"] == 10
    assert c.loc["C", "words"] == 100  # the caption's 7 words are not counted, as in emphasis
    assert c["body_sentences"].to_dict() == emphasis.groupby("source")["n_source"].first().to_dict()
    pd.testing.assert_frame_equal(summary.flagged, notable_residuals(emphasis))
    everything = study_summary({"documents": docs, "sentences": s, "themes": themes, "emphasis": emphasis},
                               {"config": {"measures": {"include_non_body": True}}})
    assert everything.sources.set_index("source").loc["C", "words"] == 107


@pytest.mark.parametrize("top, expected", [(0.25, 0.25), (0.2501, 0.30), (0.717, 0.8), (0.03, 0.03),
                                           (0.031, 0.04), (0.0, 0.01), (1.0, 1.0)])
def test_share_scale_ends_near_the_largest_share(top, expected):
    assert share_scale_max([0.0, top / 2, top, float("nan")]) == pytest.approx(expected)


def test_heatmap_colour_scale_fits_the_data_and_rows_follow_divergence():
    shares = {("A", "t1"): 0.25, ("A", "t2"): 0.05, ("A", "t3"): 0.70,
              ("B", "t1"): 0.02, ("B", "t2"): 0.08, ("B", "t3"): 0.90}
    e = pd.DataFrame([{"source": s, "theme": t, "share": v, "word_share": v, "n_sentences": int(100 * v),
                       "small_cell": False, "ci_low": v / 2, "ci_high": min(1, 2 * v)} for (s, t), v in shares.items()])
    themes = pd.DataFrame({"theme": ["t1", "t2", "t3"], "label": ["One", "Two", "Three"]})
    low = e[e["theme"] != "t3"]  # largest share shown: 25%
    fig = emphasis_heatmap(low, themes)
    assert 25 <= fig.data[0].zmax <= 30
    assert list(fig.data[0].y) == ["One", "Two"]  # t1 differs by 23 points, t2 by 3
    full = emphasis_heatmap(e, themes)
    assert full.data[0].zmax == 90
    assert list(full.data[0].y) == ["One", "Three", "Two"]  # 23, 20, 3 points
