"""Frame dimensions: score each sentence against an editable frames file, share per cell.

The bundled file ``framescope/data/frames.yaml`` holds the 15 dimensions of the Policy Frames
Codebook (Boydstun et al. 2014; Card et al. 2015). A sentence's score for frame f is

    score_f = cos(sentence vector, prototype of f) + cue_weight * (1 - 0.5 ** m_f)

where the prototype is the vector of "label. description", plus the mean vector of f's cues
under the default ``prototype: description_and_cues`` (:func:`frame_prototypes`), and m_f is the number of distinct cues of f found in the sentence (whole words, case
insensitive, ``*`` = any word ending): one cue adds cue_weight / 2, two add 3/4 of it, and the
bonus never exceeds cue_weight. The fallback frame ``other`` scores ``threshold``; the
sentence's ``frame`` is the highest-scoring key (ties go to the earlier frame in the file), so
a sentence is ``other`` when no frame reaches the threshold. Validation against hand labels:
``docs/measures.md``.
"""
from __future__ import annotations

import re
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from framescope.measures.bootstrap import cluster_keys, measured_sentences, theme_order
from framescope.config import MeasureConfig
from framescope.config import validated
from framescope.embed.cache import cached_encode
from framescope.embed.encoders import normalise, row_dot
from framescope.errors import InputError

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "frames.yaml"
VALIDATION = BUNDLED.with_name("frames_validation.json")  # held-out figures of BUNDLED (research/validation/frames)
FALLBACK = "other"
COLUMNS = ["theme", "source", "frame", "label", "n_sentences", "share", "ci_low", "ci_high"]


class Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    description: str = Field(min_length=1)
    cues: list[str] = Field(default_factory=list)

    @field_validator("cues")
    @classmethod
    def _cues(cls, cues: list[str]) -> list[str]:
        cues = [str(c).strip() for c in cues]
        if any(not c or c == "*" for c in cues):
            raise ValueError("a cue is empty")
        return cues


class Frames(BaseModel):
    """A frames file: frame dimensions plus the two numbers that combine their evidence."""
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    cue_weight: float = Field(0.2, ge=0, le=1)
    threshold: float = Field(0.2, ge=-1, le=2)
    prototype: Literal["description", "description_and_cues"] = "description_and_cues"
    frames: list[Frame] = Field(min_length=1)

    @model_validator(mode="after")
    def _keys(self) -> "Frames":
        keys = [f.key for f in self.frames]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"duplicate frame key {dup[0]!r}")
        for f in self.frames:
            if f.key == FALLBACK and f.cues:
                raise ValueError("'other' is the fallback frame and cannot have cues")
        if not [f for f in self.frames if f.key != FALLBACK]:
            raise ValueError("no frames besides 'other'")
        return self

    @property
    def scored(self) -> list[Frame]:
        """The frames scored by embedding and cues (all but the fallback)."""
        return [f for f in self.frames if f.key != FALLBACK]

    @property
    def keys(self) -> list[str]:
        """Score-column order: the file's order, with ``other`` last."""
        return [f.key for f in self.scored] + [FALLBACK]

    @property
    def labels(self) -> dict[str, str]:
        out = {f.key: f.label for f in self.frames}
        out.setdefault(FALLBACK, "Other")
        return out

    @cached_property
    def patterns(self) -> list[list[tuple[str, re.Pattern]]]:
        """Per scored frame: (literal prefix for a fast substring pre-check, whole-word regex)."""
        return [[(c.replace("\u2019", "'").lower().rstrip("*").split()[0], cue_pattern(c)) for c in f.cues]
                for f in self.scored]


def cue_pattern(cue: str) -> re.Pattern:
    """Whole-word, case-insensitive regex for a cue; a trailing ``*`` matches any word ending."""
    cue = cue.replace("\u2019", "'").lower()
    star = cue.endswith("*")
    words = cue.rstrip("*").split()
    body = r"\s+".join(re.escape(w) for w in words)
    ending = r"[\w-]*" if star else ""
    return re.compile(rf"(?<![\w'-]){body}{ending}(?![\w-])", re.IGNORECASE)


