"""Framing: how each source frames each theme, plus the notes that qualify every measure.

The measures live in modules named for what they return; this module gathers them so the
pipeline, the app and scripts import one place:

- ``distinctive_terms`` (terms.py): weighted log-odds with an informative Dirichlet prior;
- ``tone_scores``, ``tone_table`` (tone.py): VADER compound per sentence, mean per cell;
- ``load_frames``, ``frame_scores``, ``frame_table`` (frames.py): Policy Frames Codebook;
- ``voice_frame``, ``voices``, ``voices_table`` (voices.py): which people and organisations are
  quoted or paraphrased (spaCy parser + NER, names merged over the study);
- ``exemplars_table``, ``contrasts_table`` (exemplars.py): sentences to read.

``notes_table`` lists what a reader must know before comparing: themes found in only one
source, small cells, one-source corpora, tests that cannot be run or have little resolution.

``measure_partials`` / ``measure_tables`` and ``candidate_partials`` / ``settle_candidates``
compute every table of a study (emphasis included) from per-partition partials, as both engines
do (docs/performance.md, "The dask engine").
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from framescope.measures.asymptotic import is_big
from framescope.measures.bootstrap import measured_sentences, theme_order
from framescope.config import MeasureConfig
from framescope.measures.emphasis import cluster_counts, document_periods, relabelings, study_sources_and_themes
from framescope.measures.exemplars import contrasts_table, exemplars_table
from framescope.measures.frames import Frames, frame_counts, frame_scores, frame_table, load_frames
from framescope.themes.mentions import mention_rows
from framescope.measures.terms import distinctive_terms
from framescope.measures.tone import tone_scores, tone_table
from framescope.measures.voices import voice_frame, voices, voices_table
from framescope.themes.codebook import UNASSIGNED

__all__ = [
    "Frames", "body_theme_counts", "candidate_partials", "candidate_tables", "contrast_ids", "contrasts_table",
    "distinctive_terms", "exemplars_table", "frame_counts", "frame_scores", "frame_table", "load_frames",
    "measure_partials", "measure_tables", "notes_from_counts", "notes_table", "settle_candidates", "stack",
    "study_centroids", "tone_scores", "tone_table", "voice_frame", "voices", "voices_table", "with_texts",
]
log = logging.getLogger("framescope")
NOTE_COLUMNS = ["scope", "theme", "source", "note"]
_PERIOD_NAMES = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}
MIN_CLUSTERS = 5


def notes_table(sentences: pd.DataFrame, emphasis: pd.DataFrame, cfg: MeasureConfig,
                run_notes: list[str] | None = None, documents: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per note: ``scope`` run/theme/cell, the ``theme`` and ``source`` it concerns, ``note``."""
    counts = cluster_counts(sentences, cfg)  # checks the columns
    sources, _ = study_sources_and_themes(sentences)
    framed = measured_sentences(mention_rows(sentences)[0], cfg.include_non_body)
    mentions = framed.groupby(["theme", "source"]).size().rename("n_sentences").reset_index()
    return notes_from_counts(counts, sources, emphasis, cfg, run_notes, documents, mentions)


