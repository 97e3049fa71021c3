"""The dask executor (``--engine dask``): the stage sequence's partition work on a dask.distributed cluster.

The stage sequence (``engines.pipeline.run_stages``) cuts the corpus into partitions of whole
documents (``stages.corpus_partitions``); this executor writes them as Parquet files, and every
step whose cost grows with the corpus runs on the workers, one task per partition
(``Client.map``):

1. ``segment``: sentences of the partition's documents (ingest), then ``embed_partition``: their
   in-context vectors (the embedding cache is the worker's own ``FRAMESCOPE_CACHE_DIR``);
2. the theme model is fitted once, on the client, on the sample of whole documents that
   ``themes.sample.fit_sample_documents`` draws (``themes.fit_sample``), gathered from the workers
   (``sample_rows``);
3. texts that several partitions share (wire copy, boilerplate) are scored and parsed once:
   ``text_keys`` returns the sha256 digests of the partition's distinct texts that tone scores
   (every sentence) and that the voices parse (body sentences with a speech cue); the client
   finds the digests that more than one partition holds (``shared_texts``); ``score_shared``
   computes each such text's tone and speaker parse in the first partition that holds it; the
   client hands the findings (keyed by digest: no text travels) to every partition holding the
   text, and the later steps take them as found (``reuse.given``). The voices parse in two
   rounds: ``context_keys`` parses the partition's other speech-cue sentences and keeps every
   cue parse beside the partition, with the sentences that the voices then parse for their
   document's names (a role or a one-word name elsewhere in the document); those shared with
   other partitions are parsed once in the same way (``score_context``). So, like the local
   engine, the cluster computes each distinct text once. The manifest's ``engine`` gives
   ``shared_texts`` and ``computed`` (texts computed, per kind);
4. ``assign_and_measure``: every sentence of the partition gets the fit's own theme (sample
   sentences) or the fitted model's (the rest), then tone, frame scores and voice; the rows are
   written beside the partition and the task returns only the partition's partials of the
   study's measures (``framing.measure_partials``: counts per cluster, cell, frame, term and
   speaker; tone sums per cluster; vector sums per cell);
5. ``candidates``: exemplar and contrast-pair candidates of the partition, given the centroids
   combined on the client (capped per cell and per theme × source pair, no text);
6. ``sentence_texts``: the texts of the chosen contrast pairs.

The client (the stage sequence) combines the partials into the tables (``framing.measure_tables``,
``framing.settle_candidates``) and writes the study, streaming ``sentences.parquet`` from the
partition files one at a time (``write.write_study``). It never holds the sentence rows or
their vectors, except the fit sample; it holds the tone and speaker findings of the shared texts,
keyed by digest (at 1M sentences of which 100k distinct, the 100k scores and their parses).

Why the result equals the local engine's, bit for bit (on one machine): both engines run the same functions
(``stages.theme_and_measure``, the partials and their combination) on the same partitions, so
every embedding batch and matrix product sees the same rows; a text's tone and speaker parse
depend on that text alone (``tone.tone_scores``, ``speakers.parse_speakers``), so where they are
computed changes nothing; segmentation, sentence ids, context
mixing, acronyms and voices depend on nothing outside a sentence's own document, and no document
is split; the fit sees the same sample; the model reaches the workers through its safetensors +
JSON files, which hold its arrays exactly; resampling clusters (paragraphs or documents) never
straddle two partitions, so the bootstrap and the permutation test draw from the same
per-cluster counts with the same seeds; and the float sums that are combined (the tone SD, the
centroids) are added in partition order by both. One caveat, for MiniLM on an empty embedding
cache: a sentence text that also occurs in an earlier partition is read from the cache by the
local engine (which runs the partitions in turn) but embedded again on the cluster (where they
run at once), so that partition's batches differ, and MiniLM's output depends in the 7th decimal
on a batch's padded length. With a warm cache, or with wordllama, the two engines agree exactly.
``tfidf`` learns from the whole corpus and is refused.

``--scheduler tcp://host:8786`` connects to a running cluster; without it a ``LocalCluster``
(one single-threaded worker process per core, at most 8, on 127.0.0.1) is started and closed.
Partition files go to ``FRAMESCOPE_DASK_DIR`` (a folder every worker can read and write) or,
by default, a temporary folder beside the study, removed at the end.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from framescope.artifacts import atomic_write_bytes, sha256_text, staging_prefix, stored
from framescope.config import EmbedConfig, MeasureConfig, RunConfig
from framescope.engines.stages import body_per_document, fitted_rows, reuses, split_sentences, theme_and_measure
from framescope.engines.study import StudyRun, embedder_for, resolve_out
from framescope.errors import InputError, RunInterrupted

log = logging.getLogger("framescope.engines.distributed")
_MODELS: dict[str, object] = {}  # per worker process


# --------------------------------------------------------------------------- worker side

def _embedder(embed: dict):
    return embedder_for(EmbedConfig.model_validate(embed))


def _model(folder: str):
    from framescope.themes import ThemeModel

    if folder not in _MODELS:
        _MODELS.clear()
        _MODELS[folder] = ThemeModel.load(folder)
    return _MODELS[folder]


def _need(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"partition file {path} is not visible on worker {socket.gethostname()}: set "
                         "FRAMESCOPE_DASK_DIR to a folder that the client and every worker can read and write")
    return path


def segment(work: str, part: int, reuse: bool = False) -> tuple[pd.Series, Counter]:
    """Sentences of one partition, written beside it (with ``reuse``, texts an earlier run split
    are taken from the worker's cache folder); returns body sentences per document and how many
    texts this split."""
    from framescope import reuse as kept

    w = Path(work)
    with kept.counting() as computed:  # one process per worker
        sentences = split_sentences(pd.read_parquet(_need(w / f"documents-{part:05d}.parquet")), 1, reuse)
    sentences.to_parquet(w / f"sentences-{part:05d}.parquet", index=False)
    return body_per_document(sentences), computed


def embed_partition(work: str, part: int, embed: dict) -> None:
    """In-context vectors of one partition's sentences, written beside them."""
    from framescope.embed.vectors import sentence_vectors

    w = Path(work)
    sentences = pd.read_parquet(w / f"sentences-{part:05d}.parquet")
    vectors = sentence_vectors(sentences, _embedder(embed), EmbedConfig.model_validate(embed))
    np.save(w / f"vectors-{part:05d}.npy", vectors, allow_pickle=False)


def sample_rows(work: str, part: int, doc_ids: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The partition's sentences of the sample documents, with their vectors."""
    w = Path(work)
    sentences = pd.read_parquet(w / f"sentences-{part:05d}.parquet")
    vectors = np.load(w / f"vectors-{part:05d}.npy", allow_pickle=False)
    keep = sentences["doc_id"].isin(doc_ids).to_numpy()
    return sentences[keep].reset_index(drop=True), vectors[keep]


def _digests(texts) -> np.ndarray:
    """The sha256 digest of each text, as 32-byte values (sortable: ``np.unique``)."""
    return np.array([hashlib.sha256(t.encode("utf-8")).digest() for t in texts], dtype="V32").reshape(-1)


_VOICE_COLUMNS = ["doc_id", "paragraph", "position", "text", "is_body"]  # what voices.voice_frame reads


def _per_text_inputs(sentences: pd.DataFrame) -> dict[str, list[str]]:
    """The distinct texts of a partition that the per-text measures compute first: ``tone``
    every sentence's (as ``tone.tone_scores`` reads them), ``speakers`` the body sentences with a
    speech cue (``voices.speech_texts``)."""
    from framescope.measures.voices import speech_texts

    return {"tone": list(dict.fromkeys(sentences["text"].fillna("").astype(str))),
            "speakers": speech_texts(sentences)}


def _sentences(work: str, part: int) -> pd.DataFrame:
    return pd.read_parquet(Path(work) / f"sentences-{part:05d}.parquet", columns=_VOICE_COLUMNS)


def text_keys(work: str, part: int) -> dict[str, np.ndarray]:
    """The digests of the partition's per-text inputs (:func:`_per_text_inputs`), not the texts."""
    return {kind: _digests(texts) for kind, texts in _per_text_inputs(_sentences(work, part)).items()}


def _records(kind: str, texts: list[str], reuse: bool) -> list:
    """The tone scores or speaker parses of ``texts``, as the cache keeps them."""
    from framescope.measures.speakers import parse_speakers, to_record
    from framescope.measures.tone import tone_scores

    if kind == "tone":
        return tone_scores(pd.DataFrame({"text": texts}), reuse).tolist()
    return [to_record(p) for p in parse_speakers(texts, reuse)]


def _owned_records(texts: dict[str, list[str]], owned: dict[str, np.ndarray], reuse: bool) -> tuple[dict, Counter]:
    """``{kind: {text sha256: record}}`` of the ``texts`` whose digests are ``owned``, and how
    many texts this computed per kind."""
    from framescope.reuse import counting

    out = {}
    with counting() as computed:
        for kind, mine in owned.items():
            mine = set(mine.tolist())
            todo = [(t, d.hex()) for t, d in zip(texts[kind], _digests(texts[kind]).tolist()) if d in mine]
            out[kind] = dict(zip((h for _, h in todo), _records(kind, [t for t, _ in todo], reuse)))
    return out, computed


def score_shared(work: str, part: int, owned: dict[str, np.ndarray], reuse: bool = True) -> tuple[dict, dict]:
    """Tone and speaker records (``{text sha256: record}`` per kind) of the partition's texts
    whose digests are ``owned``, and how many texts this computed per kind."""
    return _owned_records(_per_text_inputs(_sentences(work, part)), owned, reuse)


def _parsed_file(work: str, part: int) -> Path:
    return Path(work) / f"speakers-{part:05d}.json"


def context_keys(work: str, part: int, given: dict, reuse: bool = True) -> tuple[dict, dict]:
    """The partition's speech-cue sentences parsed (those that other partitions share are
    ``given``; the rest are parsed here), kept beside the partition with the texts that the
    voices then parse for their document's names (``voices.context_texts``); returns those
    texts' digests, and how many texts this computed."""
    from framescope import reuse as kept
    from framescope.measures.speakers import parse_speakers, to_record
    from framescope.measures.voices import context_texts, speech_texts

    sentences = _sentences(work, part)
    cue = speech_texts(sentences)
    with kept.counting() as computed, kept.given(given):
        found = parse_speakers(cue, reuse)
    context = context_texts(sentences, dict(zip(cue, found)))
    blob = {"speakers": {sha256_text(t): to_record(p) for t, p in zip(cue, found)}, "context": context}
    atomic_write_bytes(_parsed_file(work, part), json.dumps(blob, ensure_ascii=False).encode("utf-8"))
    return {"speakers": _digests(context)}, computed


def _kept_parses(work: str, part: int) -> dict:
    path = _parsed_file(work, part)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"speakers": {}, "context": []}


def score_context(work: str, part: int, owned: dict[str, np.ndarray], reuse: bool = True) -> tuple[dict, dict]:
    """Speaker records of the partition's context texts (:func:`context_keys`) whose digests
    are ``owned``, and how many texts this computed."""
    return _owned_records({"speakers": _kept_parses(work, part)["context"]}, owned, reuse)


def assign_and_measure(work: str, part: int, fitted: pd.DataFrame, given: dict, model_dir: str,
                       doc_ids: list[str], embed: dict, frames, measures: dict, reuse: bool = True) -> tuple[dict, Counter]:
    """Themes, tone, frame scores and voices of one partition's sentences, written beside it,
    with the tone and speaker records ``given`` (``reuse.given``) for the texts that other
    partitions share; returns the partition's partials of the study's measures
    (``framing.measure_partials``) and how many texts this computed per kind."""
    from framescope import reuse as kept
    from framescope.measures.framing import measure_partials

    w = Path(work)
    sentences = pd.read_parquet(w / f"sentences-{part:05d}.parquet")
    vectors = np.load(w / f"vectors-{part:05d}.npy", allow_pickle=False)
    parsed = _kept_parses(work, part)["speakers"]  # this partition's speech-cue sentences (context_keys)
    given = {**given, "speakers": {**parsed, **given.get("speakers", {})}}
    with kept.counting() as computed, kept.given(given):
        out = theme_and_measure(_model(model_dir), fitted, sentences, vectors, doc_ids, _embedder(embed), frames,
                                reuse)
    stored(out).to_parquet(w / f"measured-{part:05d}.parquet", index=False)  # as the study stores it
    return measure_partials(out, vectors, MeasureConfig.model_validate(measures)), computed


_MEASURED = ["sentence_id", "doc_id", "source", "paragraph", "text", "is_body", "theme", "also_themes", "tone"]


class Partitions:
    """The measured partitions of a work folder, read one at a time: ``parts[q]`` is
    ``(sentences, vectors)`` of partition q (only the columns the candidates need; the vectors
    memory-mapped)."""

    def __init__(self, work: str, n: int):
        self.work, self.n = Path(work), n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, q: int) -> tuple[pd.DataFrame, np.ndarray]:
        sentences = pd.read_parquet(self.work / f"measured-{q:05d}.parquet", columns=_MEASURED)
        return sentences, np.load(self.work / f"vectors-{q:05d}.npy", mmap_mode="r", allow_pickle=False)


