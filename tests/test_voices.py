"""Voices: speakers quoted or paraphrased, by name or role, with safe pronoun resolution."""
from __future__ import annotations

import pandas as pd
import pytest

from framescope.measures.voices import COLUMNS, voices, voices_table


def _doc(texts, doc="d1", paragraphs=None):
    paragraphs = paragraphs or list(range(len(texts)))
    return pd.DataFrame({"sentence_id": [f"{doc}-s{i:04d}" for i in range(len(texts))], "doc_id": doc,
                         "paragraph": paragraphs, "position": range(len(texts)), "text": texts})


@pytest.mark.parametrize("text, speaker", [
    ("Nuryshev said that Kazakhstan was impressed by the congress.", "Nuryshev"),
    ("Good cooperation has been established, the ambassador told the Global Times.", "the ambassador"),
    ("\u201cThis is unique,\u201d said the ambassador.", "the ambassador"),
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
    ("The diplomat, who has been in China for 19 years, said he hoped to work with counterparts.",
     "the diplomat"),
    ("The visit, which experts said underscored the ties, was brief.", "experts"),
    ("Chinese Foreign Minister Wang Yi said the talks were useful.", "Wang Yi"),
    ("Nuryshev believes that it is important to support the initiatives.", "Nuryshev"),
    ("Moreover, Nuryshev expressed hope for a quicker resolution.", "Nuryshev"),
])
def test_speaker_by_name_or_role(text, speaker):
    assert voices(_doc([text])).iloc[0] == speaker


@pytest.mark.parametrize("text", [
    "Chinese Foreign Minister Wang Yi was announced as a new Politburo member.",  # passive
    "China has pursued a foreign-policy posture known as \u201cwolf warrior\u201d diplomacy.",  # scare quotes
    "The term\u2019s absence from state media tells us that the party is not blind.",  # no speaker named
    "China is Kazakhstan\u2019s largest trading partner.",
    "It says nothing about the border.",
])
def test_no_voice(text):
    assert voices(_doc([text])).iloc[0] is None


def test_full_name_is_shortened_to_the_form_the_document_uses():
    texts = ["Kazakh Ambassador to China Shakhrat Nuryshev told the press on Friday that ties were strong.",
             "Nuryshev said that the border issue was resolved."]
    assert voices(_doc(texts)).tolist() == ["Nuryshev", "Nuryshev"]


def test_pronouns_resolve_to_the_recent_speaker_of_the_same_document_only():
    texts = ["Nuryshev noted that the border was settled.",
             "Kazakhstan and China set a model for cooperation, he added.",
             "Trade grew.", "Trade grew again.", "Trade grew once more.",
             "He said the ties were strong."]  # four sentences after the last named speaker
    assert voices(_doc(texts)).tolist() == ["Nuryshev", "Nuryshev", None, None, None, None]
    other_doc = pd.concat([_doc(["Nuryshev said the ties were strong."], "d1"),
                           _doc(["He said the weather was fine."], "d2")], ignore_index=True)
    assert voices(other_doc).tolist() == ["Nuryshev", None]


def test_organisations_and_plurals_are_not_pronoun_antecedents():
    texts = ["Nuryshev said the ties were strong.", "Trade rose 70-fold, the Xinhua News Agency reported.",
             "Experts said the visit mattered.", "He added that both sides were pleased."]
    assert voices(_doc(texts)).tolist() == ["Nuryshev", "Xinhua News Agency", "experts", "Nuryshev"]


def test_pronoun_takes_the_nearest_singular_role():
    texts = ["Nuryshev said the ties were strong.", "The ambassador said Kazakhstan talks to both sides.",
             "\u201cMutual trust is declining,\u201d he said."]
    assert voices(_doc(texts)).tolist() == ["Nuryshev", "the ambassador", "the ambassador"]


def test_quotation_spanning_sentences_takes_the_closing_speaker():
    texts = ["\u201cWe are eager to know the next step of the policy.",
             "We also look forward to learning more,\u201d Nuryshev told the media.",
             "\u201cAn unrelated opening quote."]
    out = voices(_doc(texts, paragraphs=[0, 0, 1])).tolist()
    assert out == ["Nuryshev", "Nuryshev", None]
    # a quotation never runs across paragraphs
    assert voices(_doc(texts[:2], paragraphs=[0, 1])).tolist() == [None, "Nuryshev"]


def test_index_is_preserved():
    df = _doc(["Nuryshev said so.", "Nothing."]).set_index(pd.Index([7, 3]))
    out = voices(df)
    assert list(out.index) == [7, 3] and out.loc[7] == "Nuryshev" and out.loc[3] is None


def test_voices_table_counts_per_cell():
    df = _doc(["Nuryshev said the border was settled.", "Nuryshev noted the model of cooperation.",
               "The ambassador said trade grew.", "Reuters reported the figures.", "Photo: the ambassador said"])
    df["theme"] = ["border", "bri", "bri", "bri", "bri"]
    df["source"] = "gt"
    df["is_body"] = [True, True, True, True, False]
    out = voices_table(df)
    assert list(out.columns) == COLUMNS
    assert out.values.tolist() == [
        ["border", "gt", "Nuryshev", 1, "d1-s0000"],
        ["bri", "gt", "Nuryshev", 1, "d1-s0001"],
        ["bri", "gt", "Reuters", 1, "d1-s0003"],
        ["bri", "gt", "the ambassador", 1, "d1-s0002"],
    ]
    empty = voices_table(df.assign(text="Nothing here."))
    assert empty.empty and list(empty.columns) == COLUMNS
