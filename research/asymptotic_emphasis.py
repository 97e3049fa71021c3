"""The analytic emphasis methods against the cluster bootstrap and the permutation test they replace.

For a study's body sentences (a study folder's `sentences.parquet`), this computes the emphasis
table and the between-source differences twice, with the run's default settings otherwise:

- `asymptotic_clusters: null`: every source's shares by the cluster bootstrap, the test by
  permuting clusters (what every study used before);
- the default `asymptotic_clusters` (or `--clusters N`): big sources' shares analytic, and the test
  by Rao and Scott's correction where it applies (`framescope.measures.asymptotic`).

It reports each one's time, and for the sources and differences that became analytic, how far
their interval bounds moved (percentage points) and the ratio of the interval widths, and both
p-values. Then it checks the Rao-Scott test's level on the study's own clusters: `--nulls` times,
the clusters are handed back to the sources at random (each source keeps its number of clusters,
which is the permutation test's null), and the share of Rao-Scott p-values below 0.01, 0.05 and
0.10 is reported beside the uncorrected chi-square's.

    python research/asymptotic_emphasis.py /tmp/framescope-bench/studies/1m-fs-wordllama \\
        --nulls 0 --out artifacts/bench/asymptotic_emphasis_1m.json
    python research/asymptotic_emphasis.py /tmp/framescope-bench/studies/news10k-fs-cold \\
        --clusters 2000 --nulls 200 --out artifacts/bench/asymptotic_emphasis_news10k.json
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from framescope.config import MeasureConfig
from framescope.measures.asymptotic import ClusterMoments, rao_scott, rao_scott_applies
from framescope.measures.divergence import gaps_from_replicates
from framescope.measures.emphasis import (
    cluster_counts, emphasis_from_counts, share_replicates, study_sources_and_themes,
)

COLUMNS = ["source", "doc_id", "paragraph", "theme", "is_body", "n_words"]


def timed(counts, sources, themes, cfg):
    start = time.perf_counter()
    replicates = share_replicates(counts, sources, themes, cfg)
    emphasis = emphasis_from_counts(counts, sources, themes, cfg, replicates)
    gaps = gaps_from_replicates(emphasis, replicates, cfg)
    return time.perf_counter() - start, emphasis, gaps, replicates


def moved(new: pd.DataFrame, old: pd.DataFrame, rows: np.ndarray) -> dict:
    """Largest move of either bound (points) and the range of the width ratio, over ``rows``."""
    if not rows.any():
        return {"cells": 0}
    a, b = new[rows], old[rows]
    ratio = (a["ci_high"] - a["ci_low"]) / (b["ci_high"] - b["ci_low"])
    return {"cells": int(rows.sum()),
            "largest_bound_move_points": round(100 * float(np.nanmax(np.abs(np.r_[
                a["ci_low"].to_numpy() - b["ci_low"].to_numpy(), a["ci_high"].to_numpy() - b["ci_high"].to_numpy()]))), 3),
            "width_ratio_min": round(float(np.nanmin(ratio)), 3), "width_ratio_max": round(float(np.nanmax(ratio)), 3),
            "width_ratio_median": round(float(np.nanmedian(ratio)), 3)}


def null_levels(counts: pd.DataFrame, sources: list[str], themes: list[str], n: int, seed: int) -> dict:
    """Rao-Scott and uncorrected chi-square rejection rates when clusters are relabelled at random."""
    clusters = counts.groupby("cluster", sort=True)["source"].first()
    rng = np.random.default_rng(seed)
    rs, naive, refused = [], [], 0
    for _ in range(n):
        relabel = pd.Series(rng.permutation(clusters.to_numpy()), index=clusters.index)
        df = counts.assign(source=counts["cluster"].map(relabel))
        observed = (df.groupby(["source", "theme"])["n"].sum().unstack(fill_value=0)
                      .reindex(index=sources, columns=themes, fill_value=0))
        observed = observed.loc[:, observed.sum(axis=0) > 0]
        o = observed.to_numpy(float)
        moments = ClusterMoments.of(df, sources, list(observed.columns))
        if rao_scott_applies(moments, o, 0) is not None:
            refused += 1
            continue
        chi2, p_chi2, _, _ = stats.chi2_contingency(o, correction=False)
        rs.append(rao_scott(moments, np.ones(o.shape[1], dtype=bool), float(chi2))[0])
        naive.append(p_chi2)
    rs, naive = np.array(rs), np.array(naive)
    return {"relabelings": n, "refused": refused,
            "rao_scott_rejects": {str(a): float(np.mean(rs < a)) for a in (0.01, 0.05, 0.10)},
            "uncorrected_rejects": {str(a): float(np.mean(naive < a)) for a in (0.01, 0.05, 0.10)},
            "ks_uniform_p": float(stats.kstest(rs, "uniform").pvalue) if len(rs) else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("study", type=Path)
    ap.add_argument("--clusters", type=int, default=None, help="asymptotic_clusters (default: the config's)")
    ap.add_argument("--nulls", type=int, default=100, help="random relabelings for the test's level")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    sentences = pd.read_parquet(args.study / "sentences.parquet", columns=COLUMNS)
    base = MeasureConfig()
    asym = base.model_copy(update={"asymptotic_clusters": args.clusters or base.asymptotic_clusters})
    off = base.model_copy(update={"asymptotic_clusters": None})
    counts = cluster_counts(sentences, base)
    sources, themes = study_sources_and_themes(sentences)
    t_off, em_off, gaps_off, _ = timed(counts, sources, themes, off)
    t_on, em_on, gaps_on, rep = timed(counts, sources, themes, asym)
    analytic = sorted(rep.analytic)
    pair_rows = gaps_on["source_a"].isin(analytic) | gaps_on["source_b"].isin(analytic)
    gaps_off = gaps_off.set_index(["theme", "source_a", "source_b"]).reindex(
        pd.MultiIndex.from_frame(gaps_on[["theme", "source_a", "source_b"]])).reset_index()
    out = {
        "study": str(args.study), "body_sentences": int(counts["n"].sum()),
        "clusters": int(counts["cluster"].nunique()), "sources": len(sources), "themes": len(themes),
        "asymptotic_clusters": asym.asymptotic_clusters, "analytic_sources": analytic,
        "seconds_bootstrap_and_permutation": round(t_off, 2), "seconds_analytic": round(t_on, 2),
        "time_ratio": round(t_on / t_off, 3),
        "shares": moved(em_on, em_off, em_on["source"].isin(analytic).to_numpy()),
        "differences": moved(gaps_on, gaps_off, pair_rows.to_numpy()),
        "test_before": {"p_value": float(em_off["p_value"].iloc[0]), "test": str(em_off["test"].iloc[0])},
        "test_after": {"p_value": float(em_on["p_value"].iloc[0]), "test": str(em_on["test"].iloc[0])},
        "p_chi2": float(em_on["p_chi2"].iloc[0]),
    }
    if args.nulls:
        out["level_under_relabelling"] = null_levels(counts, sources, themes, args.nulls, seed=7)
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(text + "\n")
        tmp.replace(args.out)


if __name__ == "__main__":
    main()
