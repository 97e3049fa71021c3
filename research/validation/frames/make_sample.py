"""Draw the frames labelling sample: research/validation/frames/sample.csv (600 body sentences).

From each held-out set (news, speeches, official: research/validation/<set>/corpus.csv), 200 body
sentences from framescope's own segmentation (the same `sentence_id` a framescope run of the file
gives), stratified by source (proportional, largest remainder, at least 40 per source), drawn at
random with a fixed seed that differs from the theme samples' seeds. Items are numbered within the
file and shuffled within each set. The file holds no framescope output: the readers label blind.

    PYTHONPATH=src python research/validation/frames/make_sample.py
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from make_samples import allocation, sentences  # noqa: E402  (the theme samples' segmentation)

SETS = ("news", "speeches", "official")
PER_SET, SEED = 200, 20261201


def draw(name: str, rng: np.random.Generator) -> pd.DataFrame:
    table = sentences(HERE.parent / name / "corpus.csv")
    body = table[table["is_body"]]
    alloc = allocation(body.groupby("source").size(), n=PER_SET)
    parts = []
    for src, k in alloc.items():
        pool = body[body["source"] == src].sort_values("sentence_id")
        parts.append(pool.iloc[np.sort(rng.choice(len(pool), size=k, replace=False))])
    drawn = pd.concat(parts, ignore_index=True)
    drawn = drawn.iloc[rng.permutation(len(drawn))].reset_index(drop=True).assign(set=name)
    print(f"{name}: {len(body)} body sentences; drew {len(drawn)} {alloc}")
    return drawn


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    rng = np.random.default_rng(SEED)
    drawn = pd.concat([draw(name, rng) for name in SETS], ignore_index=True)
    out = pd.DataFrame({"item": np.arange(1, len(drawn) + 1), "set": drawn["set"],
                        "sentence_id": drawn["sentence_id"], "source": drawn["source"],
                        "context": drawn["context"], "sentence": drawn["text"]})
    out.to_csv(HERE / "sample.csv", index=False, lineterminator="\n")
    print(f"wrote {HERE / 'sample.csv'}: {len(out)} items")


if __name__ == "__main__":
    main()
