"""Segmentation: articles in pasted dumps, paragraphs, lines (headings, captions, trailers), sentences.

Article splitting (`split_articles`) treats a dump as a sequence of paragraphs and looks for the
places where the vocabulary changes more than it does inside one article. For a candidate cut
the *gain* is the share of the within-group spread of the paragraphs' TF-IDF vectors that the cut
removes (contiguous k-means with k=2, computed from the Gram matrix). The best gain in a window is
compared with the best gain over shuffled paragraph orders of that window (a permutation null,
giving a z score): a real article boundary scores far above that null (z ≈ 7-8 on the seed dump),
the best cut inside a single article does not (z < 2 on every test article). Windows are the
seeded intervals of seeded binary segmentation (Kovács, Li, Bühlmann & Munk 2023, Biometrika), so
short articles in a long dump are found by short windows and long ones by long windows; cuts are
accepted strongest first and the number of articles is not fixed in advance. Cues shift the
decision: `Source : X` trailers always end an article; a headline-like line or a dateline opening
a paragraph favours a cut before it, a quotation lede slightly so; a paragraph opening with "But",
"He", "This"... disfavours it. A cue alone never cuts (z >= MIN_Z is required).

Sentences come from pysbd (with a fast path, below) plus repairs: closing quotes are kept with their sentence, two quoted
sentences in a row ("…over.” “We…") are separated, and a run-away sentence (an unclosed quotation
swallowing a paragraph) is re-split with the quote marks ignored. Every row's `start:end` slices
the document text exactly.

Fast path: pysbd's many regex passes cost ~1 ms per sentence, most of it spent on text with
nothing ambiguous in it. A run of text is split without pysbd only when it is plainly punctuated:
no quotes, brackets, dashes, ellipses, digits or letters touching a `.!?`, and every `.!?` either
ends the text or is followed by a space and a capital letter, after a word of 2+ letters that is
not one of pysbd's English abbreviations. On such text pysbd splits at exactly those marks (checked
on every paragraph of the 249 State of the Union addresses and of the King James Bible: no
difference); all other text goes to pysbd. About 75% of running prose takes the fast path.

Long runs: pysbd's cost grows with the square of its input (its abbreviation pass re-scans the
whole text for every abbreviation it meets), so a run of text over `pieces.MAX_PIECE_CHARS` is first cut at
every *safe* sentence end (`sentence_cuts`: a lowercase word of 2+ letters that is not one of
pysbd's abbreviations or a roman numeral, `.!?`, whitespace, a capitalised word; outside every
quote, bracket and dash span as pysbd's own patterns find them), with cuts short of the limit where
none is in reach (any such sentence end, whitespace, a hard cut). Plain pieces take the fast path;
the others go to pysbd in groups of up to GROUP_CHARS. Cutting every body run of the seed and the
three validation corpora at *every* safe sentence end changes no sentence
(`python research/ingest_check.py cuts`), and runs up to that length are split whole, as before.
`sentence_table` splits documents over several processes (`workers`) for big corpora; the table
is the same for any number of them.
"""
from __future__ import annotations

import re
from functools import partial

import numpy as np
import pandas as pd

from framescope.ingest.pieces import piece_bounds, pysbd_abbreviations, segmenter
from framescope.processes import in_runs

SENTENCE_COLUMNS = ["sentence_id", "doc_id", "source", "paragraph", "position", "start", "end",
                    "text", "is_body", "kind", "n_words"]

TRAILER_RE = re.compile(
    r"^(?:(?:Source|Sources|Via|Credit|Credits|From|Courtesy(?: of)?|Republished from|Reprinted from"
    r"|Originally (?:published|appeared) (?:in|on|by))\s*[:：]\s*|(?:©|\(c\)|Copyright(?: ©)?)\s*"
    r"|Originally (?:published|appeared) (?:in|on|by)\s+)(?:(?:19|20)\d\d\b\s*)?(?P<name>\S.{0,80}?)[\s.]*$",
    re.IGNORECASE,
)
DATELINE_RE = re.compile(r"^[A-Z][A-Z.'\- ]{2,30}(?:,\s*[A-Za-z0-9.' ]{2,30})?(?:\s*\([^)\n]{2,30}\))?\s*[—–-]{1,2}\s*\S")
CONTINUATION_RE = re.compile(
    r"^(?:But|And|Yet|However|Moreover|Meanwhile|Still|Also|Furthermore|Nevertheless|Instead|Therefore|"
    r"Thus|He|She|It|They|This|These|That|Those|His|Her|Their|Its)\b")
