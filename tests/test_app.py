"""The Streamlit app: display helpers, upload checks, headline findings, theme edits, and every page
driven through Streamlit's AppTest on a copy of the real seed study (and a real small upload)."""
from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from framescope.app.display import escape_markdown, highlight, match_spans
from framescope.app.edits import add_merge, add_move, add_rename, study_edits, write_edits
from framescope.app.findings import headline_findings
from framescope.app.uploads import MAX_ZIP_MEMBERS, binary_reason, check_file, slug, store_uploads, zip_members
from framescope.ingest.columns import column_guesses
from framescope.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
COMMITTED_SEED = ROOT / "artifacts" / "seed"
PAGES = ("overview", "themes", "emphasis", "framing", "sentences", "document", "corpus", "validate", "export")


# ------------------------------------------------------------------------------ display helpers

def test_escaped_markdown_has_no_live_markup():
    text = "*bold* _it_ `code` [link](javascript:x) <script>alert(1)</script> :red[x] $x$ # h"
    out = escape_markdown(text)
    for token in ("*bold*", "`code`", "[link]", "<script>", ":red[", "$x$"):
        assert token not in out
    # Every special character is escaped, so removing the backslashes gives the text back.
    assert out.replace("\\", "") == text


def test_highlight_wraps_each_match_and_escapes_the_rest():
    text = "Border disputes: the BORDER issue [resolved] *for good*"
    spans = match_spans(text, "border")
    assert spans == [(0, 6), (21, 27)]
    md = highlight(text, spans)
    assert md.count(":orange-background[**") == 2
    assert ":orange-background[**Border**]" in md and ":orange-background[**BORDER**]" in md
    assert "\\[resolved\\]" in md and "\\*for good\\*" in md
    assert match_spans(text, "coerc(", regex=True) == []  # a bad pattern matches nothing
    assert match_spans(text, r"dispute\w*", regex=True) == [(7, 15)]


# ------------------------------------------------------------------------------------ uploads

