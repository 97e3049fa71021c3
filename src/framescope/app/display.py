"""Safe display of corpus text, and the number formats shared by the pages.

Corpus text is never rendered as HTML. Sentences go through `st.markdown` only after every
Markdown special character is backslash-escaped; search matches are then wrapped in Streamlit's
`:orange-background[...]` directive, which is Markdown, not HTML.
"""
from __future__ import annotations

import math
import re

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of them
# also disarms Streamlit's own directives (`:red[..]`, `:material/x:`, emoji shortcodes, `$..$`).
_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^\"'&%@/;,?])")
_WS = re.compile(r"\s+")


def escape_markdown(text: str) -> str:
    """Text that `st.markdown` shows literally (whitespace collapsed to single spaces)."""
    return _SPECIALS.sub(r"\\\1", _WS.sub(" ", str(text)).strip())


def match_spans(text: str, query: str, regex: bool = False) -> list[tuple[int, int]]:
    """Character spans of `query` in `text` (case-insensitive); a bad regex matches nothing."""
    if not query:
        return []
    try:
        pattern = re.compile(query if regex else re.escape(query), re.IGNORECASE)
    except re.error:
        return []
    return [(m.start(), m.end()) for m in pattern.finditer(text) if m.end() > m.start()]


def highlight(text: str, spans: list[tuple[int, int]], colour: str = "orange") -> str:
    """Escaped Markdown of `text` with each span wrapped in `:<colour>-background[...]`."""
    text = str(text)
    out, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        out.append(escape_markdown_keep_space(text[pos:start]))
        piece = text[start:end]
        core = piece.strip()
        if core:
            lead, trail = piece[: len(piece) - len(piece.lstrip())], piece[len(piece.rstrip()):]
            out.append(f"{escape_markdown_keep_space(lead)}:{colour}-background[**"
                       f"{escape_markdown(core)}**]{escape_markdown_keep_space(trail)}")
        else:
            out.append(escape_markdown_keep_space(piece))
        pos = end
    out.append(escape_markdown_keep_space(text[pos:]))
    return "".join(out).strip()


def escape_markdown_keep_space(text: str) -> str:
    """Like `escape_markdown` but keeps leading/trailing spaces (for pieces of a sentence)."""
    return _SPECIALS.sub(r"\\\1", _WS.sub(" ", str(text)))


def pct(x: float | None, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * x:.{digits}f}%"


def ci(lo: float | None, hi: float | None, digits: int = 0) -> str:
    """'95% CI 12–30%' style interval for shares."""
    return f"{pct(lo, digits)}–{pct(hi, digits)}"


def signed(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:+.{digits}f}"


def p_value(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p not available"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def plain(text: str) -> str:
    """A label for a Plotly chart: HTML-escaped, because Plotly renders a small HTML subset."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
