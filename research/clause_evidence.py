"""Clause evidence on or off (`themes.clause_evidence`): what it does to the held-out validation
figures and to the time of a cold codebook run. Not a test; docs/themes.md, "Clause evidence".

1. The three held-out sets (research/validation/, scored as `research/validation/run.py` scores
   them) and the seed (its reader's labels, and how far its themes move: adjusted Rand index
   against the study built with clauses), each built with clause evidence off; the figures with it
   on are run.py's own (`research/validation/results.json`, `artifacts/seed/`).
2. `--time N`: N cold runs each way of the `speeches` set with its codebook (fresh process, empty
   caches), one after the other, with the stage timings of each.

    python research/clause_evidence.py [--out /tmp/clause-evidence] [--time 2]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "validation"))

TIMED = """
import json, sys, time
t0 = time.perf_counter()
from framescope.config import IngestConfig, RunConfig, ThemeConfig
from framescope.engines.pipeline import run
folder, out, on = sys.argv[1], sys.argv[2], sys.argv[3] == "on"
cfg = RunConfig(inputs=[folder + "/corpus.csv"], out=out,
                ingest=IngestConfig(text_col="text", source_col="source", title_col="title"),
                themes=ThemeConfig(codebook=folder + "/codebook.yaml", clause_evidence=on))
run(cfg, progress=False)
stages = json.load(open(out + "/manifest.json"))["timings"]
print(json.dumps({"clause_evidence": on, "wall_s": round(time.perf_counter() - t0, 1),
                  "themes_s": round(stages["themes"], 1), "embed_s": round(stages["embed"], 1)}))
"""


def held_out(out: Path) -> None:
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    import run as R  # research/validation/run.py
    from framescope.config import seed_config
    from framescope.engines.pipeline import run
    from framescope.validate.evaluate import evaluate_assignments, read_labels

    shipped = {r["set"]: r for r in json.loads((HERE / "validation" / "results.json").read_text())}
    print("| set | clause evidence | macro F1 | worst theme | largest / mean emphasis error |")
    print("| --- | --- | --- | --- | --- |")
    for name in R.SETS:
        off = R.evaluate(name, out, clause_evidence=False)
        for label, r in (("on (shipped)", shipped[name]), ("off", off)):
            print(f"| {name} | {label} | {r['macro_f1']:.3f} | {r['worst_theme']} | "
                  f"{100 * r['emphasis_error_max']:.1f} / {100 * r['emphasis_error_mean']:.1f} pp |")
    seed_out = out / "seed"
    if not (seed_out / "manifest.json").is_file():
        run(seed_config().model_copy(update={"out": str(seed_out), "themes": seed_config().themes.model_copy(
            update={"clause_evidence": False})}), progress=False)
    labels = read_labels(ROOT / "tests" / "data" / "seed_labels.csv")
    for label, study in (("on (shipped)", ROOT / "artifacts" / "seed"), ("off", seed_out)):
        s = pd.read_parquet(study / "sentences.parquet")
        keys = [t for t in pd.read_parquet(study / "themes.parquet").query("named")["theme"]]
        r = evaluate_assignments(s[s["is_body"]], labels, keys)
        f1 = dict(zip(r["per_theme"]["theme"], r["per_theme"]["f1"]))
        print(f"| seed (smoke test) | {label} | {r['macro_f1']:.3f} | min {min(f1.values()):.3f} | |")
    a = pd.read_parquet(ROOT / "artifacts" / "seed" / "sentences.parquet").query("is_body")
    b = pd.read_parquet(seed_out / "sentences.parquet").query("is_body")
    m = a.merge(b, on="sentence_id")
    print(f"\nseed themes, off against on: adjusted Rand {adjusted_rand_score(m['theme_x'], m['theme_y']):.3f}, "
          f"{int((m['theme_x'] != m['theme_y']).sum())} of {len(m)} sentences moved")


def timed(n: int) -> None:
    folder = HERE / "validation" / "speeches"
    for _ in range(n):
        for way in ("on", "off"):
            with tempfile.TemporaryDirectory() as tmp:
                env = dict(os.environ, FRAMESCOPE_CACHE_DIR=f"{tmp}/cache", HF_HUB_OFFLINE="1")
                done = subprocess.run([sys.executable, "-c", TIMED, str(folder), f"{tmp}/study", way], env=env,
                                      capture_output=True, text=True, check=True)
                print(done.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "clause-evidence")
    ap.add_argument("--time", type=int, default=0, help="cold runs each way of the speeches set")
    args = ap.parse_args()
    t0 = time.perf_counter()
    held_out(args.out)
    timed(args.time)
    print(f"\n{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
