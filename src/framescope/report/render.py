"""Render a report, given as a list of plain blocks, to one self-contained HTML page and to Markdown.

The blocks hold plain text only. Every string is escaped here, at the single place where it becomes
HTML (`html.escape`) or Markdown (backslash escapes), so corpus text can never become markup.
Plotly figures go inline: plotly.js is embedded once in the page head, each figure's JSON is
written by plotly (which escapes `<`, `>` and `/` as `\\u003c`…, so no string can close the
<script>), and a Content-Security-Policy forbids every network fetch, so the page is offline by
construction.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import pandas as pd
import plotly.graph_objects as go


@dataclass
class Heading:
    text: str
    level: int = 3
    anchor: str | None = None


@dataclass
class Text:
    text: str
    lead: str = ""  # bold run-in words ("Test.")
    kind: str = "p"  # p | note | muted


@dataclass
class Table:
    rows: pd.DataFrame  # display strings, already formatted
    caption: str = ""
    wrap: tuple[str, ...] = ()  # columns holding sentences (wider, wrapped)


@dataclass
class Figure:
    fig: go.Figure
    caption: str = ""
    files: tuple[str, ...] = ()  # static copies beside the report (e.g. figures/x.png), only ones written


@dataclass
class Quote:
    text: str
    cite: str = ""


@dataclass
class Section:
    title: str
    anchor: str
    blocks: list = field(default_factory=list)


Block = Heading | Text | Table | Figure | Quote


# -- number formats shared by every section ------------------------------------------------------

def pct(x) -> str:
    return "—" if pd.isna(x) else f"{float(x):.1%}"


def ci(lo, hi, fmt: str = ".1%") -> str:
    return "—" if pd.isna(lo) or pd.isna(hi) else f"[{float(lo):{fmt}}, {float(hi):{fmt}}]"


def signed(x, digits: int = 2) -> str:
    if pd.isna(x):
        return "—"
    s = f"{float(x):+.{digits}f}"
    return s[1:] if float(s) == 0 else s.replace("-", "−")


def p_value(p) -> str:
    return "p = n/a" if pd.isna(p) else ("p < 0.001" if float(p) < 0.001 else f"p = {float(p):.3f}")

_NUMERIC = re.compile(r"^[−+\-]?(\d[\d,]*)?(\.\d+)?(%|e[−+\-]?\d+)?( \[.*\])?( ?[†*])?$|^\[[^\]]*\]$")
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "img-src data: blob:; font-src data:")

CSS = """
:root { --ink:#1d2430; --muted:#5b6472; --rule:#d9dee5; --accent:#1b6ca8; --note:#fff6e0; }
* { box-sizing: border-box; }
body { font: 15px/1.55 Georgia, 'Times New Roman', serif; color: var(--ink); margin: 0; background: #fbfbfa; }
main, header { max-width: 880px; margin: 0 auto; padding: 0 28px; }
header { padding-top: 36px; padding-bottom: 8px; border-bottom: 1px solid var(--rule); }
h1, h2, h3, h4, nav, table, figcaption, .muted, .note, caption { font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 21px; margin: 42px 0 12px; padding-bottom: 4px; border-bottom: 2px solid var(--accent); }
h3 { font-size: 17px; margin: 30px 0 8px; }
h4 { font-size: 14px; margin: 20px 0 6px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.subtitle, .muted { color: var(--muted); font-size: 13px; }
nav ol { columns: 2; font-size: 13px; padding-left: 20px; }
nav a { color: var(--accent); text-decoration: none; }
p { margin: 8px 0; }
.note { background: var(--note); border-left: 3px solid #e0a100; padding: 6px 10px; font-size: 13px; margin: 8px 0; }
table { border-collapse: collapse; min-width: 55%; font-size: 12.5px; margin: 8px 0 4px; }
table.full { width: 100%; }
caption { caption-side: bottom; text-align: left; color: var(--muted); font-size: 12px; padding-top: 4px; }
th, td { border-bottom: 1px solid var(--rule); padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #eef2f6; font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.wrap { min-width: 16em; overflow-wrap: anywhere; }
blockquote { margin: 8px 0; padding: 4px 12px; border-left: 3px solid var(--rule); }
blockquote cite { display: block; font: 12px 'Helvetica Neue', Arial, sans-serif; color: var(--muted); font-style: normal; }
figure { margin: 14px 0; }
figcaption { font-size: 12px; color: var(--muted); }
.plotly-graph-div { margin: 0 auto; }
code { font-size: 12px; overflow-wrap: anywhere; }
@media (max-width: 760px) {
  td.wrap { min-width: 8em; }
  td, th { overflow-wrap: anywhere; }
  td.num, th.num { white-space: normal; }
}
@media print {
  @page { size: auto; margin: 15mm 14mm; }
  body { background: white; font-size: 11pt; }
  main, header { max-width: none; padding: 0; }
  nav { display: none; }
  section + section { break-before: page; }
  h2, h3, h4 { break-after: avoid; }
  figure, blockquote, tr, .note { break-inside: avoid; }
  thead { display: table-header-group; }
  table { font-size: 9pt; }
  td.wrap { min-width: 9em; }
  th, td { padding: 3px 4px; }
  .modebar-container { display: none !important; }
}
"""


def _esc(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _is_numeric(col: pd.Series) -> bool:
    vals = [str(v) for v in col if str(v) not in ("", "nan", "—")]
    return bool(vals) and all(_NUMERIC.match(v) for v in vals)


def to_html(title: str, subtitle: str, sections: list[Section], meta: dict[str, str] | None = None) -> str:
    """One self-contained page; plotly.js inlined once, only if there is a figure.

    ``meta`` becomes ``<meta name=… content=…>`` tags (the report's study stamp)."""
    figures = [b for s in sections for b in s.blocks if isinstance(b, Figure)]
    head_js = ""
    if figures:
        from plotly.offline import get_plotlyjs

        head_js = f'<script type="text/javascript">{get_plotlyjs()}</script>'
    nav = "".join(f'<li><a href="#{_esc(s.anchor)}">{_esc(s.title)}</a></li>' for s in sections)
    counter = iter(range(1, 10_000))
    body = "\n".join(
        f'<section id="{_esc(s.anchor)}"><h2>{_esc(s.title)}</h2>\n'
        + "\n".join(_block_html(b, counter) for b in s.blocks) + "</section>"
        for s in sections
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        + "".join(f'<meta name="{_esc(k)}" content="{_esc(v)}">' for k, v in (meta or {}).items()) +
        f"<title>{_esc(title)}</title><style>{CSS}</style>{head_js}</head>\n<body>"
        f"<header><h1>{_esc(title)}</h1><p class=\"subtitle\">{_esc(subtitle)}</p>"
        f"<nav><ol>{nav}</ol></nav></header>\n<main>{body}</main></body></html>\n"
    )


def _block_html(b: Block, counter) -> str:
    if isinstance(b, Heading):
        anchor = f' id="{_esc(b.anchor)}"' if b.anchor else ""
        return f"<h{b.level}{anchor}>{_esc(b.text)}</h{b.level}>"
    if isinstance(b, Text):
        lead = f"<strong>{_esc(b.lead)}</strong> " if b.lead else ""
        cls = "" if b.kind == "p" else f' class="{_esc(b.kind)}"'
        return f"<p{cls}>{lead}{_esc(b.text)}</p>"
    if isinstance(b, Quote):
        cite = f"<cite>— {_esc(b.cite)}</cite>" if b.cite else ""
        return f"<blockquote>{_esc(b.text)}{cite}</blockquote>"
    if isinstance(b, Table):
        return _table_html(b)
    if isinstance(b, Figure):
        div = b.fig.to_html(include_plotlyjs=False, full_html=False, div_id=f"figure-{next(counter)}",
                            config={"displaylogo": False, "responsive": False})
        cap = f"<figcaption>{_esc(b.caption)}</figcaption>" if b.caption else ""
        return f"<figure>{div}{cap}</figure>"
    raise TypeError(f"unknown report block {type(b).__name__}")


def _table_html(t: Table) -> str:
    df = t.rows
    numeric = {c: _is_numeric(df[c]) for c in df.columns}

    def cls(c: str) -> str:
        return ' class="num"' if numeric[c] else (' class="wrap"' if c in t.wrap else "")

    head = "".join(f"<th{cls(c)}>{_esc(c)}</th>" for c in df.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td{cls(c)}>{_esc(v)}</td>" for c, v in zip(df.columns, r)) + "</tr>"
        for r in df.itertuples(index=False, name=None)
    )
    cap = f"<caption>{_esc(t.caption)}</caption>" if t.caption else ""
    full = ' class="full"' if t.wrap or len(df.columns) >= 5 else ""
    return f"<table{full}>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


# -- Markdown -------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")


def md_escape(text: object) -> str:
    """Plain text for Markdown: special characters backslash-escaped, one line."""
    s = "" if text is None else str(text)
    return _MD_SPECIAL.sub(r"\\\1", " ".join(s.split()))


def to_markdown(title: str, subtitle: str, sections: list[Section], meta: dict[str, str] | None = None) -> str:
    out = [f"# {md_escape(title)}", "", md_escape(subtitle), ""]
    out += [f"<!-- {k}: {v} -->" for k, v in (meta or {}).items()] + ([""] if meta else [])
    for s in sections:
        out += [f"## {md_escape(s.title)}", ""]
        for b in s.blocks:
            out += _block_md(b) + [""]
    return "\n".join(out).rstrip() + "\n"


def _block_md(b: Block) -> list[str]:
    if isinstance(b, Heading):
        return ["#" * b.level + " " + md_escape(b.text)]
    if isinstance(b, Text):
        text = (f"**{md_escape(b.lead)}** " if b.lead else "") + md_escape(b.text)
        return [f"> **Note:** {text}" if b.kind == "note" else (f"*{text}*" if b.kind == "muted" else text)]
    if isinstance(b, Quote):
        return [f"> {md_escape(b.text)}"] + ([f"> — {md_escape(b.cite)}"] if b.cite else [])
    if isinstance(b, Figure):
        if not b.files:
            return [f"*Figure (interactive in report.html): {md_escape(b.caption)}*"]
        image = next((f for f in b.files if f.endswith(".png")), b.files[0])
        links = ", ".join(f"[{md_escape(f)}]({f})" for f in b.files)
        return [f"![{md_escape(PurePosixPath(image).stem)}]({image})", "",
                f"*Figure (interactive in report.html; static: {links}): {md_escape(b.caption)}*"]
    if isinstance(b, Table):
        df = b.rows
        numeric = [_is_numeric(df[c]) for c in df.columns]
        lines = ["| " + " | ".join(md_escape(c) for c in df.columns) + " |",
                 "| " + " | ".join("---:" if n else "---" for n in numeric) + " |"]
        lines += ["| " + " | ".join(md_escape(v) for v in r) + " |" for r in df.itertuples(index=False, name=None)]
        return lines + (["", f"*Table: {md_escape(b.caption)}*"] if b.caption else [])
    raise TypeError(f"unknown report block {type(b).__name__}")
