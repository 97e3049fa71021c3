"""Step 3 of the seed study: the measures, emphasis and framing, for every source x theme.

Scores each sentence (tone, frame dimensions, voice), then computes emphasis (shares, CIs, the
test), emphasis over time, distinctive terms, tone, frames, voices, exemplars, contrasts and
notes, and writes the whole study with its full manifest, exactly as `framescope run` does.

    python research/03_measures.py [--out artifacts/seed]
"""
import argparse
import os
import time
from pathlib import Path

from framescope.artifacts import read_manifest, read_table
from framescope.config import RunConfig
from framescope.embed.encoders import get_embedder
from framescope.embed.vectors import sentence_vectors
from framescope.engines.pipeline import finish_study
from framescope.engines.stages import sentence_measures
from framescope.engines.study import StudyRun
from framescope.themes import ThemeModel

REPO_ROOT = Path(__file__).resolve().parents[1]

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=REPO_ROOT / "artifacts" / "seed")
out = parser.parse_args().out.resolve()
os.chdir(REPO_ROOT)  # the seed config's relative paths (inputs, codebook, out) are the repository's
manifest = read_manifest(out)
cfg = RunConfig.model_validate(manifest["config"])
documents, sentences = read_table(out, "documents"), read_table(out, "sentences")
sentences = sentences.drop(columns=[c for c in sentences if c in ("tone", "frame", "voice", "voice_kind", "voice_as_written") or c.startswith("frame_")])
study = StudyRun.from_config(cfg, embedder=get_embedder(cfg.embed), timings=manifest["timings"],
                             started=manifest["started_at"])  # the run record steps 1 and 2 began
vectors = sentence_vectors(sentences, study.embedder, cfg.embed)  # from the embedding cache of step 2

t0 = time.perf_counter()
sentences = sentence_measures(sentences, vectors, study.embedder, study.frames)
study.timings["sentence measures"] = round(time.perf_counter() - t0, 3)

finish_study(study, documents, sentences, vectors, model=ThemeModel.load(out / "model"),
             themes=read_table(out, "themes"), notes=manifest["notes"])

emphasis = read_table(out, "emphasis")
print(emphasis.pivot(index="theme", columns="source", values="share").round(3).to_string())
print(f"test: chi2={emphasis['chi2'].iloc[0]:.1f}, permutation p={emphasis['p_value'].iloc[0]:.4f}")
