"""The study's main figures: interactive (plotly, for the HTML report and the app) and static
(matplotlib PNG/SVG, for papers).

Static export uses matplotlib rather than plotly's kaleido: kaleido 1.x drives a Chrome it finds or
downloads at run time, which is not reproducible offline; matplotlib needs nothing but itself and,
with a fixed SVG hash salt and no date metadata, writes byte-identical SVGs run after run.

Every figure draws a table of the study as it is; none computes anything the tables do not hold.
Any string from the corpus (source names, theme labels) is HTML-escaped before it reaches plotly,
whose text renderer understands a subset of HTML.
"""
from __future__ import annotations

import html
import math
import textwrap
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from framescope.artifacts import atomic_file, read_manifest, read_table
from framescope.measures.divergence import themes_by_divergence
from framescope.themes.codebook import UNASSIGNED

WIDTH = 680  # px: fits an A4/Letter page at ordinary margins, so figures print uncut
# Okabe–Ito (safe with the common colour-vision deficiencies), then plotly's Dark24. The app uses
# the same rule (framescope.app.palette), so a source has one colour in the app and the report.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
PALETTE = OKABE_ITO + tuple(qualitative.Dark24)
STATIC_FIGURES = ("emphasis_heatmap", "emphasis_ci", "tone_ci")  # what save_figures draws, when it has the table


# -- shared orderings ---------------------------------------------------------------------------

def theme_order(themes: pd.DataFrame, *tables: pd.DataFrame) -> list[str]:
    """Themes as the themes table lists them, any others after, `unassigned` last."""
    order = [str(t) for t in themes["theme"]] if "theme" in themes else []
    for df in tables:
        if "theme" in df:
            order += [str(t) for t in df["theme"].dropna().unique() if str(t) not in order]
    return [t for t in order if t != UNASSIGNED] + ([UNASSIGNED] if UNASSIGNED in order else [])


def theme_labels(themes: pd.DataFrame) -> dict[str, str]:
    """Theme key -> readable label (the key itself when a theme has no label)."""
    labels = {UNASSIGNED: "Unassigned (no theme)"}
    if themes.empty or "label" not in themes:
        return labels
    return labels | {str(k): (str(v) if isinstance(v, str) and v.strip() else str(k))
                     for k, v in zip(themes["theme"], themes["label"])}


def source_order(*tables: pd.DataFrame) -> list[str]:
    """Sources in order of first appearance (documents first, so the corpus order is kept)."""
    order: list[str] = []
    for df in tables:
        if "source" in df:
            order += [str(s) for s in df["source"].dropna().unique() if str(s) not in order]
    return order


def source_colors(sources: list[str]) -> dict[str, str]:
    """source -> colour, stable: the i-th source in sorted order gets the i-th colour."""
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sorted(sources))}


def _plain(text: object) -> str:
    """Corpus text made safe for plotly's HTML-subset text renderer (shown literally)."""
    return html.escape(str(text), quote=False)


def _axis_label(text: object, width: int = 26) -> str:
    """A long label broken over lines (escaped first, so only our own <br> is markup)."""
    return "<br>".join(_plain(line) for line in textwrap.wrap(str(text), width) or [""])


def share_scale_max(shares) -> float:
    """The top of a colour scale for shares (a fraction): the largest share rounded up to a whole
    step (1 percentage point up to 10%, 5 up to 50%, 10 above), so the scale fits the data."""
    top = max((100 * float(x) for x in shares if pd.notna(x)), default=0.0)
    step = 1 if top <= 10 else 5 if top <= 50 else 10
    return min(100, max(step, math.ceil(top / step - 1e-9) * step)) / 100


# -- interactive (plotly) -----------------------------------------------------------------------

