"""Run the seed study as another CPU would: every sentence vector perturbed by float noise.

Torch's CPU kernels give vectors that differ across CPUs and thread counts in about the 7th
decimal (seen: 1e-7). This script adds Gaussian noise ten times larger (sd 1e-6 per component)
to every vector MiniLM returns, in a fresh embedding cache, and writes the seed study to OUT, so
tests/test_reproduce.py can check that the committed tables still match at their stored precision.

    python tests/other_cpu.py OUT CACHE_DIR
"""
import os
import sys

import numpy as np

out, cache = sys.argv[1], sys.argv[2]
os.environ["FRAMESCOPE_CACHE_DIR"] = cache  # never the shared cache: these vectors are perturbed

from framescope.embed import encoders  # noqa: E402
from framescope.config import seed_config  # noqa: E402
from framescope.engines.pipeline import run  # noqa: E402

NOISE_SD = 1e-6
rng = np.random.default_rng(12345)
real_encode_batch = encoders.SentenceTransformerEmbedder._encode_batch
perturbed = []


def encode_batch(self, texts):
    v = real_encode_batch(self, texts)
    perturbed.append(len(texts))
    return v + rng.normal(0.0, NOISE_SD, v.shape).astype(v.dtype)


encoders.SentenceTransformerEmbedder._encode_batch = encode_batch
run(seed_config().model_copy(update={"out": out}))
print(f"perturbed {sum(perturbed)} vectors")
