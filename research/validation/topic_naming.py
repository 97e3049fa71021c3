"""Naming discovered topics as codebook themes (issue 11's third candidate), measured and not
adopted (docs/validation.md, "Naming discovered topics, tried in session 14").

framescope assigns the codebook's themes sentence by sentence (the corpus rule) and leaves the
rest to BERTopic's discovery. The candidate: give a whole discovered topic a codebook theme when
the topic as a whole looks like that theme, so that a cluster of tax-and-debt sentences the rule
missed becomes `economy`. Each rule renames whole topics of the study as written (named themes
untouched, nothing else re-fitted), judged on the corpus' own scale, never by a fixed cosine:

- ``nearest``: a topic whose centroid's nearest other centroid (named themes and topics alike) is
  a named theme's takes that theme;
- ``prototype q``: a topic takes the codebook theme whose prototype its centroid is most like, when
  its sentences are on average as like that prototype as the theme's own sentences at quantile q;
- ``centroid q``: the same, measured against the named theme's centroid instead of its prototype;
- ``nearest+prototype q``: both conditions.

Scored on every set like assignment.py (macro F1 over the named themes against the readers'
agreed labels; emphasis error per source x named theme against the labelled sample), and chosen
leave-one-corpus-out: for each set, the rule and q with the best mean macro F1 on the other sets.

    python research/validation/run.py                 # the studies (artifacts/validation/<set>)
    python research/validation/topic_naming.py        # about 10 s; writes topic_naming.md

Vectors are assignment.py's (the same cache, artifacts/validation/features).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import assignment as A  # noqa: E402
from framescope.config import EmbedConfig  # noqa: E402
from framescope.embed.encoders import get_embedder, normalise  # noqa: E402

RULES = [("shipped (no renaming)", None), ("nearest", None)] + [
    (rule, q) for rule in ("prototype", "centroid", "nearest+prototype") for q in (0.05, 0.1, 0.25, 0.5)]


def study_themes(name: str, body: pd.DataFrame) -> np.ndarray:
    folder = A.ROOT / "artifacts" / ("seed" if name == "seed" else f"validation/{name}")
    s = pd.read_parquet(folder / "sentences.parquet", columns=["sentence_id", "is_body", "theme"])
    s = s[s["is_body"].astype(bool)]
    if s["sentence_id"].tolist() != body["sentence_id"].tolist():
        raise SystemExit(f"{folder}: its sentences are not this script's; run research/validation/run.py again")
    return s["theme"].to_numpy(dtype=object)


def rename(theme: np.ndarray, V: np.ndarray, P: np.ndarray, keys: list[str], rule: str, q: float | None) -> np.ndarray:
    """The study's themes with every discovered topic that ``rule`` names given that codebook theme."""
    V, P = normalise(V.astype(np.float64)), normalise(P.astype(np.float64))
    present = [t for t in dict.fromkeys(theme) if t != "unassigned"]
    centre = {t: normalise(V[theme == t].mean(0, keepdims=True))[0] for t in present}
    out = theme.copy()
    for topic in (t for t in present if t not in keys):
        rows = theme == topic
        if rule in ("nearest", "nearest+prototype"):
            others = [t for t in present if t != topic]
            near = others[int(np.argmax([centre[topic] @ centre[t] for t in others]))]
            if near not in keys:
                continue
            if rule == "nearest":
                out[rows] = near
                continue
            key, ref = near, P[keys.index(near)]
        elif rule == "prototype":
            key = keys[int(np.argmax(P @ centre[topic]))]
            ref = P[keys.index(key)]
        else:  # centroid
            named = [k for k in keys if k in centre]
            key = named[int(np.argmax([centre[topic] @ centre[k] for k in named]))]
            ref = centre[key]
        own = V[theme == key] @ ref
        if len(own) and float((V[rows] @ ref).mean()) >= float(np.quantile(own, q)):
            out[rows] = key
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=A.ROOT / "artifacts" / "validation" / "features")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "topic_naming.md")
    args = ap.parse_args()
    embedder = get_embedder(EmbedConfig())
    rows = []
    for name in A.SETS:
        data = A.load_set(name)
        feat = A.features(data, embedder, args.cache)
        V = A.vectors_in_context(data, feat, *A.CONTEXTS[1])  # the shipped context: paragraph, 2, 0.5
        theme = study_themes(name, data["body"])
        for rule, q in RULES:
            pred = theme if q is None and rule.startswith("shipped") else rename(theme, V, feat["P"], data["keys"], rule, q)
            pred = np.where(np.isin(pred, data["keys"]), pred, A.NONE).astype(object)
            f1, per = A.macro_f1(data["label"], pred, data["keys"])
            err_max, err_mean = A.emphasis_error(data, pred)
            renamed = sorted({t for t, p in zip(theme, pred) if t not in data["keys"] and p != A.NONE})
            rows.append(dict(rule=rule, q="" if q is None else q, set=name, macro_f1=round(f1, 3),
                             worst_theme_f1=round(float(np.nanmin(list(per.values()))), 3),
                             emphasis_error_max=round(err_max, 3), emphasis_error_mean=round(err_mean, 3),
                             topics_renamed=len(renamed)))
    grid = pd.DataFrame(rows)
    loco = []
    for held in A.SETS:
        cands = grid[(grid["set"] != held) & ~grid["rule"].str.startswith("shipped")]
        best = cands.groupby(["rule", "q"])["macro_f1"].mean().idxmax()
        pick = grid[(grid["set"] == held) & (grid["rule"] == best[0]) & (grid["q"] == best[1])].iloc[0]
        base = grid[(grid["set"] == held) & grid["rule"].str.startswith("shipped")].iloc[0]
        loco.append(dict(held_out=held, chosen_on_the_others=f"{best[0]} {best[1]}".strip(),
                         macro_f1=pick["macro_f1"], shipped_macro_f1=base["macro_f1"],
                         worst_theme_f1=pick["worst_theme_f1"], shipped_worst=base["worst_theme_f1"],
                         emphasis_error_max=pick["emphasis_error_max"], shipped_error_max=base["emphasis_error_max"],
                         topics_renamed=pick["topics_renamed"]))
    report = ("# Naming discovered topics as codebook themes\n\n"
              "Written by `python research/validation/topic_naming.py` from the studies of "
              "`research/validation/run.py` and the committed seed study. Each rule renames whole "
              "discovered topics; the seed's figures are a smoke test (its codebook was written by reading it).\n\n"
              "## Chosen on the other sets, scored on the held-out one\n\n" + A._md(pd.DataFrame(loco)) +
              "\n## Every rule on every set\n\n" + A._md(grid))
    print(report)
    args.out.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
