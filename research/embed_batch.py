"""MiniLM's encode time by batch size, in one process, the sizes alternating (session 14).

framescope's encoder sorts the texts by length, cuts them into batches of ``embed.batch_size``
and pads every batch to a multiple of 16 tokens. This times ``encode`` on the first N body
sentences of the held-out news10k bench corpus with each batch size in turn, ``--repeats`` times,
alternating so that the machine's load falls on every size alike, and reports the median and
whether the vectors differ from the first size's.

    python research/bench.py --sizes news10k --configs bertopic   # builds the corpus once
    python research/embed_batch.py --sizes 64,32 --n 4000 --repeats 3

A benchmark, not a test: the figures are this machine's (docs/performance.md, "Session 14").
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from framescope.config import EmbedConfig
from framescope.embed.encoders import get_embedder

WORK = Path(os.environ.get("FRAMESCOPE_BENCH_DIR", "/tmp/framescope-bench"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="64,32")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    sentences = pd.read_parquet(WORK / "corpora" / "news10k" / "sentences.parquet", columns=["text", "is_body"])
    texts = sentences.loc[sentences["is_body"], "text"].astype(str).tolist()[:args.n]
    sizes = [int(s) for s in args.sizes.split(",")]
    embedder = get_embedder(EmbedConfig())
    embedder.encode(["load the model first"])
    times: dict[int, list[float]] = {s: [] for s in sizes}
    vectors: dict[int, np.ndarray] = {}
    for _ in range(args.repeats):
        for size in sizes:
            embedder.batch_size = size
            start = time.perf_counter()
            vectors[size] = embedder.encode(texts)
            times[size].append(time.perf_counter() - start)
    first = vectors[sizes[0]]
    for size in sizes:
        diff = np.abs(vectors[size] - first).max(axis=1)
        print(f"batch {size:3d}: median {np.median(times[size]):.2f} s of {[round(t, 2) for t in times[size]]}; "
              f"{len(texts)} texts; rows differing from batch {sizes[0]}: {int((diff > 0).sum())} "
              f"(max {diff.max():.1e})")


if __name__ == "__main__":
    main()
