"""Variants of the corpus rule tried in session 8 and not adopted (docs/validation.md, "Zero-shot
rules tried in session 8"), each scored leave-one-corpus-out beside the shipped rule on the same
reduced grid. They were tried after reading the speeches set's errors, so their speeches figures
are not held-out choices.

- ``shipped``: ``themes.assignment.calibrate`` as it is (sure examples by evidence, sure
  non-examples = weakest best evidence);
- ``rank=<r>``, ``none=<n>``: sure examples ranked by ``r`` (``rowmean``: evidence minus the
  sentence's mean evidence; ``margin2``: minus its second-best theme's; ``mix``: evidence plus
  ``rowmean``), sure non-examples by ``n`` (``flat``: the flattest evidence profiles; ``both``: half
  weakest, half flattest);
- ``em``: class priors re-estimated on the corpus by EM after the classifier (Saerens, Latinne &
  Decaestecker 2002);
- ``centred``: sure examples by the cosine of sentence and prototype measured from the corpus mean.

    python research/validation/assignment_variants.py     # about 5 minutes; needs assignment.py's features

Prints the held-out macro F1 per set (and the worst theme's F1) for each variant.
"""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))
import assignment as A  # noqa: E402
from framescope.embed.encoders import get_embedder, normalise  # noqa: E402
from framescope.config import EmbedConfig  # noqa: E402

CTX = (2, 0.5, "paragraph")
GRID = list(itertools.product((0.1, 0.2, 0.3), (0.5, 1.0), (0.1, 0.2)))  # sure share, fraction, none share


def sure(Z: np.ndarray, R: np.ndarray, q: float, frac: float, r: float, none: str) -> np.ndarray:
    """As ``themes.assignment.sure_examples`` (floor 0.25), ranking sure examples by ``R``."""
    n, k = Z.shape
    y = np.full(n, -2)
    best, top = Z.argmax(1), Z.max(1)
    flat = top - Z.mean(1)
    n_none = int(r * n)
    if none == "weak":
        y[np.argsort(top, kind="stable")[:n_none]] = -1
    elif none == "flat":
        y[np.argsort(flat, kind="stable")[:n_none]] = -1
    else:  # both
        y[np.argsort(top, kind="stable")[:n_none // 2]] = -1
        flat = np.where(y == -1, np.inf, flat)
        y[np.argsort(flat, kind="stable")[:n_none - n_none // 2]] = -1
    per = max(3, int(round(q * n / k)))
    for t in range(k):
        own = np.flatnonzero((best == t) & (Z[:, t] >= 0.25) & (y != -1))
        if len(own):
            m = max(min(3, len(own)), min(per, int(np.ceil(frac * len(own)))))
            y[own[np.argsort(-R[own, t], kind="stable")[:m]]] = t
    return y


def classify(V: np.ndarray, y: np.ndarray, em: bool = False) -> np.ndarray:
    train = y > -2
    clf = LogisticRegression(C=0.3, class_weight="balanced", max_iter=5000).fit(V[train].astype(np.float64), y[train])
    p = clf.predict_proba(V.astype(np.float64))
    if em:  # Saerens et al. 2002: the balanced fit's prior is uniform
        base = np.full(p.shape[1], 1 / p.shape[1])
        prior = base.copy()
        for _ in range(200):
            post = p * (prior / base)
            post /= post.sum(1, keepdims=True)
            new = post.mean(0)
            if np.abs(new - prior).max() < 1e-8:
                break
            prior = new
        p = post
    return clf.classes_[p.argmax(1)]


def predict(data: dict, feat: dict, memo: dict, variant: str, q: float, frac: float, r: float) -> np.ndarray:
    if "V" not in memo:
        memo["V"] = A.vectors_in_context(data, feat, *CTX)
    V = memo["V"]
    S = 0.6 * (V @ feat["P"].T) + 0.4 * feat["phrase"]
    if variant == "shipped":
        return A.rule_corpus(S, V, q, frac, r, 0.25, 0.3)
    if variant == "em":
        return classify(V, sure(S, S, q, frac, r, "weak"), em=True)
    if variant == "centred":
        m = V.mean(0, keepdims=True)
        Sc = normalise(V - m) @ normalise(feat["P"] - m).T
        return classify(V, sure(Sc, Sc, q, frac, r, "weak"))
    rank, none = (part.split("=")[1] for part in variant.split(","))
    R = {"rowmean": S - S.mean(1, keepdims=True), "margin2": S - np.sort(S, 1)[:, [-2]],
         "mix": 2 * S - S.mean(1, keepdims=True)}[rank]
    return classify(V, sure(S, R, q, frac, r, none))


VARIANTS = ["shipped", "em", "centred"] + [f"rank={a},none={b}" for a in ("rowmean", "margin2", "mix")
                                           for b in ("weak", "flat", "both")]


def main() -> int:
    cache = A.ROOT / "artifacts" / "validation" / "features"
    embedder = None if all((cache / f"{n}.npz").is_file() for n in A.SETS) else get_embedder(EmbedConfig())
    sets = {n: A.load_set(n) for n in A.SETS}
    sets = {n: (d, A.features(d, embedder, cache), {}) for n, d in sets.items()}
    rows = []
    for variant in VARIANTS:
        for q, frac, r in GRID:
            for name, (data, feat, memo) in sets.items():
                pred = A.as_keys(predict(data, feat, memo, variant, q, frac, r), data["keys"])
                f1, per = A.macro_f1(data["label"], pred, data["keys"])
                rows.append(dict(variant=variant, q=q, frac=frac, r=r, set=name, f1=f1,
                                 worst=float(np.nanmin(list(per.values())))))
    grid = pd.DataFrame(rows)
    out = []
    for variant, g in grid.groupby("variant", sort=False):
        row = {"variant": variant}
        for held in A.SETS:
            best = g[g["set"] != held].groupby(["q", "frac", "r"])["f1"].mean().idxmax()
            test = g[g["set"] == held].set_index(["q", "frac", "r"]).loc[best]
            row[held] = f"{test['f1']:.3f} ({test['worst']:.2f})"
            row[f"_{held}"] = float(test["f1"])
        row["mean"] = round(float(np.mean([row[f"_{h}"] for h in A.SETS])), 3)
        out.append(row)
    table = pd.DataFrame(out)[["variant", *A.SETS, "mean"]]
    print("held-out macro F1 per set (worst theme's F1), leave one corpus out over the grid:")
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
