"""A/B: MiniLM encode throughput on 2,000 sentences of the 100k bench corpus, batches padded to
16 tokens or not, OpenMP threads passive or default. Run each case in a fresh process:

    for a in "nopad default" "pad default" "nopad passive" "pad passive"; do
        python research/embed_ab.py $a; done

Needs the 100k corpus that `python research/bench.py --sizes 100k --work /tmp/benchwork` builds.
"""
import os, sys, time
pad, omp = sys.argv[1], sys.argv[2]
if omp == "passive":
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
import pandas as pd, numpy as np
from framescope.embed.encoders import get_embedder
from framescope.config import EmbedConfig
texts = pd.read_parquet('/tmp/benchwork/corpora/100k/sentences.parquet', columns=['text'])['text'].astype(str).tolist()
rng = np.random.default_rng(0)
texts = list(rng.choice(texts, 2000, replace=False))
e = get_embedder(EmbedConfig(model='minilm'))
m = e._model
kw = {"processing_kwargs": {"text": {"pad_to_multiple_of": 16}}} if pad == "pad" else {}
order = np.argsort([len(t) for t in texts])
t0 = time.perf_counter(); c0 = time.process_time()
for i in range(0, 2000, 64):
    batch = [texts[j] for j in order[i:i+64]]
    m.encode(batch, batch_size=64, show_progress_bar=False, convert_to_numpy=True, normalize_embeddings=True, **kw)
print(pad, omp, f"wall {time.perf_counter()-t0:.1f} cpu {time.process_time()-c0:.1f}", flush=True)