def test_check_file_refuses_bad_uploads_with_a_reason():
    with pytest.raises(InputError, match="empty"):
        check_file("a.csv", b"   \n")
    with pytest.raises(InputError, match=r"\.exe files are not accepted"):
        check_file("a.exe", b"hello")
    with pytest.raises(InputError, match="image"):
        check_file("photo.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    with pytest.raises(InputError, match="PDF"):
        check_file("paper.csv", b"%PDF-1.7 ...")
    with pytest.raises(InputError, match="NUL"):
        check_file("data.txt", b"text\x00\x01\x02 more")
    with pytest.raises(InputError, match="limit is 1 MB"):
        check_file("big.txt", b"a" * (1024 * 1024 + 1), max_mb=1)
    with pytest.raises(InputError, match="not a ZIP"):
        check_file("x.zip", b"just text")
    assert check_file("Notes.TXT", "Grüße aus Köln.".encode()) == "txt"
    assert binary_reason("ordinary text, ü".encode()) is None


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_members_are_checked():
    ok = _zip({"a/one.txt": b"First text.", "two.md": b"Second text.", "__MACOSX/._one.txt": b"\x00\x01",
               ".hidden.txt": b"x"})
    assert [n for n, _ in zip_members(ok)] == ["one.txt", "two.md"]
    with pytest.raises(InputError, match="unsafe path"):
        zip_members(_zip({"../evil.txt": b"x"}))
    with pytest.raises(InputError, match="not a .txt or .md"):
        zip_members(_zip({"a.txt": b"x", "b.exe": b"MZ"}))
    with pytest.raises(InputError, match="holds .* files; the limit"):
        zip_members(_zip({f"{i}.txt": b"x" for i in range(MAX_ZIP_MEMBERS + 1)}))
    with pytest.raises(InputError, match="inflates suspiciously"):
        zip_members(_zip({"bomb.txt": b"a" * 5_000_000}))
    with pytest.raises(InputError, match="no .txt or .md"):
        zip_members(_zip({"__MACOSX/x.txt": b"x"}))
    with pytest.raises(InputError, match="binary|NUL"):
        zip_members(_zip({"x.txt": b"abc\x00def"}, zipfile.ZIP_STORED))


def test_store_uploads_never_uses_names_as_paths(tmp_path):
    up = store_uploads([("../../etc/Global Times.txt", b"One. Two."), ("C:\\x\\bbc.txt", b"Three. Four.")],
                       tmp_path)
    assert up.kind == "text" and len(up.inputs) == 1
    folder = up.inputs[0]
    assert folder.parent == tmp_path
    assert sorted(p.name for p in folder.iterdir()) == ["Global_Times.txt", "bbc.txt"]
    assert not (tmp_path.parent / "etc").exists()
    assert slug("../../") == "text" and slug("a/b/../c d.txt") == "c_d"

    rows = b"".join(b"%d,Some text about the harbour and the sea.,A,2024-01-0%d\n" % (i, i) for i in range(1, 4))
    table = store_uploads([("news.csv", b"id,body,outlet,published\n" + rows)], tmp_path)
    assert table.kind == "table" and table.inputs[0].name == "news.csv"
    assert table.columns == ["id", "body", "outlet", "published"]
    guesses = column_guesses(table.profile)
    assert [guesses[r].column for r in ("text", "source", "date", "title")] == ["body", "outlet", "published", None]
    with pytest.raises(InputError, match="not both"):
        store_uploads([("a.csv", b"text\nx\n"), ("b.txt", b"y")], tmp_path)
    with pytest.raises(InputError, match="could not be read as CSV"):
        store_uploads([("bad.csv", b'text,source\n"unclosed,quote\nx,y,z,w\n')], tmp_path)


# ------------------------------------------------------------------------------------ findings

def _tables(emphasis_rows, tone_rows=()):
    em = pd.DataFrame(emphasis_rows, columns=["source", "theme", "n_sentences", "share", "ci_low", "ci_high",
                                              "small_cell"])
    em = em.assign(chi2=41.2, dof=2.0, p_value=0.0004, test="chi-square test of independence")
    tone = pd.DataFrame(list(tone_rows), columns=["theme", "source", "n_sentences", "mean", "ci_low", "ci_high",
                                                  "small_cell"])
    themes = pd.DataFrame({"theme": ["climate", "bri"], "label": ["Climate change", "Belt and Road"]})
    docs = pd.DataFrame({"source": ["uk", "gt", "fp"], "outlet": ["UK Embassy", "Global Times", "Foreign Policy"]})
    return {"emphasis": em, "tone": tone, "themes": themes, "documents": docs}


def test_headline_findings_state_the_tables_in_words():
    tables = _tables(
        [("uk", "climate", 8, 0.8, 0.55, 0.93, False), ("gt", "climate", 0, 0.0, 0.0, 0.1, False),
         ("fp", "climate", 0, 0.0, 0.0, 0.05, False), ("uk", "bri", 0, 0.0, 0.0, 0.2, False),
         ("gt", "bri", 12, 0.4, 0.3, 0.5, False), ("fp", "bri", 9, 0.2, 0.12, 0.3, False)],
        [("bri", "gt", 12, 0.45, 0.30, 0.60, False), ("bri", "fp", 9, -0.20, -0.35, -0.05, False)])
    out = headline_findings(tables)
    assert 3 <= len(out) <= 4
    assert out[0] == ("Climate change: 80% of the body sentences of UK Embassy (95% CI 55%–93%); "
                      "no other source has a sentence on it.")
    tone = next(f for f in out if f.startswith("Tone on Belt and Road"))
    assert "Global Times +0.45" in tone and "Foreign Policy -0.20" in tone and "do not overlap" in tone
    test = next(f for f in out if f.startswith("The sources give the themes different shares"))
    assert "χ²(2) = 41.2, p < 0.001 (chi-square test of independence)" in test
    assert headline_findings({}) == []


def test_headline_findings_flag_overlapping_tone_and_one_source():
    tables = _tables([("uk", "climate", 5, 1.0, 0.6, 1.0, False)],
                     [("climate", "uk", 5, 0.1, -0.2, 0.4, False)])
    out = headline_findings(tables)
    assert out == ["Climate change: 100% of the body sentences of UK Embassy (95% CI 60%–100%)."]


def test_headline_tone_prefers_solid_cells_and_names_small_ones():
    rows = [("gt", "bri", 12, 0.4, 0.3, 0.5, False), ("fp", "bri", 9, 0.2, 0.1, 0.3, False)]
    tone = [("bri", "gt", 3, 0.60, -0.2, 1.0, True), ("bri", "fp", 9, -0.30, -0.5, -0.1, False)]
    out = headline_findings(_tables(rows, tone))
    small = next(f for f in out if f.startswith("Tone on Belt and Road"))
    assert small.endswith("overlap, so the difference is uncertain (Global Times has only 3 sentences on it).")
    tone += [("climate", "gt", 20, 0.10, 0.0, 0.2, False), ("climate", "fp", 30, 0.05, -0.05, 0.15, False)]
    out = headline_findings(_tables(rows, tone))
    assert any(f.startswith("Tone on Climate change: Global Times +0.10") for f in out)  # both cells solid


# ------------------------------------------------------------------------------- theme edits

def test_edits_are_validated_and_written_to_the_codebook_copy(tmp_path):
    theme = {"key": "climate", "label": "Climate", "description": "", "seed_phrases": ["heat"]}
    (tmp_path / "manifest.json").write_text(json.dumps({"codebook": {"version": 1, "themes": [theme]}}))
    themes = ["climate", "topic_1", "topic_2", "unassigned"]
    edits = add_rename(study_edits(tmp_path), "climate", "  Climate   and water ", themes)
    edits = add_merge(edits, "topic_2", "topic_1", themes)
    edits = add_move(edits, "topic_1", "climate", ["topic_1", "topic_2"], ["climate"])
    with pytest.raises(InputError, match="two different"):
        add_merge(edits, "climate", "climate", themes)
    with pytest.raises(InputError, match="unassigned"):
        add_merge(edits, "unassigned", "climate", themes)
    with pytest.raises(InputError, match="empty"):
        add_rename(edits, "climate", "   ", themes)
    with pytest.raises(InputError, match="no theme"):
        add_rename(edits, "nope", "X", themes)
    with pytest.raises(InputError, match="not a named theme"):
        add_move(edits, "topic_1", "topic_2", ["topic_1", "topic_2"], ["climate"])
    write_edits(tmp_path, edits)
    saved = yaml.safe_load((tmp_path / "codebook.yaml").read_text())
    assert saved["themes"] == [theme]
    assert saved["edits"] == {"rename": {"climate": "Climate and water"},
                              "merge": [{"from": "topic_2", "into": "topic_1"}],
                              "move": [{"from": "topic_1", "into": "climate"}]}
    assert study_edits(tmp_path) == {"rename": {}, "merge": [], "move": []}  # the manifest's, until re-applied
    from framescope.themes.codebook import load_codebook
    assert load_codebook(tmp_path / "codebook.yaml").edits.rename == {"climate": "Climate and water"}
    with pytest.raises(InputError, match="not a theme"):  # the CLI's own validation guards the file
        write_edits(tmp_path, {"move": [{"from": "topic_1", "into": "nowhere"}]})
    assert yaml.safe_load((tmp_path / "codebook.yaml").read_text()) == saved


# ------------------------------------------------------------------------ AppTest, real study

SMALL_CORPUS = {
    "Harbor Courier": [
        "The city council approved a new seawall to protect the harbor from rising seas. Engineers said "
        "the wall will be finished before the winter storms. Residents welcomed the plan at a public meeting.",
        "Fishing crews reported record catches this spring. The cooperative said prices at the dock rose "
        "sharply. Young crews are joining the fleet again.",
        "Flooding on the waterfront damaged three warehouses last week. The mayor promised emergency funds "
        "for the owners. Insurance claims are expected to climb.",
    ],
    "Valley Ledger": [
        "Farmers in the valley face a second dry summer. The irrigation board cut water allocations by a "
        "third. Growers warned that orchards could be lost.",
        "A new rail line will link the valley to the port by 2027. Officials said freight costs would fall. "
        "Critics argued the route cuts through protected wetlands.",
        "Wildfire smoke closed schools across the valley on Tuesday. Doctors urged residents to stay indoors. "
        "Air quality is expected to improve by the weekend.",
    ],
}


def small_corpus_csv() -> bytes:
    rows = [{"outlet": src, "published": f"2024-0{i + 1}-15", "headline": f"{src} story {i + 1}", "body": text}
            for src, texts in SMALL_CORPUS.items() for i, text in enumerate(texts)]
    return pd.DataFrame(rows).to_csv(index=False).encode("utf-8")


@pytest.fixture(scope="module")
def seed_source(request) -> Path:
    """The committed seed study (what `streamlit run app.py` opens), else one run for this session."""
    if (COMMITTED_SEED / "manifest.json").is_file():
        return COMMITTED_SEED
    return request.getfixturevalue("seed_study")


@pytest.fixture
def study(seed_source, tmp_path, monkeypatch) -> Path:
    """A private copy of the seed study; the app opens it (tests never touch the committed one)."""
    dest = tmp_path / "seed-copy"
    shutil.copytree(seed_source, dest, ignore=shutil.ignore_patterns(".*"))
    monkeypatch.setenv("FRAMESCOPE_STUDY", str(dest))
    _private_session_folders(tmp_path, monkeypatch)
    return dest


def _private_session_folders(tmp_path: Path, monkeypatch) -> None:
    """The app's per-session scratch folders go under the test's tmp_path, not the system /tmp."""
    import tempfile

    (tmp_path / "sessions").mkdir(exist_ok=True)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "sessions"))


