"""The seed with the researcher's labels, checked by an independent reader (issue 11's seed target:
"with your labels, every named theme F1 >= 0.90").

The seed is a smoke test: its codebook was written by reading it. Reader 1 is the researcher
(`tests/data/seed_labels.csv`, every body sentence); reader 2 labelled the same 92 sentences blind,
from `seed/GUIDELINES.md` only (`seed/labels_reader_b.csv`). This script

1. runs the seed with no labels (zero-shot) and with reader 1's labels (`framescope run --labels`),
2. scores each study's named themes against reader 2, per theme (F1) and overall (macro F1,
   Cohen's kappa), beside reader 1 against reader 2 (the agreement of the two readers, the ceiling
   of any study that follows reader 1),
3. gives the cross-validated figures the labelled run records (each labelled sentence predicted
   without its own label), the honest measure of what the labels teach the rule.

    python research/validation/seed_check.py      # writes research/validation/seed/results.md
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score, f1_score

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = ROOT / "artifacts" / "validation" / "seed_check"
KEYS = ["climate", "border_settlement", "wolf_warrior_diplomacy", "bri_coercion"]


def run(out: Path, *extra: str) -> Path:
    cmd = [sys.executable, "-m", "framescope.cli", "--quiet", "run", "--out", str(out), *extra]  # the seed study
    subprocess.run(cmd, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return out


def reader_one(study: Path) -> pd.DataFrame:
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import seed_labels_by_id

    return seed_labels_by_id(study)


def scores(truth: pd.Series, pred: pd.Series) -> dict:
    pred = pred.where(pred.isin(KEYS), "none")
    per = f1_score(truth, pred, labels=KEYS, average=None, zero_division=0.0)
    return {"macro_f1": round(float(np.mean(per)), 3), "kappa": round(float(cohen_kappa_score(truth, pred)), 3),
            **{k: round(float(f), 3) for k, f in zip(KEYS, per)}}


def _md(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, df.columns)) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join("| " + " | ".join(str(v) for v in r) + " |\n" for r in df.itertuples(index=False))


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    plain = run(OUT / "zero_shot")
    one = reader_one(plain)
    one.to_csv(OUT / "reader_one.csv", index=False)
    labelled = run(OUT / "with_labels", "--labels", str(OUT / "reader_one.csv"))
    two = pd.read_csv(HERE / "seed" / "labels_reader_b.csv", dtype=str)
    truth = two.set_index("sentence_id")["label"]
    rows = []
    for name, folder in (("zero-shot (no labels)", plain), ("with reader 1's 92 labels", labelled)):
        themes = pd.read_parquet(folder / "sentences.parquet").set_index("sentence_id")["theme"]
        rows.append({"study": name, **scores(truth, themes.reindex(truth.index).fillna("none"))})
    r1 = one.set_index("sentence_id")["label"].reindex(truth.index).fillna("none")
    rows.append({"study": "reader 1 itself (the readers' agreement)", **scores(truth, r1)})
    table = pd.DataFrame(rows)
    model = json.loads((labelled / "model" / "theme_model.json").read_text())
    cv = model["recalibration"]["cross_validation"]
    oof = pd.Series({k: (v or "none") for k, v in model["recalibration"]["out_of_fold"].items()})
    oof_vs_two = scores(truth, oof.reindex(truth.index).fillna("none"))
    text = ("# The seed with the researcher's labels, checked by an independent reader\n\n"
            "Written by `python research/validation/seed_check.py`. A smoke test, not a benchmark: the seed's "
            "codebook was written by reading it. Reader 2 labelled the 92 body sentences blind "
            "(`seed/GUIDELINES.md`, `seed/labels_reader_b.csv`); reader 1 is `tests/data/seed_labels.csv`. "
            "Each study's named themes against reader 2 (F1 per theme; a sentence outside the four themes "
            "counts as none):\n\n"
            + _md(table) +
            "\n\nCross-validated, as the labelled run records it (each labelled sentence predicted by the rule "
            f"calibrated without its own label; {cv['folds']} folds): macro F1 against reader 1 "
            f"{cv['macro_f1_before']:.2f} without labels, {cv['macro_f1_after']:.2f} with the other folds' labels; "
            f"the same out-of-fold predictions against reader 2: macro F1 {oof_vs_two['macro_f1']:.2f}, "
            f"kappa {oof_vs_two['kappa']:.2f}.\n")
    print(text)
    (HERE / "seed" / "results.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
