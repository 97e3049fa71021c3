"""Voices: the people and organisations a sentence quotes or paraphrases, merged within the study.

Three steps, each on a different scope:

1. **Sentence** (:mod:`framescope.measures.speakers`): body sentences with a speech cue (a speech
   verb, a quotation mark, "according to") go through spaCy's parser and NER; a speech verb's
   subject or the object of "according to" is a candidate speaker.
2. **Document** (:func:`voice_frame`): a candidate is kept only as a PERSON or an ORG:
   - an entity the NER tags PERSON or ORG (a titled name such as "Ambassador ... Shakhrat Nuryshev"
     is a person);
   - a proper noun the NER left untagged, when the document names it as a person or organisation;
   - a role noun ("the president", "the envoy") when the document gives exactly one person that
     title ("President Obama");
   - ``he``/``she``: the most recent person speaker of the previous three sentences;
   - a sentence that opens a quotation which a later sentence of its paragraph closes, with a
     speaker, takes that speaker (over at most five sentences).
   Names are merged within the document (:func:`merge_names`).
3. **Study** (:func:`voices_from_counts`): the names of all documents are merged again, so that
   "Romney", "Mitt" and "Mitt Romney" are one voice; each row lists all its sentences.
"""
from __future__ import annotations

import re

import pandas as pd

from framescope.errors import InputError
from framescope.measures.bootstrap import theme_order

COLUMNS = ["theme", "source", "speaker", "kind", "n", "example_sentence_id", "sentence_ids", "aliases"]
KINDS = {"PERSON": "person", "ORG": "organisation"}
SENTENCE_COLUMNS = ("voice", "voice_kind", "voice_as_written")  # what voice_frame adds to each sentence
PRONOUN_WINDOW = 3
MAX_QUOTE_SENTENCES = 5  # an opened quotation is attributed back over at most this many sentences
DOMINANT = 0.9  # a one-word name shared by several people joins one who has this share of their sentences


# --------------------------------------------------------------------------- merging names

def _tokens(name: str) -> list[str]:
    return [t.lower().strip(".") for t in name.split()]


def _org_key(name: str) -> str:
    return re.sub(r"^the\s+", "", re.sub(r"\s+", " ", name.lower())).strip()


def merge_names(weights: dict[tuple[str, str], int],
                titles: dict[str, set[str]] | None = None) -> dict[tuple[str, str], tuple[str, str]]:
    """Map each ``(name, kind)`` (kind ``person`` or ``organisation``) to its merged ``(name, kind)``.

    People: full names (two words or more) that share a surname and a first name, and whose middle
    names do not conflict, are one person ("Barack Obama", "Barack H. Obama"). A one-word name joins
    the one person whose surname it is ("Romney"), else the one person whose first name it is
    ("Mitt"); of two or more candidates, the one with at least ``DOMINANT`` (90%) of their weight
    ("Obama" beside Barack Obama 24, Michelle Obama 1), else it stays as it is ("Bush" beside
    George W. Bush 3 and Jeb Bush 2). With ``titles`` (name -> the title families it was given, as
    in a document), a titled one-word name ("President Obama") joins a person who is not a voice
    (weight 0: only named) only if that person has the same title: a document that names "Michelle
    Obama" and quotes "President Obama" does not make them one. An organisation whose name is a person's name or surname is that person (the NER tags some
    surnames ORG). Organisations merge by name without "the" and case. Each group is named by its
    most frequent full form (ties: the longer, then alphabetical). Deterministic and independent of
    the order of ``weights``.
    """
    order = sorted(weights, key=lambda nk: (-weights[nk], -len(nk[0]), nk))
    people = [nk for nk in order if nk[1] == "person"]
    clusters: list[list[tuple[str, str]]] = []  # first member names the cluster
    for nk in (nk for nk in people if len(_tokens(nk[0])) > 1):
        toks = _tokens(nk[0])
        for cl in clusters:
            head = _tokens(cl[0][0])
            mid_a, mid_b = set(toks[1:-1]), set(head[1:-1])
            if head[-1] == toks[-1] and head[0] == toks[0] and (mid_a <= mid_b or mid_b <= mid_a):
                cl.append(nk)
                break
        else:
            clusters.append([nk])

    titles = titles or {}

    def fits(name: str, cl: list[tuple[str, str]]) -> bool:
        given = titles.get(name)
        return not given or any(weights[m] > 0 or titles.get(m[0], set()) & given for m in cl)

    def single(name: str) -> list[list[tuple[str, str]]] | None:
        word = _tokens(name)[0]
        by_surname = [cl for cl in clusters if _tokens(cl[0][0])[-1] == word and fits(name, cl)]
        by_first = [cl for cl in clusters if _tokens(cl[0][0])[0] == word and fits(name, cl)]
        hits = by_surname or by_first
        if len(hits) > 1:  # "Obama": Barack Obama in 24 sentences, Michelle Obama in 1
            mass = [sum(weights[m] for m in cl) for cl in hits]
            if sum(mass) and max(mass) >= DOMINANT * sum(mass):
                return [hits[mass.index(max(mass))]]
        return hits or None

    out: dict[tuple[str, str], tuple[str, str]] = {}
    for cl in clusters:
        for nk in cl:
            out[nk] = (cl[0][0], "person")
    full_names = {" ".join(_tokens(cl[0][0])): cl for cl in clusters}
    for nk in order:
        if nk in out:
            continue
        toks = _tokens(nk[0])
        key = " ".join(toks)
        if nk[1] == "organisation" and key in full_names:
            out[nk] = (full_names[key][0][0], "person")
            continue
        hits = single(nk[0]) if len(toks) == 1 else None
        if hits is not None and len(hits) == 1:
            out[nk] = (hits[0][0][0], "person")
        elif nk[1] == "organisation":
            continue
        else:
            out[nk] = nk
    lone = {" ".join(_tokens(nk[0])): nk for nk in order if nk[1] == "person" and nk not in {
        m for cl in clusters for m in cl} and out.get(nk) == nk}
    orgs: dict[str, tuple[str, str]] = {}
    for nk in order:
        if nk in out:
            continue
        key = _org_key(nk[0])
        if key in lone:  # "Nuryshev" tagged ORG in one sentence and PERSON in another
            out[nk] = lone[key]
            continue
        orgs.setdefault(key, nk)
        out[nk] = orgs[key]
    return out


