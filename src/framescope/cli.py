"""The `framescope` command line: ingest, run, evaluate, report, app.

Exit codes: 0 success, 2 bad input or usage (one-line message, no traceback),
1 a run interrupted from outside (one line: a lost dask scheduler) or an internal error
(traceback only with --debug).
"""
from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Optional

import typer

from framescope.errors import InputError, RunInterrupted

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="framescope: how much does each source emphasise each theme, and how does it frame it?",
    pretty_exceptions_enable=False,
)
_state = {"debug": False, "quiet": False}
log = logging.getLogger("framescope")

# Options shared by `ingest` and `run` (typer needs them spelled out on each command).
TextCol = typer.Option(None, "--text-col", help="Text column of a CSV/TSV/JSONL/Parquet table [default: text].")
SourceCol = typer.Option(None, "--source-col", help="Source column of a table [default: source].")
DateCol = typer.Option(None, "--date-col", help="Date column of a table (optional).")
TitleCol = typer.Option(None, "--title-col", help="Title column of a table (optional).")
MaxMb = typer.Option(None, "--max-file-mb", help="Refuse input files larger than this many MB [default: 50].")
Workers = typer.Option(None, "--workers", min=1, help="Processes that split sentences, parse them for voices and score their tone [default: every available core].")
MetaCol = typer.Option(None, "--meta-col", help="A table column to keep as document metadata (repeat for several); "
                       "with it, or --no-meta, only the columns in use are read. Default: every other column is kept.")
NoMeta = typer.Option(False, "--no-meta", help="Keep no other table column as document metadata, and read only the "
                      "text, source, date, title, outlet, genre and attribution columns.")


@app.callback()
def _main(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for internal errors."),
) -> None:
    _state.update(debug=debug, quiet=quiet)
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )


def _ingest_overrides(text_col, source_col, date_col, title_col, max_file_mb, workers=None, meta_col=None,
                      no_meta=False) -> dict:
    if meta_col and no_meta:
        raise InputError("--meta-col and --no-meta contradict each other: give one")
    given = dict(text_col=text_col, source_col=source_col, date_col=date_col,
                 title_col=title_col, max_file_mb=max_file_mb, workers=workers,
                 meta_cols=[] if no_meta else (list(meta_col) if meta_col else None))
    return {k: v for k, v in given.items() if v is not None}


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Text files, folders of .txt/.md, or CSV/TSV/JSONL/Parquet tables."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write documents.parquet and sentences.parquet into."),
    text_col: Optional[str] = TextCol,
    source_col: Optional[str] = SourceCol,
    date_col: Optional[str] = DateCol,
    title_col: Optional[str] = TitleCol,
    max_file_mb: Optional[float] = MaxMb,
    workers: Optional[int] = Workers,
    meta_col: Optional[list[str]] = MetaCol,
    no_meta: bool = NoMeta,
) -> None:
    """Read a corpus, split it into documents and sentences, write two tables."""
    from framescope.artifacts import check_out, staging_dir, write_table
    from framescope.config import IngestConfig
    from framescope.ingest.corpus import load_documents
    from framescope.ingest.language import warn_non_english
    from framescope.ingest.segment import sentence_table

    cfg = IngestConfig(**_ingest_overrides(text_col, source_col, date_col, title_col, max_file_mb, workers,
                                           meta_col, no_meta))
    check_out(out)
    docs = load_documents([str(p) for p in paths], cfg)
    warn_non_english(docs)
    sents = sentence_table(docs, cfg.workers)
    with staging_dir(out) as tmp:
        write_table(docs, tmp / "documents.parquet")
        write_table(sents, tmp / "sentences.parquet")
    n_body = int(sents["is_body"].sum()) if len(sents) else 0
    log.info("%d documents, %d sentences (%d body) from %d sources -> %s",
             len(docs), len(sents), n_body, docs["source"].nunique(), out)