TERMINAL_RE = re.compile(r"[.!?…][\"”’'»)\]]*$")
OPEN_QUOTES = "“\"‘«"
CLOSE_QUOTES = "”’»"
MARKDOWN_HEADING_RE = re.compile(r"^#{1,6}\s+")
LIST_MARK_RE = re.compile(r"^(?:[-*•]|\d{1,3}[.)])\s+")
WORD_RE = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
QUOTE_PAIR_RE = re.compile(r"(?<=[.!?…][”\"])\s*(?=[“\"‘]?[A-Z])")
MAX_HEADLINE_WORDS = 20
MAX_SENTENCE_WORDS = 80   # longer pysbd "sentences" that hold quotes are re-split with quotes ignored
MIN_SIDE = 2              # paragraphs on each side of an article cut
MIN_Z, SPLIT_Z = 2.5, 4.0  # topic-shift z needed; z + cue needed
MAX_WINDOW = 120          # longest paragraph window searched at once
N_PERM = 99               # shuffles per window for the permutation null
GROUP_CHARS = 1000        # in a longer run, neighbouring pieces go to pysbd together up to this length
PARALLEL_MIN_CHARS = 1_000_000  # smaller corpora are split into sentences in one process


# ---------------------------------------------------------------------------------- line cues
def trailer_name(line: str) -> str | None:
    """'Source : ForeignPolice' -> 'ForeignPolice'; None if the line is not an attribution trailer."""
    line = line.strip()
    if len(line) > 100:
        return None
    m = TRAILER_RE.match(line)
    return m.group("name").strip(" .") if m else None


def is_headline(line: str) -> bool:
    """A short line that is not a sentence: no final punctuation, not a trailing fragment."""
    line = line.strip()
    words = WORD_RE.findall(line)
    if not words or len(words) > MAX_HEADLINE_WORDS or TERMINAL_RE.search(line):
        return False
    if line[-1] in ",;:–—-" or not (line[0].isupper() or line[0].isdigit() or line[0] in OPEN_QUOTES + "'#"):
        return False
    if LIST_MARK_RE.match(line):
        return False
    return trailer_name(line) is None


