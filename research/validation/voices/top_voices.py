"""The most frequent voices of a corpus, merged over the corpus as a framescope study merges them.

Segments a corpus CSV (doc_id, source, text, ...) with framescope's own ingest (default IngestConfig),
finds each body sentence's voice (framescope.measures.voices.voice_frame: spaCy parser + NER), and
prints the top speakers over all themes with their kind, sentence count, merged aliases and one
example; plus timings (wall and CPU seconds of the voices, and the pipeline's load apart).

    PYTHONPATH=src python research/validation/voices/top_voices.py research/validation/speeches/corpus.csv [--top 40]
"""
from __future__ import annotations

import argparse
import logging
import time

import pandas as pd

from framescope.config import IngestConfig
from framescope.ingest.corpus import load_documents
from framescope.ingest.segment import sentence_table
from framescope.measures.speakers import english_pipeline, has_cue
from framescope.measures.voices import voice_counts, voice_frame, voices_from_counts


def top_voices(corpus: str, top: int) -> pd.DataFrame:
    docs = load_documents([corpus], IngestConfig())
    sentences = sentence_table(docs)
    body = sentences[sentences["is_body"]]
    t0 = time.perf_counter()
    english_pipeline()  # loaded once per process (spaCy import, hash check): timed apart
    load = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    framed = pd.concat([sentences, voice_frame(sentences)], axis=1)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    table = voices_from_counts(voice_counts(framed.assign(theme="all", source="all")))
    n_cue = int(body["text"].map(has_cue).sum())
    print(f"{corpus}: {len(docs)} documents, {len(body)} body sentences, {n_cue} with a speech cue "
          f"(parsed), {int(framed['voice'].notna().sum())} with a voice, {len(table)} voices; "
          f"voices took {seconds:.1f} s ({cpu:.1f} s CPU), after {load:.1f} s loading the pipeline")
    text = framed.set_index("sentence_id")["text"]
    head = table.head(top)
    for r in head.itertuples():
        aliases = "; ".join(a for a in r.aliases if a != r.speaker)
        print(f"{r.n:4d}  {r.speaker} [{r.kind}]" + (f"  (also: {aliases})" if aliases else "")
              + f"\n      {text[r.example_sentence_id][:140]}")
    return table


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="+")
    ap.add_argument("--top", type=int, default=40)
    args = ap.parse_args()
    for corpus in args.corpus:
        top_voices(corpus, args.top)


if __name__ == "__main__":
    main()
