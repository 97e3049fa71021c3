"""The study's theme model is a BERTopic model: BERTopic opens it, and assigns as framescope does.

- the study's `model/bertopic/` is what `BERTopic.save(serialization="safetensors", save_ctfidf=True)`
  writes, and `BERTopic.load` opens it in a fresh process (no pickle anywhere);
- its `transform`, given the same in-context vectors, gives the theme framescope's own
  `ThemeModel.transform` gives, for 20 sentences (seed sentences and new ones);
- BERTopic's views (`visualize_topics`, `visualize_hierarchy`, `visualize_documents`) draw from it;
- the discovered topics went through `BERTopic.fit_transform` with framescope's steps, and the
  report's method section names the BERTopic version and the components that ran.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from framescope.config import EmbedConfig
from framescope.embed.encoders import get_embedder
from framescope.embed.vectors import sentence_vectors
from framescope.themes import ThemeModel

pytestmark = pytest.mark.slow

IN_BERTOPIC = r"""
import json, sys
import numpy as np
from bertopic import BERTopic

folder, vectors, docs, all_vectors, all_docs = sys.argv[1:6]
model = BERTopic.load(folder)
topics, _ = model.transform(json.load(open(docs)), embeddings=np.load(vectors))
views = {
    "topics": model.visualize_topics(custom_labels=True),
    "hierarchy": model.visualize_hierarchy(custom_labels=True),
    "documents": model.visualize_documents(json.load(open(all_docs)), embeddings=np.load(all_vectors),
                                           custom_labels=True),
}
print(json.dumps({"topics": [int(t) for t in topics], "outliers": int(model._outliers),
                  "views": {k: len(v.data) for k, v in views.items()},
                  "labels": model.custom_labels_}))
"""


def test_bertopic_load_assigns_the_themes_framescope_assigns(seed_study, tmp_path):
    model_dir = seed_study / "model"
    sentences = pd.read_parquet(seed_study / "sentences.parquet")
    new = pd.DataFrame({
        "sentence_id": [f"n0-s{i:04d}" for i in range(4)], "doc_id": "n0", "source": "new",
        "paragraph": range(4), "position": range(4), "is_body": True,  # one paragraph each: no mixed context
        "text": ["Glaciers in Central Asia are melting as emissions keep rising.",
                 "The two countries signed a treaty settling their common border.",
                 "Chinese diplomats lashed out at critics on social media.",
                 "Ports and railways were financed by Chinese loans under the Belt and Road."]})
    embedder = get_embedder(EmbedConfig())
    seed_vectors = sentence_vectors(sentences, embedder, EmbedConfig())
    body = sentences["is_body"].to_numpy()
    pick = np.flatnonzero(body)[np.linspace(0, body.sum() - 1, 16).astype(int)]
    test = pd.concat([sentences.iloc[pick][new.columns], new], ignore_index=True)
    vectors = np.vstack([seed_vectors[pick], sentence_vectors(new, embedder, EmbedConfig())])
    assert len(test) == 20

    ours = ThemeModel.load(model_dir).transform(test, vectors, embedder)["theme"].tolist()

    np.save(tmp_path / "v.npy", vectors)
    (tmp_path / "d.json").write_text(json.dumps(test["text"].tolist()))
    np.save(tmp_path / "all_v.npy", seed_vectors[body])
    (tmp_path / "all_d.json").write_text(json.dumps(sentences.loc[body, "text"].tolist()))
    r = subprocess.run([sys.executable, "-c", IN_BERTOPIC, str(model_dir / "bertopic"), str(tmp_path / "v.npy"),
                        str(tmp_path / "d.json"), str(tmp_path / "all_v.npy"), str(tmp_path / "all_d.json")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    topic_themes = json.loads((model_dir / "theme_model.json").read_text())["bertopic"]["topic_themes"]
    theirs = [topic_themes[t + got["outliers"]] for t in got["topics"]]
    assert theirs == ours
    assert len(set(ours)) >= 4  # the 20 sentences span several themes, not one
    assert ours[-4:] == ["climate", "border_settlement", "wolf_warrior_diplomacy", "bri_coercion"], ours
    assert all(n > 0 for n in got["views"].values())
    labels = pd.read_parquet(seed_study / "themes.parquet").set_index("theme")["label"]
    assert [lab for lab in got["labels"] if lab != "Unassigned"] and \
        set(got["labels"]) - {"Unassigned"} <= set(labels)


def test_discovery_runs_through_bertopic_with_framescopes_steps(seed_study, monkeypatch):
    from bertopic import BERTopic

    from framescope.themes.discovery import TopicClusterer, TopicReducer

    meta = json.loads((seed_study / "model" / "theme_model.json").read_text())["bertopic"]
    assert "TopicReducer(UMAP(metric='cosine'" in meta["discovery"]["umap_model"]
    assert "TopicClusterer(" in meta["discovery"]["hdbscan_model"]
    assert meta["study_model"]["representation_model"][0].startswith("KeyBERTInspired(")
    # the BERTopic pipeline itself calls framescope's steps
    calls = []
    real_fit = BERTopic.fit_transform

    def spy(self, documents, embeddings=None, **kw):
        calls.append((type(self.umap_model), type(self.hdbscan_model), len(documents)))
        return real_fit(self, documents, embeddings=embeddings, **kw)

    monkeypatch.setattr(BERTopic, "fit_transform", spy)
    from framescope.validate.evaluate import seed_inputs
    from framescope.themes import load_codebook  # noqa: F401

    from conftest import SEED_LABELS
    sentences, codebook, _ = seed_inputs(SEED_LABELS)
    embedder = get_embedder(EmbedConfig())
    ThemeModel().fit(sentences, sentence_vectors(sentences, embedder, EmbedConfig()), codebook, embedder)
    assert (TopicReducer, TopicClusterer) in [c[:2] for c in calls]


def test_the_report_says_what_bertopic_ran(seed_study, tmp_path):
    import shutil
    from importlib import metadata

    from framescope.report.build import write_report

    study = shutil.copytree(seed_study, tmp_path / "study")  # the session's seed study stays as the run left it
    md = next(p for p in write_report(study) if p.suffix == ".md").read_text(encoding="utf-8")
    html = (study / "report.html").read_text(encoding="utf-8")
    assert "How the themes group" in md and "How the themes group" in html  # BERTopic's hierarchy
    assert f"BERTopic {metadata.version('bertopic')}" in md
    for part in ("TopicReducer", "TopicClusterer", "ClassTfidfTransformer(reduce_frequent_words=True)",
                 "KeyBERTInspired", "MaximalMarginalRelevance", "BERTopic.load"):
        assert part in md, part
