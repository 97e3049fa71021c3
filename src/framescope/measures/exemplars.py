"""Exemplars and contrast pairs: sentences that let a reader check the numbers by reading.

- Exemplars: within each theme × source cell, the sentences closest (cosine) to the cell's
  centroid, the mean of its L2-normalised vectors; ``score`` is that cosine.
- Contrast pairs: within each theme and for each pair of sources with sentences in it, the
  most similar cross-source sentence pairs, picked greedily by cosine so that no sentence
  appears in two pairs of the same source pair. Pairs of identical text (syndicated copies)
  are skipped: they show no difference in framing. Themes found in one source have none, and
  neither do ``unassigned`` sentences (they share no subject). ``similarity`` is shown so that
  weak pairs can be read as such; no floor is imposed because its scale depends on the model.

Both take ``vectors`` row-aligned with ``sentences`` (the run's sentence vectors). Each is also
split into per-partition candidates and their merge (``centroid_sums`` -> ``combine_centroids``
-> ``exemplar_candidates`` -> ``exemplars_from_candidates``; ``contrast_candidates`` ->
``contrasts_from_candidates``), which is how both engines compute a study: see the dask section
of docs/performance.md for why the merge gives the whole-table answer.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from framescope.embed.encoders import row_dot
from framescope.measures.bootstrap import measured_sentences, theme_order
from framescope.measures.divergence import MAX_PAIRED_SOURCES
from framescope.config import MeasureConfig
from framescope.errors import InputError
from framescope.themes.codebook import UNASSIGNED

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
        from framescope.measures.tone import tone_scores

        body = body.assign(tone=tone_scores(body))
    return body.sort_values("sentence_id", kind="stable"), vectors


_FLOAT = {"score", "tone", "similarity", "tone_a", "tone_b"}
_CELL = ["theme", "source"]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c in _FLOAT else "int64" if c == "rank" else "object")
                         for c in columns})


def _cells(body: pd.DataFrame, skip_unassigned: bool = False):
    """(theme, source, rows of the cell in sentence-id order) in a stable order."""
    for (theme, source), cell in body.groupby(["theme", "source"], sort=True):
        if not (skip_unassigned and theme == UNASSIGNED):
            yield theme, source, cell


def _cell_positions(body: pd.DataFrame):
    """(theme, source, positions of the cell's rows in ``body``, in sentence-id order), cells in
    the order of :func:`_cells`: numpy positions, no table per cell, so thousands of cells cost
    little more than one."""
    where = body.groupby(["theme", "source"], sort=True).indices
    for theme, source in sorted(where):
        yield theme, source, where[(theme, source)]


# --------------------------------------------------------------------------- exemplars

def centroid_sums(sentences: pd.DataFrame, vectors: np.ndarray, cfg: MeasureConfig) -> tuple[pd.DataFrame, np.ndarray]:
    """Per theme × source: the number of sentences (``n``) and the float32 sum of their unit
    vectors (rows of the returned matrix), summed in sentence-id order."""
    body, vectors = _aligned(sentences, vectors, cfg)
    rows = body["_row"].to_numpy()
    keys, sums = [], []
    for theme, source, pos in _cell_positions(body):
        v = vectors[rows[pos]]
        keys.append((theme, source, len(v)))
        sums.append(v.sum(axis=0))
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    return (pd.DataFrame(keys, columns=[*_CELL, "n"]),
            np.stack(sums) if sums else np.zeros((0, dim), dtype=np.float32))


def combine_centroids(parts: list[tuple[pd.DataFrame, np.ndarray]]) -> dict[tuple[str, str], np.ndarray]:
    """Centroid (mean unit vector, float32) of each theme × source from :func:`centroid_sums` of
    the partitions, added in the order given (both engines give the partitions in corpus order)."""
    total: dict[tuple[str, str], list] = {}
    for keys, sums in parts:
        for theme, source, n, s in zip(keys["theme"], keys["source"], keys["n"], sums):
            if (theme, source) in total:
                acc = total[(theme, source)]
                acc[0], acc[1] = acc[0] + s, acc[1] + int(n)
            else:
                total[(theme, source)] = [s.copy(), int(n)]
    return {k: s / n for k, (s, n) in total.items()}


def _order(score: np.ndarray, ids: np.ndarray) -> np.ndarray:
    return np.lexsort((ids, -np.round(score, 6)))


def exemplar_candidates(sentences: pd.DataFrame, vectors: np.ndarray, cfg: MeasureConfig,
                        centroids: dict[tuple[str, str], np.ndarray]) -> pd.DataFrame:
    """The ``cfg.n_exemplars`` sentences of each cell closest to its centroid, among these
    sentences: the cell's exemplars are among the candidates of its partitions."""
    body, vectors = _aligned(sentences, vectors, cfg)
    rows, ids = body["_row"].to_numpy(), body["sentence_id"].to_numpy()
    picked, themes, sources, scores = [], [], [], []
    for theme, source, pos in _cell_positions(body):
        v = vectors[rows[pos]]
        centroid = centroids[(theme, source)]
        norm = np.linalg.norm(centroid)
        score = row_dot(v, centroid / norm) if norm > 0 else np.zeros(len(v), dtype=np.float32)
        top = _order(score, ids[pos])[:cfg.n_exemplars]
        picked.append(pos[top])
        scores.append(score[top])
        themes += [theme] * len(top)
        sources += [source] * len(top)
    if not picked:
        return pd.DataFrame()
    at = np.concatenate(picked)
    return pd.DataFrame({"theme": themes, "source": sources, "sentence_id": ids[at],
                         "text": body["text"].to_numpy()[at], "score": np.concatenate(scores),
                         "tone": body["tone"].to_numpy(float)[at]})


def exemplars_from_candidates(candidates: pd.DataFrame, cfg: MeasureConfig) -> pd.DataFrame:
    """The exemplars table from :func:`exemplar_candidates` of the partitions, stacked: each
    cell's ``cfg.n_exemplars`` best candidates (score rounded to 6 decimals, then sentence id),
    cells by theme (``theme_order``) and source."""
    if candidates.empty:
        return _empty(EXEMPLAR_COLUMNS)
    c = candidates
    theme_rank = {t: i for i, t in enumerate(theme_order(c["theme"].unique()))}
    t_key = c["theme"].map(theme_rank).to_numpy()
    s_key = pd.factorize(c["source"], sort=True)[0]
    i_key = pd.factorize(c["sentence_id"], sort=True)[0]
    score = c["score"].to_numpy()
    order = np.lexsort((i_key, -np.round(score, 6), s_key, t_key))
    cell = t_key[order] * (s_key.max() + 1) + s_key[order]
    first = np.r_[0, np.flatnonzero(cell[1:] != cell[:-1]) + 1]
    rank = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)])) + 1
    order, rank = order[rank <= cfg.n_exemplars], rank[rank <= cfg.n_exemplars]
    if not len(order):
        return _empty(EXEMPLAR_COLUMNS)
    return pd.DataFrame({"theme": c["theme"].to_numpy(dtype=object)[order].tolist(),
                         "source": c["source"].to_numpy(dtype=object)[order].tolist(),
                         "rank": rank.astype("int64"),
                         "sentence_id": c["sentence_id"].to_numpy(dtype=object)[order].tolist(),
                         "text": c["text"].to_numpy(dtype=object)[order].tolist(),
                         "score": score[order].astype("float64"), "tone": c["tone"].to_numpy(float)[order]},
                        columns=EXEMPLAR_COLUMNS)


