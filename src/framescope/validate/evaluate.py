"""Theme assignments against a reader's sentence labels: precision, recall, F1, ARI, unassigned.

Label file: CSV with columns ``source``, ``text``, ``label`` (a theme key, or ``other`` for a
sentence that belongs to no named theme). Labels are matched to the study's sentences by
(source, normalised text), so they survive re-segmentation and re-numbering; labels that match
no sentence are listed in the report.

``python -m framescope.validate.evaluate`` re-runs the seed measurements recorded in docs/themes.md.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from framescope.errors import InputError

OTHER = "other"
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "\u00a0": " "})


def normalise_text(text: str) -> str:
    """Case-, quote-, dash- and whitespace-insensitive form used to match labels to sentences."""
    t = unicodedata.normalize("NFKC", str(text)).translate(_QUOTES).lower()
    return re.sub(r"\s+", " ", t).strip()


def read_labels(path: str | Path) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"label file not found: {p}")
    try:
        labels = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise InputError(f"label file {p} is not a readable CSV: {str(e).splitlines()[0]}") from None
    missing = [c for c in ("source", "text", "label") if c not in labels.columns]
    if missing:
        raise InputError(f"label file {p} lacks column(s) {', '.join(missing)} (need source, text, label)")
    labels = labels[["source", "text", "label"]].copy()
    labels["label"] = labels["label"].str.strip()
    if (labels["label"] == "").any():
        raise InputError(f"label file {p}: {int((labels['label'] == '').sum())} row(s) have an empty label")
    return labels


def evaluate_assignments(sentences: pd.DataFrame, labels: pd.DataFrame,
                         named: list[str] | None = None) -> dict:
    """Compare ``sentences.theme`` (body sentences) with ``labels``; see module doc."""
    from sklearn.metrics import adjusted_rand_score

    body = sentences[sentences["is_body"].fillna(False).astype(bool)].copy()
    body["_key"] = list(zip(body["source"].astype(str), body["text"].map(normalise_text)))
    labels = labels.copy()
    labels["_key"] = list(zip(labels["source"].astype(str), labels["text"].map(normalise_text)))
    labels = labels.drop_duplicates("_key", keep="last")
    merged = labels.merge(body[["_key", "sentence_id", "theme"]], on="_key", how="left")
    unmatched = merged[merged["sentence_id"].isna()]
    m = merged[merged["sentence_id"].notna()]
    keys = sorted(set(named or []) | set(labels["label"]) - {OTHER})
    pred = m["theme"].astype(str).where(m["theme"].astype(str).isin(keys), OTHER)
    rows = []
    for k in keys:
        t, p = (m["label"] == k).to_numpy(), (pred == k).to_numpy()
        tp = int((t & p).sum())
        prec = tp / p.sum() if p.sum() else float("nan")
        rec = tp / t.sum() if t.sum() else float("nan")
        f1 = 2 * tp / (t.sum() + p.sum()) if (t.sum() + p.sum()) else float("nan")
        rows.append(dict(theme=k, n_labelled=int(t.sum()), n_assigned=int(p.sum()), true_positive=tp,
                         precision=prec, recall=rec, f1=f1))
    per_theme = pd.DataFrame(rows, columns=["theme", "n_labelled", "n_assigned", "true_positive",
                                            "precision", "recall", "f1"])
    unlabelled = body[~body["_key"].isin(set(labels["_key"]))]
    return {
        "n_labels": int(len(labels)),
        "n_matched": int(len(m)),
        "unmatched": unmatched[["source", "text"]].to_dict("records"),
        "n_body_unlabelled": int(len(unlabelled)),
        "per_theme": per_theme,
        "macro_f1": float(per_theme["f1"].mean()) if len(per_theme) else float("nan"),
        "min_f1": float(per_theme["f1"].min()) if len(per_theme) else float("nan"),
        "ari": float(adjusted_rand_score(m["label"], pred)) if len(m) else float("nan"),
        "unassigned_share": float((body["theme"] == "unassigned").mean()) if len(body) else float("nan"),
        "n_body": int(len(body)),
        "n_themes": int(body["theme"].nunique()),
    }


def evaluate_study(study_dir: str | Path, labels_csv: str | Path) -> dict:
    """Evaluate a study folder written by ``framescope run`` against a label file."""
    from framescope.artifacts import read_table

    study = Path(study_dir)
    sentences = read_table(study, "sentences")
    if sentences.empty or "theme" not in sentences.columns:
        raise InputError(f"{study} has no themed sentences.parquet: run `framescope run` first")
    themes = read_table(study, "themes")
    named = themes.loc[themes["named"].astype(bool), "theme"].tolist() if len(themes) else []
    result = evaluate_assignments(sentences, read_labels(labels_csv), named)
    result["study"] = str(study)
    return result


def format_report(result: dict) -> str:
    """A plain-text report of :func:`evaluate_study`'s result."""
    lines = []
    if result.get("study"):
        lines.append(f"study: {result['study']}")
    lines.append(f"labels: {result['n_labels']} ({result['n_matched']} matched to body sentences, "
                 f"{len(result['unmatched'])} unmatched); body sentences without a label: {result['n_body_unlabelled']}")
    lines.append("")
    lines.append(f"{'theme':<28} {'labelled':>8} {'assigned':>8} {'precision':>9} {'recall':>7} {'F1':>6}")
    for r in result["per_theme"].itertuples():
        lines.append(f"{r.theme:<28} {r.n_labelled:>8} {r.n_assigned:>8} {r.precision:>9.3f} {r.recall:>7.3f} {r.f1:>6.3f}")
    lines.append("")
    lines.append(f"macro F1 {result['macro_f1']:.3f}   min F1 {result['min_f1']:.3f}   "
                 f"ARI (named themes vs other) {result['ari']:.3f}")
    lines.append(f"unassigned body sentences: {result['unassigned_share']:.1%} of {result['n_body']}; "
                 f"themes in use: {result['n_themes']}")
    if result["unmatched"]:
        lines.append("")
        lines.append("unmatched labels (no body sentence with this source and text):")
        for u in result["unmatched"][:20]:
            lines.append(f"  [{u['source']}] {u['text'][:90]}")
        if len(result["unmatched"]) > 20:
            lines.append(f"  ... and {len(result['unmatched']) - 20} more")
    return "\n".join(lines)


