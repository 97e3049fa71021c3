"""Frame dimensions: score each sentence against an editable frames file, share per cell.

The bundled file ``framescope/data/frames.yaml`` holds the 15 dimensions of the Policy Frames
Codebook (Boydstun et al. 2014; Card et al. 2015). A sentence's score for frame f is

    score_f = cos(sentence vector, vector of "label. description") + cue_weight * (1 - 0.5 ** m_f)

where m_f is the number of distinct cues of f found in the sentence (whole words, case
insensitive, ``*`` = any word ending): one cue adds cue_weight / 2, two add 3/4 of it, and the
bonus never exceeds cue_weight. The fallback frame ``other`` scores ``threshold``; the
sentence's ``frame`` is the highest-scoring key (ties go to the earlier frame in the file), so
a sentence is ``other`` when no frame reaches the threshold. Validation against hand labels:
``docs/measures.md``.
"""
from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from framescope.measures.bootstrap import measured_sentences, theme_order
from framescope.config import MeasureConfig
from framescope.config import validated
from framescope.embed.cache import cached_encode
from framescope.errors import InputError

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "frames.yaml"
FALLBACK = "other"
COLUMNS = ["theme", "source", "frame", "label", "n_sentences", "share"]


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
    threshold: float = Field(0.25, ge=-1, le=2)
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


def cue_counts(texts: list[str], frames: Frames) -> np.ndarray:
    """Sentences × scored frames: number of distinct cues of each frame found in each text."""
    out = np.zeros((len(texts), len(frames.scored)), dtype=float)
    for i, text in enumerate(texts):
        t = str(text).replace("\u2019", "'").lower()
        for j, pats in enumerate(frames.patterns):
            out[i, j] = sum(1 for stem, p in pats if stem in t and p.search(t))
    return out


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
    desc = np.asarray(cached_encode([f"{f.label}. {f.description}" for f in frames.scored], embedder), dtype=np.float32)
    norm = lambda m: m / np.clip(np.linalg.norm(m, axis=1, keepdims=True), 1e-12, None)  # noqa: E731
    cos = norm(vectors) @ norm(desc).T if len(vectors) else np.zeros((0, len(desc)))
    score = cos + frames.cue_weight * (1.0 - 0.5 ** cue_counts(texts, frames))
    score = np.column_stack([score, np.full(len(score), frames.threshold)])
    keys = frames.keys
    out = pd.DataFrame(score.astype("float64"), columns=[f"frame_{k}" for k in keys], index=sentences.index)
    out["frame"] = [keys[i] for i in score.argmax(axis=1)] if len(score) else pd.Series(dtype=object)
    return out


def frame_counts(sentences: pd.DataFrame, cfg: MeasureConfig) -> pd.DataFrame:
    """Measured sentences per ``theme, source, frame`` (``n_sentences``): what ``frame_table``
    needs from some sentences; the counts of partitions are stacked and summed there."""
    if "frame" not in sentences.columns:
        raise InputError("sentences table has no 'frame' column (run frame_scores first)")
    body = measured_sentences(sentences, cfg.include_non_body, ("source", "theme", "frame"))
    body = body[body["frame"].notna()]
    return (body.assign(frame=body["frame"].astype(str)).groupby(["theme", "source", "frame"])
                .size().rename("n_sentences").reset_index())


def frame_table(sentences: pd.DataFrame | None, cfg: MeasureConfig, frames: Frames | None = None,
                counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Share of each frame among the sentences of each theme × source (cells with sentences).

    ``counts`` (``theme, source, frame, n_sentences``: :func:`frame_counts` of the
    partitions, stacked) stands in for ``sentences`` when given.
    """
    frames = frames or load_frames(cfg.frames)
    if counts is None:
        counts = frame_counts(sentences, cfg)
    keys = frames.keys + sorted(set(counts["frame"].astype(str)) - set(frames.keys))
    labels = frames.labels
    found = counts
    counts = (counts.assign(frame=pd.Categorical(counts["frame"].astype(str), categories=keys))
                    .groupby(["theme", "source", "frame"], observed=False)["n_sentences"].sum().reset_index())
    totals = counts.groupby(["theme", "source"])["n_sentences"].transform("sum")
    counts = counts[totals > 0].copy()
    counts["share"] = counts["n_sentences"] / totals[totals > 0]
    counts["frame"] = counts["frame"].astype(str)
    counts["label"] = counts["frame"].map(lambda k: labels.get(k, k))
    order = {t: i for i, t in enumerate(theme_order(found["theme"].unique()))}
    counts = counts.assign(_o=counts["theme"].map(order), _f=counts["frame"].map({k: i for i, k in enumerate(keys)}))
    counts = counts.sort_values(["_o", "source", "_f"], kind="stable")
    return counts[COLUMNS].reset_index(drop=True).astype({"n_sentences": "int64", "share": "float64"})


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
