"""The codebook: a study's named themes, and the theme edits that make an edited study reproduce.

Format (YAML)::

    version: 1
    themes:
      - key: climate                 # the value in the `theme` column
        label: Climate change
        description: Climate change and the environment ...
        seed_phrases: [climate change, rising temperatures]
    edits:                           # optional; applied after the theme model is fitted
      rename: {topic_2: "Russia–Ukraine war"}          # new label; the key stays
      merge:  [{from: topic_3, into: topic_1}]         # any two themes; `into` keeps its key
      move:   [{from: topic_4, into: bri_coercion}]    # a discovered topic into a named theme
      # or single sentences: [{sentences: [d0002-s0041], into: bri_coercion}]
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from framescope.config import validated
from framescope.errors import InputError

UNASSIGNED = "unassigned"
TOPIC_KEY = re.compile(r"^topic_\d+$")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CodebookTheme(_Strict):
    key: str
    label: str
    description: str = ""
    seed_phrases: list[str] = Field(default_factory=list)

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not _KEY.match(v):
            raise ValueError(f"theme key '{v}' must be lower case letters, digits and _ (e.g. climate_change)")
        if v == UNASSIGNED or TOPIC_KEY.match(v):
            raise ValueError(f"theme key '{v}' is reserved for discovered topics")
        return v

    @field_validator("label")
    @classmethod
    def _label(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("theme label is empty")
        return v.strip()

    @field_validator("seed_phrases")
    @classmethod
    def _phrases(cls, v: list[str]) -> list[str]:
        return [p.strip() for p in v if p and p.strip()]

    def prototype_texts(self) -> list[str]:
        """Texts whose mean embedding is this theme's prototype."""
        return [t for t in [self.label, self.description.strip(), *self.seed_phrases] if t]


class MergeEdit(_Strict):
    from_: str = Field(alias="from")
    into: str


class MoveEdit(_Strict):
    from_: str | None = Field(None, alias="from")
    sentences: list[str] = Field(default_factory=list)
    into: str

    @model_validator(mode="after")
    def _one_source(self) -> "MoveEdit":
        if bool(self.from_) == bool(self.sentences):
            raise ValueError("a move edit needs either `from: <topic>` or `sentences: [ids]`")
        return self


class Edits(_Strict):
    rename: dict[str, str] = Field(default_factory=dict)
    merge: list[MergeEdit] = Field(default_factory=list)
    move: list[MoveEdit] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.rename or self.merge or self.move)


class Codebook(_Strict):
    version: int = 1
    themes: list[CodebookTheme] = Field(default_factory=list)
    edits: Edits = Field(default_factory=Edits)

    @field_validator("version")
    @classmethod
    def _version(cls, v: int) -> int:
        if v != 1:
            raise ValueError(f"unsupported codebook version {v} (this framescope reads version 1)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Codebook":
        keys = [t.key for t in self.themes]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"duplicate theme key(s): {', '.join(dup)}")
        for m in self.edits.move:
            if m.into not in keys:
                raise ValueError(f"move edit into '{m.into}': not a theme of this codebook")
        return self

    @property
    def keys(self) -> list[str]:
        return [t.key for t in self.themes]


def parse_codebook(data: object, where: str = "codebook") -> Codebook:
    """Validate a codebook given as a dict (from YAML or JSON)."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping with `version` and `themes`")
    return validated(Codebook, data, where)


def load_codebook(path: str | Path) -> Codebook:
    """Read and validate a codebook YAML; any problem is an ``InputError`` naming it."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"codebook not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise InputError(f"codebook {p} is not valid YAML: {str(e).splitlines()[0]}") from None
    return parse_codebook(data, where=f"codebook {p}")