def app_test(timeout: float = 60):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(APP), default_timeout=timeout)


def open_page(at, page: str):
    at.switch_page(f"src/framescope/app/views/{page}.py").run()
    assert not at.exception, f"{page}: {[e.value for e in at.exception]}"
    return at


def texts(at) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)


def test_every_page_renders_on_the_seed_study(study):
    at = app_test().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Overview"
    findings = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert findings and "Climate change" in findings[0]
    for page in PAGES:
        open_page(at, page)
        assert at.title, page
    open_page(at, "emphasis")
    assert len(at.get("plotly_chart")) >= 3  # heatmap, bars with CIs, residuals
    open_page(at, "framing")
    assert len(at.get("plotly_chart")) >= 2  # terms, tone (and frames)


def test_readers_share_one_copy_of_the_tables_and_of_what_pages_compute(study):
    """Ten readers of one study should cost about what one does: the tables are read once per
    server process, and the figures a page builds (the sentence map, the emphasis charts) are
    built once per study version and source selection, then reused by every session."""
    from framescope.app.study import _memo, _tables, study_stamp

    first = open_page(open_page(app_test().run(), "themes"), "emphasis")
    stamp = study_stamp(study)
    memo = _memo(str(study), stamp)
    built = len(memo)
    assert built >= 5  # the map, four emphasis charts, ...
    second = open_page(open_page(app_test().run(), "themes"), "emphasis")
    assert len(memo) == built  # the second reader's pages built nothing new
    assert _tables(str(study), stamp) is _tables(str(study), stamp)  # one copy, not one per session
    assert [c.proto.spec for c in first.get("plotly_chart")] == [c.proto.spec for c in second.get("plotly_chart")]
    second.multiselect(key=f"fs_sources::{study}").set_value(["global_times", "foreign_policy"]).run()
    assert not second.exception and len(memo) > built  # another selection: its own figures