def exemplars_table(sentences: pd.DataFrame, vectors: np.ndarray, cfg: MeasureConfig) -> pd.DataFrame:
    """The ``cfg.n_exemplars`` sentences closest to each theme × source centroid."""
    centroids = combine_centroids([centroid_sums(sentences, vectors, cfg)])
    return exemplars_from_candidates(exemplar_candidates(sentences, vectors, cfg, centroids), cfg)


# --------------------------------------------------------------------------- contrast pairs

def _top_columns(block: np.ndarray, keep: int) -> np.ndarray:
    if keep >= block.shape[1]:
        return np.broadcast_to(np.arange(block.shape[1]), block.shape)
    return np.argpartition(-block, keep - 1, axis=1)[:, :keep]


class _RowBest:
    """For each sentence of source a in a theme: its ``keep`` most similar sentences of source b
    seen so far (similarity, and the id and tone of the b sentence); identical texts
    (syndicated copies) are never kept, empty places hold -inf."""

    def __init__(self, n_a: int, keep: int, n_info: int = 2):
        self.keep = keep
        self.sim = np.full((n_a, keep), -np.inf, dtype=np.float32)
        self.info = [np.full((n_a, keep), None, dtype=object) for _ in range(n_info)]

    def add(self, va: np.ndarray, ca: np.ndarray, vb: np.ndarray, cb: np.ndarray, info_b: list[np.ndarray],
            sa: np.ndarray | None = None, sb: np.ndarray | None = None):
        """Compare with more b sentences (``vb``; ``ca``/``cb`` code the normalised texts, and
        ``sa``/``sb``, when given, the sources: a pair from one source is never kept)."""
        for start in range(0, len(va), _BLOCK):
            block = va[start:start + _BLOCK] @ vb.T
            block[ca[start:start + _BLOCK, None] == cb[None, :]] = -np.inf
            if sa is not None:
                block[sa[start:start + _BLOCK, None] == sb[None, :]] = -np.inf
            top = _top_columns(block, self.keep)
            rows = slice(start, start + len(block))
            sim = np.concatenate([self.sim[rows], np.take_along_axis(block, top, axis=1)], axis=1)
            best = _top_columns(sim, self.keep)
            self.sim[rows] = np.take_along_axis(sim, best, axis=1)
            for old, col in zip(self.info, info_b):
                both = np.concatenate([old[rows], col[top]], axis=1)
                old[rows] = np.take_along_axis(both, best, axis=1)


