"""Voices: people and organisations quoted or paraphrased, found with spaCy's parser and NER (the
real pinned en_core_web_sm pipeline), merged within documents and over the study."""
from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

from framescope.errors import InputError
from framescope.measures.speakers import check_model, model_folder
from framescope.measures.voices import (
    COLUMNS, merge_names, voice_counts, voice_frame, voices, voices_from_counts, voices_table,
)


def _doc(texts, doc="d1", paragraphs=None):
    paragraphs = paragraphs or list(range(len(texts)))
    return pd.DataFrame({"sentence_id": [f"{doc}-s{i:04d}" for i in range(len(texts))], "doc_id": doc,
                         "paragraph": paragraphs, "position": range(len(texts)), "text": texts})


def _study(docs: dict[str, list[str]], source="s") -> pd.DataFrame:
    return pd.concat([_doc(t, d) for d, t in docs.items()], ignore_index=True).assign(
        source=source, theme="t", is_body=True)


# --------------------------------------------------------------------------- one sentence

@pytest.mark.parametrize("text, speaker", [
    ("Nuryshev said that Kazakhstan was impressed by the congress.", "Nuryshev"),
    ("The ties have reached unprecedented heights, said Nuryshev.", "Nuryshev"),
    ("Yang vowed to \u201ctake a coordinated approach\u201d to the imperatives.", "Yang"),
    ("As China analyst Elizabeth Economy explains, the narrative \u201cevokes memories\u201d of empire.",
     "Elizabeth Economy"),
    ("According to Reuters, Xi used hard-power terms 89 times.", "Reuters"),
    ("According to the China Media Project, the phrase appeared less often.", "China Media Project"),
    ("Trade rose 70-fold, the Xinhua News Agency reported.", "Xinhua News Agency"),
    ("Xi proudly announced in his speech that influence had improved.", "Xi"),
    ("As the National Endowment for Democracy\u2019s Christopher Walker explained, soft power is cultural.",
     "Christopher Walker"),
    ("Chinese Foreign Minister Wang Yi said the talks were useful.", "Wang Yi"),
    ("Nuryshev believes that it is important to support the initiatives.", "Nuryshev"),
    ("Moreover, Nuryshev expressed hope for a quicker resolution.", "Nuryshev"),
    ("Kazakh Ambassador to China Shakhrat Nuryshev told the press on Friday that ties were strong.",
     "Shakhrat Nuryshev"),
    ("\u201cWe will win,\u201d Mitt Romney said on Tuesday.", "Mitt Romney"),
    ("America, Barack Obama said, is stronger today.", "Barack Obama"),
    ("Congressman Paul Ryan said the plan would cut spending.", "Paul Ryan"),
    ("A Gallup report recently said that nearly 50 percent of small-business owners aren't hiring.", "Gallup"),
    ("Now, Governor Romney, he said that finding Osama bin Laden was not worth it.", "Romney"),
])
def test_speaker_is_a_named_person_or_organisation(text, speaker):
    assert voices(_doc([text])).iloc[0] == speaker


@pytest.mark.parametrize("text", [
    "Chinese Foreign Minister Wang Yi was announced as a new Politburo member.",  # passive
    "China has pursued a foreign-policy posture known as \u201cwolf warrior\u201d diplomacy.",  # scare quotes
    "The term\u2019s absence from state media tells us that the party is not blind.",  # no person or org
    "It says nothing about the border.",
    "The visit, which experts said underscored the ties, was brief.",  # not a named voice
    "Good cooperation has been established, the ambassador told the Global Times.",  # role, nobody named
    "Saddam Hussein has not credibly explained these activities.",  # negated
    "Romney added $2 trillion to the defense budget.",  # "add" without a reported clause
    "The Senate had repealed \u201cdon't ask, don't tell\u201d so that anyone can serve.",  # verb in a quotation
])
def test_no_voice(text):
    assert voices(_doc([text])).iloc[0] is None


