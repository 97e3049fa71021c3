"""Article splitting of pasted dumps, and the sentence table (kinds, quotes, offsets)."""
from __future__ import annotations

import time

import pandas as pd
import pytest

from conftest import RAW_SEED, ROOT, SEED_CORPUS
from framescope.config import IngestConfig
from framescope.ingest import pieces, segment
from framescope.ingest.corpus import load_documents, normalize_text
from framescope.processes import equal_runs
from framescope.ingest.segment import (SENTENCE_COLUMNS, document_sentences, paragraph_spans, sentence_table,
                                       split_articles)

DATA = RAW_SEED.parents[2] / "tests" / "data" / "ingest"
SEED_NAMES = ("uk_embassy", "global_times", "foreign_policy")
NEWS = ROOT / "research" / "validation" / "news" / "corpus.csv"


def _read(path) -> str:
    return normalize_text(path.read_text(encoding="utf-8"))


def _articles(text: str) -> list[str]:
    return [text[s:e] for s, e in split_articles(text)]


def _sentences(text: str) -> list[dict]:
    rows = document_sentences(text)
    for r in rows:
        assert text[r["start"]:r["end"]] == r["text"]
    return rows


def _body(text: str) -> list[str]:
    return [r["text"] for r in _sentences(text) if r["is_body"]]


# ------------------------------------------------------------------------------- article splitting
def test_raw_seed_splits_into_the_three_seed_articles():
    raw = _read(RAW_SEED)
    got = _articles(raw)
    want = [_read(SEED_CORPUS / f"{n}.txt") for n in SEED_NAMES]
    assert len(got) == 3
    assert got[0] == want[0] and got[1] == want[1]
    assert got[2] == want[2] + "\n\nSource : ForeignPolice"  # the trailer stays with the article it ends
    assert got[0].startswith("John Hamilton and Sophie Daud")
    assert got[1].startswith("“Strong mutual trust,”")
    assert got[2].startswith("In recent years, China has pursued")


def test_seed_articles_in_another_order_split_back():
    want = [_read(SEED_CORPUS / f"{n}.txt") for n in ("foreign_policy", "uk_embassy", "global_times")]
    assert _articles("\n\n".join(want)) == want


@pytest.mark.parametrize("names", [("bee_memory", "flood_barrier", "rail_strike"),
                                   ("rail_strike", "global_times", "bee_memory", "foreign_policy", "uk_embassy")])
def test_dump_of_other_articles_splits(names):
    want = [_read(DATA / f"{n}.txt") if (DATA / f"{n}.txt").exists() else _read(SEED_CORPUS / f"{n}.txt")
            for n in names]
    assert _articles("\n\n".join(want)) == want


def test_two_short_articles_split_at_the_headline():
    want = [_read(DATA / f"{n}.txt") for n in ("bee_memory", "flood_barrier")]
    # two short articles only: the headline cue carries the weaker topic-shift evidence
    assert _articles("\n\n".join(want[:2])) == want[:2]


def test_dump_without_blank_lines_still_splits():
    want = [_read(SEED_CORPUS / f"{n}.txt") for n in ("global_times", "foreign_policy")]
    one_line_per_paragraph = "\n".join(w.replace("\n\n", "\n") for w in want)
    got = _articles(one_line_per_paragraph)
    assert len(got) == 2
    assert got[0].startswith("“Strong mutual trust") and got[1].startswith("In recent years")


def test_trailer_always_ends_an_article_even_without_a_topic_shift():
    gt = _read(SEED_CORPUS / "global_times.txt").split("\n\n")
    first, second = "\n\n".join(gt[:11]), "\n\n".join(gt[11:])
    got = _articles(f"{first}\n\nSource: Global Times\n\n{second}")
    assert got == [f"{first}\n\nSource: Global Times", second]


