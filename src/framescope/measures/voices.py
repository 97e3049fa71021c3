"""Voices: who is quoted or paraphrased in a sentence, by name or role where the text gives it.

A sentence has a voice when a speech verb (said, told, noted, explained, believes, added,
reiterated, expressed, vowed, announced, according to, ...) attaches to a speaker:

- speaker before the verb: ``Nuryshev said``, ``the ambassador told``, ``Xi proudly announced``,
  ``The diplomat, who has been in China for 19 years, said``, ``As Elizabeth Economy explains``;
- verb before the speaker after a quote or comma: ``..." said the ambassador``;
- ``according to Reuters`` / ``according to Nuryshev``.

Names are runs of capitalised words, stripped of sentence openers (But, As, ...), titles
(President, Foreign Minister, ...) and possessive owners ("Democracy's Christopher Walker").
Within a document, a full name is shortened to the short form the document also uses
("Shakhrat Nuryshev" -> "Nuryshev", "Yang Jiechi" -> "Yang"). ``he``/``she`` is resolved to the
most recent singular speaker (a person or a role such as "the ambassador", not an
organisation) within the previous three sentences of the same document; otherwise the
sentence has no voice. A sentence that opens a quotation which a later sentence of the same
paragraph closes takes that sentence's speaker. Passive uses ("was announced") are not voices.
These are transparent rules, not a parser: see docs/measures.md for what they miss.
"""
from __future__ import annotations

import re

import pandas as pd

from framescope.measures.bootstrap import theme_order
from framescope.errors import InputError

COLUMNS = ["theme", "source", "speaker", "n", "example_sentence_id"]
VERBS = ("said|says|say|told|tells|noted|notes|explained|explains|believes|believed|added|adds|"
         "reiterated|reiterates|expressed|expresses|vowed|vows|announced|announces|stated|argued|"
         "argues|claimed|stressed|emphasi[sz]ed|emphasi[sz]es|warned|warns|insisted|insists|wrote|"
         "writes|reported|asserted|acknowledged|remarked|commented|suggested|pointed out|urged|"
         "urges|predicted|admitted|denied|confirmed|recalled|observed")
ROLES = ("ambassador|envoy|diplomat|minister|spokesperson|spokesman|spokeswoman|president|premier|"
         "official|expert|analyst|observer|scholar|researcher|professor|journalist|report|statement|"
         "critic|author|embassy|ministry|government|chancellor|secretary|leader|chairman|chair|"
         "director|representative|commentator|economist|source|study|survey")
PLURALS = "experts|analysts|officials|observers|critics|sources|diplomats|scholars|researchers|leaders|economists"
_WORD = r"[A-Z][\w'\-.]*"
_NAME = rf"{_WORD}(?:\s+{_WORD}){{0,5}}"
_THE_ROLE = rf"(?:[Tt]he|[Aa]n?)\s+(?:[\w'\-]+\s+){{0,2}}?(?:{ROLES})\b"
_SUBJECT = rf"(?P<subj>\b(?:[Hh]e|[Ss]he)\b|{_THE_ROLE}|\b(?:{PLURALS})\b|{_NAME})"
_BEFORE = re.compile(
    rf"{_SUBJECT}(?P<appos>\s*,[^,;:]{{1,120}},)?\s+(?:(?:has|had|have|also|later|then|once|further|"
    rf"previously|again|\w+ly)\s+){{0,2}}(?:{VERBS})\b")
_AFTER = re.compile(rf"(?:,|\")\s*(?:{VERBS})\s+(?P<subj>{_THE_ROLE}|{_NAME})")
_ACCORDING = re.compile(rf"\b[Aa]ccording to\s+(?P<subj>{_THE_ROLE}|(?:the\s+)?{_NAME})")
OPENERS = {"as", "but", "and", "yet", "so", "however", "moreover", "meanwhile", "also", "then", "in",
           "on", "at", "when", "while", "after", "before", "since", "still", "instead", "indeed", "today",
           "yesterday", "earlier", "later", "the", "this", "that", "these", "those", "it", "its",
           "recently", "specifically", "furthermore", "although", "though", "if", "we", "i", "you",
           "they", "there", "what", "why", "how", "a", "an", "our", "his", "her", "their", "for", "to"}
