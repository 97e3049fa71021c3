"""The exported topic report: STUDY/report.html (one self-contained, offline, printable page) and
STUDY/report.md (the same tables as pipe tables, for pasting into a paper).

The report only reads the study's tables and manifest; every number in it is a number of a table
(docs/artifacts.md), formatted. Sections: corpus and sources, themes, emphasis, framing per theme,
method notes, manifest summary.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

import pandas as pd

from framescope.artifacts import read_manifest, read_table
from framescope.errors import InputError
from framescope.figures import (
    UNASSIGNED, emphasis_heatmap, share_figure, source_order, theme_labels, theme_order, tone_figure,
)
from framescope.report_method import evaluation_blocks, manifest_section, method_section
from framescope.report_render import Figure, Heading, Quote, Section, Table, Text, to_html, to_markdown

STAMP = "framescope-manifest-sha256"  # names the manifest digest a report was built from
MAX_DOCUMENTS = 40  # documents listed by name; larger corpora are summarised per source
N_TERMS, N_VOICES, N_CONTRASTS, N_FRAMES = 8, 5, 3, 3
NAMES = ("documents", "sentences", "themes", "emphasis", "emphasis_time", "terms", "tone", "frames",
         "voices", "exemplars", "contrasts", "notes")


def write_report(study: str | Path) -> list[Path]:
    """Write STUDY/report.html and STUDY/report.md (each atomically) and return their paths."""
    study = Path(study)
    if not (study / "manifest.json").is_file() or not (study / "sentences.parquet").is_file():
        raise InputError(f"{study} is not a study folder (no manifest.json/sentences.parquet): run `framescope run` first")
    title, subtitle, sections = report_sections(study)
    meta = {STAMP: manifest_digest(study)}
    out = []
    for name, text in (("report.html", to_html(title, subtitle, sections, meta)),
                       ("report.md", to_markdown(title, subtitle, sections, meta))):
        out.append(_write_atomic(study / name, text))
    return out


def manifest_digest(study: str | Path) -> str:
    """sha256 of the study's manifest.json: every run (and every re-run after an edit) writes a new one."""
    return hashlib.sha256((Path(study) / "manifest.json").read_bytes()).hexdigest()


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


