"""The app's pages: one short script per page (`framescope.app.page_file`), run by Streamlit
through `st.navigation` in `framescope.app.main`. They read the open study's cached tables and
draw them; they are never imported."""