def _ranked(pairs: pd.DataFrame, by_source: bool = False) -> pd.DataFrame:
    """Pairs in the greedy order: similarity rounded to 6 decimals (float32), then sentence ids
    (with ``by_source``, first by ``source_a``: each source's list in the greedy order)."""
    r = np.round(pairs["similarity"].to_numpy(np.float32), 6)
    keys = [pairs["sentence_id_b"].to_numpy(dtype=object), pairs["sentence_id_a"].to_numpy(dtype=object), -r]
    if by_source:  # np.lexsort: stable, the last key first; a few times faster than sort_values on small tables
        keys.append(pairs["source_a"].to_numpy(dtype=object))
    return pairs.iloc[np.lexsort(keys)]


def contrast_candidates(sentences: pd.DataFrame, vectors: np.ndarray, cfg: MeasureConfig, others,
                        limit: int | None = None, paired: bool = True) -> dict[tuple, tuple[pd.DataFrame, bool]]:
    """Candidate contrast pairs whose first sentence is one of these (partition p's) sentences.

    ``others`` is a sequence of ``(sentences, vectors)`` of every partition in corpus order (or a
    callable from partition number to it, with ``len``), including this one; they are read one
    at a time. Each sentence of source a keeps its ``2k + 8`` most similar sentences of source b
    (b after a by name) over all partitions, and each sentence of b its ``2k + 8`` best pairs
    among these; the candidates are ranked in the greedy order and cut at ``limit`` per theme ×
    source pair (the flag says whether the cut removed any).

    Why nothing needed is lost: when the greedy choice takes a pair, fewer than k pairs are
    taken, so fewer than k of the pairs ranked before it in its row (or its column) were
    passed over for a used partner; it is among the first k of its row and of its column, over
    all pairs and so over any subset that holds it. Why :func:`contrast_cap` rows suffice: each
    sentence appears at most ``2k + 8`` times in a partition's list, so each pair taken rules out
    at most ``2 (2k + 8)`` of its rows; the first ``contrast_cap(k)`` of them always settle k pairs.

    With ``paired=False`` (a study of more than ``divergence.MAX_PAIRED_SOURCES`` sources, see
    :func:`paired_contrasts`) each source is matched with all the others at once instead of one
    other source at a time: :func:`rest_contrast_candidates`.
    """
    if not paired:
        return rest_contrast_candidates(sentences, vectors, cfg, others, limit)
    mine = {(theme, a): cell for theme, a, *cell in _contrast_cells(sentences, vectors, cfg)}
    if not mine:
        return {}
    by_theme: dict[str, list] = {}  # theme -> [(source a, its cell)], in cell order
    for (theme, a), cell in mine.items():
        by_theme.setdefault(theme, []).append((a, cell))
    keep = 2 * cfg.n_contrasts + 8
    best: dict[tuple[str, str, str], _RowBest] = {}
    prepared = getattr(others, "prepared", lambda q, what, make: make())  # kept per run by the local engine
    for q in range(len(others)):
        for theme, b, vb, text_b, info_b in prepared(q, "contrast cells", lambda: _contrast_cells(*others[q], cfg)):
            for a, (va, text_a, _) in by_theme.get(theme, ()):
                if not a < b:
                    continue
                codes = pd.factorize(np.concatenate([text_a, text_b]))[0]
                key = (theme, a, b)
                if key not in best:
                    best[key] = _RowBest(len(va), keep)
                best[key].add(va, codes[:len(va)], vb, codes[len(va):], info_b)
    out = {}
    for (theme, a, b), rb in best.items():
        ids_a, tone_a = mine[(theme, a)][2]
        ok = np.isfinite(rb.sim)
        i = np.nonzero(ok)[0]
        cols = {"sentence_id_a": ids_a[i], "sentence_id_b": rb.info[0][ok], "similarity": rb.sim[ok],
                "tone_a": tone_a[i].astype(float), "tone_b": rb.info[1][ok].astype(float)}
        # the greedy order (as _ranked), each b sentence at most `keep` times, then the cut
        order = np.lexsort([cols["sentence_id_b"], cols["sentence_id_a"], -np.round(cols["similarity"], 6)])
        order = order[_occurrence(cols["sentence_id_b"][order]) < keep]
        cut = limit is not None and len(order) > limit
        out[(theme, a, b)] = (pd.DataFrame({c: v[order[:limit] if cut else order] for c, v in cols.items()}), cut)
    return out


