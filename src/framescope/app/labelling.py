"""The Validate page's labelling session: which sentence is next, and the label, skip and undo
actions (each label is written to the study's ``labels.parquet`` at once, atomically, through
``validate.labels``).

A session remembers only what a reload may forget: the sentences skipped and the actions to undo.
The labels themselves live in the study, so a reload resumes at the first unlabelled sentence of
the sample (skipped ones come back too).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from framescope.validate.labels import drop_labels, new_label, store_labels, study_labels


def _state(study: Path) -> dict:
    """This browser session's skips and undo history for one study."""
    return st.session_state.setdefault(f"_fs_labelling::{study}", {"skipped": [], "history": []})


def skipped(study: Path) -> list[str]:
    return list(_state(study)["skipped"])


def can_undo(study: Path) -> bool:
    return bool(_state(study)["history"])


def next_sentence(order: list[str], labelled: set[str], skips: list[str]) -> str | None:
    """The first sentence of the sample that is neither labelled nor skipped (None: all done)."""
    done = labelled | set(skips)
    return next((sid for sid in order if sid not in done), None)


def label(study: Path, sentence_id: str, value: str, labeller: str) -> None:
    """Store one label now (replacing an earlier label of the sentence), remembering how to undo it."""
    old = study_labels(study)
    before = old[old["sentence_id"] == sentence_id]
    store_labels(study, new_label(sentence_id, value, labeller))
    _state(study)["history"].append(("label", sentence_id, before.to_dict("records")))


def skip(study: Path, sentence_id: str) -> None:
    state = _state(study)
    state["skipped"].append(sentence_id)
    state["history"].append(("skip", sentence_id, []))


def undo(study: Path) -> str | None:
    """Undo the last label or skip of this session; returns its sentence id (None: nothing to undo)."""
    state = _state(study)
    if not state["history"]:
        return None
    action, sentence_id, before = state["history"].pop()
    if action == "skip":
        state["skipped"].remove(sentence_id)
    elif before:
        store_labels(study, pd.DataFrame(before))
    else:
        drop_labels(study, [sentence_id])
    return sentence_id


def show_skipped_again(study: Path) -> None:
    _state(study)["skipped"].clear()
