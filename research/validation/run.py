"""Every figure of the held-out validation, from the committed corpora, codebooks and labels.

For each set (news, speeches, official; see README.md):
1. the two readers' labels (`labels_reader_a.csv`, `labels_reader_b.csv`, made blind to each
   other): Cohen's kappa between them; only the sentences they agree on are kept;
2. a framescope study of the set's corpus with its codebook (`framescope run` defaults; nothing
   was tuned on these sets), written to artifacts/validation/<set>/ (not committed);
3. named-theme agreement with the readers: macro F1, the worst theme; a study theme outside the
   codebook (a discovered topic, unassigned) counts as `none`;
4. the emphasis error: per source and named theme, the study's share of the source's body
   sentences against the readers' share in the labelled sample; the largest and the mean. It
   mixes two errors: the study's misassignments, and the labelled sample's own sampling error
   (a source's 40-180 labelled sentences are not its whole body). So the same comparison is also
   made on the labelled sentences alone (the study's themes of those sentences against the
   readers' labels of them: misassignment only), and the sample's sampling error is given as the
   largest of |study's share of the whole body - study's share of the labelled sample|;
5. the plain zero-shot baseline of issue 11: in-context MiniLM vector (sentence + 0.3 x its
   neighbours) against each theme's prototype (label, description, seed phrases) by cosine,
   the best theme if it reaches 0.25, else none;
6. framescope against that baseline with the labelled sample's uncertainty: the labelled
   sentences are resampled within each source (2,000 seeded draws) and, in each draw, both rules'
   macro F1, worst theme's F1 and largest and mean emphasis error are computed on the same draw; the
   difference (framescope minus baseline) is given with its 95% percentile interval;
7. with 100 of the agreed labels (a seeded random draw): emphasis corrected for
   misclassification (`framescope validate`'s method), scored against the readers' shares of
   the other labelled sentences: mean error, and how often the corrected CI covers them.

    python research/validation/run.py [--sets news,speeches,official] [--out artifacts/validation]

Prints one table and writes research/validation/results.json and results.md.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from framescope.config import EmbedConfig, IngestConfig, RunConfig, ThemeConfig
from framescope.embed.encoders import get_embedder
from framescope.embed.vectors import sentence_vectors
from framescope.engines.pipeline import run
from framescope.themes import load_codebook
from framescope.themes.model import codebook_vectors
from framescope.validate.correction import corrected_emphasis

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SETS = ("news", "speeches", "official")
NONE = "none"


def readers(folder: Path) -> tuple[pd.DataFrame, float]:
    a = pd.read_csv(folder / "labels_reader_a.csv", dtype=str)
    b = pd.read_csv(folder / "labels_reader_b.csv", dtype=str)
    both = a.merge(b, on="sentence_id", suffixes=("_a", "_b"))
    kappa = cohen_kappa_score(both["label_a"], both["label_b"])
    agreed = both[both["label_a"] == both["label_b"]].rename(columns={"label_a": "label"})
    return agreed[["sentence_id", "label"]].reset_index(drop=True), float(kappa)


def study(name: str, out: Path, **themes) -> Path:
    """The set's study with `framescope run` defaults (``themes``: other theme settings, for the
    research scripts that compare one)."""
    folder = HERE / name
    cfg = RunConfig(inputs=[str(folder / "corpus.csv")], out=str(out / name),
                    ingest=IngestConfig(text_col="text", source_col="source", title_col="title"),
                    themes=ThemeConfig(codebook=str(folder / "codebook.yaml"), **themes))
    if not (out / name / "manifest.json").is_file():
        run(cfg, progress=False)
    return out / name


def scores(truth: pd.Series, pred: pd.Series, keys: list[str]) -> dict[str, float]:
    pred = pred.where(pred.isin(keys), NONE)
    out = {}
    for k in keys:
        t, p = truth == k, pred == k
        out[k] = 2 * float((t & p).sum()) / float(t.sum() + p.sum()) if (t.sum() + p.sum()) else float("nan")
    return out


def baseline(sentences: pd.DataFrame, codebook) -> pd.Series:
    embedder = get_embedder(EmbedConfig())
    vectors = sentence_vectors(sentences, embedder, EmbedConfig(context_weight=0.3))
    prototypes, _, _ = codebook_vectors(codebook, embedder)
    sims = vectors @ prototypes.T
    best = np.array(codebook.keys, dtype=object)[sims.argmax(1)]
    return pd.Series(np.where(sims.max(1) >= 0.25, best, NONE), index=sentences["sentence_id"].to_numpy())


def label_shares(frame: pd.DataFrame, grid: pd.MultiIndex, column: str = "label") -> pd.Series:
    """Each source's share of its rows per value of ``column``, on the source x theme ``grid``
    (0 where a source has none)."""
    counted = frame.groupby("source")[column].value_counts(normalize=True).rename("share").reset_index()
    return counted.rename(columns={column: "theme"}).set_index(["source", "theme"])["share"].reindex(grid, fill_value=0)


def emphasis_error(shares: pd.DataFrame, labelled: pd.DataFrame, keys: list[str]) -> tuple[float, float]:
    """Largest and mean |study share - readers' share| over source x named theme."""
    grid = pd.MultiIndex.from_product([sorted(labelled["source"].unique()), keys], names=["source", "theme"])
    mine = shares.set_index(["source", "theme"])["share"].reindex(grid, fill_value=0)
    err = (mine - label_shares(labelled, grid)).abs()
    return float(err.max()), float(err.mean())