def _spans(pattern: str, text: str, lo: int = 0, hi: int | None = None) -> list[tuple[int, int]]:
    """Regex matches inside text[lo:hi], trimmed of surrounding whitespace, empty ones dropped."""
    out = []
    for m in re.finditer(pattern, text[lo:hi]):
        s, e = lo + m.start(), lo + m.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Paragraphs are separated by blank lines; in a text with none, a line that ends a sentence
    (or a short headline-like line) ends a paragraph, and other line breaks are soft wraps."""
    if re.search(r"\n[ \t]*\n", text):
        return _spans(r"(?:[^\n]|\n(?![ \t]*\n))+", text)
    lines = _spans(r"[^\n]+", text)
    if not lines:
        return []
    width = max(e - s for s, e in lines)
    out, start = [], lines[0][0]
    for i, (s, e) in enumerate(lines):
        line = text[s:e]
        ends = TERMINAL_RE.search(line) or (is_headline(line) and e - s < 0.6 * width)
        if ends or i == len(lines) - 1:
            out.append((start, e))
            if i + 1 < len(lines):
                start = lines[i + 1][0]
    return out


def _opening_cue(par: str, prev: str | None) -> float:
    """Evidence (in z units) that an article starts at paragraph `par` (after `prev`)."""
    first = par.split("\n", 1)[0].strip()
    cue = 0.0
    if is_headline(first) or MARKDOWN_HEADING_RE.match(first):
        cue += 1.5
    elif DATELINE_RE.match(first):
        cue += 1.5
    elif first[:1] in OPEN_QUOTES:
        cue += 0.5
    if CONTINUATION_RE.match(first):
        cue -= 1.5
    if prev is not None and "\n" not in prev.strip() and is_headline(prev):
        cue -= 2.0  # a headline belongs to the article it heads
    return cue


# ---------------------------------------------------------------------------- article splitting
def _split_gains(G: np.ndarray) -> np.ndarray:
    """Share of within-group spread removed by a cut before paragraph MIN_SIDE..n-MIN_SIDE.

    G holds Gram matrices (..., n, n), so the spread (sum of squared distances to the centroid) of
    a group [a, b) is trace(G[a:b, a:b]) - sum(G[a:b, a:b]) / (b-a). Works on a stack of
    (permuted) Gram matrices at once.
    """
    n = G.shape[-1]
    trace = np.trace(G, axis1=-2, axis2=-1)[..., None]
    P = G.cumsum(-1).cumsum(-2)
    total = P[..., -1, -1][..., None]
    g = np.arange(MIN_SIDE, n - MIN_SIDE + 1)
    left = P[..., g - 1, g - 1]
    right = total - 2 * P[..., g - 1, -1] + left
    whole = trace - total / n
    return (whole - (trace - left / g - right / (n - g))) / np.maximum(whole, 1e-12)


def _seeded_intervals(n: int) -> list[tuple[int, int]]:
    """Seeded intervals (Kovács et al. 2023): lengths n, n/2, n/4, ..., each level overlapping by half."""
    out, length = set(), n
    while length >= 2 * MIN_SIDE + 1:
        if length <= MAX_WINDOW:
            out.update((s, s + length) for s in range(0, n - length + 1, max(1, length // 2)))
            out.add((n - length, n))
        length //= 2
    return sorted(out)


def _best_cut(X, a: int, b: int, cues: np.ndarray, seed: int) -> tuple[float, float, int]:
    """(z + cue, z, cut) of the best cut of paragraphs [a, b).

    z compares the cut's gain with the best gain over shuffled paragraph orders (permutation null).
    """
    block = X[a:b]
    G = (block @ block.T).toarray()
    rng = np.random.default_rng([seed, a, b])
    perms = np.array([rng.permutation(b - a) for _ in range(N_PERM)])
    null = _split_gains(G[perms[:, :, None], perms[:, None, :]]).max(-1)
    z = (_split_gains(G) - null.mean()) / max(null.std(), 1e-9)
    score = z + cues[a + MIN_SIDE:b - MIN_SIDE + 1]
    i = int(np.argmax(score))
    return float(score[i]), float(z[i]), a + MIN_SIDE + i


def _cuts(paras: list[str], cues: list[float], seed: int) -> list[int]:
    """Article cuts between paragraphs: seeded binary segmentation on TF-IDF paragraph vectors.

    Every seeded interval proposes its best cut; within the current span the strongest proposal
    (from the span itself or any seeded interval inside it) is accepted if strong enough, and
    both sides are searched again.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(paras)
    if n < 2 * MIN_SIDE:
        return []
    try:
        X = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(paras)
    except ValueError:  # no words at all
        return []
    cue = np.asarray(cues, dtype=float)
    seeded = {iv: _best_cut(X, *iv, cue, seed) for iv in _seeded_intervals(n)}

    def search(lo: int, hi: int) -> list[int]:
        if hi - lo < 2 * MIN_SIDE:
            return []
        found = [(v, (a, b)) for (a, b), v in seeded.items() if lo <= a and b <= hi]
        if hi - lo <= MAX_WINDOW and (lo, hi) not in seeded:
            found.append((_best_cut(X, lo, hi, cue, seed), (lo, hi)))
        found = [(v, iv) for v, iv in found if v[1] >= MIN_Z and v[0] >= SPLIT_Z]
        if not found:
            return []
        (_, _, g), _ = max(found, key=lambda f: (f[0][0], f[1][0] - f[1][1], -f[1][0]))
        return search(lo, g) + [g] + search(g, hi)

    return search(0, n)


