"""What each app page costs the browser, for one reader (issue 14's load). Not a test.

`research/app_load.py` times pages as ten readers see them; with the browsers on the same two
cores as the server, their rendering is most of the CPU used. This script serves a study
(`streamlit run app.py`, loopback, as the load script), opens it in one Chromium session and
visits every page by the sidebar menu ``--rounds`` times. For each visit after the first round
it reports the browser's CPU seconds (every Chromium process, from the click until the page's
script has finished plus 0.3 s), the renderer's main-thread task time (Chrome DevTools'
``Performance.getMetrics``: ``TaskDuration``, and ``ScriptDuration`` of it) and the wall time.

    python research/page_cost.py                       # the load study (artifacts/load/study)
    python research/page_cost.py --study DIR --pages themes,emphasis
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "research"))
from app_load import MENU, OUT, _title_is, build_study, tree_cpu  # noqa: E402
from browser_server import CHROMIUM, CHROMIUM_ARGS, start  # noqa: E402


async def visits(url: str, pages: list[str], rounds: int) -> dict[str, list[dict]]:
    from playwright.async_api import async_playwright

    seen: dict[int, float] = {}
    out: dict[str, list[dict]] = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
        page = await ctx.new_page()
        cdp = await ctx.new_cdp_session(page)
        await cdp.send("Performance.enable")

        async def metrics() -> dict:
            return {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}

        await page.goto(f"{url}/")
        await _title_is(page, "overview")
        for r in range(rounds):
            for name in pages:
                href = f"{url}/" + ("" if name == "overview" else name)
                cpu0, m0, t0 = tree_cpu(os.getpid(), "chrom", seen), await metrics(), time.perf_counter()
                await page.locator(f"[data-testid='stSidebarNav'] a[href='{href}']").click()
                await _title_is(page, name)
                await page.wait_for_timeout(300)
                wall, m1 = time.perf_counter() - t0, await metrics()
                cpu1 = tree_cpu(os.getpid(), "chrom", seen)
                if r:  # the first round warms the browser's caches
                    out.setdefault(name, []).append({
                        "browser_cpu": cpu1 - cpu0, "task": m1["TaskDuration"] - m0["TaskDuration"],
                        "script": m1["ScriptDuration"] - m0["ScriptDuration"], "wall": wall})
        await browser.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", type=Path, default=None)
    ap.add_argument("--pages", default=",".join(MENU))
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    study = args.study or build_study(OUT / "study")
    srv = start(study, OUT / "page-cost-server.log")
    try:
        found = asyncio.run(visits(srv.url, args.pages.split(","), args.rounds))
    finally:
        srv.stop()
    print("| page | browser CPU s | main-thread task s | of it script s | wall s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    total = 0.0
    for name, rows in found.items():
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        total += med["browser_cpu"]
        print(f"| {name} | {med['browser_cpu']:.2f} | {med['task']:.2f} | {med['script']:.2f} | {med['wall']:.2f} |")
    print(f"\nbrowser CPU per round of these pages (medians): {total:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
