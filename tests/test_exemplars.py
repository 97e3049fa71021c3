"""Exemplars (closest to the cell centroid) and contrast pairs (greedy cross-source matches)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from framescope.config import MeasureConfig
from framescope.errors import InputError
from framescope.measures.exemplars import CONTRAST_COLUMNS, EXEMPLAR_COLUMNS, contrasts_table, exemplars_table


def _table(rows):
    df = pd.DataFrame(rows, columns=["sentence_id", "source", "theme", "text", "tone", "vec"])
    df["doc_id"], df["paragraph"], df["is_body"] = df["source"], range(len(df)), True
    return df.drop(columns="vec"), np.array(df["vec"].tolist(), dtype=np.float32)


ROWS = [
    ("s1", "A", "t", "a one", 0.1, [1.0, 0.0, 0.0]),
    ("s2", "A", "t", "a two", 0.2, [0.0, 1.0, 0.0]),
    ("s3", "B", "t", "b one", -0.3, [0.6, 0.8, 0.0]),
    ("s4", "B", "t", "b two", 0.4, [0.96, 0.28, 0.0]),
    ("s5", "C", "u", "c one", 0.0, [0.0, 0.0, 1.0]),
]


def test_exemplars_closest_to_centroid_by_hand():
    rows = [("e1", "A", "t", "x1", 0.5, [1.0, 0.0]), ("e2", "A", "t", "x2", 0.0, [0.8, 0.6]),
            ("e3", "A", "t", "x3", -0.5, [0.0, 1.0])]
    df, vec = _table(rows)
    # centroid (0.6, 0.5333) has unit vector (0.74741, 0.66436): cosines 0.74741 (e1),
    # 0.8 * 0.74741 + 0.6 * 0.66436 = 0.99655 (e2), 0.66436 (e3)
    out = exemplars_table(df, vec, MeasureConfig(n_exemplars=3))
    assert list(out.columns) == EXEMPLAR_COLUMNS
    assert out["sentence_id"].tolist() == ["e2", "e1", "e3"] and out["rank"].tolist() == [1, 2, 3]
    assert out["score"].tolist() == pytest.approx([0.99655, 0.74741, 0.66436], abs=1e-5)
    assert out["tone"].tolist() == [0.0, 0.5, -0.5]
    assert len(exemplars_table(df, vec, MeasureConfig(n_exemplars=1))) == 1


def test_exemplars_per_cell_and_sorted():
    df, vec = _table(ROWS)
    out = exemplars_table(df, vec, MeasureConfig(n_exemplars=5))
    assert list(dict.fromkeys(zip(out["theme"], out["source"]))) == [("t", "A"), ("t", "B"), ("u", "C")]
    assert out[out["source"] == "C"]["score"].tolist() == pytest.approx([1.0])  # a one-sentence cell


def test_contrast_pairs_greedy_by_hand():
    df, vec = _table(ROWS)
    # cosines: s1-s3 0.6, s1-s4 0.96, s2-s3 0.8, s2-s4 0.28 -> take s1-s4, then s2-s3
    out = contrasts_table(df, vec, MeasureConfig(n_contrasts=5))
    assert list(out.columns) == CONTRAST_COLUMNS
    assert out[["sentence_id_a", "sentence_id_b"]].values.tolist() == [["s1", "s4"], ["s2", "s3"]]
    assert out["similarity"].tolist() == pytest.approx([0.96, 0.8], abs=1e-6)
    assert out.iloc[0][["source_a", "source_b", "tone_a", "tone_b"]].tolist() == ["A", "B", 0.1, 0.4]
    assert set(out["theme"]) == {"t"}  # theme u is in source C only: no pair
    assert len(contrasts_table(df, vec, MeasureConfig(n_contrasts=1))) == 1


def test_identical_texts_are_not_contrasts():
    rows = [r if r[0] != "s4" else ("s4", "B", "t", "A ONE ", 0.4, r[5]) for r in ROWS]
    df, vec = _table(rows)
    out = contrasts_table(df, vec, MeasureConfig())
    assert out[["sentence_id_a", "sentence_id_b"]].values.tolist() == [["s2", "s3"]]


def test_single_source_and_unassigned_have_no_contrasts():
    df, vec = _table([r for r in ROWS if r[1] == "A"])
    out = contrasts_table(df, vec, MeasureConfig())
    assert out.empty and list(out.columns) == CONTRAST_COLUMNS
    df, vec = _table(ROWS)
    assert contrasts_table(df.assign(theme="unassigned"), vec, MeasureConfig()).empty


def test_vectors_must_be_row_aligned():
    df, vec = _table(ROWS)
    with pytest.raises(InputError, match="row-aligned"):
        exemplars_table(df, vec[:3], MeasureConfig())


def test_non_body_rows_keep_alignment():
    df, vec = _table(ROWS)
    df.loc[0, "is_body"] = False  # s1 is a caption: s2-s4 (0.28) and s2-s3 compete for s2
    out = contrasts_table(df, vec, MeasureConfig())
    assert out[["sentence_id_a", "sentence_id_b"]].values.tolist() == [["s2", "s3"]]
