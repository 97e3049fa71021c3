"""The exported topic report: sections, numbers from the tables, self-contained HTML, Markdown
tables, escaping of hostile corpus text (checked in a real headless Chromium), static figures."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from framescope.artifacts import read_table
from framescope.errors import InputError
from framescope.report.build import pct, write_report

CHROMIUM = Path("/usr/bin/chromium")
SECTIONS = ("1. Corpus and sources", "2. Themes", "3. Emphasis", "4. Framing by theme",
            "5. Method notes", "6. Manifest summary")
HOSTILE_SOURCE = 'gazette <a href="javascript:alert(5)">x</a> <img src=x onerror=alert(6)>'
ATTACKS = ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>",
           "</script><script>alert(3)</script>", '"><svg onload=alert(4)>')


@pytest.fixture(scope="module")
def seed_report(seed_study, tmp_path_factory) -> Path:
    """A copy of the session's seed study with its report written (the shared study stays clean)."""
    study = tmp_path_factory.mktemp("report") / "seed"
    shutil.copytree(seed_study, study)
    paths = write_report(study)
    assert [p.name for p in paths] == ["report.html", "report.md"]
    return study


@pytest.fixture(scope="module")
def hostile_study(tmp_path_factory) -> Path:
    """A real (small) study whose sources, titles and sentences carry script and HTML injections."""
    from framescope.config import IngestConfig, RunConfig, ThemeConfig
    from framescope.engines.pipeline import run

    root = tmp_path_factory.mktemp("hostile")
    seed = (Path(__file__).parents[1] / "seeds" / "corpus")
    rows = []
    for source, file, attack in ((HOSTILE_SOURCE, "global_times.txt", ATTACKS[0]),
                                 ("herald", "foreign_policy.txt", ATTACKS[1])):
        paras = [p for p in (seed / file).read_text(encoding="utf-8").split("\n\n") if len(p) > 200][:6]
        for i, para in enumerate(paras):
            sents = para.split(". ")
            sents[0] = f"{sents[0]} {ATTACKS[i % 4] if i else attack}"
            rows.append({"source": source, "title": f"Part {i} {ATTACKS[(i + 1) % 4]}", "text": ". ".join(sents)})
    csv = root / "hostile.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    cfg = RunConfig(inputs=[str(csv)], out=str(root / "study"), ingest=IngestConfig(title_col="title"),
                    themes=ThemeConfig(codebook=str(Path(__file__).parents[1] / "seeds" / "codebook.yaml")))
    study = run(cfg)
    write_report(study)
    return study


REPORT_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "h4", "p", "nav",
               "ol", "li", "a", "main", "section", "table", "caption", "thead", "tbody", "tr", "th", "td",
               "blockquote", "cite", "figure", "figcaption", "div", "strong", "script"}


class _Tags(HTMLParser):
    """Every element and attribute the browser would build from a page."""

    def __init__(self):
        super().__init__()
        self.names, self.attrs, self.hrefs = set(), [], []

    def handle_starttag(self, tag, attrs):
        self.names.add(tag)
        self.attrs += [(k.lower(), v or "") for k, v in attrs]
        self.hrefs += [v for k, v in attrs if k == "href" and v]


def _section(page: str, title: str) -> str:
    start = page.index(f"<h2>{html.escape(title)}</h2>")
    end = page.find("</section>", start)
    return page[start:end]


# -- content -----------------------------------------------------------------------------------

def test_report_has_the_six_sections_in_order(seed_report):
    page = (seed_report / "report.html").read_text(encoding="utf-8")
    md = (seed_report / "report.md").read_text(encoding="utf-8")
    pos = [page.index(f"<h2>{html.escape(s)}</h2>") for s in SECTIONS]
    assert pos == sorted(pos)
    assert [line[3:] for line in md.splitlines() if line.startswith("## ")] == list(SECTIONS)


