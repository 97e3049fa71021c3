"""Document: one document's full text, paragraph by paragraph, with a chosen sentence highlighted.

Opened from the Sentences page (`?doc=d0001&sentence=d0001-s0004`); not listed in the menu.
"""
import streamlit as st

from framescope.app import page_file
from framescope.app.display import escape_markdown, highlight
from framescope.app.study import require_study

study = require_study()
docs, sents = study.tables["documents"], study.tables["sentences"]
doc_ids = docs["doc_id"].astype(str).tolist()
wanted = st.query_params.get("doc")
target = st.query_params.get("sentence")

st.page_link(page_file("sentences"), label="Back to Sentences", icon=":material/arrow_back:")
st.title("Document")
if not doc_ids:
    st.info("This study has no documents.")
    st.stop()
names = study.memo(("document_names",), lambda: {
    str(d): f"{d} · {study.slabel(s)} · {str(t)[:90]}"
    for d, s, t in zip(docs["doc_id"], docs["source"], docs["title"] if "title" in docs else [""] * len(docs))})
doc_id = st.selectbox("Document", doc_ids, index=doc_ids.index(wanted) if wanted in doc_ids else 0,
                      format_func=names.get, key=f"doc_pick::{wanted}")
if wanted and wanted not in doc_ids:
    st.warning("That document is not part of the open study; showing the first document instead.")
doc = docs[docs["doc_id"] == doc_id].iloc[0]
meta = [study.slabel(doc["source"])]
meta += [str(doc[c]) for c in ("genre", "date") if c in doc and isinstance(doc[c], str) and doc[c]]
st.markdown(f"### {escape_markdown(doc.get('title') or doc_id)}")
st.caption(" · ".join(meta) + (f" · {doc['attribution']}" if isinstance(doc.get("attribution"), str) else ""))

in_doc = sents[sents["doc_id"] == doc_id].sort_values("position")
text = str(doc["text"])


def paragraph_markdown(para) -> str:
    start, end = int(para["start"].min()), int(para["end"].max())
    spans = [(int(r.start) - start, int(r.end) - start) for r in para.itertuples() if r.sentence_id == target]
    body = highlight(text[start:end], spans)
    return body if para["is_body"].any() else f":gray[{body}]"


if target in set(in_doc["sentence_id"]):
    row = in_doc[in_doc["sentence_id"] == target].iloc[0]
    with st.container(border=True):
        st.caption(f"Sentence {target} in its paragraph · theme {study.tlabel(row['theme'])} · "
                   f"tone {row['tone']:+.2f}")
        st.markdown(paragraph_markdown(in_doc[in_doc["paragraph"] == row["paragraph"]]))
    st.caption("The whole document follows, with the sentence highlighted. Grey paragraphs are "
               "captions, datelines or trailers, which the measures leave out.")
st.divider()
for _, para in in_doc.groupby("paragraph", sort=True):
    st.markdown(paragraph_markdown(para))

with st.expander(f"The document's {len(in_doc)} sentences with their theme, frame and tone"):
    st.dataframe(in_doc.assign(theme=in_doc["theme"].map(study.tlabel))[
        ["sentence_id", "paragraph", "kind", "theme", "frame", "tone", "text"]], hide_index=True,
        column_config={"tone": st.column_config.NumberColumn(format="%+.2f"),
                       "text": st.column_config.TextColumn(width="large")})
