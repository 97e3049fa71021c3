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
    return _log_odds(y_i, y_j, alpha, alpha.sum(), y_i.sum(), y_j.sum())


def _log_odds(y_i, y_j, alpha, a0, n_i, n_j) -> tuple[np.ndarray, np.ndarray]:
    """:func:`log_odds_z` for some terms, with the totals (a0, n_i, n_j) of the whole vocabulary."""
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
    vocab, x = counts.vocab, counts.matrix.tocsr()
    ngram = np.fromiter((t.count(" ") for t in vocab), dtype=np.int64, count=len(vocab)) + 1
    corpus = np.asarray(x.sum(axis=0)).ravel()
    prior_shape = corpus / corpus.sum()
    rank = np.empty(len(vocab), dtype=np.int64)  # a term's place in the order of terms (ties by term)
    rank[np.argsort(vocab.astype(str), kind="stable")] = np.arange(len(vocab))
    theme = counts.groups["theme"].to_numpy()
    source = counts.groups["source"].to_numpy()
    parts = []
    for t in theme_order(np.unique(theme)):
        if t == UNASSIGNED:  # not a theme: nothing framed in common to compare
            continue
        rows = np.flatnonzero(theme == t)
        rows = rows[np.argsort(source[rows], kind="stable")]
        if len(np.unique(source[rows])) < 2:
            continue
        y_theme = np.asarray(x[np.sort(rows)].sum(axis=0)).ravel()
        a0 = float(alpha0) if alpha0 is not None else float(y_theme.sum())
        alpha = a0 * prior_shape
        cell = _theme_terms(t, source[rows], x[rows], y_theme, alpha, rank, cfg.n_terms)
        parts.append({**cell, "order": np.full(len(cell["z"]), len(parts), dtype=np.int64)})
    if not parts:
        return _empty()
    cells = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    out = pd.DataFrame({"theme": cells["theme"].tolist(), "source": cells["source"].tolist(),
                        "term": vocab[cells["term"]].tolist(), "z": cells["z"],
                        "count": cells["count"].astype("int64"), "count_other": cells["count_other"].astype("int64"),
                        "ngram": ngram[cells["term"]].astype("int64"), "_o": cells["order"]}, columns=[*COLUMNS, "_o"])
    out = out.sort_values(["_o", "source", "z", "term"], ascending=[True, True, False, True], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)[COLUMNS]


def _theme_terms(theme: str, sources: np.ndarray, x: sparse.csr_matrix, y_theme: np.ndarray, alpha: np.ndarray,
                 rank: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """The ``k`` most over- and under-used terms of each source of one theme (``x``: one row per
    source, in ``sources`` order), as arrays of the table's columns.

    Linear in the theme's sources and term counts: a source's z of a term it uses is computed from
    its count; the z of a term it does not use depends only on the source's number of term tokens,
    so it is computed once for each distinct number (``_unused_order``) and each source takes the
    first terms of that ranking that it does not use. The result is the one of computing every
    term's z for every source and sorting (z, then term)."""
    a0, n_theme = alpha.sum(), y_theme.sum()
    present = np.flatnonzero(y_theme > 0)
    yt, al = y_theme[present], alpha[present]
    xp = x[:, present].tocoo()
    n_i = np.asarray(x.sum(axis=1), dtype=float).ravel()
    # every term a source uses: its exact z
    u_src, u_col, u_y = xp.row.astype(np.int64), xp.col.astype(np.int64), xp.data.astype(float)
    _, u_z = _log_odds(u_y, yt[u_col] - u_y, al[u_col], a0, n_i[u_src], n_theme - n_i[u_src])
    n_used = np.bincount(u_src, minlength=len(sources))
    cand_src, cand_col, cand_z, cand_y = [u_src], [u_col], [u_z], [u_y]
    # the terms it does not use: the head of the ranking for its number of tokens
    for n in np.unique(n_i):
        members = np.flatnonzero(n_i == n)
        _, z0 = _log_odds(np.zeros(len(present)), yt, al, a0, n, n_theme - n)
        for sign in (1, -1):
            side = np.flatnonzero(sign * z0 > 0)
            side = side[np.lexsort((rank[present[side]], -sign * z0[side]))]
            for i in members:
                head = side[:k + n_used[i]]
                cand_src.append(np.full(len(head), i, dtype=np.int64))
                cand_col.append(head)
                cand_z.append(z0[head])
                cand_y.append(np.zeros(len(head)))
    src, col, z, y = (np.concatenate(c) for c in (cand_src, cand_col, cand_z, cand_y))
    # an unused-term candidate that the source does use is dropped (its exact z is among the used)
    used_keys = u_src * len(present) + u_col
    keep = np.ones(len(src), dtype=bool)
    keep[len(u_src):] = ~np.isin(src[len(u_src):] * len(present) + col[len(u_src):], used_keys)
    src, col, z, y = src[keep], col[keep], z[keep], y[keep]
    out = []
    for sign in (1, -1):
        on = sign * z > 0
        s_, c_, z_, y_ = src[on], col[on], z[on], y[on]
        order = np.lexsort((rank[present[c_]], -sign * z_, s_))
        s_, c_, z_, y_ = s_[order], c_[order], z_[order], y_[order]
        first = np.r_[0, np.flatnonzero(s_[1:] != s_[:-1]) + 1] if len(s_) else np.zeros(0, dtype=np.int64)
        place = np.arange(len(s_)) - np.repeat(first, np.diff(np.r_[first, len(s_)]))
        top = place < k
        out.append((s_[top], c_[top], z_[top], y_[top]))
    s_, c_, z_, y_ = (np.concatenate(a) for a in zip(*out))
    return {"theme": np.full(len(s_), theme, dtype=object), "source": np.asarray(sources, dtype=object)[s_],
            "term": present[c_], "z": z_, "count": y_, "count_other": yt[c_] - y_}
