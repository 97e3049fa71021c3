"""Start-up of a fresh process: on a warm embedding cache the seed runs without loading the model."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd

from conftest import ROOT, SEED_CODEBOOK, SEED_CORPUS
from framescope.embed.encoders import MINILM_ID, MINILM_SHA256

RUN_SEED = """
import sys
from framescope.config import seed_config
from framescope.engines.pipeline import run

cfg = seed_config()
cfg = cfg.model_copy(update={{
    "inputs": [{corpus!r}], "out": {out!r},
    "themes": cfg.themes.model_copy(update={{"codebook": {codebook!r}}}),
}})
run(cfg, progress=False)
print(sorted(m for m in ("bertopic", "transformers.models.bert.modeling_bert") if m in sys.modules))
"""


def test_a_fresh_process_on_a_warm_cache_loads_no_model_and_gives_the_same_study(seed_study, tmp_path):
    """A second `framescope run` of the same corpus (every text already in the cache) never loads
    the MiniLM model (no BERT code is imported), yet it still records the pinned model's hash and
    writes exactly the study the first run wrote. It fits its themes through BERTopic (bertopic is
    imported) unless it takes the first run's fit from the cache (framescope.reuse; the manifest
    says so), when bertopic is not imported at all."""
    out = tmp_path / "again"
    code = RUN_SEED.format(corpus=str(SEED_CORPUS), out=str(out), codebook=str(SEED_CODEBOOK))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}  # same FRAMESCOPE_CACHE_DIR
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert done.stdout.strip().splitlines()[-1] == ("[]" if manifest["reused"] else "['bertopic']")
    assert manifest["embedding"] == {"model": MINILM_ID, "weights_sha256": MINILM_SHA256["model.safetensors"]}
    for name in ("sentences", "themes", "emphasis", "frames"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{name}.parquet"),
                                      pd.read_parquet(seed_study / f"{name}.parquet"), check_exact=True)
