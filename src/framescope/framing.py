"""Framing: how each source frames each theme, plus the notes that qualify every measure.

The measures live in modules named for what they return; this module gathers them so the
pipeline, the app and scripts import one place:

- ``distinctive_terms`` (terms.py): weighted log-odds with an informative Dirichlet prior;
- ``tone_scores``, ``tone_table`` (tone.py): VADER compound per sentence, mean per cell;
- ``load_frames``, ``frame_scores``, ``frame_table`` (frames.py): Policy Frames Codebook;
- ``voices``, ``voices_table`` (voices.py): who is quoted or paraphrased;
- ``exemplars_table``, ``contrasts_table`` (exemplars.py): sentences to read.

``notes_table`` lists what a reader must know before comparing: themes found in only one
source, small cells, one-source corpora, tests that cannot be run or have little resolution.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from framescope.bootstrap import UNASSIGNED, cluster_keys, measured_sentences, theme_order
from framescope.config import MeasureConfig
from framescope.emphasis import document_periods, relabelings
from framescope.exemplars import contrasts_table, exemplars_table
from framescope.frames import Frames, frame_scores, frame_table, load_frames
from framescope.terms import distinctive_terms
from framescope.tone import tone_scores, tone_table
from framescope.voices import voices, voices_table

__all__ = [
    "Frames", "contrasts_table", "distinctive_terms", "exemplars_table", "frame_scores", "frame_table",
    "load_frames", "notes_table", "tone_scores", "tone_table", "voices", "voices_table",
]
NOTE_COLUMNS = ["scope", "theme", "source", "note"]
_PERIOD_NAMES = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}
MIN_CLUSTERS = 5


def notes_table(sentences: pd.DataFrame, emphasis: pd.DataFrame, cfg: MeasureConfig,
                run_notes: list[str] | None = None, documents: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per note: ``scope`` run/theme/cell, the ``theme`` and ``source`` it concerns, ``note``."""
    notes: list[tuple[str, str | None, str | None, str]] = [("run", None, None, str(n)) for n in run_notes or []]
    body = measured_sentences(sentences, cfg.include_non_body)
    all_sources = sorted(sentences["source"].astype(str).unique())
    used = sorted(body["source"].unique())
    unit = cfg.resample_unit
    for s in all_sources:
        if s not in used:
            notes.append(("run", None, s, f"source {s} has no body sentences: its shares are undefined"))
    if len(used) == 1:
        notes.append(("run", None, used[0], f"one-source corpus ({used[0]}): shares, tone and frames are "
                      "reported, but nothing is compared across sources (no test, no distinctive terms, "
                      "no contrast pairs)"))
    clusters = body.assign(_c=cluster_keys(body, unit)).groupby("source")["_c"].nunique()
    for s, k in clusters.items():
        if k < MIN_CLUSTERS:
            notes.append(("run", None, s, f"source {s} has only {k} {unit}(s): its intervals rest on few "
                          "clusters and are widened to at least the Wilson (shares) or t (tone) interval"))
    if len(emphasis) and "test" in emphasis.columns:
        test = str(emphasis["test"].iloc[0])
        if test.startswith("none") and len(used) > 1:
            notes.append(("run", None, None, f"emphasis test not run: {test[len('none: '):]}"))
        elif not test.startswith("none"):
            n_perm = relabelings([int(k) for k in clusters.reindex(used).fillna(0)])
            if n_perm < 1000:
                notes.append(("run", None, None, f"the permutation test has only about {n_perm:,.0f} distinct "
                              f"ways to reassign {unit}s to sources: its p-value is coarse (p < {1 / n_perm:.2g} "
                              "is impossible)"))
    if documents is not None and len(documents):
        periods, period = document_periods(documents, cfg)
        undated = len(documents) - len(periods)
        if period and undated:
            notes.append(("run", None, None, f"{undated} of {len(documents)} documents have no usable date "
                          "and are left out of emphasis over time"))
        if period:
            how = "chosen from the date span" if cfg.period == "auto" else "as configured"
            notes.append(("run", None, None, f"emphasis over time is by {_PERIOD_NAMES[period]} ({how})"))
    if len(used) > 1:
        per_theme = body.groupby("theme")["source"].agg(lambda s: sorted(set(s)))
        for theme in theme_order(per_theme.index):
            srcs = per_theme[theme]
            if len(srcs) == 1 and theme != UNASSIGNED:
                n = int((body["theme"] == theme).sum())
                notes.append(("theme", theme, srcs[0], f"theme found only in {srcs[0]} ({n} sentences): "
                              "no comparison across sources (no distinctive terms or contrast pairs)"))
    if len(emphasis):
        small = emphasis[(emphasis["n_sentences"] > 0) & (emphasis["n_sentences"] < cfg.min_cell)]
        for r in small.itertuples():
            notes.append(("cell", r.theme, r.source, f"only {r.n_sentences} sentence(s) of {r.source} in "
                          f"{r.theme} (fewer than {cfg.min_cell}): share and tone are uncertain, read the interval"))
    out = pd.DataFrame(notes, columns=NOTE_COLUMNS)
    order = {t: i for i, t in enumerate(theme_order(out["theme"].dropna().unique()))}
    out = out.assign(_s=out["scope"].map({"run": 0, "theme": 1, "cell": 2}),
                     _t=out["theme"].map(order).fillna(-1), _n=np.arange(len(out)))
    out = out.sort_values(["_s", "_t", "source", "_n"], kind="stable", na_position="first")
    return out[NOTE_COLUMNS].reset_index(drop=True).astype("object")
