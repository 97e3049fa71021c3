"""Could clause vectors be skipped where they cannot change a theme? (issue 13, item 2). Not a test.

A named theme's evidence is ``(1 - w) cos(sentence, prototype) + w max cos(clause, seed phrase)``
(``themes.model.named_evidence``). Without embedding a sentence's clauses, the only bound on the
clause part is ``cos <= 1``. For each study given, this counts the multi-clause body sentences
(the ones whose clauses need embedding) that this bound rules out of every named theme's
secondary-mention cut (``secondary_cut + secondary_margin``): those could skip their clauses
without changing anything a study shows.

    python research/clause_gate.py artifacts/validation/news artifacts/validation/speeches artifacts/seed

Needs the studies (``research/validation/run.py`` writes the validation ones); reads their
vectors through the embedding cache (or embeds them again).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from framescope.config import EmbedConfig
from framescope.embed.encoders import get_embedder, row_dot
from framescope.embed.vectors import embedding_texts, sentence_vectors
from framescope.themes.model import ThemeModel, clauses


def main(folders: list[str]) -> int:
    for folder in map(Path, folders):
        model = ThemeModel.load(folder / "model")
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        cfg = EmbedConfig(**manifest["config"]["embed"])
        sentences = pd.read_parquet(folder / "sentences.parquet")
        vectors = sentence_vectors(sentences, get_embedder(cfg), cfg)
        body = sentences["is_body"].to_numpy(bool)
        prototype = row_dot(vectors[body], model.prototypes_)
        w, margin = model.cfg.phrase_weight, model.cfg.secondary_margin
        bound = (1 - w) * prototype + w * 1.0  # the evidence if some clause matched a seed phrase exactly
        possible = (bound >= np.asarray(model.secondary_cut_) + margin).any(axis=1)
        multi = np.array([len(clauses(t)) > 1 for t in embedding_texts(sentences[body])])
        print(f"{folder}: {int(body.sum())} body sentences, {int(multi.sum())} with several clauses, "
              f"{int((multi & ~possible).sum())} of them ruled out by the bound (phrase weight {w}, margin {margin})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