@app.command()
def run(
    paths: Optional[list[Path]] = typer.Argument(None, help="Corpus inputs (as for ingest). None: the seed study."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Study folder to write."),
    codebook: Optional[Path] = typer.Option(None, "--codebook", help="Codebook YAML of named themes."),
    config: Optional[Path] = typer.Option(None, "--config", help="Run config YAML (a manifest.json works too)."),
    embedder: Optional[str] = typer.Option(None, "--embedder", help="minilm | wordllama | tfidf | a sentence-transformers name or path."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed for the theme model and bootstrap."),
    engine: Optional[str] = typer.Option(None, "--engine", help="local (default) or dask."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="Your labels (CSV of sentence_id,label[,labeller,"
                                          "labelled_at], as for `validate`): checked against the new run's sentences "
                                          "and written into the study with the agreement and corrected shares."),
    text_col: Optional[str] = TextCol,
    source_col: Optional[str] = SourceCol,
    date_col: Optional[str] = DateCol,
    title_col: Optional[str] = TitleCol,
    max_file_mb: Optional[float] = MaxMb,
    workers: Optional[int] = Workers,
    meta_col: Optional[list[str]] = MetaCol,
    no_meta: bool = NoMeta,
    no_reuse: bool = typer.Option(False, "--no-reuse", help="Fit the themes, parse and score every sentence again "
                                  "instead of taking an earlier run's results from the cache folder."),
) -> None:
    """Run the whole study: ingest, themes, emphasis and framing, into one artifact folder."""
    from framescope.config import load_config, seed_config
    from framescope.engines.pipeline import run as run_pipeline

    cfg = load_config(config) if config else (seed_config() if not paths else None)
    if cfg is None:
        from framescope.config import RunConfig
        cfg = RunConfig()
    data = cfg.model_dump()
    if paths:
        data["inputs"] = [str(p) for p in paths]
        if not config:
            data["themes"]["codebook"] = None
    if out:
        data["out"] = str(out)
    elif paths and not config:
        raise InputError("--out DIR is required when PATHs are given")
    if codebook:
        data["themes"]["codebook"] = str(codebook)
    if embedder:
        data["embed"]["model"] = embedder
    if seed is not None:
        data["themes"]["seed"] = seed
        data["measures"]["seed"] = seed
    if engine:
        data["engine"] = engine
    if scheduler:
        data["scheduler"] = scheduler
    if no_reuse:
        data["reuse"] = False
    data["ingest"].update(_ingest_overrides(text_col, source_col, date_col, title_col, max_file_mb, workers,
                                            meta_col, no_meta))
    from framescope.config import RunConfig, validated
    cfg = validated(RunConfig, data, "run options")
    if labels:
        from framescope.engines.study import StudyRun

        study = run_pipeline(StudyRun.from_config(cfg, progress=not _state["quiet"], labels_path=labels))
    else:
        study = run_pipeline(cfg, progress=not _state["quiet"])
    log.info("study written to %s", study)
    if labels:
        from framescope.validate.study import read_validation, summary_line

        typer.echo(summary_line(read_validation(study)))


@app.command()
def evaluate(
    study: Path = typer.Argument(..., help="A study folder written by `framescope run`."),
    labels: Path = typer.Option(..., "--labels", help="CSV of sentence labels (see README)."),
) -> None:
    """Precision, recall and F1 per theme against hand labels, plus ARI and the unassigned share."""
    from framescope.validate.evaluate import evaluate_study, format_report

    result = evaluate_study(study, labels)
    typer.echo(format_report(result))


@app.command()
def validate(
    study: Path = typer.Argument(..., help="A study folder written by `framescope run`."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="CSV of sentence_id,label[,labeller,labelled_at]; "
                                          "labels are theme keys or 'none' [default: the study's labels.parquet]."),
    n_boot: Optional[int] = typer.Option(None, "--n-boot", min=100, help="Bootstrap draws [default: the run's n_boot]."),
) -> None:
    """Agreement with your labels, and emphasis corrected for misclassification (written into STUDY)."""
    from framescope.validate.study import format_validation, validate_study

    typer.echo(format_validation(validate_study(study, labels, n_boot)))


@app.command()
def report(study: Path = typer.Argument(..., help="A study folder written by `framescope run`.")) -> None:
    """Write STUDY/report.html (self-contained, offline) and STUDY/report.md."""
    from framescope.report.build import write_report

    paths = write_report(study)
    for p in paths:
        log.info("wrote %s", p)


@app.command("app")
def app_cmd(
    study: Optional[Path] = typer.Argument(None, help="Study folder to open [default: the packaged seed study]."),
    port: int = typer.Option(8501, "--port", min=1, max=65535),
    address: str = typer.Option("127.0.0.1", "--address",
                                help="Interface to serve on; 0.0.0.0 exposes the app to the network."),
) -> None:
    """Open the Streamlit app; prints one line when it is ready, stops on Ctrl+C or SIGTERM."""
    from framescope.app.server import serve

    if study and not (study / "manifest.json").is_file():
        raise InputError(f"{study} is not a study folder (no manifest.json): run `framescope run` first")
    raise typer.Exit(serve(study.resolve() if study else None, port=port, address=address,
                           say=lambda line: typer.echo(line, err=True)))


def main() -> None:
    try:
        app(standalone_mode=False)
    except InputError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)
    except RunInterrupted as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(1)
    except (typer.Exit, SystemExit) as e:
        code = getattr(e, "exit_code", getattr(e, "code", 0))
        sys.exit(code or 0)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as e:
        if hasattr(e, "show") and hasattr(e, "exit_code"):  # click/typer usage errors: exit 2
            e.show()
            sys.exit(e.exit_code)
        if _state["debug"]:
            traceback.print_exc()
        typer.echo(f"internal error: {type(e).__name__}: {e} (re-run with --debug for a traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
