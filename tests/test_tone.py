"""Tone: VADER per sentence, cell means with a cluster-bootstrap CI and a t floor."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from framescope.config import MeasureConfig
from framescope.errors import InputError
from framescope.measures.tone import COLUMNS, tone_scores, tone_table


def test_vader_scores_sentences():
    df = pd.DataFrame({"text": [
        "The partnership is a great success and we are very happy with it.",
        "The war was a horrible disaster that killed thousands.",
        "The meeting is on Tuesday.",
        None,
    ]}, index=[10, 11, 12, 13])
    tone = tone_scores(df)
    assert list(tone.index) == [10, 11, 12, 13]
    assert tone[10] > 0.5 and tone[11] < -0.5 and tone[12] == 0.0 and tone[13] == 0.0
    assert tone.between(-1, 1).all()


def _cell(theme, source, paragraphs):
    """paragraphs: {paragraph: [tone, ...]} -> rows of one theme x source cell."""
    return [dict(theme=theme, source=source, doc_id=f"{source}-d", paragraph=p, tone=t, is_body=True, text="x")
            for p, tones in paragraphs.items() for t in tones]


def test_cell_mean_and_t_floor_by_hand():
    # cluster sums S = (1.0, -0.1, 0.6), sizes N = (2, 1, 2): mean = 1.5 / 5 = 0.3.
    # Linearised residuals S - mean*N = (0.4, -0.4, 0.0), sum of squares 0.32; C = 3, Nbar = 5/3,
    # se = sqrt(0.32 / (3 * 2 * 25/9)) = 0.138564; t(0.975, df=2) = 4.302653 -> half-width 0.596192.
    # Bootstrap means can only range over cluster means (-0.1 .. 0.5), so the t interval decides.
    df = pd.DataFrame(_cell("t", "A", {0: [0.5, 0.5], 1: [-0.1], 2: [0.2, 0.4]}))
    out = tone_table(df, MeasureConfig())
    assert list(out.columns) == COLUMNS
    row = out.iloc[0]
    assert row["n_sentences"] == 5 and row["mean"] == pytest.approx(0.3)
    half = 4.302652729749462 * math.sqrt(0.32 / (3 * 2 * 25 / 9))
    assert row["ci_low"] == pytest.approx(0.3 - half)
    assert row["ci_high"] == pytest.approx(0.3 + half)
    assert not row["small_cell"]  # 5 sentences reach min_cell = 5

def test_agreeing_sentences_do_not_give_a_zero_width_interval():
    # cell (t, A): two neutral sentences in two paragraphs; the corpus also holds cell (u, B)
    # with tones -0.5 .. 0.5. Tones of all six: 0, 0, -0.5, 0.5, -0.5, 0.5 -> mean 0,
    # sample SD sqrt(1.0 / 5) = 0.447214; floor se = 0.447214 / sqrt(2) = 0.316228;
    # t(0.975, df=1) = 12.7062 -> the whole range [-1, 1] after clipping.
    df = pd.DataFrame(_cell("t", "A", {0: [0.0], 1: [0.0]})
                      + _cell("u", "B", {0: [-0.5], 1: [0.5], 2: [-0.5], 3: [0.5]}))
    row = tone_table(df, MeasureConfig()).set_index(["theme", "source"]).loc[("t", "A")]
    assert row["mean"] == 0.0 and (row["ci_low"], row["ci_high"]) == (-1.0, 1.0)


def test_single_paragraph_cell_has_the_whole_range():
    df = pd.DataFrame(_cell("t", "A", {0: [0.9, 0.8, 0.7]}))
    row = tone_table(df, MeasureConfig()).iloc[0]
    assert row["mean"] == pytest.approx(0.8)
    assert (row["ci_low"], row["ci_high"]) == (-1.0, 1.0)
    assert row["small_cell"]


def test_many_paragraphs_give_a_narrow_interval_inside_bounds():
    df = pd.DataFrame(_cell("t", "A", {p: [0.5 + 0.01 * (p % 3)] for p in range(40)}))
    row = tone_table(df, MeasureConfig()).iloc[0]
    assert -1 <= row["ci_low"] <= row["mean"] <= row["ci_high"] <= 1
    assert row["ci_high"] - row["ci_low"] < 0.02 and not row["small_cell"]


def test_cells_sorted_unassigned_last_non_body_ignored_and_deterministic():
    rows = (_cell("unassigned", "A", {0: [0.1]}) + _cell("b", "B", {0: [0.2], 1: [0.4]})
            + _cell("b", "A", {0: [-0.5], 1: [-0.3]}) + _cell("a", "A", {0: [0.0]}))
    rows.append(dict(theme="a", source="A", doc_id="A-d", paragraph=9, tone=1.0, is_body=False, text="caption"))
    df = pd.DataFrame(rows)
    out = tone_table(df, MeasureConfig())
    assert list(zip(out["theme"], out["source"])) == [("a", "A"), ("b", "A"), ("b", "B"), ("unassigned", "A")]
    assert out.set_index(["theme", "source"]).loc[("a", "A"), "mean"] == 0.0  # caption left out
    pd.testing.assert_frame_equal(out, tone_table(df.iloc[::-1], MeasureConfig()))


def test_tone_is_computed_when_missing_and_text_is_required():
    df = pd.DataFrame(_cell("t", "A", {0: [0.0], 1: [0.0]})).drop(columns="tone")
    df["text"] = ["What a wonderful, happy day.", "A truly excellent result."]
    assert tone_table(df, MeasureConfig()).iloc[0]["mean"] > 0.5
    with pytest.raises(InputError, match="text"):
        tone_scores(pd.DataFrame({"sentence": ["x"]}))


def test_tone_sd_combined_from_partitions():
    """The corpus-wide tone SD (the floor of every tone interval) from per-partition moments:
    one part gives pandas' own SD bit for bit, several parts the same SD to rounding."""
    import numpy as np

    from framescope.measures.bootstrap import spread_from_moments, spread_moments

    tone = pd.Series(np.round(np.random.default_rng(3).uniform(-1, 1, 5001), 4))
    assert spread_from_moments([spread_moments(tone.to_numpy())]) == tone.std(ddof=1)
    parts = [spread_moments(tone.iloc[a:b].to_numpy()) for a, b in ((0, 1), (1, 2000), (2000, 2000), (2000, 5001))]
    assert spread_from_moments(parts) == pytest.approx(tone.std(ddof=1), rel=1e-12)
    assert spread_from_moments([spread_moments(np.array([0.5]))]) == 0.0


def test_scoring_over_two_processes_gives_one_process_scores():
    """A big corpus's tone is scored over several processes (``--workers``): the same score for
    every sentence, in order, and a repeated text scored once."""
    from conftest import ROOT

    seed = pd.read_parquet(ROOT / "artifacts" / "seed" / "sentences.parquet")["text"].tolist()
    texts = [f"{lead} {t}" for lead in ("Sadly,", "Happily,", "We are outraged:") for t in seed] + seed * 2
    df = pd.DataFrame({"text": texts})
    one = tone_scores(df, workers=1)
    two = tone_scores(df, workers=2, min_parallel=10)
    pd.testing.assert_series_equal(two, one, check_exact=True)
    assert one.iloc[-1] == one.iloc[len(texts) - len(seed) - 1]  # the last text twice, one score
    assert one.iloc[:len(seed)].mean() < one.iloc[len(seed):2 * len(seed)].mean()  # "Sadly" < "Happily"
