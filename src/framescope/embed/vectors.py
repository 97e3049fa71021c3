"""In-context sentence vectors: the text each sentence is embedded as, the on-disk cache, and
the mixing of each sentence's vector with its neighbours'.

``sentence_vectors`` is what a run embeds (the encoders are in :mod:`framescope.embed.encoders`,
the cache in :mod:`framescope.embed.cache`).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from framescope.config import EmbedConfig
from framescope.embed.cache import cached_encode
from framescope.embed.encoders import Embedder, TfidfEmbedder, normalise
from framescope.errors import InputError


# --------------------------------------------------------------------------- in-context vectors

def context_mix(vectors: np.ndarray, sentences: pd.DataFrame, window: int, weight: float,
                scope: str = "paragraph") -> np.ndarray:
    """Mix each body sentence's vector with the mean of its body neighbours.

    Neighbours are the ``window`` body sentences on each side within the same paragraph
    (``scope='paragraph'``) or document (``scope='document'``). The result is
    ``normalise((1 - weight) * v + weight * mean(neighbours))``; sentences without
    neighbours, and non-body rows, keep their own vector.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if window <= 0 or weight <= 0 or len(sentences) == 0:
        return normalise(vectors)
    df = sentences.reset_index(drop=True)
    body = df["is_body"].fillna(False).astype(bool).to_numpy() if "is_body" in df else np.ones(len(df), bool)
    keys = ["doc_id", "paragraph"] if scope == "paragraph" else ["doc_id"]
    rows = df.loc[body, keys + ["position"]].sort_values(keys + ["position"], kind="stable")
    idx = rows.index.to_numpy()
    group = rows.groupby(keys, sort=False).ngroup().to_numpy()
    acc = np.zeros_like(vectors)
    cnt = np.zeros(len(df), dtype=np.float32)
    for d in range(1, window + 1):
        same = group[d:] == group[:-d] if len(group) > d else np.zeros(0, bool)
        a, b = idx[:-d][same], idx[d:][same]  # a precedes b in the same group
        np.add.at(acc, a, vectors[b])
        np.add.at(acc, b, vectors[a])
        np.add.at(cnt, a, 1.0)
        np.add.at(cnt, b, 1.0)
    has = cnt > 0
    mixed = vectors.copy()
    mixed[has] = (1 - weight) * vectors[has] + weight * (acc[has] / cnt[has, None])
    return normalise(mixed)


# --------------------------------------------------------------------------- embedding input text

_ACRONYM_DEF = re.compile(r"\(([A-Z][A-Za-z&]{1,9})\)")
_LINK_WORDS = {"of", "and", "the", "for", "in", "on", "to", "a", "an", "&"}


def _long_form(words: list[str], acronym: str) -> str | None:
    """Schwartz & Hearst (2003): the shortest run of preceding words that spells the acronym."""
    letters = acronym.lower().replace("&", "")
    for n in range(1, min(len(words), len(letters) + 5, 2 * len(letters)) + 1):
        cand = words[-n:]
        if cand[0].lower() in _LINK_WORDS:
            continue
        text = " ".join(cand).lower()
        li, ti = len(letters) - 1, len(text) - 1
        while li >= 0:  # scan backwards: letters in order, the first one at a word start
            while ti >= 0 and (text[ti] != letters[li] or (li == 0 and ti > 0 and text[ti - 1].isalnum())):
                ti -= 1
            if ti < 0:
                break
            li, ti = li - 1, ti - 1
        if li < 0 and text[0] == letters[0]:
            return " ".join(cand)
    return None


def acronym_definitions(text: str) -> dict[str, str]:
    """Acronyms a text defines as ``Long Form (LF)``, e.g. {'BRI': 'Belt and Road Initiative'}."""
    found: dict[str, str] = {}
    for m in _ACRONYM_DEF.finditer(text):
        acr = m.group(1)
        if sum(c.isupper() for c in acr) < 2 or acr in found:
            continue
        long = _long_form(re.findall(r"[\w’'-]+", text[max(0, m.start() - 200):m.start()]), acr)
        if long:
            found[acr] = long
    return found


def embedding_texts(sentences: pd.DataFrame) -> list[str]:
    """The text each sentence is embedded as: its own text with the acronyms that its document
    defines spelled out ("joined the BRI" -> "joined the Belt and Road Initiative"), because a
    general-purpose model knows the long form far better than a corpus-specific acronym.
    The ``text`` column itself is never changed."""
    texts = sentences["text"].fillna("").astype(str)
    if "doc_id" not in sentences.columns or len(sentences) == 0:
        return texts.tolist()
    order = sentences.sort_values(["doc_id", "position"], kind="stable") if "position" in sentences else sentences
    defs = {doc: acronym_definitions(" ".join(g["text"].fillna("").astype(str)))
            for doc, g in order.groupby("doc_id", sort=False)}
    out = []
    for doc, text in zip(sentences["doc_id"], texts):
        for acr, long in defs.get(doc, {}).items():
            if f"({acr})" not in text:
                text = re.sub(rf"\b{re.escape(acr)}\b", long, text)
        out.append(text)
    return out


def sentence_vectors(sentences: pd.DataFrame, embedder: Embedder, cfg: EmbedConfig) -> np.ndarray:
    """In-context vectors, one row per row of ``sentences`` (same order), cached on disk.

    Each sentence is embedded as :func:`embedding_texts` gives it, then mixed with its body
    neighbours by :func:`context_mix` (``cfg.context_window``, ``cfg.context_weight``,
    ``cfg.context_scope``).
    """
    for col in ("text", "doc_id", "paragraph", "position"):
        if col not in sentences.columns:
            raise InputError(f"sentences table has no '{col}' column")
    texts = embedding_texts(sentences)
    if isinstance(embedder, TfidfEmbedder) and not embedder.fitted:
        embedder.fit(texts)
    raw = cached_encode(texts, embedder, use_cache=cfg.cache)
    return context_mix(raw, sentences, cfg.context_window, cfg.context_weight, cfg.context_scope)
