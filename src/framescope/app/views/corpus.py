"""Corpus: bring your own texts, choose columns and a codebook, and run a new study.

The new study is written into this browser session's own temporary folder and becomes the open
study; the seed study and every other study of the session stay available in the sidebar. A bad
upload shows a message and changes nothing.
"""
import json
import logging
import os
from pathlib import Path

import streamlit as st

from framescope.app import page_file
from framescope.app.display import escape_markdown
from framescope.app.runs import codebook_summary, run_study, server_folder, store_codebook
from framescope.app.study import add_study, session_dir
from framescope.app.uploads import MAX_UPLOAD_MB, UPLOAD_TYPES, store_uploads
from framescope.ingest.columns import MIN_TEXT_WORDS, checked_columns, column_guesses
from framescope.ingest.language import NOTE_MARK
from framescope.config import SEED_ROOT, IngestConfig
from framescope.errors import InputError

log = logging.getLogger("framescope")
NONE = "(none)"


def language_notes(study: Path) -> list[str]:
    """The new study's notes on documents that do not look like English (``ingest.language``)."""
    try:
        notes = json.loads((study / "manifest.json").read_text(encoding="utf-8")).get("notes") or []
    except (OSError, ValueError):
        return []
    return [str(n) for n in notes if NOTE_MARK in str(n)]


COLUMN_KEYS = {"text": "col_text", "source": "col_source", "date": "col_date", "title": "col_title"}
SEED_CODEBOOK = SEED_ROOT / "seeds" / "codebook.yaml"

st.title("Corpus")
st.caption("Analyse your own corpus with the same pipeline as the seed study. The result opens as "
           "a new study of this session; the studies you already have stay in the sidebar.")

done = st.session_state.pop("_fs_run_done", None)
if done:
    st.success(f"Study **{escape_markdown(done)}** is ready and open. Explore it from the Overview.")
    st.page_link(page_file("overview"), label="Go to the Overview", icon=":material/dashboard:")
for note in st.session_state.pop("_fs_run_warnings", None) or []:
    st.warning(escape_markdown(note), icon=":material/translate:")

# -- 1. texts -----------------------------------------------------------------------------------
st.subheader("1. Texts")
mode = st.radio("Where are the texts?", ["Upload files", "A folder on this server"], horizontal=True,
                key="corpus_mode")
with st.expander("What should my files look like?"):
    st.markdown(
        "- **A table** (CSV, TSV or JSONL): one document per row, a column of text and, ideally, a "
        "column naming the source (outlet, speaker, party…) and a date column (ISO dates such as "
        "2024-03-01, or year-month 2024-03). You pick the columns below.\n"
        "- **Text files**: one `.txt` file per source (the file name becomes the source), or a ZIP of "
        "them. A file of several pasted articles is split into articles. A folder on the server may "
        "also hold a `manifest.yaml` with each file's source, outlet, title, genre and date (see "
        "`seeds/corpus/manifest.yaml`).\n"
        "- **Size**: topic discovery needs about 30 sentences or more; with fewer, only the "
        "codebook's named themes are found. Runs take roughly 1 s per 200 sentences plus ~20 s of "
        "model start-up.")
upload, error = None, None
if mode == "Upload files":
    files = st.file_uploader(
        "A table (CSV, TSV, JSONL) with one document per row, or text files (TXT, or a ZIP of TXT "
        "files), one per source", type=list(UPLOAD_TYPES), accept_multiple_files=True,
        key="corpus_files", max_upload_size=MAX_UPLOAD_MB,
        help=f"Up to {MAX_UPLOAD_MB} MB. A text file's name becomes its source; a file of several "
             "pasted articles is split into articles.")
    if files:
        key = tuple((f.file_id, f.size) for f in files)
        cached = st.session_state.get("_fs_upload")
        if cached and cached[0] == key:
            upload, error = cached[1], cached[2]
        else:
            try:
                upload = store_uploads([(f.name, f.getvalue()) for f in files], session_dir() / "uploads")
            except InputError as e:
                error = str(e)
            st.session_state["_fs_upload"] = (key, upload, error)
            for k in COLUMN_KEYS.values():  # a new table starts from its own guesses
                st.session_state.pop(k, None)
else:
    roots = [Path(p) for p in os.environ.get("FRAMESCOPE_DATA_ROOTS", "").split(os.pathsep) if p] or [Path.cwd()]
    st.caption("Allowed under: " + ", ".join(f"`{escape_markdown(str(r))}`" for r in roots))
    folder = st.text_input("Folder of .txt/.md files (with an optional manifest.yaml)", key="corpus_folder",
                           placeholder="seeds/corpus")
    if folder:
        try:
            upload = server_folder(folder, roots)
        except InputError as e:
            error = str(e)
if error:
    st.error(f"{error}. The open study is unchanged.", icon=":material/error:")

