"""Shared fixtures. Tests use the real models on small data, offline."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
RAW_SEED = SEEDS / "raw" / "000_b8736d677c6c073e.txt"
SEED_CORPUS = SEEDS / "corpus"
SEED_CODEBOOK = SEEDS / "codebook.yaml"
SEED_LABELS = ROOT / "tests" / "data" / "seed_labels.csv"


def sentence_rows(source, doc, spec, words=10, body=True) -> list[dict]:
    """Themed sentence rows for hand-built emphasis tables; spec: list of (paragraph, theme, n)."""
    out = []
    for para, theme, n in spec:
        out += [dict(source=source, doc_id=doc, paragraph=para, theme=theme, is_body=body,
                     n_words=words, text="w " * words)] * n
    return out


def seed_labels_by_id(study: Path):
    """The seed's reader labels (tests/data/seed_labels.csv: source, text, label) as a label table
    of the study's sentence ids (``none`` for the readers' ``other``), labeller ``reader-1``."""
    import pandas as pd

    from framescope.validate.evaluate import normalise_text

    s = pd.read_parquet(Path(study) / "sentences.parquet")
    s = s[s["is_body"]]
    key = dict(zip(zip(s["source"], s["text"].map(normalise_text)), s["sentence_id"]))
    lab = pd.read_csv(SEED_LABELS)
    ids = [key.get((src, normalise_text(t))) for src, t in zip(lab["source"], lab["text"])]
    return pd.DataFrame({"sentence_id": ids, "label": lab["label"].replace({"other": "none"}), "labeller": "reader-1"}) \
        .dropna(subset=["sentence_id"])


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory):
    """One embedding cache for the session, never the user's own."""
    if "FRAMESCOPE_CACHE_DIR" not in os.environ or not os.environ.get("FRAMESCOPE_KEEP_CACHE"):
        os.environ["FRAMESCOPE_CACHE_DIR"] = str(tmp_path_factory.mktemp("fs-cache"))
    yield


@pytest.fixture(scope="session")
def seed_study(tmp_path_factory) -> Path:
    """The seed study, run once per session with the default config into a temp folder."""
    from framescope.config import seed_config
    from framescope.engines.pipeline import run

    cfg = seed_config()
    cfg = cfg.model_copy(update={
        "inputs": [str(SEED_CORPUS)],
        "out": str(tmp_path_factory.mktemp("seed-study") / "seed"),
        "themes": cfg.themes.model_copy(update={"codebook": str(SEED_CODEBOOK)}),
    })
    return run(cfg, progress=False)
