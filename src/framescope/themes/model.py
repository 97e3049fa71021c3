"""Theme model: a theme for every body sentence, named from the codebook or discovered.

1. Named themes (codebook). Each theme's *prototype* is the mean embedding of its label,
   description and seed phrases. A sentence's evidence for a theme is
   ``(1 - phrase_weight) * cos(in-context sentence vector, prototype)
   + phrase_weight * max cos(clause of the sentence, seed phrase)``: the first part asks
   "is the sentence about this?", the second "does it say one of the codebook's phrases, in any
   wording?" (with ``clause_evidence`` false, the whole sentence instead of its best clause).
   ``themes.assignment`` then calibrates the named themes to the corpus (or, with
   ``assignment: threshold``, the best theme is assigned when its evidence reaches
   ``similarity_threshold``).
2. Discovered topics. The other body sentences go through ``BERTopic.fit_transform`` with
   framescope's size-scaled UMAP and capped (or, on small inputs, consensus) HDBSCAN as its
   steps (``themes.topic_model``, ``themes.discovery``) into ``topic_<n>`` (largest first).
   Outliers join the most similar topic if they are as close to it as its own members are; else
   they are `unassigned`.
3. Edits from the codebook (merge, move, rename) are applied, so an edited study reproduces.
4. BERTopic's model of the final themes (manual mode, the themes as ``y``) gives every theme its
   c-TF-IDF keywords (KeyBERTInspired + MMR) and its topic embedding. ``transform`` assigns new
   sentences as that BERTopic model does: the theme whose embedding is most similar
   (`unassigned` when the outliers' embedding is), so ``BERTopic.load(STUDY/model/bertopic)``
   gives the same themes.

Only body sentences are themed: captions, trailers and headings get ``theme`` None and NaN
score and coordinates. See docs/themes.md for the measurements behind the defaults.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from framescope.config import ThemeConfig
from framescope.embed.cache import cached_encode
from framescope.embed.encoders import normalise, row_dot
from framescope.embed.vectors import embedding_texts
from framescope.errors import InputError
from framescope.themes.assignment import calibrate, label_cross_validation
from framescope.themes.codebook import UNASSIGNED, Codebook
from framescope.themes.discovery import (
    MAX_ANCHORS, centroids, discovery_plan, interpolate_xy, layout_2d, nearest_topic, topic_floors,
    topic_label, usual_casing,
)
from framescope.themes.mentions import secondary_themes, with_also_themes

# Evidence threshold per embedding backend for `assignment: threshold`, calibrated on the seed
# corpus only (docs/themes.md): it does not carry to other corpora (docs/validation.md).
CALIBRATED_THRESHOLD = {"minilm": 0.45, "wordllama": 0.3, "tfidf": 0.1}
DEFAULT_THRESHOLD = 0.45
# Least evidence a sure example of a named theme needs under `assignment: corpus` (MiniLM: the
# plain zero-shot baseline's cut-off of issue 11, not tuned here): it stops a codebook the corpus
# does not discuss from claiming the corpus' best-matching sentences.
EVIDENCE_FLOOR = {"minilm": 0.25}
THEME_COLUMNS = ["theme", "label", "keywords", "n_sentences", "named", "description"]
_CLAUSE_SPLIT = re.compile(r"[;:—–()“”\"]|, (?:and |but |while |which |as |where )?")


def clauses(text: str) -> list[str]:
    """A sentence's clauses (split at ; : dashes, brackets, quotes and clause commas)."""
    parts = [p.strip(" ’'\u2018") for p in _CLAUSE_SPLIT.split(text)]
    parts = [p for p in parts if len(p.split()) >= 2]
    return parts if len(parts) > 1 else [text]  # one clause: the sentence itself (a cache hit)


