"""Score the voices labels: reader agreement, then framescope's precision and recall on the agreed items.

Reads `sample.csv` and the two readers' `labels_reader_a.csv` / `labels_reader_b.csv` (columns `item`,
`speakers`: canonical names separated by ';', empty for no voice; GUIDELINES.md), runs framescope's
voices on each set's whole corpus (so that a sentence's document context resolves roles, pronouns
and short names exactly as in a study), and prints:

- agreement between the readers: the share of items whose speaker sets match, and Cohen's kappa
  on "the sentence has a voice";
- on the items where the readers agree (disagreements are dropped, not adjudicated): framescope's
  speaker-level precision (its speakers that the readers name), recall (the readers' speakers that
  it finds) and F1, each with a Wilson 95% interval, overall and per set.

Names are compared after normalisation (lower case, punctuation and titles dropped); two names are
one speaker when equal, or when one is the other's surname or first name, or the shorter's words
all occur in the longer with the same surname ("Romney" = "Mitt Romney" = "Willard Mitt Romney").

    PYTHONPATH=src python research/validation/voices/score.py [--json results.json]
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

import pandas as pd
from scipy.stats import binomtest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from framescope.measures.speakers import TITLES  # noqa: E402


def normalise(name: str) -> tuple[str, ...]:
    """A name as lower-case words, without punctuation, possessive or leading titles."""
    words = re.sub(r"['\u2019]s\b", "", str(name).lower())
    words = re.sub(r"[^\w\s-]", " ", words).split()
    while len(words) > 1 and (words[0] in TITLES or f"{words[0]}." in TITLES):
        words = words[1:]
    return tuple(words)


def same_speaker(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if not a or not b:
        return False
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    if len(short) == 1:
        return short[0] in (long_[0], long_[-1])
    return short[-1] == long_[-1] and set(short) <= set(long_)


def speakers(cell) -> list[tuple[str, ...]]:
    """The normalised names of one label cell ('' or NaN: none)."""
    if not isinstance(cell, str):
        return []
    return [n for n in (normalise(x) for x in cell.split(";")) if n]


def matched(pred: list, gold: list) -> int:
    """Names of ``pred`` matched one-to-one to names of ``gold`` (greedy, in order)."""
    free = list(gold)
    hits = 0
    for p in pred:
        for g in free:
            if same_speaker(p, g):
                free.remove(g)
                hits += 1
                break
    return hits


def agree(a: list, b: list) -> bool:
    return len(a) == len(b) == matched(a, b)


def cohen_kappa(x: list[bool], y: list[bool]) -> float | None:
    n = len(x)
    if not n:
        return None
    po = sum(i == j for i, j in zip(x, y)) / n
    px, py = sum(x) / n, sum(y) / n
    pe = px * py + (1 - px) * (1 - py)
    return None if pe == 1 else (po - pe) / (1 - pe)


def wilson(k: int, n: int) -> list[float | None]:
    if not n:
        return [None, None]
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return [round(ci.low, 3), round(ci.high, 3)]


def score(sample: pd.DataFrame, labels_a: pd.DataFrame, labels_b: pd.DataFrame,
          predicted: dict[str, str | None]) -> dict:
    """Agreement and framescope's precision/recall; ``predicted`` maps sentence_id -> framescope's
    speaker (or None)."""
    for name, lab in (("a", labels_a), ("b", labels_b)):
        missing = set(sample["item"]) - set(lab["item"])
        if missing:
            raise SystemExit(f"labels_reader_{name}.csv lacks {len(missing)} items, e.g. {sorted(missing)[:5]}")
    a = labels_a.set_index("item")["speakers"].map(speakers)
    b = labels_b.set_index("item")["speakers"].map(speakers)
    rows = []
    for r in sample.itertuples():
        pred = predicted.get(r.sentence_id)
        rows.append({"item": r.item, "set": r.set, "a": a[r.item], "b": b[r.item],
                     "pred": [normalise(pred)] if pred else []})
    df = pd.DataFrame(rows)
    df["agree"] = [agree(x, y) for x, y in zip(df["a"], df["b"])]
    out = {"items": len(df), "agreement": {
        "share_agreeing": round(float(df["agree"].mean()), 3),
        "kappa_has_voice": _round(cohen_kappa([bool(x) for x in df["a"]], [bool(y) for y in df["b"]])),
        "dropped": int((~df["agree"]).sum())}}
    for scope, part in [("all", df)] + [(s, df[df["set"] == s]) for s in sorted(df["set"].unique())]:
        gold = part[part["agree"]]
        tp = sum(matched(p, g) for p, g in zip(gold["pred"], gold["a"]))
        n_pred, n_gold = sum(map(len, gold["pred"])), sum(map(len, gold["a"]))
        p = tp / n_pred if n_pred else None
        r = tp / n_gold if n_gold else None
        out[scope] = {"agreed_items": len(gold), "gold_speakers": n_gold, "predicted_speakers": n_pred,
                      "matched": tp, "precision": _round(p), "precision_ci": wilson(tp, n_pred),
                      "recall": _round(r), "recall_ci": wilson(tp, n_gold),
                      "f1": _round(2 * p * r / (p + r) if p and r else None)}
    return out


def _round(x):
    return None if x is None else round(float(x), 3)


def framescope_voices(sets: list[str]) -> dict[str, str | None]:
    """framescope's voice of every body sentence of the sets' corpora (sentence_id -> name)."""
    from make_samples import sentences as segmented

    from framescope.measures.voices import voice_frame

    out: dict[str, str | None] = {}
    for name in sets:
        table = segmented(HERE.parent / name / "corpus.csv")
        found = voice_frame(table)
        out.update(zip(table["sentence_id"], found["voice"]))
    return out


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    sample = pd.read_csv(HERE / "sample.csv")
    files = [HERE / "labels_reader_a.csv", HERE / "labels_reader_b.csv"]
    for f in files:
        if not f.is_file():
            raise SystemExit(f"{f.name} not found: the readers' labels come first (GUIDELINES.md)")
    labels = [pd.read_csv(f, dtype={"speakers": str}, keep_default_na=False) for f in files]
    result = score(sample, *labels, framescope_voices(sorted(sample["set"].unique())))
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
