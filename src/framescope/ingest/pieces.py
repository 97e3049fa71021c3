"""pysbd, bounded: long runs of text cut into pieces at safe sentence ends, and pysbd's segmenter.

pysbd's cost grows with the square of its input, so `segment` hands it pieces of at most
MAX_PIECE_CHARS characters (see `piece_bounds` and the `segment` module doc).
"""
from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache

import numpy as np

MAX_PIECE_CHARS = 5000    # longest run of text pysbd splits at once (its cost is quadratic in it)


@lru_cache(maxsize=1)
def segmenter():
    import pysbd

    class Segmenter(pysbd.Segmenter):
        """pysbd's segmenter with its matching of sentences back to the text done by `str.find`.

        pysbd compiles a regex per sentence (`re.escape(sentence)` + `\\s*`) and scans the text
        from its start for each one: quadratic in a long text, and the compiles flush Python's
        regex cache, which pysbd's own rules then recompile. This is the same search (the
        leftmost non-overlapping matches, from the start, the first ending after the previous
        sentence) without regexes, so the sentences are the same."""

        def sentences_with_char_spans(self, sentences):
            text, spans, prior_end = self.original_text, [], 0
            for sent in sentences:
                pos = 0
                while (at := text.find(sent, pos)) >= 0:
                    end = at + len(sent)
                    while end < len(text) and text[end].isspace():
                        end += 1
                    if end > prior_end:
                        spans.append(TextSpan(text[at:end], at, end))
                        prior_end = end
                        break
                    pos = end
            return spans

    from pysbd.utils import TextSpan

    segmenter = Segmenter(language="en", clean=False)
    segmenter.language_module = _fast_english()
    return segmenter


# Characters that Python's case-insensitive regexes match to ASCII letters but `str.lower` does
# not map to them (KELVIN SIGN ~ k, LONG S ~ s, dotted/dotless I ~ i): where one occurs, the
# abbreviation pass runs unabridged.
_ODD_CASE = re.compile("[\u212a\u017f\u0130\u0131]")


@lru_cache(maxsize=1)
def _fast_english():
    """pysbd's English with its abbreviation pass skipping abbreviations that cannot change the text.

    For each of its 188 abbreviations found anywhere in a line (as a substring: "no" is in
    "nothing"), pysbd compiles and runs a case-insensitive search for it after a space, then for
    each hit a substitution of the period after it: about 50 searches per piece of prose, 60% of
    its time. Every one of those substitutions replaces a "." that directly follows the
    abbreviation; so an abbreviation without a "." in it, whose lower-case form followed by "."
    is nowhere in the line (substitutions only ever remove periods), changes nothing, and is
    skipped. Everything else runs as pysbd wrote it, so the sentences are the same."""
    from pysbd.lang.english import English

    class Replacer(English.AbbreviationReplacer):
        def search_for_abbreviations_in_string(self, text):
            lowered = text.lower()
            exact = _ODD_CASE.search(text) is None
            for abbr in self.lang.Abbreviation.ABBREVIATIONS:
                stripped = abbr.strip()
                if stripped not in lowered:
                    continue
                if exact and "." not in stripped and stripped + "." not in lowered:
                    continue
                # from here on, pysbd 0.3.4's own loop body
                abbrev_match = re.findall(r"(?:^|\s|\r|\n){}".format(stripped), text, flags=re.IGNORECASE)
                if not abbrev_match:
                    continue
                next_word_start = r"(?<={" + str(re.escape(stripped)) + "} ).{1}"
                char_array = re.findall(next_word_start, text)
                for ind, match in enumerate(abbrev_match):
                    text = self.scan_for_replacements(text, match, ind, char_array)
            return text

    class FastEnglish(English):
        AbbreviationReplacer = Replacer

    return FastEnglish


@lru_cache(maxsize=1)
def pysbd_abbreviations() -> frozenset[str]:
    from pysbd.lang.english import English

    a = English.Abbreviation
    return frozenset(x.lower() for x in (*a.ABBREVIATIONS, *a.PREPOSITIVE_ABBREVIATIONS, *a.NUMBER_ABBREVIATIONS))


# A cut is safe where pysbd always ends a sentence: a lowercase word of 2+ letters (not one of its
# abbreviations, not a roman numeral of a list) right before `.!?`, then whitespace and a capitalised word.
_SAFE_CUT = re.compile(r"(?<![\w.'’\-])([a-z]{2,})[.!?]\s+(?=[A-Z][a-z])")
_ROMAN = re.compile(r"[ivxlcdm]+")
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _enclosures() -> tuple[re.Pattern, ...]:
    """pysbd's own patterns for text between quotes, brackets and dashes (it never splits inside one)."""
    from pysbd.between_punctuation import BetweenPunctuation as B

    return tuple(re.compile(p) for p in (
        B.BETWEEN_SINGLE_QUOTES_REGEX, B.BETWEEN_SINGLE_QUOTE_SLANTED_REGEX, B.BETWEEN_DOUBLE_QUOTES_REGEX_2,
        B.BETWEEN_SQUARE_BRACKETS_REGEX_2, B.BETWEEN_PARENS_REGEX_2, B.BETWEEN_QUOTE_ARROW_REGEX_2,
        B.BETWEEN_EM_DASHES_REGEX_2, B.BETWEEN_QUOTE_SLANTED_REGEX_2))


def _enclosed(chunk: str) -> np.ndarray:
    """Per position i of chunk: True where a cut before chunk[i] would fall inside quotes, brackets
    or dashes (inside one of pysbd's enclosures)."""
    depth = np.zeros(len(chunk) + 1, dtype=np.int32)
    for pattern in _enclosures():
        for m in pattern.finditer(chunk):
            depth[m.start() + 1] += 1
            depth[m.end()] -= 1
    return np.cumsum(depth)[:len(chunk)] > 0


def sentence_cuts(chunk: str) -> tuple[list[int], list[int]]:
    """Offsets in chunk after safe sentence ends (`_SAFE_CUT`): (those outside quotes, brackets
    and dashes; all of them)."""
    abbreviations = pysbd_abbreviations()
    loose = [m.end() for m in _SAFE_CUT.finditer(chunk)
             if m.group(1) not in abbreviations and not _ROMAN.fullmatch(m.group(1))]
    enclosed = _enclosed(chunk) if loose else None
    return [c for c in loose if not enclosed[c]], loose


def piece_bounds(chunk: str, limit: int | None = None) -> list[tuple[int, int]]:
    """Cut a run of text longer than `limit` (MAX_PIECE_CHARS) into pieces of at most `limit`
    characters, so that pysbd (whose cost grows with the square of its input) only sees bounded
    input. Each cut is the last one in reach of: a safe sentence end (see `_SAFE_CUT`) outside
    quotes, brackets and dashes; a safe sentence end anywhere; whitespace; else a hard cut. A run
    of at most `limit` characters is one piece, as before, so ordinary paragraphs are split as
    they always were."""
    limit = MAX_PIECE_CHARS if limit is None else limit
    n = len(chunk)
    if n <= limit:
        return [(0, n)]
    safe, loose = sentence_cuts(chunk)
    bounds, start = [], 0
    for end in (*safe, n):
        while end - start > limit:  # no safe sentence end in reach: the best cut short of the limit
            hi = start + limit
            i = bisect_right(loose, hi) - 1
            if i >= 0 and loose[i] > start:
                cut = loose[i]
            else:
                gaps = [m.end() for m in _SPACE.finditer(chunk, start + 1, hi)]
                cut = gaps[-1] if gaps else hi
            bounds.append((start, cut))
            start = cut
        bounds.append((start, end))
        start = end
    return bounds
