"""Step 4 of the seed study: how well do themes and frames match the hand labels?

Themes: each labelled body sentence's theme against `tests/data/seed_labels.csv` (precision,
recall and F1 per theme, macro F1, adjusted Rand index, unassigned share). Frames: the study's
`frame` column against the primary frames in `tests/data/frame_labels.csv` (accuracy, Cohen's
kappa, majority baseline). Prints both and writes STUDY/evaluation.json, which the report quotes.

    python research/04_evaluate.py [--out artifacts/seed]
"""
import argparse
import math
from pathlib import Path

import pandas as pd
from sklearn.metrics import accuracy_score, cohen_kappa_score

from framescope.artifacts import read_table, sha256_file, write_json
from framescope.validate.evaluate import evaluate_study, format_report, normalise_text

REPO_ROOT = Path(__file__).resolve().parents[1]

THEME_LABELS = REPO_ROOT / "tests" / "data" / "seed_labels.csv"
FRAME_LABELS = REPO_ROOT / "tests" / "data" / "frame_labels.csv"

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=REPO_ROOT / "artifacts" / "seed")
out = parser.parse_args().out.resolve()


def plain(value):
    """JSON without NaN: a missing score (a theme nobody labelled) becomes null."""
    return None if isinstance(value, float) and math.isnan(value) else value


themes = evaluate_study(out, THEME_LABELS)
print(format_report(themes))

key = lambda df: df["source"].astype(str) + "|" + df["text"].map(normalise_text)  # noqa: E731
sentences = read_table(out, "sentences")
gold = pd.read_csv(FRAME_LABELS).assign(_key=key).merge(sentences.assign(_key=key)[["_key", "frame"]],
                                                        on="_key", suffixes=("", "_study"))
majority = gold["frame"].value_counts().sort_index().idxmax()
frames = {"labels": FRAME_LABELS.relative_to(REPO_ROOT).as_posix(), "n": len(gold),
          "accuracy": accuracy_score(gold["frame"], gold["frame_study"]),
          "kappa": cohen_kappa_score(gold["frame"], gold["frame_study"]),
          "majority_frame": majority, "majority_baseline": float((gold["frame"] == majority).mean())}
print(f"\nframes: {frames['n']} labelled sentences, accuracy {frames['accuracy']:.2f} "
      f"(majority {frames['majority_baseline']:.2f}), kappa {frames['kappa']:.2f}")

record = {"labels": THEME_LABELS.relative_to(REPO_ROOT).as_posix(), "labels_sha256": sha256_file(THEME_LABELS)}
record |= {k: plain(v) for k, v in themes.items() if k not in ("study", "per_theme", "unmatched")}
record["per_theme"] = [{k: plain(v) for k, v in r.items()} for r in themes["per_theme"].to_dict("records")]
record["unmatched"] = themes["unmatched"]
record["frames"] = frames | {"labels_sha256": sha256_file(FRAME_LABELS)}
write_json(record, out / "evaluation.json")