def split_articles(text: str, seed: int = 0, workers: int | None = 1) -> list[tuple[int, int]]:
    """Character spans of the articles in a pasted dump (one span if it is a single article).

    An attribution trailer ends its article; the rest is cut where the topic shifts (see module doc).
    The runs of paragraphs between trailers are searched independently, over ``workers`` processes
    (None: every available core) when the text holds at least PARALLEL_MIN_CHARS characters; the
    spans do not depend on the number of workers.
    """
    paras = paragraph_spans(text)
    if not paras:
        return []
    groups: list[list[tuple[int, int]]] = [[]]
    for s, e in paras:
        groups[-1].append((s, e))
        last_line = text[s:e].rsplit("\n", 1)[-1]
        if trailer_name(last_line) is not None:
            groups.append([])
    groups = [g for g in groups if g]
    # a group that is nothing but trailers belongs to the article before it
    merged: list[list[tuple[int, int]]] = []
    for g in groups:
        if merged and all(trailer_name(text[s:e]) for s, e in g):
            merged[-1].extend(g)
        else:
            merged.append(g)
    texts = [[text[s:e] for s, e in group] for group in merged]
    bounds = in_runs(partial(_groups_bounds, seed=seed), texts, workers if len(text) >= PARALLEL_MIN_CHARS else 1,
                     min_items=2, weights=[sum(map(len, t)) for t in texts])
    spans = []
    for group, cut in zip(merged, bounds):
        spans += [(group[a][0], group[b - 1][1]) for a, b in zip(cut, cut[1:])]
    return spans


def _groups_bounds(groups: list[list[str]], seed: int) -> list[list[int]]:
    """For each run of paragraph texts between trailers, the paragraph numbers its articles start
    at, and its length: [0, …, len(run)]."""
    out = []
    for texts in groups:
        content = [i for i, t in enumerate(texts) if trailer_name(t) is None]
        cues = [0.0] + [_opening_cue(texts[i], texts[i - 1]) for i in range(1, len(texts))]
        cuts = _cuts([texts[i] for i in content], [cues[i] for i in content], seed)
        out.append([0] + [content[c] for c in cuts] + [len(texts)])
    return out


# ----------------------------------------------------------------------------------- sentences
def _n_words(text: str) -> int:
    return len(WORD_RE.findall(text))


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


_NOT_PLAIN = re.compile(r"--|[\"“”‘«»()\[\]{}…<>*#@/\\|~_=+^&%$]|\.\.|\d[.!?]|[.!?]\d|(?:^|\s)'"
                        r"|[.!?][^\s]|[.!?]\s+(?![A-Z])")
_PLAIN_CUT = re.compile(r"(?<=[.!?])\s+")
_WORD_BEFORE_STOP = re.compile(r"([A-Za-z]+)\.$")


def plain_sentences(chunk: str) -> list[str] | None:
    """The sentences of a plainly punctuated text (see the module doc), or None when pysbd is needed."""
    if _NOT_PLAIN.search(chunk):
        return None
    pieces = _PLAIN_CUT.split(chunk)
    for p in pieces[:-1]:
        if p.endswith("."):
            m = _WORD_BEFORE_STOP.search(p)
            if not m or len(m.group(1)) < 2 or m.group(1).lower() in pysbd_abbreviations():
                return None
    return pieces


