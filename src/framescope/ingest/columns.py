"""Table columns: what each one holds, which to guess as text/source/date/title, and whether a choice works.

`checked_columns` is the one check of a column choice, used by the CLI ingest (`corpus.py`) and by the
app's Corpus page, so both refuse the same choice with the same one-line `InputError` message.
Both judge the whole table through `column_profile` (one row of numbers per column).

A text column must hold strings averaging at least `MIN_TEXT_WORDS` words per non-blank value:
names, labels, IDs and numbers average 1-3, while even a corpus of short posts averages well over 5.
Words are runs of non-space characters, except that each Chinese character or Japanese kana counts as
one (those scripts put no spaces between words), so a Chinese or Japanese corpus is not refused.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from typing import TextIO

import pandas as pd

from framescope.config import IngestConfig
from framescope.errors import InputError

MIN_TEXT_WORDS = 5
MAX_COLUMNS = 1000
"""Widest table read (checked from the header, before the data: a 200,000-column CSV took 2.5 GB)."""
TEXT_COLUMNS = ("text", "body", "content", "article", "full_text", "fulltext", "sentence", "paragraph")
SOURCE_COLUMNS = ("source", "outlet", "publisher", "newspaper", "publication", "medium", "site",
                  "speaker", "party", "author", "actor")
DATE_COLUMNS = ("date", "published", "publication_date", "pub_date", "datetime", "time", "year")
TITLE_COLUMNS = ("title", "headline", "heading")
SHARE = 0.9  # share of a column's values that must look like numbers (dates) to call it numeric (dates)
TINY_TABLE = 4  # fewer rows than this: too few to see a source repeat, so the source is guessed by name
NUMBER = re.compile(r"[-+]?(\d[\d,.']*|[.,]\d+)([eE][-+]?\d+)?%?")
DATE = re.compile(r"\d{4}-\d{1,2}(-\d{1,2})?([T ]\d{1,2}:\d{2}.*)?|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}"
                  r"|\d{1,2}\.? [A-Za-z]{3,9}\.? \d{4}|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}")
ROLES = ("text", "source", "date", "title")
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")
"""A word: one CJK character or kana, or a run of other non-space characters."""


@dataclass(frozen=True)
class Guess:
    """A guessed column for one role (None: no guess) and why, in a few words."""

    column: str | None
    reason: str


# ------------------------------------------------------------------------------------ width
def header_names(stream: TextIO, kind: str) -> list[str] | None:
    """Column names of a table read from its first record only (the header of a CSV/TSV, the keys
    of a JSON Lines file's first object); None when that cannot tell (a JSON array, a record the
    table reader will refuse)."""
    if kind in ("csv", "tsv"):
        try:
            return next(csv.reader(stream, delimiter="," if kind == "csv" else "\t"), [])
        except csv.Error:
            return None  # the table reader says what is wrong
    if kind == "jsonl":
        for line in stream:
            if line.strip():
                try:
                    first = json.loads(line)
                except (ValueError, RecursionError):
                    return None  # the table reader says what is wrong
                return [str(k) for k in first] if isinstance(first, dict) else None
    return None


def parquet_names(path) -> list[str] | None:
    """Column names of a Parquet file, from its footer (no data read); None if it has none to read."""
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except Exception:  # noqa: BLE001 — not Parquet: the table reader says so
        return None


def check_header(names: list[str] | None, name: str) -> None:
    """InputError (one line) when a table has more than MAX_COLUMNS columns, or two columns of one
    name (pandas would rename the second `text.1` and read a different column than the user meant)."""
    if names is None:
        return
    if len(names) > MAX_COLUMNS:
        raise InputError(f"{name} has {len(names):,} columns; framescope reads tables of at most {MAX_COLUMNS:,} "
                         "columns (keep the text, source, date and title columns)")
    seen: set[str] = set()
    for col in names:
        key = str(col).strip()
        if key in seen:
            raise InputError(f"{name} has a duplicate column name {key!r}; give every column its own name")
        seen.add(key)


# ------------------------------------------------------------------------------------ profile
def _blank(v) -> bool:
    if isinstance(v, str):
        return not v.strip()
    return v is None or (pd.api.types.is_scalar(v) and bool(pd.isna(v)))


def _kind(s: pd.Series, values: pd.Series, strings: int) -> str:
    """empty | number | date | string | other (lists, true/false, mixed values)."""
    if values.empty:
        return "empty"
    if pd.api.types.is_datetime64_any_dtype(s) or values.str.fullmatch(DATE).mean() >= SHARE:
        return "date"
    if (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)) \
            or values.str.fullmatch(NUMBER).mean() >= SHARE:
        return "number"
    return "string" if strings >= SHARE * len(values) else "other"


def _column_row(s: pd.Series) -> dict:
    if isinstance(s.dtype, pd.StringDtype):  # strings or missing only: the fast path
        values = s.dropna().str.strip()
        values = values[values != ""]
        strings = len(values)
    else:
        kept = s[~s.map(_blank)]
        strings = sum(isinstance(v, str) for v in kept)
        values = kept.map(lambda v: v.strip() if isinstance(v, str) else str(v))
    words = values.str.count(WORD)
    return {"rows": len(s), "values": len(values), "distinct": values.nunique(),
            "kind": _kind(s, values, strings),
            "mean_words": round(float(words.mean()), 1) if len(values) else 0.0,
            "mean_chars": round(float(values.str.len().mean()), 1) if len(values) else 0.0}


def column_profile(df: pd.DataFrame) -> pd.DataFrame:
    """One row per column (index: column name, as str): rows, non-blank values, distinct values, kind
    (empty/number/date/string/other), mean words and mean characters per non-blank value."""
    rows = [_column_row(df.iloc[:, i]) for i in range(df.shape[1])]
    cols = ["rows", "values", "distinct", "kind", "mean_words", "mean_chars"]
    return pd.DataFrame(rows, index=pd.Index([str(c) for c in df.columns], name="column"), columns=cols)


# ------------------------------------------------------------------------------ the one check
def table_columns(columns: list[str], cfg: IngestConfig) -> dict[str, str | None]:
    """The text, source, date and title columns ingest uses for a table with these `columns`.

    The source is `cfg.source_col`, except that the default (`source`) is dropped when the table has no
    such column (the file stem is the source then); date and title default to columns named so."""
    default_source = IngestConfig.model_fields["source_col"].default
    source = cfg.source_col if cfg.source_col in columns or cfg.source_col != default_source else None
    return {"text": cfg.text_col, "source": source,
            "date": cfg.date_col or ("date" if "date" in columns else None),
            "title": cfg.title_col or ("title" if "title" in columns else None)}


def text_problem(profile: pd.DataFrame, col: str, name: str) -> str | None:
    """Why `col` of table `name` cannot be the text column (one line), or None."""
    if col not in profile.index:
        return f"{name} has no text column '{col}'; its columns are: {', '.join(profile.index)}"
    p = profile.loc[col]
    if p["values"] == 0:
        return f"text column '{col}' in {name} is blank in every row"
    if p["kind"] in ("number", "date"):
        return f"text column '{col}' in {name} holds {p['kind']}s, not text; choose the column with the documents"
    if p["kind"] == "other":
        return f"text column '{col}' in {name} holds values that are not strings (lists, true/false), not text"
    if p["mean_words"] < MIN_TEXT_WORDS:
        return (f"text column '{col}' in {name} averages {p['mean_words']:g} words per value; a text column needs "
                f"at least {MIN_TEXT_WORDS} on average (sentences, not names, labels or IDs)")
    return None


def checked_columns(profile: pd.DataFrame, name: str, cfg: IngestConfig) -> dict[str, str | None]:
    """`table_columns` of table `name` after checking them; InputError (one line) on the first problem.

    Refused: a text column that is missing or not text (`text_problem`), a source column equal to the
    text column, and a source, date or title column the table does not have."""
    chosen = table_columns(list(profile.index), cfg)
    if problem := text_problem(profile, chosen["text"], name):
        raise InputError(problem)
    if chosen["source"] == chosen["text"]:
        raise InputError(f"{name}: '{chosen['text']}' cannot be both the text column and the source column")
    for role in ("source", "date", "title"):
        if chosen[role] is not None and chosen[role] not in profile.index:
            raise InputError(f"{name} has no {role} column '{chosen[role]}'; its columns are: "
                             + ", ".join(profile.index))
    return chosen


# ------------------------------------------------------------------------------------ guesses
def named_column(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    """The first column whose lower-cased name is one of `candidates` (in candidate order)."""
    lower = {str(c).lower().strip(): c for c in columns}
    return next((lower[c] for c in candidates if c in lower), None)


def text_guess(profile: pd.DataFrame) -> Guess:
    """The string column with the longest values among those averaging >= MIN_TEXT_WORDS words."""
    strings = profile[profile["kind"] == "string"]
    usable = strings[strings["mean_words"] >= MIN_TEXT_WORDS]
    if not usable.empty:
        col = usable["mean_chars"].idxmax()
        return Guess(col, f"longest values, {usable.at[col, 'mean_words']:g} words on average")
    if strings.empty:
        return Guess(None, "no column holds strings (only numbers, dates or blanks)")
    longest = strings["mean_chars"].idxmax()
    return Guess(None, f"no column averages {MIN_TEXT_WORDS} words or more per value (the longest, '{longest}', "
                       f"averages {strings.at[longest, 'mean_words']:g}); a text column needs sentences, "
                       "not names, labels or IDs")


def _repeats(p: pd.Series) -> bool:
    """At least 2 values, each on 1.5 rows or more on average, none blank."""
    return (p["kind"] == "string" and p["values"] == p["rows"] and 2 <= p["distinct"]
            and 3 * p["distinct"] <= 2 * p["rows"])


def source_guess(profile: pd.DataFrame, text: str | None) -> Guess:
    """The string column that repeats most (fewest distinct values), preferring conventional source names
    (`SOURCE_COLUMNS`); never the text column, a number or a date column."""
    candidates = profile.drop(index=[text] if text in profile.index else [])
    rows = int(profile["rows"].max()) if len(profile) else 0
    if rows < TINY_TABLE:
        col = named_column(list(candidates.index), SOURCE_COLUMNS)
        return Guess(col, "named like a source; too few rows to judge by content" if col else
                     "no column named like a source; too few rows to judge by content")
    lower = [c.lower().strip() for c in candidates.index]
    rank = {c: (name not in SOURCE_COLUMNS, candidates.at[c, "distinct"], i)
            for i, (c, name) in enumerate(zip(candidates.index, lower)) if _repeats(candidates.loc[c])}
    if rank:
        col = min(rank, key=rank.get)
        how = "named like a source and repeats" if not rank[col][0] else "repeats most"
        return Guess(col, f"{how}: {candidates.at[col, 'distinct']} different values in {rows} rows")
    if "source" in candidates.index:  # what ingest uses when no source column is chosen
        return Guess("source", f"the column named source, which ingest uses by default "
                               f"({candidates.at['source', 'distinct']} different values in {rows} rows)")
    return Guess(None, "no column repeats like a source (a few values, each on several rows); "
                       "the whole table is one source")


def date_guess(profile: pd.DataFrame, taken: set) -> Guess:
    """A column named like a date, else one whose values look like dates; never a column in `taken`."""
    free = [c for c in profile.index if c not in taken]
    if col := named_column(free, DATE_COLUMNS):
        return Guess(col, "named like a date")
    dated = [c for c in free if profile.at[c, "kind"] == "date"]
    if dated:
        return Guess(dated[0], "values look like dates")
    return Guess(None, "no column named or shaped like a date")


def title_guess(profile: pd.DataFrame, taken: set) -> Guess:
    """A column named like a title; never a column in `taken`."""
    col = named_column([c for c in profile.index if c not in taken], TITLE_COLUMNS)
    return Guess(col, "named like a title" if col else "no column named like a title")


def column_guesses(profile: pd.DataFrame) -> dict[str, Guess]:
    """Guessed text, source, date and title columns of a table (from its `column_profile`), with reasons."""
    text = text_guess(profile)
    source = source_guess(profile, text.column)
    date = date_guess(profile, {text.column, source.column})
    title = title_guess(profile, {text.column, source.column, date.column})
    return {"text": text, "source": source, "date": date, "title": title}