def sample_errors(lab: pd.DataFrame, shares: pd.DataFrame, keys: list[str]) -> tuple[float, float, float]:
    """Largest and mean |study's share - readers' share| over source x named theme, both counted
    on the labelled sentences (misassignment only); and the largest |study's share of the whole
    body - its share of the labelled sentences| (the labelled sample's sampling error)."""
    grid = pd.MultiIndex.from_product([sorted(lab["source"].unique()), keys], names=["source", "theme"])
    predicted = lab.assign(theme=lab["theme"].fillna(NONE).astype(str).where(lambda t: t.isin(keys), NONE))
    study_on_sample = label_shares(predicted, grid, "theme")
    err = (study_on_sample - label_shares(lab, grid)).abs()
    whole = shares.set_index(["source", "theme"])["share"].reindex(grid, fill_value=0)
    return float(err.max()), float(err.mean()), float((whole - study_on_sample).abs().max())


def against_baseline(lab: pd.DataFrame, base: pd.Series, study_shares: pd.DataFrame,
                     base_shares: pd.DataFrame, keys: list[str], n_boot: int = 2000,
                     seed: int = 0) -> dict[str, list[float]]:
    """framescope minus the plain baseline, as [estimate, 2.5%, 97.5%], for macro F1, the worst
    theme's F1 and the largest and mean emphasis error (whole body against the readers' sample),
    over paired bootstrap draws of the labelled sentences within each source (both rules scored
    on the same draw, so what the two share cancels). The intervals of the two extremes (worst
    theme, largest error) are rough: a bootstrap does not reproduce a maximum's distribution well,
    and the largest error's upper limit often sits on the estimate."""
    rng = np.random.default_rng(seed)
    names = np.array(keys, dtype=object)
    truth = lab["label"].to_numpy(dtype=object)[:, None] == names
    mine = lab["theme"].fillna(NONE).astype(str).to_numpy(dtype=object)[:, None] == names
    theirs = lab["sentence_id"].map(base).to_numpy(dtype=object)[:, None] == names
    sources = sorted(lab["source"].unique())
    rows = [np.flatnonzero(lab["source"].to_numpy() == s) for s in sources]
    weights = np.zeros((n_boot + 1, len(lab)))
    weights[0] = 1  # row 0: the sample as drawn
    for r in rows:  # resample each source's labelled sentences
        draws = r[rng.integers(0, len(r), size=(n_boot, len(r)))]
        for b in range(n_boot):
            weights[1 + b] += np.bincount(draws[b], minlength=len(lab))
    grid = pd.MultiIndex.from_product([sources, keys], names=["source", "theme"])

    def whole(shares: pd.DataFrame) -> np.ndarray:  # sources x themes, the study's own shares
        return shares.set_index(["source", "theme"])["share"].reindex(grid, fill_value=0).to_numpy().reshape(len(sources), -1)

    readers = np.stack([weights[:, r] @ truth[r] / len(r) for r in rows], axis=1)  # draws x sources x themes

    def figures(pred: np.ndarray, shares: pd.DataFrame) -> tuple[np.ndarray, ...]:
        tp, t, p = weights @ (truth & pred), weights @ truth, weights @ pred
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(t + p > 0, 2 * tp / (t + p), np.nan)
        err = np.abs(whole(shares)[None] - readers).reshape(len(weights), -1)
        return np.nanmean(f1, 1), np.nanmin(f1, 1), err.max(1), err.mean(1)

    out = {}
    for what, a, b in zip(("macro_f1", "worst_theme_f1", "emphasis_error_max", "emphasis_error_mean"),
                          figures(mine, study_shares),
                          figures(theirs, base_shares)):
        d = a - b
        out[f"{what}_minus_baseline"] = [round(float(d[0]), 3), *(round(float(q), 3) for q in np.percentile(d[1:], [2.5, 97.5]))]
    return out


