"""Time voices on the seed's sentences copied 100 times (new document and sentence ids), as in the
performance table of docs/measures.md; prints the pipeline's load time apart.

    PYTHONPATH=src python research/validation/voices/seed_copies_timing.py [--copies 100]
"""
from __future__ import annotations

import argparse
import time

import pandas as pd

from framescope.artifacts import read_table
from framescope.measures.speakers import english_pipeline, has_cue
from framescope.measures.voices import SENTENCE_COLUMNS, voice_frame


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=100)
    ap.add_argument("--study", default="artifacts/seed")
    args = ap.parse_args()
    s = read_table(args.study, "sentences")
    s = s.drop(columns=[c for c in SENTENCE_COLUMNS if c in s.columns])
    big = pd.concat([s.assign(doc_id=s["doc_id"] + f"-{k}", sentence_id=s["sentence_id"] + f"-{k}")
                     for k in range(args.copies)], ignore_index=True)
    t = time.perf_counter()
    english_pipeline()
    load = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    found = voice_frame(big)
    print(f"{len(big)} sentences, {int(big['text'].map(has_cue).sum())} with a speech cue: voices "
          f"{time.perf_counter() - t:.1f} s ({time.process_time() - c:.1f} s CPU), "
          f"{int(found['voice'].notna().sum())} with a voice; pipeline loaded in {load:.1f} s")


if __name__ == "__main__":
    main()