def test_every_theme_is_listed_with_two_exemplars_from_the_table(seed_report):
    page = (seed_report / "report.html").read_text(encoding="utf-8")
    themes, ex = read_table(seed_report, "themes"), read_table(seed_report, "exemplars")
    em = read_table(seed_report, "emphasis")
    section = _section(page, "2. Themes")
    for t in themes[themes["theme"] != "unassigned"].itertuples():
        assert f'<h3 id="theme-{t.theme}">{html.escape(t.label)}</h3>' in section
        block = section.split(f'id="theme-{t.theme}"', 1)[1].split("<h3", 1)[0]
        quotes = re.findall(r"<blockquote>(.*?)<cite>", block, flags=re.S)
        expected = ex[ex["theme"] == t.theme]
        assert len(quotes) == min(2, len(expected))
        assert {html.unescape(q) for q in quotes} <= set(expected["text"])
        # the first comes from the source that writes most on the theme; the second from the
        # runner-up source unless that is a small cell (then from the same source)
        n = em[(em["theme"] == t.theme) & em["source"].isin(expected["source"])].sort_values(
            ["n_sentences", "source"], ascending=[False, True])
        cites = re.findall(r"<cite>— (.*?) · ", block)
        assert cites[0] == n["source"].iloc[0]
        if len(quotes) == 2:
            two_sources = len(n) > 1 and n["n_sentences"].iloc[1] >= 5
            assert (len(set(cites)) == 2) == two_sources


def test_emphasis_numbers_and_test_come_from_the_table(seed_report):
    page = (seed_report / "report.html").read_text(encoding="utf-8")
    em = read_table(seed_report, "emphasis")
    section = _section(page, "3. Emphasis")
    assert section.count('class="plotly-graph-div"') == 3  # heatmap + CI plot + largest gaps
    first = em.iloc[0]
    if em["source"].nunique() > 1:
        assert f"χ² = {first['chi2']:.1f}, dof = {int(first['dof'])}" in section
        assert ("Emphasis differs across sources" in section) == (first["p_value"] < 0.05)
        top = em[em["theme"] != "unassigned"].loc[lambda d: d["residual"].idxmax()]
        assert f"Largest over-emphasis: {html.escape(top['source'])}" in section
    table = re.findall(r"<tr><td>.*?</tr>", section.split("<table", 1)[1].split("</table>", 1)[0])
    assert len(table) == len(em)
    for r in em.itertuples():
        assert f">{pct(r.share)}" in section and f"[{r.ci_low:.1%}, {r.ci_high:.1%}]" in section


def test_largest_gaps_come_from_the_gaps_table_largest_first(seed_report):
    from framescope.measures.divergence import largest_gaps

    page = (seed_report / "report.html").read_text(encoding="utf-8")
    themes = read_table(seed_report, "themes").set_index("theme")["label"]
    best = largest_gaps(read_table(seed_report, "emphasis_gaps").query("theme != 'unassigned'"))
    section = _section(page, "3. Emphasis").split("Where the sources differ most", 1)[1]
    assert "How to read" in section and "percentage points" in section
    rows = re.findall(r"<tr><td>(.*?)</td>.*?<td class=\"num\">([\d.]+)</td><td[^>]*>\[(.*?)\]</td></tr>",
                      section.split("<table", 1)[1])
    assert [html.unescape(r[0]) for r in rows] == [themes[t] for t in best["theme"]]
    for (_, diff, interval), r in zip(rows, best.itertuples()):
        assert diff == f"{100 * r.difference:.1f}"
        lo, hi = (float(x.replace("−", "-")) for x in interval.split(", "))
        assert lo == pytest.approx(100 * r.ci_low, abs=0.051) and hi == pytest.approx(100 * r.ci_high, abs=0.051)


