"""Frames against two blind readers: agreement, and the leave-one-corpus-out choice of the scorer.

For each held-out set (news, speeches, official; `sample.csv` here, labelled by two readers per
set in `labels_reader_a.csv` / `labels_reader_b.csv`) this script reports

1. the readers' agreement (raw agreement, Cohen's kappa), and the gold standard: the items on
   which the two readers agree (disagreements are dropped, not adjudicated);
2. for every candidate frame scorer and setting of a fixed grid: Cohen's kappa and accuracy
   against the gold items, macro F1 over the frames, the share of the set's body sentences the
   scorer calls `other` (against the readers' share of `other`), and the largest error of a
   source's frame share against the gold sample's share;
3. leave one corpus out: for each held-out set, the setting with the best mean kappa on the
   other sets (the seed's 92 developer-labelled sentences, `tests/data/frame_labels.csv`,
   take part in the choice but are never reported as held out), reported on the held-out set.

    PYTHONPATH=src python research/validation/frames/run.py   # -> results.md, results.json

The candidates (all read the bundled frames file, `src/framescope/data/frames.yaml`):
- `fixed`: framescope's former scorer: cos(sentence, description) + cue bonus, `other` below a
  fixed threshold;
- `zscore`: the same evidence, standardised per frame over the corpus' body sentences, so that
  a frame whose description is close to everything does not win everything;
- `corpus`: the corpus-calibrated rule of the named themes (themes.assignment.calibrate) on the
  frame evidence: sure examples per frame, the weakest sentences as `other`, a balanced logistic
  regression on the sentence vectors.
Each on raw sentence vectors and on the pipeline's in-context vectors.
"""
from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score, f1_score

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))
from make_samples import sentences as set_sentences  # noqa: E402

from framescope.config import SEED_ROOT, EmbedConfig, IngestConfig  # noqa: E402
from framescope.embed.encoders import get_embedder, normalise  # noqa: E402
from framescope.embed.vectors import context_mix, sentence_vectors  # noqa: E402
from framescope.ingest.corpus import load_documents  # noqa: E402
from framescope.ingest.segment import sentence_table  # noqa: E402
from framescope.measures.frames import VALIDATION, FALLBACK, cue_counts, frame_prototypes, frames_digest, load_frames  # noqa: E402
from framescope.themes.assignment import calibrate  # noqa: E402
from framescope.validate.evaluate import normalise_text  # noqa: E402

SETS = ("news", "speeches", "official")
ALL = SETS + ("seed",)


# --------------------------------------------------------------------------- labels

def readers() -> pd.DataFrame:
    """sample.csv with both readers' frames (`frame_a`, `frame_b`)."""
    sample = pd.read_csv(HERE / "sample.csv", dtype={"item": int})
    for r in ("a", "b"):
        lab = pd.read_csv(HERE / f"labels_reader_{r}.csv", dtype={"item": int})
        sample = sample.merge(lab.rename(columns={"frame": f"frame_{r}"}), on="item", how="left",
                              validate="one_to_one")
    keys = set(load_frames().keys)
    bad = sorted((set(sample["frame_a"]) | set(sample["frame_b"])) - keys)
    if bad:
        raise SystemExit(f"labels use keys outside the frames file: {bad}")
    return sample


def reader_agreement(sample: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for name, g in sample.groupby("set", sort=False):
        a, b = g["frame_a"], g["frame_b"]
        agree = a == b
        rows.append({"set": name, "items": len(g), "agreed": int(agree.sum()),
                     "raw_agreement": float(agree.mean()), "kappa": float(cohen_kappa_score(a, b)),
                     "other_a": float((a == FALLBACK).mean()), "other_b": float((b == FALLBACK).mean()),
                     "other_gold": float((a[agree] == FALLBACK).mean())})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- inputs per set

def load_set(name: str, sample: pd.DataFrame | None, embedder) -> dict:
    """Sentences, raw vectors, gold labels (agreed items) aligned to body rows."""
    if name == "seed":
        docs = load_documents([str(SEED_ROOT / "seeds" / "corpus")], IngestConfig())
        table = sentence_table(docs).sort_values(["doc_id", "position"], kind="stable").reset_index(drop=True)
    else:
        table = set_sentences(HERE.parent / name / "corpus.csv")
    raw = sentence_vectors(table, embedder, EmbedConfig(context_weight=0.0))
    isb = table["is_body"].astype(bool).to_numpy()
    body = table[isb].reset_index(drop=True)
    if name == "seed":
        lab = pd.read_csv(ROOT / "tests" / "data" / "frame_labels.csv")
        key = dict(zip(zip(lab["source"], lab["text"].map(normalise_text)), lab["frame"]))
        gold = pd.Series([key.get((s, normalise_text(t))) for s, t in zip(body["source"], body["text"])],
                         dtype=object)
    else:
        g = sample[(sample["set"] == name) & (sample["frame_a"] == sample["frame_b"])]
        gold = body["sentence_id"].map(dict(zip(g["sentence_id"], g["frame_a"])))
    return {"name": name, "table": table, "raw": raw, "isb": isb, "body": body,
            "gold": gold.to_numpy(dtype=object)}


def evidence(data: dict, embedder, frames, vectors: np.ndarray, cue_weight: float, prototype: str) -> np.ndarray:
    """framescope's frame evidence (measures.frames.frame_scores without the fallback column)."""
    protos = frame_prototypes(frames.model_copy(update={"prototype": prototype}), embedder)
    if "cues" not in data:
        data["cues"] = cue_counts(data["body"]["text"].tolist(), frames)
    return vectors @ protos.T + cue_weight * (1.0 - 0.5 ** data["cues"])


# --------------------------------------------------------------------------- candidates

CUE_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5)