def test_the_map_draws_a_fixed_sample_until_every_sentence_is_asked_for(study, monkeypatch):
    """Above FRAMESCOPE_MAP_POINTS sentences (2,500 by default) the map draws a fixed random sample,
    the same for every reader, and says so; "Every sentence" draws them all."""
    import json

    monkeypatch.setenv("FRAMESCOPE_MAP_POINTS", "40")
    body = int(pd.read_parquet(study / "sentences.parquet")["is_body"].sum())

    def points(at) -> list:
        spec = json.loads(next(c for c in at.get("plotly_chart") if "scattergl" in c.proto.spec).proto.spec)
        return sorted(t for tr in spec["data"] for t in tr.get("hovertext") or [])  # the legend traces have none

    first = open_page(app_test().run(), "themes")
    sampled = points(first)
    assert len(sampled) == 40 < body
    assert any(f"fixed random sample of 40 of the {body} sentences" in c.value for c in first.caption)
    assert points(open_page(app_test().run(), "themes")) == sampled  # another reader: the same sample
    first.toggle(key="map_every").set_value(True).run()
    assert not first.exception
    assert len(points(first)) == body and not any("fixed random sample" in c.value for c in first.caption)


def test_sidebar_source_filter_drives_the_tables(study):
    at = app_test().run()
    sources = at.multiselect(key=f"fs_sources::{study}")
    assert sorted(sources.value) == ["foreign_policy", "global_times", "uk_embassy"]
    open_page(at, "sentences")
    assert set(at.dataframe[0].value["source"]) == {"Foreign Policy", "Global Times",
                                                    "British Embassy (GOV.UK world news)"}
    at.multiselect(key=f"fs_sources::{study}").set_value(["global_times"]).run()
    assert not at.exception
    shown = at.dataframe[0].value
    n_gt = (pd.read_parquet(study / "sentences.parquet")["source"] == "global_times").sum()
    assert set(shown["source"]) == {"Global Times"} and len(shown) == n_gt
    open_page(at, "emphasis")
    assert set(at.dataframe[-1].value["source"]) == {"Global Times"}  # the table under the charts


def test_sentence_search_highlights_matches(study):
    at = open_page(app_test().run(), "sentences")
    at.text_input(key="sent_query").input("border").run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert len(shown) > 0 and shown["text"].str.contains("border", case=False).all()
    highlighted = [m.value for m in at.markdown if ":orange-background[**" in m.value]
    assert highlighted and all("border" in h.lower() for h in highlighted)
    at.multiselect(key="sent_themes").set_value(["climate"]).run()
    assert at.dataframe[0].value["theme"].eq("Climate change").all()


