"""Column guesses by content and the one check of a column choice, shared by `framescope ingest`/`run`
and the app's Corpus page: same file and choice, same refusal, same one-line message."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from framescope.ingest.columns import MIN_TEXT_WORDS, checked_columns, column_guesses, column_profile
from framescope.config import IngestConfig
from framescope.ingest.corpus import load_documents
from framescope.errors import InputError

FIRST = "Anna Ben Carla Dieter Eva Frank Greta Hans Ines Jan Karl Lena Max Nina Otto Paula Rolf Sara Tom Uwe".split()
LAST = ("Schmidt Meyer Weber Fischer Wagner Becker Hoffmann Koch Richter Klein Wolf Neumann Braun Zimmer Kraus "
        "Vogel Jung Roth Lang Graf").split()
SPEAKERS = [f"{f} {la}" for f, la in zip(FIRST, LAST)]
TOPICS = ["the railways", "our schools", "the health service", "rural broadband", "the coastal defences",
          "pensions", "the steel industry", "housing for young families"]


def speeches(n: int = 24, text: bool = True) -> pd.DataFrame:
    """n speeches: 2 parties, 20 speakers (the first few speak twice), years, and real sentences."""
    rows = [{"party": ("Labour", "Conservative")[i % 2], "speaker": SPEAKERS[i % len(SPEAKERS)],
             "year": str(2010 + i % 5)} for i in range(n)]
    if text:
        for i, row in enumerate(rows):
            row["text"] = (f"We must invest in {TOPICS[i % len(TOPICS)]} before the next winter. "
                           f"The minister has promised a review of {TOPICS[(i + 3) % len(TOPICS)]}, again.")
    return pd.DataFrame(rows)


def cli(command: str, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "framescope.cli", "--quiet", command, *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


def refusal(profile: pd.DataFrame, name: str, **choice) -> str:
    with pytest.raises(InputError) as e:
        checked_columns(profile, name, IngestConfig(**choice))
    return str(e.value)


# ------------------------------------------------------------------------------------ guesses
def test_speaker_table_without_text_guesses_no_text_column_and_party_as_source():
    guesses = column_guesses(column_profile(speeches(text=False)))
    assert guesses["text"].column is None
    assert "no column averages 5 words" in guesses["text"].reason and "'speaker', averages 2" in guesses["text"].reason
    assert guesses["source"].column == "party"
    assert guesses["date"].column == "year"


def test_party_speaker_text_guesses_text_and_party():
    df = speeches()
    guesses = column_guesses(column_profile(df))
    words = df["text"].str.split().str.len().mean()
    assert guesses["text"].column == "text" and words > 15
    assert guesses["text"].reason == f"longest values, {round(words, 1):g} words on average"
    assert guesses["source"].column == "party"  # 2 parties, not one source per speaker
    assert guesses["source"].reason == "named like a source and repeats: 2 different values in 24 rows"
    assert guesses["date"].column == "year" and guesses["title"].column is None


def test_source_guess_wants_repeats_and_prefers_conventional_names():
    df = speeches(40)  # 20 speakers with 2 speeches each now repeat too: the party still has the fewest values
    assert column_guesses(column_profile(df))["source"].column == "party"
    unique = speeches(20).drop(columns="party")  # every speaker once: not a source
    guess = column_guesses(column_profile(unique))["source"]
    assert guess.column is None and "whole table is one source" in guess.reason
    sections = pd.DataFrame({"outlet": [f"Paper {i % 5}" for i in range(30)],
                             "section": [("news", "sport", "money")[i % 3] for i in range(30)],
                             "body": speeches(30)["text"]})
    assert column_guesses(column_profile(sections))["source"].column == "outlet"  # named beats fewer values
    unnamed = sections.rename(columns={"outlet": "paper"})
    assert column_guesses(column_profile(unnamed))["source"].column == "section"  # else the fewest values
    dated = pd.DataFrame({"day": ["2024-01-02", "2024-01-03"] * 10, "id": ["7", "8"] * 10,
                          "text": speeches(20)["text"]})  # repeating dates and numbers are no sources
    guesses = column_guesses(column_profile(dated))
    assert guesses["source"].column is None and guesses["date"].column == "day"


def test_tiny_table_source_is_guessed_by_name():
    tiny = speeches(2)[["text", "party"]].assign(party="Labour")
    assert column_guesses(column_profile(tiny))["source"].column == "party"
    assert column_guesses(column_profile(tiny.rename(columns={"party": "group"})))["source"].column is None


def test_text_guess_needs_words_not_just_long_values():
    urls = [f"https://example.org/news/2024/03/a-very-long-article-slug-number-{i}" for i in range(6)]
    df = pd.DataFrame({"url": urls,
                       "tweet": ["Vote today, every single voice counts!", "Polls close at ten tonight, go now.",
                                 "Queues at the town hall are short this morning.", "So proud of our volunteers today.",
                                 "Results expected after midnight, stay tuned.", "Thank you to everyone who voted."],
                       "user": ["@ann", "@ben", "@ann", "@cat", "@ben", "@cat"]})
    guesses = column_guesses(column_profile(df))
    assert guesses["text"].column == "tweet"  # short posts are text; the longer URLs are not
    assert guesses["source"].column == "user"
    checked_columns(column_profile(df), "tweets.csv", IngestConfig(text_col="tweet", source_col="user"))


# --------------------------------------------------------------------------------- the check
def test_check_refuses_names_numbers_and_same_columns_with_one_line():
    profile = column_profile(speeches(text=False))
    msg = refusal(profile, "s.csv", text_col="speaker", source_col="party")
    assert msg == (f"text column 'speaker' in s.csv averages 2 words per value; a text column needs at least "
                   f"{MIN_TEXT_WORDS} on average (sentences, not names, labels or IDs)")
    assert refusal(profile, "s.csv", text_col="year") == \
        "text column 'year' in s.csv holds numbers, not text; choose the column with the documents"
    assert refusal(profile, "s.csv") == "s.csv has no text column 'text'; its columns are: party, speaker, year"
    full = column_profile(speeches())
    assert refusal(full, "s.csv", source_col="text") == \
        "s.csv: 'text' cannot be both the text column and the source column"
    assert refusal(full, "s.csv", source_col="outlet").startswith("s.csv has no source column 'outlet'")
    assert refusal(full, "s.csv", date_col="when").startswith("s.csv has no date column 'when'")
    assert refusal(full, "s.csv", title_col="headline").startswith("s.csv has no title column 'headline'")
    assert checked_columns(full, "s.csv", IngestConfig(source_col="party", date_col="year")) == \
        {"text": "text", "source": "party", "date": "year", "title": None}
    for msg in (refusal(profile, "s.csv", text_col="speaker"), refusal(full, "s.csv", source_col="text")):
        assert "\n" not in msg


def test_check_refuses_json_numbers_and_lists(tmp_path):
    path = tmp_path / "t.jsonl"
    rows = [{"text": 3.5, "tags": ["a", "b"], "note": "Long enough words in this note here."}] * 3
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    with pytest.raises(InputError, match="^text column 'text' in t.jsonl holds numbers, not text"):
        load_documents([str(path)], IngestConfig())
    with pytest.raises(InputError, match="^text column 'tags' in t.jsonl holds values that are not strings"):
        load_documents([str(path)], IngestConfig(text_col="tags"))
    assert len(load_documents([str(path)], IngestConfig(text_col="note"))) == 1  # duplicates kept once


def test_short_posts_pass_the_bar():
    """A corpus of short posts (about 6 words each) is text; the bar only stops names, labels and IDs."""
    posts = ["Great turnout at the rally today!", "Who else is watching the debate tonight?",
             "Taxes are too high for families.", "Proud of our nurses, every single day.",
             "Fix the trains before anything else.", "We need more homes, not promises."]
    profile = column_profile(pd.DataFrame({"text": posts, "source": ["a", "b"] * 3}))
    assert profile.at["text", "mean_words"] >= MIN_TEXT_WORDS
    assert checked_columns(profile, "posts.csv", IngestConfig())["text"] == "text"


# ------------------------------------------------------------------------- the CLI, same words
@pytest.mark.parametrize("command", ["ingest", "run"])
def test_cli_refuses_the_speaker_table_with_the_checks_message(tmp_path, command):
    path = tmp_path / "speeches.csv"
    speeches(text=False).to_csv(path, index=False)
    expected = refusal(column_profile(pd.read_csv(path, dtype=str, keep_default_na=False)), "speeches.csv",
                       text_col="speaker", source_col="party", date_col="year")
    out = tmp_path / "out"
    res = cli(command, path, "--out", out, "--text-col", "speaker", "--source-col", "party", "--date-col", "year")
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().splitlines() == [f"error: {expected}"]
    assert not out.exists()
    res = cli(command, path, "--out", out, "--text-col", "speaker", "--source-col", "speaker")
    assert res.returncode == 2 and "averages 2 words per value" in res.stderr


def test_chinese_and_japanese_text_counts_characters_as_words():
    """Scripts without spaces between words are text too: a Chinese news column is not refused."""
    df = pd.DataFrame({
        "outlet": ["环球时报", "环球时报", "人民日报", "人民日报"],
        "text": ["中国是哈萨克斯坦最大的贸易伙伴。", "两国边界问题已经彻底解决。",
                 "日本語のテキストも文章です。", "气候变化是我们这个时代的决定性挑战。"],
    })
    profile = column_profile(df)
    assert profile.loc["text", "mean_words"] >= MIN_TEXT_WORDS
    assert column_guesses(profile)["text"].column == "text"
    checked_columns(profile, "news.csv", IngestConfig(text_col="text", source_col="outlet"))  # no error