# The issue's twelve false speakers of the regular expressions, in the sentences they came from.
FALSE_SPEAKERS = {
    "Some": "Some say we should wait until the economy recovers.",
    "America": "America said no to that kind of politics.",
    "Let's": "Let's say it plainly: we will win this election.",
    "Like I": "Like I said, this country is strong.",
    "Last December I": "Last December I said that we would act on jobs.",
    "Because Mitt Romney": "Because Mitt Romney never said how he would pay for it, we should ask.",
    "America Barack Obama": "In America Barack Obama says to you that the best is yet to come.",
    "Lake City": "In Salt Lake City people told me they wanted good jobs.",
    "Wisconsin": "Wisconsin said no to that plan last year.",
    "Concord": "In Concord a woman told me her story about the plant.",
    "Everybody": "Everybody says this election matters more than any other.",
    "CFO": "Our CFO said the company would grow next year.",
}


def test_the_issues_false_speakers_are_not_voices():
    out = voices(_doc(list(FALSE_SPEAKERS.values())))
    found = {v for v in out if v}
    assert not found & set(FALSE_SPEAKERS)
    assert found <= {"Barack Obama"}  # "Obama says" is a real voice; "America Barack Obama" is not


# --------------------------------------------------------------------------- documents

def test_roles_resolve_to_the_person_the_document_gives_that_title():
    texts = ["Kazakh Ambassador to China Shakhrat Nuryshev told the press on Friday that ties were strong.",
             "Good cooperation has been established, the ambassador told the Global Times.",
             "\u201cThis is unique,\u201d said the envoy.",
             "The diplomat, who has been in China for 19 years, said he hoped to work with counterparts.",
             "Nuryshev said that the border issue was resolved."]
    assert voices(_doc(texts)).tolist() == ["Shakhrat Nuryshev"] * 5


def test_the_president_is_the_documents_named_president_only():
    named = ["President Barack Obama visited the plant in Ohio on Monday.",
             "The president warned that the recovery would take time."]
    assert voices(_doc(named)).tolist() == [None, "Barack Obama"]
    unnamed = ["The plant in Ohio reopened on Monday.", "The president warned that the recovery would take time."]
    assert voices(_doc(unnamed)).tolist() == [None, None]
    two = ["President Barack Obama and President Bill Clinton visited the plant.",
           "The president warned that the recovery would take time."]
    assert voices(_doc(two)).tolist()[1] is None


def test_a_titled_surname_does_not_join_a_differently_titled_person_the_document_only_names():
    texts = ["Michelle Obama visited a school in Virginia on Monday.",
             "President Obama said that the schools would get more money.",
             "Michelle told the children that they could be anything."]
    assert voices(_doc(texts)).tolist() == [None, "Obama", "Michelle Obama"]


def test_pronouns_resolve_to_the_recent_person_of_the_same_document_only():
    texts = ["Ambassador Shakhrat Nuryshev noted that the border was settled.",
             "Kazakhstan and China set a model for cooperation, he added.",
             "Trade grew.", "Trade grew again.", "Trade grew once more.",
             "He said the ties were strong."]  # four sentences after the last named speaker
    out = voice_frame(_doc(texts))
    assert out["voice"].tolist() == ["Shakhrat Nuryshev", "Shakhrat Nuryshev", None, None, None, None]
    assert out["voice_as_written"].tolist()[:2] == ["Ambassador Shakhrat Nuryshev", "he"]
    other_doc = pd.concat([_doc(["Nuryshev said the ties were strong."], "d1"),
                           _doc(["He said the weather was fine."], "d2")], ignore_index=True)
    assert voices(other_doc).tolist() == ["Nuryshev", None]
    org = ["Trade rose 70-fold, the Xinhua News Agency reported.", "He added that both sides were pleased."]
    assert voices(_doc(org)).tolist() == ["Xinhua News Agency", None]


def test_quotation_spanning_sentences_takes_the_closing_speaker():
    texts = ["\u201cWe are eager to know the next step of the policy.",
             "We also look forward to learning more,\u201d Nuryshev told the media.",
             "\u201cAn unrelated opening quote."]
    assert voices(_doc(texts, paragraphs=[0, 0, 1])).tolist() == ["Nuryshev", "Nuryshev", None]
    assert voices(_doc(texts[:2], paragraphs=[0, 1])).tolist() == [None, "Nuryshev"]
    unclosed = ["\u201cWe are eager to know the next step.", "Trade grew.", "Trade grew again.", "Prices fell.",
                "Prices rose.", "Prices fell again.", "Ties are strong,\u201d Nuryshev said."]  # 7 sentences long
    assert voices(_doc(unclosed, paragraphs=[0] * 7)).tolist() == [None] * 6 + ["Nuryshev"]