# --------------------------------------------------------------------------- seed measurements

def seed_inputs(labels: str | Path = "tests/data/seed_labels.csv"):
    """(sentences, codebook, labels) of the seed study, as the tests and docs/themes.md use them;
    the labels path is taken from the working folder (the repository)."""
    from framescope.config import SEED_ROOT, IngestConfig
    from framescope.ingest.corpus import load_documents
    from framescope.ingest.segment import sentence_table
    from framescope.themes import load_codebook

    sentences = sentence_table(load_documents([str(SEED_ROOT / "seeds" / "corpus")], IngestConfig()))
    return sentences, load_codebook(SEED_ROOT / "seeds" / "codebook.yaml"), read_labels(labels)


def sweep_named(sentences, labels, codebook, embedder, contexts, phrase_weights, thresholds) -> pd.DataFrame:
    """Named-theme F1 for each (context, phrase weight, threshold), without topic discovery."""
    from framescope.config import EmbedConfig, ThemeConfig
    from framescope.embed.vectors import sentence_vectors
    from framescope.themes import ThemeModel

    rows = []
    body = sentences["is_body"].to_numpy(bool)
    for scope, window, weight in contexts:
        ecfg = EmbedConfig(model=embedder.name or "minilm", context_scope=scope, context_window=window,
                           context_weight=weight)
        vectors = sentence_vectors(sentences, embedder, ecfg)
        for pw in phrase_weights:
            z = ThemeModel(ThemeConfig(phrase_weight=pw)).named_evidence(
                sentences[body], vectors[body], codebook, embedder)
            for thr in thresholds:
                zz = z.to_numpy()
                theme = np.where(zz.max(1) >= thr, z.columns.to_numpy()[zz.argmax(1)], "unassigned")
                r = evaluate_assignments(sentences[body].assign(theme=theme), labels, codebook.keys)
                f1 = dict(zip(r["per_theme"]["theme"], r["per_theme"]["f1"]))
                rows.append(dict(scope=scope, window=window, weight=weight, phrase_weight=pw, threshold=thr,
                                 **f1, min_f1=r["min_f1"], macro_f1=r["macro_f1"]))
    return pd.DataFrame(rows)


