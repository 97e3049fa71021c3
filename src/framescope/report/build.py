"""The exported topic report: STUDY/report.html (one self-contained, offline, printable page) and
STUDY/report.md (the same tables as pipe tables, for pasting into a paper).

The report only reads the study's tables and manifest; every number in it is a number of a table
(docs/artifacts.md), formatted. Sections: corpus and sources, themes, emphasis, framing per theme,
method notes, manifest summary.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from framescope.artifacts import atomic_write_bytes, read_manifest, read_table, sha256_file, sha256_text
from framescope.errors import InputError
from framescope.report.figures import STATIC_FIGURES, WIDTH, save_figures, source_order, theme_labels, theme_order, tone_figure
from framescope.report.emphasis import emphasis_section, emphasis_test_sentence
from framescope.report.method import evaluation_blocks, manifest_section, method_section, study_validation_blocks
from framescope.report.render import (
    Figure, Heading, Quote, Section, Table, Text, ci, p_value, pct, signed, to_html, to_markdown,
)
from framescope.measures.summary import StudySummary, study_summary
from framescope.themes.codebook import UNASSIGNED
from framescope.themes.io import model_description, topic_model_views
from framescope.validate.labels import labels_digest, study_labels
from framescope.validate.study import REPORT_FILE, read_validation

__all__ = ["ci", "emphasis_test_sentence", "figure_files", "manifest_digest", "p_value", "pct", "report_is_current",
           "report_sections", "signed", "write_report"]

STAMP = "framescope-manifest-sha256"  # names the manifest digest a report was built from
MAX_DOCUMENTS = 40  # documents listed by name; larger corpora are summarised per source
N_TERMS, N_VOICES, N_CONTRASTS, N_FRAMES = 8, 5, 3, 3
NAMES = ("documents", "sentences", "themes", "emphasis", "emphasis_gaps", "emphasis_time", "terms", "tone",
         "frames", "voices", "exemplars", "contrasts", "notes", "emphasis_corrected")


def write_report(study: str | Path) -> list[Path]:
    """Write STUDY/report.html and STUDY/report.md (each atomically) and return their paths.

    The static figures (``figures.save_figures``) are written first into STUDY/figures/, so
    report.md names only figure files that exist."""
    study = Path(study)
    if not (study / "manifest.json").is_file() or not (study / "sentences.parquet").is_file():
        raise InputError(f"{study} is not a study folder (no manifest.json/sentences.parquet): run `framescope run` first")
    files = figure_files(study, save_figures(study))
    title, subtitle, sections = report_sections(study, files)
    meta = {STAMP: manifest_digest(study)}
    out = []
    for name, text in (("report.html", to_html(title, subtitle, sections, meta)),
                       ("report.md", to_markdown(title, subtitle, sections, meta))):
        out.append(atomic_write_bytes(study / name, text.encode("utf-8")))
    return out


def manifest_digest(study: str | Path) -> str:
    """sha256 of the study's manifest.json (every run, and every re-run after an edit, writes a new
    one), and of its validation.json when it has one (labels added or changed after the run)."""
    digest = sha256_file(Path(study) / "manifest.json")
    validation = Path(study) / REPORT_FILE
    return sha256_text(digest + sha256_file(validation)) if validation.is_file() else digest


def report_is_current(folder: str | Path, study: str | Path | None = None) -> bool:
    """True when FOLDER holds report.html and report.md written from STUDY's current run.

    The report carries the digest of the manifest it was built from, so the check survives a
    ``git clone`` or a copy (file times do not)."""
    folder = Path(folder)
    study = Path(study) if study is not None else folder
    html, md = folder / "report.html", folder / "report.md"
    if not html.is_file() or not md.is_file() or not (study / "manifest.json").is_file():
        return False
    head = html.read_bytes()[:4096].decode("utf-8", "replace")
    found = re.search(rf'<meta name="{STAMP}" content="([0-9a-f]{{64}})">', head)
    return bool(found) and found.group(1) == manifest_digest(study)


def figure_files(study: str | Path, paths: list[Path]) -> dict[str, tuple[str, ...]]:
    """Figure name -> its static files as paths relative to the study (``figures/x.png``…)."""
    study = Path(study).resolve()
    out: dict[str, tuple[str, ...]] = {}
    for p in paths:
        name = Path(p).stem
        if name in STATIC_FIGURES and Path(p).is_file():
            out[name] = out.get(name, ()) + (Path(p).resolve().relative_to(study).as_posix(),)
    return out


def report_sections(study: str | Path, figure_files: dict[str, tuple[str, ...]] | None = None
                    ) -> tuple[str, str, list[Section]]:
    """The report as plain blocks: (title, subtitle, sections). ``figure_files`` (figure name ->
    files relative to the study) are named under their figures; by default none is."""
    study = Path(study)
    t = {n: read_table(study, n) for n in NAMES}
    manifest = read_manifest(study)
    evaluation = _read_evaluation(study)
    summary = study_summary(t, manifest)
    sources = source_order(t["documents"], t["sentences"], t["emphasis"])
    title = f"framescope report: {study.resolve().name}"
    subtitle = (f"{summary.n_sources} sources · {summary.n_documents} documents · "
                f"{summary.n_body_sentences:,} body sentences · {summary.n_themes} themes · "
                f"run {manifest.get('started_at', 'unknown')} · framescope "
                f"{manifest.get('versions', {}).get('framescope', '?')}")
    sections = [
        corpus_section(t, sources, summary),
        themes_section(t, summary, topic_model_views(study).get("hierarchy")),
        emphasis_section(t, manifest, summary, figure_files),
        framing_section(t, sources, manifest, figure_files),
        method_section(manifest, t, evaluation_blocks(evaluation) + own_validation_blocks(study),
                       model_description(study)),
        manifest_section(manifest),
    ]
    return title, subtitle, sections


# -- formatting --------------------------------------------------------------------------------

def own_validation_blocks(study: Path) -> list:
    """The study's own validation (validation.json), flagged when labels.parquet changed since."""
    record = read_validation(study)
    return study_validation_blocks(record, current=record.get("labels_sha256") == labels_digest(study_labels(study)),
                                   labels=theme_labels(read_table(study, "themes")))