def test_voice_frame_kinds_index_and_captions():
    df = _doc(["Nuryshev said so, the ambassador noted.", "According to Reuters, trade grew.",
               "Photo: Xi said hello", "Nothing."]).set_index(pd.Index([7, 3, 5, 1]))
    df["is_body"] = [True, True, False, True]
    out = voice_frame(df)
    assert list(out.index) == [7, 3, 5, 1]
    assert out["voice"].tolist() == ["Nuryshev", "Reuters", None, None]  # captions are not read
    assert out["voice_kind"].tolist()[1] == "organisation"


# --------------------------------------------------------------------------- the study

ISSUE_STUDY = {  # a speech-like study: the names of the issue in realistic sentences
    "a": ["Mitt Romney said that he would cut taxes for everyone.",
          "Romney argued that the deficit would fall.",
          "Mitt told the crowd that he loved this country.",
          "President Barack Obama visited the plant in Ohio.",
          "The president warned that the recovery would take time."],
    "b": ["Obama said that the auto industry was back.",
          "Barack Obama promised that he would end the war in Iraq.",
          "Congressman Paul Ryan said the plan would cut spending.",
          "Ryan claimed that Medicare would be saved."],
    "c": ["Paul Ryan told the convention that the budget was balanced.",
          "Congressman Ryan insisted that the numbers added up.",
          "Jeb Bush recently noted that the party had changed."],
}


def test_issue_names_are_one_voice_each_with_all_their_sentences():
    df = _study({**ISSUE_STUDY, "f": list(FALSE_SPEAKERS.values())})
    table = voices_table(df)
    assert list(table.columns) == COLUMNS
    rows = table.set_index("speaker")
    assert rows.loc["Mitt Romney", "n"] == 3
    assert rows.loc["Mitt Romney", "aliases"] == ["Mitt", "Mitt Romney", "Romney"]
    assert "the president" in rows.loc["Barack Obama", "aliases"]
    assert rows.loc["Mitt Romney", "sentence_ids"] == ["a-s0000", "a-s0001", "a-s0002"]
    assert rows.loc["Barack Obama", "sentence_ids"] == ["a-s0004", "b-s0000", "b-s0001", "f-s0006"]
    assert rows.loc["Paul Ryan", "n"] == 4 and rows.loc["Paul Ryan", "kind"] == "person"
    assert rows.loc["Paul Ryan", "aliases"] == ["Congressman Paul Ryan", "Congressman Ryan", "Paul Ryan", "Ryan"]
    assert rows.loc["Jeb Bush", "n"] == 1
    assert not set(table["speaker"]) & set(FALSE_SPEAKERS)
    assert set(table["speaker"]) == {"Mitt Romney", "Barack Obama", "Paul Ryan", "Jeb Bush"}
    assert all(r.example_sentence_id == r.sentence_ids[0] for r in table.itertuples())


def test_study_merge_over_partitions_equals_the_whole_and_is_order_free():
    df = _study(ISSUE_STUDY)
    whole = voices_table(df)
    parts = [voice_counts(df[df["doc_id"] == d]) for d in ("c", "a", "b")]
    pd.testing.assert_frame_equal(voices_from_counts(pd.concat(parts, ignore_index=True)), whole)


