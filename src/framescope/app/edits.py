"""Theme edits: rename a theme, merge two themes, move a discovered topic into a named theme.

An edit is written into the `edits:` block of the study's own codebook copy
(`<study>/codebook.yaml`, format in `seeds/codebook.yaml`) and then re-applied to the study's
tables by framescope's stage function, so the numbers on every page, in the report and from the
CLI stay the same numbers. The app itself recomputes nothing. Editing the committed seed study
first copies it into the session folder.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import streamlit as st
import yaml

from framescope.artifacts import atomic_write_bytes, read_manifest, sha256_file
from framescope.errors import InputError
from framescope.themes.codebook import UNASSIGNED

MAX_LABEL = 80
log = logging.getLogger("framescope.app")


def recorded_codebook(study: Path) -> dict | None:
    """The codebook the study was run with, as its manifest records it (None: discovery only).
    Never read from ``<study>/codebook.yaml``, which may be a stray file (:func:`codebook_note`)."""
    data = read_manifest(study).get("codebook")
    if data is not None and not isinstance(data, dict):
        raise InputError(f"the codebook in {Path(study) / 'manifest.json'} is not a mapping")
    return data


def codebook_note(study: Path) -> str | None:
    """A warning when ``<study>/codebook.yaml`` is not the codebook the manifest records, else None."""
    manifest = read_manifest(study)
    path = Path(study) / "codebook.yaml"
    recorded = manifest.get("codebook_sha256")
    if not path.is_file():
        return None if recorded is None else "the study's codebook.yaml is missing; using the codebook in its manifest"
    if recorded is None:
        return ("the study folder holds a codebook.yaml, but its manifest records no codebook (a discovery-only "
                "study); the file is ignored")
    if sha256_file(path) != recorded:
        return "the study's codebook.yaml differs from the codebook in its manifest; using the manifest's"
    return None


def read_codebook(study: Path) -> dict:
    """The study's recorded codebook as a dict (an empty codebook for a discovery-only study)."""
    return recorded_codebook(study) or {"version": 1, "themes": []}


def study_edits(study: Path) -> dict:
    """{'rename': {key: label}, 'merge': [{'from', 'into'}], 'move': [{'from', 'into'}]} of a study."""
    edits = read_codebook(study).get("edits") or {}
    return {"rename": dict(edits.get("rename") or {}), "merge": list(edits.get("merge") or []),
            "move": list(edits.get("move") or [])}


def edited_codebook(study: Path, edits: dict) -> dict:
    """The study's recorded codebook with its `edits:` block replaced by `edits` (checked as the CLI
    checks a codebook)."""
    from framescope.themes.codebook import parse_codebook

    data = dict(read_codebook(study))
    clean = {k: edits[k] for k in ("rename", "merge", "move") if edits.get(k)}
    if clean:
        data["edits"] = clean
    else:
        data.pop("edits", None)
    parse_codebook(data, where="the edited codebook")  # never write a codebook the CLI would refuse
    return data


def write_codebook(study: Path, data: dict) -> Path:
    """Write `data` to `<study>/codebook.yaml` atomically."""
    path = Path(study) / "codebook.yaml"
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    atomic_write_bytes(path, text.encode("utf-8"))
    return path


def write_edits(study: Path, edits: dict) -> Path:
    """Write the recorded codebook with `edits` into `<study>/codebook.yaml` (the file the re-run reads)."""
    return write_codebook(study, edited_codebook(study, edits))


def reapply(study: Path, edits: dict | None = None, progress=None) -> Path:
    """Re-run the study's own config with the codebook its manifest records (plus `edits`, when
    given), into the study folder.

    The codebook comes from the manifest, never from a file lying in the folder (a warning is
    logged when that file differs). The theme model applies codebook edits after fitting, with the
    same seeds and inputs, so discovered topic keys stay the same and every measure is recomputed.
    The manifest then names `<study>/codebook.yaml`, so `framescope run --config
    <study>/manifest.json` reproduces the edited study. If the run fails, the folder is as before.
    """
    from framescope.config import RunConfig
    from framescope.engines.pipeline import run

    study = Path(study)
    try:
        cfg = RunConfig.model_validate(read_manifest(study).get("config") or {})
    except ValueError as e:
        raise InputError(f"the study's manifest.json holds no valid run config ({str(e).splitlines()[0]})") from None
    if note := codebook_note(study):
        log.warning("%s: %s", study, note)
    codebook = edited_codebook(study, edits) if edits is not None else recorded_codebook(study)
    path = study / "codebook.yaml"
    before = path.read_bytes() if path.is_file() else None
    if codebook is not None:
        write_codebook(study, codebook)
    cfg = cfg.model_copy(update={
        "out": str(study.resolve()),
        "themes": cfg.themes.model_copy(update={"codebook": str(path.resolve()) if codebook is not None else None}),
    })
    try:
        return Path(run(cfg, progress=progress or False))
    except BaseException:
        if before is None:  # leave the study as it was: codebook and tables agree
            path.unlink(missing_ok=True)
        else:
            atomic_write_bytes(path, before)
        raise


def add_rename(edits: dict, theme: str, label: str, themes: list[str]) -> dict:
    label = " ".join(str(label).split())
    if theme not in themes:
        raise InputError(f"there is no theme '{theme}'")
    if not label:
        raise InputError("the new name is empty")
    if len(label) > MAX_LABEL:
        raise InputError(f"the new name is longer than {MAX_LABEL} characters")
    return {**edits, "rename": {**edits.get("rename", {}), theme: label}}


