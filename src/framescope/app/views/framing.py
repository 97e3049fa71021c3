"""Framing: pick a theme and compare how the sources talk about it, side by side."""
import re

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from framescope.app import page_file
from framescope.app.display import escape_markdown, highlight, match_spans, plain
from framescope.app.palette import chart, source_colours, style
from framescope.app.study import require_study
from framescope.measures.divergence import MAX_PAIRED_SOURCES
from framescope.measures.exemplars import paired_contrasts
from framescope.measures.frames import frame_validation, validation_summary
from framescope.themes.codebook import UNASSIGNED

N_TERMS = 10
MAX_QUOTES = 30
N_CONTRASTS = 30  # contrast pairs shown at most
MAX_TERM_SOURCES = 6  # distinctive-terms chart columns at most
study = require_study()
emph = study.table("emphasis")
colours = source_colours(study.all_sources)

st.title("Framing")
st.caption("For one theme at a time: the words, tone, frame dimensions and voices each source uses "
           "when it writes about that theme, with typical sentences and matched contrasts.")

order = [t for t in study.themes_in_order() if t != UNASSIGNED]
present = emph[emph["n_sentences"] > 0].groupby("theme")["source"].apply(list).to_dict() if not emph.empty else {}
options = [t for t in order if t in present] or order
if not options:
    st.info("This study has no themes.")
    st.stop()
# Open on the most even comparison: the theme whose second-largest source has the most sentences.
second = emph[emph["theme"].isin(options)].groupby("theme")["n_sentences"].apply(
    lambda n: sorted(n, reverse=True)[1] if len(n) > 1 else 0) if not emph.empty else {}
default = max(range(len(options)), key=lambda i: (second.get(options[i], 0), -i)) if len(second) else 0
theme = st.selectbox("Theme", options, index=default, key="framing_theme",
                     format_func=lambda t: f"{study.tlabel(t)}  ({len(present.get(t, []))} sources)")
srcs = [s for s in study.sources if s in present.get(theme, [])]
name = study.tlabel(theme)


def cell(table: str) -> pd.DataFrame:
    df = study.table(table)
    return df[df["theme"] == theme] if not df.empty else df


notes = cell("notes")
theme_notes = notes.loc[notes["scope"] == "theme", "note"].astype(str).unique() if not notes.empty else []
cell_notes = notes.loc[notes["scope"] == "cell", "note"].astype(str).unique() if not notes.empty else []
for n in theme_notes:
    st.info(n, icon=":material/info:")
if not srcs:
    st.warning("None of the selected sources has a sentence on this theme.")
    st.stop()
if len(srcs) == 1 and not len(theme_notes):
    st.info(f"Only {study.slabel(srcs[0])} discusses {name} among the selected sources, so there is "
            "nothing to compare: its framing is shown alone.", icon=":material/info:")
if len(cell_notes):
    st.caption("Small cells: " + "; ".join(escape_markdown(n) for n in cell_notes) + ".")
n_by = emph[emph["theme"] == theme].set_index("source")["n_sentences"]
st.markdown(" · ".join(f"**{escape_markdown(study.slabel(s))}**: {int(n_by.get(s, 0))} "
                       f"sentence{'' if int(n_by.get(s, 0)) == 1 else 's'}" for s in srcs))

# -- distinctive terms --------------------------------------------------------------------------
st.subheader("Distinctive terms")
st.caption("Weighted log-odds with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008): "
           "each source's words on this theme against the other sources' words on it, with the whole "
           "corpus as the prior. A longer bar is a word the source uses more than the others do; "
           "|z| > 1.96 is about the 5% level. Hover for the counts.")
terms = cell("terms")
term_srcs = [s for s in srcs if not terms.empty and (terms["source"] == s).any()]
if len(term_srcs) > MAX_TERM_SOURCES:  # one chart column per source: keep the sources with most sentences
    term_srcs = sorted(term_srcs, key=lambda s: (-float(n_by.get(s, 0)), str(s)))[:MAX_TERM_SOURCES]
    st.caption(f"Distinctive terms of the {MAX_TERM_SOURCES} sources with the most sentences in this theme "
               "(pick sources in the sidebar to see others; all are in terms.parquet).")