def _read_evaluation(study: Path) -> dict:
    p = study / "evaluation.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}


# -- 1. corpus ---------------------------------------------------------------------------------

def corpus_section(t: dict, sources: list[str], summary: StudySummary) -> Section:
    docs = t["documents"]
    counts = summary.sources.set_index("source")
    rows = []
    for s in sources:
        d = docs[docs["source"] == s] if "source" in docs else docs.iloc[0:0]
        c = counts.loc[s] if s in counts.index else pd.Series(0, index=counts.columns)
        dates = sorted(str(x) for x in d.get("date", pd.Series(dtype=str)).dropna())
        outlets = sorted({str(x) for x in d.get("outlet", pd.Series(dtype=str)).dropna()})
        rows.append({"source": s, "outlet": "; ".join(outlets) or "—", "documents": str(int(c["documents"])),
                     "sentences": f"{int(c['sentences']):,}", "body sentences": f"{int(c['body_sentences']):,}",
                     "words": f"{int(c['words']):,}",
                     "dates": (dates[0] if dates[0] == dates[-1] else f"{dates[0]} – {dates[-1]}") if dates else "undated"})
    n_other = summary.n_sentences - summary.n_body_sentences
    blocks = [
        Text(f"{summary.n_documents} documents from {summary.n_sources} sources, split into {summary.n_sentences:,} "
             f"sentences. {summary.n_body_sentences:,} are body sentences; the other {n_other:,} (captions, headings, "
             "datelines and attribution trailers) are kept in the tables but left out of every measure."),
        Table(pd.DataFrame(rows), "Sources. Words are counted over body sentences, the sentences every measure "
                                  "counts."),
    ]
    if len(docs) and len(docs) <= MAX_DOCUMENTS:
        cols = [c for c in ("doc_id", "source", "title", "date", "genre", "path", "n_chars") if c in docs]
        d = docs[cols].astype(object).where(docs[cols].notna(), "—").astype(str)
        blocks.append(Table(d.rename(columns={"n_chars": "characters", "path": "file"}), "Documents.", wrap=("title",)))
    elif len(docs):
        blocks.append(Text(f"The {len(docs)} documents are listed in documents.parquet.", kind="muted"))
    return Section("1. Corpus and sources", "corpus", blocks)


# -- 2. themes ---------------------------------------------------------------------------------