class ThemeModel:
    """sklearn-style theme model. ``fit`` sets ``assign_``, ``themes_``, ``notes_``."""

    def __init__(self, cfg: ThemeConfig | None = None):
        self.cfg = cfg or ThemeConfig()

    # ------------------------------------------------------------------ named-theme evidence
    def named_evidence(self, sentences: pd.DataFrame, vectors: np.ndarray, codebook: Codebook,
                       embedder) -> pd.DataFrame:
        """Evidence of every sentence for every named theme of ``codebook`` (rows as
        ``sentences``, one column per theme key): the quantity compared with
        ``similarity_threshold``. A query: the model's fitted state is left alone."""
        sentences, vectors = _check_inputs(sentences, vectors)
        encoded = codebook_vectors(codebook, embedder)
        z = named_evidence(sentences, vectors, embedder, *encoded, self.cfg.phrase_weight, self.cfg.clause_evidence)
        return pd.DataFrame(z, columns=list(codebook.keys), index=sentences.index)

    def _threshold(self, embedder) -> float:
        if self.cfg.similarity_threshold is not None:
            return float(self.cfg.similarity_threshold)
        name = getattr(embedder, "name", "") if embedder is not None else ""
        if name not in CALIBRATED_THRESHOLD and len(self.theme_keys_):
            self.notes_.append(
                f"similarity threshold {DEFAULT_THRESHOLD} was calibrated for minilm, not for "
                f"'{name}': check named themes with `framescope evaluate` and set themes.similarity_threshold")
        return CALIBRATED_THRESHOLD.get(name, DEFAULT_THRESHOLD)

    # ------------------------------------------------------------------ fit
    def fit(self, sentences: pd.DataFrame, vectors: np.ndarray, codebook: Codebook | None = None,
            embedder=None, labels: pd.DataFrame | None = None) -> "ThemeModel":
        """``labels`` (optional; columns ``sentence_id``, ``label``: a named theme's key, or
        anything else for no named theme): the researcher's labels, which the corpus-calibrated
        rule learns from as well (``framescope run --labels``); ``recalibration_`` then holds their
        cross-validated effect."""
        cfg = self.cfg
        sentences, vectors = _check_inputs(sentences, vectors)
        self.notes_: list[str] = []
        codebook = codebook or Codebook()
        if codebook.themes and embedder is None:
            raise InputError("named themes need the embedder that made the vectors: fit(..., embedder)")
        body = sentences["is_body"].fillna(False).astype(bool).to_numpy()
        bidx = np.flatnonzero(body)
        V = vectors[bidx]
        self.codebook_ = codebook
        self.discovery_ = None
        self.theme_keys_ = np.array(codebook.keys, dtype=object)
        self.prototypes_, self.phrase_vectors_, self.phrase_theme_ = codebook_vectors(codebook, embedder)
        self.embedder_name_ = getattr(embedder, "name", None)
        self.embedder_id_ = getattr(embedder, "model_id", None)
        self.embedder_sha_ = getattr(embedder, "weights_sha256", None)
        folder = getattr(embedder, "folder", None)  # a sentence-transformers model's local folder
        self.embedding_model_path_ = str(folder) if folder is not None else None

        # 1. named themes
        Z = self._evidence(sentences.iloc[bidx], V, embedder)
        body_ids = sentences["sentence_id"].to_numpy()[bidx]
        best = self._named(Z, V, embedder, self._labelled(labels, body_ids), body_ids)
        named = best >= 0
        self.secondary_cut_ = self._secondary_cut(Z, best)
        theme = np.where(named, self.theme_keys_[np.maximum(best, 0)] if Z.shape[1] else "", UNASSIGNED).astype(object)
        score = np.where(named, Z[np.arange(len(V)), np.maximum(best, 0)] if Z.shape[1] else np.nan,
                         np.nan).astype(np.float32)

        self.named_centroids_ = np.zeros((len(self.theme_keys_), V.shape[1]), dtype=np.float32)
        for k, key in enumerate(self.theme_keys_):
            if np.any(theme == key):
                self.named_centroids_[k] = normalise(V[theme == key].mean(0, keepdims=True))[0]

        # 2. discovered topics among the rest
        rest = np.flatnonzero(~named)
        self.topic_centroids_ = np.zeros((0, V.shape[1] if V.ndim == 2 else 0), dtype=np.float32)
        self.topic_floors_ = np.zeros(0, dtype=np.float32)
        if len(bidx) < cfg.min_sentences_for_clustering:
            if len(rest):
                self.notes_.append(
                    f"codebook-only themes: {len(bidx)} body sentences is below min_sentences_for_clustering="
                    f"{cfg.min_sentences_for_clustering}, so no topics were discovered; "
                    f"{len(rest)} sentences that fit no named theme are 'unassigned'")
        elif len(rest):
            self._discover(sentences.iloc[bidx], V, rest, theme, score)

        # 3. edits
        ids = sentences["sentence_id"].to_numpy()[bidx]
        theme, score = self._apply_edits(theme, score, ids, Z)
        if len(bidx):
            share = float(np.mean(theme == UNASSIGNED))
            if share > 0.10:
                self.notes_.append(f"{share:.0%} of body sentences fit no theme and are 'unassigned'")
        for k in self.theme_keys_:
            if not np.any(theme == k):
                self.notes_.append(f"named theme '{k}' matched no sentence")

        # 4. BERTopic's model of the final themes: keywords and topic embeddings; themes table
        self._fit_topic_model(sentences.iloc[bidx], V, theme, embedder)
        self.themes_ = self._themes_table(sentences.iloc[bidx], theme)
        # 5. map coordinates, assignments
        self._fit_layout(V)
        xy = np.full((len(sentences), 2), np.nan, dtype=np.float32)
        xy[bidx] = self.anchor_xy_ if len(self.anchor_xy_) == len(bidx) else interpolate_xy(
            V, self.anchor_vectors_, self.anchor_xy_)
        also = secondary_themes(Z, self.theme_keys_, theme, self.secondary_cut_, cfg.secondary_margin, self.edit_map_)
        self.assign_ = with_also_themes(_assign_frame(sentences, bidx, theme, score, xy), bidx, also)
        return self

    def _labelled(self, labels: pd.DataFrame | None, ids: np.ndarray) -> np.ndarray | None:
        """The researcher's labels per body sentence: theme index, -1 (no named theme), -2 (none)."""
        if labels is None or len(labels) == 0:
            return None
        if self.cfg.assignment != "corpus":
            self.notes_.append("labels were not used for assignment: they need themes.assignment 'corpus'")
            return None
        index = {str(k): i for i, k in enumerate(self.theme_keys_)}
        given = dict(zip(labels["sentence_id"].astype(str), labels["label"].astype(str)))
        out = np.array([index.get(given[i], -1) if i in given else -2 for i in map(str, ids)], dtype=np.int64)
        return out if (out > -2).any() else None

    def _named(self, Z: np.ndarray, V: np.ndarray, embedder, labelled: np.ndarray | None,
               ids: np.ndarray) -> np.ndarray:
        """The named theme of every body sentence (index into the codebook, -1 = none) by
        ``cfg.assignment``: ``corpus`` (``themes.assignment``: sure examples from the evidence,
        then a classifier on this corpus' vectors) or ``threshold`` (the best theme when its
        evidence reaches ``similarity_threshold``). Sets ``threshold_``, the evidence cut-off
        that secondary themes build on: the lowest evidence among the sure examples, or the
        threshold. With ``labelled``, each labelled sentence keeps its label; ``recalibration_``
        records which they were (``used``: sentence ids) and, for each, the theme the rule gives it
        when calibrated without that label (``out_of_fold``: the cross-validation's prediction, a
        theme key or None), which ``framescope validate`` uses in place of the label it was told."""
        cfg = self.cfg
        self.calibration_ = None
        self.recalibration_ = None
        if cfg.assignment == "threshold" or not len(self.theme_keys_):
            self.threshold_ = self._threshold(embedder)
            if not Z.shape[1]:
                return np.full(len(V), -1, dtype=np.int64)
            return np.where(Z.max(1) >= self.threshold_, Z.argmax(1), -1)
        floor = self._floor(embedder)
        settings = self._settings(floor)
        cal = calibrate(Z, V, labelled=labelled, **settings)
        if labelled is not None:
            n = int(np.sum(labelled > -2))
            cv = label_cross_validation(Z, V, labelled, [str(k) for k in self.theme_keys_], cfg.seed, **settings)
            given = np.flatnonzero(labelled > -2)
            oof = None
            if cv is not None:
                cv.pop("predictions")
                rows, pred = cv.pop("out_of_fold")
                oof = {str(ids[i]): (str(self.theme_keys_[p]) if p >= 0 else None) for i, p in zip(rows, pred)}
            self.recalibration_ = {"n_labels_used": n, "cross_validation": cv,
                                   "used": [str(ids[i]) for i in given], "out_of_fold": oof}
            self.notes_.append(
                f"named themes also learnt from {n} of your labels, and those {n} sentences keep the theme you gave "
                "them" + (
                    f"; cross-validated macro F1 over the labelled themes {cv['macro_f1_before']:.2f} without "
                    f"them, {cv['macro_f1_after']:.2f} with them ({cv['folds']} folds)" if cv else
                    "; too few (under 10, or one kind) to cross-validate their effect"))
        self.threshold_ = round(float(min(cal.cut, 1.0)), 4)  # stored precision: equal on another CPU
        self.calibration_ = {"method": cal.method, "evidence_floor": floor, "cut": round(self.threshold_, 4),
                             "sure_examples": {str(k): int(c) for k, c in zip(self.theme_keys_, cal.n_examples)},
                             "none_examples": cal.n_none_examples}
        for k, c in zip(self.theme_keys_, cal.n_examples):
            if c == 0:
                self.notes_.append(f"named theme '{k}': no sentence's evidence reached {floor}, so it has no sure "
                                   "examples and cannot be assigned")
        return cal.best

    def _settings(self, floor: float) -> dict:
        """The corpus rule's settings (``themes.assignment.calibrate``'s keywords)."""
        cfg = self.cfg
        return dict(seed_share=cfg.seed_share, seed_fraction=cfg.seed_fraction, none_share=cfg.none_share,
                    floor=floor, C=cfg.classifier_c)

    def cross_validate_labels(self, sentences: pd.DataFrame, vectors: np.ndarray, labels: pd.DataFrame,
                              embedder=None) -> dict | None:
        """What ``framescope run --labels`` would gain from ``labels`` (``sentence_id``, ``label``)
        on the sentences this model was fitted on (``sentences``, with their ``vectors``): the
        corpus rule with this model's codebook evidence and settings, cross-validated over the
        labelled body sentences (``themes.assignment.label_cross_validation``, with its
        ``out_of_fold`` and ``predictions``). The named-theme rule before edits and topic
        discovery. None when the model has no named themes or assigns them by a fixed threshold,
        or the labels are too few to cross-validate."""
        if self.cfg.assignment != "corpus" or not len(self.theme_keys_):
            return None
        sentences, vectors = _check_inputs(sentences, vectors)
        bidx = np.flatnonzero(sentences["is_body"].fillna(False).astype(bool).to_numpy())
        V = vectors[bidx]
        labelled = self._labelled(labels, sentences["sentence_id"].to_numpy()[bidx])
        if labelled is None:
            return None
        Z = self._evidence(sentences.iloc[bidx], V, self._embedder(embedder))
        floor = (self.calibration_ or {}).get("evidence_floor")
        if floor is None:
            floor = self.cfg.evidence_floor if self.cfg.evidence_floor is not None else EVIDENCE_FLOOR.get(
                self.embedder_name_ or "", EVIDENCE_FLOOR["minilm"])
        return label_cross_validation(Z, V, labelled, [str(k) for k in self.theme_keys_], self.cfg.seed,
                                      **self._settings(float(floor)))

    def _secondary_cut(self, Z: np.ndarray, best: np.ndarray) -> np.ndarray:
        """Per named theme, the evidence a sentence of another theme needs (plus
        ``secondary_margin``) to also mention it: the threshold under ``assignment: threshold``;
        under ``corpus``, the median evidence of the sentences assigned to the theme (a theme
        with none: 1.0, never)."""
        k = Z.shape[1]
        if self.cfg.assignment == "threshold":
            return np.full(k, self.threshold_, dtype=np.float64)
        return np.array([round(float(np.median(Z[best == i, i])), 4) if np.any(best == i) else 1.0
                         for i in range(k)], dtype=np.float64)

    def _floor(self, embedder) -> float:
        if self.cfg.evidence_floor is not None:
            return float(self.cfg.evidence_floor)
        name = getattr(embedder, "name", "") if embedder is not None else ""
        if name not in EVIDENCE_FLOOR:
            self.notes_.append(f"evidence floor {EVIDENCE_FLOOR['minilm']} was set for minilm, not for '{name}': "
                               "check named themes with `framescope validate` and set themes.evidence_floor")
        return EVIDENCE_FLOOR.get(name, EVIDENCE_FLOOR["minilm"])

    def _evidence(self, sentences: pd.DataFrame, vectors: np.ndarray, embedder) -> np.ndarray:
        return named_evidence(sentences, vectors, embedder, self.prototypes_, self.phrase_vectors_,
                              self.phrase_theme_, self.cfg.phrase_weight, self.cfg.clause_evidence)

    def _discover(self, body: pd.DataFrame, V: np.ndarray, rest: np.ndarray, theme: np.ndarray,
                  score: np.ndarray) -> None:
        from framescope.themes.topic_model import components, discover_topics

        cfg = self.cfg
        plan = discovery_plan(len(rest), seed=cfg.seed, n_components=cfg.n_components,
                              min_cluster_size=cfg.min_cluster_size, n_neighbors=cfg.n_neighbors)
        if len(rest) < 2 * plan.min_cluster_size:
            self.notes_.append(f"only {len(rest)} sentences fit no named theme: too few to discover topics; "
                               "they are 'unassigned'")
            return
        fit_idx = rest
        if cfg.fit_sample and len(rest) > cfg.fit_sample:
            rng = np.random.default_rng(cfg.seed)
            fit_idx = np.sort(rng.choice(rest, size=cfg.fit_sample, replace=False))
            plan = discovery_plan(len(fit_idx), seed=cfg.seed, n_components=cfg.n_components,
                                  min_cluster_size=cfg.min_cluster_size, n_neighbors=cfg.n_neighbors)
            self.notes_.append(f"topics were fitted on a random sample of {cfg.fit_sample} of {len(rest)} "
                               "sentences; the rest joined their nearest topic")
        self.discovery_ = components(plan)["discovery"]
        texts = body["text"].astype(str).to_numpy()
        labels = discover_topics(list(texts[fit_idx]), V[fit_idx], plan)
        n_topics = int(labels.max()) + 1
        if n_topics == 0:
            self.notes_.append("no topics found among the sentences that fit no named theme")
            return
        inside = labels >= 0
        cents = centroids(V[fit_idx][inside], labels[inside], n_topics)
        self.topic_centroids_ = cents
        self.topic_floors_ = topic_floors(V[fit_idx][inside], labels[inside], cents)
        member = np.full(len(V), -2)
        member[fit_idx] = labels
        sims = V @ cents.T
        clustered = np.flatnonzero(member >= 0)
        theme[clustered] = [f"topic_{t}" for t in member[clustered]]
        score[clustered] = sims[clustered, member[clustered]]
        self._compete(V, theme, score, sims)
        others = np.setdiff1d(rest, clustered)
        if len(others):
            near, s = nearest_topic(V[others], cents, self.topic_floors_) if cfg.reduce_outliers else (
                np.full(len(others), -1), np.full(len(others), np.nan))
            ok = near >= 0
            theme[others[ok]] = [f"topic_{t}" for t in near[ok]]
            score[others[ok]] = s[ok]

    def _compete(self, V, theme, score, topic_sims) -> None:
        """Weakly evidenced named sentences go to a discovered topic they are closer to than to
        their own theme's sentences (one k-means step with named themes and topics as equals)."""
        keys = list(self.theme_keys_)
        margin = self.cfg.compete_margin
        if margin <= 0 or not keys or topic_sims.shape[1] == 0 or self.cfg.assignment == "corpus":
            return
        key_idx = {k: i for i, k in enumerate(keys)}
        weak = np.flatnonzero([t in key_idx for t in theme] & (score < self.threshold_ + margin))
        if len(weak) == 0:
            return
        own = np.einsum("ij,ij->i", V[weak], self.named_centroids_[[key_idx[t] for t in theme[weak]]])
        best = topic_sims[weak].argmax(1)
        best_sim = topic_sims[weak, best]
        move = best_sim > own
        theme[weak[move]] = [f"topic_{t}" for t in best[move]]
        score[weak[move]] = best_sim[move]

    # ------------------------------------------------------------------ edits
    def _apply_edits(self, theme, score, ids, Z):
        edits = self.codebook_.edits
        present = set(theme.tolist())
        self.edit_map_: dict[str, str] = {}
        for e in [*edits.merge, *[m for m in edits.move if m.from_]]:
            src, dst = e.from_, e.into
            src = self.edit_map_.get(src, src)
            if src not in present:
                self.notes_.append(f"edit {src} -> {dst} skipped: this run has no theme '{src}'")
                continue
            if dst not in present and dst not in set(self.theme_keys_):
                self.notes_.append(f"edit {src} -> {dst} skipped: this run has no theme '{dst}'")
                continue
            theme = np.where(theme == src, dst, theme)
            for k, v in list(self.edit_map_.items()):
                if v == src:
                    self.edit_map_[k] = dst
            self.edit_map_[src] = dst
            present = set(theme.tolist())
        pos = {sid: i for i, sid in enumerate(ids)}
        keys = list(self.theme_keys_)
        for m in edits.move:
            for sid in m.sentences:
                if sid not in pos:
                    self.notes_.append(f"edit move {sid} -> {m.into} skipped: no body sentence {sid}")
                    continue
                theme[pos[sid]] = m.into
                score[pos[sid]] = Z[pos[sid], keys.index(m.into)]
        self.renames_ = dict(edits.rename)
        return theme, score

    # ------------------------------------------------------------------ outputs
    def _fit_topic_model(self, body: pd.DataFrame, V: np.ndarray, theme: np.ndarray, embedder) -> None:
        """BERTopic in manual mode over the final themes (``themes.topic_model.study_topic_model``):
        sets ``topic_model_`` (None when no sentence has a theme), ``topic_keys_`` (the theme of
        each of its topic embeddings, in BERTopic's order) and ``topic_embeddings_``."""
        from framescope.themes.topic_model import components, keywords, study_topic_model, topic_ids

        present = set(theme.tolist())
        topics = sorted((t for t in present if t.startswith("topic_")), key=lambda t: int(t.split("_")[1]))
        keys = [k for k in dict.fromkeys([*self.theme_keys_, *topics]) if k in present]
        index = {k: i for i, k in enumerate(keys)}
        y = np.array([index.get(t, -1) for t in theme], dtype=int)
        texts = body["text"].astype(str).tolist()
        self.topic_model_ = study_topic_model(texts, V, y, embedder) if len(V) else None
        described = components(None)
        self.bertopic_ = described["study_model"] | {"bertopic_version": described["bertopic_version"]}
        self.keywords_: dict[str, list[str]] = {}
        dim = V.shape[1] if V.ndim == 2 else 0
        if self.topic_model_ is None:
            self.topic_keys_ = np.array([], dtype=object)
            self.topic_embeddings_ = np.zeros((0, dim), dtype=np.float32)
            return
        ids = topic_ids(self.topic_model_, y)  # our index -> BERTopic's topic
        by_topic = {t: (keys[i] if i >= 0 else UNASSIGNED) for i, t in ids.items()}
        first = -1 if -1 in self.topic_model_.topic_sizes_ else 0  # the outliers' embedding comes first
        order = range(first, first + len(self.topic_model_.topic_embeddings_))
        self.topic_keys_ = np.array([by_topic[t] for t in order], dtype=object)
        self.topic_embeddings_ = np.asarray(self.topic_model_.topic_embeddings_, dtype=np.float32)
        casing = usual_casing(texts)
        for t, key in by_topic.items():
            if key != UNASSIGNED:
                self.keywords_[key] = [" ".join(casing.get(w, w) for w in k.split())
                                       for k in keywords(self.topic_model_, t)]
        labels = {t: (self._label(by_topic[t]) if by_topic[t] != UNASSIGNED else "Unassigned") for t in order}
        self.topic_model_.set_topic_labels(labels)

    def _label(self, key: str) -> str:
        for t in self.codebook_.themes:
            if t.key == key:
                return self.renames_.get(key, t.label)
        return self.renames_.get(key, topic_label(self.keywords_.get(key, [])))

    def _themes_table(self, body: pd.DataFrame, theme) -> pd.DataFrame:
        kw = self.keywords_
        counts = pd.Series(theme).value_counts()
        rows = []
        for t in self.codebook_.themes:
            rows.append(dict(theme=t.key, label=t.label, keywords=kw.get(t.key, []),
                             n_sentences=int(counts.get(t.key, 0)), named=True, description=t.description))
        topics = sorted((k for k in counts.index if k.startswith("topic_")), key=lambda k: int(k.split("_")[1]))
        for k in topics:
            words = kw.get(k, [])
            rows.append(dict(theme=k, label=topic_label(words), keywords=words, n_sentences=int(counts[k]),
                             named=False, description="Discovered topic (BERTopic with framescope's UMAP and HDBSCAN "
                                                      "steps); label from its keywords."))
        if counts.get(UNASSIGNED, 0):
            rows.append(dict(theme=UNASSIGNED, label="Unassigned", keywords=[], n_sentences=int(counts[UNASSIGNED]),
                             named=False, description="Body sentences that fit no named theme and no discovered topic."))
        df = pd.DataFrame(rows, columns=THEME_COLUMNS)
        for key, label in self.renames_.items():
            if key in set(df["theme"]):
                df.loc[df["theme"] == key, "label"] = label
            else:
                self.notes_.append(f"edit rename {key} skipped: this run has no theme '{key}'")
        return df

    def _fit_layout(self, V: np.ndarray) -> None:
        n = len(V)
        idx = np.arange(n)
        if n > MAX_ANCHORS:
            idx = np.sort(np.random.default_rng(self.cfg.seed).choice(n, MAX_ANCHORS, replace=False))
        self.anchor_vectors_ = V[idx].astype(np.float32)
        self.anchor_xy_ = layout_2d(self.anchor_vectors_, self.cfg.seed)

    # ------------------------------------------------------------------ transform / io
    def transform(self, sentences: pd.DataFrame, vectors: np.ndarray, embedder=None) -> pd.DataFrame:
        """Themes for (new) sentences, as the study's BERTopic model assigns them: the theme whose
        topic embedding is most similar by cosine (`unassigned` when the outliers' embedding is);
        ``also_themes`` and the map position as in ``fit``. ``vectors`` must come from the same
        embedder and context settings as the fitted ones. A query: fitted state is left alone."""
        sentences, vectors = _check_inputs(sentences, vectors)
        dim = self.anchor_vectors_.shape[1] if len(self.anchor_vectors_) else vectors.shape[1]
        if vectors.shape[1] != dim:
            raise InputError(f"vectors have {vectors.shape[1]} dimensions; this theme model expects {dim}")
        body = sentences["is_body"].fillna(False).astype(bool).to_numpy()
        bidx = np.flatnonzero(body)
        V = vectors[bidx]
        theme = np.full(len(V), UNASSIGNED, dtype=object)
        score = np.full(len(V), np.nan, dtype=np.float32)
        if len(self.topic_embeddings_) and len(V):
            sims = row_dot(normalise(V), normalise(self.topic_embeddings_))
            best = sims.argmax(1)
            theme = self.topic_keys_[best].astype(object)
            score = np.where(theme != UNASSIGNED, sims[np.arange(len(V)), best], np.nan).astype(np.float32)
        xy = np.full((len(sentences), 2), np.nan, dtype=np.float32)
        xy[bidx] = interpolate_xy(V, self.anchor_vectors_, self.anchor_xy_)
        also = [[] for _ in range(len(V))]
        if len(self.theme_keys_) and self.cfg.secondary_margin is not None:
            Z = self._evidence(sentences.iloc[bidx], V, self._embedder(embedder))
            also = secondary_themes(Z, self.theme_keys_, theme, self.secondary_cut_, self.cfg.secondary_margin,
                                    self.edit_map_)
        return with_also_themes(_assign_frame(sentences, bidx, theme, score, xy), bidx, also)

    def _embedder(self, embedder):
        """The embedder for clause evidence: the one given, else the fitted one, checked."""
        needs = self.cfg.phrase_weight > 0 and len(self.phrase_vectors_)
        if embedder is not None or not needs:
            return embedder
        from framescope.config import EmbedConfig
        from framescope.embed.encoders import get_embedder

        if not self.embedder_name_ or self.embedder_name_ == "tfidf":
            raise InputError("this theme model needs its fitted embedder: transform(sentences, vectors, embedder)")
        embedder = get_embedder(EmbedConfig(model=self.embedder_name_))
        if embedder.weights_sha256 != self.embedder_sha_:
            raise InputError(f"embedding model '{self.embedder_name_}' has other weights than the one this "
                             "theme model was fitted with")
        return embedder

    def save(self, path: str | Path) -> Path:
        from framescope.themes.io import save

        return save(self, path)

    @classmethod
    def load(cls, path: str | Path) -> "ThemeModel":
        from framescope.themes.io import load

        return load(cls, path)