def test_merge_names_keeps_ambiguous_and_different_people_apart():
    w = {("George W. Bush", "person"): 3, ("Jeb Bush", "person"): 2, ("Bush", "person"): 4,
         ("Barack Obama", "person"): 5, ("Michelle Obama", "person"): 2, ("Obama", "person"): 2,
         ("Nuryshev", "organisation"): 1, ("Shakhrat Nuryshev", "person"): 1,
         ("the White House", "organisation"): 1, ("White House", "organisation"): 2}
    m = merge_names(w)
    assert m[("Bush", "person")] == ("Bush", "person")  # two Bushes: not guessed
    assert m[("Obama", "person")] == ("Obama", "person")  # Barack and Michelle
    assert m[("Michelle Obama", "person")] == ("Michelle Obama", "person")
    assert m[("Nuryshev", "organisation")] == ("Shakhrat Nuryshev", "person")
    assert m[("the White House", "organisation")] == ("White House", "organisation")
    assert merge_names(dict(reversed(list(w.items())))) == m
    w[("Barack Obama", "person")] = 18  # 90% of the Obamas' sentences: "Obama" is Barack Obama
    assert merge_names(w)[("Obama", "person")] == ("Barack Obama", "person")


def test_voices_table_counts_body_sentences_per_cell():
    df = _doc(["Nuryshev said the border was settled.", "Nuryshev noted the model of cooperation.",
               "According to Reuters, trade grew.", "Reuters reported that the figures were revised.",
               "Photo: Nuryshev said"])
    df["theme"] = ["border", "bri", "bri", "bri", "bri"]
    df["source"] = "gt"
    df["is_body"] = [True, True, True, True, False]
    out = voices_table(df)
    assert out[["theme", "source", "speaker", "n", "example_sentence_id"]].values.tolist() == [
        ["border", "gt", "Nuryshev", 1, "d1-s0000"],
        ["bri", "gt", "Reuters", 2, "d1-s0002"],
        ["bri", "gt", "Nuryshev", 1, "d1-s0001"],
    ]
    empty = voices_table(df.assign(text="Nothing here."))
    assert empty.empty and list(empty.columns) == COLUMNS


# --------------------------------------------------------------------------- the pinned model

def test_a_changed_model_file_is_refused_with_one_line(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(model_folder(), folder)
    check_model(folder)  # the installed files match their pins
    with open(folder / "ner" / "model", "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(InputError) as err:
        check_model(folder)
    assert "ner/model" in str(err.value) and "sha256" in str(err.value) and "\n" not in str(err.value)
    (folder / "parser" / "model").unlink()
    (folder / "ner" / "model").write_bytes(b"")
    with pytest.raises(InputError, match="missing|does not match"):
        check_model(folder)


# --------------------------------------------------------------------------- parsing over processes

def test_parsing_over_two_processes_finds_the_same_voices_as_one():
    """A big corpus's speech-cue sentences are parsed over several processes (``--workers``); the
    findings must be the ones a single process gives, text for text and in order."""
    from conftest import ROOT

    from framescope.measures.speakers import BATCH_SIZE, parse_speakers

    seed = pd.read_parquet(ROOT / "artifacts" / "seed" / "sentences.parquet")["text"].tolist()
    texts = [f"{who} {t[0].lower()}{t[1:]}" for who in ("Reuters reported that", "The ambassador said",
                                                       "Xi warned that") for t in seed] + seed
    assert len(set(texts)) > BATCH_SIZE  # two runs of spaCy's batches, one per process
    one = parse_speakers(texts, cache=False, workers=1)
    two = parse_speakers(texts, cache=False, workers=2, min_parallel=1)
    assert two == one
    assert sum(bool(p.mentions) for p in one) > len(seed)  # the prefixed sentences name a speaker


def test_work_over_processes_keeps_the_order_of_the_items():
    """``processes.in_runs`` joins the runs' results in the items' order, for any number of
    processes and runs, and does the work in this process below its threshold."""
    from framescope.processes import in_runs

    items = list(range(1000))
    for workers, run_size in ((1, 1), (2, 1), (2, 7), (3, 64)):
        assert in_runs(_squares, items, workers, min_items=1, run_size=run_size) == [i * i for i in items]
    assert in_runs(_pid_of_each, [0, 1, 2], 2, min_items=10) == [os.getpid()] * 3
    assert in_runs(_squares, [], 2, min_items=1) == []


def _squares(xs: list) -> list:
    return [x * x for x in xs]


def _pid_of_each(xs: list) -> list:
    return [os.getpid() for _ in xs]