@pytest.mark.parametrize("path", [SEED_CORPUS / f"{n}.txt" for n in SEED_NAMES]
                         + [DATA / f"{n}.txt" for n in ("bee_memory", "flood_barrier", "rail_strike")],
                         ids=lambda p: p.stem)
def test_single_article_is_not_split(path):
    text = _read(path)
    assert _articles(text) == [text]


def test_splitting_is_deterministic():
    raw = _read(RAW_SEED)
    assert split_articles(raw) == split_articles(raw)


# ------------------------------------------------------------------------------------ sentences
def test_decimal_and_abbreviations_stay_in_one_sentence():
    text = ("China is Kazakhstan’s largest trading partner. In the past 30 years, mutual trade has increased "
            "more than 70-fold, reaching $25.2 billion in 2021, the Xinhua News Agency reported. The U.S. and "
            "Dr. Smith, e.g. at 5 p.m., disagreed. Growth was 3.5% in Q3.")
    assert _body(text) == [
        "China is Kazakhstan’s largest trading partner.",
        "In the past 30 years, mutual trade has increased more than 70-fold, reaching $25.2 billion in 2021, "
        "the Xinhua News Agency reported.",
        "The U.S. and Dr. Smith, e.g. at 5 p.m., disagreed.",
        "Growth was 3.5% in Q3.",
    ]


def test_multi_sentence_quotation_keeps_its_speaker_and_closing_quote():
    text = ("“We are eager to know the next step of China’s development policy, so we read the report carefully. "
            "We also look forward to learning more,” Nuryshev told the media. Trade grew.")
    assert _body(text) == [
        "“We are eager to know the next step of China’s development policy, so we read the report carefully. "
        "We also look forward to learning more,” Nuryshev told the media.",
        "Trade grew.",
    ]


@pytest.mark.parametrize("text, want", [
    ("He said “It is over.” “We will win,” she added. Fine.",
     ["He said “It is over.”", "“We will win,” she added.", "Fine."]),
    ('"Straight quotes here. Another one," he said. Done.',
     ['"Straight quotes here. Another one," he said.', "Done."]),
    ("He said 'hello. And then world.'",  # pysbd alone leaves the closing ' as a sentence of its own
     ["He said 'hello.", "And then world.'"]),
    ("The ministry frames it as “fully show[ing] the charm of China.” Critics disagree.",
     ["The ministry frames it as “fully show[ing] the charm of China.”", "Critics disagree."]),
])
def test_quotes_stay_with_their_sentence(text, want):
    got = _body(text)
    assert got == want
    assert not any(s[0] in "”’" for s in got)


def test_run_away_quotation_is_resplit():
    words = " ".join(["word"] * 30)
    text = f"“We will fight {words}. We will win {words}. We will never surrender {words}. Nobody stops us."
    got = _body(text)
    assert len(got) == 4 and got[0].startswith("“We will fight")


def test_caption_heading_and_trailer_are_not_body():
    text = ("Why China keeps doubling down on wolf warrior diplomacy\n\n"
            "Beijing’s envoys keep the tone sharp. Critics say it backfires.\n\n"
            "Chinese soldiers carry flags\nAt its core, the policy is about confidence at home.\n\n"
            "Source : ForeignPolice")
    rows = _sentences(text)
    kinds = [(r["kind"], r["is_body"], r["text"]) for r in rows]
    assert kinds == [
        ("heading", False, "Why China keeps doubling down on wolf warrior diplomacy"),
        ("body", True, "Beijing’s envoys keep the tone sharp."),
        ("body", True, "Critics say it backfires."),
        ("caption", False, "Chinese soldiers carry flags"),
        ("body", True, "At its core, the policy is about confidence at home."),
        ("trailer", False, "Source : ForeignPolice"),
    ]
    assert [r["paragraph"] for r in rows] == [0, 1, 1, 2, 2, 3]


