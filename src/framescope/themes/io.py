"""Save, load and apply a fitted ThemeModel: arrays in safetensors, everything else in JSON.

Nothing is pickled. ``model/theme_model.safetensors`` holds the prototypes, seed-phrase vectors,
topic centroids and map anchors; ``model/theme_model.json`` the config, codebook, theme table,
thresholds, edits and the embedding model's id and weights hash.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from framescope.artifacts import atomic_write_bytes as _atomic_write
from framescope.themes.codebook import UNASSIGNED, parse_codebook
from framescope.config import EmbedConfig, ThemeConfig
from framescope.errors import InputError
from framescope.themes.discovery import interpolate_xy, nearest_topic

FORMAT = 1
ARRAYS = ("prototypes_", "phrase_vectors_", "phrase_theme_", "named_centroids_", "topic_centroids_",
          "topic_floors_", "anchor_vectors_", "anchor_xy_")


def save(model, path: str | Path) -> Path:
    from safetensors.numpy import save

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {name.rstrip("_"): np.ascontiguousarray(getattr(model, name)) for name in ARRAYS}
    meta = {
        "format": FORMAT,
        "config": model.cfg.model_dump(mode="json"),
        "codebook": model.codebook_.model_dump(mode="json", by_alias=True),
        "theme_keys": [str(k) for k in model.theme_keys_],
        "threshold": model.threshold_,
        "edit_map": model.edit_map_,
        "embedder": {"name": model.embedder_name_, "model_id": model.embedder_id_,
                     "weights_sha256": model.embedder_sha_},
        "themes": json.loads(model.themes_.to_json(orient="records", force_ascii=False)),
        "notes": model.notes_,
    }
    _atomic_write(out / "theme_model.safetensors", save(arrays))
    _atomic_write(out / "theme_model.json", json.dumps(meta, indent=2, ensure_ascii=False).encode("utf-8"))
    return out


def load(cls, path: str | Path):
    from safetensors.numpy import load_file

    folder = Path(path)
    meta_p, arr_p = folder / "theme_model.json", folder / "theme_model.safetensors"
    if not meta_p.is_file() or not arr_p.is_file():
        raise InputError(f"{folder} is not a saved theme model (theme_model.json + .safetensors)")
    try:
        meta = json.loads(meta_p.read_text(encoding="utf-8"))
        arrays = load_file(str(arr_p))
    except Exception as e:  # damaged files
        raise InputError(f"cannot read the theme model in {folder}: {e}") from None
    if meta.get("format") != FORMAT:
        raise InputError(f"theme model in {folder} has format {meta.get('format')}, expected {FORMAT}")
    model = cls(ThemeConfig.model_validate(meta["config"]))
    for name in ARRAYS:
        setattr(model, name, arrays[name.rstrip("_")])
    model.codebook_ = parse_codebook(meta["codebook"], where=f"theme model {folder}")
    model.theme_keys_ = np.array(meta["theme_keys"], dtype=object)
    model.threshold_ = float(meta["threshold"])
    model.edit_map_ = dict(meta["edit_map"])
    model.renames_ = dict(model.codebook_.edits.rename)
    emb = meta["embedder"]
    model.embedder_name_, model.embedder_id_, model.embedder_sha_ = emb["name"], emb["model_id"], emb["weights_sha256"]
    themes = pd.DataFrame(meta["themes"])
    if len(themes):
        themes["keywords"] = themes["keywords"].apply(list)
    model.themes_ = themes
    model.notes_ = list(meta["notes"])
    return model


def _embedder_for(model, embedder):
    needs = len(model.theme_keys_) and model.cfg.phrase_weight > 0 and len(model.phrase_vectors_)
    if embedder is not None or not needs:
        return embedder
    from framescope.embed.encoders import get_embedder

    if not model.embedder_name_ or model.embedder_name_ == "tfidf":
        raise InputError("this theme model needs its fitted embedder: transform(sentences, vectors, embedder)")
    embedder = get_embedder(EmbedConfig(model=model.embedder_name_))
    if embedder.weights_sha256 != model.embedder_sha_:
        raise InputError(f"embedding model '{model.embedder_name_}' has other weights than the one this "
                         "theme model was fitted with")
    return embedder


def transform(model, sentences: pd.DataFrame, vectors: np.ndarray, embedder=None) -> pd.DataFrame:
    """Assign a fitted model's themes to sentences: named theme if its evidence reaches the
    threshold, else the nearest discovered topic the sentence fits, else `unassigned`;
    then the study's merge/move edits. ``vectors`` must come from the same embedder and
    context settings as the fitted ones."""
    from framescope.themes.mentions import secondary_themes, with_also_themes
    from framescope.themes.model import _assign_frame, _check_inputs

    sentences, vectors = _check_inputs(sentences, vectors)
    dim = model.anchor_vectors_.shape[1] if len(model.anchor_vectors_) else vectors.shape[1]
    if vectors.shape[1] != dim:
        raise InputError(f"vectors have {vectors.shape[1]} dimensions; this theme model expects {dim}")
    body = sentences["is_body"].fillna(False).astype(bool).to_numpy()
    bidx = np.flatnonzero(body)
    V = vectors[bidx]
    Z = model._named_evidence(sentences.iloc[bidx], V, _embedder_for(model, embedder))
    theme = np.full(len(V), UNASSIGNED, dtype=object)
    score = np.full(len(V), np.nan, dtype=np.float32)
    if Z.shape[1]:
        best, best_score = Z.argmax(1), Z.max(1)
        named = best_score >= model.threshold_
        theme[named] = model.theme_keys_[best[named]]
        score[named] = best_score[named]
    if len(model.topic_centroids_):
        model._compete(V, theme, score, V @ model.topic_centroids_.T)
    rest = np.flatnonzero(theme == UNASSIGNED)
    near, s = nearest_topic(V[rest], model.topic_centroids_, model.topic_floors_)
    ok = near >= 0
    theme[rest[ok]] = [f"topic_{t}" for t in near[ok]]
    score[rest[ok]] = s[ok]
    theme = np.array([model.edit_map_.get(t, t) for t in theme], dtype=object)
    xy = np.full((len(sentences), 2), np.nan, dtype=np.float32)
    xy[bidx] = interpolate_xy(V, model.anchor_vectors_, model.anchor_xy_)
    also = secondary_themes(Z, model.theme_keys_, theme, model.threshold_, model.cfg.secondary_margin,
                            model.edit_map_)
    return with_also_themes(_assign_frame(sentences, bidx, theme, score, xy), bidx, also)
