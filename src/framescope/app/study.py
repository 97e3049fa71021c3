"""Which study is open, its cached tables, and the sources selected in the sidebar.

Tables are read once per server process and shared by every session (`st.cache_resource`, keyed
by the study folder and a *stamp* built from the files' sizes and modification times, so nothing
large is hashed and an edited or re-run study is re-read automatically). They are shared, so
pages never modify them in place. What the pages compute from them (figures, findings) is kept
the same way, per study version, by :meth:`Study.memo`: ten people reading one study cost about
what one does. The committed seed study is never written to: editing it first makes
a copy in this session's temporary folder.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from framescope.artifacts import TABLES, read_manifest, read_table, sha256_text
from framescope.config import SEED_ROOT
from framescope.measures.divergence import OTHER_SOURCES
from framescope.measures.summary import StudySummary, study_summary
from framescope.themes.codebook import UNASSIGNED

ENV_STUDY = "FRAMESCOPE_STUDY"
SEED_STUDY = SEED_ROOT / "artifacts" / "seed"
EXTRA_TABLES = ("notes", "emphasis_corrected")  # the latter only after `framescope validate`


def default_study() -> Path:
    """`$FRAMESCOPE_STUDY` (set by `framescope app DIR`) or the committed seed study."""
    env = os.environ.get(ENV_STUDY, "").strip()
    return Path(env).expanduser().resolve() if env else SEED_STUDY


def is_study(path: str | Path) -> bool:
    p = Path(path)
    return (p / "manifest.json").is_file() and (p / "sentences.parquet").is_file()


def is_protected(path: str | Path) -> bool:
    """The committed seed study: read it, never write into it."""
    return Path(path).resolve() == SEED_STUDY.resolve()


def study_stamp(path: str | Path) -> str:
    """A cheap fingerprint of a study folder: names, sizes and mtimes of its files."""
    p = Path(path)
    parts = []
    for f in sorted(p.glob("*.parquet")) + [p / "manifest.json", p / "codebook.yaml"]:
        if f.is_file():
            s = f.stat()
            parts.append(f"{f.name}:{s.st_size}:{s.st_mtime_ns}")
    return sha256_text("|".join(parts))[:16]


@st.cache_resource(show_spinner="Reading the study tables…", max_entries=12)
def _tables(path: str, stamp: str) -> dict[str, pd.DataFrame]:
    del stamp  # part of the cache key only
    return {name: read_table(path, name) for name in (*TABLES, *EXTRA_TABLES)}


@st.cache_resource(show_spinner=False, max_entries=12)
def _manifest(path: str, stamp: str) -> dict:
    del stamp
    return read_manifest(path)


@st.cache_resource(show_spinner=False, max_entries=12)
def _summary(path: str, stamp: str) -> StudySummary:
    return study_summary(_tables(path, stamp), _manifest(path, stamp))


@st.cache_resource(show_spinner=False, max_entries=12)
def _labels(path: str, stamp: str) -> tuple[dict[str, str], dict[str, str]]:
    tables = _tables(path, stamp)
    return _label_map(tables["documents"], "source", "outlet"), _label_map(tables["themes"], "theme", "label")


class Memo:
    """What the pages computed from one version of one study, shared by all sessions: key ->
    value, the least recently used dropped beyond ``size``. Two sessions asking for a missing key
    at once may both build it; the values are equal, and either is kept."""

    def __init__(self, size: int = 64):
        self.size, self._items, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)


@st.cache_resource(show_spinner=False, max_entries=12)
def _memo(path: str, stamp: str) -> Memo:
    del path, stamp
    return Memo()


def _label_map(df: pd.DataFrame, key: str, label: str) -> dict[str, str]:
    if df.empty or key not in df:
        return {}
    out = {}
    for k, grp in df.groupby(key, sort=True):
        values = grp[label].dropna().astype(str).unique() if label in grp else []
        out[str(k)] = values[0] if len(values) == 1 and values[0].strip() else str(k)
    return out


@dataclass
class Study:
    """An open study: its tables, the sources selected in the sidebar, and display labels."""

    path: Path
    name: str
    stamp: str
    tables: dict[str, pd.DataFrame]
    manifest: dict
    all_sources: list[str]
    sources: list[str]
    summary: StudySummary  # counts and verdicts shared with the report (framescope.measures.summary)
    source_label: dict[str, str] = field(default_factory=dict)
    theme_label: dict[str, str] = field(default_factory=dict)

    def table(self, name: str, *, all_sources: bool = False) -> pd.DataFrame:
        """A table restricted to the sources selected in the sidebar (never mutate it)."""
        df = self.tables.get(name, pd.DataFrame())
        if all_sources or df.empty:
            return df
        keep = set(self.sources) | {OTHER_SOURCES}  # the pool in a study of many sources (emphasis_gaps)
        if "source" in df:
            return df[df["source"].isin(keep)]
        if "source_a" in df and "source_b" in df:
            return df[df["source_a"].isin(keep) & df["source_b"].isin(keep)]
        return df

    def memo(self, key: tuple, build: Callable[[], Any]) -> Any:
        """``build()``, computed once per study version, sources selected and ``key`` (which must
        name everything else the value depends on: the page's widgets), then shared by every
        session. The value is shared: never modify it (a Plotly figure is drawn as it is)."""
        return _memo(str(self.path), self.stamp).get((*key, tuple(self.sources)), build)

    @property
    def editable(self) -> bool:
        return not is_protected(self.path)

    def themes_in_order(self) -> list[str]:
        """Theme keys as the themes table orders them (named first, `unassigned` last)."""
        th = self.tables["themes"]
        keys = [str(t) for t in th["theme"]] if not th.empty else []
        if UNASSIGNED in keys:
            keys = [k for k in keys if k != UNASSIGNED] + [UNASSIGNED]
        return keys

    def tlabel(self, theme: str) -> str:
        return self.theme_label.get(theme, "Unassigned" if theme == UNASSIGNED else theme)

    def slabel(self, source: str) -> str:
        return self.source_label.get(source, source)


# ---- session state -------------------------------------------------------------------------

def session_dir() -> Path:
    """This browser session's private scratch folder (uploads, new and edited studies)."""
    d = st.session_state.get("_fs_workdir")
    if not d or not Path(d).is_dir():
        d = tempfile.mkdtemp(prefix="framescope-session-")
        st.session_state["_fs_workdir"] = d
    return Path(d)


def studies() -> dict[str, str]:
    """Studies known to this session: label -> folder. Starts with the default study."""
    if "_fs_studies" not in st.session_state:
        p = default_study()
        label = "Seed study" if is_protected(p) else (p.name or str(p))
        st.session_state["_fs_studies"] = {label: str(p)}
        st.session_state["fs_study_choice"] = label
    return st.session_state["_fs_studies"]


def add_study(path: str | Path, label: str) -> str:
    """Register a study created in this session and make it the open one; returns its label."""
    known = studies()
    base, n = label, 2
    while label in known and known[label] != str(path):
        label, n = f"{base} ({n})", n + 1
    known[label] = str(path)
    # The sidebar's selectbox already exists in this run: switch to the study on the next run.
    st.session_state["_fs_pending_choice"] = label
    return label


def editable_copy(study: Study) -> Path:
    """The folder edits go to: the study itself, or a session copy of the committed seed."""
    if study.editable:
        return study.path
    dest = session_dir() / "seed-edited"
    if not is_study(dest):
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(study.path, dest, ignore=shutil.ignore_patterns(".*"))
    add_study(dest, "Seed study (edited copy)")
    return dest


def open_study() -> Study | None:
    """The study chosen in the sidebar with its cached tables, or None if the folder is no study."""
    known = studies()
    label = st.session_state.get("fs_study_choice")
    if label not in known:
        label = next(iter(known))
    path = Path(known[label])
    if not is_study(path):
        return None
    stamp = study_stamp(path)
    tables = _tables(str(path), stamp)
    manifest = _manifest(str(path), stamp)
    docs = tables["documents"]
    all_sources = sorted(str(s) for s in docs["source"].unique()) if not docs.empty else []
    chosen = st.session_state.get(f"fs_sources::{path}", all_sources)
    chosen = [s for s in all_sources if s in set(chosen)] or all_sources
    source_label, theme_label = _labels(str(path), stamp)
    return Study(
        path=path, name=label, stamp=stamp, tables=tables, manifest=manifest,
        all_sources=all_sources, sources=chosen, summary=_summary(str(path), stamp),
        source_label=source_label, theme_label=theme_label,
    )


def sidebar() -> None:
    """The shared sidebar: which study, which sources."""
    known = studies()
    pending = st.session_state.pop("_fs_pending_choice", None)
    if pending in known:
        st.session_state["fs_study_choice"] = pending
    with st.sidebar:
        st.selectbox("Study", list(known), key="fs_study_choice",
                     help="The seed study, plus every study you create or edit in this session.")
        study = open_study()
        if study is None:
            st.caption("This folder holds no study yet (no manifest.json).")
            return
        picked = st.multiselect(
            "Sources", study.all_sources, default=study.all_sources,
            format_func=study.slabel, key=f"fs_sources::{study.path}",
            help="Show only these sources on every page. The statistics were computed over all "
                 "sources of the study; this filter only hides rows.",
        )
        if not picked:
            st.caption("No source selected: every page shows all sources.")
        summary = study.summary
        counts = {"document": summary.n_documents, "body sentence": summary.n_body_sentences,
                  "source": summary.n_sources, "theme": summary.n_themes}
        st.caption(" · ".join(f"{n:,} {noun if n == 1 else noun + 's'}" for noun, n in counts.items()))
        if not study.editable:
            st.caption("The committed seed study is read-only; edits go to a session copy.")


def require_study() -> Study:
    """For pages that need a study: the open study, or a message and stop."""
    study = open_study()
    if study is None:
        path = studies().get(st.session_state.get("fs_study_choice", ""), str(default_study()))
        st.warning(f"No study found in `{path}`. Create one on the **Corpus** page, or run "
                   "`framescope run` (the seed study) and reload.")
        st.stop()
    return study