# --------------------------------------------------------------------------- documents

def _quote_depth(text: str, depth: int) -> int:
    """Open quotations after ``text`` given ``depth`` open before it (curly or straight quotes)."""
    depth += text.count("\u201c") - text.count("\u201d")
    depth += text.count('"') % 2 if depth <= 0 else -(text.count('"') % 2)
    return max(0, min(depth, 1))


def _document_voices(texts: list[str], paras: list, parsed: dict) -> list[tuple[str, str, str | None] | None]:
    """(name, kind, name as written) or None for each sentence of one document, in document order;
    ``parsed`` maps the positions of the parsed sentences to their
    :class:`~framescope.measures.speakers.SentenceSpeakers`. A sentence that continues a quotation
    has no name as written."""
    named: dict[str, str] = {}  # name as written -> PERSON / ORG, over the document's entities
    roles: dict[str, set[str]] = {}
    for p in parsed.values():
        for name, label in p.names:
            named.setdefault(name, label)
        for family, name in p.roles:
            roles.setdefault(family, set()).add(name)
            named[name] = "PERSON"
    person_words = {w for n, lab in named.items() if lab == "PERSON" for w in _tokens(n)}
    weights: dict[tuple[str, str], int] = {}
    raw: list[tuple[str, str] | str | None] = [None] * len(texts)
    written: list[str | None] = [None] * len(texts)
    for k, p in sorted(parsed.items()):
        for m in p.mentions:
            who = _kept(m, named, roles, person_words)
            if who is not None:
                raw[k], written[k] = who, m.text or m.name
                if who != "pronoun":
                    weights[who] = weights.get(who, 0) + 1
                break
    for name, label in named.items():  # the document's full names are merge targets too
        if label == "PERSON" and len(name.split()) > 1:
            weights.setdefault((name, "person"), 0)
    titled: dict[str, set[str]] = {}
    for family, names in roles.items():
        for name in names:
            titled.setdefault(name, set()).add(family)
    merged = merge_names(weights, titled)
    out: list[tuple[str, str, str | None] | None] = [None] * len(texts)
    last: tuple[int, tuple[str, str]] | None = None
    pending: list[int] = []
    open_quote, current_para = 0, None
    for k, text in enumerate(texts):
        who = raw[k]
        if who == "pronoun":
            who = last[1] if last and k - last[0] <= PRONOUN_WINDOW else None
        elif who is not None:
            who = merged.get(who)
            if who is not None and who[1] == "person":
                last = (k, who)
        out[k] = (*who, written[k]) if who is not None else None
        if paras[k] != current_para:  # quotations do not run across paragraphs
            current_para, open_quote, pending = paras[k], 0, []
        open_quote = _quote_depth(text, open_quote)
        if who:
            closes = any(q in text for q in ('"', "\u201d"))  # the speaker's sentence ends the quotation
            if closes and len(pending) <= MAX_QUOTE_SENTENCES:
                for j in pending:
                    out[j] = (who[0], who[1], None)
            pending = []
        elif open_quote:
            pending.append(k)
        else:
            pending = []
    return out