def emphasis_heatmap(emphasis: pd.DataFrame, themes: pd.DataFrame, min_cell: int = 5,
                     sources: list[str] | None = None, *, measure: str = "share",
                     source_labels: dict[str, str] | None = None,
                     rows: list[str] | None = None) -> go.Figure:
    """Share of each source's body sentences (or words: ``measure="word_share"``) per theme.

    Cells say the share and n, † marks small cells; the hover gives the CI (sentence shares).
    ``source_labels`` names the columns (default: the source ids); ``rows`` picks and orders the
    themes (default: the theme the sources differ most on first, ``divergence.themes_by_divergence``).
    The colour scale ends at the largest share shown, rounded up (:func:`share_scale_max`).
    The app and the report draw this same figure."""
    labels = theme_labels(themes)
    names = source_labels or {}
    cols = sources or source_order(emphasis)
    rows = rows or themes_by_divergence(emphasis[emphasis["source"].isin(cols)], measure)
    cell = emphasis.set_index(["theme", "source"])
    unit = "words" if measure == "word_share" else "body sentences"
    z, text, hover = [], [], []
    for t in rows:
        zr, tr, hr = [], [], []
        for s in cols:
            r = cell.loc[(t, s)] if (t, s) in cell.index else None
            share = float(r[measure]) if r is not None else 0.0
            n = int(r["n_sentences"]) if r is not None else 0
            small = bool(r["small_cell"]) if r is not None and "small_cell" in r else n < min_cell
            lo = float(r["ci_low"]) if r is not None else float("nan")
            hi = float(r["ci_high"]) if r is not None else float("nan")
            zr.append(100 * share)
            tr.append(f"{share:.0%}<br>n={n}{'†' if small and n else ''}" if n else "0")
            ci = f" (95% CI {lo:.1%}–{hi:.1%})" if r is not None and measure == "share" else ""
            warn = f"<br><i>fewer than {min_cell} sentences: read with care</i>" if small and n else ""
            hr.append(f"{_plain(names.get(s, s))} · {_plain(labels.get(t, t))}<br>"
                      f"{share:.1%} of its {unit}{ci}<br>{n} sentences{warn}")
        z.append(zr), text.append(tr), hover.append(hr)
    fig = go.Figure(go.Heatmap(
        z=z, x=[_axis_label(names.get(s, s), 18) for s in cols], y=[_axis_label(labels.get(t, t)) for t in rows],
        text=text, texttemplate="%{text}", customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        colorscale="Blues", zmin=0, zmax=100 * share_scale_max(v / 100 for zr in z for v in zr),
        colorbar=dict(title=f"% of {unit.split()[-1]}", ticksuffix="%"),
        xgap=2, ygap=2,
    ))
    fig.update_yaxes(autorange="reversed")
    lines = max([lbl.count("<br>") + 1 for lbl in fig.data[0].y] or [1])
    return _layout(fig, f"Emphasis: share of each source's {unit} per theme",
                   150 + max(44, 15 * lines + 12) * len(rows))


def _ci_dots(table: pd.DataFrame, themes: pd.DataFrame, value: str, fmt: str, title: str,
             xaxis: dict, sources: list[str] | None = None, rows: list[str] | None = None) -> go.Figure:
    labels = theme_labels(themes)
    rows = [t for t in (rows or theme_order(themes, table)) if t in set(table["theme"])] if not table.empty else []
    sources = sources or source_order(table)
    colors = source_colors(sources)
    fig = go.Figure()
    for s in sources:
        d = table[table["source"] == s].set_index("theme").reindex([t for t in rows if t in set(
            table.loc[table["source"] == s, "theme"])])
        if d.empty:
            continue
        v = d[value].astype(float)
        fig.add_trace(go.Scatter(
            x=v, y=[_axis_label(labels.get(t, t)) for t in d.index], mode="markers", name=_plain(s), orientation="h",
            marker=dict(size=9, color=colors[s]),
            error_x=dict(type="data", symmetric=False, array=(d["ci_high"] - v).clip(lower=0),
                         arrayminus=(v - d["ci_low"]).clip(lower=0), thickness=1.5, width=4),
            customdata=list(zip(d["ci_low"], d["ci_high"], d["n_sentences"])),
            hovertemplate=f"{_plain(s)}<br>%{{y}}: %{{x:{fmt}}} "
                          f"[%{{customdata[0]:{fmt}}}, %{{customdata[1]:{fmt}}}]<br>n=%{{customdata[2]}}<extra></extra>",
        ))
    fig.update_layout(scattermode="group", scattergap=0.3, margin=dict(b=110),
                      legend=dict(orientation="h", yref="container", yanchor="bottom", y=0.01, x=0))
    fig.update_xaxes(**xaxis)
    fig.update_yaxes(autorange="reversed", categoryorder="array",
                     categoryarray=[_axis_label(labels.get(t, t)) for t in rows])
    lines = max([_axis_label(labels.get(t, t)).count("<br>") + 1 for t in rows] or [1])
    return _layout(fig, title, 190 + max(15 * lines + 14, 13 * len(sources) + 14) * max(1, len(rows)))


