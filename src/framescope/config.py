"""One typed config describes a whole run (spaCy-style): loaded from YAML, overridden by the CLI.

`framescope run --config manifest_config.yaml` reproduces a run, because the manifest stores
the fully resolved config produced here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from framescope.errors import InputError

SEED_ROOT = Path(__file__).resolve().parent / "data" / "seed"
"""The seed study's files as package data: `seeds/` (corpus, codebook, the raw pasted dump) and
`artifacts/seed/` (the committed study). In the repository these are symlinks to the top-level
folders; a wheel holds copies. A relative input path that is not found in the working folder is
looked up here, so `framescope run` reproduces the seed study from any folder."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IngestConfig(_Section):
    text_col: str = "text"
    source_col: str = "source"
    date_col: str | None = None
    title_col: str | None = None
    max_file_mb: float = Field(50.0, gt=0, description="Refuse any input file larger than this.")
    meta_cols: list[str] | None = Field(
        None, description="Table columns kept as document metadata besides text, source, date, title, outlet, "
        "genre and attribution: None = every other column; a list = only these, and only the columns in use are "
        "read from CSV, TSV and Parquet files.")
    split_dumps: bool = Field(True, description="Split a single text file of pasted articles into documents.")
    workers: int | None = Field(None, ge=1, description="Processes that split documents into sentences (corpora of 1M+ "
                                "characters), that parse sentences with spaCy for voices (1,024+ sentences "
                                "with a speech cue in the corpus; local engine) and that score their tone "
                                "(5,000+ distinct texts; local engine); None = every available core, "
                                "1 = this process. The sentences, voices and tone are the same for any number.")


class EmbedConfig(_Section):
    model: str = Field(
        "minilm",
        description="'minilm' (default, bundled all-MiniLM-L6-v2), 'wordllama' (fast static), "
        "'tfidf' (no weights), or any sentence-transformers model name or local path.",
    )
    context_window: int = Field(2, ge=0, description="Neighbouring body sentences (each side, within context_scope) mixed into a sentence's vector.")
    context_weight: float = Field(0.5, ge=0, le=1, description="Weight of the neighbours' mean vector (0 = no context).")
    context_scope: Literal["paragraph", "document"] = Field("paragraph", description="Neighbours come from the same paragraph or the same document.")
    batch_size: int = Field(32, ge=1, description="Texts per model call, sorted by length (32, as sentence-transformers' own default: on 4,000 news sentences MiniLM took 17.6 s against 21.0 s in batches of 64, with bit-identical vectors; docs/performance.md, Session 14).")
    cache: bool = True


class ThemeConfig(_Section):
    codebook: str | None = Field(None, description="Path to a codebook YAML; None discovers themes only.")
    seed: int = 42
    min_cluster_size: int | None = Field(None, description="HDBSCAN min_cluster_size; None adapts to corpus size.")
    n_neighbors: int | None = Field(None, description="UMAP n_neighbors; None adapts to corpus size.")
    n_components: int = 5
    assignment: Literal["corpus", "threshold"] = Field("corpus", description="How named themes are assigned: 'corpus' learns each theme's boundary from this corpus (sure examples by evidence, then a classifier on the corpus' vectors; themes.assignment); 'threshold' assigns the best theme when its evidence reaches similarity_threshold.")
    seed_share: float = Field(0.2, gt=0, le=1, description="corpus assignment: share of body sentences (split among the named themes) taken as the themes' sure examples, by decreasing evidence.")
    seed_fraction: float = Field(0.5, gt=0, le=1, description="corpus assignment: at most this fraction of the sentences whose best theme a theme is become its sure examples.")
    none_share: float = Field(0.1, ge=0, lt=1, description="corpus assignment: share of body sentences with the weakest evidence taken as examples of no named theme.")
    evidence_floor: float | None = Field(None, description="corpus assignment: least evidence of a sure example; None uses the value set for the embedding backend.")
    classifier_c: float = Field(0.3, gt=0, description="corpus assignment: inverse regularisation strength of the logistic regression.")
    similarity_threshold: float | None = Field(None, description="threshold assignment: min evidence for a named theme; None uses the value calibrated (on the seed only) for the embedding backend.")
    phrase_weight: float = Field(0.4, ge=0, le=1, description="Weight of the best clause-to-seed-phrase cosine (the whole sentence's with clause_evidence false) in a named theme's evidence (0 = prototype only).")
    clause_evidence: bool = Field(True, description="Compare each clause of a sentence (split at ; : dashes, brackets, quotes and clause commas) with the seed phrases and take the best, which finds a phrase buried in a long sentence; false compares the whole sentence and embeds no clause: a cold codebook run on 4,012 spoken sentences took 37 s instead of 49 s, with held-out macro F1 within 1 point on three labelled sets (docs/themes.md, 'Clause evidence').")
    secondary_margin: float | None = Field(0.1, ge=0, le=1, description="A sentence also mentions another named theme (column also_themes; framing reads it under that theme too) when its evidence for it is at least that theme's cut-off (corpus assignment: the median evidence of the theme's own sentences; threshold assignment: the threshold) plus this margin; null = one theme per sentence.")
    compete_margin: float = Field(0.1, ge=0, le=1, description="threshold assignment only: a sentence whose named-theme evidence is less than this above the threshold joins a discovered topic instead when it is closer to that topic's centroid than to its theme's (0 = named themes always win).")
    min_sentences_for_clustering: int = 30
    reduce_outliers: bool = True
    fit_sample: int | None = Field(20000, ge=10, description="Fit UMAP/HDBSCAN on at most this many sentences (a seeded random sample) and assign the rest to their nearest topic; None fits on all.")


