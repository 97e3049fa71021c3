"""The app in a real browser: `streamlit run app.py` on loopback, driven by Playwright in Debian's
Chromium. Every page renders without an exception, charts draw, a CSV upload runs a study, the Corpus
page preselects the guessed columns and refuses a table without a text column.
Screenshots land in tests/output/screenshots/ (look at them)."""
from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_server import CHROMIUM, CHROMIUM_ARGS, READY, start  # noqa: E402

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "tests" / "output" / "screenshots"
COMMITTED_SEED = ROOT / "artifacts" / "seed"
PAGES = {"overview": "", "themes": "themes", "emphasis": "emphasis", "framing": "framing",
         "sentences": "sentences", "corpus": "corpus", "validate": "validate", "export": "export"}
CORPUS_CSV = (
    "outlet,published,headline,body\n"
    'Harbor Courier,2024-01-15,Seawall,"The city council approved a new seawall to protect the harbor from rising '
    'seas. Engineers said the wall will be finished before the winter storms. Residents welcomed the plan."\n'
    'Harbor Courier,2024-02-15,Fishing,"Fishing crews reported record catches this spring. The cooperative said '
    'prices at the dock rose sharply. Young crews are joining the fleet again."\n'
    'Valley Ledger,2024-01-20,Drought,"Farmers in the valley face a second dry summer. The irrigation board cut '
    'water allocations by a third. Growers warned that orchards could be lost."\n'
    'Valley Ledger,2024-02-20,Rail,"A new rail line will link the valley to the port by 2027. Officials said '
    'freight costs would fall. Critics argued the route cuts through protected wetlands."\n'
    '"Gazette <img src=x onerror=alert(3)>",2024-03-01,"<b>Hostile</b>","Markets fell <script>alert(1)</script> '
    'sharply on Monday. Traders blamed <img src=x onerror=alert(2)> the rate decision. Bonds rallied :red[late]."\n'
)


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    """A real streamlit server on a copy of the seed study; stopped by PID at the end."""
    source = COMMITTED_SEED if (COMMITTED_SEED / "manifest.json").is_file() else request.getfixturevalue("seed_study")
    study = tmp_path_factory.mktemp("browser") / "seed"
    shutil.copytree(source, study, ignore=shutil.ignore_patterns(".*"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    scratch = tmp_path_factory.mktemp("sessions")  # the app's per-session folders
    srv = start(study, SHOTS.parent / "streamlit-server.log", env={"TMPDIR": str(scratch)})
    srv.study = study  # the folder the app writes labels into (the Validate page)
    yield srv
    srv.stop()
    assert srv.proc.poll() is not None


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("FRAMESCOPE_REQUIRE_BROWSER"):
            pytest.fail(f"FRAMESCOPE_REQUIRE_BROWSER is set but {CHROMIUM} is missing")
        pytest.skip(f"no {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    yield pg
    ctx.close()


def settle(pg, timeout: float = 120_000) -> None:
    pg.wait_for_selector(READY, timeout=timeout)
    pg.wait_for_timeout(700)  # let Plotly finish drawing
    pg.wait_for_selector(READY, timeout=timeout)


def shoot(pg, name: str) -> Path:
    """A screenshot of the whole page (Streamlit scrolls inside stMain, so grow the viewport)."""
    height = pg.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    pg.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 12_000)})
    pg.wait_for_timeout(500)
    path = SHOTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    pg.set_viewport_size({"width": 1400, "height": 1000})
    return path


def test_every_page_renders_in_chromium(server, page):
    for name, url in PAGES.items():
        page.goto(f"{server.url}/{url}")
        settle(page)
        assert page.locator("[data-testid='stException']").count() == 0, name
        assert page.locator("h1").first.inner_text().strip().lower() == name, name
        if name in ("emphasis", "framing", "themes"):
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
            assert page.locator(".js-plotly-plot").count() >= (3 if name == "emphasis" else 1), name
        assert shoot(page, name).stat().st_size > 10_000
    page.goto(f"{server.url}/overview")
    settle(page)
    assert "Climate change" in page.locator("[data-testid='stMain']").inner_text()