def themes_section(t: dict, summary: StudySummary, hierarchy: dict | None = None) -> Section:
    themes, ex = t["themes"], t["exemplars"]
    min_cell = summary.min_cell
    labels = theme_labels(themes)
    order = theme_order(themes, t["emphasis"])
    blocks = [Text(f"{summary.n_themes} themes: {summary.n_named} named in the codebook, {summary.n_discovered} "
                   "found in the corpus by BERTopic. Each body sentence belongs to one theme; sentences close to no "
                   f"theme are 'unassigned' (not a theme): {pct(summary.unassigned_share)} of the body sentences "
                   f"({summary.n_unassigned:,} of {summary.n_body_sentences:,}).")]
    rows = []
    for _, r in themes.set_index("theme").reindex(order).dropna(how="all").iterrows():
        kws = list(r["keywords"]) if isinstance(r.get("keywords"), (list, tuple)) or hasattr(r.get("keywords"), "tolist") else []
        rows.append({"theme": labels.get(r.name, r.name), "key": r.name,
                     "origin": "—" if r.name == UNASSIGNED else ("codebook" if bool(r.get("named", False)) else "discovered"),
                     "sentences": str(int(r.get("n_sentences", 0))), "keywords": ", ".join(map(str, kws[:8])) or "—"})
    blocks.append(Table(pd.DataFrame(rows), "Themes, their sizes (sentences) and keywords (BERTopic: c-TF-IDF "
                        "candidates, KeyBERTInspired + MMR).", wrap=("keywords",)))
    if hierarchy:
        fig = go.Figure(hierarchy).update_layout(width=WIDTH, autosize=False)  # as wide as the report's other figures
        blocks.append(Figure(fig, "How the themes group: BERTopic's hierarchy of the study's themes "
                                  "(Ward clustering of their c-TF-IDF vectors)."))
    for theme in order:
        if theme == UNASSIGNED:
            continue
        blocks.append(Heading(labels.get(theme, theme), 3, f"theme-{theme}"))
        desc = themes.loc[themes["theme"] == theme, "description"] if "description" in themes else pd.Series()
        if len(desc) and isinstance(desc.iloc[0], str) and desc.iloc[0].strip():
            blocks.append(Text(desc.iloc[0].strip(), kind="muted"))
        picks = two_exemplars(ex, t["emphasis"], theme, min_cell)
        if picks.empty:
            blocks.append(Text("No exemplar sentences.", kind="muted"))
        for _, r in picks.iterrows():
            blocks.append(Quote(r["text"], f"{r['source']} · {r['sentence_id']} · tone {signed(r.get('tone'))}"))
    return Section("2. Themes", "themes", blocks)


def two_exemplars(exemplars: pd.DataFrame, emphasis: pd.DataFrame, theme: str, min_cell: int = 5) -> pd.DataFrame:
    """The two most typical sentences of a theme: the best of the source that writes most about it,
    then the best of the second such source unless that source's cell is small, else the runner-up
    of the first."""
    if exemplars.empty:
        return exemplars
    e = exemplars[exemplars["theme"] == theme].sort_values(["rank", "score", "sentence_id"],
                                                          ascending=[True, False, True], kind="stable")
    size = _cell(emphasis, theme).set_index("source")["n_sentences"] if len(emphasis) else pd.Series(dtype=int)
    e = e.assign(_n=e["source"].map(size).fillna(0)).sort_values(["_n", "source"], ascending=[False, True], kind="stable")
    first = e.drop_duplicates("source")
    picks = first.head(1)
    if len(first) > 1 and first["_n"].iloc[1] >= min_cell:
        picks = first.head(2)
    picks = pd.concat([picks, e.drop(picks.index)]).head(2)
    return picks.drop(columns="_n")


# -- 4. framing --------------------------------------------------------------------------------

def framing_section(t: dict, sources: list[str], manifest: dict,
                    figure_files: dict[str, tuple[str, ...]] | None = None) -> Section:
    themes, tone = t["themes"], t["tone"]
    labels = theme_labels(themes)
    blocks = [Text("For each theme: the terms that set one source apart from the others in the same theme "
                   "(weighted log-odds with an informative Dirichlet prior; |z| > 1.96 is about p < .05), "
                   "the mean sentence tone with its 95% CI, the Policy Frames Codebook dimensions the "
                   "sentences lean on, who is quoted, and contrast pairs: the most similar sentences from two "
                   "sources, side by side.")]
    if not tone.empty:
        blocks.append(Figure(tone_figure(tone, themes, sources), "Mean sentence tone (VADER compound) per theme and "
                             "source, with 95% confidence intervals.", (figure_files or {}).get("tone_ci", ())))
    run_notes = t["notes"][t["notes"]["scope"] == "run"] if "scope" in t["notes"] else pd.DataFrame()
    for note in run_notes.get("note", []):
        blocks.append(Text(str(note), kind="note"))
    shown = [th for th in theme_order(themes, t["emphasis"]) if th != UNASSIGNED]
    for theme in shown:
        blocks += theme_framing_blocks(t, theme, labels, sources)
    notes = t["notes"]
    if "scope" in notes:  # every note is shown once: those about unassigned or unknown themes last
        rest = notes[(notes["scope"] != "run") & ~notes["theme"].isin(shown)]
        if len(rest):
            blocks.append(Heading("Other notes", 3))
            blocks += [Text(str(n), kind="note") for n in rest["note"]]
    return Section("4. Framing by theme", "framing", blocks)


