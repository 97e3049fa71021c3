"""The report's emphasis section: the shares (heatmap, intervals, table), the test and the cells
its residuals flag, the largest difference between sources per theme, and emphasis over time.

Every number is a number of the study's tables (``emphasis``, ``emphasis_gaps``,
``emphasis_time``) or of ``summary.study_summary``; the thresholds are ``emphasis.ALPHA`` and
``emphasis.RESIDUAL_THRESHOLD``, the same the app uses.
"""
from __future__ import annotations

import pandas as pd

from framescope.measures.divergence import MAX_PAIRED_SOURCES, against_the_rest, largest_gaps, themes_by_divergence
from framescope.measures.emphasis import ALPHA, RESIDUAL_THRESHOLD
from framescope.report.figures import emphasis_heatmap, gap_figure, share_figure, source_order, theme_labels
from framescope.report.render import Figure, Heading, Section, Table, Text, ci, p_value, pct, signed
from framescope.measures.summary import StudySummary
from framescope.themes.codebook import UNASSIGNED
from framescope.validate.correction import MIN_LABELS

N_TIME_ROWS = 60


def emphasis_section(t: dict, manifest: dict, summary: StudySummary,
                     figure_files: dict[str, tuple[str, ...]] | None = None) -> Section:
    """Section 3. ``figure_files`` names the static copies written beside the report (by figure)."""
    em, themes = t["emphasis"], t["themes"]
    files = figure_files or {}
    if em.empty:
        return Section("3. Emphasis", "emphasis", [Text("This study has no emphasis table.", kind="note")])
    labels = theme_labels(themes)
    min_cell = summary.min_cell
    order, sources = themes_by_divergence(em), source_order(t["documents"], em)
    em = em.assign(_t=em["theme"].map({k: i for i, k in enumerate(order)}),
                   _s=em["source"].map({k: i for i, k in enumerate(sources)})).sort_values(["_t", "_s"])
    rows = [{"theme": labels.get(r.theme, r.theme), "source": r.source, "sentences": str(int(r.n_sentences)),
             "share": pct(r.share) + ("†" if bool(getattr(r, "small_cell", False)) and r.n_sentences else ""),
             "95% CI": ci(r.ci_low, r.ci_high), "word share": pct(getattr(r, "word_share", float("nan"))),
             "residual": signed(getattr(r, "residual", float("nan")), 1)
             + ("*" if abs(getattr(r, "residual", 0.0) or 0.0) >= RESIDUAL_THRESHOLD and r.theme != UNASSIGNED
                else "")} for r in em.itertuples()]
    unit = manifest.get("config", {}).get("measures", {}).get("resample_unit", "paragraph")
    blocks = [
        Text("Share = the fraction of a source's body sentences that belong to the theme (each source's "
             "shares sum to 100%). The 95% confidence intervals come from a bootstrap that resamples "
             f"whole {unit}s, not single sentences, because neighbouring sentences are not independent. The "
             "residual is the adjusted (standardized) residual of the source × theme count table: at "
             f"|residual| ≥ {RESIDUAL_THRESHOLD} (about the {ALPHA:.0%} level) a source writes about the theme "
             "more (+) or less (−) than the corpus as a whole. Themes are ordered by how much the sources "
             "differ on them (the largest minus the smallest share), the largest first."),
        Text(emphasis_test_sentence(em, labels), lead="Test."),
        Text(flagged_sentence(summary, labels), lead="Notable cells."),
        Figure(emphasis_heatmap(em, themes, min_cell, sources), "Share of each source's body sentences per theme. "
               f"† marks small cells (1 to {min_cell - 1} sentences). The colour scale ends at the largest share.",
               files.get("emphasis_heatmap", ())),
        Figure(share_figure(em, themes, sources, order), "Shares with bootstrap 95% confidence intervals.",
               files.get("emphasis_ci", ())),
        Table(pd.DataFrame(rows), f"Emphasis by source and theme. † 1 to {min_cell - 1} sentences: a small "
              "cell, read its share with its (wide) interval; an empty cell's interval is shown too. "
              f"* |residual| ≥ {RESIDUAL_THRESHOLD}."),
    ]
    blocks += gap_blocks(t.get("emphasis_gaps", pd.DataFrame()), themes, em["source"].nunique())
    blocks += corrected_blocks(t.get("emphasis_corrected", pd.DataFrame()), themes, order, sources)
    blocks += _over_time_blocks(t["emphasis_time"], labels)
    return Section("3. Emphasis", "emphasis", blocks)