def test_sentence_search_and_document_link(server, page):
    page.goto(f"{server.url}/sentences")
    settle(page)
    box = page.get_by_role("textbox", name="Search")
    box.fill("border")
    box.press("Enter")
    settle(page)
    main = page.locator("[data-testid='stMain']")
    assert re.search(r"\d+ of \d+ sentences match", main.inner_text())
    marks = page.locator("[data-testid='stMarkdownContainer'] strong")
    assert any("border" in marks.nth(i).inner_text().lower() for i in range(min(marks.count(), 20)))
    shoot(page, "sentences-search")
    page.get_by_text("Show in its document").first.click()
    settle(page)
    assert page.locator("h1").first.inner_text().strip() == "Document"
    assert page.locator("[data-testid='stException']").count() == 0
    assert "in its paragraph" in main.inner_text()
    shoot(page, "document")


def test_framing_voice_click_through_shows_its_quotes(server, page):
    """Framing: pick a theme and a voice; its sentences appear, each with a link to its document."""
    import pandas as pd

    study = server.study
    voices = pd.read_parquet(study / "voices.parquet").sort_values(["n", "speaker"], ascending=[False, True])
    top = voices.iloc[0]
    label = pd.read_parquet(study / "themes.parquet").set_index("theme").at[top["theme"], "label"]
    page.goto(f"{server.url}/framing")
    settle(page)
    main = page.locator("[data-testid='stMain']")
    page.get_by_role("combobox", name="Theme", exact=True).click()
    page.get_by_role("option").filter(has_text=label).first.click()
    settle(page)
    assert "Voices quoted" in main.inner_text()
    voice = _selected(page, "Read a voice's sentences")
    assert voice == f"{top['speaker']} · Global Times ({top['n']} sentences)"
    links = page.get_by_text("Show in its document")
    assert links.count() == top["n"] >= 2
    assert "Kazakhstan" in main.inner_text()
    shoot(page, "framing-voices")
    links.first.click()
    settle(page)
    assert page.locator("h1").first.inner_text().strip() == "Document"
    assert page.locator("[data-testid='stException']").count() == 0


def test_csv_upload_runs_a_study(server, page, tmp_path):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    csv = tmp_path / "two_papers.csv"
    csv.write_text(CORPUS_CSV, encoding="utf-8")
    page.goto(f"{server.url}/corpus")
    settle(page)
    page.locator("[data-testid='stFileUploader'] input[type='file']").first.set_input_files(str(csv))
    settle(page)
    page.wait_for_selector("text=Text column", timeout=30_000)
    main = page.locator("[data-testid='stMain']")
    page.get_by_role("button", name="Run the study").click()
    page.wait_for_selector("text=is ready and open", timeout=600_000)
    settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    shoot(page, "corpus-after-run")
    page.get_by_role("link", name="Go to the Overview").click()
    settle(page)
    text = main.inner_text()
    assert "Harbor Courier" in text and "Valley Ledger" in text
    assert page.locator("[data-testid='stException']").count() == 0
    shoot(page, "overview-uploaded")
    page.get_by_role("link", name="Sentences").first.click()  # hostile corpus text shows literally
    settle(page)
    text = main.inner_text()
    assert "<script>alert(1)</script>" in text and "<img src=x onerror=alert(2)>" in text
    assert ":red[late]" in text
    assert page.locator("[data-testid='stMain'] script, [data-testid='stMain'] img[src='x']").count() == 0
    for name in ("Themes", "Emphasis", "Framing"):
        page.get_by_role("link", name=name).first.click()
        settle(page)
        assert page.locator("[data-testid='stException']").count() == 0, name
    assert dialogs == []
    page.get_by_role("link", name="Corpus").first.click()  # same session: a bad upload keeps the study
    settle(page)
    bad = tmp_path / "photo.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    page.locator("[data-testid='stFileUploader'] input[type='file']").first.set_input_files(str(bad))
    settle(page)
    assert "looks like an image" in main.inner_text()
    assert "The open study is unchanged" in main.inner_text()
    sidebar = page.locator("[data-testid='stSidebar']").inner_text()
    assert "Harbor Courier" in sidebar and "Valley Ledger" in sidebar, sidebar  # the uploaded study is open
    shoot(page, "corpus-bad-upload")