def term_bars(t: pd.DataFrame, sign: int, colour: str, who: str) -> go.Bar:
    return go.Bar(
        x=sign * t["z"], y=[plain(x) for x in t["term"]], orientation="h", name=plain(who),
        marker_color=colour, customdata=t[["z", "count"]],
        hovertemplate="<b>%{y}</b><br>z = %{customdata[0]:.2f} for " + plain(who)
                      + "<br>used %{customdata[1]} times<extra></extra>")


def terms_chart() -> go.Figure:
    """The distinctive-terms chart (built once per study, sources and theme: Study.memo)."""
    if len(term_srcs) == 2:  # the classic two-sided display: one source to the right, one to the left
        a, b = term_srcs
        ta, tb = (terms[terms["source"] == s].nlargest(N_TERMS, "z") for s in (a, b))
        ta, tb = ta[ta["z"] > 0], tb[tb["z"] > 0]
        fig = go.Figure([term_bars(tb.sort_values("z"), -1, colours[b], study.slabel(b)),
                         term_bars(ta.sort_values("z"), 1, colours[a], study.slabel(a))])
        fig.add_vline(x=0, line_width=1, line_color="#444")
        fig.update_layout(barmode="overlay", xaxis_title=f"← more {plain(study.slabel(b))}   ·   z-score   ·   "
                                                         f"more {plain(study.slabel(a))} →")
        fig.update_yaxes(categoryorder="array", categoryarray=[plain(x) for x in
                         [*tb.sort_values("z", ascending=False)["term"], *ta.sort_values("z")["term"]]])
        return style(fig, height=140 + 20 * (len(ta) + len(tb)), legend_title="Used more by")
    fig = make_subplots(rows=1, cols=len(term_srcs), horizontal_spacing=0.12,
                        subplot_titles=[plain(study.slabel(s)) for s in term_srcs])
    for i, s in enumerate(term_srcs, start=1):
        t = terms[terms["source"] == s]
        top = pd.concat([t.nlargest(N_TERMS, "z"), t[t["z"] < 0].nsmallest(N_TERMS // 2, "z")])
        top = top.drop_duplicates("term").sort_values("z")
        bar = term_bars(top, 1, colours[s], study.slabel(s))
        bar.update(marker_color=[colours[s] if z > 0 else "#BBBBBB" for z in top["z"]], showlegend=False)
        fig.add_trace(bar, row=1, col=i)
        fig.add_vline(x=0, line_width=1, line_color="#444", row=1, col=i)
    fig.update_xaxes(title_text="z-score", zeroline=True)
    return style(fig, height=120 + 24 * (N_TERMS + N_TERMS // 2))


if not term_srcs:
    st.caption("No distinctive terms for this theme (too few words).")
else:
    chart(study.memo(("framing_terms", theme), terms_chart), "terms")

# -- tone and frames -----------------------------------------------------------------------------
# Both charts are built once per study, sources and theme, and shared by every session (Study.memo).


def tone_chart(tone: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for s, r in tone.iterrows():
        fig.add_trace(go.Scatter(
            x=[r["mean"]], y=[plain(study.slabel(s))], mode="markers+text", name=plain(study.slabel(s)),
            text=[f"{r['mean']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}], n={int(r['n_sentences'])}"],
            textposition="top center", textfont=dict(size=12, color="#333"),
            marker=dict(color=colours[s], size=13, symbol="circle-open" if r["small_cell"] else "circle",
                        line=dict(width=2)),
            error_x=dict(type="data", symmetric=False, array=[r["ci_high"] - r["mean"]],
                         arrayminus=[r["mean"] - r["ci_low"]], thickness=2, color=colours[s]),
            hovertemplate=f"mean %{{x:+.2f}} (95% CI {r['ci_low']:+.2f} to {r['ci_high']:+.2f}), "
                          f"n={int(r['n_sentences'])}<extra></extra>", showlegend=False))
    fig.add_vline(x=0, line_dash="dot", line_color="#888")
    fig.update_xaxes(range=[-1.05, 1.05], title="mean tone (VADER compound)")
    fig.update_yaxes(range=[len(tone) - 0.5, -0.9])  # room above the first label
    return style(fig, height=110 + 55 * len(tone))


def frames_chart(frames: pd.DataFrame) -> go.Figure:
    used = frames.groupby("label")["share"].max()
    order_f = frames[frames["label"].isin(used[used > 0].index)].groupby("label")["share"].mean()
    order_f = order_f.sort_values(ascending=False).index.tolist()
    has_ci = {"ci_low", "ci_high"} <= set(frames.columns)  # studies written before frame intervals have none
    fig = go.Figure()
    for s in srcs:
        f = frames[frames["source"] == s].set_index("label").reindex(order_f)
        bar = dict(y=[plain(x) for x in order_f], x=f["share"], orientation="h", name=plain(study.slabel(s)),
                   marker_color=colours[s], customdata=f[["n_sentences"]],
                   hovertemplate="%{y}: %{x:.0%} (n=%{customdata[0]})<extra>" + plain(study.slabel(s)) + "</extra>")
        if has_ci:
            bar.update(customdata=f[["n_sentences", "ci_low", "ci_high"]],
                       error_x=dict(type="data", symmetric=False, array=(f["ci_high"] - f["share"]).clip(lower=0),
                                    arrayminus=(f["share"] - f["ci_low"]).clip(lower=0), thickness=1, width=2),
                       hovertemplate="%{y}: %{x:.0%} (n=%{customdata[0]}; 95% CI %{customdata[1]:.0%}–"
                                     "%{customdata[2]:.0%})<extra>" + plain(study.slabel(s)) + "</extra>")
        fig.add_trace(go.Bar(**bar))
    fig.update_layout(barmode="group", xaxis=dict(tickformat=".0%", title="share of sentences"))
    fig.update_yaxes(autorange="reversed")
    return style(fig, height=int(140 + 16 * len(order_f) * (1 + len(srcs))), legend_title="Source")


c_tone, c_frames = st.columns(2)
with c_tone:
    st.subheader("Tone")
    st.caption("Mean VADER compound score of the sentences (−1 most negative, +1 most positive) with "
               "its 95% CI. VADER was built for social media; read differences, not levels.")
    tone = cell("tone").set_index("source").reindex(srcs).dropna(subset=["mean"])
    if tone.empty:
        st.caption("No tone scores for this theme.")
    else:
        chart(study.memo(("framing_tone", theme), lambda: tone_chart(tone)), "tone")
        if tone["small_cell"].any():
            st.caption("Open circles: fewer than 5 sentences.")

with c_frames:
    st.subheader("Frame dimensions")
    st.caption("Share of the theme's sentences whose strongest frame is each dimension of the "
               "Policy Frames Codebook (Boydstun et al. 2014).")
    frames = cell("frames")
    frames = frames[frames["source"].isin(srcs)] if not frames.empty else frames
    if frames.empty:
        st.caption("No frame scores for this theme.")
    else:
        chart(study.memo(("framing_frames", theme), lambda: frames_chart(frames)), "frames")
        if {"ci_low", "ci_high"} <= set(frames.columns):
            st.caption("Bars: 95% intervals (cluster bootstrap over paragraphs, at least Wilson).")
    validated = frame_validation(study.manifest)
    if validated:
        st.caption("**How far to trust the frames.** " + escape_markdown(validation_summary(validated)))
    else:
        st.caption("**How far to trust the frames.** This study's frames file or embedding model is not the one "
                   "framescope validated (docs/measures.md), so no agreement figure applies: label some of your "
                   "own sentences and check them with `framing.frame_agreement`.")

# -- voices -------------------------------------------------------------------------------------
st.subheader("Voices quoted")
st.caption("People and organisations the sources quote or paraphrase on this theme: the subject of a "
           "speech verb (said, argued, warned, ...), the speaker of a quotation, or who a claim is "
           "\"according to\", found by spaCy's parser and named-entity recogniser. Mentions of one "
           "speaker are merged over the study (\"Romney\", \"Mitt\" and \"Mitt Romney\"; \"the "
           "president\" when the document names one). Counts are sentences.")
voices = cell("voices")
if not voices.empty and "sentence_ids" not in voices.columns:  # a study written before voices listed them
    voices = voices.assign(sentence_ids=voices["example_sentence_id"].map(lambda s: [s]),
                           aliases=[[] for _ in range(len(voices))], kind="")
sentence_rows = study.tables["sentences"].set_index("sentence_id")
titles = study.tables["documents"].set_index("doc_id")["title"] if "title" in study.tables["documents"] else {}
cols = st.columns(len(srcs))
for col, s in zip(cols, srcs):
    with col:
        st.markdown(f"**{escape_markdown(study.slabel(s))}**")
        v = voices[voices["source"] == s].sort_values(["n", "speaker"], ascending=[False, True]) if not voices.empty else voices
        if v.empty:
            st.caption("No person or organisation quoted.")
            continue
        also = [", ".join(a for a in aliases if a != sp) for sp, aliases in zip(v["speaker"], v["aliases"])]
        st.dataframe(v.assign(also=also)[["speaker", "kind", "n", "also"]], hide_index=True,
                     column_config={"speaker": "Speaker", "kind": "Kind", "n": "Sentences",
                                    "also": st.column_config.TextColumn("Written as", width="medium")})
shown = voices[voices["source"].isin(srcs)] if not voices.empty else voices
if not shown.empty:
    shown = shown.sort_values(["n", "speaker", "source"], ascending=[False, True, True], kind="stable")
    keys = [f"{r.source}\x1f{r.speaker}" for r in shown.itertuples()]
    by_key = dict(zip(keys, shown.itertuples()))
    pick = st.selectbox(
        "Read a voice's sentences", keys, key=f"framing_voice::{theme}",
        format_func=lambda k: f"{by_key[k].speaker} · {study.slabel(by_key[k].source)} "
                              f"({by_key[k].n} sentence{'' if by_key[k].n == 1 else 's'})")
    row = by_key[pick]
    ids = [i for i in row.sentence_ids if i in sentence_rows.index]
    for sid in ids[:MAX_QUOTES]:
        r = sentence_rows.loc[sid]
        written = r.get("voice_as_written") if "voice_as_written" in sentence_rows else None
        spans = match_spans(str(r["text"]), rf"\b{re.escape(written)}\b", regex=True) \
            if isinstance(written, str) and written else []  # the words that name the speaker
        title = titles.get(r["doc_id"], "") if len(titles) else ""
        st.caption(f"{escape_markdown(study.slabel(r['source']))} · {escape_markdown(str(title) or r['doc_id'])} · {sid}")
        st.markdown(highlight(str(r["text"]), spans))
        st.page_link(page_file("document"), label="Show in its document", icon=":material/article:",
                     query_params={"doc": r["doc_id"], "sentence": sid})
    if len(ids) > MAX_QUOTES:
        st.caption(f"The first {MAX_QUOTES} of {len(ids)} sentences (by sentence id); the Sentences page "
                   "and voices.parquet list them all.")

# -- exemplars ----------------------------------------------------------------------------------
st.subheader("Exemplar sentences")
st.caption("The sentences most typical of each source within the theme.")
ex = cell("exemplars")
cols = st.columns(len(srcs))
for col, s in zip(cols, srcs):
    with col:
        st.markdown(f"**{escape_markdown(study.slabel(s))}**")
        e = ex[ex["source"] == s].sort_values("rank") if not ex.empty else ex
        if e.empty:
            st.caption("No exemplars.")
        for r in e.itertuples():
            st.markdown(f"{int(r.rank)}\\. {escape_markdown(r.text)}  \n:gray[tone {r.tone:+.2f} · {r.sentence_id}]")

# -- contrasts ----------------------------------------------------------------------------------
st.subheader("Contrast pairs")
st.caption("Within the theme, the most similar sentences from two different sources: the same "
           "subject, told differently.")
con = cell("contrasts")
if not con.empty and not paired_contrasts(len(study.all_sources)):
    # a study of many sources pairs each source's sentences with any other source's
    con = con[con["source_a"].isin(srcs)]
    st.caption(f"This study has more than {MAX_PAIRED_SOURCES} sources: each selected source's sentences are "
               "paired with the most similar sentences of any other source.")
if con.empty:
    st.caption("No contrast pairs: the theme needs sentences from at least two selected sources.")
elif len(con) > N_CONTRASTS:
    st.caption(f"The {N_CONTRASTS} most similar of {len(con):,} pairs; all are in contrasts.parquet.")
for r in con.sort_values("similarity", ascending=False).head(N_CONTRASTS).itertuples() if not con.empty else []:
    with st.container(border=True):
        a, b = st.columns(2)
        a.markdown(f"**{escape_markdown(study.slabel(r.source_a))}** · tone {r.tone_a:+.2f}  \n"
                   f"{escape_markdown(r.text_a)}")
        b.markdown(f"**{escape_markdown(study.slabel(r.source_b))}** · tone {r.tone_b:+.2f}  \n"
                   f"{escape_markdown(r.text_b)}")
        st.caption(f"similarity {r.similarity:.2f}")

st.page_link(page_file("sentences"), label="Read every sentence of a theme on the Sentences page",
             icon=":material/format_quote:")