def test_a_theme_filter_also_finds_the_sentences_that_mention_it(study):
    """Filtering on a theme shows its own sentences and those that also mention it, marked so."""
    sentences = pd.read_parquet(study / "sentences.parquet")
    mentioned = [t for a in sentences["also_themes"] if a is not None for t in a]
    assert mentioned  # the seed has a few sentences that also mention a second named theme
    theme = sorted(mentioned)[0]
    mentions = sentences[sentences["also_themes"].map(lambda a: a is not None and theme in list(a))]
    at = open_page(app_test().run(), "sentences")
    at.multiselect(key="sent_themes").set_value([theme]).run()
    assert not at.exception
    shown = at.dataframe[0].value.set_index("sentence_id")
    own = sentences.loc[sentences["theme"] == theme, "sentence_id"]
    assert set(shown.index) == set(own) | set(mentions["sentence_id"])
    label = shown.loc[own.iloc[0], "theme"]
    for sid in mentions["sentence_id"]:
        assert shown.at[sid, "theme"] != label and label in shown.at[sid, "also"]


def test_framing_follows_the_chosen_theme(study):
    emphasis = pd.read_parquet(study / "emphasis.parquet")
    n = emphasis.set_index(["theme", "source"])["n_sentences"]
    shared = sorted(t for t, k in emphasis[emphasis["n_sentences"] > 0].groupby("theme")["source"].nunique().items()
                    if k >= 2 and t != "unassigned")
    at = open_page(app_test().run(), "framing")
    box = at.selectbox(key="framing_theme")
    assert box.value in shared  # opens on a theme with something to compare
    other = next(t for t in shared if t != box.value)
    before = texts(at)
    at.selectbox(key="framing_theme").set_value(other).run()
    assert not at.exception
    assert texts(at) != before
    counts = next(m.value for m in at.markdown if "sentence" in m.value and "·" in m.value)
    for src, name in (("foreign_policy", "Foreign Policy"), ("global_times", "Global Times")):
        if n[other, src] > 1:
            assert f"**{name}**: {n[other, src]} sentences" in counts
    ex = pd.read_parquet(study / "exemplars.parquet")
    first = ex[(ex["theme"] == other) & (ex["rank"] == 1)]["sentence_id"]
    assert len(first) and all(any(sid in m.value for m in at.markdown) for sid in first)  # its exemplars
    present = emphasis[emphasis["n_sentences"] > 0].groupby("theme")["source"].nunique()
    lonely = sorted(t for t in present[present == 1].index if t != "unassigned")
    assert lonely and len(box.options) >= len(lonely)
    at.selectbox(key="framing_theme").set_value(lonely[0]).run()
    assert not at.exception
    assert any("only" in i.value.lower() for i in at.info)  # a note, not a fake comparison
    at.selectbox(key="framing_theme").set_value(other).run()
    assert not any("only" in i.value.lower() for i in at.info)


