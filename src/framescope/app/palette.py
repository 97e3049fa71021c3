"""One colour per source (the same on every page), theme colours, and shared chart styling.

Source colours follow the Okabe–Ito palette (distinguishable with the common colour-vision
deficiencies), assigned in sorted source order so a source keeps its colour across pages,
sessions and filters. Themes use a different palette so a theme is never mistaken for a source.
"""
from __future__ import annotations

import textwrap

import plotly.graph_objects as go
import streamlit as st
from plotly.colors import qualitative

from framescope.report.figures import source_colors as source_colours  # one rule for app and report
from framescope.themes.codebook import UNASSIGNED

THEME_COLOURS = qualitative.T10 + qualitative.Pastel + qualitative.Light24
UNASSIGNED_COLOUR = "#C8C8C8"
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "cross", "x", "star", "hexagon",
           "triangle-down", "pentagon", "hourglass", "bowtie"]
FONT = dict(family="Arial, Helvetica, sans-serif", size=13)  # no web font: Plotly measures labels right


def source_symbols(sources: list[str]) -> dict[str, str]:
    return {s: SYMBOLS[i % len(SYMBOLS)] for i, s in enumerate(sorted(sources))}


def theme_colours(themes: list[str]) -> dict[str, str]:
    """theme -> colour in the given order; `unassigned` is always light grey."""
    out, i = {}, 0
    for t in themes:
        if t == UNASSIGNED:
            out[t] = UNASSIGNED_COLOUR
        else:
            out[t] = THEME_COLOURS[i % len(THEME_COLOURS)]
            i += 1
    return out


def wrap(text: str, width: int = 80, max_lines: int = 6) -> str:
    """Hover text: a sentence wrapped onto short lines (Plotly hover boxes do not wrap)."""
    lines = textwrap.wrap(str(text), width=width) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] += " …"
    return "<br>".join(_plotly_escape(line) for line in lines)


def _plotly_escape(text: str) -> str:
    # Plotly renders a small HTML subset in hover labels; show corpus text literally.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def label_lines(text: str, width: int = 16) -> str:
    """An axis label broken onto short lines, so long theme names do not overlap."""
    return "<br>".join(_plotly_escape(line) for line in textwrap.wrap(str(text), width=width)) or " "


def chart(fig: go.Figure, key: str) -> None:
    """Draw a figure the same way on every page (PNG export at 2x from the chart's toolbar)."""
    st.plotly_chart(fig, key=key, theme=None, config={
        "displaylogo": False,
        "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
        "toImageButtonOptions": {"format": "png", "scale": 2, "filename": f"framescope-{key}"},
    })


def style(fig: go.Figure, *, height: int | None = None, legend_title: str | None = None) -> go.Figure:
    """Readable fonts, horizontal legend on top, no chart-junk margins."""
    fig.update_layout(
        template="plotly_white",
        font=FONT,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0,
                    title=dict(text=legend_title) if legend_title else None),
        hoverlabel=dict(font_size=13, align="left"),
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    if height:
        fig.update_layout(height=height)
    return fig
