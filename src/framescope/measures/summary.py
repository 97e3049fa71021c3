"""The headline numbers of a study, computed in one place for the app, the report and scripts.

``study_summary(tables, manifest)`` reads a study's tables (``artifacts.load_study``) and
returns the counts and verdicts that more than one view shows, so that every view shows the
same number:

- *themes* are the named (codebook) and discovered themes; ``unassigned`` is not a theme, its
  sentences are reported as the unassigned share of the body sentences;
- *body sentences* and *words* per source are those the measures count: body sentences (all
  sentences when the run set ``measures.include_non_body``), and the words in them, the same
  sentences emphasis divides by (``emphasis.n_source``, ``emphasis.word_share``);
- the cells *flagged* by their residual are ``emphasis.notable_residuals`` (|residual| ≥
  ``emphasis.RESIDUAL_THRESHOLD``), and the test's verdict is p < ``emphasis.ALPHA``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from framescope.themes.codebook import UNASSIGNED
from framescope.config import MeasureConfig
from framescope.measures.emphasis import ALPHA, RESIDUAL_THRESHOLD, notable_residuals

SOURCE_COLUMNS = ["source", "documents", "sentences", "body_sentences", "words"]


@dataclass(frozen=True)
class StudySummary:
    """Counts and verdicts of one study (see the module docstring for what each counts)."""

    sources: pd.DataFrame  # one row per source (sorted): SOURCE_COLUMNS
    n_documents: int
    n_sentences: int  # every sentence, body or not
    n_body_sentences: int  # the sentences the measures count
    n_words: int  # words in those sentences
    n_themes: int  # named + discovered, never `unassigned`
    n_named: int
    n_discovered: int
    n_unassigned: int  # body sentences in no theme
    unassigned_share: float  # of the body sentences; NaN when there are none
    flagged: pd.DataFrame  # emphasis.notable_residuals: source, theme, n_sentences, share, residual
    residual_threshold: float
    min_cell: int
    test: str  # the emphasis test's name ("none: ..." when there was none)
    chi2: float
    dof: float
    p_value: float
    differs: bool | None  # p_value < ALPHA; None when no test was possible

    @property
    def n_sources(self) -> int:
        return len(self.sources)


def measure_settings(manifest: dict | None) -> MeasureConfig:
    """The run's measure settings from its manifest (defaults for anything it does not record)."""
    given = ((manifest or {}).get("config") or {}).get("measures") or {}
    return MeasureConfig.model_validate({k: v for k, v in given.items() if k in MeasureConfig.model_fields})


def counted_sentences(sentences: pd.DataFrame, include_non_body: bool = False) -> pd.DataFrame:
    """The sentences the measures count: the body sentences, or all with ``include_non_body``."""
    if include_non_body or "is_body" not in sentences:
        return sentences
    return sentences[sentences["is_body"].fillna(False).astype(bool)]


def source_counts(documents: pd.DataFrame, sentences: pd.DataFrame, include_non_body: bool = False) -> pd.DataFrame:
    """One row per source (sorted): documents, sentences, body sentences and their words."""
    sources = sorted({str(s) for df in (documents, sentences) if "source" in df for s in df["source"].dropna()})
    body = counted_sentences(sentences, include_non_body)
    words = pd.to_numeric(body["n_words"], errors="coerce").fillna(0) if "n_words" in body else pd.Series(0, body.index)

    def per_source(df: pd.DataFrame, values: pd.Series | None = None) -> pd.Series:
        if "source" not in df:
            return pd.Series(0, index=sources)
        key = df["source"].astype(str)
        counts = values.groupby(key).sum() if values is not None else key.value_counts()
        return counts.reindex(sources, fill_value=0)

    out = pd.DataFrame({"source": sources, "documents": per_source(documents).to_numpy(),
                        "sentences": per_source(sentences).to_numpy(), "body_sentences": per_source(body).to_numpy(),
                        "words": per_source(body, words).to_numpy()})
    return out.astype({c: "int64" for c in SOURCE_COLUMNS[1:]})[SOURCE_COLUMNS]


def study_summary(tables: dict[str, pd.DataFrame], manifest: dict | None = None) -> StudySummary:
    """The summary of a study from its tables (``documents``, ``sentences``, ``themes``,
    ``emphasis``) and its manifest (for ``measures.include_non_body`` and ``min_cell``)."""
    cfg = measure_settings(manifest)
    empty = pd.DataFrame()
    docs, sents = tables.get("documents", empty), tables.get("sentences", empty)
    themes, emphasis = tables.get("themes", empty), tables.get("emphasis", empty)
    sources = source_counts(docs, sents, cfg.include_non_body)
    body = counted_sentences(sents, cfg.include_non_body)
    theme_keys = themes["theme"].astype(str) if "theme" in themes else pd.Series(dtype=str)
    real = themes[theme_keys != UNASSIGNED] if len(themes) else themes
    n_named = int(real["named"].astype(bool).sum()) if "named" in real else 0
    in_none = body["theme"].isna() | (body["theme"].astype(str) == UNASSIGNED) if "theme" in body else pd.Series(False)
    n_unassigned, n_body = int(in_none.sum()), len(body)
    test = _test_row(emphasis)
    return StudySummary(
        sources=sources, n_documents=len(docs), n_sentences=len(sents), n_body_sentences=n_body,
        n_words=int(sources["words"].sum()), n_themes=len(real), n_named=n_named, n_discovered=len(real) - n_named,
        n_unassigned=n_unassigned, unassigned_share=n_unassigned / n_body if n_body else math.nan,
        flagged=notable_residuals(emphasis), residual_threshold=RESIDUAL_THRESHOLD, min_cell=cfg.min_cell,
        test=str(test.get("test") or ""), chi2=_float(test.get("chi2")), dof=_float(test.get("dof")),
        p_value=_float(test.get("p_value")),
        differs=None if math.isnan(_float(test.get("p_value"))) else bool(float(test["p_value"]) < ALPHA),
    )


def _test_row(emphasis: pd.DataFrame) -> dict:
    """The study-wide test columns (the same on every row of the emphasis table)."""
    if emphasis.empty or "test" not in emphasis:
        return {}
    return emphasis.iloc[0].to_dict()


def _float(x) -> float:
    try:
        return math.nan if x is None or pd.isna(x) else float(x)
    except (TypeError, ValueError):
        return math.nan