def _kept(m, named: dict, roles: dict, person_words: set) -> tuple[str, str] | str | None:
    """A candidate speaker as (name, kind), "pronoun", or None when it is no person or organisation."""
    if m.kind == "pronoun":
        return "pronoun"
    if not m.name.strip():
        return None
    if m.kind == "role":
        people = roles.get(m.name, set())
        return (sorted(people)[0], "person") if len(people) == 1 else None
    if m.kind == "propn":
        label = named.get(m.name) or ("PERSON" if set(_tokens(m.name)) <= person_words else None)
        return (m.name, KINDS[label]) if label else None
    if m.kind == "ORG" and len(m.name.split()) == 1 and m.name.lower() in person_words:
        return m.name, "person"
    return m.name, KINDS[m.kind]


class _Rows:
    """What :func:`voice_frame` reads of each sentence (positional rows of the input)."""

    def __init__(self, sentences: pd.DataFrame):
        if "text" not in sentences.columns:
            raise InputError("sentences table has no 'text' column")
        df = sentences.reset_index(drop=True)
        self.n = len(df)
        self.text = df["text"].map(lambda t: t if isinstance(t, str) else "")
        self.doc = df["doc_id"].astype(str) if "doc_id" in df.columns else pd.Series("d", index=df.index)
        self.para = df["paragraph"] if "paragraph" in df.columns else pd.Series(0, index=df.index)
        pos = df["position"] if "position" in df.columns else pd.Series(range(len(df)), index=df.index)
        self.body = (df["is_body"].fillna(False).astype(bool) if "is_body" in df.columns
                     else pd.Series(True, index=df.index))
        self.order = pd.DataFrame({"doc": self.doc, "pos": pos}).sort_values(["doc", "pos"], kind="stable")

    def cue(self) -> list[int]:
        """Body sentences with a speech cue: parsed first."""
        from framescope.measures.speakers import has_cue

        return [i for i in self.order.index if self.body.iat[i] and has_cue(self.text.iat[i])]

    def context(self, parsed: dict) -> list[int]:
        """The other body sentences to parse, given the parse of the cue sentences (``parsed``:
        row -> SentenceSpeakers): a document whose speakers include a role ("the president said")
        or a one-word name ("Yang vowed") also needs the titled and full names of its other
        sentences ("Yang Jiechi, director of")."""
        from framescope.measures.speakers import has_role

        doc, text = self.doc, self.text
        role_docs = {doc.iat[i] for i, p in parsed.items() if any(m.kind == "role" for m in p.mentions)}
        words: dict[str, set[str]] = {}
        for i, p in parsed.items():
            for m in p.mentions:
                if m.kind in ("PERSON", "ORG", "propn") and " " not in m.name:
                    words.setdefault(doc.iat[i], set()).add(m.name)
        return [i for i in self.order.index if i not in parsed and self.body.iat[i] and (
            doc.iat[i] in role_docs and has_role(text.iat[i])
            or any(re.search(rf"\b{re.escape(w)}\b", text.iat[i]) for w in words.get(doc.iat[i], ())))]


def speech_texts(sentences: pd.DataFrame) -> list[str]:
    """The distinct texts :func:`voice_frame` parses first: body sentences with a speech cue."""
    rows = _Rows(sentences)
    return list(dict.fromkeys(rows.text.iat[i] for i in rows.cue()))


def context_texts(sentences: pd.DataFrame, found: dict) -> list[str]:
    """The distinct texts :func:`voice_frame` parses next, for their document's names, given what
    the parse found in each of :func:`speech_texts` (``found``: text -> SentenceSpeakers)."""
    rows = _Rows(sentences)
    parsed = {i: found[rows.text.iat[i]] for i in rows.cue()}
    return list(dict.fromkeys(rows.text.iat[i] for i in rows.context(parsed)))


def voice_frame(sentences: pd.DataFrame, cache: bool = True, workers: int | None = 1) -> pd.DataFrame:
    """``voice`` (the speaker's name, merged within its document), ``voice_kind`` (person /
    organisation) and ``voice_as_written`` (the words that name the speaker in the sentence:
    "Congressman Ryan", "the president", "he"; None when the sentence continues a quotation) of
    each sentence, or None; index aligned with the input. Only body sentences are read (all
    sentences when there is no ``is_body`` column). ``cache``: reuse and keep spaCy's
    findings per sentence (``speakers.parse_speakers``, over ``workers`` processes: the same
    findings for any number)."""
    from framescope.measures.speakers import parse_speakers

    rows = _Rows(sentences)
    text, para, body = rows.text, rows.para, rows.body
    cue = rows.cue()
    parsed = dict(zip(cue, parse_speakers([text.iat[i] for i in cue], cache, workers)))
    extra = rows.context(parsed)
    parsed.update(zip(extra, parse_speakers([text.iat[i] for i in extra], cache, workers)))
    voice: list[str | None] = [None] * rows.n
    kind: list[str | None] = [None] * rows.n
    written: list[str | None] = [None] * rows.n
    for _, in_doc in rows.order.groupby("doc", sort=False):
        idx = [i for i in in_doc.index if body.iat[i]]
        found = _document_voices([text.iat[i] for i in idx], [para.iat[i] for i in idx],
                                 {k: parsed[i] for k, i in enumerate(idx) if i in parsed})
        for i, who in zip(idx, found):
            if who is not None:
                voice[i], kind[i], written[i] = who
    return pd.DataFrame({c: pd.Series(v, dtype="object") for c, v in (
        ("voice", voice), ("voice_kind", kind), ("voice_as_written", written))}).set_axis(sentences.index)


