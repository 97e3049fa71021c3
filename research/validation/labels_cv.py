"""What the researcher's labels add to the corpus-calibrated assignment, cross-validated on each
labelled set (all agreed labels; ``themes.assignment.label_cross_validation`` with the shipped
settings). Prints one line per set.

    python research/validation/labels_cv.py
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from assignment import ROOT, SETS, features, load_set, vectors_in_context  # noqa: E402

from framescope.config import EmbedConfig, ThemeConfig  # noqa: E402
from framescope.embed.encoders import get_embedder  # noqa: E402
from framescope.themes.assignment import label_cross_validation  # noqa: E402
from framescope.themes.model import EVIDENCE_FLOOR  # noqa: E402


def main() -> int:
    embedder, ecfg, tcfg = get_embedder(EmbedConfig()), EmbedConfig(), ThemeConfig()
    settings = dict(seed_share=tcfg.seed_share, seed_fraction=tcfg.seed_fraction, none_share=tcfg.none_share,
                    floor=EVIDENCE_FLOOR["minilm"], C=tcfg.classifier_c)
    print("set labels folds macro_f1_no_labels macro_f1_with_labels")
    for name in SETS:
        data = load_set(name)
        feat = features(data, embedder, ROOT / "artifacts" / "validation" / "features")
        V = vectors_in_context(data, feat, ecfg.context_window, ecfg.context_weight, ecfg.context_scope)
        Z = (1 - tcfg.phrase_weight) * (V @ feat["P"].T) + tcfg.phrase_weight * feat["phrase"]
        index = {k: i for i, k in enumerate(data["keys"])}
        labelled = np.array([-2 if (x is None or x != x) else index.get(x, -1) for x in data["label"]])
        cv = label_cross_validation(Z, V, labelled, data["keys"], tcfg.seed, **settings)
        print(name, cv["n_labels"], cv["folds"], cv["macro_f1_before"], cv["macro_f1_after"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
