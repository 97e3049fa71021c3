"""Step 1 of the seed study: read `seeds/corpus`, split it into documents and sentences.

Writes STUDY/documents.parquet and STUDY/sentences.parquet (the ingest columns), and starts
STUDY/manifest.json with the resolved config, the start time and the stage's timing; the
later steps read the config back from it, so all steps run with one config.

    python research/01_ingest.py [--out artifacts/seed]
"""
import argparse
import time
from datetime import datetime, timezone
from pathlib import Path

from framescope.artifacts import write_json, write_table
from framescope.config import seed_config
from framescope.ingest.corpus import load_documents
from framescope.engines.study import StudyRun
from framescope.ingest.segment import sentence_table

REPO_ROOT = Path(__file__).resolve().parents[1]

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=REPO_ROOT / "artifacts" / "seed")
out = parser.parse_args().out.resolve()
# record the study folder as `framescope run` does: relative to the repository when inside it
cfg = seed_config().model_copy(update={"out": str(out.relative_to(REPO_ROOT) if out.is_relative_to(REPO_ROOT) else out)})
started = datetime.now(timezone.utc).isoformat(timespec="seconds")

t0 = time.perf_counter()
study = StudyRun.from_config(cfg)  # the inputs resolved, the codebook and frames checked
documents = load_documents([str(p) for p in study.inputs], cfg.ingest)
sentences = sentence_table(documents)
seconds = round(time.perf_counter() - t0, 3)

write_table(documents, out / "documents.parquet")
write_table(sentences, out / "sentences.parquet")
write_json({"config": cfg.model_dump(mode="json"), "started_at": started, "timings": {"ingest": seconds},
            "notes": []}, out / "manifest.json")  # step 3 writes the full manifest

body = sentences[sentences["is_body"]]
print(f"{len(documents)} documents, {len(sentences)} sentences ({len(body)} body) -> {out}")
print(body.groupby("source").size().rename("body sentences").to_string())
