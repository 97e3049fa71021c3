"""Export: the report (HTML, Markdown), every table (CSV, Parquet), and the whole study as a ZIP."""
import io
import shutil
import zipfile
from functools import partial
from pathlib import Path

import streamlit as st

from framescope.app.study import is_protected, require_study, session_dir, study_stamp
from framescope.artifacts import read_table
from framescope.errors import InputError
from framescope.report.build import report_is_current, write_report

study = require_study()
slug = "".join(c if c.isalnum() else "_" for c in study.path.name) or "study"

st.title("Export")
st.caption("Take the study with you: a report a colleague can open anywhere, the tables for your "
           "own analysis, or the whole study folder (tables, manifest, codebook, model).")


def report_folder() -> Path:
    """Where the report is written: the study itself, or a session copy of the committed seed."""
    if not is_protected(study.path):
        return study.path
    dest = session_dir() / f"report-{study_stamp(study.path)}"
    if not (dest / "manifest.json").is_file():
        shutil.copytree(study.path, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".*", "model"))
    return dest


def fresh(folder: Path) -> bool:
    """True when FOLDER's report was built from the study's current run (its manifest digest)."""
    return report_is_current(folder, study.path)


st.subheader("Report")
st.markdown("One self-contained HTML page (plots inline, works offline, prints cleanly) and the same "
            "tables in Markdown for pasting into a paper: corpus, themes with exemplars, emphasis with "
            "the test, framing per theme, method notes and the manifest.")
folder = study.path if fresh(study.path) else report_folder()
if not fresh(folder):
    if st.button("Build the report", type="primary", key="build_report"):
        with st.spinner("Writing report.html and report.md…"):
            try:
                write_report(folder)
            except InputError as e:
                st.error(f"The report could not be written: {e}")
if fresh(folder):
    c1, c2 = st.columns(2)
    c1.download_button("Report (HTML)", data=partial((folder / "report.html").read_bytes),
                       file_name=f"{slug}-report.html", mime="text/html", icon=":material/download:",
                       on_click="ignore", key="dl_html")
    c2.download_button("Report (Markdown)", data=partial((folder / "report.md").read_bytes),
                       file_name=f"{slug}-report.md", mime="text/markdown", icon=":material/download:",
                       on_click="ignore", key="dl_md")


def table_csv(name: str) -> bytes:
    return read_table(study.path, name).to_csv(index=False).encode("utf-8")


def study_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(study.path.rglob("*")):
            rel = f.relative_to(study.path)
            if f.is_file() and not any(part.startswith(".") for part in rel.parts):
                zf.write(f, f"{slug}/{rel.as_posix()}")
        if folder != study.path:
            for name in ("report.html", "report.md"):
                if (folder / name).is_file():
                    zf.write(folder / name, f"{slug}/{name}")
    return buf.getvalue()


st.subheader("Tables")
st.caption("Column meanings: docs/artifacts.md. Parquet keeps types (lists, booleans); CSV opens "
           "in any spreadsheet. All rows of all sources, whatever the sidebar shows.")
for name, df in study.tables.items():
    if df.empty or not (study.path / f"{name}.parquet").is_file():
        continue
    c0, c1, c2 = st.columns([3, 1, 1], vertical_alignment="center")
    c0.markdown(f"`{name}` · {len(df):,} rows × {len(df.columns)} columns")
    c1.download_button("CSV", data=partial(table_csv, name), file_name=f"{slug}-{name}.csv",
                       mime="text/csv", on_click="ignore", key=f"csv_{name}")
    c2.download_button("Parquet", data=partial((study.path / f"{name}.parquet").read_bytes),
                       file_name=f"{slug}-{name}.parquet", mime="application/vnd.apache.parquet",
                       on_click="ignore", key=f"pq_{name}")

st.subheader("Everything")
st.caption("The study folder as a ZIP: unzip it and `framescope app FOLDER` opens it, "
           "`framescope report FOLDER` rebuilds the report.")
st.download_button("Whole study (ZIP)", data=study_zip, file_name=f"{slug}.zip", mime="application/zip",
                   on_click="ignore", key="dl_zip", type="primary", icon=":material/folder_zip:")