def _write_atomic(path: Path, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def report_sections(study: str | Path) -> tuple[str, str, list[Section]]:
    """The report as plain blocks: (title, subtitle, sections)."""
    study = Path(study)
    t = {n: read_table(study, n) for n in NAMES}
    manifest = read_manifest(study)
    evaluation = _read_evaluation(study)
    sources = source_order(t["documents"], t["sentences"], t["emphasis"])
    counts = manifest.get("counts", {})
    title = f"framescope report: {study.resolve().name}"
    subtitle = (f"{len(sources)} sources · {len(t['documents'])} documents · "
                f"{counts.get('body_sentences', _n_body(t['sentences']))} body sentences · "
                f"run {manifest.get('started_at', 'unknown')} · framescope "
                f"{manifest.get('versions', {}).get('framescope', '?')}")
    sections = [
        corpus_section(t, sources),
        themes_section(t, manifest.get("config", {}).get("measures", {}).get("min_cell", 5)),
        emphasis_section(t, manifest),
        framing_section(t, sources, manifest),
        method_section(manifest, t, evaluation_blocks(evaluation)),
        manifest_section(manifest),
    ]
    return title, subtitle, sections


# -- formatting --------------------------------------------------------------------------------

def pct(x) -> str:
    return "—" if pd.isna(x) else f"{float(x):.1%}"


def ci(lo, hi, fmt: str = ".1%") -> str:
    return "—" if pd.isna(lo) or pd.isna(hi) else f"[{float(lo):{fmt}}, {float(hi):{fmt}}]"


def signed(x, digits: int = 2) -> str:
    if pd.isna(x):
        return "—"
    s = f"{float(x):+.{digits}f}"
    return s[1:] if float(s) == 0 else s.replace("-", "−")


def p_value(p) -> str:
    return "p = n/a" if pd.isna(p) else ("p < 0.001" if float(p) < 0.001 else f"p = {float(p):.3f}")


def _n_body(sentences: pd.DataFrame) -> int:
    return int(sentences["is_body"].sum()) if "is_body" in sentences else len(sentences)


def _read_evaluation(study: Path) -> dict:
    p = study / "evaluation.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}


# -- 1. corpus ---------------------------------------------------------------------------------

def corpus_section(t: dict, sources: list[str]) -> Section:
    docs, sents = t["documents"], t["sentences"]
    body = sents[sents["is_body"].astype(bool)] if "is_body" in sents else sents
    rows = []
    for s in sources:
        d, b = docs[docs["source"] == s], body[body["source"] == s]
        dates = sorted(str(x) for x in d.get("date", pd.Series(dtype=str)).dropna())
        outlets = sorted({str(x) for x in d.get("outlet", pd.Series(dtype=str)).dropna()})
        rows.append({"source": s, "outlet": "; ".join(outlets) or "—", "documents": str(len(d)),
                     "body sentences": str(len(b)),
                     "words": f"{int(b['n_words'].sum()):,}" if "n_words" in b else "—",
                     "dates": (dates[0] if dates[0] == dates[-1] else f"{dates[0]} – {dates[-1]}") if dates else "undated"})
    n_other = len(sents) - len(body)
    blocks = [
        Text(f"{len(docs)} documents from {len(sources)} sources, split into {len(sents)} sentences. "
             f"{len(body)} are body sentences; the other {n_other} (captions, headings, datelines and "
             "attribution trailers) are kept in the tables but left out of every measure."),
        Table(pd.DataFrame(rows), "Sources. Words are counted over body sentences."),
    ]
    if len(docs) and len(docs) <= MAX_DOCUMENTS:
        cols = [c for c in ("doc_id", "source", "title", "date", "genre", "path", "n_chars") if c in docs]
        d = docs[cols].astype(object).where(docs[cols].notna(), "—").astype(str)
        blocks.append(Table(d.rename(columns={"n_chars": "characters", "path": "file"}), "Documents.", wrap=("title",)))
    elif len(docs):
        blocks.append(Text(f"The {len(docs)} documents are listed in documents.parquet.", kind="muted"))
    return Section("1. Corpus and sources", "corpus", blocks)


# -- 2. themes ---------------------------------------------------------------------------------

def themes_section(t: dict, min_cell: int = 5) -> Section:
    themes, ex = t["themes"], t["exemplars"]
    labels = theme_labels(themes)
    order = theme_order(themes, t["emphasis"])
    named = int(themes["named"].astype(bool).sum()) if "named" in themes else 0
    blocks = [Text(f"{len(themes)} themes: {named} named in the codebook, {len(themes) - named} found in the "
                   "corpus by BERTopic. Each body sentence belongs to one theme; sentences close to no theme "
                   "are 'unassigned'.")]
    rows = []
    for _, r in themes.set_index("theme").reindex(order).dropna(how="all").iterrows():
        kws = list(r["keywords"]) if isinstance(r.get("keywords"), (list, tuple)) or hasattr(r.get("keywords"), "tolist") else []
        rows.append({"theme": labels.get(r.name, r.name), "key": r.name,
                     "origin": "—" if r.name == UNASSIGNED else ("codebook" if bool(r.get("named", False)) else "discovered"),
                     "sentences": str(int(r.get("n_sentences", 0))), "keywords": ", ".join(map(str, kws[:8])) or "—"})
    blocks.append(Table(pd.DataFrame(rows), "Themes, their sizes (sentences) and c-TF-IDF keywords.", wrap=("keywords",)))
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


# -- 3. emphasis -------------------------------------------------------------------------------

def emphasis_section(t: dict, manifest: dict) -> Section:
    em, themes = t["emphasis"], t["themes"]
    if em.empty:
        return Section("3. Emphasis", "emphasis", [Text("This study has no emphasis table.", kind="note")])
    labels = theme_labels(themes)
    min_cell = manifest.get("config", {}).get("measures", {}).get("min_cell", 5)
    order, sources = theme_order(themes, em), source_order(t["documents"], em)
    em = em.assign(_t=em["theme"].map({k: i for i, k in enumerate(order)}),
                   _s=em["source"].map({k: i for i, k in enumerate(sources)})).sort_values(["_t", "_s"])
    rows = [{"theme": labels.get(r.theme, r.theme), "source": r.source, "sentences": str(int(r.n_sentences)),
             "share": pct(r.share) + ("†" if bool(getattr(r, "small_cell", False)) and r.n_sentences else ""),
             "95% CI": ci(r.ci_low, r.ci_high), "word share": pct(getattr(r, "word_share", float("nan"))),
             "residual": signed(getattr(r, "residual", float("nan")), 1)} for r in em.itertuples()]
    blocks = [
        Text("Share = the fraction of a source's body sentences that belong to the theme (each source's "
             "shares sum to 100%). The 95% confidence intervals come from a bootstrap that resamples "
             f"whole {manifest.get('config', {}).get('measures', {}).get('resample_unit', 'paragraph')}s, "
             "not single sentences, because neighbouring sentences are not independent. The residual is the "
             "adjusted (standardized) residual of the source × theme count table: beyond about ±2 a source "
             "writes about the theme more (+) or less (−) than the corpus as a whole."),
        Text(emphasis_test_sentence(em, labels), lead="Test."),
        Figure(emphasis_heatmap(em, themes, min_cell, sources), "Share of each source's body sentences per theme. "
               f"† marks small cells (1 to {min_cell - 1} sentences)."),
        Figure(share_figure(em, themes, sources), "Shares with bootstrap 95% confidence intervals."),
        Table(pd.DataFrame(rows), f"Emphasis by source and theme. † 1 to {min_cell - 1} sentences: a small "
              "cell, read its share with its (wide) interval; an empty cell's interval is shown too."),
    ]
    blocks += _over_time_blocks(t["emphasis_time"], labels)
    return Section("3. Emphasis", "emphasis", blocks)


def emphasis_test_sentence(em: pd.DataFrame, labels: dict[str, str]) -> str:
    """The emphasis test and the largest residuals, in words."""
    first = em.iloc[0]
    test = str(first.get("test", "") or "")
    if em["source"].nunique() < 2 or test.startswith("none") or pd.isna(first.get("chi2")):
        why = test.split(":", 1)[1].strip() if test.startswith("none:") else "fewer than two sources"
        return f"No test across sources ({why}): the shares describe each source on its own."
    chi2, dof, p = float(first["chi2"]), int(first["dof"]), first.get("p_value")
    asym = f", asymptotic {p_value(first['p_chi2'])}" if pd.notna(first.get("p_chi2")) else ""
    kind = "permutation " if asym else ""
    stat = f"χ² = {chi2:.1f}, dof = {dof}, {kind}{p_value(p)}{asym}"
    differs = pd.notna(p) and float(p) < 0.05
    text = (f"Emphasis differs across sources ({stat})." if differs else
            f"The data do not show that emphasis differs across sources ({stat}).")
    if test:
        text += f" Test: {test}."
    sub = em[(em["theme"] != UNASSIGNED)].dropna(subset=["residual"]) if "residual" in em else em.iloc[0:0]
    if sub.empty:
        return text
    pooled = em.groupby("theme")["n_sentences"].sum() / max(1, em["n_sentences"].sum())
    for word, r in (("over", sub.loc[sub["residual"].idxmax()]), ("under", sub.loc[sub["residual"].idxmin()])):
        if (word == "over") != (float(r["residual"]) > 0):
            continue
        within = " (within chance, |residual| < 2)" if abs(float(r["residual"])) < 1.96 else ""
        text += (f" Largest {word}-emphasis: {r['source']} on {labels.get(r['theme'], r['theme'])} "
                 f"({pct(r['share'])} of its body sentences against {pct(pooled.get(r['theme']))} across all "
                 f"sources; residual {signed(r['residual'], 1)}){within}.")
    return text


def _over_time_blocks(et: pd.DataFrame, labels: dict[str, str]) -> list:
    if et.empty or et["period"].nunique() < 2:
        return [Text("Emphasis over time: fewer than two dated periods, so no trend is shown.", kind="muted")]
    et = et[et["n_sentences"] > 0].sort_values(["period", "source", "theme"], kind="stable")
    rows = [{"period": str(r.period), "source": r.source, "theme": labels.get(r.theme, r.theme),
             "sentences": str(int(r.n_sentences)), "share": pct(r.share), "95% CI": ci(r.ci_low, r.ci_high)}
            for r in et.head(60).itertuples()]
    more = f" First 60 of {len(et)} rows; all are in emphasis_time.parquet." if len(et) > 60 else ""
    return [Heading("Emphasis over time", 3), Table(pd.DataFrame(rows), "Non-zero cells by period." + more)]


# -- 4. framing --------------------------------------------------------------------------------

def framing_section(t: dict, sources: list[str], manifest: dict) -> Section:
    themes, tone = t["themes"], t["tone"]
    labels = theme_labels(themes)
    blocks = [Text("For each theme: the terms that set one source apart from the others in the same theme "
                   "(weighted log-odds with an informative Dirichlet prior; |z| > 1.96 is about p < .05), "
                   "the mean sentence tone with its 95% CI, the Policy Frames Codebook dimensions the "
                   "sentences lean on, who is quoted, and contrast pairs: the most similar sentences from two "
                   "sources, side by side.")]
    if not tone.empty:
        blocks.append(Figure(tone_figure(tone, themes, sources), "Mean sentence tone (VADER compound) per theme and "
                                                        "source, with 95% confidence intervals."))
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
        rows = [{"source": s, "leading frames (share of sentences)": ", ".join(
                    f"{r.label} {r.share:.0%}" for r in frames[frames["source"] == s].head(N_FRAMES).itertuples())}
                for s in sources if s in set(frames["source"])]
        blocks += [Heading("Frames", 4), Table(pd.DataFrame(rows), wrap=("leading frames (share of sentences)",))]

    voices = _cell(t["voices"], theme)
    if len(voices):
        voices = voices.sort_values(["n", "speaker"], ascending=[False, True], kind="stable")
        rows = [{"source": s, "voices (times quoted)": ", ".join(
                    f"{r.speaker} ({int(r.n)})" for r in voices[voices["source"] == s].head(N_VOICES).itertuples())}
                for s in sources if s in set(voices["source"])]
        blocks += [Heading("Voices", 4), Table(pd.DataFrame(rows), wrap=("voices (times quoted)",))]

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


def _by_source(df: pd.DataFrame, sources: list[str]) -> pd.DataFrame:
    rank = {s: i for i, s in enumerate(sources)}
    return df.assign(_s=df["source"].map(rank)).sort_values("_s", kind="stable")
