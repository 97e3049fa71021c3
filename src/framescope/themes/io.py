"""Save and load a fitted ThemeModel: arrays in safetensors, everything else in JSON.

Nothing is pickled. ``model/theme_model.safetensors`` holds the codebook's prototypes and
seed-phrase vectors and the map anchors; ``model/theme_model.json`` the config, codebook, theme
table, thresholds, edits, the embedding model's id and weights hash, and which theme each of
BERTopic's topics is; ``model/bertopic/`` the study's BERTopic model as BERTopic saves it
(safetensors, with the c-TF-IDF), whose topic embeddings are what ``ThemeModel.transform``
compares new sentences with. Loading reads those files directly: it never imports bertopic.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from framescope.artifacts import atomic_write_bytes
from framescope.config import ThemeConfig
from framescope.errors import InputError
from framescope.themes.codebook import parse_codebook

FORMAT = 2
ARRAYS = ("prototypes_", "phrase_vectors_", "phrase_theme_", "anchor_vectors_", "anchor_xy_")
BERTOPIC_DIR = "bertopic"
VIEWS_DIR = "bertopic_views"


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
        "calibration": model.calibration_,
        "recalibration": model.recalibration_,
        "secondary_cut": [round(float(c), 4) for c in model.secondary_cut_],
        "edit_map": model.edit_map_,
        "embedder": {"name": model.embedder_name_, "model_id": model.embedder_id_,
                     "weights_sha256": model.embedder_sha_},
        "bertopic": {"folder": BERTOPIC_DIR if len(model.topic_embeddings_) else None,
                     "topic_themes": [str(k) for k in model.topic_keys_],
                     "study_model": model.bertopic_, "discovery": model.discovery_},
        "themes": json.loads(model.themes_.to_json(orient="records", force_ascii=False)),
        "notes": model.notes_,
    }
    if model.topic_model_ is not None:
        from framescope.themes.topic_model import save_topic_model

        from framescope.themes.topic_model import topic_views

        save_topic_model(model.topic_model_, out / BERTOPIC_DIR, model.embedding_model_path_)
        (out / VIEWS_DIR).mkdir(exist_ok=True)
        for name, fig_json in topic_views(model.topic_model_).items():
            atomic_write_bytes(out / VIEWS_DIR / f"{name}.json", fig_json.encode("utf-8"))
    elif getattr(model, "bertopic_folder_", None) is not None:  # a loaded model, saved again
        shutil.copytree(model.bertopic_folder_, out / BERTOPIC_DIR, dirs_exist_ok=True)
        if (model.bertopic_folder_.parent / VIEWS_DIR).is_dir():
            shutil.copytree(model.bertopic_folder_.parent / VIEWS_DIR, out / VIEWS_DIR, dirs_exist_ok=True)
    atomic_write_bytes(out / "theme_model.safetensors", save(arrays))
    atomic_write_bytes(out / "theme_model.json", json.dumps(meta, indent=2, ensure_ascii=False).encode("utf-8"))
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
        raise InputError(f"theme model in {folder} has format {meta.get('format')}, expected {FORMAT}: "
                         "re-run the study with this version of framescope")
    model = cls(ThemeConfig.model_validate(meta["config"]))
    for name in ARRAYS:
        setattr(model, name, arrays[name.rstrip("_")])
    model.codebook_ = parse_codebook(meta["codebook"], where=f"theme model {folder}")
    model.theme_keys_ = np.array(meta["theme_keys"], dtype=object)
    model.threshold_ = float(meta["threshold"])
    model.calibration_ = meta.get("calibration")
    model.recalibration_ = meta.get("recalibration")
    model.secondary_cut_ = np.array(meta.get("secondary_cut", [model.threshold_] * len(model.theme_keys_)),
                                    dtype=np.float64)
    model.edit_map_ = dict(meta["edit_map"])
    model.renames_ = dict(model.codebook_.edits.rename)
    emb = meta["embedder"]
    model.embedder_name_, model.embedder_id_, model.embedder_sha_ = emb["name"], emb["model_id"], emb["weights_sha256"]
    bt = meta["bertopic"]
    model.topic_model_ = None  # BERTopic.load(folder / "bertopic") opens it in BERTopic
    model.bertopic_folder_ = folder / bt["folder"] if bt["folder"] else None
    model.embedding_model_path_ = None
    model.bertopic_, model.discovery_ = bt["study_model"], bt["discovery"]
    model.topic_keys_ = np.array(bt["topic_themes"], dtype=object)
    dim = model.anchor_vectors_.shape[1] if len(model.anchor_vectors_) else model.prototypes_.shape[1]
    model.topic_embeddings_ = np.zeros((0, dim), dtype=np.float32)
    if bt["folder"]:
        try:
            emb_file = load_file(str(folder / bt["folder"] / "topic_embeddings.safetensors"))
        except Exception as e:
            raise InputError(f"cannot read the BERTopic model in {folder / bt['folder']}: {e}") from None
        model.topic_embeddings_ = np.asarray(emb_file["topic_embeddings"], dtype=np.float32)
        if len(model.topic_embeddings_) != len(model.topic_keys_):
            raise InputError(f"the BERTopic model in {folder / bt['folder']} has {len(model.topic_embeddings_)} "
                             f"topics; theme_model.json names {len(model.topic_keys_)}")
    themes = pd.DataFrame(meta["themes"])
    if len(themes):
        themes["keywords"] = themes["keywords"].apply(list)
    model.themes_ = themes
    model.keywords_ = {r["theme"]: list(r["keywords"]) for r in meta["themes"]}
    model.notes_ = list(meta["notes"])
    return model


def model_description(study: str | Path) -> dict:
    """The ``bertopic`` block of a study's ``model/theme_model.json``: the BERTopic version and
    the components that ran (``themes.topic_model.components``); empty when there is none."""
    p = Path(study) / "model" / "theme_model.json"
    try:
        return json.loads(p.read_text(encoding="utf-8")).get("bertopic") or {}
    except (OSError, ValueError):
        return {}


def topic_model_views(study: str | Path) -> dict[str, dict]:
    """BERTopic's views of a study's model (``hierarchy``, ``topic_distance``) as plotly figure
    dicts, read from ``model/bertopic_views/`` (no bertopic import)."""
    folder = Path(study) / "model" / VIEWS_DIR
    out = {}
    for name in ("hierarchy", "topic_distance"):
        p = folder / f"{name}.json"
        if p.is_file():
            try:
                out[name] = json.loads(p.read_text(encoding="utf-8"))
            except ValueError:
                continue
    return out


def _write_frame(df: pd.DataFrame, path: Path) -> None:
    df.to_parquet(path, index=False)


def _read_frame(path: Path) -> pd.DataFrame:
    """A frame written by :func:`_write_frame`, with list cells as lists again (Parquet gives arrays)."""
    df = pd.read_parquet(path)
    for col in df.columns:
        if df[col].dtype == object and any(isinstance(v, np.ndarray) for v in df[col]):
            df[col] = df[col].map(lambda v: list(v) if isinstance(v, np.ndarray) else v)
    return df


def save_fit(model, folder: Path) -> None:
    """A fitted model as a run needs it again: the saved model (:func:`save`), its assignment of the
    fitted sentences (``assign_``) and its theme table, exactly (Parquet)."""
    save(model, folder / "model")
    _write_frame(model.assign_, folder / "assign.parquet")
    _write_frame(model.themes_, folder / "themes.parquet")


def load_fit(cls, folder: Path):
    """The model :func:`save_fit` stored, as the run that fitted it had it."""
    model = load(cls, folder / "model")
    model.assign_ = _read_frame(folder / "assign.parquet")
    model.themes_ = _read_frame(folder / "themes.parquet")
    return model
