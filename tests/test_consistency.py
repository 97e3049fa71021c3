"""The report and the app show the same study numbers, and report.md names only files that exist.

Both outputs are rendered from one freshly run seed study and the numbers are parsed from what
each shows (the report's Markdown, the app's metrics, tables and text), never taken from
``framescope.measures.summary`` directly.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from framescope.report.build import write_report

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
STUDY_FILES = re.compile(r"(?<![\w/.-])((?:figures/)?[\w.-]+\.(?:parquet|json|png|svg|html|md|yaml))\b")


@pytest.fixture(scope="module")
def reported(seed_study, tmp_path_factory) -> Path:
    """A copy of the session's fresh seed study (no figures/ folder) with its report written."""
    study = tmp_path_factory.mktemp("consistency") / "seed"
    shutil.copytree(seed_study, study)
    assert not (study / "figures").exists()
    write_report(study)
    return study


@pytest.fixture
def app_at(reported, tmp_path, monkeypatch):
    """The app opened on that study, with its session folders under tmp_path."""
    import tempfile

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("FRAMESCOPE_STUDY", str(reported))
    (tmp_path / "sessions").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "sessions"))
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _num(text: str) -> float:
    return float(text.replace(",", "").replace("−", "-").rstrip("%"))


def _unescape(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


def _md_table(md: str, header: str) -> list[dict[str, str]]:
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    cols = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(cols, (_unescape(c.strip()) for c in line.strip("|").split("|")))))
    return rows


def report_numbers(study: Path) -> dict:
    md = (study / "report.md").read_text(encoding="utf-8")
    themes = re.search(r"^(\d+) themes: (\d+) named in the codebook, (\d+) found in the corpus", md, re.M)
    unassigned = re.search(r"'unassigned' \(not a theme\): ([\d.]+%) of the body sentences \(([\d,]+) of", md)
    sources = {r["source"]: {k: int(_num(r[k])) for k in ("documents", "sentences", "body sentences", "words")}
               for r in _md_table(md, "| source | outlet |")}
    notable = _unescape(re.search(r"^\*\*Notable cells\.\*\* (.*)$", md, re.M).group(1))
    cells = re.findall(r"(\S+) on (.+?) \(residual ([+−-][\d.]+)\)", notable.split(": ", 1)[1])
    subtitle = md.splitlines()[2]
    return {"themes": int(themes.group(1)), "named": int(themes.group(2)), "discovered": int(themes.group(3)),
            "unassigned": unassigned.group(1), "n_unassigned": int(_num(unassigned.group(2))), "sources": sources,
            "flagged": [(s, t, _num(r)) for s, t, r in cells], "threshold": re.search(r"≥ ([\d.]+)", notable).group(1),
            "subtitle_themes": int(re.search(r"· (\d+) themes ·", subtitle).group(1))}


def overview_numbers(at) -> dict:
    metrics = {m.label: m.value for m in at.metric}
    table = at.dataframe[0].value
    key = dict(zip(table["name"], table["source"]))
    sources = {r["source"]: {"documents": int(r["documents"]), "sentences": int(r["sentences"]),
                             "body sentences": int(r["body_sentences"]), "words": int(r["words"])}
               for r in table.to_dict("records")}
    notable = next(_unescape(m.value) for m in at.markdown if m.value.startswith("Notable cells"))
    cells = re.findall(r"^- \*\*(.+?)\*\* on \*\*(.+?)\*\*: residual ([+−-][\d.]+)$", notable, re.M)
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    return {"themes": int(metrics["Themes"]), "unassigned": metrics["Unassigned"], "sources": sources,
            "flagged": [(key[s], t, _num(r)) for s, t, r in cells],
            "threshold": re.search(r"≥ ([\d.]+)", notable).group(1),
            "body": int(_num(metrics["Body sentences"])), "words": int(_num(metrics["Words"])),
            "sidebar_themes": int(re.search(r"([\d,]+) themes?\b", sidebar).group(1))}


def test_report_and_overview_show_the_same_numbers(reported, app_at):
    rep, app = report_numbers(reported), overview_numbers(app_at)
    assert rep["themes"] == rep["named"] + rep["discovered"] == rep["subtitle_themes"]
    assert app["themes"] == rep["themes"] == app["sidebar_themes"]
    assert app["unassigned"] == rep["unassigned"]
    assert rep["sources"] == app["sources"]
    assert app["body"] == sum(s["body sentences"] for s in rep["sources"].values())
    assert app["words"] == sum(s["words"] for s in rep["sources"].values())
    assert app["threshold"] == rep["threshold"] == "1.96"
    assert rep["flagged"] and app["flagged"] == rep["flagged"]
    # words are those of the body sentences, which emphasis counts: fewer than in all sentences
    import pandas as pd

    sents = pd.read_parquet(reported / "sentences.parquet")
    assert sum(s["words"] for s in rep["sources"].values()) == int(sents.loc[sents["is_body"], "n_words"].sum())


def test_the_emphasis_page_flags_the_same_cells_and_shows_the_gaps(reported, app_at):
    rep = report_numbers(reported)
    app_at.switch_page("src/framescope/app/views/emphasis.py").run()
    assert not app_at.exception, [e.value for e in app_at.exception]
    listed = next(_unescape(m.value) for m in app_at.markdown if m.value.startswith("Cells that depart most"))
    names = {v: k for k, v in _label_pairs(reported).items()}
    cells = re.findall(r"^- \*\*(.+?)\*\* (?:over|under)-emphasises \*\*(.+?)\*\*: .*residual ([+-][\d.]+)$",
                       listed, re.M)
    assert [(names[s], t, _num(r)) for s, t, r in cells] == rep["flagged"][:len(cells)]
    assert "How to read" in " ".join(c.value for c in app_at.caption)
    gaps = app_at.dataframe[0].value  # the largest difference per theme, largest first
    assert gaps["difference"].is_monotonic_decreasing and len(gaps) > 0
    assert len(app_at.get("plotly_chart")) >= 4  # heatmap, bars, gaps, residuals


def _label_pairs(study: Path) -> dict[str, str]:
    import pandas as pd

    docs = pd.read_parquet(study / "documents.parquet")
    return {s: str(g["outlet"].dropna().iloc[0]) if g["outlet"].notna().any() else s
            for s, g in docs.groupby("source")}


def test_report_md_names_only_files_that_exist(reported):
    md = (reported / "report.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)]+)\)", md)
    named = set(STUDY_FILES.findall(md)) | set(links)
    assert any(p.startswith("figures/") for p in links)  # the figures are written and linked
    for path in sorted(named):
        assert not re.match(r"^[a-z]+:", path), path  # no URLs, only files of the study
        assert (reported / path).is_file(), path
    assert sorted(p.name for p in (reported / "figures").iterdir()) == sorted(
        f"{n}.{e}" for n in ("emphasis_heatmap", "emphasis_ci", "tone_ci") for e in ("png", "svg"))
    assert not list((reported / "figures").glob(".*"))  # no temporary files left behind
