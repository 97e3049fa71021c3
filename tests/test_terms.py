"""Distinctive terms: weighted log-odds with an informative Dirichlet prior, worked by hand."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from framescope.config import MeasureConfig
from framescope.measures.terms import COLUMNS, distinctive_terms, log_odds_z


def test_log_odds_z_symmetric_example_by_hand():
    # y_i = (3, 1), y_j = (1, 3), alpha = (1, 1): a0 = 2, n_i = n_j = 4.
    # delta_1 = log((3+1)/(4+2-3-1)) - log((1+1)/(4+2-1-1)) = log(4/2) - log(2/4) = 2 log 2
    # var_1 = 1/(3+1) + 1/(1+1) = 0.75, so z_1 = 1.386294 / 0.866025 = 1.600755
    delta, z = log_odds_z([3, 1], [1, 3], [1, 1])
    assert delta[0] == pytest.approx(2 * math.log(2))
    assert z[0] == pytest.approx(2 * math.log(2) / math.sqrt(0.75))
    assert z[1] == pytest.approx(-z[0])


def _sentences(rows):
    return pd.DataFrame([dict(sentence_id=f"s{i}", doc_id=f"{src}-d", paragraph=i, source=src,
                              theme=theme, text=text, is_body=True)
                         for i, (src, theme, text) in enumerate(rows)])


HAND = _sentences([
    ("A", "t", "alpha alpha beta"),
    ("B", "t", "beta gamma"),
    ("A", "u", "alpha delta"),   # theme u exists only in source A
])


def test_distinctive_terms_worked_example():
    # Corpus counts (prior shape): alpha 3, beta 2, gamma 1, delta 1 -> total 7.
    # Theme t: A = (alpha 2, beta 1), B = (beta 1, gamma 1); n_A = 3, n_B = 2.
    # Default prior strength a0 = tokens in the theme = 5, so
    # a = 5 * (3, 2, 1, 1) / 7 = (15/7, 10/7, 5/7, 5/7).
    # alpha, A vs B: delta = log((2 + 15/7) / (3 + 5 - 2 - 15/7)) - log((15/7) / (2 + 5 - 15/7))
    #                      = log(29/27) - log(15/34) = 0.071459 + 0.818310 = 0.889769
    #                var   = 7/29 + 7/15 = 0.708046  ->  z = 0.889769 / 0.841455 = 1.057418
    # beta:  delta = log(17/39) - log(17/32) = -0.197826; var = 14/17  -> z = -0.217993
    # gamma: delta = log(5/51) - log(12/37) = -1.196376; var = 7/5 + 7/12 -> z = -0.849513
    # delta (the word) never occurs in theme t, so it is not reported for t.
    out = distinctive_terms(HAND, MeasureConfig(), ngram_range=(1, 1))
    assert list(out.columns) == COLUMNS
    assert set(out["theme"]) == {"t"}  # theme u is found in one source only: no fake comparison
    a = out[out["source"] == "A"].set_index("term")
    assert a.loc["alpha", "z"] == pytest.approx(1.057418, abs=1e-6)
    assert a.loc["beta", "z"] == pytest.approx(-0.217993, abs=1e-6)
    assert a.loc["gamma", "z"] == pytest.approx(-0.849513, abs=1e-6)
    assert (a.loc["alpha", "count"], a.loc["alpha", "count_other"]) == (2, 0)
    assert (a.loc["gamma", "count"], a.loc["gamma", "count_other"]) == (0, 1)
    assert "delta" not in a.index
    b = out[out["source"] == "B"].set_index("term")
    assert b.loc["gamma", "z"] == pytest.approx(0.849513, abs=1e-6)  # B vs A mirrors A vs B
    # rows sorted by theme, source, z descending
    assert out[out["source"] == "A"]["term"].tolist() == ["alpha", "beta", "gamma"]


def test_explicit_prior_strength():
    # a0 = 7 makes the prior the raw corpus counts: a = (3, 2, 1, 1).
    # alpha: log((2+3)/(3+7-2-3)) - log(3/(2+7-3)) = log(5/5) - log(3/6) = log 2;
    # var = 1/5 + 1/3 -> z = 0.693147 / 0.730297 = 0.949130
    out = distinctive_terms(HAND, MeasureConfig(), alpha0=7, ngram_range=(1, 1))
    a = out[out["source"] == "A"].set_index("term")
    assert a.loc["alpha", "z"] == pytest.approx(math.log(2) / math.sqrt(1 / 5 + 1 / 3))


def test_bigrams_stop_words_and_top_n():
    df = _sentences([
        ("A", "w", "The wolf warrior diplomacy of the ministry."),
        ("A", "w", "Wolf warrior diplomats spoke again and again."),
        ("B", "w", "Diplomacy and partnership and friendly cooperation."),
        ("B", "w", "Cooperation is a model of partnership."),
    ])
    out = distinctive_terms(df, MeasureConfig(n_terms=2))
    assert not out["term"].isin(["the", "and", "of", "is", "a"]).any()
    a = out[out["source"] == "A"]
    assert (a["z"] > 0).sum() <= 2 and (a["z"] < 0).sum() <= 2
    assert a.iloc[0]["term"] in ("wolf warrior", "wolf", "warrior")
    full = distinctive_terms(df, MeasureConfig(n_terms=50))
    bigram = full[(full["source"] == "A") & (full["term"] == "wolf warrior")].iloc[0]
    assert bigram["ngram"] == 2 and bigram["count"] == 2 and bigram["z"] > 0
    b_top = full[(full["source"] == "B") & (full["z"] > 0)]["term"].tolist()
    assert {"cooperation", "partnership"} <= set(b_top[:4])


def test_non_body_unassigned_and_empty_inputs():
    df = HAND.copy()
    df.loc[1, "is_body"] = False  # B's only sentence in t is a caption: t is now A-only
    assert distinctive_terms(df, MeasureConfig()).empty
    un = HAND.assign(theme="unassigned")
    assert distinctive_terms(un, MeasureConfig()).empty  # unassigned is not a theme to compare
    stop = _sentences([("A", "t", "the and of"), ("B", "t", "a an the")])
    out = distinctive_terms(stop, MeasureConfig())
    assert out.empty and list(out.columns) == COLUMNS


def test_deterministic():
    a = distinctive_terms(HAND, MeasureConfig())
    b = distinctive_terms(HAND.iloc[::-1], MeasureConfig())
    pd.testing.assert_frame_equal(a, b)
