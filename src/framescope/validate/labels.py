"""A study's own hand labels: read, check against the study, store.

A label file (CSV, or the study's ``labels.parquet``) has one row per labelled sentence:
``sentence_id`` (the study's id), ``label`` (a theme key of the study, or ``none`` for a sentence
in no theme), and optionally ``labeller`` and ``labelled_at``. Every problem is a one-line
``InputError`` and nothing in the study changes: a label naming a theme the study does not have,
sentence ids that are not this study's body sentences (labels made for another study), an empty
file, missing columns.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from framescope.artifacts import read_table, sha256_text, write_table
from framescope.errors import InputError
from framescope.measures.bootstrap import rng_for
from framescope.themes.codebook import UNASSIGNED

NONE = "none"
"""The label of a sentence that belongs to no theme (the study's `unassigned`)."""
LABEL_COLUMNS = ["sentence_id", "label", "labeller", "labelled_at"]
LABELS_TABLE = "labels"


def read_label_file(path: str | Path) -> pd.DataFrame:
    """A label CSV (or Parquet) as a table with LABEL_COLUMNS (labeller/time filled if absent)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"label file not found: {p}")
    try:
        df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p, dtype=str, keep_default_na=False)
    except Exception as e:  # noqa: BLE001 - any unreadable file is bad input
        raise InputError(f"label file {p} is not a readable table: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    missing = [c for c in ("sentence_id", "label") if c not in df.columns]
    if missing:
        raise InputError(f"label file {p} lacks column(s) {', '.join(missing)} (need sentence_id, label)")
    if df.empty:
        raise InputError(f"label file {p} holds no labels")
    df = df.copy()
    df["sentence_id"] = df["sentence_id"].astype(str).str.strip()
    df["label"] = df["label"].astype(str).str.strip()
    if (df["label"] == "").any():
        raise InputError(f"label file {p}: {int((df['label'] == '').sum())} row(s) have an empty label")
    df["labeller"] = df["labeller"].astype(str) if "labeller" in df else p.stem
    df["labelled_at"] = df["labelled_at"].astype(str) if "labelled_at" in df else \
        datetime.fromtimestamp(p.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
    return df[LABEL_COLUMNS].drop_duplicates("sentence_id", keep="last").reset_index(drop=True)


def checked_labels(labels: pd.DataFrame, sentences: pd.DataFrame, themes: pd.DataFrame, where: str) -> pd.DataFrame:
    """``labels`` if they fit the study (body sentence ids, known themes), else a one-line InputError."""
    if labels.empty:
        raise InputError(f"{where} holds no labels")
    body = sentences.loc[sentences["is_body"].fillna(False).astype(bool), "sentence_id"].astype(str)
    unknown_ids = labels.loc[~labels["sentence_id"].isin(set(body)), "sentence_id"]
    if len(unknown_ids):
        share = len(unknown_ids) / len(labels)
        what = "labels made for another study?" if share > 0.5 else "not body sentences of this study"
        raise InputError(f"{where}: {len(unknown_ids)} of {len(labels)} sentence ids are not this study's body "
                         f"sentences (first: {unknown_ids.iloc[0]}; {what})")
    known = set(themes["theme"].astype(str)) | {NONE}
    bad = sorted(set(labels["label"]) - known)
    if bad:
        allowed = ", ".join(sorted(known - {UNASSIGNED}))
        raise InputError(f"{where}: label(s) {', '.join(bad[:5])} name no theme of this study (use one of: {allowed})")
    return labels


def true_theme(label: str) -> str:
    """A label as a theme key: ``none`` is the study's `unassigned`."""
    return UNASSIGNED if label == NONE else label


def study_labels(study: str | Path) -> pd.DataFrame:
    """The labels stored in a study (empty, with LABEL_COLUMNS, when there are none)."""
    df = read_table(study, LABELS_TABLE)
    return df if len(df) else pd.DataFrame(columns=LABEL_COLUMNS)


def merged_labels(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``old`` updated with ``new``: a new label replaces an old one for the same sentence, the
    other old labels stay; sorted by sentence id."""
    old = old[LABEL_COLUMNS] if len(old) else pd.DataFrame(columns=LABEL_COLUMNS)
    return pd.concat([old[~old["sentence_id"].isin(set(new["sentence_id"]))], new[LABEL_COLUMNS]],
                     ignore_index=True).sort_values("sentence_id", kind="stable").reset_index(drop=True)


def store_labels(study: str | Path, labels: pd.DataFrame) -> Path:
    """Write the study's ``labels.parquet`` atomically (the labels replace earlier ones for the same
    sentences; others are kept)."""
    path = Path(study) / f"{LABELS_TABLE}.parquet"
    write_table(merged_labels(study_labels(study), labels), path)
    return path


def drop_labels(study: str | Path, sentence_ids) -> Path:
    """Remove the labels of these sentences from the study's ``labels.parquet`` (atomically)."""
    old = study_labels(study)
    path = Path(study) / f"{LABELS_TABLE}.parquet"
    write_table(old[~old["sentence_id"].isin({str(i) for i in sentence_ids})].reset_index(drop=True), path)
    return path


def new_label(sentence_id: str, label: str, labeller: str) -> pd.DataFrame:
    """One label, made now by ``labeller`` (UTC time, to the second)."""
    return pd.DataFrame([{"sentence_id": str(sentence_id), "label": str(label), "labeller": str(labeller),
                          "labelled_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}])


def labels_digest(labels: pd.DataFrame) -> str:
    """sha256 of the labels themselves (sentence id and label, in id order): what validation.json
    was computed from, so a reader can tell whether it is still current."""
    if labels is None or labels.empty:
        return sha256_text("")
    rows = labels[["sentence_id", "label"]].astype(str).sort_values("sentence_id", kind="stable")
    return sha256_text("\n".join(f"{i}\t{lab}" for i, lab in rows.itertuples(index=False, name=None)))


# --------------------------------------------------------------------------- what to label next

def labelling_order(sentences: pd.DataFrame, seed: int = 42) -> list[str]:
    """The study's body sentences in the order to label them: a sample stratified by the study's
    theme with proportional allocation. Within each theme the sentences are shuffled (seeded by the
    theme's name); the themes are then interleaved so that every prefix holds each theme in about
    its share of the corpus (systematic allocation: a theme's r-th sentence sits at
    ``(r + u) / N_theme``, ``u`` a seeded offset in [0, 1)). Every body sentence thus has about the
    same chance of being among the first *n* labelled, wherever the labelling stops, which the
    agreement figures and the corrected shares assume (a simple random sample, balanced by theme).
    The same sentences and seed give the same order."""
    body = sentences[sentences["is_body"].fillna(False).astype(bool)]
    keys, ids = [], []
    themes = body["theme"].fillna(UNASSIGNED).astype(str)
    for theme in sorted(set(themes)):
        members = body.loc[themes == theme, "sentence_id"].astype(str).sort_values().to_numpy()
        rng = rng_for(seed, "labelling", theme)
        members = members[rng.permutation(len(members))]
        offset = rng.random()
        keys += list((np.arange(len(members)) + offset) / len(members))
        ids += list(members)
    order = sorted(range(len(ids)), key=lambda i: (keys[i], ids[i]))
    return [ids[i] for i in order]


def sentence_context(sentences: pd.DataFrame, sentence_id: str, before: int = 2) -> tuple[list[str], str]:
    """The ``before`` sentences that precede a sentence in its document (any kind, in document
    order), and the sentence's own text: what a reader sees when labelling it."""
    s = sentences[sentences["sentence_id"].astype(str) == str(sentence_id)]
    if s.empty:
        raise InputError(f"no sentence {sentence_id} in this study")
    row = s.iloc[0]
    doc = sentences[(sentences["doc_id"] == row["doc_id"]) & (sentences["position"] < row["position"])]
    prior = doc.sort_values("position", kind="stable")["text"].astype(str).tolist()[-before:] if before else []
    return prior, str(row["text"])
