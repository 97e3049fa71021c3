"""The app under load: concurrent browser sessions against one real `streamlit run` server.

A benchmark, not a test. It builds (once) a study of about 9.7k body sentences from the three
held-out validation corpora (news, speeches, official documents: research/validation/), starts
`streamlit run app.py` on it (loopback, headless, tests/browser_server.py), and lets N concurrent
Chromium sessions (Playwright, one browser context each) open the app and then go through every
page R times as a reader does: by the sidebar menu, and to the Document page by a sentence's
"Show in its document" link. A visit is timed from the click until the page's title is the new
page's and the app reports that its script has finished (`data-test-script-state="notRunning"`);
opening the app (a full page load: Streamlit's JavaScript, a new session) is reported on its own
row. The browsers run on the same machine as the server, so their rendering (WebGL in software
for the sentence map) competes with it for the cores. It reports p50, p95 and max per
page and overall, exceptions shown on any page, the server's peak resident memory
(the process tree's, sampled every 0.2 s), and the CPU seconds the server and the browsers used
over the run (Chromium's processes sampled every 0.2 s, so the last 0.2 s of a closing renderer
may be missed) beside those the cores offered (wall x cores).

    python research/app_load.py                      # 10 sessions, 2 rounds
    python research/app_load.py --sessions 1         # one user, for comparison
    python research/app_load.py --study DIR          # any existing study

Results go to artifacts/load/results.json (and are printed as a Markdown table).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser_server import CHROMIUM, CHROMIUM_ARGS, READY, start  # noqa: E402

MENU = ("overview", "themes", "emphasis", "framing", "sentences", "corpus", "validate", "export")
OUT = ROOT / "artifacts" / "load"


def build_study(folder: Path) -> Path:
    """The three validation corpora as one CSV (source = set/outlet or party), run with the
    default configuration (discovery only: no codebook fits all three)."""
    if (folder / "manifest.json").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    parts = []
    for name in ("news", "speeches", "official"):
        df = pd.read_csv(ROOT / "research" / "validation" / name / "corpus.csv")
        parts.append(df.assign(source=name + ": " + df["source"].astype(str)))
    corpus = folder.parent / "load_corpus.csv"
    pd.concat(parts, ignore_index=True).to_csv(corpus, index=False)
    cmd = [sys.executable, "-m", "framescope.cli", "--quiet", "run", str(corpus), "--out", str(folder),
           "--text-col", "text", "--source-col", "source", "--title-col", "title"]
    print("building the study:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return folder


def tree_rss(pid: int) -> int:
    """Resident memory of a process and its children, in bytes (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return total


def tree_cpu(pid: int, name: str | None = None, seen: dict | None = None) -> float:
    """CPU seconds (user + system) of a process and its living descendants, or of those of them
    whose name contains ``name``. With ``seen`` (pid -> CPU seconds, updated here), processes that
    have exited since an earlier call still count with their last reading."""
    import psutil

    seen = {} if seen is None else seen
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        procs = []
    for p in procs:
        try:
            if name is None or name in p.name():
                t = p.cpu_times()
                seen[p.pid] = t.user + t.system
        except psutil.Error:
            continue
    return float(sum(seen.values()))


async def _title_is(page, name: str) -> None:
    await page.wait_for_function(
        "n => { const h = document.querySelector('h1'); return h && h.innerText.trim().toLowerCase() === n; }",
        arg=name, timeout=300_000)
    await page.wait_for_selector(READY, timeout=300_000)


async def visit(browser, url: str, session: int, rounds: int, records: list) -> None:
    """One reader: open the app, then go through every page by the sidebar menu, as a reader
    does (the Document page from the Sentences page's first "Show in its document" link)."""
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await ctx.new_page()
    shift = session % len(MENU)
    order = list(MENU[shift:] + MENU[:shift])  # not all on one page at once

    async def timed(name: str, action) -> None:
        t0 = time.perf_counter()
        error = ""
        try:
            await action()
            if await page.locator("[data-testid='stException']").count():
                error = (await page.locator("[data-testid='stException']").first.inner_text())[:200]
        except Exception as e:  # noqa: BLE001 - a benchmark records every failure
            error = f"{type(e).__name__}: {str(e)[:200]}"
        records.append({"session": session, "page": name, "seconds": time.perf_counter() - t0, "error": error})

    async def open_app() -> None:
        await page.goto(f"{url}/", timeout=300_000)
        await _title_is(page, "overview")

    def by_menu(name: str):
        async def go() -> None:
            href = f"{url}/" + ("" if name == "overview" else name)
            await page.locator(f"[data-testid='stSidebarNav'] a[href='{href}']").click(timeout=300_000)
            await _title_is(page, name)
        return go

    async def document() -> None:
        await page.get_by_text("Show in its document").first.click(timeout=300_000)
        await _title_is(page, "document")

    await timed("open (full page load)", open_app)
    for _ in range(rounds):
        for name in order:
            await timed(name, by_menu(name))
            if name == "sentences":
                await timed("document", document)
    await ctx.close()


async def load(url: str, sessions: int, rounds: int) -> list[dict]:
    from playwright.async_api import async_playwright

    records: list[dict] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        await asyncio.gather(*(visit(browser, url, s, rounds, records) for s in range(sessions)))
        await browser.close()
    return records


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", type=Path, default=None)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT / "results.json")
    args = ap.parse_args()
    study = args.study or build_study(OUT / "study")
    n_sentences = len(pd.read_parquet(study / "sentences.parquet", columns=["sentence_id"]))
    (OUT / "sessions").mkdir(parents=True, exist_ok=True)
    times = OUT / "page_times.jsonl"
    times.unlink(missing_ok=True)
    srv = start(study, OUT / "streamlit-server.log",
                env={"TMPDIR": str(OUT / "sessions"), "FRAMESCOPE_PAGE_TIMES": str(times)})
    peak, stop = [0], threading.Event()
    browsers: dict[int, float] = {}  # Chromium's processes (one renderer per session), sampled as they come and go

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss(srv.proc.pid))
            tree_cpu(os.getpid(), "chrom", browsers)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        server_cpu0 = tree_cpu(srv.proc.pid)
        t0 = time.perf_counter()
        records = asyncio.run(load(srv.url, args.sessions, args.rounds))
        wall = time.perf_counter() - t0
        server_cpu = tree_cpu(srv.proc.pid) - server_cpu0
    finally:
        stop.set()
        sampler.join()
        srv.stop()
    browsers_cpu = float(sum(browsers.values()))
    df = pd.DataFrame(records)
    pages = df[df["page"] != "open (full page load)"]
    per_page = df.groupby("page")["seconds"].agg(
        p50=lambda s: float(np.percentile(s, 50)), p95=lambda s: float(np.percentile(s, 95)), max="max", n="size")
    result = {"study": str(study), "sentences": n_sentences, "sessions": args.sessions, "rounds": args.rounds,
              "visits": len(pages), "wall_seconds": wall, "p50": float(np.percentile(pages["seconds"], 50)),
              "p95": float(np.percentile(pages["seconds"], 95)), "max": float(pages["seconds"].max()),
              "errors": df.loc[df["error"] != "", ["page", "error"]].to_dict(orient="records"),
              "peak_server_rss_mb": peak[0] / 2**20, "cpus": os.cpu_count(),
              "load_average_after": os.getloadavg(), "per_page": per_page.reset_index().to_dict(orient="records"),
              "cpu_seconds": {"server": round(server_cpu, 1), "browsers": round(browsers_cpu, 1),
                              "available": round(wall * (os.cpu_count() or 1), 1)}}
    server = pd.read_json(times, lines=True) if times.is_file() else pd.DataFrame(columns=["page", "seconds"])
    result["server_script_runs"] = len(server)
    if len(server):
        result["server_p50"] = float(np.percentile(server["seconds"], 50))
        result["server_p95"] = float(np.percentile(server["seconds"], 95))
        result["server_per_page"] = server.groupby("page")["seconds"].agg(
            p50=lambda s: float(np.percentile(s, 50)), p95=lambda s: float(np.percentile(s, 95)),
            max="max", n="size").reset_index().to_dict(orient="records")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"{args.sessions} sessions x {args.rounds} rounds x {len(MENU) + 1} pages on {n_sentences:,} sentences: "
          f"p50 {result['p50']:.2f} s, p95 {result['p95']:.2f} s, max {result['max']:.2f} s, "
          f"{len(result['errors'])} errors, peak server memory {result['peak_server_rss_mb']:.0f} MB")
    if len(server):
        print(f"server time per script run ({len(server)} runs): p50 {result['server_p50']:.2f} s, "
              f"p95 {result['server_p95']:.2f} s")
    cpu = result["cpu_seconds"]
    print(f"CPU seconds over the {wall:.0f} s run: server {cpu['server']:.0f}, browsers {cpu['browsers']:.0f}, "
          f"of {cpu['available']:.0f} available on {os.cpu_count()} cores")
    server_pages = {r["page"].lower(): r for r in result.get("server_per_page", [])}
    print("| page | p50 s | p95 s | max s | visits | server p50 s | server p95 s |\n|---|---:|---:|---:|---:|---:|---:|")
    for page, r in per_page.iterrows():
        sv = server_pages.get(page, {})
        print(f"| {page} | {r['p50']:.2f} | {r['p95']:.2f} | {r['max']:.2f} | {int(r['n'])} | "
              f"{sv.get('p50', float('nan')):.2f} | {sv.get('p95', float('nan')):.2f} |")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
