"""Emphasis: shares, cluster-bootstrap intervals with a Wilson floor, the test, over time.

Every expected number below is worked by hand in the comments next to it.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from framescope.config import MeasureConfig
from framescope.measures.emphasis import (
    COLUMNS, TIME_COLUMNS, adjusted_residuals, auto_period, emphasis_over_time, emphasis_table,
)
from framescope.errors import InputError
from conftest import sentence_rows

Z2 = 1.959963984540054 ** 2  # z for a 95% interval, squared: 3.8414588


_rows = sentence_rows


def hand_table() -> pd.DataFrame:
    # A: 6 t1 sentences (10 words each) in paragraphs 0-2, 4 t2 sentences (5 words) in 3-4.
    # B: 2 t1 in paragraph 0, 6 t2 in paragraphs 1-3; plus one caption (not body) in theme t3.
    rows = (_rows("A", "a1", [(0, "t1", 2), (1, "t1", 2), (2, "t1", 2)])
            + _rows("A", "a1", [(3, "t2", 2), (4, "t2", 2)], words=5)
            + _rows("B", "b1", [(0, "t1", 2), (1, "t2", 2), (2, "t2", 2), (3, "t2", 2)])
            + _rows("B", "b1", [(4, "t3", 1)], body=False))
    return pd.DataFrame(rows)


def cell(df, source, theme):
    return df[(df["source"] == source) & (df["theme"] == theme)].iloc[0]


def test_shares_counts_and_word_shares_by_hand():
    e = emphasis_table(hand_table(), MeasureConfig())
    assert list(e.columns) == COLUMNS
    # all source x theme combinations, t3 included although it has no body sentence
    assert list(zip(e["source"], e["theme"])) == [("A", "t1"), ("A", "t2"), ("A", "t3"),
                                                  ("B", "t1"), ("B", "t2"), ("B", "t3")]
    a1 = cell(e, "A", "t1")
    assert a1["n_sentences"] == 6 and a1["n_source"] == 10
    assert a1["share"] == pytest.approx(0.6)          # 6 / 10
    assert a1["word_share"] == pytest.approx(0.75)    # 60 words / (60 + 20)
    assert cell(e, "B", "t2")["share"] == pytest.approx(0.75)  # 6 / 8, the caption is not counted
    assert e.groupby("source")["share"].sum().tolist() == pytest.approx([1.0, 1.0])


def test_interval_is_at_least_the_wilson_interval():
    e = emphasis_table(hand_table(), MeasureConfig())
    a1 = cell(e, "A", "t1")
    # Wilson for 6/10: centre (0.6 + z²/20) / (1 + z²/10) = 0.57224, half-width 0.25957
    assert a1["ci_low"] <= 0.312674 + 1e-6 and a1["ci_high"] >= 0.831820 - 1e-6
    assert a1["ci_low"] <= a1["share"] <= a1["ci_high"]


def test_zero_cell_gets_share_zero_and_an_honest_interval():
    e = emphasis_table(hand_table(), MeasureConfig())
    b3 = cell(e, "B", "t3")
    assert b3["n_sentences"] == 0 and b3["share"] == 0.0 and b3["small_cell"]
    # every bootstrap replicate is 0, so the bootstrap alone would say [0, 0]; the Wilson upper
    # bound for 0 of 8 is z² / (8 + z²) = 3.8415 / 11.8415 = 0.32441
    assert b3["ci_low"] == 0.0
    assert b3["ci_high"] == pytest.approx(Z2 / (8 + Z2))


def test_small_cells_are_flagged():
    e = emphasis_table(hand_table(), MeasureConfig(min_cell=5))
    flags = dict(zip(zip(e["source"], e["theme"]), e["small_cell"]))
    assert not flags[("A", "t1")]                                     # 6 >= 5
    assert flags[("A", "t2")] and flags[("B", "t1")]                   # 4 and 2 < 5


def test_chi_square_and_adjusted_residuals_by_hand():
    e = emphasis_table(hand_table(), MeasureConfig())
    # observed [[6, 4], [2, 6]] (t3 has no body sentence and leaves the test); N = 18,
    # E = [[80/18, 100/18], [64/18, 80/18]], |O - E| = 14/9 in every cell, so
    # chi2 = (14/9)² (18/80 + 18/100 + 18/64 + 18/80) = 2.41975 * 0.91125 = 2.205, 1 dof
    assert e["chi2"].iloc[0] == pytest.approx(2.205)
    assert e["dof"].iloc[0] == 1
    assert e["p_chi2"].iloc[0] == pytest.approx(0.137564, abs=1e-5)
    # adjusted residual (14/9) / sqrt(80/18 * (1 - 10/18) * (1 - 8/18)) = 1.48492; in a 2x2 table
    # its square is the chi-square
    assert cell(e, "A", "t1")["residual"] == pytest.approx(math.sqrt(2.205), rel=1e-6)
    assert cell(e, "A", "t2")["residual"] == pytest.approx(-math.sqrt(2.205), rel=1e-6)
    assert np.isnan(cell(e, "A", "t3")["residual"])
    assert 0 < e["p_value"].iloc[0] <= 1
    assert "permuting paragraphs" in e["test"].iloc[0]


def test_adjusted_residuals_match_formula():
    o = np.array([[10.0, 0.0, 5.0], [2.0, 8.0, 5.0]])
    r, c, n = o.sum(1, keepdims=True), o.sum(0, keepdims=True), o.sum()
    e = r * c / n
    want = (o - e) / np.sqrt(e * (1 - r / n) * (1 - c / n))
    assert np.allclose(adjusted_residuals(o), want)


def _clustered(theme_of_paragraph: dict[str, list[str]], per_paragraph: int) -> pd.DataFrame:
    rows = []
    for source, themes in theme_of_paragraph.items():
        rows += _rows(source, f"{source}-doc", [(p, t, per_paragraph) for p, t in enumerate(themes)])
    return pd.DataFrame(rows)


def test_permutation_test_detects_a_real_difference():
    df = _clustered({"A": ["t1"] * 18 + ["t2"] * 2, "B": ["t2"] * 18 + ["t1"] * 2}, 2)
    e = emphasis_table(df, MeasureConfig(n_boot=500))
    assert e["p_value"].iloc[0] < 0.01
    assert e["p_value"].iloc[0] >= 1 / 501  # never below (1 + 0) / (1 + n_boot)


def test_permutation_test_respects_clustered_sentences():
    # Sentence by sentence A is 20/30 t1 and B 10/30 t1, which the asymptotic test calls
    # significant, but the sentences come in 3 paragraphs of 10 per source and only the
    # paragraph pattern (t1 t2 t1 vs t2 t1 t2) differs: 20 ways to split 6 paragraphs.
    df = _clustered({"A": ["t1", "t2", "t1"], "B": ["t2", "t1", "t2"]}, 10)
    e = emphasis_table(df, MeasureConfig())
    assert e["p_chi2"].iloc[0] < 0.05
    assert e["p_value"].iloc[0] > 0.2


def test_identical_sources_are_not_significant():
    df = _clustered({"A": ["t1", "t2"] * 10, "B": ["t1", "t2"] * 10}, 2)
    e = emphasis_table(df, MeasureConfig())
    assert e["chi2"].iloc[0] == pytest.approx(0.0)
    assert e["p_value"].iloc[0] == pytest.approx(1.0)


def test_cluster_bootstrap_is_wider_for_clustered_sentences():
    # same 20/20 split; in the first table whole paragraphs of 10 share a theme
    clustered = _clustered({"A": ["t1", "t2", "t1", "t2"]}, 10)
    spread = _clustered({"A": ["t1", "t2"] * 20}, 1)
    cfg = MeasureConfig(n_boot=2000)
    w1 = cell(emphasis_table(clustered, cfg), "A", "t1")
    w2 = cell(emphasis_table(spread, cfg), "A", "t1")
    assert w1["share"] == w2["share"] == 0.5
    assert (w1["ci_high"] - w1["ci_low"]) > (w2["ci_high"] - w2["ci_low"]) + 0.1


def test_document_resampling_with_one_document_falls_back_to_wilson():
    e = emphasis_table(hand_table(), MeasureConfig(resample_unit="document"))
    a1 = cell(e, "A", "t1")  # one document: every replicate equals 0.6, so Wilson decides
    assert a1["ci_low"] == pytest.approx(0.312674, abs=1e-5)
    assert a1["ci_high"] == pytest.approx(0.831820, abs=1e-5)
    assert "permuting documents" in e["test"].iloc[0]


def test_one_source_corpus_gets_shares_but_no_test():
    df = hand_table()
    e = emphasis_table(df[df["source"] == "A"], MeasureConfig())
    assert e["theme"].tolist() == ["t1", "t2"]
    assert e["share"].tolist() == pytest.approx([0.6, 0.4])
    assert e["ci_low"].notna().all()
    assert e[["chi2", "dof", "p_value", "p_chi2", "residual"]].isna().all().all()
    assert e["test"].iloc[0].startswith("none")


def test_source_without_body_sentences_has_undefined_shares():
    df = pd.concat([hand_table(), pd.DataFrame(_rows("C", "c1", [(0, "t1", 2)], body=False))])
    c = emphasis_table(df, MeasureConfig())
    c = c[c["source"] == "C"]
    assert (c["n_source"] == 0).all() and c["share"].isna().all() and c["ci_low"].isna().all()


def test_include_non_body_counts_captions():
    e = emphasis_table(hand_table(), MeasureConfig(include_non_body=True))
    assert cell(e, "B", "t3")["n_sentences"] == 1 and cell(e, "B", "t3")["n_source"] == 9


def test_unassigned_and_missing_themes_are_one_theme_row_listed_last():
    df = hand_table()
    df.loc[0, "theme"] = None
    df.loc[1, "theme"] = "unassigned"
    e = emphasis_table(df, MeasureConfig())
    assert e["theme"].unique().tolist() == ["t1", "t2", "t3", "unassigned"]
    assert cell(e, "A", "unassigned")["n_sentences"] == 2


def test_deterministic_and_seeded():
    df = hand_table()
    a = emphasis_table(df, MeasureConfig(seed=7))
    b = emphasis_table(df.sample(frac=1.0, random_state=3), MeasureConfig(seed=7))  # row order is irrelevant
    pd.testing.assert_frame_equal(a, b)
    c = emphasis_table(_clustered({"A": ["t1", "t2", "t1"] * 5}, 1), MeasureConfig(seed=1))
    d = emphasis_table(_clustered({"A": ["t1", "t2", "t1"] * 5}, 1), MeasureConfig(seed=2))
    assert c["share"].tolist() == d["share"].tolist()


def test_missing_theme_column_is_an_input_error():
    with pytest.raises(InputError, match="theme"):
        emphasis_table(hand_table().drop(columns="theme"), MeasureConfig())


# --------------------------------------------------------------------------- over time

def test_over_time_by_month_for_month_precise_dates():
    docs = pd.DataFrame({"doc_id": ["a1", "b1"], "date": ["2022-11", "2023-09-05"]})
    t = emphasis_over_time(hand_table(), docs, MeasureConfig())
    assert list(t.columns) == TIME_COLUMNS
    assert sorted(t["period"].unique()) == ["2022-11", "2023-09"]
    nov = t[t["period"] == "2022-11"]
    assert set(nov["source"]) == {"A"} and nov["share"].tolist() == pytest.approx([0.6, 0.4, 0.0])


def test_over_time_explicit_period_and_undated_documents():
    docs = pd.DataFrame({"doc_id": ["a1", "b1"], "date": ["2022-11-03", None]})
    t = emphasis_over_time(hand_table(), docs, MeasureConfig(period="Y"))
    assert t["period"].unique().tolist() == ["2022"] and set(t["source"]) == {"A"}


def test_over_time_is_empty_without_dates():
    docs = pd.DataFrame({"doc_id": ["a1", "b1"], "date": [None, None]})
    t = emphasis_over_time(hand_table(), docs, MeasureConfig())
    assert t.empty and list(t.columns) == TIME_COLUMNS
    assert emphasis_over_time(hand_table(), docs.drop(columns="date"), MeasureConfig()).empty


def test_auto_period_never_splits_finer_than_the_dates():
    days = pd.to_datetime(pd.Series(["2022-11-01", "2022-11-20"]), utc=True)
    assert auto_period(days, ["D", "D"]) == "D"           # a 19-day span of exact dates
    assert auto_period(days, ["D", "M"]) == "M"           # one date is known only to the month
    years = pd.to_datetime(pd.Series(["2001-01-01", "2022-01-01"]), utc=True)
    assert auto_period(years, ["D", "D"]) == "Y"


def test_bootstrap_replicates_drawn_in_chunks_equal_one_draw():
    """Proposal 9: the replicates are drawn a few at a time (bounded memory) with the same
    random stream, and sums of whole numbers are exact, so the result is the one-shot product."""
    import numpy as np

    from framescope.measures.bootstrap import multinomial_weights, replicate_counts, rng_for

    counts = np.random.default_rng(0).integers(0, 9, size=(700, 5)).astype(float)
    whole = multinomial_weights(700, 300, rng_for(42, "A")) @ counts
    for cells in (700, 7_000, 100_000, 10**9):  # 1, 10, 142 and all 300 replicates at a time
        assert np.array_equal(replicate_counts(counts, 300, rng_for(42, "A"), max_cells=cells), whole)


def test_emphasis_from_counts_of_partitions_equals_the_whole_table():
    """Partitions of whole documents: their cluster counts stack into the same table."""
    from framescope.measures.emphasis import cluster_counts, emphasis_from_counts, study_sources_and_themes

    rows = [dict(source=s, doc_id=f"{s}{d}", paragraph=p, theme=t, is_body=True, text="a b c")
            for s, ts in (("A", "xxyz"), ("B", "yyzx"), ("C", "zzzy")) for d in range(4) for p, t in enumerate(ts * (d + 1))]
    df = pd.DataFrame(rows)
    cfg = MeasureConfig(n_boot=300)
    docs = df["doc_id"].unique()
    parts = [df[df["doc_id"].isin(docs[i::3])] for i in range(3)]  # any split into whole documents
    counts = pd.concat([cluster_counts(p, cfg) for p in parts], ignore_index=True)
    sources, themes = study_sources_and_themes(df)
    pd.testing.assert_frame_equal(emphasis_from_counts(counts, sources, themes, cfg), emphasis_table(df, cfg),
                                  check_exact=True)
