"""Themes: the theme table, a map of all sentences, each theme's sentences, and theme editing."""
import os

import plotly.graph_objects as go
import streamlit as st

from framescope.app import edits, page_file
from framescope.app.display import escape_markdown, plain
from framescope.app.palette import chart, UNASSIGNED_COLOUR, source_symbols, style, theme_colours, wrap
from framescope.app.study import require_study
from framescope.themes.codebook import UNASSIGNED
from framescope.themes.io import topic_model_views

# drawn by default: the browser draws every point (WebGL, in software on many machines); a faster
# machine's server can raise it with FRAMESCOPE_MAP_POINTS
MAP_POINTS = int(os.environ.get("FRAMESCOPE_MAP_POINTS", "") or 2_500)
MAX_POINTS = 20_000  # drawn at most, with "every sentence" on
study = require_study()
themes, sents, emph = study.tables["themes"], study.table("sentences"), study.table("emphasis")
order = study.themes_in_order()

st.title("Themes")
st.caption("Named themes come from the codebook; discovered topics are clusters the topic model "
           "found among the remaining sentences. Every sentence has exactly one theme.")

# -- theme table --------------------------------------------------------------------------------
counts = (emph.pivot(index="theme", columns="source", values="n_sentences")
          .reindex(index=order, columns=study.sources).fillna(0).astype(int)) if not emph.empty else None
table = themes.set_index("theme").reindex(order).reset_index()
table["kind"] = table["named"].map({True: "codebook", False: "discovered"})
table["keywords"] = table["keywords"].map(lambda k: list(k)[:10] if k is not None else [])
cols = ["label", "theme", "kind", "n_sentences", "keywords"]
config = {"label": "Theme", "theme": "Key", "kind": "Kind",
          "n_sentences": st.column_config.NumberColumn("Sentences", help="All sources, all sentences"),
          "keywords": st.column_config.ListColumn(
              "Keywords", help="BERTopic's keywords: c-TF-IDF candidates re-ranked by KeyBERTInspired and MMR")}
if counts is not None:
    for s in study.sources:
        name = f"n · {study.slabel(s)}"
        table[name] = counts[s].values
        config[name] = st.column_config.NumberColumn(name, help=f"Body sentences of {study.slabel(s)}")
        cols.append(name)
st.dataframe(table[cols], hide_index=True, column_config=config)

# -- map ----------------------------------------------------------------------------------------
st.subheader("Map of sentences")
st.caption("Each point is a sentence, placed so that sentences with similar meaning lie close "
           "together (a 2-D projection of the sentence embeddings). Colour = theme, shape = source. "
           "Hover to read the sentence; click legend entries to hide themes.")
c1, c2, c3 = st.columns(3)
body_only = c1.toggle("Body sentences only", value=True, key="map_body")
hide_unassigned = c2.toggle("Hide unassigned sentences", value=False, key="map_unassigned")
all_pts = sents.dropna(subset=["x", "y"])
if body_only and "is_body" in all_pts:
    all_pts = all_pts[all_pts["is_body"]]
if hide_unassigned:
    all_pts = all_pts[all_pts["theme"] != UNASSIGNED]
every = c3.toggle("Every sentence", value=False, key="map_every", disabled=len(all_pts) <= MAP_POINTS,
                  help=f"The map draws a fixed random sample of {MAP_POINTS:,} sentences; switch on to draw all "
                       f"(up to {MAX_POINTS:,}; slower in the browser).")
limit = MAX_POINTS if every else MAP_POINTS
if len(all_pts) > limit:
    st.caption(f"Showing a fixed random sample of {limit:,} of the {len(all_pts):,} sentences (the same sample "
               "for every reader), to keep the map responsive. Every sentence is on the Sentences page.")


def sentence_map() -> go.Figure:
    """The map (built once per study, sources and toggles; shared by every session)."""
    pts = all_pts.sample(limit, random_state=0).sort_index() if len(all_pts) > limit else all_pts
    colours, symbols = theme_colours(order), source_symbols(study.all_sources)
    fig = go.Figure()
    for t in order:
        p = pts[pts["theme"] == t]
        if p.empty:
            continue
        fig.add_trace(go.Scattergl(
            x=p["x"], y=p["y"], mode="markers", name=plain(study.tlabel(t)), legendgroup="themes",
            legendgrouptitle_text="Theme",
            marker=dict(color=colours.get(t, UNASSIGNED_COLOUR), symbol=p["source"].map(symbols), size=9,
                        opacity=0.5 if t == UNASSIGNED else 0.85, line=dict(width=0.5, color="white")),
            hovertext=[f"<b>{plain(study.slabel(s))}</b> · {plain(study.tlabel(t))}<br>{wrap(x)}"
                       for s, x in zip(p["source"], p["text"])],
            hoverinfo="text"))
    for s in study.sources:  # a legend for the shapes
        fig.add_trace(go.Scattergl(x=[None], y=[None], mode="markers", name=plain(study.slabel(s)),
                                   legendgroup="sources", legendgrouptitle_text="Source",
                                   marker=dict(color="#666", symbol=symbols[s], size=9)))
    fig.update_xaxes(showticklabels=False, title=None, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, title=None, showgrid=False, zeroline=False)
    fig = style(fig, height=620)
    fig.update_layout(legend=dict(orientation="v", x=1.01, y=1, xanchor="left", yanchor="top"))
    return fig


chart(study.memo(("themes_map", body_only, hide_unassigned, limit), sentence_map), "map")

# -- BERTopic's views ----------------------------------------------------------------------------
views = topic_model_views(study.path)
if views:
    st.subheader("How the themes relate (BERTopic)")
    st.caption("The study's themes as BERTopic sees them (its model is saved in the study's `model/bertopic/` "
               "and opens with `BERTopic.load`). Hierarchy: themes that share vocabulary (c-TF-IDF) join early. "
               "Distance map: each circle is a theme, sized by its sentences; close circles use similar words.")
    names = {"hierarchy": "Hierarchy", "topic_distance": "Distance map"}
    for tab, (name, fig_dict) in zip(st.tabs([names[k] for k in views]), views.items()):
        with tab:
            chart(go.Figure(fig_dict), f"bertopic_{name}")

# -- each theme's sentences ---------------------------------------------------------------------
st.subheader("A theme's sentences")
theme = st.selectbox("Theme", order, format_func=study.tlabel, key="themes_theme")
row = themes[themes["theme"] == theme]
if not row.empty and isinstance(row.iloc[0].get("description"), str) and row.iloc[0]["description"].strip():
    st.markdown(f"*{escape_markdown(row.iloc[0]['description'])}*")
in_theme = sents[sents["theme"] == theme].sort_values(["theme_score", "sentence_id"], ascending=[False, True])
st.caption(f"{len(in_theme)} sentences, most typical first (theme score = similarity to the theme; "
           "grey = captions, datelines or trailers, left out of the measures).")
with st.container(height=420):
    lines = []
    for r in in_theme.head(500).itertuples():
        line = f"**{escape_markdown(study.slabel(r.source))}** · {r.theme_score:.2f} · {escape_markdown(r.text)}"
        lines.append(line if r.is_body else f":gray[{line}]")
    st.markdown("\n\n".join(lines))  # one element, not 500: far lighter for the server and the browser
    if len(in_theme) > 500:
        st.caption(f"… and {len(in_theme) - 500} more: see the Sentences page.")
st.page_link(page_file("sentences"), label="Search and filter all sentences", icon=":material/search:")

# -- editing ------------------------------------------------------------------------------------
st.subheader("Edit the themes")
edits.editor(study)