TITLES = {"president", "prime", "minister", "foreign", "ambassador", "secretary", "general", "director",
          "chairman", "premier", "chancellor", "senator", "governor", "mr", "mr.", "mrs", "mrs.", "ms",
          "ms.", "dr", "dr.", "prof", "prof.", "professor", "sir", "dame", "deputy", "vice", "chief",
          "spokesperson", "spokesman", "spokeswoman", "analyst", "journalist", "envoy", "state",
          "counselor", "councillor", "representative", "commissioner", "head", "executive", "officer"}
ORG_WORDS = {"agency", "news", "times", "post", "reuters", "xinhua", "ministry", "center", "centre",
             "institute", "project", "council", "commission", "committee", "office", "department",
             "organization", "organisation", "embassy", "government", "bank", "fund", "university",
             "party", "network", "daily", "press", "media", "foundation", "association", "union",
             "report", "statement", "study", "survey", "source"}
PRONOUN_WINDOW = 3


def _clean_name(name: str, preceding: str) -> str | None:
    tokens = name.split()
    while tokens and tokens[0].lower().strip(".,") in OPENERS:
        tokens = tokens[1:]
    owner = [i for i, t in enumerate(tokens[:-1]) if t.endswith("'s") or t.endswith("s'")]
    if owner:
        tokens = tokens[owner[-1] + 1:]
    titled = [i for i, t in enumerate(tokens[:-1]) if t.lower() in TITLES]
    if titled:
        tokens = tokens[titled[-1] + 1:]
    if len(tokens) >= 3 and re.search(r"\b(?:to|of|for|from|in|at|with)\s+$", preceding):
        tokens = tokens[1:]  # "Ambassador to China Shakhrat Nuryshev": China belongs to the title
    tokens = [t.rstrip(".,'") for t in tokens]
    tokens = [t for t in tokens if t]
    if not tokens or all(t.lower() in OPENERS | TITLES for t in tokens):
        return None
    name = " ".join(tokens)
    return name.lower() if re.fullmatch(PLURALS, name.lower()) else name  # "Experts said" opens a sentence


def _speaker(text: str) -> str | None:
    """The raw speaker of one sentence ('he'/'she' unresolved), or None."""
    t = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    found: list[tuple[int, str]] = []
    for m in _BEFORE.finditer(t):  # no auxiliary "was/is" may stand before the verb: no passives
        subj = m.group("subj")
        if subj.lower() in ("he", "she"):
            found.append((m.start(), subj.lower()))
        elif re.match(_THE_ROLE, subj) or re.fullmatch(PLURALS, subj):
            found.append((m.start(), subj[0].lower() + subj[1:]))
        else:
            name = _clean_name(subj, t[:m.start("subj")])
            if name:
                found.append((m.start(), name))
    for pattern in (_AFTER, _ACCORDING):
        for m in pattern.finditer(t):
            subj = m.group("subj")
            if re.match(_THE_ROLE, subj):
                found.append((m.start(), subj[0].lower() + subj[1:]))
            else:  # "according to" is no title: keep "the China Media Project" whole
                preceding = t[:m.start("subj")] if pattern is _AFTER else ""
                name = _clean_name(re.sub(r"^the\s+", "", subj), preceding)
                if name:
                    found.append((m.start(), name))
    if not found:
        return None
    return min(found)[1]


def _is_person(speaker: str) -> bool:
    words = {w.lower() for w in re.findall(r"[\w']+", speaker)}
    if speaker.split()[0].lower() in ("the", "a", "an"):
        return bool(re.search(rf"\b(?:{ROLES})$", speaker)) and not words & ORG_WORDS
    return not re.fullmatch(PLURALS, speaker) and not words & ORG_WORDS


def _canonical(names: set[str]) -> dict[str, str]:
    """Map full names to the single-word form the same document also uses."""
    short = {n for n in names if " " not in n and n[:1].isupper()}
    out = {}
    for n in names:
        parts = n.split()
        if len(parts) > 1 and n[:1].isupper():
            hits = [p for p in (parts[-1], parts[0]) if p in short]
            if hits:
                out[n] = hits[0]
    return out


