"""Distinctive terms: weighted log-odds ratio with an informative Dirichlet prior.

Monroe, Colaresi & Quinn (2008), "Fightin' Words", Political Analysis 16(4), eqs. 15-22. For
theme t and source s, corpus i is s's sentences in t and corpus j the other sources' sentences
in t. With counts y_w, totals n, and prior pseudo-counts a_w summing to a_0:

    delta_w = log((y_iw + a_w) / (n_i + a_0 - y_iw - a_w)) - log((y_jw + a_w) / (n_j + a_0 - y_jw - a_w))
    var_w  ~= 1 / (y_iw + a_w) + 1 / (y_jw + a_w)
    z_w     = delta_w / sqrt(var_w)

The prior's shape is the whole corpus (all measured sentences, every theme and source):
a_w = a_0 * corpus_w / corpus_total. Its strength a_0 defaults to n_i + n_j, the number of
term tokens in the theme, so the prior weighs as much as the comparison itself, whatever the
corpus size (the whole-corpus counts used as raw pseudo-counts would swamp a small theme).
Terms are unigrams and bigrams (scikit-learn ``CountVectorizer``, English stop words removed
before bigrams are formed, so "settlement of the border" also yields "settlement border").
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from framescope.measures.bootstrap import measured_sentences, theme_order
from framescope.config import MeasureConfig
from framescope.themes.codebook import UNASSIGNED

COLUMNS = ["theme", "source", "term", "z", "count", "count_other", "ngram"]


def log_odds_z(y_i: np.ndarray, y_j: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Monroe et al.'s log-odds ratio delta and its z-score for counts y_i vs y_j, prior alpha."""
    y_i, y_j, alpha = (np.asarray(a, dtype=float) for a in (y_i, y_j, alpha))
    a0, n_i, n_j = alpha.sum(), y_i.sum(), y_j.sum()
    delta = (np.log((y_i + alpha) / (n_i + a0 - y_i - alpha))
             - np.log((y_j + alpha) / (n_j + a0 - y_j - alpha)))
    var = 1.0 / (y_i + alpha) + 1.0 / (y_j + alpha)
    return delta, delta / np.sqrt(var)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
        COLUMNS, ["object", "object", "object", "float64", "int64", "int64", "int64"])})


class TermCounts(NamedTuple):
    """Term counts of some sentences: ``matrix[g, w]`` counts term ``vocab[w]`` in the sentences
    of theme × source ``groups.iloc[g]`` (a sparse int64 matrix; vocabulary sorted)."""
    vocab: np.ndarray
    groups: pd.DataFrame
    matrix: sparse.csr_matrix


def term_counts(sentences: pd.DataFrame, cfg: MeasureConfig,
                ngram_range: tuple[int, int] = (1, 2)) -> TermCounts | None:
    """Unigram and bigram counts per theme × source of the measured sentences (None if none).

    Tokens never cross a sentence, so the counts of partitions add up to the counts of the whole
    corpus, over the union of their vocabularies (:func:`terms_from_counts`).
    """
    body = measured_sentences(sentences, cfg.include_non_body, ("source", "theme", "text"))
    if body.empty:
        return None
    texts = body["text"].fillna("").astype(str).str.replace("\u2019", "'", regex=False).tolist()
    vectorizer = CountVectorizer(ngram_range=ngram_range, stop_words="english", lowercase=True)
    try:
        x = vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # nothing but stop words
        return None
    keys = pd.MultiIndex.from_arrays([body["theme"].to_numpy(), body["source"].to_numpy()])
    codes, groups = pd.factorize(keys, sort=True)
    member = sparse.csr_matrix((np.ones(len(codes), dtype=np.int64), (codes, np.arange(len(codes)))),
                               shape=(len(groups), len(codes)))
    return TermCounts(np.asarray(vectorizer.get_feature_names_out(), dtype=object),
                      pd.DataFrame({"theme": groups.get_level_values(0).astype(str),
                                    "source": groups.get_level_values(1).astype(str)}),
                      (member @ x).tocsr().astype(np.int64))


