"""Emphasis: how much of each source's text goes to each theme, with CIs, a test and residuals."""
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from framescope.app.display import ci, escape_markdown, p_value, pct, plain
from framescope.app.palette import chart, label_lines, source_colours, style
from framescope.app.study import require_study
from framescope.measures.divergence import MAX_PAIRED_SOURCES, against_the_rest, largest_gaps, themes_by_divergence
from framescope.measures.emphasis import ALPHA, RESIDUAL_THRESHOLD, notable_residuals
from framescope.report.figures import emphasis_heatmap, gap_figure
from framescope.themes.codebook import UNASSIGNED
from framescope.validate.study import differ_sentence, read_validation

N_LISTED = 8  # notable cells listed in words
study = require_study()
emph = study.table("emphasis")
st.title("Emphasis")
st.caption("The share of each source's body sentences that falls in each theme. Intervals are 95% "
           "bootstrap CIs that resample whole paragraphs or documents, because neighbouring "
           "sentences are not independent.")
if emph.empty:
    st.info("This study has no emphasis table.")
    st.stop()

colours = source_colours(study.all_sources)
min_cell = study.summary.min_cell
show_unassigned = st.toggle("Include unassigned sentences", value=False,
                            help="Sentences the theme model could not place in any theme.")
measure = st.radio("Measure", ["share", "word_share"], horizontal=True,
                   format_func={"share": "Share of sentences", "word_share": "Share of words"}.get,
                   help="Sentences are the unit of the test and the CIs; the word share weighs long "
                        "sentences more and has no interval.")
# Themes the selected sources differ most on come first (the range of the measure across them).
order = [t for t in themes_by_divergence(emph, measure) if show_unassigned or t != UNASSIGNED]
emph = emph[emph["theme"].isin(order)]
sources = [s for s in study.sources if s in set(emph["source"])]
theme_names = [label_lines(study.tlabel(t), 30) for t in order]
source_names = [label_lines(study.slabel(s), 18) for s in sources]
cells = emph.set_index(["source", "theme"])


def cell_hover(s: str, t: str) -> str:
    c = cells.loc[(s, t)]
    out = (f"<b>{plain(study.slabel(s))}</b> · {plain(study.tlabel(t))}<br>{pct(c[measure], 1)} "
           f"({int(c['n_sentences'])} of {int(c['n_source'])} sentences)")
    if measure == "share":
        out += f"<br>95% CI {ci(c['ci_low'], c['ci_high'])}"
    return out + (f"<br><i>fewer than {min_cell} sentences: read with care</i>" if c["small_cell"] else "")


# -- heatmap ------------------------------------------------------------------------------------
st.subheader("Who stresses which theme")


def heatmap() -> go.Figure:
    fig = emphasis_heatmap(emph, study.table("themes"), min_cell, sources=sources, measure=measure, rows=order,
                           source_labels={s: study.slabel(s) for s in sources})
    fig.update_layout(title=None, width=None)  # the app's chart fills the page
    fig.update_xaxes(side="top", tickangle=0)
    return style(fig, height=fig.layout.height - 40)


# every figure of this page is built once per study, sources and widget values (Study.memo)
view = (measure, show_unassigned)
chart(study.memo(("emphasis_heatmap", *view), heatmap), "heatmap")
st.caption("Read down a column: each source's sentences add up to 100% over all themes "
           "(with the unassigned ones). n = body sentences of the source in the theme. Rows: the theme the "
           "sources differ most on first. The colour scale ends at the largest share shown, not at 100%.")

# -- bars with CIs ------------------------------------------------------------------------------
st.subheader("Shares with 95% confidence intervals")


def bars() -> go.Figure:
    fig = go.Figure()
    for s in sources:
        rows = cells.loc[s].reindex(order)
        bar = dict(y=theme_names, x=rows[measure], orientation="h", name=plain(study.slabel(s)),
                   marker_color=colours[s], marker_opacity=[0.45 if small else 1.0 for small in rows["small_cell"]],
                   hovertext=[cell_hover(s, t) for t in order], hoverinfo="text")
        if measure == "share":
            bar["error_x"] = dict(type="data", symmetric=False, array=rows["ci_high"] - rows["share"],
                                  arrayminus=rows["share"] - rows["ci_low"], thickness=1.5, width=3)
        fig.add_trace(go.Bar(**bar))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(barmode="group", bargroupgap=0.05, xaxis=dict(
        title="share of the source's body sentences" if measure == "share" else "share of the source's words",
        tickformat=".0%", rangemode="tozero"))
    return style(fig, height=110 + len(order) * (13 * len(sources) + 16), legend_title="Source")


