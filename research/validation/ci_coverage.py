"""How often the misclassification-corrected CI covers the readers' share, over many label draws.

`run.py` scores the correction on one seeded draw of 100 labels: 8-12 source x theme cells a
set, so its coverage figure ("27 of 30 cells") has a sampling error of several cells. This script
repeats the draw (``--draws``, seeded 0, 1, ...; draw 0 is run.py's) and, for every draw and every
corrected named cell, compares the corrected share and its 95% CI (``framescope validate``'s
method, ``validate.correction.corrected_emphasis``) with the readers' share among the labelled
sentences *not* drawn.

That reference is itself a sample (about 100 sentences a source), so even an exact 95% CI of a
source's corpus share covers it less often than 95% of the time. Three figures per set:

- ``covered``: the CI contains the readers' held-out share (what run.py reports);
- ``expected``: what ``covered`` would be if the CI were exact, given the reference's own
  binomial noise: the mean over cells of ``2 Phi(1.96 se_ci / sqrt(se_ci^2 + se_ref^2)) - 1``,
  with ``se_ci`` the CI's half-width / 1.96 and ``se_ref = sqrt(s (1 - s) / n_ref)`` at the corrected
  share ``s`` (n_ref: the source's held-out labelled sentences); 1 for a cell where both are 0;
- ``z_covered``: ``|corrected - reference| <= 1.96 sqrt(se_side^2 + se_ref^2)``, ``se_side`` from the
  CI's side that faces the reference, which an exact CI meets about 95% of the time whatever the
  reference's size (normal approximations: rough for shares near 0 or 1).

A CI that is too narrow shows as ``covered`` below ``expected`` and ``z_covered`` below 0.95.

The held-out reference has a catch for small themes: a cell is corrected only in the draws that
give its theme at least 5 labels, and those draws leave fewer of its sentences among the held-out
ones, so there the reference is biased low. The same figures are therefore also given against the
readers' share among *all* the agreed labels (``all_labels_reference``): free of that selection,
but not independent of the draw (the 100 drawn labels are among them), so somewhat lenient.
``per_cell_held_out`` gives each source x theme.

``errors_by_source``: the check of the correction's assumption that ``framescope validate`` reports
(``validate.correction.errors_by_source``: does the study err the same way in every source?), on all
the agreed labels (1,000 permutations), and the share of the draws of 100 labels in which it gives
p < 0.05 (200 permutations each).
Needs the studies `run.py` writes (artifacts/validation/<set>/).

    python research/validation/ci_coverage.py [--draws 100] [--n-boot 300] [--labels 100]
        [--pool-strength L --no-tests --json /tmp/l.json]   # partially pooled error matrices (session 12)

Writes research/validation/coverage.json and prints one line per set.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import HERE, ROOT, SETS, readers, study  # noqa: E402

from framescope.themes import load_codebook  # noqa: E402
from framescope.validate.correction import corrected_emphasis, errors_by_source, labelled_pairs  # noqa: E402

Z = float(stats.norm.ppf(0.975))


def cells(name: str, out: Path, draws: int, n_labels: int, n_boot: int, tests: dict | None = None,
          pool_strength: float | None = None) -> pd.DataFrame:
    """One row per draw x corrected named cell: corrected share, CI, reference share and size.
    ``tests`` (a dict, filled in): ``errors_by_source`` on all the agreed labels, and its p-value
    in each draw."""
    folder = HERE / name
    agreed, _ = readers(folder)
    keys = list(load_codebook(folder / "codebook.yaml").keys)
    path = study(name, out)
    sentences = pd.read_parquet(path / "sentences.parquet")
    emphasis = pd.read_parquet(path / "emphasis.parquet")
    body = sentences[sentences["is_body"]]
    lab = agreed.merge(body[["sentence_id", "source"]], on="sentence_id")
    n_all = lab["source"].value_counts()
    ref_all = lab.groupby("source")["label"].value_counts(normalize=True)
    rows, p_draws = [], []
    if tests is not None:
        whole = errors_by_source(labelled_pairs(agreed, sentences), n_perm=1000)
        tests["all_labels"] = {"p_value": round(whole["p_value"], 4),
                               "sources": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in x.items()}
                                           for x in whole["sources"]]}
    for r in range(draws):
        pick = lab.sample(n=min(n_labels, len(lab) // 2), random_state=r)
        if tests is not None:
            p_draws.append(errors_by_source(labelled_pairs(pick, sentences), n_perm=200)["p_value"])
        rest = lab.drop(pick.index)
        corr = corrected_emphasis(sentences, pick, emphasis, n_boot=n_boot, pool_strength=pool_strength)
        corr = corr[corr["theme"].isin(keys) & corr["corrected"]]
        n_ref = rest["source"].value_counts()
        ref = rest.groupby("source")["label"].value_counts(normalize=True)
        for c in corr.itertuples(index=False):
            rows.append({"set": name, "draw": r, "source": c.source, "theme": c.theme, "share": c.share_corrected,
                         "ci_low": c.ci_low, "ci_high": c.ci_high, "reference": float(ref.get((c.source, c.theme), 0.0)),
                         "n_ref": int(n_ref.get(c.source, 0)),
                         "reference_all": float(ref_all.get((c.source, c.theme), 0.0)), "n_all": int(n_all.get(c.source, 0))})
    if tests is not None:
        tests["draws_flagged"] = round(float(np.mean(np.array(p_draws) < 0.05)), 3)
    return pd.DataFrame(rows)


def summary(df: pd.DataFrame, reference: str = "reference", n: str = "n_ref") -> dict:
    s = df["share"].clip(0.0, 1.0).to_numpy()
    n_ref = df[n].to_numpy(float)
    ref, est = df[reference].to_numpy(), df["share"].to_numpy()
    lo, hi = df["ci_low"].to_numpy(), df["ci_high"].to_numpy()
    se_ci = (hi - lo) / (2 * Z)
    se_side = np.where(ref >= est, hi - est, est - lo) / Z  # the CI's side that faces the reference
    se_ref = np.sqrt(s * (1 - s) / n_ref)  # binomial, at the corrected share (0 at a share of 0 or 1)
    covered = (lo <= ref) & (ref <= hi)
    both = np.sqrt(se_ci ** 2 + se_ref ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(both > 0, 2 * stats.norm.cdf(Z * se_ci / both) - 1, 1.0)
    z_covered = np.abs(est - ref) <= Z * np.sqrt(se_side ** 2 + se_ref ** 2) + 1e-12
    return {"draws": int(df["draw"].nunique()), "cells": int(len(df)),
            "covered": round(float(covered.mean()), 3), "expected": round(float(expected.mean()), 3),
            "z_covered": round(float(z_covered.mean()), 3),
            "mean_abs_error": round(float(np.abs(est - ref).mean()), 4),
            "mean_ci_width": round(float((df["ci_high"] - df["ci_low"]).mean()), 4),
            "mean_reference_n": round(float(n_ref.mean()), 1),
            "draw0_covered": f"{int(covered[df['draw'].to_numpy() == 0].sum())} of {int((df['draw'] == 0).sum())}"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--labels", type=int, default=100)
    ap.add_argument("--n-boot", type=int, default=300)
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "validation")
    ap.add_argument("--pool-strength", type=float, default=None,
                    help="each source's own error matrix, shrunk towards the pooled one by this many labels "
                         "(default: one pooled matrix, as framescope validate)")
    ap.add_argument("--no-tests", action="store_true", help="leave out the errors-by-source test (faster)")
    ap.add_argument("--json", type=Path, default=HERE / "coverage.json")
    args = ap.parse_args()
    tests: dict[str, dict] = {s: {} for s in args.sets.split(",")}
    frames = [cells(s, args.out, args.draws, args.labels, args.n_boot, None if args.no_tests else tests[s],
                    args.pool_strength) for s in args.sets.split(",")]
    everything = pd.concat(frames, ignore_index=True)
    settings = {"draws": args.draws, "labels": args.labels, "n_boot": args.n_boot, "level": 0.95}
    if args.pool_strength is not None:
        settings["pool_strength"] = args.pool_strength
    result = {"settings": settings,
              "held_out_reference": {name: summary(g) for name, g in everything.groupby("set", sort=False)}
              | {"all": summary(everything)},
              "all_labels_reference": {name: summary(g, "reference_all", "n_all")
                                       for name, g in everything.groupby("set", sort=False)}
              | {"all": summary(everything, "reference_all", "n_all")},
              "errors_by_source": tests,
              "per_cell_held_out": [{"set": k[0], "source": k[1], "theme": k[2], **summary(g)}
                                    for k, g in everything.groupby(["set", "source", "theme"], sort=False)]}
    for kind in ("held_out_reference", "all_labels_reference", "errors_by_source"):
        for name, r in result[kind].items():
            print(kind, name, json.dumps(r))
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