def codebook_vectors(codebook: Codebook, embedder) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prototypes, seed-phrase vectors, the theme of each phrase) of a codebook: a theme's
    prototype is the mean vector of its label, description and seed phrases."""
    dim = getattr(embedder, "dim", 0) if embedder is not None else 0
    if not codebook.themes:
        return (np.zeros((0, dim), dtype=np.float32), np.zeros((0, dim), dtype=np.float32),
                np.zeros(0, dtype=np.int32))
    protos, phrases, owner = [], [], []
    for k, t in enumerate(codebook.themes):
        protos.append(normalise(cached_encode(t.prototype_texts(), embedder).mean(0, keepdims=True))[0])
        phrases += t.seed_phrases
        owner += [k] * len(t.seed_phrases)
    prototypes = np.stack(protos).astype(np.float32)
    phrase_vectors = cached_encode(phrases, embedder) if phrases else np.zeros((0, prototypes.shape[1]), np.float32)
    return prototypes, phrase_vectors, np.array(owner, dtype=np.int32)


def named_evidence(sentences: pd.DataFrame, vectors: np.ndarray, embedder, prototypes: np.ndarray,
                   phrase_vectors: np.ndarray, phrase_theme: np.ndarray, phrase_weight: float,
                   by_clause: bool = True) -> np.ndarray:
    """Sentences x named themes: ``(1 - w) * cos(vector, prototype) + w * max cos(clause, seed
    phrase)``, with ``w = phrase_weight`` (the prototype alone for a theme without phrases).
    Without ``by_clause`` the sentence's own text stands for its clauses (nothing more embedded)."""
    n_themes = len(prototypes)
    if n_themes == 0 or len(vectors) == 0:
        return np.zeros((len(vectors), n_themes), dtype=np.float32)
    score = row_dot(vectors, prototypes)
    w = phrase_weight
    if w > 0 and len(phrase_vectors):
        parts = [clauses(t) if by_clause else [t] for t in embedding_texts(sentences)]
        flat = [c for p in parts for c in p]
        sims = row_dot(cached_encode(flat, embedder), phrase_vectors)  # clause x phrase
        per_theme = np.full((len(flat), n_themes), -1.0, dtype=np.float32)
        for k in range(n_themes):
            cols = phrase_theme == k
            if cols.any():
                per_theme[:, k] = sims[:, cols].max(1)
        owner = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
        phrase = np.full((len(parts), n_themes), -1.0, dtype=np.float32)
        np.maximum.at(phrase, owner, per_theme)
        has = (phrase_theme[None, :] == np.arange(n_themes)[:, None]).any(1)
        phrase = np.where(has[None, :], phrase, score)  # a theme without seed phrases
        score = (1 - w) * score + w * phrase
    return score.astype(np.float32)


def _check_inputs(sentences: pd.DataFrame, vectors) -> tuple[pd.DataFrame, np.ndarray]:
    for col in ("sentence_id", "text", "is_body", "doc_id"):
        if col not in sentences.columns:
            raise InputError(f"sentences table has no '{col}' column")
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(sentences):
        raise InputError(f"{len(sentences)} sentences but vectors of shape {vectors.shape}")
    return sentences.reset_index(drop=True), vectors


def _assign_frame(sentences, bidx, theme, score, xy) -> pd.DataFrame:
    n = len(sentences)
    th = np.full(n, None, dtype=object)
    sc = np.full(n, np.nan, dtype=np.float64)
    th[bidx] = theme
    sc[bidx] = score
    return pd.DataFrame({"sentence_id": sentences["sentence_id"].to_numpy(), "theme": th,
                         "theme_score": sc, "x": xy[:, 0].astype(np.float64), "y": xy[:, 1].astype(np.float64)})
