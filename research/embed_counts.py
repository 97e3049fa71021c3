"""How many texts a cold seed run embeds, and for what (issue 13, "embed less"). Not a test.

Runs the seed study with an empty embedding cache (a temporary FRAMESCOPE_CACHE_DIR) and counts,
per calling function, the texts MiniLM is given and how many of them are distinct.

    python research/embed_counts.py
"""
from __future__ import annotations

import collections
import os
import tempfile
import traceback

os.environ["FRAMESCOPE_CACHE_DIR"] = tempfile.mkdtemp(prefix="fs-embed-counts-")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from framescope.config import seed_config  # noqa: E402
from framescope.embed import encoders  # noqa: E402
from framescope.engines.pipeline import run  # noqa: E402

counts: collections.Counter = collections.Counter()
distinct: dict[str, set] = collections.defaultdict(set)
_encode_batch = encoders.SentenceTransformerEmbedder._encode_batch


def _counted(self, texts):
    callers = [f"{f.filename.split('framescope/')[-1]}:{f.name}" for f in traceback.extract_stack()
               if "framescope/" in f.filename and not f.filename.endswith(("encoders.py", "cache.py"))]
    key = callers[-1] if callers else "?"
    counts[key] += len(texts)
    distinct[key].update(texts)
    return _encode_batch(self, texts)


encoders.SentenceTransformerEmbedder._encode_batch = _counted
run(seed_config().model_copy(update={"out": tempfile.mkdtemp(prefix="fs-embed-counts-") + "/study"}))
print("| caller | texts embedded | distinct |\n| --- | ---: | ---: |")
for key, n in counts.most_common():
    print(f"| `{key}` | {n} | {len(distinct[key])} |")
print(f"| all | {sum(counts.values())} | {len(set().union(*distinct.values()))} |")