PROTOTYPES = ("description", "description_and_cues")
SHIPPED = ("fixed", "context", "description_and_cues", 0.2, (0.2,))
FORMER = ("fixed", "context", "description", 0.2, (0.25,))


def candidates():
    for vec, proto in itertools.product(("raw", "context"), PROTOTYPES):
        for cw in CUE_WEIGHTS:
            for t in (-1.0, 0.1, 0.15, 0.2, 0.25, 0.3):
                yield ("fixed", vec, proto, cw, (t,))
            for z in (-9.0, 0.0, 0.5, 1.0):
                yield ("zscore", vec, proto, cw, (z,))
        for cw, q, r, C in itertools.product((0.2, 0.5), (0.2, 0.4), (0.05, 0.1, 0.2), (0.3, 1.0)):
            yield ("corpus", vec, proto, cw, (q, r, C))


def predict(data: dict, cand, keys: list[str], memo: dict, embedder, frames) -> np.ndarray:
    rule, vec, proto, cw, params = cand
    if vec not in memo:
        v = data["raw"] if vec == "raw" else context_mix(data["raw"], data["table"], 2, 0.5, "paragraph")
        memo[vec] = normalise(np.asarray(v, dtype=np.float32))[data["isb"]]
    V = memo[vec]
    if (vec, proto, cw) not in memo:
        memo[(vec, proto, cw)] = evidence(data, embedder, frames, V, cw, proto)
    S = memo[(vec, proto, cw)]
    k = np.array(keys, dtype=object)              # scored frames ..., other last
    other = len(keys) - 1
    if rule == "fixed":
        idx = np.where(S.max(1) >= params[0], S.argmax(1), other)
    elif rule == "zscore":
        Z = (S - S.mean(0)) / (S.std(0) + 1e-9)
        idx = np.where(Z.max(1) >= params[0], Z.argmax(1), other)
    else:
        q, r, C = params
        best = calibrate(S, V, seed_share=q, seed_fraction=0.5, none_share=r, floor=-1.0, C=C).best
        idx = np.where(best < 0, other, best)
    return k[idx]


def scores(data: dict, pred: np.ndarray, keys: list[str]) -> dict:
    gold = data["gold"]
    has = np.array([isinstance(x, str) for x in gold])
    g, p = gold[has].astype(str), pred[has].astype(str)
    body = data["body"]
    errs = []
    for s in sorted(body["source"].unique()):
        ins = (body["source"].to_numpy() == s) & has
        if ins.sum() < 20:
            continue
        for f in keys:
            errs.append(abs(float(np.mean(pred[ins] == f)) - float(np.mean(gold[ins] == f))))
    counts = pd.Series(g).value_counts()
    majority = sorted(counts[counts == counts.max()].index)[0]
    return {"n": int(has.sum()), "kappa": float(cohen_kappa_score(g, p)), "accuracy": float(np.mean(g == p)),
            "macro_f1": float(f1_score(g, p, labels=sorted(set(g)), average="macro", zero_division=0)),
            "majority_frame": majority, "majority_accuracy": float(np.mean(g == majority)),
            "other_predicted": float(np.mean(pred == FALLBACK)), "other_gold": float(np.mean(g == FALLBACK)),
            "max_share_error": float(max(errs)) if errs else float("nan")}


def name_of(cand) -> str:
    rule, vec, proto, cw, params = cand
    return f"{rule} {vec} {proto} cw={cw} " + " ".join(f"{p:g}" for p in params)


def supervised(sets: dict, embedder, frames, keys: list[str], C: float = 3.0) -> pd.DataFrame:
    """Not a framescope option, measured for comparison: a logistic regression on the in-context
    vector, the frame evidence and the cue bonuses, trained on the agreed labels of the other
    sets and the seed, scored on the held-out set."""
    from sklearn.linear_model import LogisticRegression

    feats = {}
    for name, d in sets.items():
        V = normalise(np.asarray(context_mix(d["raw"], d["table"], 2, 0.5, "paragraph"), dtype=np.float32))[d["isb"]]
        S = evidence(d, embedder, frames, V, 0.0, "description")
        has = np.array([isinstance(x, str) for x in d["gold"]])
        feats[name] = (np.hstack([V, 3 * S, 1.0 - 0.5 ** d["cues"]])[has], d["gold"][has].astype(str))
    rows = []
    for held in SETS:
        train = [n for n in ALL if n != held]
        clf = LogisticRegression(C=C, max_iter=5000).fit(np.vstack([feats[n][0] for n in train]),
                                                         np.concatenate([feats[n][1] for n in train]))
        X, y = feats[held]
        rows.append({"held_out": held, "kappa": float(cohen_kappa_score(y, clf.predict(X)))})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- report

