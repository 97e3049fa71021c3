"""Many small sources (issue 14, "Framing blows up with many sources"). Not a test.

Writes corpora of N documents of two sentences each, every document its own source, with the
sentences drawn (seeded) from the held-out validation corpora (``research/validation/*/corpus.csv``):

    python research/sources_scale.py corpus 200 /tmp/fs-scale/sources_200.csv

then a full run of one of them, timed with GNU time (wall time and peak memory), for example

    /usr/bin/time -v framescope run /tmp/fs-scale/sources_200.csv --out /tmp/fs-scale/run_200 \
        --codebook seeds/codebook.yaml

``python research/sources_scale.py stages CSV`` times the table-level measure stages alone
(``measure_partials``, ``measure_tables``, the exemplar and contrast candidates) on synthetic
themed sentences of the corpus (themes, tone, frames and vectors drawn at random, seeded), so
that no model is involved: the part of a run whose cost issue 14 is about.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ["news", "official", "speeches"]


def sentence_pool() -> list[str]:
    """Sentences of 6-40 words from the validation corpora, in corpus order (a plain split on
    sentence-final punctuation; framescope segments the documents again when it reads them)."""
    out = []
    for name in CORPORA:
        for text in pd.read_csv(ROOT / "research" / "validation" / name / "corpus.csv")["text"].dropna():
            for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", str(text)):
                s = " ".join(s.split())
                if 6 <= len(s.split()) <= 40 and s[-1] in ".!?":
                    out.append(s)
    return out


def corpus(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` documents of two sentences each, source ``s00000`` ... (one source per document)."""
    pool = sentence_pool()
    pick = np.random.default_rng(seed).choice(len(pool), size=(n, 2), replace=len(pool) < 2 * n)
    width = max(5, len(str(n)))
    return pd.DataFrame({"source": [f"s{i:0{width}d}" for i in range(n)],
                         "text": [f"{pool[a]} {pool[b]}" for a, b in pick]})


def themed_sentences(n_sources: int, n_themes: int = 12, per_source: int = 2, dim: int = 384,
                     seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A themed sentence table as the sentence-measures stage leaves it (one document and
    paragraph per source, ``per_source`` body sentences each; theme, tone, frame and voice drawn
    at random, seeded) and unit vectors for it."""
    rng = np.random.default_rng(seed)
    pool = sentence_pool()
    n = n_sources * per_source
    width = max(5, len(str(n_sources)))
    src = np.repeat([f"s{i:0{width}d}" for i in range(n_sources)], per_source)
    themes = np.array([f"t{j:02d}" for j in range(n_themes)] + ["unassigned"])
    frames = ["economic", "political", "security_defense", "other"]
    df = pd.DataFrame({
        "sentence_id": [f"{s}-{k:04d}" for s, k in zip(src, np.tile(np.arange(per_source), n_sources))],
        "doc_id": src, "source": src, "paragraph": 0, "position": np.tile(np.arange(per_source), n_sources),
        "text": [pool[i] for i in rng.integers(0, len(pool), n)], "is_body": True,
        "theme": themes[rng.integers(0, len(themes), n)], "also_themes": [[] for _ in range(n)],
        "tone": np.round(rng.uniform(-1, 1, n), 4), "frame": [frames[i] for i in rng.integers(0, len(frames), n)],
        "voice": None,
    })
    df["n_words"] = df["text"].str.split().str.len()
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    return df, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def time_stages(n_sources: int) -> dict[str, float]:
    """Seconds of each table-level measure step on :func:`themed_sentences` of ``n_sources``."""
    from framescope.config import MeasureConfig
    from framescope.measures.framing import candidate_partials, load_frames, measure_partials, measure_tables
    from framescope.measures.framing import settle_candidates, study_centroids

    cfg, frames = MeasureConfig(), load_frames()
    sentences, vectors = themed_sentences(n_sources)
    out, t = {}, time.perf_counter()
    partials = [measure_partials(sentences, vectors, cfg)]
    out["partials"], t = time.perf_counter() - t, time.perf_counter()
    tables = measure_tables(partials, cfg, frames, None)
    out["tables"], t = time.perf_counter() - t, time.perf_counter()
    centroids = study_centroids(partials)
    settle_candidates(lambda limit: [candidate_partials(sentences, vectors, cfg, centroids,
                                                        [(sentences, vectors)], limit)], cfg)
    out["candidates"] = time.perf_counter() - t
    out["rows"] = {k: len(v) for k, v in tables.items()}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("corpus")
    c.add_argument("n", type=int)
    c.add_argument("out", type=Path)
    s = sub.add_parser("stages")
    s.add_argument("n", type=int)
    args = ap.parse_args(argv)
    if args.cmd == "corpus":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        corpus(args.n).to_csv(args.out, index=False)
        print(f"{args.out}: {args.n} documents, {args.n} sources")
    else:
        print(time_stages(args.n))


if __name__ == "__main__":
    main(sys.argv[1:])