def test_first_line_that_is_a_sentence_stays_body():
    text = _read(SEED_CORPUS / "uk_embassy.txt")
    rows = _sentences(text)
    assert rows[0]["kind"] == "body" and rows[0]["is_body"]
    assert rows[0]["text"].startswith("John Hamilton and Sophie Daud gave a lecture")
    assert all(r["is_body"] for r in rows)


def test_hard_wrapped_text_is_not_cut_at_line_ends():
    text = ("Riverside District Council voted on Tuesday to build a flood\n"
            "barrier along the River Alder, after two winters of flooding\n"
            "damaged more than 300 homes. Engineers expect the first phase\n"
            "to protect the town centre by 2027.")
    rows = _sentences(text)
    assert [r["kind"] for r in rows] == ["body", "body"]
    assert rows[0]["text"].endswith("damaged more than 300 homes.")


def test_markdown_heading_and_single_line_document():
    rows = _sentences("# Flood barrier approved\n\nThe council voted. Work starts soon.")
    assert [(r["kind"], r["text"]) for r in rows] == [
        ("heading", "Flood barrier approved"), ("body", "The council voted."), ("body", "Work starts soon.")]
    assert [r["kind"] for r in _sentences("Short text without a full stop")] == ["body"]


def test_sentence_table_on_seed_corpus(tmp_path):
    texts = {n: _read(SEED_CORPUS / f"{n}.txt") for n in SEED_NAMES}
    docs = pd.DataFrame({"doc_id": ["d0000", "d0001", "d0002"], "source": list(texts), "text": list(texts.values())})
    table = sentence_table(docs)
    assert list(table.columns) == SENTENCE_COLUMNS
    assert table["sentence_id"].is_unique and table["sentence_id"].iloc[0] == "d0000-s0000"
    by_id = docs.set_index("doc_id")["text"]
    assert all(by_id[r.doc_id][r.start:r.end] == r.text for r in table.itertuples())
    assert table.groupby("doc_id")["position"].apply(lambda p: list(p) == list(range(len(p)))).all()
    caption = table[table["text"] == "Chinese soldiers carry flags"]
    assert caption[["kind", "is_body", "source"]].values.tolist() == [["caption", False, "foreign_policy"]]
    assert (table["n_words"] > 0).all()
    for doc in docs.itertuples():  # every character of the text is in some row (nothing dropped)
        covered = set()
        for r in table[table["doc_id"] == doc.doc_id].itertuples():
            covered.update(range(r.start, r.end))
        assert all(i in covered for i, c in enumerate(doc.text) if not c.isspace())
    assert table.dtypes["is_body"] == bool and table.dtypes["start"] == "int64"
    empty = sentence_table(docs.iloc[:0])
    assert list(empty.columns) == SENTENCE_COLUMNS and len(empty) == 0


# ------------------------------------------------------------- long paragraphs, parallel splitting
def _body_runs(text: str):
    """(start, end) of every body run of a document, as `document_sentences` splits them."""
    blocks = paragraph_spans(text)
    single = len(blocks) == 1 and "\n" not in text[blocks[0][0]:blocks[0][1]]
    for p, block in enumerate(blocks):
        for s, e, kind in segment._line_kinds(text, block, p == 0, single):
            if kind == "body":
                yield s, e


def test_seed_sentences_equal_the_committed_seed_study():
    """The seed corpus splits into exactly the sentences (ids, offsets, texts, kinds) of the
    committed study: cutting long runs into pieces changed nothing on ordinary text."""
    docs = load_documents([str(SEED_CORPUS)], IngestConfig())
    table = sentence_table(docs)
    committed = pd.read_parquet(SEED_CORPUS.parents[1] / "artifacts" / "seed" / "sentences.parquet",
                                columns=SENTENCE_COLUMNS)
    pd.testing.assert_frame_equal(table, committed, check_exact=True)