def _occurrence(values: np.ndarray) -> np.ndarray:
    """For each element, how many equal elements come before it (``groupby(...).cumcount()``,
    without building a table)."""
    codes = pd.factorize(values)[0]
    order = np.argsort(codes, kind="stable")
    ranked = codes[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    within = np.arange(len(codes)) - np.repeat(starts, np.diff(np.r_[starts, len(codes)]))
    out = np.empty(len(codes), dtype=np.int64)
    out[order] = within
    return out


def _contrast_cells(sentences: pd.DataFrame, vectors: np.ndarray, cfg: MeasureConfig) -> list[tuple]:
    """A partition's theme × source cells for contrast pairs (in the order of :func:`_cells`,
    without ``unassigned``): theme, source, the cell's unit vectors, normalised texts, and
    sentence ids and tones (object arrays)."""
    body, vecs = _aligned(sentences, vectors, cfg)
    rows, norm = body["_row"].to_numpy(), _normal_text(body).to_numpy()
    ids, tone = body["sentence_id"].to_numpy(dtype=object), body["tone"].to_numpy(dtype=object)
    return [(theme, b, vecs[rows[at]], norm[at], [ids[at], tone[at]])
            for theme, b, at in _cell_positions(body) if theme != UNASSIGNED]


def paired_contrasts(n_sources: int) -> bool:
    """Whether a study of ``n_sources`` sources (with measured sentences) pairs every two sources
    in its contrast pairs (and its emphasis gaps): up to ``divergence.MAX_PAIRED_SOURCES``. Above
    it, each source's pairs are with any other source (:func:`rest_contrast_candidates`), so the
    table and its cost grow with the sources, not with their pairs."""
    return n_sources <= MAX_PAIRED_SOURCES


def rest_contrast_candidates(sentences: pd.DataFrame, vectors: np.ndarray, cfg: MeasureConfig, others,
                             limit: int | None = None) -> dict[tuple, tuple[pd.DataFrame, bool]]:
    """:func:`contrast_candidates` for a study of many sources: for each theme × source a, the
    pairs of one of a's sentences (in these sentences) with a sentence of any other source.

    Each sentence keeps its ``2k + 8`` most similar sentences of the theme from other sources
    (over all partitions, one matrix product per theme and partition, whatever the number of
    sources), each other sentence its ``2k + 8`` best pairs within a source's list; the lists are
    ranked in the greedy order and cut at ``limit`` per theme × source. Returns ``{(theme,):
    (pairs, cut)}``: one table per theme with ``source_a`` and ``source_b`` columns and ``_last``
    marking the last pair of a cut list (the same argument as :func:`contrast_candidates` shows
    that nothing needed is lost)."""
    body, vecs = _aligned(sentences, vectors, cfg)
    body = body[body["theme"] != UNASSIGNED]
    if body.empty:
        return {}
    mine = dict(list(body.groupby("theme", sort=True)))
    mine_text = {t: _normal_text(cell).to_numpy() for t, cell in mine.items()}
    keep = 2 * cfg.n_contrasts + 8
    best: dict[str, _RowBest] = {}
    for q in range(len(others)):
        s_q, v_q = others[q]
        b_body, b_vecs = _aligned(s_q, v_q, cfg)
        b_norm = _normal_text(b_body)
        for theme, cell_b in b_body.groupby("theme", sort=True):
            if theme not in mine:
                continue
            cell_a = mine[theme]
            texts = pd.factorize(np.concatenate([mine_text[theme], b_norm.loc[cell_b.index].to_numpy()]))[0]
            srcs = pd.factorize(np.concatenate([cell_a["source"].to_numpy(dtype=object),
                                                cell_b["source"].to_numpy(dtype=object)]))[0]
            if theme not in best:
                best[theme] = _RowBest(len(cell_a), keep, n_info=3)
            n_a = len(cell_a)
            best[theme].add(vecs[cell_a["_row"].to_numpy()], texts[:n_a], b_vecs[cell_b["_row"].to_numpy()], texts[n_a:],
                            [cell_b[c].to_numpy(dtype=object) for c in ("sentence_id", "tone", "source")],
                            srcs[:n_a], srcs[n_a:])
    out = {}
    for theme, rb in best.items():
        cell_a = mine[theme]
        ok = np.isfinite(rb.sim)
        i = np.nonzero(ok)[0]
        pairs = pd.DataFrame({"source_a": cell_a["source"].to_numpy(dtype=object)[i],
                              "sentence_id_a": cell_a["sentence_id"].to_numpy()[i],
                              "sentence_id_b": rb.info[0][ok], "similarity": rb.sim[ok],
                              "tone_a": cell_a["tone"].to_numpy(float)[i], "tone_b": rb.info[1][ok].astype(float),
                              "source_b": rb.info[2][ok]})
        pairs = _ranked(pairs, by_source=True)
        pairs = pairs[pairs.groupby(["source_a", "sentence_id_b"], sort=False).cumcount().to_numpy() < keep]
        place = pairs.groupby("source_a", sort=False).cumcount().to_numpy()
        size = pairs.groupby("source_a", sort=False)["source_a"].transform("size").to_numpy()
        if limit is not None:
            last = (place == limit - 1) & (size > limit)
            pairs = pairs.assign(_last=last)[place < limit]
        else:
            pairs = pairs.assign(_last=False)
        out[(theme,)] = (pairs.reset_index(drop=True), bool(pairs["_last"].any()))
    return out


def _rest_contrasts(tables: list[pd.DataFrame], theme: str, k: int) -> tuple[list[tuple], bool]:
    """The contrast rows of one theme from :func:`rest_contrast_candidates` of the partitions:
    per source a (sorted), its greedy choice of k pairs; and whether every choice is settled."""
    pairs = _ranked(pd.concat(tables, ignore_index=True), by_source=True)
    src = pairs["source_a"].to_numpy(dtype=object)
    id_a, id_b = pairs["sentence_id_a"].to_numpy(dtype=object), pairs["sentence_id_b"].to_numpy(dtype=object)
    last = pairs["_last"].to_numpy(bool)
    sim, tone_a, tone_b = (pairs[c].to_numpy(float) for c in ("similarity", "tone_a", "tone_b"))
    src_b = pairs["source_b"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, src[1:] != src[:-1]]) if len(src) else np.zeros(0, dtype=int)
    rows, exact = [], True
    for a, b in zip(starts, np.r_[starts[1:], len(src)]):
        cut = np.flatnonzero(last[a:b])
        end = a + cut[0] + 1 if len(cut) else b
        used_a, used_b, n = set(), set(), 0
        for r in range(a, end):
            if id_a[r] in used_a or id_b[r] in used_b:
                continue
            rows.append((theme, src[r], src_b[r], id_a[r], id_b[r], None, None, float(sim[r]),
                         float(tone_a[r]), float(tone_b[r])))
            used_a.add(id_a[r])
            used_b.add(id_b[r])
            n += 1
            if n == k:
                break
        if n < k and len(cut):
            exact = False
    return rows, exact