def notes_from_counts(counts: pd.DataFrame, all_sources: list[str], emphasis: pd.DataFrame, cfg: MeasureConfig,
                      run_notes: list[str] | None = None, documents: pd.DataFrame | None = None,
                      mentions: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`notes_table` from ``emphasis.cluster_counts`` of the partitions (stacked) and every
    source of the study (``all_sources``, body sentences or not). ``mentions`` (``theme``,
    ``source``, ``n_sentences``: the sentences framing reads per cell, e.g. the tone table) tells
    a theme that is only one source's main theme but that other sources also mention."""
    notes: list[tuple[str, str | None, str | None, str]] = [("run", None, None, str(n)) for n in run_notes or []]
    used = sorted(counts["source"].unique())
    unit = cfg.resample_unit
    for s in all_sources:
        if s not in used:
            notes.append(("run", None, s, f"source {s} has no body sentences: its shares are undefined"))
    if len(used) == 1:
        notes.append(("run", None, used[0], f"one-source corpus ({used[0]}): shares, tone and frames are "
                      "reported, but nothing is compared across sources (no test, no distinctive terms, "
                      "no contrast pairs)"))
    clusters = counts.groupby("source")["cluster"].nunique()
    for s, k in clusters.items():
        if k < MIN_CLUSTERS:
            notes.append(("run", None, s, f"source {s} has only {k} {unit}(s): its intervals rest on few "
                          "clusters and are widened to at least the Wilson (shares) or t (tone) interval"))
    big = cfg.asymptotic_clusters
    analytic = sorted(s for s, k in clusters.items() if is_big(k, big))
    if analytic:
        notes.append(("run", None, None, f"{len(analytic)} source(s) with at least {big:,} {unit}s have analytic "
                      "share intervals (linearised variance over their " + unit + "s, Wilson with the effective "
                      "sample size) instead of the cluster bootstrap: " + ", ".join(analytic[:10])
                      + (f" and {len(analytic) - 10} more" if len(analytic) > 10 else "")))
    if len(emphasis) and "test" in emphasis.columns:
        test = str(emphasis["test"].iloc[0])
        if test.startswith("none") and len(used) > 1:
            notes.append(("run", None, None, f"emphasis test not run: {test[len('none: '):]}"))
        elif "permuting" in test:
            n_perm = relabelings([int(k) for k in clusters.reindex(used).fillna(0)])
            if n_perm < 1000:
                notes.append(("run", None, None, f"the permutation test has only about {n_perm:,.0f} distinct "
                              f"ways to reassign {unit}s to sources: its p-value is coarse (p < {1 / n_perm:.2g} "
                              "is impossible)"))
    if documents is not None and len(documents):
        periods, period = document_periods(documents, cfg)
        undated = len(documents) - len(periods)
        if period and undated:
            notes.append(("run", None, None, f"{undated} of {len(documents)} documents have no usable date "
                          "and are left out of emphasis over time"))
        if period:
            how = "chosen from the date span" if cfg.period == "auto" else "as configured"
            notes.append(("run", None, None, f"emphasis over time is by {_PERIOD_NAMES[period]} ({how})"))
    if len(used) > 1:
        per_theme = counts.groupby("theme")["source"].agg(lambda s: sorted(set(s)))
        per_theme_n = counts.groupby("theme")["n"].sum()
        mentioned = (mentions[mentions["n_sentences"] > 0].groupby("theme")["source"].agg(lambda s: sorted(set(s)))
                     if mentions is not None and len(mentions) else pd.Series(dtype=object))
        for theme in theme_order(per_theme.index):
            srcs = per_theme[theme]
            if len(srcs) != 1 or theme == UNASSIGNED:
                continue
            n = int(per_theme_n[theme])
            also = [x for x in mentioned.get(theme, []) if x != srcs[0]]
            if also:
                notes.append(("theme", theme, srcs[0], f"theme is the main theme of sentences in {srcs[0]} only "
                              f"({n} sentences); {', '.join(also)} also {'mentions' if len(also) == 1 else 'mention'} "
                              "it in sentences whose main theme is another: framing compares them, emphasis "
                              "counts them under their main theme"))
            else:
                notes.append(("theme", theme, srcs[0], f"theme found only in {srcs[0]} ({n} sentences): "
                              "no comparison across sources (no distinctive terms or contrast pairs)"))
    if len(emphasis):
        small = emphasis[(emphasis["n_sentences"] > 0) & (emphasis["n_sentences"] < cfg.min_cell)]
        for r in small.itertuples():
            notes.append(("cell", r.theme, r.source, f"only {r.n_sentences} sentence(s) of {r.source} in "
                          f"{r.theme} (fewer than {cfg.min_cell}): share and tone are uncertain, read the interval"))
    out = pd.DataFrame(notes, columns=NOTE_COLUMNS)
    order = {t: i for i, t in enumerate(theme_order(out["theme"].dropna().unique()))}
    out = out.assign(_s=out["scope"].map({"run": 0, "theme": 1, "cell": 2}),
                     _t=out["theme"].map(order).fillna(-1), _n=np.arange(len(out)))
    out = out.sort_values(["_s", "_t", "source", "_n"], kind="stable", na_position="first")
    return out[NOTE_COLUMNS].reset_index(drop=True).astype("object")


# --------------------------------------------------------------------------- over partitions
# Every table-level measure is computed in two steps: a partial over the sentences of one
# partition of whole documents (small: per cluster, per cell or per candidate), then a combination
# of the partials of all partitions. Both engines run the same two steps over the same partitions
# (the dask engine on its workers), so they write the same tables; docs/performance.md.



def measure_partials(sentences: pd.DataFrame, vectors: np.ndarray, cfg: MeasureConfig) -> dict:
    """What the study's tables need from one partition's sentences (and their vectors)."""
    from framescope.measures.exemplars import centroid_sums
    from framescope.measures.terms import term_counts
    from framescope.measures.tone import tone_sums
    from framescope.measures.voices import voice_counts

    body = sentences["is_body"].fillna(False).astype(bool) if "is_body" in sentences.columns else True
    sources, themes = study_sources_and_themes(sentences)
    # Emphasis counts each sentence once, under its own theme; framing reads a theme's mentions
    # (its own sentences and those that list it in also_themes, see framescope.themes.mentions).
    framed, framed_vectors = mention_rows(sentences, vectors)
    return {
        "n_sentences": len(sentences), "n_body": int(np.sum(body)) if len(sentences) else 0,
        "sources": sources, "themes": themes,
        "body_themes": sentences.loc[body, "theme"].dropna().astype(str).value_counts(),
        "clusters": cluster_counts(sentences, cfg), "tone": tone_sums(framed, cfg),
        "frames": frame_counts(framed, cfg), "terms": term_counts(framed, cfg),
        "voices": voice_counts(framed), "centroids": centroid_sums(framed, framed_vectors, cfg),
    }


def stack(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Partial tables of the partitions, one under the other in partition order."""
    full = [t for t in tables if len(t)]
    return pd.concat(full, ignore_index=True) if full else tables[0]


def body_theme_counts(partials: list[dict]) -> pd.Series:
    """Body sentences per theme over all partitions."""
    return pd.concat([p["body_themes"] for p in partials]).groupby(level=0).sum().astype("int64")


def measure_tables(partials: list[dict], cfg: MeasureConfig, frames, documents: pd.DataFrame | None,
                   run_notes: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """emphasis, emphasis_gaps, emphasis_time, terms, tone, frames, voices and notes from the partials of all
    partitions (:func:`measure_partials`, in partition order)."""
    from framescope.measures.divergence import gaps_from_replicates
    from framescope.measures.emphasis import emphasis_from_counts, emphasis_time_from_counts, share_replicates
    from framescope.measures.terms import combine_term_counts, terms_from_counts
    from framescope.measures.tone import tone_from_sums
    from framescope.measures.voices import voices_from_counts

    sources = sorted(set().union(*(p["sources"] for p in partials)))
    themes = theme_order(set().union(*(p["themes"] for p in partials)))
    clusters = stack([p["clusters"] for p in partials])
    replicates = share_replicates(clusters, sources, themes, cfg)
    emphasis = emphasis_from_counts(clusters, sources, themes, cfg, replicates)
    tone = tone_from_sums(stack([p["tone"][0] for p in partials]), [p["tone"][1] for p in partials], cfg)
    return {
        "emphasis": emphasis,
        "emphasis_gaps": gaps_from_replicates(emphasis, replicates, cfg),
        "emphasis_time": emphasis_time_from_counts(clusters, themes, documents, cfg),
        "terms": terms_from_counts(combine_term_counts([p["terms"] for p in partials]), cfg),
        "tone": tone,
        "frames": frame_table(None, cfg, frames, counts=stack([p["frames"] for p in partials])),
        "voices": voices_from_counts(stack([p["voices"] for p in partials])),
        "notes": notes_from_counts(clusters, sources, emphasis, cfg, run_notes, documents, mentions=tone),
    }


def study_centroids(partials: list[dict]) -> dict:
    """Theme × source centroids from the partials (the exemplars' reference points)."""
    from framescope.measures.exemplars import combine_centroids

    return combine_centroids([p["centroids"] for p in partials])


def candidate_partials(sentences: pd.DataFrame, vectors: np.ndarray, cfg: MeasureConfig, centroids: dict,
                       others, limit: int) -> dict:
    """Exemplar and contrast-pair candidates of one partition (``others``: every partition's
    sentences and vectors, see ``exemplars.contrast_candidates``)."""
    from framescope.measures.exemplars import contrast_candidates, exemplar_candidates, paired_contrasts

    framed, framed_vectors = mention_rows(sentences, vectors)
    paired = paired_contrasts(len({source for _, source in centroids}))
    others = others if isinstance(others, MentionPartitions) else MentionPartitions(others)
    return {"exemplars": exemplar_candidates(framed, framed_vectors, cfg, centroids),
            "contrasts": contrast_candidates(framed, framed_vectors, cfg, others, limit, paired)}


class MentionPartitions:
    """Every partition's ``(sentences, vectors)`` as theme mentions (``mentions.mention_rows``).
    With ``keep`` (one process computing every partition's candidates: the local engine), each
    partition's mentions, and what ``exemplars.contrast_candidates`` prepares from them, are made
    once and kept for the other partitions' calls, not made again for each."""

    def __init__(self, partitions, keep: bool = False):
        self.partitions = partitions
        self._kept: dict | None = {} if keep else None

    def __len__(self) -> int:
        return len(self.partitions)

    def __getitem__(self, q: int):
        return self.prepared(q, "mentions", lambda: mention_rows(*self.partitions[q]))

    def prepared(self, q: int, what: str, make):
        """``make()`` for partition ``q``, kept under ``what`` when this holds its partitions."""
        if self._kept is None:
            return make()
        if (q, what) not in self._kept:
            self._kept[(q, what)] = make()
        return self._kept[(q, what)]


def candidate_tables(candidates: list[dict], cfg: MeasureConfig) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """(exemplars, contrasts, settled) from the candidates of every partition; contrast pairs
    carry no text yet (``text_a``/``text_b`` are filled by the engine, see :func:`with_texts`)."""
    from framescope.measures.exemplars import contrasts_from_candidates, exemplars_from_candidates

    exemplars = exemplars_from_candidates(stack([c["exemplars"] for c in candidates]), cfg)
    contrasts, settled = contrasts_from_candidates([c["contrasts"] for c in candidates], cfg)
    return exemplars, contrasts, settled


def with_texts(contrasts: pd.DataFrame, texts: pd.Series) -> pd.DataFrame:
    """Contrast pairs with ``text_a``/``text_b`` from ``texts`` (indexed by sentence id)."""
    if contrasts.empty:
        return contrasts
    return contrasts.assign(text_a=contrasts["sentence_id_a"].map(texts).to_numpy(dtype=object),
                            text_b=contrasts["sentence_id_b"].map(texts).to_numpy(dtype=object))


def contrast_ids(contrasts: pd.DataFrame) -> list[str]:
    """The sentence ids whose texts the contrast pairs need."""
    return sorted(set(contrasts["sentence_id_a"]) | set(contrasts["sentence_id_b"])) if len(contrasts) else []


def settle_candidates(candidate_round, cfg: MeasureConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(exemplars, contrasts without texts): ``candidate_round(limit)`` returns the
    :func:`candidate_partials` of every partition, cut at ``exemplars.contrast_cap`` pairs,
    which settles every contrast pair; should one not be settled, the round is asked again with
    8 times the limit (a cut list never changes the answer, only delays it)."""
    from framescope.measures.exemplars import contrast_cap

    limit = contrast_cap(cfg.n_contrasts)
    while True:
        exemplars, contrasts, settled = candidate_tables(candidate_round(limit), cfg)
        if settled:
            return exemplars, contrasts
        limit *= 8
        log.info("contrast pairs not settled by the first candidates of each partition: asking for %d", limit)
