"""Do the themes of a big study agree with those of a smaller study of the same texts?

Issue 13 asks that the 1M-sentence themes agree with the 100k themes "on the shared sentences".
`research/bench.py`'s 1M corpus is its 100k corpus repeated, each copy's documents with a first
line "Copy k", so the first copy's documents are the 100k documents in the same order. This pairs
each body sentence of the small study with the same document's body sentence of the same text
(and the same occurrence of that text) in the big study's first copy, and reports over the pairs:

- the adjusted Rand index and the normalised mutual information of the two theme assignments
  (scikit-learn; both are 1 for the same partition up to the themes' names, about 0 for chance);
- for each big theme, the share of its paired sentences that fall in its most common small theme
  (purity), and the same the other way round;
- each study's number of themes, the largest theme's share and the unassigned share, over all of
  its body sentences.

    python research/scale_agreement.py /tmp/framescope-bench/studies/100k-fs-wordllama \\
        /tmp/framescope-bench/studies/1m-fs-wordllama

Two studies of the same corpus pair the same way (the "first copy" is then the whole corpus), which
gives the yardstick: how well two runs of the 100k corpus with different seeds agree (a different
fit sample and UMAP seed), for example

    FRAMESCOPE_CACHE_DIR=/tmp/framescope-bench/cache/100k/wordllama framescope run \\
        /tmp/framescope-bench/corpora/100k/corpus.parquet --out /tmp/s100k_seed1 \\
        --embedder wordllama --max-file-mb 4000 --seed 1
    python research/scale_agreement.py /tmp/framescope-bench/studies/100k-fs-wordllama \\
        /tmp/s100k_seed1 --out artifacts/bench/scale_agreement_seeds.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from framescope.themes.codebook import UNASSIGNED

COLUMNS = ["doc_id", "position", "text", "is_body", "theme"]


def body(study: Path) -> pd.DataFrame:
    s = pd.read_parquet(study / "sentences.parquet", columns=COLUMNS)
    s = s[s["is_body"].fillna(False).astype(bool)].sort_values(["doc_id", "position"], kind="stable")
    return s.assign(theme=s["theme"].astype(str))


def granularity(s: pd.DataFrame) -> dict:
    counts = s["theme"].value_counts()
    themes = counts.drop(UNASSIGNED, errors="ignore")
    return {"body_sentences": int(len(s)), "themes": int(len(themes)),
            "largest_share": round(float(themes.max() / len(s)), 4) if len(themes) else None,
            "unassigned_share": round(float(counts.get(UNASSIGNED, 0) / len(s)), 4)}


def paired(small: pd.DataFrame, large: pd.DataFrame) -> pd.DataFrame:
    """Small and big themes of the same sentence: document by order, then text and occurrence."""
    small_docs = sorted(small["doc_id"].unique())
    large_docs = sorted(large["doc_id"].unique())[: len(small_docs)]
    rename = dict(zip(large_docs, small_docs))  # the first copy's documents, in order
    large = large[large["doc_id"].isin(rename)].assign(doc_id=lambda d: d["doc_id"].map(rename))
    keys = []
    for s in (small, large):
        keys.append(s.assign(k=s.groupby(["doc_id", "text"]).cumcount())[["doc_id", "text", "k", "theme"]])
    return keys[0].merge(keys[1], on=["doc_id", "text", "k"], suffixes=("_small", "_large"), validate="one_to_one")


def purity(pairs: pd.DataFrame, by: str, other: str) -> float:
    """Share of the pairs whose ``other`` theme is the most common one within their ``by`` theme."""
    top = pairs.groupby(by)[other].agg(lambda x: x.value_counts().iloc[0])
    return round(float(top.sum() / len(pairs)), 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("small", type=Path)
    ap.add_argument("large", type=Path)
    ap.add_argument("--out", type=Path, default=Path("artifacts/bench/scale_agreement.json"))
    args = ap.parse_args()
    small, large = body(args.small), body(args.large)
    pairs = paired(small, large)
    result = {
        "small": str(args.small), "large": str(args.large),
        "granularity": {"small": granularity(small), "large": granularity(large)},
        "pairs": int(len(pairs)), "small_body_sentences_paired": round(len(pairs) / len(small), 4),
        "adjusted_rand_index": round(float(adjusted_rand_score(pairs["theme_small"], pairs["theme_large"])), 4),
        "normalised_mutual_information": round(float(normalized_mutual_info_score(
            pairs["theme_small"], pairs["theme_large"])), 4),
        "purity_of_large_themes": purity(pairs, "theme_large", "theme_small"),
        "purity_of_small_themes": purity(pairs, "theme_small", "theme_large"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(args.out)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