def add_merge(edits: dict, source: str, into: str, themes: list[str]) -> dict:
    if source == into:
        raise InputError("choose two different themes")
    for t in (source, into):
        if t not in themes:
            raise InputError(f"there is no theme '{t}'")
        if t == UNASSIGNED:
            raise InputError("unassigned sentences cannot be merged; they belong to no theme")
    return {**edits, "merge": [*edits.get("merge", []), {"from": source, "into": into}]}


def add_move(edits: dict, topic: str, into: str, discovered: list[str], named: list[str]) -> dict:
    if topic not in discovered:
        raise InputError(f"'{topic}' is not a discovered topic")
    if into not in named:
        raise InputError(f"'{into}' is not a named theme of the codebook")
    return {**edits, "move": [*edits.get("move", []), {"from": topic, "into": into}]}


def save_and_apply(study, edits: dict) -> Path:
    """Re-apply the study (a session copy for the seed) with `edits`."""
    from framescope.app.study import editable_copy

    target = editable_copy(study)
    with st.spinner("Re-applying the edit: refitting the themes and every measure…"):
        reapply(target, edits)
    return target


def _describe(edits: dict, label: Callable[[str], str]) -> list[str]:
    out = [f"renamed `{k}` to “{v}”" for k, v in edits.get("rename", {}).items()]
    out += [f"merged `{m['from']}` into {label(m['into'])}" for m in edits.get("merge", [])]
    out += [f"moved `{m['from']}` into {label(m['into'])}" for m in edits.get("move", []) if m.get("from")]
    return out


def editor(study) -> None:
    """The Themes page's editing panel."""
    from framescope.app.display import escape_markdown

    msg = st.session_state.pop("_fs_edit_msg", None)
    if msg:
        st.success(msg)
    st.caption("Edits are written to the study's codebook copy (`codebook.yaml`, block `edits:`) and "
               "the study is re-run with it (same inputs, config and seeds; about as long as the first "
               "run), so every table, the report and `framescope run --config <study>/manifest.json` "
               "agree.")
    if not study.editable:
        st.info("The committed seed study is read-only. Your first edit makes a copy of it in this "
                "session (“Seed study (edited copy)” in the sidebar); download it from Export.")
    current = study_edits(study.path)
    if note := codebook_note(study.path):
        st.warning(note[0].upper() + note[1:] + ".")
    done = _describe(current, study.tlabel)
    if done:
        st.markdown("Edits so far: " + "; ".join(escape_markdown(d) for d in done))
    themes = study.themes_in_order()
    real = [t for t in themes if t != UNASSIGNED]
    named = [t for t in real if bool(study.tables["themes"].set_index("theme").at[t, "named"])]
    discovered = [t for t in real if t not in named]
    tab_rename, tab_merge, tab_move = st.tabs(["Rename", "Merge two themes", "Move a topic into a named theme"])

    def apply(new: dict, message: str) -> None:
        try:
            save_and_apply(study, new)
        except InputError as e:
            st.error(f"The edit could not be applied: {e}. The study is unchanged.")
            return
        except Exception:  # noqa: BLE001 — a message, and the study stays as it was
            logging.getLogger("framescope").exception("theme edit failed")
            st.error("An internal error stopped the edit (details in the server log). The study is unchanged.")
            return
        st.session_state["_fs_edit_msg"] = message
        st.rerun()

    with tab_rename, st.form("rename_form", border=False):
        theme = st.selectbox("Theme", real, format_func=study.tlabel, key="rename_theme")
        label = st.text_input("New name", max_chars=MAX_LABEL, key="rename_label")
        if st.form_submit_button("Rename"):
            try:
                new = add_rename(current, theme, label, real)
            except InputError as e:
                st.error(f"{e}.")
            else:
                apply(new, f"Renamed “{study.tlabel(theme)}” to “{' '.join(label.split())}”.")
    with tab_merge, st.form("merge_form", border=False):
        st.caption("All sentences of the first theme join the second; the first disappears.")
        a = st.selectbox("Merge this theme", real, format_func=study.tlabel, key="merge_from")
        b = st.selectbox("into this theme", real, index=min(1, len(real) - 1), format_func=study.tlabel,
                         key="merge_into")
        if st.form_submit_button("Merge"):
            try:
                new = add_merge(current, a, b, real)
            except InputError as e:
                st.error(f"{e}.")
            else:
                apply(new, f"Merged “{study.tlabel(a)}” into “{study.tlabel(b)}”.")
    with tab_move:
        if not discovered or not named:
            st.caption("This needs at least one discovered topic and one named theme.")
        else:
            with st.form("move_form", border=False):
                st.caption("A discovered topic that is really part of a codebook theme: its sentences "
                           "join the named theme.")
                a = st.selectbox("Discovered topic", discovered, format_func=study.tlabel, key="move_from")
                b = st.selectbox("Named theme", named, format_func=study.tlabel, key="move_into")
                if st.form_submit_button("Move"):
                    apply(add_move(current, a, b, discovered, named), f"Moved “{study.tlabel(a)}” into “{study.tlabel(b)}”.")