def candidates(work: str, part: int, n_parts: int, measures: dict, centroids: dict, limit: int) -> dict:
    """Exemplar and contrast-pair candidates of one partition (``framing.candidate_partials``)."""
    from framescope.measures.framing import candidate_partials

    parts = Partitions(work, n_parts)
    sentences, vectors = parts[part]
    return candidate_partials(sentences, np.asarray(vectors), MeasureConfig.model_validate(measures), centroids,
                              parts, limit)


def sentence_texts(work: str, part: int, ids: list[str]) -> pd.DataFrame:
    """``sentence_id, text`` of the given sentences of one partition."""
    df = pd.read_parquet(Path(work) / f"measured-{part:05d}.parquet", columns=["sentence_id", "text"])
    return df[df["sentence_id"].isin(ids)].reset_index(drop=True)


# --------------------------------------------------------------------------- client side

def shared_texts(keys: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Of the texts that more than one partition holds (``keys``: each partition's distinct
    digests, in partition order), per partition: those it computes (it is the first to hold
    them) and all that it holds."""
    sizes = [len(k) for k in keys]
    if not sum(sizes):
        return list(keys), list(keys)
    every = np.concatenate(keys)
    part = np.repeat(np.arange(len(keys)), sizes)
    _, first, inverse, counts = np.unique(every, return_index=True, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    shared = counts[inverse] > 1
    owns = shared & (part[first][inverse] == part)  # the first occurrence lies in the lowest partition
    cuts = np.cumsum([0, *sizes])
    return ([every[a:b][owns[a:b]] for a, b in zip(cuts, cuts[1:])],
            [every[a:b][shared[a:b]] for a, b in zip(cuts, cuts[1:])])


def _client(cfg: RunConfig):
    """(client, cluster or None): connect to ``cfg.scheduler``, else start a loopback LocalCluster."""
    from dask.distributed import Client, LocalCluster

    if cfg.scheduler:
        try:
            return Client(cfg.scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as e:
            raise InputError(f"cannot reach the dask scheduler at {cfg.scheduler}: {e}") from None
    n = max(1, min(os.cpu_count() or 1, 8))
    quiet = "DASK_LOGGING__DISTRIBUTED" not in os.environ
    if quiet:  # the worker processes read their log level from the environment they inherit
        os.environ["DASK_LOGGING__DISTRIBUTED"] = "error"
    try:
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.ERROR)
    finally:
        if quiet:
            del os.environ["DASK_LOGGING__DISTRIBUTED"]
    return Client(cluster), cluster


def lost_scheduler_message(address: str, out: Path, error: Exception) -> str:
    """The one line a user reads when the dask scheduler goes away mid-run."""
    what = type(error).__name__
    return (f"lost the dask scheduler at {address} during the run ({what}); the study folder {out} is "
            "unchanged; start the scheduler again and re-run the same command to resume")


class DaskExecutor:
    """The executor steps of the stage sequence, one dask task per partition. Used as a context
    manager: the cluster (or the connection to ``cfg.scheduler``) starts with the first step and
    closes, with the partition files, at the end."""

    def __init__(self, cfg: RunConfig, verbose: bool = False):
        if cfg.embed.model.strip() == "tfidf":
            raise InputError("the tfidf embedder learns from the whole corpus, so it cannot run per partition; "
                             "use --embedder minilm or wordllama with --engine dask")
        self.cfg, self.verbose = cfg, verbose
        self.client = self.cluster = None
        self.n_workers = 0
        self.shared: Counter = Counter()  # texts more than one partition holds, per kind (shared_records)
        self.computed: dict = {}  # texts the workers computed, per kind (measure)
        self.segmented: Counter = Counter()  # documents the workers split into sentences (segment)
        self.address = cfg.scheduler or ""
        self.embed_cfg = cfg.embed.model_dump(mode="json")
        self.measures = cfg.measures.model_dump(mode="json")

    def __enter__(self) -> DaskExecutor:
        out = resolve_out(self.cfg.out)
        given = os.environ.get("FRAMESCOPE_DASK_DIR")
        if given:
            Path(given).mkdir(parents=True, exist_ok=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(dir=given or out.parent, prefix=staging_prefix(out) + "dask-"))
        import distributed  # noqa: F401  (configures its loggers on import: set their level after)

        self.dlog = logging.getLogger("distributed")
        self.dlog_level = self.dlog.level
        self.dlog.setLevel(logging.WARNING if self.verbose else logging.ERROR)  # its INFO chatter is not ours
        return self

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.dlog.setLevel(self.dlog_level)
        if not os.environ.get("FRAMESCOPE_KEEP_PARTITIONS"):
            shutil.rmtree(self.work, ignore_errors=True)

    def _map(self, fn, *per_part, same=(), parts=None) -> list:
        """``fn(work, part, *per_part[i], *same)`` for every partition (or the given ``parts``),
        gathered in partition order; a lost scheduler is a one-line ``RunInterrupted``."""
        parts = self.parts if parts is None else parts
        args = [[str(self.work)] * len(parts), parts, *per_part, *([a] * len(parts) for a in same)]
        try:
            return self.client.gather(self.client.map(fn, *args, pure=False))
        except Exception as e:
            if self._scheduler_lost(e):
                raise RunInterrupted(lost_scheduler_message(self.address, resolve_out(self.cfg.out), e)) from None
            raise

    def _scheduler_lost(self, error: Exception) -> bool:
        """Whether a failed gather means the cluster is gone (not an error in a task)."""
        from concurrent.futures import CancelledError

        from distributed.comm.core import CommClosedError

        if isinstance(error, (CancelledError, CommClosedError)):
            return True
        return isinstance(error, (OSError, TimeoutError)) and self.client.status != "running"

    def segment(self, documents: pd.DataFrame, bounds: list[tuple[int, int]], reuse: bool = False) -> list[pd.Series]:
        self.client, self.cluster = _client(self.cfg)
        self.address = self.client.scheduler.address
        self.n_workers = max(1, len(self.client.scheduler_info()["workers"]))
        for i, (a, b) in enumerate(bounds):
            documents.iloc[a:b].to_parquet(self.work / f"documents-{i:05d}.parquet", index=False)
        self.documents, self.bounds, self.parts = documents, bounds, list(range(len(bounds)))
        done = self._map(segment, same=(reuse,))
        self.segmented = sum((n for _, n in done), Counter())
        return [body for body, _ in done]

    def embed(self, study: StudyRun) -> None:
        self._map(embed_partition, same=(self.embed_cfg,))

    def sample(self, doc_ids: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
        holders = [i for i, (a, b) in enumerate(self.bounds)
                   if self.documents["doc_id"].iloc[a:b].isin(doc_ids).any()]
        got = self._map(sample_rows, same=(doc_ids,), parts=holders)
        return pd.concat([s for s, _ in got], ignore_index=True), np.concatenate([v for _, v in got])

    def measure(self, study: StudyRun, model, sample: pd.DataFrame, sample_docs: list[str]) -> list[dict]:
        model.save(self.work / "model")  # the workers load it from its safetensors + JSON files
        by_part = [fitted_rows(model, sample, self.documents["doc_id"].iloc[a:b]) for a, b in self.bounds]
        given, computed = self.shared_records(reuses(study.cfg))
        done = self._map(assign_and_measure, by_part, given,
                         same=(str(self.work / "model"), sample_docs, self.embed_cfg, study.frames, self.measures,
                               reuses(study.cfg)))
        for _, n in done:
            computed.update(n)
        self.computed = dict(sorted((computed + self.segmented).items()))
        return [partials for partials, _ in done]

    def shared_records(self, reuse: bool) -> tuple[list[dict], Counter]:
        """The tone and speaker records each partition is given (``reuse.given``): those of its
        texts that other partitions also hold, each computed once, in the first partition that
        holds it (the local engine computes each distinct text of the corpus once; without this,
        the workers would compute a text once per partition that holds it: wire copy, boilerplate,
        a corpus read in twice). Speech-cue sentences are parsed first, then the sentences that
        the voices parse for their document's names, which depend on the first parse. Returns the
        records and how many texts this computed per kind."""
        computed: Counter = Counter()
        self.shared = Counter()

        def once(step, keys: dict[str, list[np.ndarray]], records: dict[str, dict]) -> list[dict]:
            """Each partition's shared texts computed by ``step`` in their first holder; the
            records each partition holds."""
            owned, held = {}, {}
            for kind, k in keys.items():
                owned[kind], held[kind] = shared_texts(k)
            for found, n in self._map(step, [{kind: owned[kind][q] for kind in owned} for q in self.parts],
                                      same=(reuse,)):
                for kind, r in found.items():
                    records.setdefault(kind, {}).update(r)
                computed.update(n)
            for kind, o in owned.items():  # each shared text has one owner
                self.shared[kind] += sum(len(x) for x in o)
            return [{kind: {d.hex(): records[kind][d.hex()] for d in held[kind][q].tolist()} for kind in held}
                    for q in self.parts]

        keys = self._map(text_keys)
        records: dict[str, dict] = {}
        first = once(score_shared, {kind: [k[kind] for k in keys] for kind in ("tone", "speakers")}, records)
        context = self._map(context_keys, [{"speakers": g["speakers"]} for g in first], same=(reuse,))
        for _, n in context:
            computed.update(n)
        then = once(score_context, {"speakers": [k["speakers"] for k, _ in context]}, {})
        given = [{"tone": a["tone"], "speakers": b["speakers"]} for a, b in zip(first, then)]
        return given, computed

    def candidates(self, study: StudyRun, centroids: dict, limit: int) -> list[dict]:
        return self._map(candidates, same=(len(self.parts), self.measures, centroids, limit))

    def texts(self, ids: list[str]) -> pd.Series:
        from framescope.measures.framing import stack

        found = stack(self._map(sentence_texts, same=(ids,)))
        return pd.Series(found["text"].to_numpy(dtype=object), index=found["sentence_id"].to_numpy())

    def sentence_parts(self) -> list:
        return [self.work / f"measured-{i:05d}.parquet" for i in self.parts]

    @property
    def info(self) -> dict:
        return {"scheduler": self.address, "workers": self.n_workers, "partitions": len(self.parts),
                "shared_texts": dict(self.shared), "computed": self.computed}