def _cell(df: pd.DataFrame, theme: str) -> pd.DataFrame:
    return df[df["theme"] == theme] if "theme" in df else df.iloc[0:0]


def theme_framing_blocks(t: dict, theme: str, labels: dict, sources: list[str]) -> list:
    blocks: list = [Heading(labels.get(theme, theme), 3, f"framing-{theme}")]
    em = _cell(t["emphasis"], theme)
    present = [s for s in sources if s in set(em.loc[em["n_sentences"] > 0, "source"])] if len(em) else []
    notes = _cell(t["notes"], theme)
    for note in notes.get("note", []):
        blocks.append(Text(str(note), kind="note"))
    if len(present) == 1 and notes.empty:
        blocks.append(Text(f"Only {present[0]} writes about this theme, so there is no comparison.", kind="note"))

    terms = _cell(t["terms"], theme)
    if len(terms):
        terms = terms[terms["z"] > 0].sort_values(["z", "term"], ascending=[False, True], kind="stable")
        col = "most distinctive terms, z (count)"
        rows = [{"source": s, col: ", ".join(
                    f"{r.term} {r.z:.1f}{'*' if r.z >= 1.96 else ''} ({int(r.count)})"
                    for r in terms[terms["source"] == s].head(N_TERMS).itertuples()) or "—"}
                for s in sources if s in set(terms["source"])]
        blocks += [Heading("Distinctive terms", 4), Table(pd.DataFrame(rows), "* z ≥ 1.96: distinctive at about "
                                                          "p < .05; smaller z are leanings, not findings.", wrap=(col,))]

    tone = _cell(t["tone"], theme)
    if len(tone):
        rows = [{"source": r.source, "sentences": str(int(r.n_sentences)), "mean tone": signed(r.mean),
                 "95% CI": ci(r.ci_low, r.ci_high, "+.2f").replace("-", "−"),
                 "small cell": "yes" if bool(getattr(r, "small_cell", False)) else ""}
                for r in _by_source(tone, sources).itertuples()]
        blocks += [Heading("Tone", 4), Table(pd.DataFrame(rows))]

    frames = _cell(t["frames"], theme)
    if len(frames):
        frames = frames[frames["share"] > 0].sort_values(["share", "frame"], ascending=[False, True], kind="stable")
        blocks += [Heading("Frames", 4), _leading(frames, sources, N_FRAMES,
                                                  "leading frames (share of sentences, 95% CI)", _frame_share)]

    voices = _cell(t["voices"], theme)
    if len(voices):
        voices = voices.sort_values(["n", "speaker"], ascending=[False, True], kind="stable")
        blocks += [Heading("Voices", 4), _leading(voices, sources, N_VOICES, "voices (times quoted)",
                                                  lambda r: f"{r.speaker} ({int(r.n)})")]

    pairs = _cell(t["contrasts"], theme)
    if len(pairs):
        pairs = pairs.sort_values(["similarity", "sentence_id_a"], ascending=[False, True], kind="stable").head(N_CONTRASTS)
        rows = [{"source A": r.source_a, "sentence A": r.text_a, "tone A": signed(r.tone_a),
                 "source B": r.source_b, "sentence B": r.text_b, "tone B": signed(r.tone_b),
                 "similarity": f"{r.similarity:.2f}"} for r in pairs.itertuples()]
        blocks += [Heading("Contrast pairs", 4),
                   Table(pd.DataFrame(rows), "The most similar sentence pairs across two sources: the same "
                         "subject, framed by each.", wrap=("sentence A", "sentence B"))]
    return blocks


def _frame_share(r) -> str:
    lo, hi = getattr(r, "ci_low", None), getattr(r, "ci_high", None)
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):  # a study from before frame intervals
        return f"{r.label} {r.share:.0%}"
    return f"{r.label} {r.share:.0%} ({lo:.0%}–{hi:.0%})"


def _leading(df: pd.DataFrame, sources: list[str], n: int, column: str, fmt) -> Table:
    """One row per source that has rows in ``df`` (already sorted): its first ``n`` rows, each
    written by ``fmt``, joined in one wrapped column."""
    rows = [{"source": s, column: ", ".join(fmt(r) for r in df[df["source"] == s].head(n).itertuples())}
            for s in sources if s in set(df["source"])]
    return Table(pd.DataFrame(rows), wrap=(column,))


def _by_source(df: pd.DataFrame, sources: list[str]) -> pd.DataFrame:
    rank = {s: i for i, s in enumerate(sources)}
    return df.assign(_s=df["source"].map(rank)).sort_values("_s", kind="stable")
