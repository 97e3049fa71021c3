"""Documents in another language are named, not silently measured with English-only models."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pandas as pd

from conftest import ROOT, SEED_CODEBOOK, SEED_CORPUS

VALIDATION = ROOT / "research" / "validation"


def _examples(lang: str) -> str:
    """spaCy's own example sentences for a language (installed with spaCy)."""
    return " ".join(importlib.import_module(f"spacy.lang.{lang}.examples").sentences)


def _seed_texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(SEED_CORPUS.glob("*.txt"))]


def test_english_documents_pass_and_other_languages_are_named():
    from framescope.ingest.language import english_check

    english = _seed_texts() + [t for name in ("news", "speeches", "official")
                               for t in pd.read_csv(VALIDATION / name / "corpus.csv")["text"]]
    assert len(english) > 400
    assert [t[:60] for t in english if english_check(t)] == []
    for lang, script in (("zh", "Cjk"), ("ru", "Cyrillic"), ("ar", "Arabic"), ("el", "Greek"), ("he", "Hebrew")):
        assert script in (english_check(_examples(lang)) or ""), lang
    for lang in ("fr", "de", "es", "it", "pl", "tr", "vi", "id"):
        assert "common English words" in (english_check(_examples(lang)) or ""), lang
    assert english_check("Trop court.") is None  # too short to judge


def test_a_run_names_the_french_document_in_its_warning_notes_and_manifest(tmp_path):
    corpus = tmp_path / "corpus.csv"
    texts = _seed_texts() + [_examples("fr")]
    pd.DataFrame({"text": texts, "source": ["uk", "gt", "fp", "lemonde"]}).to_csv(corpus, index=False)
    out = tmp_path / "study"
    proc = subprocess.run([sys.executable, "-m", "framescope.cli", "run", str(corpus), "--out", str(out),
                           "--codebook", str(SEED_CODEBOOK), "--text-col", "text", "--source-col", "source"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    warned = [line for line in proc.stderr.splitlines() if "do not look like English" in line]
    assert len(warned) == 1 and "1 of 4 documents" in warned[0] and "source lemonde" in warned[0]
    notes = pd.read_parquet(out / "notes.parquet")
    run_notes = notes.loc[notes["scope"] == "run", "note"].tolist()
    assert any("source lemonde" in n and "English-only" in n for n in run_notes)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert any("do not look like English" in n for n in manifest["notes"])
    # the English documents raise nothing, and `framescope ingest` warns the same way
    ingest = subprocess.run([sys.executable, "-m", "framescope.cli", "ingest", str(corpus), "--out",
                             str(tmp_path / "ingested"), "--text-col", "text", "--source-col", "source"],
                            capture_output=True, text=True, timeout=300)
    assert ingest.returncode == 0 and ingest.stderr.count("do not look like English") == 1


def test_the_seed_study_has_no_language_note(seed_study):
    notes = pd.read_parquet(seed_study / "notes.parquet")
    assert not notes["note"].astype(str).str.contains("do not look like English").any()