def test_framing_shows_every_theme_and_every_note(seed_report):
    page = (seed_report / "report.html").read_text(encoding="utf-8")
    section = _section(page, "4. Framing by theme")
    themes, notes = read_table(seed_report, "themes"), read_table(seed_report, "notes")
    for t in themes.loc[themes["theme"] != "unassigned", "theme"]:
        assert f'id="framing-{t}"' in section
    for note in notes["note"]:
        assert html.escape(str(note)) in section
    for r in read_table(seed_report, "contrasts").groupby("theme").head(1).itertuples():
        assert html.escape(r.text_a) in section and html.escape(r.text_b) in section
    assert "Tone" in section and "Distinctive terms" in section


def test_method_notes_and_manifest_summary(seed_report):
    page = (seed_report / "report.html").read_text(encoding="utf-8")
    method = _section(page, "5. Method notes")
    for ref in ("Grootendorst", "Monroe, B. L.", "Boydstun", "Card, D.", "Hutto", "Roberts, M. E.", "Efron"):
        assert ref in method
    assert "VADER was built for social-media text" in method and "Small cells." in method
    manifest = _section(page, "6. Manifest summary")
    from framescope.artifacts import read_manifest

    m = read_manifest(seed_report)
    assert m["embedding"]["weights_sha256"] in manifest and m["started_at"] in manifest
    for stage in m["timings"]:
        assert f"<td>{html.escape(stage)}</td>" in manifest
    files = re.findall(r"<tr><td>([^<]*)</td><td[^>]*>[0-9a-f]{64}</td></tr>", manifest)
    assert len(files) == len(m["inputs"]) and not any(f.startswith("/") for f in files)  # no server paths


def test_the_method_notes_say_which_seed_phrase_evidence_ran(seed_report):
    """The run parameters name the seed-phrase evidence the run used: by clause (the default, and
    what a manifest from before the option ran) or by whole sentence."""
    from framescope.artifacts import read_manifest
    from framescope.report.method import method_section
    from framescope.report.render import Table

    assert "weight 0.4, best clause similarity" in _section((seed_report / "report.html").read_text(encoding="utf-8"),
                                                            "5. Method notes")

    def evidence(themes: dict) -> str:
        m = read_manifest(seed_report)
        m["config"]["themes"] = themes
        section = method_section(m, {"documents": pd.DataFrame({"source": ["a"]})}, [])
        rows = next(b.rows for b in section.blocks if isinstance(b, Table))
        return rows.set_index("parameter").loc["seed-phrase evidence", "value"]

    m = read_manifest(seed_report)
    assert evidence({**m["config"]["themes"], "clause_evidence": False}) == "weight 0.4, best whole-sentence similarity"
    older = {k: v for k, v in m["config"]["themes"].items() if k != "clause_evidence"}
    assert evidence(older) == "weight 0.4, best clause similarity"


def test_the_manifest_summary_shows_no_server_path(seed_report):
    """A study run from the app has absolute inputs in a temporary folder; the report names them
    by their file or folder name only, in the text as in the table."""
    from framescope.artifacts import read_manifest
    from framescope.report.method import manifest_section
    from framescope.report.render import Table, Text

    m = read_manifest(seed_report)
    m["config"]["inputs"] = ["/srv/framescope/tmp/upload-1a2b/corpus.csv"]
    m["inputs"] = {"/srv/framescope/tmp/upload-1a2b/corpus.csv": "0" * 64}
    section = manifest_section(m)
    shown = " ".join(b.text for b in section.blocks if isinstance(b, Text))
    shown += " ".join(" ".join(map(str, b.rows.to_numpy().ravel())) for b in section.blocks if isinstance(b, Table))
    assert "corpus.csv" in shown and "/srv" not in shown and "/tmp" not in shown