def _pysbd_spans(text: str, s: int, e: int, mask_quotes: bool = False) -> list[tuple[int, int]]:
    """pysbd sentences of text[s:e] as absolute spans; line breaks (and optionally quotes) masked.

    A run longer than `pieces.MAX_PIECE_CHARS` is cut into pieces first (`piece_bounds`), each split on its own."""
    chunk = text[s:e].replace("\n", " ")
    if mask_quotes:
        chunk = re.sub(f"[{OPEN_QUOTES}{CLOSE_QUOTES}]", " ", chunk)
    bounds = piece_bounds(chunk)
    if len(bounds) == 1:
        return _piece_spans(text, s, chunk, 0, len(chunk))
    out: list[tuple[int, int]] = []
    group: list[int] = []  # neighbouring pieces that need pysbd go to it together, up to GROUP_CHARS
    for a, b in bounds:
        if group and (b - group[0] > GROUP_CHARS or plain_sentences(chunk[a:b]) is not None):
            out += _piece_spans(text, s, chunk, *group)
            group = []
        group = [group[0] if group else a, b]
    return out + _piece_spans(text, s, chunk, *group)


def _piece_spans(text: str, s: int, chunk: str, a: int, b: int) -> list[tuple[int, int]]:
    """The sentences of chunk[a:b] (chunk = text[s:...] with line breaks masked) as absolute spans."""
    piece = chunk[a:b]
    pieces = plain_sentences(piece)
    out, cursor = [], 0
    for sent in pieces if pieces is not None else segmenter().segment(piece):
        sent = sent.strip()
        if not sent:
            continue
        at = piece.find(sent, cursor)
        if at < 0:  # pysbd altered the text: fall back to the rest of the piece as one sentence
            out.append(_trim(text, s + a + cursor, s + b))
            break
        out.append((s + a + at, s + a + at + len(sent)))
        cursor = at + len(sent)
    return [sp for sp in out if sp[1] > sp[0]]


