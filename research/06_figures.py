"""Step 6 of the seed study: the main figures as PNG and SVG, for a paper.

Emphasis heatmap, emphasis with 95% CIs, and tone with 95% CIs, drawn with matplotlib into
STUDY/figures/. (Matplotlib rather than plotly's kaleido export: kaleido drives a Chrome it may
try to download, which is not reproducible offline.)

    python research/06_figures.py [--out artifacts/seed]
"""
import argparse
from pathlib import Path

from framescope.report.figures import save_figures

REPO_ROOT = Path(__file__).resolve().parents[1]

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=REPO_ROOT / "artifacts" / "seed")
out = parser.parse_args().out.resolve()

for path in save_figures(out):
    print(f"wrote {path}")