def fit_and_score(sentences, labels, codebook, embedder, vectors, tcfg) -> dict:
    """Fit the full theme model (named + discovered) and evaluate it."""
    from framescope.themes import ThemeModel

    model = ThemeModel(tcfg).fit(sentences, vectors, codebook, embedder)
    out = sentences.merge(model.assign_, on="sentence_id")
    r = evaluate_assignments(out, labels, codebook.keys)
    r["model"] = model
    r["theme"] = out.loc[out["is_body"].astype(bool), "theme"].to_numpy()
    return r


def seed_stability(sentences, labels, codebook, embedder, vectors, tcfg, seeds=(0, 1, 2, 3, 4)) -> dict:
    """Mean pairwise ARI of the full theme assignment (named + discovered) over random seeds."""
    from itertools import combinations

    from sklearn.metrics import adjusted_rand_score

    runs = [fit_and_score(sentences, labels, codebook, embedder, vectors, tcfg.model_copy(update={"seed": s}))
            for s in seeds]
    aris = [adjusted_rand_score(a["theme"], b["theme"]) for a, b in combinations(runs, 2)]
    return {"mean_pairwise_ari": float(np.mean(aris)), "min_pairwise_ari": float(np.min(aris)),
            "min_f1": [r["min_f1"] for r in runs], "unassigned": [r["unassigned_share"] for r in runs],
            "n_themes": [r["n_themes"] for r in runs]}


def bertopic_zeroshot(sentences, labels, codebook, embedder, vectors, threshold: float,
                      topic_text: str = "label+description", seed: int = 42) -> dict:
    """Baseline: stock BERTopic 0.17 zero-shot (``zeroshot_topic_list`` from the codebook,
    ``zeroshot_min_similarity=threshold``) on the same vectors, UMAP + HDBSCAN on the rest."""
    import hdbscan
    import umap
    from bertopic import BERTopic
    from bertopic.representation import KeyBERTInspired
    from sklearn.feature_extraction.text import CountVectorizer

    body = sentences[sentences["is_body"].astype(bool)].reset_index(drop=True)
    vecs = vectors[sentences["is_body"].to_numpy(bool)]
    names = [t.label if topic_text == "label" else f"{t.label}: {t.description}" for t in codebook.themes]
    model = BERTopic(
        embedding_model=embedder._model, zeroshot_topic_list=names, zeroshot_min_similarity=threshold,
        umap_model=umap.UMAP(n_neighbors=5, n_components=5, min_dist=0.0, metric="cosine", random_state=seed),
        hdbscan_model=hdbscan.HDBSCAN(min_cluster_size=3, prediction_data=True),
        vectorizer_model=CountVectorizer(stop_words="english", ngram_range=(1, 2)),
        representation_model=KeyBERTInspired())
    topics, _ = model.fit_transform(body["text"].tolist(), embeddings=vecs)
    name_to_key = dict(zip(names, codebook.keys))
    label_of = {tid: name_to_key.get(lab, f"topic_{tid}" if tid >= 0 else "unassigned")
                for tid, lab in model.topic_labels_.items()}
    theme = np.array([label_of.get(t, "unassigned") for t in topics], dtype=object)
    return evaluate_assignments(body.assign(theme=theme), labels, codebook.keys)


