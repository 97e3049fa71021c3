"""Overview: the sources, the themes and the headline findings of the open study."""
import json

import pandas as pd
import streamlit as st

from framescope.app import page_file
from framescope.app.display import escape_markdown, pct, signed
from framescope.app.findings import headline_findings
from framescope.app.study import require_study
from framescope.measures.emphasis import ALPHA

study = require_study()
docs, themes, summary = study.table("documents"), study.tables["themes"], study.summary

st.title("Overview")
st.caption("How much does each source emphasise each theme, and how does it frame it? "
           f"Study: **{escape_markdown(study.name)}**")

c1, c2, c3, c4, c5, c6 = st.columns(6)
c1.metric("Sources", summary.n_sources, help=f"{len(study.sources)} selected in the sidebar.")
c2.metric("Documents", f"{summary.n_documents:,}")
c3.metric("Body sentences", f"{summary.n_body_sentences:,}", help="Sentences of running text. Captions, "
          "datelines and attribution trailers are kept in the tables but not counted in the measures.")
c4.metric("Words", f"{summary.n_words:,}", help="Words in the body sentences, the sentences the measures count.")
c5.metric("Themes", summary.n_themes, help=f"{summary.n_named} named in the codebook, {summary.n_discovered} "
          "discovered by the topic model. Unassigned sentences are not a theme.")
c6.metric("Unassigned", pct(summary.unassigned_share, 1), help=f"{summary.n_unassigned:,} of the "
          f"{summary.n_body_sentences:,} body sentences are close to no theme.")

st.subheader("Headline findings")
st.caption("Stated from the emphasis and tone tables of all sources in the study; every figure "
           "has its 95% confidence interval. The Emphasis and Framing pages show the detail.")
findings = study.memo(("headline_findings",), lambda: headline_findings(study.tables))  # all sources: one per study
if findings:
    st.markdown("\n".join(f"- {escape_markdown(f)}" for f in findings))
else:
    st.info("No headline findings: no theme other than the unassigned sentences has at least 3 "
            "sentences (see the notes below)." if not study.tables["emphasis"].empty
            else "The study has no emphasis table, so there are no findings to state.")
if not study.tables["emphasis"].empty and summary.n_sources > 1:
    flagged = summary.flagged[summary.flagged["source"].isin(study.sources)]
    cells = [f"- **{escape_markdown(study.slabel(r.source))}** on **{escape_markdown(study.tlabel(r.theme))}**: "
             f"residual {signed(r.residual, 1)}" for r in flagged.itertuples()]
    st.markdown(f"Notable cells (|residual| ≥ {summary.residual_threshold}, about the {ALPHA:.0%} level), "
                "largest first (the Emphasis page has the detail):\n" + ("\n".join(cells) if cells else "- none"))

st.subheader("Sources")
if not docs.empty:
    counts = summary.sources.set_index("source")
    per_doc = docs.groupby("source", sort=True).agg(
        outlet=("outlet", "first") if "outlet" in docs else ("source", "first"),
        genre=("genre", lambda g: ", ".join(sorted({str(x) for x in g.dropna()}))) if "genre" in docs
        else ("source", lambda g: ""),
        first_date=("date", "min"), last_date=("date", "max"),
    )
    table = per_doc.join(counts[["documents", "sentences", "body_sentences", "words"]]).reset_index()
    table.insert(0, "name", table["source"].map(study.slabel))
    table["dates"] = [a if a == b or pd.isna(b) else f"{a} to {b}"
                      for a, b in zip(table.pop("first_date"), table.pop("last_date"))]
    st.dataframe(
        table[["name", "source", "genre", "dates", "documents", "sentences", "body_sentences", "words"]],
        hide_index=True,
        column_config={
            "name": st.column_config.TextColumn("Source", help="The outlet, or the source as named in the corpus"),
            "source": st.column_config.TextColumn("Key", help="The `source` value in every table"),
            "genre": "Genre", "dates": "Date(s)",
            "documents": st.column_config.NumberColumn("Documents"),
            "sentences": st.column_config.NumberColumn("Sentences", help="All sentences"),
            "body_sentences": st.column_config.NumberColumn(
                "Body sentences", help="Sentences used by the measures (no captions or trailers)"),
            "words": st.column_config.NumberColumn("Words", help="Words in the body sentences"),
        },
    )
    with st.expander(f"The {len(docs)} documents"):
        cols = [c for c in ("doc_id", "source", "title", "date", "genre", "attribution", "n_chars")
                if c in docs]
        st.dataframe(docs[cols], hide_index=True)

st.subheader("Themes")
if not themes.empty:
    view = themes.assign(
        kind=themes["named"].map({True: "codebook", False: "discovered"}) if "named" in themes else "",
        keywords=themes["keywords"].map(lambda k: ", ".join(list(k)[:8]) if k is not None else ""),
    )
    st.dataframe(
        view[["label", "theme", "kind", "n_sentences", "keywords"]], hide_index=True,
        column_config={
            "label": "Theme", "theme": st.column_config.TextColumn("Key"),
            "kind": st.column_config.TextColumn("Kind", help="Named in the codebook, or discovered "
                                                "by the topic model"),
            "n_sentences": st.column_config.NumberColumn("Sentences", help="All sources"),
            "keywords": "Keywords",
        },
    )

notes = study.tables.get("notes", pd.DataFrame())
run_notes = list(study.manifest.get("notes") or [])
if not notes.empty and "scope" in notes:
    run_notes += [n for n in notes.loc[notes["scope"] == "run", "note"].astype(str) if n not in run_notes]
if run_notes:
    st.subheader("Notes on this run")
    st.markdown("\n".join(f"- {escape_markdown(n)}" for n in run_notes))

with st.expander("Provenance: model, codebook, seeds, versions, timings"):
    m = study.manifest
    emb = m.get("embedding") or {}
    st.markdown(
        f"- Embedding model: `{escape_markdown(emb.get('model', '?'))}`, weights sha256 "
        f"`{escape_markdown(str(emb.get('weights_sha256', '?'))[:16])}…`\n"
        f"- Codebook sha256: `{escape_markdown(str(m.get('codebook_sha256') or 'none (themes discovered only)')[:16])}`\n"
        f"- Seeds: {escape_markdown(json.dumps(m.get('seeds', {})))}\n"
        f"- Run started: {escape_markdown(str(m.get('started_at', '?')))}\n"
        f"- Study folder: `{escape_markdown(str(study.path))}`"
    )
    c1, c2 = st.columns(2)
    c1.caption("Stage timings (seconds)")
    c1.dataframe(pd.Series(m.get("timings", {}), name="seconds"), width="content")
    c2.caption("Package versions")
    c2.dataframe(pd.Series(m.get("versions", {}), name="version"), width="content")
    st.caption("Full run config (`framescope run --config` on this study's manifest.json reproduces it)")
    st.json(m.get("config", {}), expanded=False)


st.divider()
c1, c2, c3 = st.columns(3)
c1.page_link(page_file("emphasis"), label="Emphasis: who stresses which theme", icon=":material/bar_chart:")
c2.page_link(page_file("framing"), label="Framing: how each source frames a theme", icon=":material/compare_arrows:")
c3.page_link(page_file("sentences"), label="Sentences: search the evidence", icon=":material/format_quote:")