def _md(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        out.append("| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in r) + " |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "results.md")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    frames = load_frames()
    keys = frames.keys
    embedder = get_embedder(EmbedConfig())
    sample = readers()
    agreement = reader_agreement(sample)
    sets = {name: load_set(name, sample, embedder) for name in ALL}
    rows, memo = [], {name: {} for name in ALL}
    cands = list(candidates())
    for cand in cands:
        for name in ALL:
            pred = predict(sets[name], cand, keys, memo[name], embedder, frames)
            rows.append({"candidate": name_of(cand), "set": name, **scores(sets[name], pred, keys)})
    grid = pd.DataFrame(rows)
    kappa = grid.pivot(index="candidate", columns="set", values="kappa")
    former, shipped = name_of(FORMER), name_of(SHIPPED)
    loco = []
    for held in SETS:
        others = [s for s in ALL if s != held]
        chosen = kappa[others].mean(axis=1).sort_values(ascending=False, kind="stable").index[0]
        r = grid[(grid["candidate"] == chosen) & (grid["set"] == held)].iloc[0].to_dict()
        f = grid[(grid["candidate"] == former) & (grid["set"] == held)].iloc[0]
        loco.append({"held_out": held, "chosen_on_the_others": chosen, "kappa": r["kappa"],
                     "accuracy": r["accuracy"], "macro_f1": r["macro_f1"],
                     "majority_accuracy": r["majority_accuracy"], "other_predicted": r["other_predicted"],
                     "other_gold": r["other_gold"], "max_share_error": r["max_share_error"],
                     "former_kappa": float(f["kappa"]), "former_other": float(f["other_predicted"])})
    loco = pd.DataFrame(loco)
    trained = supervised(sets, embedder, frames, keys)
    default = grid[grid["candidate"] == shipped].drop(columns=["candidate"]).reset_index(drop=True)
    overall = kappa[list(ALL)].mean(axis=1).sort_values(ascending=False, kind="stable")
    top = grid[grid["candidate"].isin(overall.index[:15])].pivot(index="candidate", columns="set", values="kappa")
    top = top.loc[overall.index[:15], list(ALL)].reset_index()
    md = ["# Frames against two blind readers", "",
          "Generated by `PYTHONPATH=src python research/validation/frames/run.py`; do not edit by hand.", "",
          "## Readers", "", _md(agreement), "",
          "## Leave one corpus out (held-out figures)", "",
          "For each held-out set, the scorer setting with the best mean kappa on the other sets (and the seed) "
          "is scored once on it. `former` is framescope's previous default (fixed, in-context vectors, "
          "cue weight 0.2, threshold 0.25).", "", _md(loco), "",
          f"## The shipped default on every set (`{shipped}`)", "",
          "The bundled frames file's setting: the best mean kappa over all four sets. It is the setting chosen "
          "without news and without official, so on those two its figures are held out; on speeches the "
          "held-out choice is the one above.", "",
          _md(default.drop(columns=["majority_frame"])), "",
          "## For comparison: a classifier trained on the other sets' labels (not a framescope option)", "",
          "Logistic regression (C 3) on the in-context vector, the description similarities and the cue bonuses, "
          "trained on the agreed labels of the other two sets and the seed; kappa on the held-out set.", "",
          _md(trained), "",
          "## Best settings by mean kappa over all four sets (not held out: for orientation only)", "",
          _md(top), ""]
    args.out.write_text("\n".join(md), encoding="utf-8")
    payload = {"readers": agreement.to_dict(orient="records"), "loco": loco.to_dict(orient="records"),
               "grid": grid.to_dict(orient="records")}
    args.out.with_suffix(".json").write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")
    summary = {"frames_sha256": frames_digest(frames),
               "embedding_model": EmbedConfig().model, "setting": shipped,
               "command": "PYTHONPATH=src python research/validation/frames/run.py",
               "readers": agreement[["set", "items", "agreed", "raw_agreement", "kappa"]].round(3).to_dict(orient="records"),
               "held_out": loco[["held_out", "chosen_on_the_others", "kappa", "accuracy", "majority_accuracy",
                                 "other_predicted", "other_gold"]].round(3).to_dict(orient="records"),
               "default": default[["set", "n", "kappa", "accuracy", "majority_accuracy", "other_predicted",
                                   "other_gold"]].round(3).to_dict(orient="records")}
    VALIDATION.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print("\n".join(md[:40]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
