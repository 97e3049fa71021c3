"""Step 2 of the seed study: embed the sentences and fit the theme model (codebook + BERTopic).

Reads STUDY/sentences.parquet; adds the theme columns (`theme`, `theme_score`, `x`, `y`) to it,
writes STUDY/themes.parquet and the saved model STUDY/model/, and records the timings and the
model's notes in STUDY/manifest.json.

    python research/02_themes.py [--out artifacts/seed]
"""
import argparse
import shutil
import time
from pathlib import Path

import pandas as pd

from framescope.artifacts import read_manifest, read_table, write_json, write_table
from framescope.config import RunConfig
from framescope.embed.encoders import get_embedder
from framescope.embed.vectors import sentence_vectors
from framescope.engines.stages import assign_themes, fit_themes, themes_for_corpus
from framescope.themes.sample import fit_sample_documents
from framescope.engines.study import StudyRun

REPO_ROOT = Path(__file__).resolve().parents[1]

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=REPO_ROOT / "artifacts" / "seed")
out = parser.parse_args().out.resolve()
manifest = read_manifest(out)
cfg = RunConfig.model_validate(manifest["config"])  # the config step 1 recorded
study = StudyRun.from_config(cfg)
sentences = read_table(out, "sentences").loc[:, :"n_words"]  # the ingest columns (a re-run starts over)

t0 = time.perf_counter()
embedder = get_embedder(cfg.embed)
vectors = sentence_vectors(sentences, embedder, cfg.embed)
manifest["timings"]["embed"] = round(time.perf_counter() - t0, 3)

t0 = time.perf_counter()
body = sentences["is_body"].to_numpy(bool)
doc_body = pd.Series(body).groupby(sentences["doc_id"].to_numpy()).sum()
in_sample = sentences["doc_id"].isin(fit_sample_documents(doc_body, cfg.themes.fit_sample, cfg.themes.seed)).to_numpy()
model = fit_themes(cfg, sentences[in_sample], vectors[in_sample], study.codebook, embedder)
assigned = assign_themes(model, model.assign_, sentences, vectors, in_sample, embedder)
sentences = sentences.merge(assigned, on="sentence_id", how="left", validate="one_to_one")
themes, notes = themes_for_corpus(model, sentences.loc[body, "theme"], int(body[in_sample].sum()), int(body.sum()))
manifest["timings"]["themes"] = round(time.perf_counter() - t0, 3)

write_table(sentences, out / "sentences.parquet")
write_table(themes, out / "themes.parquet")
shutil.rmtree(out / "model", ignore_errors=True)
model.save(out / "model")
write_json(manifest | {"notes": notes}, out / "manifest.json")

print(themes[["theme", "label", "n_sentences", "named"]].to_string(index=False))