def share_figure(emphasis: pd.DataFrame, themes: pd.DataFrame, sources: list[str] | None = None,
                 rows: list[str] | None = None) -> go.Figure:
    """Each source's share per theme with its bootstrap 95% CI (``rows``: as the heatmap's)."""
    return _ci_dots(emphasis, themes, "share", ".0%", "Emphasis with 95% confidence intervals",
                    dict(tickformat=".0%", range=[-0.02, min(1.0, float(emphasis["ci_high"].max()) + 0.05)],
                         title="share of the source's body sentences"), sources,
                    rows or themes_by_divergence(emphasis))


def gap_figure(gaps: pd.DataFrame, themes: pd.DataFrame, source_labels: dict[str, str] | None = None) -> go.Figure:
    """The difference between two sources' shares per theme, in percentage points, with its 95% CI:
    one row per row of ``gaps`` (e.g. ``divergence.largest_gaps``), in its order."""
    labels, names = theme_labels(themes), source_labels or {}
    ys = [_axis_label(f"{labels.get(r.theme, r.theme)} ({names.get(r.source_a, r.source_a)} − "
                      f"{names.get(r.source_b, r.source_b)})", 40) for r in gaps.itertuples()]
    hover = [f"{_plain(labels.get(r.theme, r.theme))}<br>{_plain(names.get(r.source_a, r.source_a))} {r.share_a:.1%} − "
             f"{_plain(names.get(r.source_b, r.source_b))} {r.share_b:.1%} = {100 * r.difference:.1f} points"
             f"<br>95% CI {100 * r.ci_low:+.1f} to {100 * r.ci_high:+.1f} points" for r in gaps.itertuples()]
    d = 100 * gaps["difference"].astype(float)
    fig = go.Figure(go.Scatter(
        x=d, y=ys, mode="markers", marker=dict(size=9, color=OKABE_ITO[0]), customdata=hover,
        hovertemplate="%{customdata}<extra></extra>",
        error_x=dict(type="data", symmetric=False, array=(100 * gaps["ci_high"] - d).clip(lower=0),
                     arrayminus=(d - 100 * gaps["ci_low"]).clip(lower=0), thickness=1.5, width=4)))
    fig.update_xaxes(zeroline=True, zerolinecolor="#888", ticksuffix=" pt",
                     title="difference of shares, percentage points (95% CI)")
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=ys)
    lines = max([y.count("<br>") + 1 for y in ys] or [1])
    return _layout(fig, "Where the sources differ most: largest gap between two sources per theme",
                   150 + max(30, 15 * lines + 12) * max(1, len(ys)))


def tone_figure(tone: pd.DataFrame, themes: pd.DataFrame, sources: list[str] | None = None) -> go.Figure:
    """Mean VADER compound per theme and source with its 95% CI."""
    return _ci_dots(tone, themes, "mean", "+.2f", "Tone: mean VADER compound with 95% confidence intervals",
                    dict(range=[-1.05, 1.05], zeroline=True, zerolinecolor="#888",
                         title="mean tone (−1 negative … +1 positive)"), sources)


def _layout(fig: go.Figure, title: str, height: float) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", font=dict(size=15)), template="plotly_white",
        width=WIDTH, height=int(height), margin=dict(l=10, r=10, t=70, b=40),
        font=dict(family="Helvetica, Arial, sans-serif", size=12),
    )
    return fig


# -- static (matplotlib) ------------------------------------------------------------------------

