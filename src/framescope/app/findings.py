"""Headline findings for the Overview page, phrased from the emphasis, tone and themes tables.

No number is computed here: every share, interval, mean and test statistic is read from a
study table. This module only chooses which rows to state, and states them in words; the
test's verdict uses ``emphasis.ALPHA``, as the report and the Emphasis page do.
"""
from __future__ import annotations

import math

import pandas as pd

from framescope.app.display import ci, p_value, pct
from framescope.measures.emphasis import ALPHA
from framescope.themes.codebook import UNASSIGNED

MIN_THEME_SENTENCES = 3  # a theme with fewer body sentences in the whole corpus is not a headline


def _labels(df: pd.DataFrame, key: str, label: str) -> dict[str, str]:
    if df.empty or key not in df or label not in df:
        return {}
    return {str(k): (str(v) if isinstance(v, str) and v.strip() else str(k))
            for k, v in df.drop_duplicates(key)[[key, label]].itertuples(index=False)}


def _tone_ci(lo: float, hi: float) -> str:
    return f"{lo:+.2f} to {hi:+.2f}"


def concentration_findings(emphasis: pd.DataFrame, theme_label: dict, source_label: dict,
                           named: set[str] = frozenset()) -> list[tuple[float, str]]:
    """(score, sentence) for themes one source stresses far more than every other source.

    Codebook themes score one point above discovered topics: the user asked about them.
    """
    out = []
    if emphasis.empty:
        return out
    multi = emphasis["source"].nunique() > 1
    for theme, cell in emphasis[emphasis["theme"] != UNASSIGNED].groupby("theme", sort=True):
        if cell["n_sentences"].sum() < MIN_THEME_SENTENCES:
            continue
        bonus = 2.0 if theme in named else 0.0
        cell = cell.sort_values(["share", "source"], ascending=[False, True])
        top = cell.iloc[0]
        name, src = theme_label.get(theme, theme), source_label.get(top["source"], top["source"])
        head = (f"{name}: {pct(top['share'])} of the body sentences of {src} "
                f"(95% CI {ci(top['ci_low'], top['ci_high'])})")
        if not multi:
            out.append((bonus + float(top["share"]), head + "."))
            continue
        rest = cell.iloc[1:]
        if (rest["n_sentences"] == 0).all():
            out.append((bonus + 1.0 + float(top["share"]), f"{head}; no other source has a sentence on it."))
        else:
            gap = float(top["share"] - rest["share"].max())
            out.append((bonus + gap, f"{head}, against at most {pct(rest['share'].max())} in any other source."))
    return out


def tone_finding(tone: pd.DataFrame, theme_label: dict, source_label: dict,
                 named: set[str] = frozenset()) -> tuple[float, str] | None:
    """The theme where two sources differ most in mean tone.

    Themes whose two cells both have enough sentences come first, then codebook themes; a
    small cell (fewer than the study's minimum) is named as such in the sentence.
    """
    if tone.empty:
        return None
    ok = tone[(tone["theme"] != UNASSIGNED) & (tone["n_sentences"] >= 2)].dropna(subset=["mean"])
    best = None
    for theme, cell in ok.groupby("theme", sort=True):
        if len(cell) < 2:
            continue
        cell = cell.sort_values(["mean", "source"], ascending=[False, True])
        hi, lo = cell.iloc[0], cell.iloc[-1]
        solid = not (bool(hi["small_cell"]) or bool(lo["small_cell"]))
        key = (solid, theme in named, float(hi["mean"] - lo["mean"]))
        if best is None or key > best[0]:
            best = (key, theme, hi, lo)
    if best is None:
        return None
    key, theme, hi, lo = best
    separated = hi["ci_low"] > lo["ci_high"]
    verdict = ("the intervals do not overlap" if separated
               else "the intervals overlap, so the difference is uncertain")
    small = [source_label.get(r["source"], r["source"]) + f" has only {int(r['n_sentences'])} sentences on it"
             for r in (hi, lo) if bool(r["small_cell"])]
    text = (f"Tone on {theme_label.get(theme, theme)}: {source_label.get(hi['source'], hi['source'])} "
            f"{hi['mean']:+.2f} (95% CI {_tone_ci(hi['ci_low'], hi['ci_high'])}) against "
            f"{source_label.get(lo['source'], lo['source'])} {lo['mean']:+.2f} "
            f"(95% CI {_tone_ci(lo['ci_low'], lo['ci_high'])}) on VADER's −1 to +1 scale; {verdict}"
            + (f" ({'; '.join(small)})." if small else "."))
    return key[2], text


def test_finding(emphasis: pd.DataFrame) -> str | None:
    """The study-wide test of whether emphasis differs across sources, in words."""
    if emphasis.empty or emphasis["source"].nunique() < 2 or "p_value" not in emphasis:
        return None
    row = emphasis.dropna(subset=["p_value"])
    if row.empty:
        return None
    row = row.iloc[0]
    test = str(row.get("test") or "test")
    stat = row.get("chi2")
    dof = row.get("dof")
    stat_txt = (f"χ²({int(dof)}) = {stat:.1f}, " if stat is not None and not math.isnan(stat)
                and dof is not None and not math.isnan(dof) else "")
    if row["p_value"] < ALPHA:
        return (f"The sources give the themes different shares: {stat_txt}{p_value(row['p_value'])} "
                f"({test}).")
    return (f"No evidence that the sources give the themes different shares: {stat_txt}"
            f"{p_value(row['p_value'])} ({test}).")


def headline_findings(study_tables: dict[str, pd.DataFrame], max_findings: int = 4) -> list[str]:
    """Three or four plain-text sentences stating the study's main results, with their CIs."""
    emphasis = study_tables.get("emphasis", pd.DataFrame())
    tone = study_tables.get("tone", pd.DataFrame())
    theme_label = _labels(study_tables.get("themes", pd.DataFrame()), "theme", "label")
    source_label = _labels(study_tables.get("documents", pd.DataFrame()), "source", "outlet")
    themes = study_tables.get("themes", pd.DataFrame())
    named = set(themes.loc[themes["named"].astype(bool), "theme"]) if "named" in themes else set()
    findings = [text for _, text in sorted(concentration_findings(emphasis, theme_label, source_label, named),
                                           key=lambda x: -x[0])]
    n_conc = max(1, max_findings - 2)
    out = findings[:n_conc]
    t = tone_finding(tone, theme_label, source_label, named)
    if t:
        out.append(t[1])
    test = test_finding(emphasis)
    if test:
        out.append(test)
    out += findings[n_conc:]
    return out[:max_findings]