def evaluate(name: str, out: Path, **themes) -> dict:
    folder = HERE / name
    agreed, kappa = readers(folder)
    codebook = load_codebook(folder / "codebook.yaml")
    keys = list(codebook.keys)
    path = study(name, out, **themes)
    sentences = pd.read_parquet(path / "sentences.parquet")
    body = sentences[sentences["is_body"]]
    lab = agreed.merge(body[["sentence_id", "source", "theme"]], on="sentence_id")
    f1 = scores(lab["label"], lab["theme"].fillna(NONE).astype(str), keys)
    base_pred = baseline(body.reset_index(drop=True), codebook)
    f1_base = scores(lab["label"], lab["sentence_id"].map(base_pred), keys)
    study_shares = pd.read_parquet(path / "emphasis.parquet")[["source", "theme", "share"]]
    base_shares = (pd.DataFrame({"source": body["source"].to_numpy(), "theme": base_pred.to_numpy()})
                   .groupby("source")["theme"].value_counts(normalize=True).rename("share").reset_index())
    err, err_mean = emphasis_error(study_shares, lab, keys)
    err_base, err_base_mean = emphasis_error(base_shares, lab, keys)
    err_assign, err_assign_mean, err_sampling = sample_errors(lab, study_shares, keys)
    paired = against_baseline(lab, base_pred, study_shares, base_shares, keys)
    # 100 labels for the correction; the readers' shares of the other labelled sentences to score it
    pick = lab.sample(n=min(100, len(lab) // 2), random_state=0)
    rest = lab.drop(pick.index)
    corr = corrected_emphasis(sentences, pick.assign(label=pick["label"]), pd.read_parquet(path / "emphasis.parquet"),
                              n_boot=500)
    corr = corr[corr["theme"].isin(keys) & corr["corrected"]]
    hand = rest.groupby("source")["label"].value_counts(normalize=True)
    truth = [hand.get((s, t), 0.0) for s, t in zip(corr["source"], corr["theme"])]
    corr_err = np.abs(corr["share_corrected"].to_numpy() - truth)
    covered = (corr["ci_low"].to_numpy() <= truth) & (np.array(truth) <= corr["ci_high"].to_numpy())
    worst = min(f1, key=lambda k: f1[k] if not np.isnan(f1[k]) else 2)
    return {"set": name, "n_labelled": int(len(lab)), "kappa_readers": round(kappa, 3),
            "macro_f1": round(float(np.nanmean(list(f1.values()))), 3),
            "worst_theme": f"{worst} {f1[worst]:.2f}",
            "macro_f1_baseline": round(float(np.nanmean(list(f1_base.values()))), 3),
            "emphasis_error_max": round(err, 3), "emphasis_error_mean": round(err_mean, 3),
            "emphasis_error_max_baseline": round(err_base, 3), "emphasis_error_mean_baseline": round(err_base_mean, 3),
            "emphasis_error_max_same_sentences": round(err_assign, 3),
            "emphasis_error_mean_same_sentences": round(err_assign_mean, 3),
            "sampling_error_max": round(err_sampling, 3), **paired,
            "corrected_error_mean_100_labels": round(float(corr_err.mean()), 3) if len(corr) else None,
            "corrected_ci_coverage": round(float(covered.mean()), 3) if len(corr) else None,
            "corrected_cells": int(len(corr)), "f1_per_theme": {k: round(v, 3) for k, v in f1.items()},
            "f1_per_theme_baseline": {k: round(v, 3) for k, v in f1_base.items()}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "validation")
    args = ap.parse_args()
    results = [evaluate(s, args.out) for s in args.sets.split(",")]
    table = pd.DataFrame([{k: (f"{v[0]} [{v[1]}, {v[2]}]" if isinstance(v, list) else v) for k, v in r.items()
                           if not k.startswith("f1_per")} for r in results])
    print(table.to_string(index=False))
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    head = "| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns) + "\n"
    rows = "".join("| " + " | ".join(str(v) for v in r) + " |\n" for r in table.itertuples(index=False))
    (HERE / "results.md").write_text(head + rows, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
