"""Documents that do not look like English.

framescope's sentence splitter (pysbd's English rules), its default embedding model
(all-MiniLM-L6-v2, trained on English), VADER's tone lexicon and spaCy's English parser are
English-only. On text in another language they run without an error and give sentences, themes,
tone and voices that mean nothing, so a run says which documents look like another language
(a warning and a note in the study) rather than letting them pass unnoticed.

The check does not name a language, it asks whether the English models apply:

- a document of 50 or more letters, most of them outside the Latin script (Chinese, Cyrillic,
  Arabic...), is not English; the note names the script (Unicode's name for most of its letters);
- a document of 40 or more words under ``MIN_FUNCTION_SHARE`` (5%) of which are frequent English
  function words ("the", "of", "and", "that"...; not "for", "at" or "by", which are Danish and
  Norwegian words too) is not English. Measured (`tests/test_language.py` keeps the check): in
  English prose they are a third of the words (mean 0.33 over the 2,448 documents of 40+ words
  of the seed, the three validation corpora, the BBC news and the State of the Union and King
  James Bible benchmark corpora, each judged on its first 5,000 characters), 0.109 at least in
  every one of 100+ words, 0.095 in the lowest of all (42 words of Reuters oil figures); in the
  example sentences spaCy ships for 67 other languages at most 0.023 (Luganda), and 0 in French,
  German, Spanish, Dutch, Danish and most others.

Shorter documents are not judged. A document is judged on its first 5,000 characters (so a big
corpus costs little: 0.25 s for the 16 million characters of the 100k benchmark corpus), so a
document that changes language after them passes. The thresholds were set from the figures
above, not tuned on any labelled set.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter

import pandas as pd

FUNCTION_WORDS = frozenset(
    "the of and to that it with be not he this are or his from which but have they you were her she "
    "there been has their we would its who had them if can more said our also these than what when about into "
    "only other such should could after".split())
MIN_FUNCTION_SHARE = 0.05
MIN_WORDS = 40
MIN_LETTERS = 50
SAMPLE_CHARS = 5000  # a document's opening characters are what is judged
_WORD = re.compile(r"[^\W\d_]+")
log = logging.getLogger("framescope")
NOTE_MARK = "do not look like English"  # in every note of this module (the app finds them by it)


def english_check(text: str) -> str | None:
    """None when ``text`` may be English (or is too short to judge), else why it is not. Judged
    on the first ``SAMPLE_CHARS`` characters, so that a big corpus costs little."""
    text = text[:SAMPLE_CHARS]
    letters = [] if text.isascii() else [c for c in text if c.isalpha()]  # ASCII letters are Latin
    if len(letters) >= MIN_LETTERS:
        scripts = Counter(unicodedata.name(c, "UNKNOWN").split()[0] for c in letters)
        if scripts["LATIN"] < 0.5 * len(letters):
            script = max((s for s in scripts if s != "LATIN"), key=lambda s: (scripts[s], s))
            return f"{100 * scripts[script] / len(letters):.0f}% of its letters are {script.title()}"
    words = _WORD.findall(text.lower())
    if len(words) >= MIN_WORDS:
        share = sum(w in FUNCTION_WORDS for w in words) / len(words)
        if share < MIN_FUNCTION_SHARE:
            return f"{100 * share:.1f}% of its {len(words)} words are common English words (about a third in English)"
    return None


def non_english_note(documents: pd.DataFrame, shown: int = 5) -> str | None:
    """One line naming the documents that do not look like English (None if there are none)."""
    found = [(d.doc_id, d.source, why) for d in documents.itertuples(index=False)
             if (why := english_check(str(d.text))) is not None]
    if not found:
        return None
    listed = "; ".join(f"{doc} (source {source}: {why})" for doc, source, why in found[:shown])
    more = f"; and {len(found) - shown} more" if len(found) > shown else ""
    return (f"{len(found)} of {len(documents)} documents {NOTE_MARK}: {listed}{more}. framescope's "
            "sentence splitter, embedding model, tone lexicon and speaker parser are English-only, so the "
            "sentences, themes, tone and voices of these documents are not meaningful; translate them or leave "
            "them out")


def warn_non_english(documents: pd.DataFrame) -> str | None:
    """:func:`non_english_note`, also logged as one warning line (a run and ``framescope ingest``)."""
    note = non_english_note(documents)
    if note:
        log.warning("%s", note)
    return note