def emphasis_test_sentence(em: pd.DataFrame, labels: dict[str, str]) -> str:
    """The emphasis test and the largest residuals, in words."""
    first = em.iloc[0]
    test = str(first.get("test", "") or "")
    if em["source"].nunique() < 2 or test.startswith("none") or pd.isna(first.get("chi2")):
        why = test.split(":", 1)[1].strip() if test.startswith("none:") else "fewer than two sources"
        return f"No test across sources ({why}): the shares describe each source on its own."
    chi2, dof, p = float(first["chi2"]), int(first["dof"]), first.get("p_value")
    asym = f", asymptotic {p_value(first['p_chi2'])}" if pd.notna(first.get("p_chi2")) else ""
    kind = ("Rao-Scott " if "Rao and Scott" in test else "permutation ") if asym else ""
    stat = f"χ² = {chi2:.1f}, dof = {dof}, {kind}{p_value(p)}{asym}"
    differs = pd.notna(p) and float(p) < ALPHA
    text = (f"Emphasis differs across sources ({stat})." if differs else
            f"The data do not show that emphasis differs across sources ({stat}).")
    if test:
        text += f" Test: {test}."
    sub = em[(em["theme"] != UNASSIGNED)].dropna(subset=["residual"]) if "residual" in em else em.iloc[0:0]
    if sub.empty:
        return text
    pooled = em.groupby("theme")["n_sentences"].sum() / max(1, em["n_sentences"].sum())
    for word, r in (("over", sub.loc[sub["residual"].idxmax()]), ("under", sub.loc[sub["residual"].idxmin()])):
        if (word == "over") != (float(r["residual"]) > 0):
            continue
        within = (f" (within chance, |residual| < {RESIDUAL_THRESHOLD})"
                  if abs(float(r["residual"])) < RESIDUAL_THRESHOLD else "")
        text += (f" Largest {word}-emphasis: {r['source']} on {labels.get(r['theme'], r['theme'])} "
                 f"({pct(r['share'])} of its body sentences against {pct(pooled.get(r['theme']))} across all "
                 f"sources; residual {signed(r['residual'], 1)}){within}.")
    return text


def flagged_sentence(summary: StudySummary, labels: dict[str, str]) -> str:
    """The cells whose residual reaches the threshold (``summary.flagged``), in words."""
    head = f"Cells with |residual| ≥ {summary.residual_threshold} (about the {ALPHA:.0%} level)"
    if summary.flagged.empty:
        return f"{head}: none."
    cells = [f"{r.source} on {labels.get(r.theme, r.theme)} (residual {signed(r.residual, 1)})"
             for r in summary.flagged.itertuples()]
    return f"{head}, largest first: " + "; ".join(cells) + "."