chart(study.memo(("emphasis_bars", *view), bars), "bars")
st.caption(f"Faded bars: cells with fewer than {min_cell} sentences, whose intervals are wide. A share of 0 "
           "still has a valid interval: the data rule out large shares, not small ones."
           if measure == "share" else "Word shares have no interval; switch to sentence shares for CIs.")

# -- test and residuals -------------------------------------------------------------------------
st.subheader("Does emphasis differ across sources?")
all_emph = study.table("emphasis", all_sources=True)
test_row = all_emph.dropna(subset=["p_value"]).head(1) if "p_value" in all_emph else pd.DataFrame()
if all_emph["source"].nunique() < 2:
    st.info("The study has a single source: there is nothing to compare, only shares.")
elif test_row.empty:
    st.info("The emphasis table holds no test result.")
else:
    r = test_row.iloc[0]
    stat = f"χ² = {r['chi2']:.1f}, df = {int(r['dof'])}, " if pd.notna(r.get("chi2")) and pd.notna(r.get("dof")) else ""
    verdict = ("**Yes.** The sources give the themes different shares: a split this uneven would be "
               "very unlikely if all sources distributed their sentences alike."
               if study.summary.differs else
               "**No clear evidence.** The split across themes is within what chance alone produces "
               "when all sources distribute their sentences alike.")
    st.markdown(f"{verdict}  \n{escape_markdown(str(r.get('test', 'test')))}: {stat}{p_value(r['p_value'])}, "
                f"over all {all_emph['source'].nunique()} sources of the study.")
    res = emph.pivot(index="theme", columns="source", values="residual").reindex(index=order, columns=sources)
    big = notable_residuals(emph)
    lines = [f"- **{escape_markdown(study.slabel(b.source))}** {'over' if b.residual > 0 else 'under'}-"
             f"emphasises **{escape_markdown(study.tlabel(b.theme))}**: {pct(b.share)} of its sentences, "
             f"residual {b.residual:+.1f}" for b in big.head(N_LISTED).itertuples()]
    if len(big) > N_LISTED:
        lines.append(f"- and {len(big) - N_LISTED} more (the residual heatmap below shows every cell)")
    st.markdown(f"Cells that depart most from the pooled corpus (|residual| ≥ {RESIDUAL_THRESHOLD}, about the "
                f"{ALPHA:.0%} level):\n"
                + ("\n".join(lines) if lines else "- none"))

    def residuals() -> go.Figure:
        lim = max(2.5, float(res.abs().max().max()) if res.size else 2.5)
        fig = go.Figure(go.Heatmap(
            z=res.values, x=source_names, y=theme_names, zmid=0, zmin=-lim, zmax=lim, colorscale="RdBu", xgap=2,
            ygap=2, reversescale=True, text=[[f"{v:+.1f}" for v in row] for row in res.values],
            texttemplate="%{text}", hoverinfo="text",
            hovertext=[[f"{plain(study.slabel(s))} · {plain(study.tlabel(t))}<br>residual {res.at[t, s]:+.2f}"
                        for s in sources] for t in order],
            colorbar=dict(title="residual"),
        ))
        fig.update_xaxes(side="top", tickangle=0)
        fig.update_yaxes(autorange="reversed")
        return style(fig, height=90 + 44 * len(order))

    chart(study.memo(("emphasis_residuals", *view), residuals), "residuals")
    st.caption("Adjusted standardized residuals: red = more sentences on the theme than expected if "
               f"all sources had the pooled shares, blue = fewer. Beyond ±{RESIDUAL_THRESHOLD} is notable.")

# -- differences between sources ----------------------------------------------------------------
st.subheader("Where the sources differ most")
gaps = study.table("emphasis_gaps")
if len(sources) < 2:
    st.caption("Select at least two sources to compare their shares.")
elif gaps.empty:
    st.caption("This study has no emphasis_gaps table (it was written by an earlier version): run it again "
               "to see the differences between sources with their intervals.")
else:
    best = largest_gaps(gaps[gaps["theme"].isin(order)], sources)
    labels = {s: study.slabel(s) for s in sources}

    def gaps_chart() -> go.Figure:
        fig = gap_figure(best, study.table("themes"), labels)
        fig.update_layout(title=None, width=None)
        return style(fig, height=fig.layout.height - 40)

    chart(study.memo(("emphasis_gaps", *view), gaps_chart), "gaps")
    st.caption(("How to read: this study has more than " f"{MAX_PAIRED_SOURCES} sources, so each source is compared "
                "with all the other sources of the study pooled; for each theme, the selected source whose share "
                "differs most from the pool's, largest difference first." if against_the_rest(gaps) else
                "How to read: for each theme, the two selected sources whose shares of sentences differ most, "
                "largest difference first.") + " The difference is the larger share minus the smaller, in percentage "
               "points, with its 95% cluster-bootstrap CI (each source's paragraphs or documents resampled on "
               "their own). An interval that stays above 0 means the data show a real difference.")
    st.dataframe(pd.DataFrame({
        "theme": best["theme"].map(study.tlabel), "larger share": best["source_a"].map(study.slabel),
        "share A": best["share_a"], "smaller share": best["source_b"].map(study.slabel), "share B": best["share_b"],
        "difference": 100 * best["difference"], "ci_low": 100 * best["ci_low"], "ci_high": 100 * best["ci_high"]}),
        hide_index=True, column_config={
            "share A": st.column_config.NumberColumn(format="percent"),
            "share B": st.column_config.NumberColumn(format="percent"),
            **{c: st.column_config.NumberColumn(f"{c.replace('_', ' ')} (points)", format="%.1f")
               for c in ("difference", "ci_low", "ci_high")}})

