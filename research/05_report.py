"""Step 5 of the seed study: the exported topic report, STUDY/report.html and STUDY/report.md.

The HTML is one self-contained file (plots inline, no network) that prints sensibly; the
Markdown carries the same tables for pasting into a paper. Same as `framescope report STUDY`.

    python research/05_report.py [--out artifacts/seed]
"""
import argparse
from pathlib import Path

from framescope.report.build import write_report

REPO_ROOT = Path(__file__).resolve().parents[1]

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=REPO_ROOT / "artifacts" / "seed")
out = parser.parse_args().out.resolve()

for path in write_report(out):
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