def test_framing_shows_frame_intervals_and_how_far_the_frames_were_validated(study):
    """The frame profile has error bars (the 95% intervals of frames.parquet) and, next to it,
    the held-out agreement with two blind readers; a study whose frames file differs from the
    validated one says that no figure applies instead of showing someone else's."""
    import json

    at = open_page(app_test().run(), "framing")
    bars = [c for c in at.get("plotly_chart")
            if any(tr.get("error_x") and tr.get("orientation") == "h" and tr.get("type") == "bar"
                   for tr in json.loads(c.proto.spec)["data"])]
    assert bars, "no frame chart with error bars"
    caption = " ".join(c.value for c in at.caption)
    assert "How far to trust the frames" in caption and "held out" in caption and "κ" in caption
    manifest = json.loads((study / "manifest.json").read_text(encoding="utf-8"))
    manifest["frames_sha256"] = "0" * 64
    (study / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    at = open_page(app_test().run(), "framing")
    assert not at.exception
    caption = " ".join(c.value for c in at.caption)
    assert "not the one framescope validated" in caption and "held out" not in caption


def test_framing_voices_are_merged_and_open_their_sentences_escaped(study):
    """The voices table of a theme shows merged speakers with their counts and the words they were
    written as; picking a voice lists every one of its sentences (escaped), each linked to its document."""
    voices = pd.read_parquet(study / "voices.parquet")
    row = voices.sort_values(["n", "speaker"], ascending=[False, True]).iloc[0]
    assert row["speaker"] == "Shakhrat Nuryshev" and row["n"] >= 3
    sentences = pd.read_parquet(study / "sentences.parquet")
    hostile = "<script>alert(1)</script> :red[boom] **bold**"
    sid = row["sentence_ids"][-1]
    sentences.loc[sentences["sentence_id"] == sid, "text"] += " " + hostile
    sentences.to_parquet(study / "sentences.parquet", index=False)
    at = open_page(app_test().run(), "framing")
    at.selectbox(key="framing_theme").set_value(row["theme"]).run()
    assert not at.exception
    shown = next(d.value for d in at.dataframe if "speaker" in d.value.columns)
    top = shown[shown["speaker"] == row["speaker"]].iloc[0]
    assert top["n"] == row["n"] and top["kind"] == "person"
    assert set(a for a in row["aliases"] if a != row["speaker"]) == set(top["also"].split(", "))
    box = at.selectbox(key=f"framing_voice::{row['theme']}")
    assert box.value.endswith(row["speaker"])  # the most quoted voice first
    quotes = [m.value for m in at.markdown if "Nuryshev" in m.value or "\\<script" in m.value]
    ids = [c.value for c in at.caption if any(i in c.value for i in row["sentence_ids"])]
    assert len(ids) == row["n"]
    assert any("\\<script\\>" in q and "\\:red\\[boom\\]" in q for q in quotes)
    assert not any("<script>" in m.value or ":red[boom]" in m.value for m in at.markdown)
    links = [p for p in at.get("page_link") if "document" in str(p.proto.page)]
    assert len(links) >= row["n"]


def test_upload_through_file_uploader_runs_a_small_corpus(study):
    at = open_page(app_test(timeout=600).run(), "corpus")
    first_study = at.session_state["fs_study_choice"]
    at.file_uploader(key="corpus_files").set_value(("two papers.csv", small_corpus_csv(), "text/csv")).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="col_text").value == "body"  # guessed from the column names
    assert at.selectbox(key="col_source").value == "outlet"
    assert at.selectbox(key="col_date").value == "published"
    at.selectbox(key="col_title").set_value("headline")
    at.radio(key="corpus_codebook").set_value("None: discover themes only")
    at.button(key="run_study").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("is ready and open" in s.value for s in at.success)
    new = at.session_state["fs_study_choice"]
    assert new != first_study and new == "two papers.csv"
    folder = Path(at.session_state["_fs_studies"][new])
    assert (folder / "manifest.json").is_file() and folder != study
    docs = pd.read_parquet(folder / "documents.parquet")
    assert sorted(docs["source"].unique()) == ["Harbor Courier", "Valley Ledger"]
    assert docs["title"].tolist()[0] == "Harbor Courier story 1"
    open_page(at, "overview")  # the new study is the open one ...
    assert "Harbor Courier" in at.dataframe[0].value["name"].tolist()
    open_page(at, "emphasis")
    assert len(at.get("plotly_chart")) >= 2
    at.selectbox(key="fs_study_choice").set_value(first_study).run()  # ... and the first is still there
    open_page(at, "overview")
    assert "Global Times" in at.dataframe[0].value["name"].tolist()


def test_a_run_with_a_french_document_says_so_on_the_corpus_page(study):
    """A document in another language is measured with English-only models only with a warning
    that names it (``ingest.language``), on the page that ran it and in the study's notes."""
    import importlib

    french = " ".join(importlib.import_module("spacy.lang.fr.examples").sentences)
    table = pd.read_csv(io.BytesIO(small_corpus_csv()))
    table = pd.concat([table, pd.DataFrame([{"outlet": "Le Monde", "published": "2024-05-15",
                                             "headline": "Le Monde story", "body": french}])], ignore_index=True)
    at = open_page(app_test(timeout=600).run(), "corpus")
    at.file_uploader(key="corpus_files").set_value(
        ("mixed.csv", table.to_csv(index=False).encode("utf-8"), "text/csv")).run()
    at.radio(key="corpus_codebook").set_value("None: discover themes only")
    at.button(key="run_study").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("is ready and open" in s.value for s in at.success)
    warned = [w.value for w in at.warning if "do not look like English" in w.value]
    assert len(warned) == 1 and "Le Monde" in warned[0] and "leave them out" in warned[0]
    open_page(at, "overview")
    assert any("do not look like English" in m.value for m in at.markdown)


@pytest.mark.parametrize("name, data, message", [
    ("empty.csv", b"", "is empty"),
    ("scan.txt", b"%PDF-1.4 binary", "PDF"),
    ("noise.txt", bytes(range(256)) * 8, "NUL"),
    ("renamed.csv", b"PK\x03\x04 an xlsx saved as .csv", "ZIP container"),
])
def test_bad_uploads_show_a_message_and_keep_the_study(study, name, data, message):
    at = open_page(app_test().run(), "corpus")
    before = at.session_state["fs_study_choice"]
    at.file_uploader(key="corpus_files").set_value((name, data, "application/octet-stream")).run()
    assert not at.exception
    assert any(message in e.value and "unchanged" in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key="run_study").disabled
    assert at.session_state["fs_study_choice"] == before


