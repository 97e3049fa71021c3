"""The voices validation kit (research/validation/voices/): the sample to label and the scorer."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "research" / "validation" / "voices"


def _score_module():
    sys.path.insert(0, str(KIT.parent))
    spec = importlib.util.spec_from_file_location("voices_score", KIT / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sample_is_balanced_blind_and_joins_framescope_sentences():
    from framescope.config import IngestConfig
    from framescope.ingest.corpus import load_documents
    from framescope.ingest.segment import sentence_table
    from framescope.measures.speakers import has_cue

    sample = pd.read_csv(KIT / "sample.csv")
    assert list(sample.columns) == ["item", "set", "sentence_id", "context", "sentence"]  # no framescope output
    assert len(sample) >= 150 and sample["item"].tolist() == list(range(1, len(sample) + 1))
    assert sample["set"].value_counts().to_dict() == {"speeches": 80, "news": 80}
    cue = sample["sentence"].map(has_cue)
    assert cue.sum() == len(sample) // 2
    for name, part in sample.groupby("set"):
        table = sentence_table(load_documents([str(ROOT / "research" / "validation" / name / "corpus.csv")],
                                              IngestConfig())).set_index("sentence_id")
        assert table.loc[part["sentence_id"], "text"].tolist() == part["sentence"].tolist()
        assert table.loc[part["sentence_id"], "is_body"].all()


def test_scorer_counts_agreement_precision_and_recall_on_agreed_items():
    score = _score_module()
    assert score.same_speaker(score.normalise("Governor Romney"), score.normalise("Mitt Romney"))
    assert score.same_speaker(score.normalise("Mitt"), score.normalise("Mitt Romney"))
    assert not score.same_speaker(score.normalise("Michelle Obama"), score.normalise("Barack Obama"))
    sample = pd.DataFrame({"item": [1, 2, 3, 4, 5], "set": ["news"] * 3 + ["speeches"] * 2,
                           "sentence_id": [f"s{i}" for i in range(1, 6)]})
    a = pd.DataFrame({"item": [1, 2, 3, 4, 5], "speakers": ["Mitt Romney", "", "Reuters; Xi Jinping", "Obama", "Bush"]})
    b = pd.DataFrame({"item": [1, 2, 3, 4, 5], "speakers": ["Romney", "", "Xi; Reuters", "", "Jeb Bush"]})
    predicted = {"s1": "Romney", "s2": "Lithuania", "s3": "Reuters", "s4": None, "s5": "Jeb Bush"}
    out = score.score(sample, a, b, predicted)
    assert out["agreement"]["dropped"] == 1 and out["agreement"]["share_agreeing"] == 0.8  # item 4 dropped
    everything = out["all"]
    assert everything["agreed_items"] == 4 and everything["gold_speakers"] == 4
    assert everything["predicted_speakers"] == 4 and everything["matched"] == 3
    assert everything["precision"] == 0.75 and everything["recall"] == 0.75
    assert out["speeches"]["matched"] == 1 and out["news"]["precision"] == pytest.approx(2 / 3, abs=1e-3)
    with pytest.raises(SystemExit, match="lacks 1 items"):
        score.score(sample, a.iloc[:4], b, predicted)