def load_frames(path: str | Path | None = None) -> Frames:
    """Read and validate a frames YAML (the bundled Policy Frames Codebook when ``path`` is None)."""
    p = Path(path) if path else BUNDLED
    if not p.is_file():
        raise InputError(f"frames file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise InputError(f"frames file {p} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise InputError(f"frames file {p} must be a mapping with a 'frames' list")
    return validated(Frames, data, f"frames file {p}")


def frames_digest(frames: Frames) -> str:
    """sha256 of a frames file's content (its validated model, so comments and layout do not
    count): recorded in each run's manifest and in the packaged validation figures."""
    from framescope.artifacts import sha256_text

    return sha256_text(yaml.safe_dump(frames.model_dump(), sort_keys=True))


@cache
def _packaged_validation() -> dict | None:
    """``VALIDATION``, read once per process (it changes only with the package)."""
    import json

    try:
        return json.loads(VALIDATION.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def frame_validation(manifest: dict) -> dict | None:
    """The packaged held-out validation of the bundled frames file (``VALIDATION``), when it
    applies to a study: the study's frames file has the validated content and its embedding
    model is the validated one. None otherwise (an edited frames file, another model)."""
    v = _packaged_validation()
    if v is None:
        return None
    model = ((manifest.get("config") or {}).get("embed") or {}).get("model")
    if manifest.get("frames_sha256") != v.get("frames_sha256") or model != v.get("embedding_model"):
        return None
    return v


def validation_summary(v: dict) -> str:
    """One paragraph on the frame measure's held-out validation, for the app and the report."""
    held, readers = v["held_out"], v["readers"]

    def span(rows: list[dict], key: str, fmt: str = ".2f") -> str:
        lo, hi = min(r[key] for r in rows), max(r[key] for r in rows)
        return f"{lo:{fmt}}" if f"{lo:{fmt}}" == f"{hi:{fmt}}" else f"{lo:{fmt}}–{hi:{fmt}}"

    n = sum(r["agreed"] for r in readers)
    return (f"Validated on {len(held)} corpora nobody tuned it on (news, speeches, official documents): two "
            f"blind readers labelled {sum(r['items'] for r in readers)} sentences with the Policy Frames "
            f"Codebook and agreed on {n} (Cohen's κ {span(readers, 'kappa')}). Against their agreed labels the "
            f"scorer's κ is {span(held, 'kappa')} held out (accuracy {span(held, 'accuracy', '.0%')}, against "
            f"{span(held, 'majority_accuracy', '.0%')} for always answering the most common frame): moderate "
            "agreement at best, so compare frame shares between sources and read the sentences, rather than "
            "citing a share as the exact prevalence of a frame.")


def cue_counts(texts: list[str], frames: Frames) -> np.ndarray:
    """Sentences × scored frames: number of distinct cues of each frame found in each text."""
    out = np.zeros((len(texts), len(frames.scored)), dtype=float)
    for i, text in enumerate(texts):
        t = str(text).replace("\u2019", "'").lower()
        for j, pats in enumerate(frames.patterns):
            out[i, j] = sum(1 for stem, p in pats if stem in t and p.search(t))
    return out


def frame_prototypes(frames: Frames, embedder) -> np.ndarray:
    """Scored frames × dimensions, unit length: each frame's vector to compare sentences with.

    ``prototype: description`` embeds "label. description". ``description_and_cues`` (the
    default) adds the mean of the frame's cue vectors (each cue embedded alone, without its
    ``*``) to that, so the prototype carries the codebook's own vocabulary; a frame without cues
    keeps its description vector.
    """
    desc = normalise(np.asarray(cached_encode([f"{f.label}. {f.description}" for f in frames.scored], embedder),
                            dtype=np.float32))
    if frames.prototype == "description":
        return desc
    cues = sorted({c.replace("*", "").strip() for f in frames.scored for c in f.cues})
    if not cues:
        return desc
    vec = dict(zip(cues, normalise(np.asarray(cached_encode(cues, embedder), dtype=np.float32))))
    out = desc.copy()
    for i, f in enumerate(frames.scored):
        own = [vec[c.replace("*", "").strip()] for c in f.cues]
        if own:
            out[i] = desc[i] + normalise(np.mean(own, axis=0, keepdims=True))[0]
    return normalise(out)


def frame_scores(sentences: pd.DataFrame, vectors: np.ndarray | None, embedder, frames: Frames | None = None) -> pd.DataFrame:
    """``frame_<key>`` score per frame (``other`` = threshold) and the top ``frame`` per sentence.

    ``vectors`` are the sentences' L2-normalised embeddings (row-aligned with ``sentences``);
    when None they are computed with ``embedder``, which always embeds the frame descriptions.
    """
    frames = frames or load_frames()
    texts = sentences["text"].fillna("").astype(str).tolist() if "text" in sentences.columns else None
    if texts is None:
        raise InputError("sentences table has no 'text' column")
    if vectors is None:
        vectors = cached_encode(texts, embedder)
    vectors = np.asarray(vectors, dtype=np.float32)
    if len(vectors) != len(sentences):
        raise ValueError(f"{len(vectors)} vectors for {len(sentences)} sentences")
    protos = frame_prototypes(frames, embedder)
    cos = row_dot(normalise(vectors), protos)
    score = cos + frames.cue_weight * (1.0 - 0.5 ** cue_counts(texts, frames))
    score = np.column_stack([score, np.full(len(score), frames.threshold)])
    keys = frames.keys
    out = pd.DataFrame(score.astype("float64"), columns=[f"frame_{k}" for k in keys], index=sentences.index)
    out["frame"] = [keys[i] for i in score.argmax(axis=1)] if len(score) else pd.Series(dtype=object)
    return out


def frame_counts(sentences: pd.DataFrame, cfg: MeasureConfig) -> pd.DataFrame:
    """Measured sentences per ``theme, source, cluster, frame`` (``n_sentences``; ``cluster`` is
    the resampling cluster, ``MeasureConfig.resample_unit``): what ``frame_table`` needs from
    some sentences. A cluster lies inside one document, so the counts of partitions of whole
    documents are stacked and summed there."""
    if "frame" not in sentences.columns:
        raise InputError("sentences table has no 'frame' column (run frame_scores first)")
    body = measured_sentences(sentences, cfg.include_non_body, ("source", "theme", "frame"))
    body = body[body["frame"].notna()]
    keys = pd.DataFrame({"theme": body["theme"].to_numpy(), "source": body["source"].to_numpy(),
                         "cluster": cluster_keys(body, cfg.resample_unit).to_numpy(),
                         "frame": body["frame"].astype(str).to_numpy()})
    return (keys.groupby(["theme", "source", "cluster", "frame"], sort=True).size()
                .rename("n_sentences").reset_index().astype({"n_sentences": "int64"}))


def frame_table(sentences: pd.DataFrame | None, cfg: MeasureConfig, frames: Frames | None = None,
                counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Share of each frame among the sentences of each theme × source (cells with sentences),
    with a cluster-bootstrap interval widened to at least the Wilson interval: for each theme,
    the frames play the part of the themes in ``emphasis.shares_from_counts``, so a frame's
    interval is computed exactly as a theme's emphasis interval is.

    ``counts`` (:func:`frame_counts` of the partitions, stacked) stands in for ``sentences``.
    """
    from framescope.measures.emphasis import shares_from_counts

    frames = frames or load_frames(cfg.frames)
    if counts is None:
        counts = frame_counts(sentences, cfg)
    keys = frames.keys + sorted(set(counts["frame"].astype(str)) - set(frames.keys))
    labels = frames.labels
    parts = []
    for theme in theme_order(counts["theme"].unique()):
        sub = counts[counts["theme"] == theme]
        sources = sorted(sub["source"].astype(str).unique())
        table = pd.DataFrame({"source": sub["source"].astype(str).to_numpy(), "cluster": sub["cluster"].to_numpy(),
                              "theme": sub["frame"].astype(str).to_numpy(),
                              "n": sub["n_sentences"].to_numpy(np.int64),
                              "words": sub["n_sentences"].to_numpy(float)})
        shares = shares_from_counts(table, sources, keys, cfg)
        shares = shares[shares["n_source"] > 0]
        parts.append(pd.DataFrame({"theme": theme, "source": shares["source"].to_numpy(),
                                   "frame": shares["theme"].to_numpy(), "n_sentences": shares["n_sentences"].to_numpy(),
                                   "share": shares["share"].to_numpy(), "ci_low": shares["ci_low"].to_numpy(),
                                   "ci_high": shares["ci_high"].to_numpy()}))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(COLUMNS, [str, str, str, str, "int64",
                                                                           "float64", "float64", "float64"])})
    out = pd.concat(parts, ignore_index=True)
    out["label"] = out["frame"].map(lambda k: labels.get(k, k))
    return out[COLUMNS].astype({"theme": str, "source": str, "frame": str, "n_sentences": "int64",
                                "share": "float64", "ci_low": "float64", "ci_high": "float64"})


def frame_agreement(labelled: pd.DataFrame, embedder, frames: Frames | None = None,
                    vectors: np.ndarray | None = None) -> dict:
    """Agreement of the scorer's top frame with hand labels (a table with ``text`` and ``frame``).

    Returns ``n``, ``accuracy``, Cohen's ``kappa``, the ``majority_frame`` and the accuracy of
    always answering it (``majority_baseline``), and ``predicted`` (one frame per labelled row).
    Use it to check an edited frames file against sentences labelled from your own corpus.
    """
    from sklearn.metrics import accuracy_score, cohen_kappa_score

    frames = frames or load_frames()
    for col in ("text", "frame"):
        if col not in labelled.columns:
            raise InputError(f"frame labels have no '{col}' column")
    gold = labelled["frame"].astype(str).str.strip()
    unknown = sorted(set(gold) - set(frames.keys))
    if unknown:
        raise InputError(f"frame labels use keys not in the frames file: {', '.join(unknown[:5])}")
    predicted = frame_scores(labelled, vectors, embedder, frames)["frame"]
    counts = gold.value_counts()
    majority = sorted(counts[counts == counts.max()].index)[0]
    return {"n": int(len(gold)), "accuracy": float(accuracy_score(gold, predicted)),
            "kappa": float(cohen_kappa_score(gold, predicted)), "majority_frame": majority,
            "majority_baseline": float((gold == majority).mean()),
            "predicted": predicted.reset_index(drop=True)}
