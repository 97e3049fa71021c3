"""Exemplars and contrast pairs: sentences that let a reader check the numbers by reading.

- Exemplars: within each theme × source cell, the sentences closest (cosine) to the cell's
  centroid, the mean of its L2-normalised vectors; ``score`` is that cosine.
- Contrast pairs: within each theme and for each pair of sources with sentences in it, the
  most similar cross-source sentence pairs, picked greedily by cosine so that no sentence
  appears in two pairs of the same source pair. Pairs of identical text (syndicated copies)
  are skipped: they show no difference in framing. Themes found in one source have none, and
  neither do ``unassigned`` sentences (they share no subject). ``similarity`` is shown so that
  weak pairs can be read as such; no floor is imposed because its scale depends on the model.

Both take ``vectors`` row-aligned with ``sentences`` (the run's sentence vectors).
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from framescope.bootstrap import UNASSIGNED, measured_sentences, theme_order
from framescope.config import MeasureConfig
from framescope.errors import InputError

EXEMPLAR_COLUMNS = ["theme", "source", "rank", "sentence_id", "text", "score", "tone"]
CONTRAST_COLUMNS = ["theme", "source_a", "source_b", "sentence_id_a", "sentence_id_b", "text_a", "text_b",
                    "similarity", "tone_a", "tone_b"]
_BLOCK = 1024  # rows of the similarity matrix held in memory at once


def _aligned(sentences: pd.DataFrame, vectors: np.ndarray, cfg: MeasureConfig) -> tuple[pd.DataFrame, np.ndarray]:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(sentences):
        raise InputError(f"{len(vectors)} sentence vectors for {len(sentences)} sentences: they must be row-aligned")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms > 0, norms, 1.0)
    df = sentences.reset_index(drop=True).assign(_row=np.arange(len(sentences)))
    body = measured_sentences(df, cfg.include_non_body, ("source", "theme", "sentence_id", "text"))
    if "tone" not in body.columns:
        from framescope.tone import tone_scores

        body = body.assign(tone=tone_scores(body))
    return body.sort_values("sentence_id", kind="stable"), vectors


_FLOAT = {"score", "tone", "similarity", "tone_a", "tone_b"}


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c in _FLOAT else "int64" if c == "rank" else "object")
                         for c in columns})


def exemplars_table(sentences: pd.DataFrame, vectors: np.ndarray, cfg: MeasureConfig) -> pd.DataFrame:
    """The ``cfg.n_exemplars`` sentences closest to each theme × source centroid."""
    body, vectors = _aligned(sentences, vectors, cfg)
    rows = []
    for theme in theme_order(body["theme"].unique()):
        in_theme = body[body["theme"] == theme]
        for source in sorted(in_theme["source"].unique()):
            cell = in_theme[in_theme["source"] == source]
            v = vectors[cell["_row"].to_numpy()]
            centroid = v.mean(axis=0)
            norm = np.linalg.norm(centroid)
            score = v @ (centroid / norm) if norm > 0 else np.zeros(len(v))
            order = np.lexsort((cell["sentence_id"].to_numpy(), -np.round(score, 6)))[:cfg.n_exemplars]
            for rank, i in enumerate(order, start=1):
                r = cell.iloc[i]
                rows.append((theme, source, rank, r["sentence_id"], r["text"], float(score[i]), float(r["tone"])))
    if not rows:
        return _empty(EXEMPLAR_COLUMNS)
    return pd.DataFrame(rows, columns=EXEMPLAR_COLUMNS)


def _ranked_candidates(va: np.ndarray, vb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (flat index i * len(vb) + j, cosine), most similar first.

    Each row of ``va`` keeps its ``2k + 8`` most similar rows of ``vb``: while fewer than k pairs
    are chosen, fewer than k columns are used, so the greedy choice over these candidates is the
    greedy choice over all pairs (the margin covers skipped identical texts). The similarity
    matrix is built in row blocks, so memory stays bounded on cells of many thousand sentences.
    """
    n_b = len(vb)
    keep = min(n_b, 2 * k + 8)
    flat, sims = [], []
    for start in range(0, len(va), _BLOCK):
        block = va[start:start + _BLOCK] @ vb.T
        if keep < n_b:
            top = np.argpartition(-block, keep - 1, axis=1)[:, :keep]
        else:
            top = np.broadcast_to(np.arange(n_b), block.shape)
        rows = np.arange(start, start + len(block))[:, None]
        flat.append((rows * n_b + top).ravel())
        sims.append(np.take_along_axis(block, top, axis=1).ravel())
    flat_idx, sim = np.concatenate(flat), np.concatenate(sims)
    order = np.lexsort((flat_idx, -np.round(sim, 6)))  # ties: the earlier pair first
    return flat_idx[order], sim[order]


def _greedy_pairs(va: np.ndarray, vb: np.ndarray, ta: np.ndarray, tb: np.ndarray,
                  k: int) -> list[tuple[int, int, float]]:
    """Most similar pairs, no sentence twice, identical texts (syndicated copies) skipped."""
    used_a, used_b, out = set(), set(), []
    flat_idx, sim = _ranked_candidates(va, vb, k)
    for c, value in zip(flat_idx, sim):
        i, j = divmod(int(c), len(vb))
        if i in used_a or j in used_b or ta[i] == tb[j]:
            continue
        out.append((i, j, float(value)))
        used_a.add(i)
        used_b.add(j)
        if len(out) == k:
            break
    return out


def contrasts_table(sentences: pd.DataFrame, vectors: np.ndarray, cfg: MeasureConfig) -> pd.DataFrame:
    """Up to ``cfg.n_contrasts`` most similar cross-source sentence pairs per theme × source pair."""
    body, vectors = _aligned(sentences, vectors, cfg)
    norm_text = body["text"].astype(str).str.split().str.join(" ").str.lower()
    rows = []
    for theme in theme_order(body["theme"].unique()):
        if theme == UNASSIGNED:  # unassigned sentences share no subject to contrast
            continue
        in_theme = body[body["theme"] == theme]
        for a, b in combinations(sorted(in_theme["source"].unique()), 2):
            ca, cb = in_theme[in_theme["source"] == a], in_theme[in_theme["source"] == b]
            pairs = _greedy_pairs(vectors[ca["_row"].to_numpy()], vectors[cb["_row"].to_numpy()],
                                  norm_text.loc[ca.index].to_numpy(), norm_text.loc[cb.index].to_numpy(),
                                  cfg.n_contrasts)
            for i, j, value in pairs:
                ra, rb = ca.iloc[i], cb.iloc[j]
                rows.append((theme, a, b, ra["sentence_id"], rb["sentence_id"], ra["text"], rb["text"],
                             value, float(ra["tone"]), float(rb["tone"])))
    if not rows:
        return _empty(CONTRAST_COLUMNS)
    return pd.DataFrame(rows, columns=CONTRAST_COLUMNS)