class MeasureConfig(_Section):
    n_boot: int = Field(1000, ge=100)
    asymptotic_clusters: int | None = Field(5000, ge=2, description="A source with at least this many clusters (paragraphs or documents) gets analytic share intervals (linearised variance, Wilson with the effective sample size) instead of the cluster bootstrap, and a study with at least this many clusters whose every source has 200 or more gets Rao and Scott's corrected chi-square instead of the permutation test (measures.asymptotic); null = always bootstrap and permute.")
    seed: int = 42
    ci_level: float = 0.95
    min_cell: int = Field(5, description="Cells with fewer body sentences are flagged as small.")
    resample_unit: Literal["paragraph", "document"] = "paragraph"
    period: Literal["auto", "D", "W", "M", "Q", "Y"] = "auto"
    frames: str | None = Field(None, description="Path to a frames YAML; None uses the bundled Policy Frames Codebook file.")
    n_terms: int = 15
    n_exemplars: int = 3
    n_contrasts: int = 5
    include_non_body: bool = False


class RunConfig(_Section):
    inputs: list[str] = Field(default_factory=list)
    out: str = "artifacts/run"
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    embed: EmbedConfig = Field(default_factory=EmbedConfig)
    themes: ThemeConfig = Field(default_factory=ThemeConfig)
    measures: MeasureConfig = Field(default_factory=MeasureConfig)
    engine: Literal["local", "dask"] = "local"
    scheduler: str | None = None
    reuse: bool = Field(True, description="Take the theme fit, spaCy's speaker parses and the tone scores of an "
                        "earlier run from the cache folder when nothing they depend on has changed "
                        "(framescope.reuse; needs embed.cache); false computes them again and keeps nothing.")


def validated(model: type[BaseModel], data: object, where: str) -> BaseModel:
    """`model.model_validate(data)`, with the first problem as a one-line InputError naming `where`."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        raise InputError(f"{where}: {loc + ': ' if loc else ''}{msg}") from None


def seed_config() -> RunConfig:
    """The seed study: `seeds/corpus` with `seeds/codebook.yaml` into `artifacts/seed/` (relative to
    the working folder; inputs not found there come from SEED_ROOT)."""
    return RunConfig(
        inputs=["seeds/corpus"],
        out="artifacts/seed",
        themes=ThemeConfig(codebook="seeds/codebook.yaml"),
    )


def load_config(path: str | Path) -> RunConfig:
    """Read a run config from YAML or JSON (a manifest's `config` block works too)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise InputError(f"config file {p} is not valid YAML: {str(e).splitlines()[0]}") from None
    if isinstance(data, dict) and isinstance(data.get("config"), dict):
        data = data["config"]  # a manifest.json
    return validated(RunConfig, data, f"config file {p}")