def voices(sentences: pd.DataFrame) -> pd.Series:
    """The speaker of each sentence (see :func:`voice_frame`), or None; index aligned with the input."""
    return voice_frame(sentences)["voice"].rename("voice")


# --------------------------------------------------------------------------- tables

def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
        COLUMNS, ["object", "object", "object", "object", "int64", "object", "object", "object"])})


def voice_counts(sentences: pd.DataFrame) -> pd.DataFrame:
    """Body sentences per theme × source × speaker × kind, with their ids (``sentence_ids``) and the
    names as written (``aliases``): what :func:`voices_from_counts` needs from some sentences (names
    merged within documents only)."""
    for col in ("theme", "source", "sentence_id"):
        if col not in sentences.columns:
            raise InputError(f"sentences table has no '{col}' column")
    df = sentences
    if "is_body" in df.columns:
        df = df[df["is_body"].fillna(False).astype(bool)]
    if not set(SENTENCE_COLUMNS) <= set(df.columns):
        df = pd.concat([df.drop(columns=[c for c in SENTENCE_COLUMNS if c in df.columns]), voice_frame(df)], axis=1)
    df = df[df["voice"].notna() & df["voice_kind"].notna()].copy()
    partial = ["theme", "source", "speaker", "kind", "n", "sentence_ids", "aliases"]
    if df.empty:
        return _empty()[partial]
    df["theme"] = df["theme"].fillna("unassigned").astype(str)
    df = df.sort_values("sentence_id", kind="stable")
    out = (df.groupby(["theme", "source", "voice", "voice_kind"], sort=True)
             .agg(n=("sentence_id", "size"), sentence_ids=("sentence_id", list),
                  aliases=("voice_as_written", lambda w: sorted(set(w.dropna()))))
             .reset_index().rename(columns={"voice": "speaker", "voice_kind": "kind"}))
    return out.astype({"n": "int64"})[partial]


def voices_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """The voices table from :func:`voice_counts` of the partitions, stacked: names merged over the
    whole study (:func:`merge_names`), one row per theme × source × merged speaker with all its
    sentence ids (sorted), the first as ``example_sentence_id``, and the names as written that it
    merges (``aliases``)."""
    if counts.empty:
        return _empty()
    weights = counts.groupby(["speaker", "kind"])["n"].sum().to_dict()
    merged = merge_names(weights)
    target = [merged[(s, k)] for s, k in zip(counts["speaker"], counts["kind"])]
    df = counts.assign(speaker=[t[0] for t in target], kind=[t[1] for t in target])
    rows = []
    for (theme, source, speaker, kind), g in df.groupby(["theme", "source", "speaker", "kind"], sort=True):
        ids = sorted({i for ids in g["sentence_ids"] for i in ids})
        rows.append({"theme": theme, "source": source, "speaker": speaker, "kind": kind, "n": len(ids),
                     "example_sentence_id": ids[0], "sentence_ids": ids,
                     "aliases": sorted({a for names in g["aliases"] for a in names})})
    out = pd.DataFrame(rows, columns=COLUMNS)
    rank = {t: i for i, t in enumerate(theme_order(out["theme"].unique()))}
    out = out.assign(_o=out["theme"].map(rank)).sort_values(
        ["_o", "source", "n", "speaker"], ascending=[True, True, False, True], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)[COLUMNS].astype({"n": "int64"})


def voices_table(sentences: pd.DataFrame) -> pd.DataFrame:
    """Sentences per theme × source × speaker (body sentences), names merged over the study."""
    return voices_from_counts(voice_counts(sentences))


def voice_sentences(voices_row, sentences: pd.DataFrame) -> pd.DataFrame:
    """The sentences of one voices row (its ``sentence_ids``), in id order, with their columns."""
    ids = list(voices_row["sentence_ids"])
    return sentences[sentences["sentence_id"].isin(ids)].sort_values("sentence_id", kind="stable")