def _speeches_csv(path: Path, text: bool) -> Path:
    """~24 speeches: 2 parties, 20 speakers, a year and (if `text`) two real sentences each."""
    first = ("Anna Ben Carla Dieter Eva Frank Greta Hans Ines Jan Karl Lena Max Nina Otto Paula Rolf Sara Tom "
             "Uwe").split()
    topics = ["the railways", "our schools", "the health service", "rural broadband", "the coastal defences"]
    lines = ["party,speaker," + ("text" if text else "year")]
    for i in range(24):
        row = f"{('Labour', 'Conservative')[i % 2]},{first[i % 20]} Example{i % 20}"
        row += (f',"We must invest in {topics[i % 5]} before the winter. The minister promised a review of '
                f'{topics[(i + 2) % 5]}."' if text else f",{2010 + i % 5}")
        lines.append(row)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _selected(pg, label: str) -> str:
    """The value shown by the selectbox labelled `label` (a combobox input)."""
    return pg.get_by_role("combobox", name=label, exact=True).input_value()


def _upload(server, pg, csv: Path) -> None:
    pg.goto(f"{server.url}/corpus")
    settle(pg)
    pg.locator("[data-testid='stFileUploader'] input[type='file']").first.set_input_files(str(csv))
    settle(pg)
    pg.wait_for_selector("text=Text column", timeout=30_000)


def test_table_without_text_column_shows_an_error_and_no_run(server, page, tmp_path):
    _upload(server, page, _speeches_csv(tmp_path / "speeches.csv", text=False))
    errors = page.locator("[data-testid='stAlertContentError']")
    assert errors.count() == 1
    assert "no column averages 5 words or more per value" in errors.first.inner_text()
    assert page.get_by_role("button", name="Run the study").is_disabled()
    assert _selected(page, "Source column") == "party"
    shoot(page, "corpus-no-text-column")


def test_text_and_party_columns_are_preselected(server, page, tmp_path):
    _upload(server, page, _speeches_csv(tmp_path / "party_speeches.csv", text=True))
    assert _selected(page, "Text column") == "text"
    assert _selected(page, "Source column") == "party"
    main = page.locator("[data-testid='stMain']").inner_text()
    assert "Text: text — longest values" in main and "Source: party — named like a source" in main
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    assert page.get_by_role("button", name="Run the study").is_enabled()
    shoot(page, "corpus-guessed-columns")


def _shown_sentence(pg) -> str:
    return pg.locator("[data-testid='stMain'] h4").first.inner_text().strip()


def _labelled(pg) -> int:
    """The number of labels in the study, as the Validate page's progress line says it."""
    text = pg.locator("[data-testid='stMain']").inner_text()
    return int(re.search(r"\((\d+) labels in the study\)", text).group(1))


