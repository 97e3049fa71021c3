"""Sentences: search and filter every sentence, matches highlighted, each linked to its document."""
import pandas as pd
import streamlit as st

from framescope.app import page_file
from framescope.app.display import highlight, match_spans
from framescope.app.study import require_study

PER_PAGE = 25
study = require_study()
sents = study.table("sentences")
frames = study.tables["frames"]
frame_label = dict(zip(frames["frame"], frames["label"])) if not frames.empty else {}
frame_label.setdefault("other", "Other")

st.title("Sentences")
st.caption("Every number in this study counts these sentences. Search them, filter them, and open "
           "any sentence in its document. Sources are chosen in the sidebar.")

c1, c2 = st.columns([3, 1])
query = c1.text_input("Search", key="sent_query", placeholder="a word or phrase, e.g. border",
                      help="Case-insensitive. Tick 'regular expression' for patterns such as "
                           r"`coerc\w+`.")
regex = c2.checkbox("Regular expression", key="sent_regex")
body_only = c2.checkbox("Body sentences only", key="sent_body", value=False,
            help="Leave out captions, datelines and attribution trailers (the measures use body "
                 "sentences only).")
c1, c2, c3 = st.columns([2, 2, 2])
themes = c1.multiselect("Themes", study.themes_in_order(), format_func=study.tlabel, key="sent_themes",
                        placeholder="all themes")
frame_keys = sorted(sents["frame"].dropna().unique()) if "frame" in sents else []
frame_sel = c2.multiselect("Frames", frame_keys, format_func=lambda f: frame_label.get(f, f),
                           key="sent_frames", placeholder="all frames",
                           help="The sentence's strongest frame dimension.")
tone = c3.slider("Tone (VADER compound)", -1.0, 1.0, (-1.0, 1.0), step=0.05, key="sent_tone",
                 help="−1 most negative, +1 most positive.")

view = sents
if body_only:
    view = view[view["is_body"]]
also = (view["also_themes"].map(lambda a: [str(t) for t in a] if a is not None else [])
        if "also_themes" in view else pd.Series([[]] * len(view), index=view.index))
if themes:  # a theme's own sentences and those that also mention it (framing reads both)
    view = view[view["theme"].isin(themes) | also.map(lambda a: bool(set(a) & set(themes)))]
if frame_sel:
    view = view[view["frame"].isin(frame_sel)]
if tone != (-1.0, 1.0):
    view = view[view["tone"].between(*tone)]
spans = {}
if query:
    spans = {sid: sp for sid, text in zip(view["sentence_id"], view["text"])
             if (sp := match_spans(text, query, regex))}
    view = view[view["sentence_id"].isin(spans)]
    if regex and not spans:
        st.caption("No match (or not a valid regular expression).")

st.markdown(f"**{len(view):,}** of {len(sents):,} sentences match.")
tab_read, tab_table = st.tabs(["Read", "Table"])

with tab_read:
    n_pages = max(1, -(-len(view) // PER_PAGE))
    page = st.number_input(f"Page (of {n_pages})", 1, n_pages, 1, key="sent_page") if n_pages > 1 else 1
    chunk = view.iloc[(page - 1) * PER_PAGE: page * PER_PAGE]
    for r in chunk.itertuples():
        with st.container(border=True):
            frame = frame_label.get(getattr(r, "frame", None), getattr(r, "frame", ""))
            kind = "" if r.is_body else f" · {r.kind}"
            mentions = "".join(f" (also {study.tlabel(t)})" for t in also.loc[r.Index])
            st.caption(f"{study.slabel(r.source)} · {study.tlabel(r.theme)}{mentions} · {frame} · "
                       f"tone {r.tone:+.2f}{kind} · {r.sentence_id}")
            st.markdown(highlight(r.text, spans.get(r.sentence_id, [])))
            st.page_link(page_file("document"), label="Show in its document", icon=":material/article:",
                         query_params={"doc": r.doc_id, "sentence": r.sentence_id})

with tab_table:
    table = view.assign(source=view["source"].map(study.slabel), theme=view["theme"].map(study.tlabel),
                        also=also.loc[view.index].map(lambda a: ", ".join(study.tlabel(t) for t in a)),
                        frame=view["frame"].map(lambda f: frame_label.get(f, f)) if "frame" in view else "")
    st.dataframe(
        table[["sentence_id", "source", "theme", "also", "frame", "tone", "text"]], hide_index=True,
        column_config={"sentence_id": "Sentence id", "source": "Source", "theme": "Theme",
                       "also": st.column_config.TextColumn(
                           "Also mentions", help="Other named themes the sentence speaks to: framing "
                                                 "reads it under them too; emphasis counts it once."),
                       "frame": "Frame", "tone": st.column_config.NumberColumn("Tone", format="%+.2f"),
                       "text": st.column_config.TextColumn("Sentence", width="large")},
    )
    st.caption("Download the table with the icon at its top right; open a sentence's document from "
               "the Read tab.")