def save_figures(study: str | Path, out_dir: str | Path | None = None,
                 formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Write the main figures of a study (:data:`STATIC_FIGURES`, those whose table is not empty)
    as PNG/SVG into `out_dir` (default STUDY/figures), each file atomically (temporary file in
    the same folder, then rename), and return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    study = Path(study)
    out = Path(out_dir) if out_dir else study / "figures"
    out.mkdir(parents=True, exist_ok=True)
    themes, emphasis, tone, docs = (read_table(study, n) for n in ("themes", "emphasis", "tone", "documents"))
    sources = source_order(docs, emphasis, tone)
    drawn = {}
    if not emphasis.empty:
        min_cell = read_manifest(study).get("config", {}).get("measures", {}).get("min_cell", 5)
        drawn["emphasis_heatmap"] = _mpl_heatmap(plt, emphasis, themes, sources, min_cell)
        drawn["emphasis_ci"] = _mpl_dots(plt, emphasis, themes, sources, "share",
                                         "share of the source's body sentences", (-0.02, None), percent=True,
                                         rows=themes_by_divergence(emphasis))
    if not tone.empty:
        drawn["tone_ci"] = _mpl_dots(plt, tone, themes, sources, "mean", "mean tone (VADER compound)", (-1.05, 1.05))
    paths = []
    with matplotlib.rc_context({"svg.hashsalt": "framescope", "svg.fonttype": "none"}):
        for name, fig in drawn.items():
            for ext in formats:
                p = out / f"{name}.{ext}"
                with atomic_file(p) as f:
                    fig.savefig(f, format=ext, dpi=200, bbox_inches="tight",
                                metadata={"Date": None} if ext in ("svg", "pdf") else {"Software": None})
                paths.append(p)
            plt.close(fig)
    return paths


def _mpl_heatmap(plt, emphasis: pd.DataFrame, themes: pd.DataFrame, sources: list[str], min_cell: int = 5):
    labels = theme_labels(themes)
    rows, cols = themes_by_divergence(emphasis), [s for s in sources if s in set(emphasis["source"])]
    grid = emphasis.pivot_table(index="theme", columns="source", values="share", aggfunc="first")
    grid = grid.reindex(index=rows, columns=cols).fillna(0.0)
    n = emphasis.pivot_table(index="theme", columns="source", values="n_sentences", aggfunc="first")
    n = n.reindex(index=rows, columns=cols).fillna(0).astype(int)
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(cols), 0.9 + 0.55 * len(rows)))
    top = share_scale_max(grid.to_numpy().ravel())
    im = ax.imshow(grid.to_numpy() * 100, cmap="Blues", vmin=0, vmax=100 * top, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = grid.iat[i, j]
            k = n.iat[i, j]
            ax.text(j, i, f"{v:.0%}\nn={k}{'†' if 0 < k < min_cell else ''}", ha="center", va="center", fontsize=8,
                    color="white" if v > 0.55 * top else "black")
    ax.set_xticks(range(len(cols)), cols, rotation=20, ha="right")
    ax.set_yticks(range(len(rows)), [textwrap.fill(labels.get(t, t), 30) for t in rows])
    ax.set_title(f"Share of each source's body sentences per theme († 1–{min_cell - 1} sentences)", fontsize=10, loc="left")
    fig.colorbar(im, ax=ax, label="% of source", fraction=0.04)
    return fig


def _mpl_dots(plt, table: pd.DataFrame, themes: pd.DataFrame, sources: list[str], value: str, xlabel: str,
              xlim: tuple, percent: bool = False, rows: list[str] | None = None):
    labels = theme_labels(themes)
    rows = [t for t in (rows or theme_order(themes, table)) if t in set(table["theme"])]
    colors = source_colors(sources)
    sources = [s for s in sources if s in set(table["source"])]
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.45 * len(rows) * max(1, len(sources)) ** 0.5))
    step = 0.7 / max(1, len(sources))
    for k, s in enumerate(sources):
        d = table[table["source"] == s].set_index("theme")
        ys = [i - 0.35 + step * (k + 0.5) for i, t in enumerate(rows) if t in d.index]
        d = d.reindex([t for t in rows if t in d.index])
        v = d[value].astype(float).to_numpy()
        err = [(v - d["ci_low"].to_numpy()).clip(0), (d["ci_high"].to_numpy() - v).clip(0)]
        ax.errorbar(v, ys, xerr=err, fmt="o", ms=5, capsize=2, color=colors[s], label=s)
    ax.set_yticks(range(len(rows)), [textwrap.fill(labels.get(t, t), 30) for t in rows])
    ax.invert_yaxis()
    ax.set_xlim(*xlim)
    if percent:
        from matplotlib.ticker import PercentFormatter

        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        ax.axvline(0, color="#888", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(4, len(sources)), frameon=False, fontsize=8)
    return fig