def _until(pg, check, timeout: float = 60.0) -> None:
    """Wait (settling the app between looks) until check() holds: a click's rerun may not have
    started yet when the app first reports that it is idle."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        settle(pg)
        if check():
            return
        assert time.monotonic() < deadline, "the page did not update"
        pg.wait_for_timeout(300)


def _label_by(pg, act, before: int) -> None:
    """Give one label by ``act()`` (a button click or a keyboard shortcut) and wait until the study
    has exactly one more. On a loaded 2-core machine a click or key press that arrives just as a
    rerun starts was seen to be dropped (three times in full suites, never alone), so an unanswered
    action is repeated, as a reader would, but never once a label has been added."""
    for _ in range(4):
        act()
        try:
            _until(pg, lambda: _labelled(pg) > before, timeout=15.0)
            break
        except AssertionError:
            continue
    assert _labelled(pg) == before + 1


def test_label_twenty_sentences_reload_and_see_agreement_and_corrected_shares(server, page):
    """A reader labels 20 sentences on the Validate page with the seed readers' own labels, by
    buttons and by number keys, skips one and undoes one; after a reload the 20 labels are in the
    study, the page resumes at the first unlabelled sentence, shows per-theme F1, and the Emphasis
    page shows corrected shares."""
    import pandas as pd

    from conftest import SEED_LABELS
    from framescope.validate.evaluate import normalise_text

    readers = pd.read_csv(SEED_LABELS)
    truth = dict(zip(readers["text"].map(normalise_text), readers["label"].replace({"other": "none"})))
    themes = pd.read_parquet(server.study / "themes.parquet")
    named = themes.loc[themes["named"], "theme"].tolist()
    button = dict(zip(themes["theme"], themes["label"])) | {"none": "None of these"}
    key = {t: str(i + 1) for i, t in enumerate(named)} | {"none": "0"}

    page.goto(f"{server.url}/validate")
    settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert _labelled(page) == 0
    actions, skipped_text, by_key = 0, None, 0
    while _labelled(page) < 20:
        shown = _shown_sentence(page)
        label = truth[normalise_text(shown)]
        before = _labelled(page)
        if actions == 5:  # skip one sentence
            page.get_by_role("button", name=re.compile("^Skip")).click()
            skipped_text = shown
            _until(page, lambda: _shown_sentence(page) != shown)
            assert _labelled(page) == before
        elif actions == 9:  # label one wrongly by key, then undo it
            wrong = key["none"] if label != "none" else key[named[0]]
            _label_by(page, lambda: page.keyboard.press(wrong), before)
            page.get_by_role("button", name=re.compile("^Undo")).click()
            _until(page, lambda: _labelled(page) == before)
            assert _shown_sentence(page) == shown
        elif actions % 2:  # a keyboard shortcut
            page.locator("[data-testid='stMain'] h4").first.click()  # focus on the page, not in a text box
            page.get_by_role("button", name=re.compile("^" + re.escape(button[label]))).wait_for(state="visible")
            _label_by(page, lambda: page.keyboard.press(key[label]), before)
            by_key += 1
        else:
            _label_by(page, page.get_by_role("button", name=re.compile("^" + re.escape(button[label]))).click, before)
        actions += 1
        assert actions < 40
    assert by_key >= 5 and skipped_text is not None
    shoot(page, "validate-labelling")
    stored = pd.read_parquet(server.study / "labels.parquet")
    assert len(stored) == 20 and set(stored["labeller"]) == {"reader"}
    assert all(truth[normalise_text(t)] == lab for t, lab in zip(
        stored["sentence_id"].map(pd.read_parquet(server.study / "sentences.parquet").set_index("sentence_id")["text"]),
        stored["label"]))  # every stored label is the one given, the undone one is gone

    page.reload()
    settle(page)
    assert _labelled(page) == 20
    n_body = int(pd.read_parquet(server.study / "sentences.parquet")["is_body"].sum())
    assert f"20 of {min(200, n_body)} sentences of the sample labelled" in page.locator("[data-testid='stMain']").inner_text()
    assert _shown_sentence(page) == skipped_text  # resumes at the first unlabelled sentence: the skipped one
    tables = page.locator("[data-testid='stTable']")
    agreement = tables.first.inner_text()
    assert "F1" in agreement and "Wolf-warrior diplomacy" in agreement
    assert re.search(r"\d\.\d\d \[\d\.\d\d, \d\.\d\d\]", agreement)  # F1 with its CI
    assert "Cohen's kappa" in page.locator("[data-testid='stMain']").inner_text()
    shoot(page, "validate-agreement")

    page.get_by_role("link", name="Emphasis").first.click()
    settle(page)
    main = page.locator("[data-testid='stMain']").inner_text()
    assert "Corrected for misclassification" in main and "Adjusted classify-and-count" in main
    corrected = pd.read_parquet(server.study / "emphasis_corrected.parquet")
    assert corrected["corrected"].any()  # at least one theme had 5 labels or more
    done = re.search(r"Themes corrected: (.*)\.", main).group(1)
    for theme in set(corrected.loc[corrected["corrected"], "theme"]) - {"unassigned"}:  # hidden by default
        assert button[theme] in done
    shoot(page, "emphasis-corrected")