# -- corrected for misclassification (after `framescope validate`) ---------------------------------
corrected = study.table("emphasis_corrected")
st.subheader("Corrected for misclassification")
if corrected.empty:
    st.caption("Label a sample of this study's sentences on the Validate page (or run `framescope validate STUDY "
               "--labels FILE`) to see each share corrected for the themes' misclassification, with intervals that include the "
               "uncertainty of your labelled sample (docs/validation.md).")
else:
    st.caption("Adjusted classify-and-count (Forman 2008; Hopkins & King 2010) from your labels: the share each "
               "source would have if the study's theme errors, as measured on your labelled sentences, were "
               "undone. 95% bootstrap CI over your labels and the source's paragraphs. Themes with fewer than 5 "
               "labels are left uncorrected.")
    done = [study.tlabel(t) for t in order if corrected.loc[corrected["theme"] == t, "corrected"].any()]
    st.markdown(f"Corrected from {int(corrected['n_labels'].groupby(corrected['theme']).first().sum())} labels "
                f"(Validate page). **Themes corrected:** {escape_markdown('; '.join(done)) if done else 'none'}.")
    view = corrected[corrected["theme"].isin([t for t in order if t in set(corrected["theme"])])].copy()
    view["source"], view["theme"] = view["source"].map(study.slabel), view["theme"].map(study.tlabel)
    st.dataframe(view[["source", "theme", "share", "share_corrected", "ci_low", "ci_high", "n_labels", "note"]],
                 hide_index=True, column_config={
                     "share": st.column_config.NumberColumn("raw share", format="percent"),
                     "share_corrected": st.column_config.NumberColumn("corrected", format="percent"),
                     "ci_low": st.column_config.NumberColumn("CI low", format="percent"),
                     "ci_high": st.column_config.NumberColumn("CI high", format="percent"),
                     "n_labels": st.column_config.NumberColumn("labels")})
    differ = read_validation(study.path).get("by_source") or {}
    if differ.get("p_value", 1.0) < 0.05:  # the correction's one error pattern for all sources does not hold
        st.warning(differ_sentence(differ) + " Per source: the Validate page.")

# -- over time ----------------------------------------------------------------------------------
st.subheader("Over time")
et = study.table("emphasis_time")
if et.empty or et["period"].nunique() < 2:
    st.caption("No over-time view: the documents have no dates, or all fall in one period.")
else:
    present = [t for t in order if t in set(et["theme"])]
    theme = st.selectbox("Theme", present, format_func=study.tlabel, key="time_theme")

    def over_time() -> go.Figure:
        sub = et[et["theme"] == theme].sort_values("period")
        fig = go.Figure()
        for s in sources:
            rows = sub[sub["source"] == s]
            if rows.empty:
                continue
            fig.add_trace(go.Scatter(
                x=rows["period"].astype(str), y=rows["share"], mode="lines+markers", name=plain(study.slabel(s)),
                line_color=colours[s], customdata=rows[["n_sentences"]],
                error_y=dict(type="data", symmetric=False, array=rows["ci_high"] - rows["share"],
                             arrayminus=rows["share"] - rows["ci_low"], thickness=1),
                hovertemplate="%{x}: %{y:.1%} (n=%{customdata[0]})<extra>" + plain(study.slabel(s)) + "</extra>"))
        fig.update_layout(yaxis=dict(title="share of the period's sentences", tickformat=".0%", rangemode="tozero"),
                          xaxis_title="period")
        return style(fig, height=380, legend_title="Source")

    chart(study.memo(("emphasis_time", show_unassigned, theme), over_time), "time")

with st.expander("The emphasis table"):
    st.dataframe(emph.assign(source=emph["source"].map(study.slabel), theme=emph["theme"].map(study.tlabel)),
                 hide_index=True, column_config={
                     c: st.column_config.NumberColumn(format="percent")
                     for c in ("share", "word_share", "ci_low", "ci_high")})