def test_markdown_carries_the_same_tables(seed_report):
    md = (seed_report / "report.md").read_text(encoding="utf-8")
    tables, current = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("| "):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    cells = lambda line: re.split(r"(?<!\\)\|", line.strip())[1:-1]  # noqa: E731
    for t in tables:
        assert re.fullmatch(r"\|( ---:? \|)+", t[1]), t[1]
        assert {len(cells(row)) for row in t} == {len(cells(t[0]))}, t[0]
    em = read_table(seed_report, "emphasis")
    emphasis_md = next(t for t in tables if cells(t[0])[:4] == [" theme ", " source ", " sentences ", " share "])
    assert len(emphasis_md) - 2 == len(em)
    page = (seed_report / "report.html").read_text(encoding="utf-8")
    assert len(tables) == page.count("<table")


# -- self-contained, offline, escaped ----------------------------------------------------------

def test_html_is_self_contained(seed_report):
    page = (seed_report / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""<(script|link|img|iframe)[^>]*(src|href)\s*=\s*["']?(https?:)?//""", page, re.I)
    assert "<link" not in page and "@import" not in page
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)
    assert sum(len(s) > 1_000_000 for s in scripts) == 1  # plotly.js embedded exactly once
    assert all("Plotly.newPlot" in s for s in scripts if len(s) < 1_000_000)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_hostile_corpus_comes_out_inert(hostile_study):
    page = (hostile_study / "report.html").read_text(encoding="utf-8")
    md = (hostile_study / "report.md").read_text(encoding="utf-8")
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)
    figures = page.count('class="plotly-graph-div"')
    assert len(scripts) == 1 + figures  # plotly.js + one newPlot per figure, nothing injected
    outside = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    for attack in ATTACKS:
        assert attack not in page
    tags = _Tags()
    tags.feed(outside)
    assert tags.names <= REPORT_TAGS, tags.names - REPORT_TAGS
    assert not [a for a in tags.attrs if a[0].startswith("on") or a[0] in ("src", "srcdoc", "action")]
    assert tags.hrefs and all(h.startswith("#") for h in tags.hrefs)  # only in-page links
    # the text is shown, not dropped: escaped in the page, backslash-escaped in the Markdown
    assert html.escape(ATTACKS[0]) in outside and html.escape(HOSTILE_SOURCE) in outside
    assert r"\<script\>alert(1)\</script\>" in md and "<script" not in md.replace(r"\<script", "")
    assert "<img" not in md.replace(r"\<img", "")


@pytest.mark.browser
def test_report_renders_offline_in_chromium_without_running_corpus_code(hostile_study):
    if not CHROMIUM.exists():
        if os.environ.get("FRAMESCOPE_REQUIRE_BROWSER"):
            pytest.fail("FRAMESCOPE_REQUIRE_BROWSER is set but /usr/bin/chromium is missing")
        pytest.skip("needs Debian's /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            ctx = browser.new_context(viewport={"width": 1000, "height": 900})
            fetched: list[str] = []
            ctx.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                      else (fetched.append(route.request.url), route.abort()))
            page = ctx.new_page()
            dialogs, errors = [], []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((hostile_study / "report.html").as_uri())
            page.wait_for_selector(".plotly-graph-div svg.main-svg")
            n_divs = page.locator(".plotly-graph-div").count()
            assert n_divs >= 3
            drawn = page.evaluate("""[...document.querySelectorAll('.plotly-graph-div')].map(
                d => d.querySelectorAll('g.heatmaplayer image, g.scatterlayer .point, g.scatterlayer .js-line').length)""")
            assert len(drawn) == n_divs and all(n > 0 for n in drawn), drawn  # every plot drew its marks
            # hover the heatmap's first cell (first source): hover labels carry corpus strings
            cells = page.locator("g.heatmaplayer image").first
            cells.scroll_into_view_if_needed()
            box = cells.bounding_box()
            page.mouse.move(box["x"] + 10, box["y"] + 10)
            page.wait_for_timeout(400)
            hover = cells.evaluate("el => el.closest('.plotly-graph-div').querySelector('.hoverlayer').textContent")
            legends = page.evaluate("[...document.querySelectorAll('.legendtext')].map(e => e.textContent)")
            assert HOSTILE_SOURCE in hover  # plotly shows corpus strings literally,
            assert HOSTILE_SOURCE in legends  # it does not parse them as markup
            text = page.inner_text("main")
            assert ATTACKS[0] in text and HOSTILE_SOURCE in text  # shown literally
            assert page.locator("main img, main svg[onload]").count() == 0
            # print: nothing wider than a page
            page.emulate_media(media="print")
            page.set_viewport_size({"width": 700, "height": 900})
            page.wait_for_timeout(200)
            assert page.evaluate("document.documentElement.scrollWidth") <= 702
            pdf = page.pdf(format="A4")
            assert pdf[:4] == b"%PDF" and len(pdf) > 50_000
        finally:
            browser.close()
    assert dialogs == [] and errors == [] and fetched == []