def test_a_one_sentence_corpus_is_refused_and_the_study_kept(study):
    at = open_page(app_test(timeout=300).run(), "corpus")
    before = dict(at.session_state["_fs_studies"])
    at.file_uploader(key="corpus_files").set_value(("one.txt", b"Just one sentence here.", "text/plain")).run()
    assert not at.error
    at.button(key="run_study").click().run()
    assert not at.exception
    assert any("could not be analysed" in e.value and "unchanged" in e.value for e in at.error)
    assert at.session_state["_fs_studies"] == before
    at.file_uploader(key="corpus_files").set_value(
        ("cols.csv", b"id,score\n1,2\n3,4\n", "text/csv")).run()  # no text in any column
    assert not at.exception
    assert any("no column holds strings" in e.value and "unchanged" in e.value for e in at.error)
    assert at.button(key="run_study").disabled
    assert at.session_state["_fs_studies"] == before


def test_corpus_page_refuses_a_table_without_text_as_the_cli_does(study, tmp_path):
    """`party, speaker, year`: no text column guessed, an error, Run off; choosing `speaker` as text gives
    the very message `framescope ingest` prints for the same file and choice."""
    import subprocess
    import sys

    from test_columns import speeches

    data = speeches(text=False).to_csv(index=False).encode("utf-8")
    at = open_page(app_test().run(), "corpus")
    at.file_uploader(key="corpus_files").set_value(("speeches.csv", data, "text/csv")).run()
    assert not at.exception
    assert at.selectbox(key="col_text").value is None
    assert at.selectbox(key="col_source").value == "party" and at.selectbox(key="col_date").value == "year"
    assert any("no column averages 5 words" in e.value and "unchanged" in e.value for e in at.error)
    assert at.button(key="run_study").disabled
    at.selectbox(key="col_text").set_value("speaker").run()
    (tmp_path / "speeches.csv").write_bytes(data)
    res = subprocess.run([sys.executable, "-m", "framescope.cli", "ingest", str(tmp_path / "speeches.csv"), "--out",
                          str(tmp_path / "out"), "--text-col", "speaker", "--source-col", "party", "--date-col",
                          "year"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and res.stderr.startswith("error: text column 'speaker'"), res.stderr
    message = res.stderr.strip().removeprefix("error: ")
    assert [e.value for e in at.error] == [f"{escape_markdown(message)}. The open study is unchanged."]
    assert at.button(key="run_study").disabled
    at.selectbox(key="col_source").set_value("(none)").run()  # no source column: the file is one source
    assert [e.value for e in at.error] == [f"{escape_markdown(message)}. The open study is unchanged."]


def test_corpus_page_preselects_the_text_and_party_columns(study):
    from test_columns import speeches

    df = speeches()
    at = open_page(app_test().run(), "corpus")
    at.file_uploader(key="corpus_files").set_value(("speeches.csv", df.to_csv(index=False).encode(), "text/csv")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="col_text").value == "text"
    assert at.selectbox(key="col_source").value == "party"  # 2 parties, not 20 speakers
    assert not at.button(key="run_study").disabled
    shown = texts(at).replace("\\", "")
    assert "Text:** text — longest values" in shown and "Source:** party — named like a source" in shown
    at.selectbox(key="col_source").set_value("text").run()  # text and source the same: refused, Run off
    assert [e.value.replace("\\", "") for e in at.error] == [
        "speeches.csv: 'text' cannot be both the text column and the source column. The open study is unchanged."]
    assert at.button(key="run_study").disabled


def test_theme_rename_persists_in_the_study(study):
    at = open_page(app_test(timeout=600).run(), "themes")
    at.selectbox(key="rename_theme").set_value("climate")
    at.text_input(key="rename_label").input("Climate and water")
    next(b for b in at.button if b.label == "Rename").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Renamed" in s.value for s in at.success)
    saved = yaml.safe_load((study / "codebook.yaml").read_text(encoding="utf-8"))
    assert saved["edits"]["rename"] == {"climate": "Climate and water"}
    themes = pd.read_parquet(study / "themes.parquet").set_index("theme")
    assert themes.at["climate", "label"] == "Climate and water"
    manifest = yaml.safe_load((study / "manifest.json").read_text(encoding="utf-8"))
    assert Path(manifest["config"]["themes"]["codebook"]) == (study / "codebook.yaml").resolve()
    fresh = open_page(app_test().run(), "themes")  # a new session reads the edited study
    assert "Climate and water" in fresh.dataframe[0].value["label"].tolist()
    assert "Climate change" not in fresh.dataframe[0].value["label"].tolist()


def test_export_builds_the_report_and_offers_every_table(study):
    (study / "report.html").unlink(missing_ok=True)
    at = open_page(app_test(timeout=300).run(), "export")
    labels = [b.label for b in at.get("download_button")]
    assert labels.count("CSV") == labels.count("Parquet") >= 11 and "Whole study (ZIP)" in labels
    assert "Report (HTML)" not in labels  # nothing to download until the report is built
    at.button(key="build_report").click().run()
    assert not at.exception and not at.error
    labels = [b.label for b in at.get("download_button")]
    assert "Report (HTML)" in labels and "Report (Markdown)" in labels
    html = (study / "report.html").read_text(encoding="utf-8")
    assert "<script src=" not in html.lower() and "Climate change" in html


def test_opening_the_app_loads_no_model(study):
    """Every page of the seed opens from the tables alone: no embedding or topic model is imported."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(APP)!r}, default_timeout=60).run()\n"
        f"for p in {list(PAGES)!r}:\n"
        "    at.switch_page(f'src/framescope/app/views/{p}.py').run()\n"
        "    assert not at.exception, p\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'bertopic', 'umap', 'hdbscan', 'wordllama')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.skipif(not (COMMITTED_SEED / "manifest.json").is_file(), reason="no committed seed study")
def test_the_committed_seed_study_is_never_written(monkeypatch, tmp_path):
    """Opened by default, the committed seed is read: the report and edits go to a session copy."""
    monkeypatch.delenv("FRAMESCOPE_STUDY", raising=False)
    _private_session_folders(tmp_path, monkeypatch)
    before = _snapshot(COMMITTED_SEED)
    at = open_page(app_test(timeout=600).run(), "export")
    assert at.session_state["fs_study_choice"] == "Seed study"
    # The committed report was built from the committed run, so a fresh clone offers it at once
    # (whatever order git gave the files' times), with no build button.
    assert "Report (HTML)" in [b.label for b in at.get("download_button")]
    assert not [b for b in at.button if b.key == "build_report"]
    open_page(at, "themes")
    assert any("read-only" in i.value for i in at.info)
    at.selectbox(key="rename_theme").set_value("climate")
    at.text_input(key="rename_label").input("Climate (renamed)")
    next(b for b in at.button if b.label == "Rename").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["fs_study_choice"] == "Seed study (edited copy)"
    copy = Path(at.session_state["_fs_studies"]["Seed study (edited copy)"])
    assert pd.read_parquet(copy / "themes.parquet").set_index("theme").at["climate", "label"] == "Climate (renamed)"
    assert "Climate (renamed)" in at.dataframe[0].value["label"].tolist()
    assert copy.is_relative_to(tmp_path / "sessions")
    assert _snapshot(COMMITTED_SEED) == before


@pytest.mark.skipif(not (COMMITTED_SEED / "manifest.json").is_file(), reason="no committed seed study")
def test_labelling_the_committed_seed_goes_to_a_session_copy(monkeypatch, tmp_path):
    """The Validate page never writes labels into the committed seed: it offers a session copy, and
    a label clicked there is in the copy's labels.parquet at once, with the labeller's name."""
    monkeypatch.delenv("FRAMESCOPE_STUDY", raising=False)
    _private_session_folders(tmp_path, monkeypatch)
    before = _snapshot(COMMITTED_SEED)
    at = open_page(app_test(timeout=300).run(), "validate")
    assert any("read-only" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "fs_label::none"]
    next(b for b in at.button if b.key == "fs_label_copy").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["fs_study_choice"] == "Seed study (edited copy)"
    at.text_input(key="fs_labeller").input("Ada").run()
    shown = next(m.value for m in at.markdown if m.value.startswith("#### "))
    next(b for b in at.button if b.key == "fs_label::climate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    copy = Path(at.session_state["_fs_studies"]["Seed study (edited copy)"])
    stored = pd.read_parquet(copy / "labels.parquet")
    assert stored[["label", "labeller"]].values.tolist() == [["climate", "Ada"]]
    assert next(m.value for m in at.markdown if m.value.startswith("#### ")) != shown  # the next sentence
    assert at.metric[0].value == "1"  # the agreement is computed at once
    assert (copy / "emphasis_corrected.parquet").is_file()
    assert _snapshot(COMMITTED_SEED) == before
