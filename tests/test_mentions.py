"""A sentence that speaks to two named themes is framed under both, and counted once in emphasis."""
from __future__ import annotations

import numpy as np
import pandas as pd

from framescope.artifacts import read_table
from framescope.themes.mentions import mention_rows, secondary_themes

KEYS = ["climate", "border", "wolf"]


def test_secondary_themes_need_the_margin_and_skip_the_own_theme():
    z = np.array([[0.70, 0.60, 0.20],   # own climate; border clears 0.45 + 0.1
                  [0.50, 0.54, 0.80],   # own wolf; border 0.54 is below 0.55
                  [0.90, 0.30, 0.95],   # own topic_1 (edited); both named ones, strongest first
                  [0.10, 0.10, 0.10]])
    primary = ["climate", "wolf", "topic_1", "unassigned"]
    assert secondary_themes(z, KEYS, primary, 0.45, 0.1) == [["border"], [], ["wolf", "climate"], []]
    assert secondary_themes(z, KEYS, primary, 0.45, None) == [[], [], [], []]
    # a merge edit renames the secondary theme too, and never lists the sentence's own theme
    merged = secondary_themes(z, KEYS, ["wolf", "wolf", "wolf", "wolf"], 0.45, 0.1, {"climate": "wolf"})
    assert merged == [["border"], [], [], []]


def test_mention_rows_repeat_the_sentence_and_its_vector_per_theme():
    s = pd.DataFrame({"sentence_id": ["a", "b", "c"], "theme": ["wolf", "border", "climate"],
                      "also_themes": [["border", "bri"], [], None]})
    v = np.arange(6, dtype=np.float32).reshape(3, 2)
    rows, rv = mention_rows(s, v)
    assert rows["sentence_id"].tolist() == ["a", "a", "a", "b", "c"]
    assert rows["theme"].tolist() == ["wolf", "border", "bri", "border", "climate"]
    assert rows["mention"].tolist() == ["main", "also", "also", "main", "main"]
    assert rv.tolist() == [[0, 1], [0, 1], [0, 1], [2, 3], [4, 5]]
    plain, pv = mention_rows(s.drop(columns="also_themes"), v)
    assert plain["sentence_id"].tolist() == ["a", "b", "c"] and pv is v


def test_seed_frames_border_disputes_in_both_sources(seed_study):
    """The issue's expectation: border settlement is "resolved ... a solid bond of friendship" in
    Global Times against "obsessions over border disputes" in Foreign Policy."""
    s = read_table(seed_study, "sentences")
    fp = s[s["text"].str.contains("obsessions over border disputes")].iloc[0]
    assert fp["theme"] == "wolf_warrior_diplomacy"  # its main point, and its one theme in emphasis
    assert "border_settlement" in list(fp["also_themes"])
    e = read_table(seed_study, "emphasis").set_index(["source", "theme"])
    assert e.at[("foreign_policy", "border_settlement"), "n_sentences"] == 0
    tone = read_table(seed_study, "tone")
    border = tone[tone["theme"] == "border_settlement"].set_index("source")
    assert {"foreign_policy", "global_times"} <= set(border.index)
    assert border.at["foreign_policy", "mean"] < border.at["global_times", "mean"]
    pairs = read_table(seed_study, "contrasts")
    border_pairs = pairs[pairs["theme"] == "border_settlement"]
    assert len(border_pairs)
    texts = " ".join(border_pairs.astype(str).agg(" ".join, axis=1))
    assert "obsessions over border disputes" in texts
    notes = read_table(seed_study, "notes")
    border_notes = " ".join(notes.loc[notes["theme"] == "border_settlement", "note"])
    assert "theme found only in" not in border_notes  # compared across the two sources
