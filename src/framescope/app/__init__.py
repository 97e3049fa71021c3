"""The Streamlit app: thin pages over a study's artifact tables and framescope's stage functions.

`main.py` builds the navigation and the shared sidebar (`framescope app` starts it; the
repository's `app.py` calls it); each page is a short script in `views/` that reads the study's
cached tables and draws them. The importable modules here hold no analysis, only the pages' helpers:

- `study`     which study is open, the cached tables, the sources the user selected;
- `palette`   one source -> colour mapping and the chart styling shared by all pages;
- `display`   labels, number formats and safe (escaped) Markdown with highlighted matches;
- `findings`  the Overview's headline sentences, phrased from the emphasis and tone tables;
- `uploads`   checks and stores an uploaded corpus (extension, content, size, ZIP members);
- `edits`     theme edits (rename, merge, move) written to the study's codebook and re-applied;
- `runs`      a new study from the Corpus page (`framescope.engines.pipeline.run`, with progress);
- `labelling` the Validate page's session: next sentence, label, skip, undo (labels saved at once);
- `server`    `framescope app`: starts and stops the Streamlit server.
"""
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent
PAGES_DIR = APP_DIR / "views"
"""The page scripts (not `pages/`: Streamlit would take a `pages/` folder beside the entry
script for a v1 multipage app and run it instead of `main.py`'s `st.navigation`)."""
ENTRY = APP_DIR / "main.py"
"""The script `streamlit run` starts."""
STREAMLIT_CONFIG = APP_DIR / "streamlit.toml"
"""The app's Streamlit settings (the repository's `.streamlit/config.toml` links here)."""


def page_file(name: str) -> str:
    """The script of a page, for `st.Page`, `st.page_link` and `st.switch_page`."""
    return str(PAGES_DIR / f"{name}.py")