def _quote_depth(text: str, depth: int) -> int:
    """Open quotations after ``text`` given ``depth`` open before it (curly or straight quotes)."""
    depth += text.count("\u201c") - text.count("\u201d")
    depth += text.count('"') % 2 if depth <= 0 else -(text.count('"') % 2)
    return max(0, min(depth, 1))


def voices(sentences: pd.DataFrame) -> pd.Series:
    """Speaker of each sentence (name or role as written), or None; index aligned with input."""
    if "text" not in sentences.columns:
        raise InputError("sentences table has no 'text' column")
    df = sentences.reset_index(drop=True)
    doc = df["doc_id"].astype(str) if "doc_id" in df.columns else pd.Series("d", index=df.index)
    para = df["paragraph"] if "paragraph" in df.columns else pd.Series(0, index=df.index)
    pos = df["position"] if "position" in df.columns else pd.Series(range(len(df)), index=df.index)
    raw = [_speaker(str(t)) if isinstance(t, str) else None for t in df["text"]]
    result: list[str | None] = [None] * len(df)
    order = pd.DataFrame({"doc": doc, "para": para, "pos": pos}).sort_values(["doc", "pos"], kind="stable")
    for _, rows in order.groupby("doc", sort=False):
        idx = rows.index.to_list()
        names = {raw[i] for i in idx if raw[i] and raw[i] not in ("he", "she")}
        canon = _canonical(names)
        last: tuple[int, str] | None = None
        pending: list[int] = []
        open_quote, current_para = 0, None
        for k, i in enumerate(idx):
            who = raw[i]
            if who in ("he", "she"):
                who = last[1] if last and k - last[0] <= PRONOUN_WINDOW else None
            elif who:
                who = canon.get(who, who)
                if _is_person(who):
                    last = (k, who)
            result[i] = who
            if para.iat[i] != current_para:  # quotations do not run across paragraphs
                current_para, open_quote, pending = para.iat[i], 0, []
            open_quote = _quote_depth(str(df.at[i, "text"]), open_quote)
            if who:
                for j in pending:
                    result[j] = who
                pending = []
            elif open_quote:
                pending.append(i)
            else:
                pending = []
    return pd.Series(result, index=sentences.index, name="voice", dtype="object")


def voice_counts(sentences: pd.DataFrame) -> pd.DataFrame:
    """Body sentences per theme × source × speaker (``n``) and the first of them by sentence id
    (``example_sentence_id``): what :func:`voices_from_counts` needs from some sentences."""
    for col in ("theme", "source", "sentence_id"):
        if col not in sentences.columns:
            raise InputError(f"sentences table has no '{col}' column")
    df = sentences
    if "is_body" in df.columns:
        df = df[df["is_body"].fillna(False).astype(bool)]
    if "voice" not in df.columns:
        df = df.assign(voice=voices(df))
    df = df[df["voice"].notna()].copy()
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            COLUMNS, ["object", "object", "object", "int64", "object"])})
    df["theme"] = df["theme"].fillna("unassigned").astype(str)
    df = df.sort_values("sentence_id", kind="stable")
    return (df.groupby(["theme", "source", "voice"], sort=False)
              .agg(n=("sentence_id", "size"), example_sentence_id=("sentence_id", "first"))
              .reset_index().rename(columns={"voice": "speaker"}))


def voices_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """The voices table from :func:`voice_counts` of the partitions, stacked (counts summed, the
    smallest example sentence id kept)."""
    if counts.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            COLUMNS, ["object", "object", "object", "int64", "object"])})
    counts = counts.sort_values("example_sentence_id", kind="stable")
    out = (counts.groupby(["theme", "source", "speaker"], sort=False)
                 .agg(n=("n", "sum"), example_sentence_id=("example_sentence_id", "first")).reset_index())
    order = {t: i for i, t in enumerate(theme_order(out["theme"].unique()))}
    out = out.assign(_o=out["theme"].map(order)).sort_values(
        ["_o", "source", "n", "speaker"], ascending=[True, True, False, True], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)[COLUMNS].astype({"n": "int64"})


def voices_table(sentences: pd.DataFrame) -> pd.DataFrame:
    """Sentences per theme × source × speaker (body sentences), with one example sentence."""
    return voices_from_counts(voice_counts(sentences))
