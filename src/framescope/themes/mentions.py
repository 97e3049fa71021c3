"""Theme mentions: a sentence's own theme, plus the other named themes it also speaks to.

Every body sentence has exactly one ``theme``, so a source's shares add up to 100% (emphasis).
But one sentence can speak to two named themes: Foreign Policy's "Beijing's overreactions to
inquiries into COVID-19's origin, aggressions in the South China Sea, obsessions over border
disputes, ..." is wolf-warrior diplomacy first, and it is also how that outlet frames border
disputes. Framing asks *how* a source talks about a theme, so it reads every sentence that
mentions the theme: those whose ``theme`` it is, and those that list it in ``also_themes``.

``also_themes`` holds the named themes, other than the sentence's own, whose evidence (the same
quantity that assigns named themes, see ``themes.ThemeModel``) clears the theme's cut-off by
``themes.secondary_margin``: under the default corpus-calibrated assignment the cut-off is the
median evidence of the sentences assigned to that theme (as strongly about it as its typical
sentence, plus the margin); under ``assignment: threshold`` it is the threshold; ``secondary_margin: null`` gives one theme per sentence.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from framescope.themes.codebook import UNASSIGNED


def secondary_themes(evidence: np.ndarray, keys, primary, threshold, margin: float | None,
                     edit_map: dict[str, str] | None = None) -> list[list[str]]:
    """Per sentence, the named themes other than its own whose evidence is >= threshold + margin
    (``threshold``: one number, or one per named theme).

    ``evidence`` is sentences x named themes (columns in ``keys`` order); ``primary`` the themes
    the sentences were given (after edits). Themes are listed by decreasing evidence; a merge edit
    (``edit_map``) renames a secondary theme as it renamed the primary ones."""
    n = len(primary)
    if margin is None or evidence.size == 0 or n == 0:
        return [[] for _ in range(n)]
    keys = np.asarray(keys, dtype=object)
    edit_map = edit_map or {}
    strong = evidence >= threshold + margin
    order = np.argsort(-evidence, axis=1, kind="stable")
    out = []
    for i in range(n):
        seen: list[str] = []
        for k in order[i]:
            if not strong[i, k]:
                continue  # cut-offs differ per theme: a weaker theme can still clear its own
            key = edit_map.get(str(keys[k]), str(keys[k]))
            if key != primary[i] and key != UNASSIGNED and key not in seen:
                seen.append(key)
        out.append(seen)
    return out


def mention_rows(sentences: pd.DataFrame, vectors: np.ndarray | None = None
                 ) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The sentence table with one row per (sentence, theme it mentions), for the framing measures.

    A sentence appears once under its own ``theme`` and once more under each theme in
    ``also_themes`` (column ``mention`` = "main" or "also"); rows keep the table's order, each
    sentence's extra rows right after it. ``vectors`` (rows as ``sentences``) are repeated alike.
    A table without ``also_themes`` comes back unchanged (plus ``mention``)."""
    if "also_themes" not in sentences.columns:
        return sentences.assign(mention="main"), vectors
    also = [list(a) if isinstance(a, (list, tuple, np.ndarray)) else [] for a in sentences["also_themes"]]
    reps = np.array([1 + len(a) for a in also], dtype=np.int64)
    if int(reps.sum()) == len(sentences):
        return sentences.assign(mention="main"), vectors
    pos = np.repeat(np.arange(len(sentences)), reps)
    rows = sentences.iloc[pos].reset_index(drop=True)
    themes = [t for own, a in zip(sentences["theme"].tolist(), also) for t in [own, *a]]
    kinds = [k for a in also for k in ["main", *["also"] * len(a)]]
    rows["theme"] = pd.array(themes, dtype=sentences["theme"].dtype) if themes else rows["theme"]
    rows["mention"] = kinds
    return rows, (vectors[pos] if vectors is not None else None)


def with_also_themes(assigned: pd.DataFrame, body_rows: np.ndarray, also: list[list[str]]) -> pd.DataFrame:
    """``assigned`` (one row per sentence) with ``also_themes``: the lists for the body rows
    (positions ``body_rows``), None for captions, headings and trailers, which have no theme."""
    col: list[list[str] | None] = [None] * len(assigned)
    for i, a in zip(body_rows.tolist(), also):
        col[i] = list(a)
    return assigned.assign(also_themes=col)