def gap_blocks(gaps: pd.DataFrame, themes: pd.DataFrame, n_sources: int) -> list:
    """Per theme, the two sources whose shares differ most, with the 95% CI of the difference."""
    blocks: list = [Heading("Where the sources differ most", 3)]
    if n_sources < 2:
        return blocks + [Text("One source: there is no difference between sources to show.", kind="muted")]
    if gaps.empty:
        return blocks + [Text("This study has no emphasis_gaps table (it was written by an earlier version); "
                              "run it again to see the differences with their intervals.", kind="muted")]
    labels = theme_labels(themes)
    best = largest_gaps(gaps[gaps["theme"] != UNASSIGNED])
    rows = [{"theme": labels.get(r.theme, r.theme), "larger share": f"{r.source_a} {pct(r.share_a)}",
             "smaller share": f"{r.source_b} {pct(r.share_b)}", "difference (points)": f"{100 * r.difference:.1f}",
             "95% CI (points)": f"[{signed(100 * r.ci_low, 1)}, {signed(100 * r.ci_high, 1)}]"}
            for r in best.itertuples()]
    if against_the_rest(gaps):
        how = (f"How to read: this study has more than {MAX_PAIRED_SOURCES} sources, so each source is compared with "
               "all the other sources pooled, not with each other source; for each theme, the source whose share "
               "differs most from the pool's, largest difference first. ")
    else:
        how = "How to read: for each theme, the two sources whose shares differ most, largest difference first. "
    return blocks + [
        Text(how +
             "The difference is the larger share minus the smaller, in percentage points, with its 95% "
             "cluster-bootstrap CI (each source's paragraphs or documents resampled on their own, widened to at "
             "least Newcombe's interval). An interval that stays above 0 means the data show a real difference; "
             "one that reaches 0 or below does not. Every " + ("source against the pool" if against_the_rest(gaps)
                                                              else "pair of sources") + " is in emphasis_gaps.parquet."),
        Figure(gap_figure(best, themes), "Largest difference between two sources' shares per theme, in percentage "
                                         "points, with its 95% CI."),
        Table(pd.DataFrame(rows), "Largest difference between sources per theme."),
    ]


def corrected_blocks(corrected: pd.DataFrame, themes: pd.DataFrame, order: list[str], sources: list[str]) -> list:
    """The shares corrected for misclassification (``emphasis_corrected``, written from the study's
    labels by ``framescope validate`` or ``run --labels``) beside the raw ones; nothing without labels."""
    if corrected.empty:
        return []
    labels = theme_labels(themes)
    rank_t, rank_s = {k: i for i, k in enumerate(order)}, {k: i for i, k in enumerate(sources)}
    c = corrected.assign(_t=corrected["theme"].map(rank_t).fillna(len(rank_t)),
                         _s=corrected["source"].map(rank_s).fillna(len(rank_s))).sort_values(["_t", "_s"])
    rows = [{"theme": labels.get(r.theme, r.theme), "source": r.source, "raw share": pct(r.share),
             "corrected share": pct(r.share_corrected) if r.corrected else "—",
             "95% CI": ci(r.ci_low, r.ci_high) if r.corrected else "—", "labels": str(int(r.n_labels)),
             } for r in c[c["corrected"].astype(bool)].itertuples()]
    few = sorted({labels.get(t, t) for t in c.loc[~c["corrected"].astype(bool), "theme"] if t != UNASSIGNED})
    return [
        Heading("Corrected for misclassification", 3),
        Text("From the study's own hand labels (section 5): the share each source would have if the theme errors "
             "measured on the labelled sentences were undone, by adjusted classify-and-count (Forman 2008; Hopkins "
             "& King 2010). The 95% CI is a bootstrap that redraws both the labelled sentences and the source's "
             "paragraphs. The method assumes the study errs alike in every source."
             + (f" Themes with too few labels to correct (fewer than {MIN_LABELS}; their shares stay as above): "
                f"{'; '.join(few)}." if few else "")),
        Table(pd.DataFrame(rows, columns=["theme", "source", "raw share", "corrected share", "95% CI", "labels"]),
              "Raw and corrected shares of the corrected themes, by theme and source (all rows, with the uncorrected "
              "ones and why, are in emphasis_corrected.parquet)."),
    ]


def _over_time_blocks(et: pd.DataFrame, labels: dict[str, str]) -> list:
    if et.empty or et["period"].nunique() < 2:
        return [Text("Emphasis over time: fewer than two dated periods, so no trend is shown.", kind="muted")]
    et = et[et["n_sentences"] > 0].sort_values(["period", "source", "theme"], kind="stable")
    rows = [{"period": str(r.period), "source": r.source, "theme": labels.get(r.theme, r.theme),
             "sentences": str(int(r.n_sentences)), "share": pct(r.share), "95% CI": ci(r.ci_low, r.ci_high)}
            for r in et.head(N_TIME_ROWS).itertuples()]
    more = f" First {N_TIME_ROWS} of {len(et)} rows; all are in emphasis_time.parquet." if len(et) > N_TIME_ROWS else ""
    return [Heading("Emphasis over time", 3), Table(pd.DataFrame(rows), "Non-zero cells by period." + more)]
