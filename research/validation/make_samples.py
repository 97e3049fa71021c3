"""Draw the labelling samples: research/validation/<set>/sample.csv, 320 body sentences per set.

Sentences are framescope's own (ingest.load_documents + ingest.segment.sentence_table on the set's
corpus.csv with the default IngestConfig), so `sentence_id` joins to a framescope run of the same file.
The sample is stratified by source: proportional allocation (largest remainder), at least 40 per
source; within a source a seeded random draw; the items are then shuffled with a seeded permutation.

    PYTHONPATH=src python research/validation/make_samples.py [set ...]
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from framescope.config import IngestConfig
from framescope.ingest.corpus import load_documents
from framescope.ingest.segment import sentence_table

HERE = Path(__file__).resolve().parent
SETS = ("news", "speeches", "official")
N_ITEMS, MIN_PER_SOURCE, SEED = 320, 40, 20240602


def allocation(sizes: pd.Series, n: int = N_ITEMS, floor: int = MIN_PER_SOURCE) -> dict[str, int]:
    """Proportional allocation by largest remainder, raised to `floor` per source, still summing to n."""
    sizes = sizes.sort_index()
    if len(sizes) * floor > n or (sizes < floor).any():
        raise SystemExit(f"cannot draw {floor} per source from {sizes.to_dict()} within {n}")
    quota = sizes / sizes.sum() * n
    alloc = np.floor(quota).astype(int)
    for src in (quota - alloc).sort_values(ascending=False, kind="stable").index[: n - alloc.sum()]:
        alloc[src] += 1
    alloc = alloc.clip(lower=floor)
    while alloc.sum() > n:                       # take the excess from the largest allocations
        alloc[alloc[alloc > floor].sort_values(ascending=False, kind="stable").index[0]] -= 1
    return {k: int(v) for k, v in alloc.items()}


def sentences(corpus: Path) -> pd.DataFrame:
    docs = load_documents([str(corpus)], IngestConfig())
    table = sentence_table(docs).sort_values(["doc_id", "position"], kind="stable").reset_index(drop=True)
    prev1 = table.groupby("doc_id")["text"].shift(1)
    prev2 = table.groupby("doc_id")["text"].shift(2)
    table["context"] = [" ".join(x for x in (p2, p1) if isinstance(x, str)) for p2, p1 in zip(prev2, prev1)]
    return table


def sample(name: str) -> pd.DataFrame:
    table = sentences(HERE / name / "corpus.csv")
    body = table[table["is_body"]]
    alloc = allocation(body.groupby("source").size())
    rng = np.random.default_rng(SEED + SETS.index(name))
    parts = []
    for src, k in alloc.items():
        pool = body[body["source"] == src].sort_values("sentence_id")
        parts.append(pool.iloc[np.sort(rng.choice(len(pool), size=k, replace=False))])
    drawn = pd.concat(parts, ignore_index=True)
    drawn = drawn.iloc[rng.permutation(len(drawn))].reset_index(drop=True)
    out = pd.DataFrame({"item": np.arange(1, len(drawn) + 1), "sentence_id": drawn["sentence_id"],
                        "source": drawn["source"], "context": drawn["context"], "sentence": drawn["text"]})
    out.to_csv(HERE / name / "sample.csv", index=False, lineterminator="\n")
    print(f"{name}: {len(table)} sentences, {len(body)} body, {table['doc_id'].nunique()} documents; "
          f"sample {len(out)} {alloc}")
    return out


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.ERROR)
    for name in argv or SETS:
        sample(name)


if __name__ == "__main__":
    main(sys.argv[1:])