def _repair(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Keep closing quotes with their sentence, split "…over.” “We…", re-split run-away quotes."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        parts, start = [], s
        for m in QUOTE_PAIR_RE.finditer(text, s, e):
            if m.start() > start:
                parts.append((start, m.start()))
            start = m.end()
        parts.append((start, e))
        for ps, pe in parts:
            ps, pe = _trim(text, ps, pe)
            piece = text[ps:pe]
            if _n_words(piece) > MAX_SENTENCE_WORDS and re.search(f"[{OPEN_QUOTES}{CLOSE_QUOTES}]", piece):
                out.extend(_pysbd_spans(text, ps, pe, mask_quotes=True))
            elif pe > ps:
                out.append((ps, pe))
    fixed: list[tuple[int, int]] = []
    for s, e in out:
        if fixed:
            ps, pe = fixed[-1]
            k = s
            while k < e and (text[k] in CLOSE_QUOTES or (text[k] == '"' and text[ps:pe].count('"') % 2 == 1)):
                k += 1
            if k > s:  # stray closing quote(s) opening this sentence belong to the previous one
                fixed[-1] = (ps, k)
                s, e = _trim(text, k, e)
            if e <= s or not any(c.isalnum() for c in text[s:e]):
                fixed[-1] = (fixed[-1][0], max(fixed[-1][1], e))
                continue
        fixed.append((s, e))
    return fixed


def _line_kinds(text: str, block: tuple[int, int], first_block: bool, single_line_doc: bool):
    """Yield (start, end, kind) for the lines of one paragraph block, body lines grouped."""
    lines = _spans(r"[^\n]+", text, *block)
    width = max(e - s for s, e in lines)
    body_run: list[tuple[int, int]] = []
    for i, (s, e) in enumerate(lines):
        line = text[s:e]
        nxt = text[lines[i + 1][0]:lines[i + 1][1]] if i + 1 < len(lines) else ""
        kind = "body"
        if trailer_name(line) is not None:
            kind = "trailer"
        elif MARKDOWN_HEADING_RE.match(line):
            kind = "heading"
            s += MARKDOWN_HEADING_RE.match(line).end()
        elif is_headline(line) and not single_line_doc:
            standalone = len(lines) == 1
            breaks = standalone or ((not nxt or nxt[0].isupper() or nxt[0] in OPEN_QUOTES or nxt[0].isdigit())
                                    and e - s < 0.6 * width)
            if breaks:
                kind = "heading" if (standalone or (first_block and i == 0)) else "caption"
        if kind == "body":
            m = LIST_MARK_RE.match(line)
            if m and body_run:  # each list item is its own run of text
                yield body_run[0][0], body_run[-1][1], "body"
                body_run = []
            body_run.append((s + (m.end() if m else 0), e))
            continue
        if body_run:
            yield body_run[0][0], body_run[-1][1], "body"
            body_run = []
        yield s, e, kind
    if body_run:
        yield body_run[0][0], body_run[-1][1], "body"


def document_sentences(text: str) -> list[dict]:
    """Sentence rows (paragraph, start, end, text, is_body, kind, n_words) of one document text."""
    rows = []
    blocks = paragraph_spans(text)
    single_line_doc = len(blocks) == 1 and "\n" not in text[blocks[0][0]:blocks[0][1]]
    for p, block in enumerate(blocks):
        for s, e, kind in _line_kinds(text, block, p == 0, single_line_doc):
            spans = _repair(text, _pysbd_spans(text, s, e)) if kind == "body" else [(s, e)]
            for a, b in spans:
                rows.append({"paragraph": p, "start": a, "end": b, "text": text[a:b],
                             "is_body": kind == "body", "kind": kind, "n_words": _n_words(text[a:b])})
    return rows


def _batch_sentences(texts: list[str]) -> list[list[dict]]:
    return [document_sentences(t) for t in texts]


def document_records(texts: list[str], workers: int | None = None) -> list[list[list]]:
    """Each text's rows as records ``[paragraph, start, end, kind, n_words]`` (what
    :func:`records_rows` turns back into rows with the text), over `workers` processes (None:
    every available core) when the texts hold at least PARALLEL_MIN_CHARS characters, else in
    this process. The records do not depend on the number of workers; they are what a run keeps
    in the cache folder so that a re-run splits only documents whose text changed."""
    rows = in_runs(_batch_sentences, texts, workers if sum(map(len, texts)) >= PARALLEL_MIN_CHARS else 1,
                   min_items=2, weights=[len(t) for t in texts])
    return [[[r["paragraph"], r["start"], r["end"], r["kind"], r["n_words"]] for r in doc] for doc in rows]


def records_rows(text: str, records: list[list]) -> list[dict]:
    """The rows of :func:`document_sentences` from a text and its :func:`document_records`."""
    return [{"paragraph": p, "start": a, "end": b, "text": text[a:b], "is_body": kind == "body", "kind": kind,
             "n_words": n} for p, a, b, kind, n in records]


def sentence_id(doc_id: str, position: int) -> str:
    """A sentence's id: its document's id and its position there (``d0003-s0017``)."""
    return f"{doc_id}-s{position:04d}"


def document_of(sentence_id: str) -> str:
    """The document id inside a sentence id (the inverse of :func:`sentence_id`)."""
    return str(sentence_id).rsplit("-s", 1)[0]


def sentence_table(documents: pd.DataFrame, workers: int | None = None,
                   records: list[list[list]] | None = None) -> pd.DataFrame:
    """One row per sentence (and per heading, caption and trailer line) of every document.

    `workers` processes split the documents (see `document_records`); the table is the same for
    any number of them. `records`, when given, are each document's :func:`document_records`,
    already made (a run takes those of texts it split before from the cache folder)."""
    rows = []
    texts = documents["text"].tolist()
    per_doc = [records_rows(t, r) for t, r in zip(texts, document_records(texts, workers) if records is None else records)]
    for doc, doc_rows in zip(documents.itertuples(index=False), per_doc):
        for pos, row in enumerate(doc_rows):
            rows.append({"sentence_id": sentence_id(doc.doc_id, pos), "doc_id": doc.doc_id,
                         "source": doc.source, "position": pos, **row})
    table = pd.DataFrame(rows, columns=SENTENCE_COLUMNS)
    ints = ["paragraph", "position", "start", "end", "n_words"]
    return table.astype({**{c: "int64" for c in ints}, "is_body": "bool"})