# -- files, errors, figures --------------------------------------------------------------------

def test_report_refuses_a_folder_that_is_not_a_study(tmp_path):
    with pytest.raises(InputError, match="not a study folder"):
        write_report(tmp_path)
    r = subprocess.run([sys.executable, "-m", "framescope.cli", "report", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "not a study folder" in r.stderr and "Traceback" not in r.stderr


def test_report_writes_atomically_and_rewrites_identically(seed_report):
    before = {p: p.read_bytes() for p in (seed_report / "report.html", seed_report / "report.md")}
    write_report(seed_report)
    assert {p: p.read_bytes() for p in before} == before  # same study -> byte-identical report
    assert not list(seed_report.glob(".report.*"))  # no temp files left behind


def test_static_figures_are_written_and_reproducible(seed_report, tmp_path):
    from PIL import Image

    from framescope.report.figures import save_figures

    a = save_figures(seed_report, tmp_path / "a")
    b = save_figures(seed_report, tmp_path / "b")
    names = sorted(p.name for p in a)
    assert names == sorted(f"{n}.{e}" for n in ("emphasis_heatmap", "emphasis_ci", "tone_ci") for e in ("png", "svg"))
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
    with Image.open(tmp_path / "a" / "emphasis_heatmap.png") as im:
        assert im.size[0] > 600 and im.size[1] > 300
    svg = (tmp_path / "a" / "emphasis_heatmap.svg").read_text(encoding="utf-8")
    assert "Climate change" in svg  # theme labels are in the figure as text


def test_the_emphasis_test_is_worded_by_its_result():
    from framescope.report.build import emphasis_test_sentence

    em = pd.DataFrame({
        "source": ["a", "a", "b", "b"], "theme": ["t1", "t2", "t1", "t2"], "n_sentences": [6, 4, 4, 6],
        "share": [0.6, 0.4, 0.4, 0.6], "residual": [0.9, -0.9, -0.9, 0.9], "chi2": 0.8, "dof": 1,
        "p_value": 0.42, "p_chi2": 0.371, "test": "chi-square of independence; p by permuting paragraphs"})
    text = emphasis_test_sentence(em, {"t1": "Theme one"})
    assert text.startswith("The data do not show that emphasis differs across sources "
                           "(χ² = 0.8, dof = 1, permutation p = 0.420, asymptotic p = 0.371).")
    assert "Largest over-emphasis: a on Theme one (60.0% of its body sentences against 50.0% across all " \
           "sources; residual +0.9) (within chance, |residual| < 1.96)." in text
    strong = em.assign(p_value=0.001, residual=[3.1, -3.1, -3.1, 3.1])
    assert emphasis_test_sentence(strong, {}).startswith("Emphasis differs across sources")
    one = em[em["source"] == "a"].assign(chi2=float("nan"), test="none: fewer than two sources with sentences")
    assert emphasis_test_sentence(one, {}) == ("No test across sources (fewer than two sources with sentences): "
                                               "the shares describe each source on its own.")


def test_report_knows_whether_it_matches_the_current_run(seed_report, tmp_path):
    """Freshness follows the run's manifest, not file times: a clone or copy keeps its report current,
    a re-run (new manifest) makes it stale."""

    from framescope.report.build import report_is_current

    copy = tmp_path / "copy"
    shutil.copytree(seed_report, copy)
    assert report_is_current(copy)
    for f in copy.glob("*.parquet"):  # tables newer than the report, as after a git clone
        os.utime(f, (f.stat().st_atime + 3600, f.stat().st_mtime + 3600))
    assert report_is_current(copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["started_at"] = "2030-01-01T00:00:00+00:00"
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert not report_is_current(copy)
    write_report(copy)
    assert report_is_current(copy)
    (copy / "report.md").unlink()
    assert not report_is_current(copy)


def test_the_committed_seed_report_belongs_to_the_committed_run():
    from framescope.report.build import report_is_current

    seed = Path(__file__).resolve().parents[1] / "artifacts" / "seed"
    assert report_is_current(seed), "artifacts/seed/report.* is stale: run python research/reproduce.py"


# -- the study's own labels ---------------------------------------------------------------------

def test_a_report_with_labels_shows_corrected_shares_and_the_studys_validation(seed_study, tmp_path):
    from conftest import seed_labels_by_id

    from framescope.report.build import report_is_current
    from framescope.validate.study import validate_study

    study = shutil.copytree(seed_study, tmp_path / "study")
    write_report(study)
    plain_md = (study / "report.md").read_text(encoding="utf-8")
    assert "Corrected for misclassification" not in plain_md and "The study's own labels" not in plain_md
    labels = seed_labels_by_id(study)
    labels.to_csv(tmp_path / "labels.csv", index=False)
    record = validate_study(study, tmp_path / "labels.csv", n_boot=200)
    assert not report_is_current(study)  # labels added after the report: it is out of date
    write_report(study)
    assert report_is_current(study)
    md = (study / "report.md").read_text(encoding="utf-8").replace("\\", "")
    emphasis = md[md.index("## 3. Emphasis"):md.index("## 4. Framing")]
    method = md[md.index("## 5. Method notes"):md.index("## 6. Manifest")]
    corrected = read_table(study, "emphasis_corrected")
    climate = corrected[(corrected["theme"] == "climate") & (corrected["source"] == "uk_embassy")].iloc[0]
    assert "### Corrected for misclassification" in emphasis
    assert (f"| Climate change | uk_embassy | {pct(climate.share)} | {pct(climate.share_corrected)} | "
            f"[{pct(climate.ci_low)}, {pct(climate.ci_high)}] | {int(climate.n_labels)} |") in emphasis
    assert "too few labels to correct" in emphasis.lower() and "Border settlement and territorial disputes" in emphasis
    assert (f"{len(labels)} of the study's body sentences were labelled by hand (labeller: reader-1" in method)
    assert f"Cohen's κ {record['kappa']:.2f} and macro F1 {record['macro_f1']:.2f}" in method
    wolf = next(r for r in record["per_theme"] if r["theme"] == "wolf_warrior_diplomacy")
    assert f"| Wolf-warrior diplomacy | {wolf['n_labelled']} | {wolf['n_assigned']} |" in method
    assert f"{wolf['f1']:.2f} [{wolf['f1_low']:.2f}, {wolf['f1_high']:.2f}]" in method
    rec = record["recalibration"]
    assert (f"the named themes reach macro F1 {rec['macro_f1_after']:.2f} by {rec['folds']}-fold stratified "
            f"cross-validation, against {rec['macro_f1_before']:.2f} for the corpus rule without labels") in method
    assert "`framescope run --labels` applies it" in method
    html_page = (study / "report.html").read_text(encoding="utf-8")
    assert "Corrected for misclassification" in html_page and "Recalibration." in html_page
    # labels changed after the validation: the report says its figures are out of date
    pd.read_parquet(study / "labels.parquet").head(10).to_parquet(study / "labels.parquet")
    write_report(study)
    assert "labels.parquet has changed since validation.json was written" in (study / "report.md").read_text()