def contrast_cap(k: int) -> int:
    """Candidate pairs per theme × source pair and partition that always settle ``k`` pairs."""
    return 2 * (2 * k + 8) * max(1, k)


def contrasts_from_candidates(parts: list[dict], cfg: MeasureConfig) -> tuple[pd.DataFrame, bool]:
    """The contrasts table from :func:`contrast_candidates` of every partition, and whether it is
    exact (False when a cut candidate list was too short to settle a pair: ask for more). The
    candidates carry no text: ``text_a``/``text_b`` are left None for the caller to fill in.

    The candidates of a theme × source pair are merged in the greedy order and taken greedily,
    most similar first, no sentence twice. A partition whose list was cut vouches only for pairs
    up to its last one, so the greedy choice runs over the merged list up to the first such last
    pair; if it picks fewer than ``cfg.n_contrasts`` pairs there, the answer is not settled.
    """
    rest: dict[str, list[pd.DataFrame]] = {}
    merged: dict[tuple[str, str, str], list[pd.DataFrame]] = {}
    for part in parts:
        for key, (pairs, cut) in part.items():
            if len(key) == 1:  # rest_contrast_candidates: one table per theme
                rest.setdefault(key[0], []).append(pairs)
                continue
            merged.setdefault(key, []).append(pairs.assign(_last=False) if not cut or pairs.empty else
                                              pairs.assign(_last=np.arange(len(pairs)) == len(pairs) - 1))
    rows, exact = [], True
    for theme in theme_order(rest):
        theme_rows, theme_exact = _rest_contrasts(rest[theme], theme, cfg.n_contrasts)
        rows += theme_rows
        exact = exact and theme_exact
    for theme in theme_order({k[0] for k in merged}):
        for a, b in sorted((k[1], k[2]) for k in merged if k[0] == theme):
            pairs = _ranked(pd.concat(merged[(theme, a, b)], ignore_index=True))
            last = np.flatnonzero(pairs["_last"].to_numpy())
            settled = pairs.iloc[:last[0] + 1] if len(last) else pairs
            used_a, used_b, chosen = set(), set(), []
            for r in settled.itertuples(index=False):
                if r.sentence_id_a in used_a or r.sentence_id_b in used_b:
                    continue
                chosen.append(r)
                used_a.add(r.sentence_id_a)
                used_b.add(r.sentence_id_b)
                if len(chosen) == cfg.n_contrasts:
                    break
            if len(chosen) < cfg.n_contrasts and len(last):
                exact = False
            for r in chosen:
                rows.append((theme, a, b, r.sentence_id_a, r.sentence_id_b, None, None,
                             float(r.similarity), float(r.tone_a), float(r.tone_b)))
    if not rows:
        return _empty(CONTRAST_COLUMNS), exact
    return pd.DataFrame(rows, columns=CONTRAST_COLUMNS), exact


def _normal_text(body: pd.DataFrame) -> pd.Series:
    return body["text"].astype(str).str.split().str.join(" ").str.lower()


def contrasts_table(sentences: pd.DataFrame, vectors: np.ndarray, cfg: MeasureConfig) -> pd.DataFrame:
    """Up to ``cfg.n_contrasts`` most similar cross-source sentence pairs per theme × source pair."""
    paired = paired_contrasts(measured_sentences(sentences, cfg.include_non_body, ("source", "theme"))["source"].nunique())
    table, _ = contrasts_from_candidates([contrast_candidates(sentences, vectors, cfg, [(sentences, vectors)],
                                                              paired=paired)], cfg)
    if table.empty:
        return table
    texts = pd.Series(sentences["text"].to_numpy(dtype=object), index=sentences["sentence_id"].to_numpy())
    return table.assign(text_a=table["sentence_id_a"].map(texts).to_numpy(dtype=object),
                        text_b=table["sentence_id_b"].map(texts).to_numpy(dtype=object))