def main() -> None:  # pragma: no cover - a measurement script, run by hand
    import argparse
    import time

    from framescope.config import EmbedConfig, ThemeConfig
    from framescope.embed.encoders import get_embedder
    from framescope.embed.vectors import sentence_vectors

    ap = argparse.ArgumentParser(description="Seed measurements for docs/themes.md")
    ap.add_argument("what", choices=["context", "backends", "full", "seeds", "bertopic"])
    ap.add_argument("--embedder", default="minilm")
    args = ap.parse_args()
    sentences, codebook, labels = seed_inputs()
    pd.set_option("display.width", 250)
    if args.what == "backends":
        for name in ("minilm", "wordllama", "tfidf"):
            t0 = time.perf_counter()
            emb = get_embedder(EmbedConfig(model=name))
            d = EmbedConfig()
            grid = sweep_named(sentences, labels, codebook, emb, [(d.context_scope, d.context_window, d.context_weight)],
                               [0.0, 0.4], np.round(np.arange(0.1, 0.71, 0.025), 3))
            best = grid.sort_values(["min_f1", "macro_f1"]).groupby("phrase_weight").tail(1)
            print(f"\n{name} ({time.perf_counter() - t0:.1f}s incl. load and sweep)\n", best.round(3).to_string(index=False))
            vectors = sentence_vectors(sentences, emb, EmbedConfig(model=name))
            r = fit_and_score(sentences, labels, codebook, emb, vectors, ThemeConfig())
            print(f"full model at its calibrated threshold ({r['model'].threshold_}): min F1 {r['min_f1']:.3f}, "
                  f"unassigned {r['unassigned_share']:.1%}, F1 {dict(zip(r['per_theme']['theme'], r['per_theme']['f1'].round(3)))}")
        return
    emb = get_embedder(EmbedConfig(model=args.embedder))
    ecfg, tcfg = EmbedConfig(model=args.embedder), ThemeConfig()
    if args.what == "context":
        contexts = [("paragraph", 0, 0.0)] + [(s, w, c) for s in ("paragraph", "document") for w in (1, 2, 3)
                                               for c in (0.2, 0.3, 0.4, 0.5)]
        grid = sweep_named(sentences, labels, codebook, emb, contexts, [0.0, 0.3, 0.4, 0.5],
                           np.round(np.arange(0.35, 0.56, 0.025), 3))
        print(grid.groupby(["phrase_weight", "scope", "window", "weight"])["min_f1"].max().unstack().round(3))
        print(grid.sort_values(["min_f1", "macro_f1"]).tail(10).round(3).to_string(index=False))
        at = grid[np.isclose(grid["threshold"], tcfg.similarity_threshold or 0.45)]
        print("\nat the default threshold:\n", at.groupby(["phrase_weight", "scope", "window", "weight"])["min_f1"]
              .max().unstack().round(3))
        return
    vectors = sentence_vectors(sentences, emb, ecfg)
    if args.what == "full":
        for margin in (0.0, 0.05, 0.1, 0.15):
            r = fit_and_score(sentences, labels, codebook, emb, vectors, tcfg.model_copy(update={"compete_margin": margin}))
            print(f"compete_margin={margin}: min F1 {r['min_f1']:.3f}, unassigned {r['unassigned_share']:.1%}, "
                  f"themes {r['n_themes']}")
            print(r["per_theme"].round(3).to_string(index=False))
        return
    if args.what == "bertopic":
        raw = sentence_vectors(sentences, emb, ecfg.model_copy(update={"context_weight": 0.0}))
        for name, vecs in (("no context", raw), ("in context", vectors)):
            for text in ("label", "label+description"):
                for thr in (0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7):
                    r = bertopic_zeroshot(sentences, labels, codebook, emb, vecs, thr, text)
                    f1 = dict(zip(r["per_theme"]["theme"], r["per_theme"]["f1"].round(3)))
                    print(f"{name:10s} {text:18s} min_similarity={thr:.2f}: min F1 {r['min_f1']:.3f} "
                          f"unassigned {r['unassigned_share']:.1%} {f1}")
        return
    st = seed_stability(sentences, labels, codebook, emb, vectors, tcfg)
    print(st)


if __name__ == "__main__":  # pragma: no cover
    main()