ingest = {}
if upload is not None and upload.kind == "table":
    cols, table_name = upload.columns, upload.inputs[0].name
    st.dataframe(upload.preview.head(5), hide_index=True)
    guesses = column_guesses(upload.profile)
    c1, c2, c3, c4 = st.columns(4)
    text_col = c1.selectbox(
        "Text column", cols, index=cols.index(guesses["text"].column) if guesses["text"].column else None,
        key=COLUMN_KEYS["text"], placeholder="Choose the text column",
        help=f"The documents' text: sentences, at least {MIN_TEXT_WORDS} words per value on average.")

    def pick(col, label, role, help):
        guess = guesses[role].column
        options = [NONE] + cols
        return col.selectbox(label, options, index=options.index(guess) if guess else 0, key=COLUMN_KEYS[role],
                             help=help)

    source_col = pick(c2, "Source column", "source", "Who published or said the text. None: the whole file is one "
                      "source (or the column named `source`, if there is one).")
    date_col = pick(c3, "Date column", "date", "Optional; enables the over-time view.")
    title_col = pick(c4, "Title column", "title", "Optional.")
    st.caption("Guessed from the table's content:  \n" + "  \n".join(
        f"**{role.title()}:** {escape_markdown(g.column) if g.column else NONE} — {escape_markdown(g.reason)}"
        for role, g in guesses.items()))
    ingest = {"text_col": text_col, "date_col": None if date_col == NONE else date_col,
              "title_col": None if title_col == NONE else title_col}
    if source_col != NONE:
        ingest["source_col"] = source_col
    elif "source" in cols:
        st.caption("Note: the column named `source` is used as the source.")
    if text_col is None:
        error = f"{table_name}: {guesses['text'].reason}"
    else:
        try:
            checked_columns(upload.profile, table_name, IngestConfig(**ingest))  # the CLI's own check
        except InputError as e:
            error = str(e)
    if error:
        st.error(f"{escape_markdown(error)}. The open study is unchanged.", icon=":material/error:")
elif upload is not None:
    st.caption(f"{len(upload.names)} file(s): " + ", ".join(escape_markdown(n[:60]) for n in upload.names[:20]))

# -- 2. codebook --------------------------------------------------------------------------------
st.subheader("2. Codebook")
cb_mode = st.radio("Named themes", ["None: discover themes only", "The seed codebook", "Upload a codebook"],
                   key="corpus_codebook", help="A codebook names the themes you expect (key, label, "
                   "description, seed phrases). Sentences that fit none of them are clustered into "
                   "discovered topics either way.")
codebook, cb_error = None, None
if cb_mode == "The seed codebook":
    codebook = SEED_CODEBOOK
elif cb_mode == "Upload a codebook":
    cb_file = st.file_uploader("Codebook (YAML, same format as seeds/codebook.yaml)", type=["yaml", "yml"],
                               key="corpus_codebook_file", max_upload_size=1)
    if cb_file is not None:
        try:
            codebook = store_codebook(cb_file.getvalue(), session_dir() / "codebooks")
        except InputError as e:
            cb_error = str(e)
            st.error(f"{cb_error}.", icon=":material/error:")
if codebook is not None and cb_error is None:
    try:
        st.caption("Themes: " + escape_markdown(codebook_summary(codebook)))
    except InputError as e:
        cb_error = str(e)
        st.error(f"{cb_error}.", icon=":material/error:")

# -- 3. run -------------------------------------------------------------------------------------
st.subheader("3. Run")
with st.expander("Settings"):
    name = st.text_input("Study name", key="run_name", max_chars=60,
                         placeholder=(upload.names[0][:40] if upload is not None and upload.names else "my study"))
    model = st.selectbox("Embedding model", ["minilm", "wordllama", "tfidf"], key="run_model", format_func={
        "minilm": "all-MiniLM-L6-v2 (default; best themes)",
        "wordllama": "WordLlama (fast static embeddings)",
        "tfidf": "TF-IDF + SVD (no neural model)"}.get)
    seed = st.number_input("Random seed", 0, 2**31 - 1, 42, key="run_seed",
                           help="Same corpus, settings and seed give identical tables.")
ready = upload is not None and not error and cb_error is None and (cb_mode != "Upload a codebook" or codebook)
if st.button("Run the study", type="primary", disabled=not ready, key="run_study",
             icon=":material/play_arrow:"):
    label = name.strip() or (upload.names[0] if upload.names else "New study")
    try:
        path = run_study(upload.inputs, ingest, codebook, model, int(seed), session_dir())
    except InputError as e:
        st.error(f"The corpus could not be analysed: {e}. The open study is unchanged.", icon=":material/error:")
    except Exception:  # noqa: BLE001 — show a message, keep the session's studies
        log.exception("run failed")
        st.error("An internal error stopped the run (details are in the server log). The open study "
                 "is unchanged.", icon=":material/error:")
    else:
        st.session_state["_fs_run_done"] = add_study(path, label)
        st.session_state["_fs_run_warnings"] = language_notes(path)
        st.rerun()
elif not ready:
    st.caption("Fix the problem above to run." if error or cb_error else
               "Upload a corpus (or choose a folder) to run.")
