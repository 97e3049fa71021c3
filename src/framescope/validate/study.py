"""Validate a study against its own labels: check them, score agreement, correct emphasis.

``validate_study(study, label_file)`` checks the labels against the study (one-line
``InputError`` and nothing written on any problem), then writes, each file atomically:
``labels.parquet`` (the labels, with who and when), ``emphasis_corrected.parquet`` (raw and
corrected shares, ``validate.correction.CORRECTED_COLUMNS``) and ``validation.json`` (agreement:
n, kappa, macro F1, per theme precision/recall/F1 with CIs, the confusion table).
``framescope validate STUDY --labels FILE`` runs it and prints :func:`format_validation`.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from framescope.artifacts import read_manifest, read_table, write_json, write_table
from framescope.errors import InputError
from framescope.themes.codebook import UNASSIGNED
from framescope.validate.correction import MIN_LABELS, agreement, corrected_emphasis, labelled_pairs
from framescope.validate.labels import checked_labels, read_label_file, store_labels

CORRECTED_TABLE = "emphasis_corrected"
REPORT_FILE = "validation.json"


def _plain(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def validate_study(study: str | Path, label_file: str | Path | None = None, n_boot: int | None = None) -> dict:
    """Check ``label_file``'s labels (or the study's stored ones), store them, and write the
    agreement and the corrected emphasis into the study. Returns the validation record."""
    study = Path(study)
    if not (study / "manifest.json").is_file():
        raise InputError(f"{study} is not a study folder (no manifest.json): run `framescope run` first")
    sentences, themes, emphasis = (read_table(study, n) for n in ("sentences", "themes", "emphasis"))
    if sentences.empty or "theme" not in sentences or emphasis.empty:
        raise InputError(f"{study} has no themed sentences or emphasis table: run `framescope run` first")
    from framescope.validate.labels import study_labels

    where = str(label_file) if label_file else f"{study}/labels.parquet"
    labels = read_label_file(label_file) if label_file else study_labels(study)
    labels = checked_labels(labels, sentences, themes, where)
    measures = (read_manifest(study).get("config") or {}).get("measures") or {}
    n_boot = n_boot or int(measures.get("n_boot", 1000))
    seed, unit = int(measures.get("seed", 42)), measures.get("resample_unit", "paragraph")
    pairs = labelled_pairs(labels, sentences)
    theme_keys = [t for t in themes["theme"].astype(str)]
    agree = agreement(pairs, theme_keys, n_boot=n_boot, seed=seed)
    corrected = corrected_emphasis(sentences, labels, emphasis, n_boot=n_boot, seed=seed, resample_unit=unit)
    record = {
        "labels": where, "n_labels": int(len(labels)), "n_matched": agree["n"], "kappa": _plain(agree["kappa"]),
        "macro_f1": _plain(agree["macro_f1"]), "min_labels_to_correct": MIN_LABELS,
        "per_theme": [{k: _plain(v) for k, v in r.items()} for r in agree["per_theme"].to_dict("records")],
        "confusion": {"labels": [str(x) for x in agree["confusion"].index],
                      "study": [str(x) for x in agree["confusion"].columns],
                      "counts": agree["confusion"].to_numpy().tolist()},
        "uncorrected_themes": sorted(set(corrected.loc[~corrected["corrected"], "theme"])),
    }
    store_labels(study, labels)
    write_table(corrected, study / f"{CORRECTED_TABLE}.parquet")
    write_json(record, study / REPORT_FILE)
    return record | {"corrected": corrected}


def read_validation(study: str | Path) -> dict:
    """The study's ``validation.json`` (empty when it has not been validated)."""
    p = Path(study) / REPORT_FILE
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def format_validation(record: dict) -> str:
    """A plain-text summary for the CLI."""
    def num(v, fmt=".2f"):
        return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:{fmt}}"

    lines = [f"labels: {record['n_labels']} ({record['labels']}); Cohen's kappa (study vs labels) "
             f"{num(record['kappa'])}; macro F1 {num(record['macro_f1'])}", "",
             f"{'theme':<28} {'labelled':>8} {'assigned':>8} {'precision':>17} {'recall':>17} {'F1':>17}"]
    for r in record["per_theme"]:
        if r["n_labelled"] == 0 and r["n_assigned"] == 0:
            continue

        def ci(k):
            return f"{num(r[k])} [{num(r[k + '_low'])}, {num(r[k + '_high'])}]"
        lines.append(f"{r['theme']:<28} {r['n_labelled']:>8} {r['n_assigned']:>8} {ci('precision'):>17} "
                     f"{ci('recall'):>17} {ci('f1'):>17}")
    corrected: pd.DataFrame = record["corrected"]
    lines += ["", "emphasis corrected for misclassification (95% bootstrap CI):"]
    for r in corrected[corrected["theme"] != UNASSIGNED].itertuples():
        if r.corrected:
            lines.append(f"  {r.source:<22} {r.theme:<26} raw {r.share:6.1%}  corrected {r.share_corrected:6.1%} "
                         f"[{r.ci_low:.1%}, {r.ci_high:.1%}]")
        else:
            lines.append(f"  {r.source:<22} {r.theme:<26} raw {r.share:6.1%}  {r.note}")
    return "\n".join(lines)
