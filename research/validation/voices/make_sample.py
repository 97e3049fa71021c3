"""Draw the voices labelling sample: research/validation/voices/sample.csv (160 body sentences).

From each of the held-out sets `speeches` and `news` (research/validation/<set>/corpus.csv), 80 body
sentences: 40 with a speech cue (a speech verb, a quotation mark or "according to": the sentences
framescope's parser reads) and 40 without, each drawn at random (seeded) from framescope's own
segmentation (the same `sentence_id` a framescope run of the same file gives). Items are shuffled
with a seeded permutation. The file holds no framescope output: the readers label blind.

    PYTHONPATH=src python research/validation/voices/make_sample.py
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from make_samples import sentences  # noqa: E402  (the theme samples' segmentation and context)

from framescope.measures.speakers import has_cue  # noqa: E402

SETS = ("speeches", "news")
PER_SET, SEED = 80, 20240615


def draw(name: str, rng: np.random.Generator) -> pd.DataFrame:
    table = sentences(HERE.parent / name / "corpus.csv")
    body = table[table["is_body"]].sort_values("sentence_id").reset_index(drop=True)
    cue = body["text"].map(has_cue)
    parts = []
    for pool in (body[cue], body[~cue]):
        parts.append(pool.iloc[np.sort(rng.choice(len(pool), size=PER_SET // 2, replace=False))])
    drawn = pd.concat(parts, ignore_index=True).assign(set=name)
    print(f"{name}: {len(body)} body sentences, {int(cue.sum())} with a speech cue; drew {len(drawn)}")
    return drawn


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    rng = np.random.default_rng(SEED)
    drawn = pd.concat([draw(name, rng) for name in SETS], ignore_index=True)
    drawn = drawn.iloc[rng.permutation(len(drawn))].reset_index(drop=True)
    out = pd.DataFrame({"item": np.arange(1, len(drawn) + 1), "set": drawn["set"],
                        "sentence_id": drawn["sentence_id"], "context": drawn["context"],
                        "sentence": drawn["text"]})
    out.to_csv(HERE / "sample.csv", index=False, lineterminator="\n")
    print(f"wrote {HERE / 'sample.csv'}: {len(out)} items")


if __name__ == "__main__":
    main()
