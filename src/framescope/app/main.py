"""The Streamlit entry: builds the navigation and the shared sidebar (which study, which sources).

Each page is a short script in `views/` (`framescope.app.page_file`) that reads the study's cached tables. The study
opened at start is `$FRAMESCOPE_STUDY`, else the packaged seed study. Started by
`framescope app [STUDY_DIR]` (this file, from the installed package) or `streamlit run app.py`
in the repository (which calls :func:`main`).
"""
import json
import os
import time

import streamlit as st

from framescope.app import page_file
from framescope.app.study import sidebar


def page(name: str, title: str, icon: str, **kw) -> st.Page:
    return st.Page(page_file(name), title=title, icon=f":material/{icon}:", **kw)


def main() -> None:
    st.set_page_config(page_title="framescope", page_icon=":material/compare:", layout="wide")
    navigation = st.navigation({
        "Explore": [
            page("overview", "Overview", "dashboard", default=True),
            page("themes", "Themes", "bubble_chart"),
            page("emphasis", "Emphasis", "bar_chart"),
            page("framing", "Framing", "compare_arrows"),
            page("sentences", "Sentences", "format_quote"),
            page("document", "Document", "article", visibility="hidden"),
        ],
        "Your data": [
            page("corpus", "Corpus", "upload_file"),
            page("validate", "Validate", "fact_check"),
            page("export", "Export", "download"),
        ],
    })
    started = time.perf_counter()
    try:
        sidebar()
        navigation.run()
    finally:
        log = os.environ.get("FRAMESCOPE_PAGE_TIMES")
        if log:  # research/app_load.py: the server's time per script run, apart from the browsers'
            log_page_time(log, navigation.title, time.perf_counter() - started)


def log_page_time(path: str, title: str, seconds: float) -> None:
    """Append one JSON line (page title, seconds on the server) to ``path``; one short append, so
    concurrent sessions do not interleave within a line."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"page": title, "seconds": round(seconds, 4)}) + "\n")


if __name__ == "__main__":
    main()