def test_cutting_at_every_safe_sentence_end_changes_no_sentence(monkeypatch):
    """The cut rule: a run cut at each of its safe sentence ends (outside quotes and brackets)
    gives the same sentences as the run split whole, on every body run of the seed corpus and the
    test articles (the most cuts the rule can make)."""
    texts = [_read(p) for p in sorted(SEED_CORPUS.glob("*.txt")) + sorted(DATA.glob("*.txt"))]
    n_cuts = 0

    def every_cut(chunk):
        nonlocal n_cuts
        cuts = pieces.sentence_cuts(chunk)[0]
        n_cuts += len(cuts)
        bounds = [0, *cuts, len(chunk)]
        return list(zip(bounds, bounds[1:]))

    for text in texts:
        for s, e in _body_runs(text):
            monkeypatch.setattr(segment, "piece_bounds", lambda chunk: [(0, len(chunk))])
            whole = segment._repair(text, segment._pysbd_spans(text, s, e))
            monkeypatch.setattr(segment, "piece_bounds", every_cut)
            assert segment._repair(text, segment._pysbd_spans(text, s, e)) == whole, text[s:e][:200]
    assert n_cuts > 30


def test_piece_bounds_are_bounded_cover_the_run_and_avoid_quotes():
    quote = "He said “it was over. We won. They lost.” and left. "
    run = ("The vote was held today. " * 30 + quote) * 40
    bounds = pieces.piece_bounds(run, limit=400)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(run)
    assert all(b0[1] == b1[0] for b0, b1 in zip(bounds, bounds[1:]))
    assert all(0 < b - a <= 400 for a, b in bounds)
    inside = [run.index("“", a) for a in range(0, len(run), len(run) // 40)]
    for q in inside:  # no cut between an opening quote and its closing one
        close = run.index("”", q)
        assert not any(q < a < close for a, _ in bounds)
    words = "word " * 1000  # no sentence end at all: cut at whitespace
    assert all(words[a:b].endswith(" ") for a, b in pieces.piece_bounds(words, limit=300)[:-1])
    solid = "x" * 1000  # not even whitespace: hard cuts at the limit
    assert pieces.piece_bounds(solid, limit=300) == [(0, 300), (300, 600), (600, 900), (900, 1000)]
    assert pieces.piece_bounds("Short. Text.", limit=300) == [(0, 12)]


@pytest.mark.timeout(300)
def test_a_one_megabyte_paragraph_splits_in_bounded_time_and_keeps_every_character():
    """Issue 14: a 1 MB paragraph took far over 200 s (pysbd is quadratic in its input). Now it
    is split in bounded pieces: a guard of 30 s of CPU (about 7 s here), and every character
    of the paragraph is in exactly one sentence, in order."""
    paras = [" ".join(_read(SEED_CORPUS / f"{n}.txt")[s:e].split()) for n in SEED_NAMES
             for s, e in _body_runs(_read(SEED_CORPUS / f"{n}.txt"))]
    text = " ".join(paras)
    text = " ".join([text] * (1_000_000 // len(text) + 1))[:1_000_000].rsplit(" ", 1)[0] + "."
    t0 = time.process_time()
    rows = document_sentences(text)
    cpu = time.process_time() - t0
    assert cpu < 30, f"{cpu:.1f} s of CPU for a 1 MB paragraph"
    assert len(rows) > 5000 and all(r["is_body"] and r["paragraph"] == 0 for r in rows)
    ends = [0] + [r["end"] for r in rows]
    for r, prev_end in zip(rows, ends):
        assert text[r["start"]:r["end"]] == r["text"] and r["start"] >= prev_end  # in order, no overlap
        assert text[prev_end:r["start"]].isspace() or prev_end == r["start"]  # nothing but spaces between
    assert text[rows[-1]["end"]:].strip() == ""
    assert max(len(r["text"]) for r in rows) < pieces.MAX_PIECE_CHARS


def test_parallel_and_serial_sentence_tables_are_identical(monkeypatch):
    """Issue 13: documents split over 2 processes give exactly the serial table (ids, order,
    offsets, texts), also across a long paragraph cut into pieces."""
    docs = load_documents([str(NEWS)], IngestConfig()).iloc[:120]
    long_doc = docs.iloc[[0]].assign(doc_id="dlong", text=" ".join(docs["text"].iloc[1:60]))
    docs = pd.concat([docs, long_doc], ignore_index=True)
    monkeypatch.setattr(segment, "PARALLEL_MIN_CHARS", 0)
    serial = sentence_table(docs, workers=1)
    parallel = sentence_table(docs, workers=2)
    assert len(serial) > 900 and (serial["doc_id"] == "dlong").sum() > 200
    pd.testing.assert_frame_equal(parallel, serial, check_exact=True)
    assert equal_runs([5, 5, 5, 5], 2) == [(0, 2), (2, 4)]


ABBREVIATED = [
    "Dr. Smith met Gen. Jones at 5 p.m. on Jan. 5 in Washington. No. 10 Downing St. was quiet. The U.S. "
    "and the U.K. signed it, i.e. the deal. Prof. Lee et al. disagreed, e.g. on tariffs. Vol. 3, pp. 12-14.",
    "Mr. and Mrs. Brown arrived. St. Louis is far. Fig. 2 shows it. The co. was sold. Sen. Warren spoke "
    "on Oct. 3. The no. 1 seed lost. He was in Washington D.C. yesterday. Est. 1850. approx. 20 people came.",
    "NO. 5 won. \u212aelvin temperatures rose. The \u017ft. Patrick parade was on Mar. 17. "
    "\u0130st. Ave. was closed. Capt. Hook and Lt. Dan met Maj. Gen. Smith.",
    "It was the first time. He lived on \u017ft. patrick street in town. It rained.",
    "We talked about the adj. and adv. forms. Cf. the earlier report. Inc. and Ltd. firms. "
    "It cost $5 vs. $7 in Jan.\nThe next line starts here. Ms. Ono agreed.",
]


def test_the_fast_abbreviation_pass_gives_pysbds_own_sentences():
    """Issue 14 (a 30 MB file in a minute): framescope's segmenter skips pysbd's abbreviation
    searches that cannot change the text (2.4x less CPU on a 2.9 MB news table). On text full of
    abbreviations (and case-folding oddities: the Kelvin sign, the long s, a dotted capital I)
    its sentences are exactly stock pysbd's."""
    import pysbd

    from framescope.ingest.pieces import segmenter

    ours, stock = segmenter(), pysbd.Segmenter(language="en", clean=False)
    assert type(ours.language_module) is not type(stock.language_module) or \
        ours.language_module is not stock.language_module
    for text in ABBREVIATED + [" ".join(ABBREVIATED), "\n\n".join(ABBREVIATED).upper()]:
        assert [s.strip() for s in ours.segment(text)] == [s.strip() for s in stock.segment(text)], text[:60]


def test_article_splitting_over_two_processes_gives_the_serial_articles(monkeypatch):
    """Issue 14 (a 30 MB pasted dump): the runs between attribution trailers are searched for
    article cuts over several processes; the articles are exactly the serial ones."""
    from framescope.ingest.segment import split_articles

    speeches = ROOT / "research" / "validation" / "speeches" / "corpus.csv"
    docs = load_documents([str(speeches)], IngestConfig()).iloc[:12]  # long speeches, many paragraphs
    chunks = []
    for i in range(0, len(docs), 4):  # runs of 4 speeches, each run ending in a trailer
        chunks.append("\n\n".join(docs["text"].iloc[i:i + 4]) + f"\n\nSource : Outlet{i}")
    dump = "\n\n".join(chunks)
    monkeypatch.setattr(segment, "PARALLEL_MIN_CHARS", 0)
    serial = split_articles(dump, workers=1)
    assert len(serial) > len(chunks)  # topic cuts inside the runs too, not only at the trailers
    assert split_articles(dump, workers=2) == serial