def combine_term_counts(parts: list[TermCounts | None]) -> TermCounts | None:
    """The sum of several :func:`term_counts` over the union of their vocabularies and groups."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    import pyarrow as pa
    import pyarrow.compute as pc

    union = pc.unique(pa.chunked_array([pa.array(p.vocab, type=pa.large_string()) for p in parts]))
    union = union.take(pc.sort_indices(union))  # code point order, as CountVectorizer sorts
    keys = pd.MultiIndex.from_frame(pd.concat([p.groups for p in parts], ignore_index=True))
    codes, groups = pd.factorize(keys, sort=True)
    rows, cols, vals, start = [], [], [], 0
    for p in parts:
        coo = p.matrix.tocoo()
        where = pc.index_in(pa.array(p.vocab, type=pa.large_string()), value_set=union).to_numpy()
        rows.append(codes[start:start + len(p.groups)][coo.row])
        cols.append(where[coo.col])
        vals.append(coo.data)
        start += len(p.groups)
    vocab = np.asarray(union.to_pylist(), dtype=object)
    matrix = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                               shape=(len(groups), len(vocab)), dtype=np.int64)
    return TermCounts(vocab, pd.DataFrame({"theme": groups.get_level_values(0).astype(str),
                                                          "source": groups.get_level_values(1).astype(str)}),
                      matrix)


def distinctive_terms(sentences: pd.DataFrame, cfg: MeasureConfig, alpha0: float | None = None,
                      ngram_range: tuple[int, int] = (1, 2)) -> pd.DataFrame:
    """Top ``cfg.n_terms`` over- and under-used terms of each source within each theme.

    Only themes with sentences from at least two sources are compared; a theme found in one
    source gets no rows (``notes_table`` says so), nor do ``unassigned`` sentences. ``count`` is the term's count in this
    source's sentences of the theme, ``count_other`` in the other sources' sentences of it;
    ``z`` > 0 means this source uses the term more than the others do.
    """
    return terms_from_counts(term_counts(sentences, cfg, ngram_range), cfg, alpha0)


def terms_from_counts(counts: TermCounts | None, cfg: MeasureConfig, alpha0: float | None = None) -> pd.DataFrame:
    """:func:`distinctive_terms` from term counts (:func:`term_counts`, or :func:`combine_term_counts`
    of several partitions)."""
    if counts is None:
        return _empty()
    vocab, x = counts.vocab, counts.matrix
    ngram = np.fromiter((t.count(" ") for t in vocab), dtype=np.int64, count=len(vocab)) + 1
    corpus = np.asarray(x.sum(axis=0)).ravel()
    prior_shape = corpus / corpus.sum()
    theme = counts.groups["theme"].to_numpy()
    source = counts.groups["source"].to_numpy()
    parts = []
    for t in theme_order(np.unique(theme)):
        if t == UNASSIGNED:  # not a theme: nothing framed in common to compare
            continue
        in_theme = theme == t
        sources = sorted(np.unique(source[in_theme]))
        if len(sources) < 2:
            continue
        y_theme = np.asarray(x[in_theme].sum(axis=0)).ravel()
        present = np.flatnonzero(y_theme > 0)
        a0 = float(alpha0) if alpha0 is not None else float(y_theme.sum())
        alpha = a0 * prior_shape
        for s in sources:
            y_i = np.asarray(x[in_theme & (source == s)].sum(axis=0)).ravel()
            y_j = y_theme - y_i
            _, z = log_odds_z(y_i, y_j, alpha)
            zp = z[present]
            for sign, ascending in ((1, False), (-1, True)):
                side = present[sign * zp > 0]
                if len(side) > cfg.n_terms:  # the n-th most extreme z, ties kept; sorted below
                    edge = np.partition(sign * z[side], len(side) - cfg.n_terms)[len(side) - cfg.n_terms]
                    side = side[sign * z[side] >= edge]
                cell = pd.DataFrame({"theme": t, "source": s, "term": vocab[side], "z": z[side],
                                     "count": y_i[side].astype("int64"), "count_other": y_j[side].astype("int64"),
                                     "ngram": ngram[side].astype("int64")})
                parts.append(cell.sort_values(["z", "term"], ascending=[ascending, True], kind="stable")
                                 .head(cfg.n_terms))
    if not parts:
        return _empty()
    out = pd.concat(parts, ignore_index=True)
    order = {t: i for i, t in enumerate(theme_order(out["theme"].unique()))}
    out = out.assign(_o=out["theme"].map(order)).sort_values(
        ["_o", "source", "z", "term"], ascending=[True, True, False, True], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)[COLUMNS]
