"""Validate a study against its own labels: check them, score agreement, correct emphasis.

``validate_study(study, label_file)`` checks the labels against the study (one-line
``InputError`` and nothing written on any problem), then writes, each file atomically:
``labels.parquet`` (the labels, with who and when, merged over the labels stored before),
``emphasis_corrected.parquet`` (raw and corrected shares, ``validate.correction.CORRECTED_COLUMNS``)
and ``validation.json`` (agreement: n, kappa, macro F1, per theme precision/recall/F1 with CIs, the
confusion table; the digest of the labels it was computed from; the recalibration figures,
``validate.recalibrate``). ``framescope run --labels FILE`` calls :func:`apply_labels` on the run's
staging folder, so a run writes the same three files atomically with the rest of the study.
``framescope validate STUDY --labels FILE`` runs it and prints :func:`format_validation`.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from framescope.artifacts import read_manifest, read_table, write_json, write_table
from framescope.errors import InputError
from framescope.themes.codebook import UNASSIGNED
from framescope.validate.correction import (MIN_LABELS, agreement, corrected_emphasis, errors_by_source,
                                            labelled_pairs)
from framescope.validate.labels import (
    LABEL_COLUMNS, LABELS_TABLE, checked_labels, labels_digest, merged_labels, read_label_file, study_labels,
)
from framescope.validate.recalibrate import TooFewLabels, study_recalibration

CORRECTED_TABLE = "emphasis_corrected"
REPORT_FILE = "validation.json"


def _plain(v):
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    return None if isinstance(v, float) and math.isnan(v) else v


def validate_study(study: str | Path, label_file: str | Path | None = None, n_boot: int | None = None,
                   embedder=None, recalibrate: bool = True) -> dict:
    """Check ``label_file``'s labels (or, without one, the study's stored labels), store them with
    the stored ones, and write the agreement, the recalibration figures and the corrected emphasis
    into the study (:func:`apply_labels`). Returns the validation record."""
    study = Path(study)
    if not (study / "manifest.json").is_file():
        raise InputError(f"{study} is not a study folder (no manifest.json): run `framescope run` first")
    labels = read_label_file(label_file) if label_file else None
    return apply_labels(study, labels, str(label_file) if label_file else None, previous=study, n_boot=n_boot,
                        embedder=embedder, recalibrate=recalibrate)


def apply_labels(study: str | Path, labels: pd.DataFrame | None, where: str | None, previous: str | Path | None = None,
                 n_boot: int | None = None, embedder=None, recalibrate: bool = True) -> dict:
    """Validate the study in folder ``study`` (its tables and manifest.json already written) against
    ``labels`` (from ``where``) merged over the labels stored in ``previous`` (a study folder, or
    None): labels for the same sentence replace the stored ones. Every label is checked against the
    study first (a one-line InputError naming the file at fault, and nothing written); then
    ``labels.parquet``, ``emphasis_corrected.parquet`` and ``validation.json`` are written, each
    atomically. ``recalibrate``: also cross-validate what the labels would change
    (``validate.recalibrate``: the corpus rule with the labels, as ``run --labels`` applies them, or
    for a study without named themes a classifier on the labels alone; the study's embedder, or
    ``embedder``), recorded under
    ``recalibration`` (a ``message`` instead when the labels are too few)."""
    study = Path(study)
    sentences, themes, emphasis = (read_table(study, n) for n in ("sentences", "themes", "emphasis"))
    if sentences.empty or "theme" not in sentences or emphasis.empty:
        raise InputError(f"{study} has no themed sentences or emphasis table: run `framescope run` first")
    stored_at = Path(previous) / f"{LABELS_TABLE}.parquet" if previous is not None else None
    stored = study_labels(previous) if stored_at is not None and stored_at.is_file() else pd.DataFrame(columns=LABEL_COLUMNS)
    if labels is not None:
        checked_labels(labels, sentences, themes, where or "labels")
        kept = stored[~stored["sentence_id"].isin(set(labels["sentence_id"]))]
        if len(kept):
            checked_labels(kept, sentences, themes, f"{stored_at} (labels stored earlier, kept with the new ones)")
        labels = merged_labels(stored, labels)
    else:
        labels = checked_labels(stored, sentences, themes, str(stored_at or f"{study}/{LABELS_TABLE}.parquet"))
    manifest = read_manifest(study)
    measures = (manifest.get("config") or {}).get("measures") or {}
    n_boot = n_boot or int(measures.get("n_boot", 1000))
    seed, unit = int(measures.get("seed", 42)), measures.get("resample_unit", "paragraph")
    used = assignment_labels(study)
    named = set(themes.loc[themes["named"].fillna(False).astype(bool), "theme"].astype(str)) if "named" in themes else set()
    pairs, left_out = honest_pairs(labelled_pairs(labels, sentences), used, named)
    theme_keys = [t for t in themes["theme"].astype(str)]
    agree = agreement(pairs, theme_keys, n_boot=n_boot, seed=seed)
    corrected = corrected_emphasis(sentences, labels, emphasis, n_boot=n_boot, seed=seed, resample_unit=unit,
                                   pairs=pairs)
    record = {
        "labels": where or str(stored_at), "n_labels": int(len(labels)), "n_matched": agree["n"],
        "labels_sha256": labels_digest(labels),
        "labellers": sorted(str(x) for x in labels["labeller"].dropna().unique()),
        "kappa": _plain(agree["kappa"]),
        "macro_f1": _plain(agree["macro_f1"]), "min_labels_to_correct": MIN_LABELS,
        "per_theme": [{k: _plain(v) for k, v in r.items()} for r in agree["per_theme"].to_dict("records")],
        "confusion": {"labels": [str(x) for x in agree["confusion"].index],
                      "study": [str(x) for x in agree["confusion"].columns],
                      "counts": agree["confusion"].to_numpy().tolist()},
        "uncorrected_themes": sorted(set(corrected.loc[~corrected["corrected"], "theme"])),
        "by_source": _plain_by_source(errors_by_source(pairs, n_perm=n_boot, seed=seed)),
    }
    if used:  # the study's themes were learnt from labels (run --labels)
        record["assignment_used_labels"] = {k: v for k, v in used.items() if k not in ("used", "out_of_fold")}
        record["out_of_fold"] = left_out
    if recalibrate:
        record["recalibration"] = recalibration_record(sentences, pairs, manifest, embedder, n_boot, seed, study)
    write_table(labels, study / f"{LABELS_TABLE}.parquet")
    write_table(corrected, study / f"{CORRECTED_TABLE}.parquet")
    write_json(record, study / REPORT_FILE)
    return record | {"corrected": corrected}


def recalibration_record(sentences: pd.DataFrame, pairs: pd.DataFrame, manifest: dict, embedder=None,
                         n_boot: int = 1000, seed: int = 42, study: str | Path | None = None) -> dict:
    """``recalibrate.study_recalibration`` as plain JSON values (``message`` when too few labels)."""
    try:
        r = study_recalibration(sentences, pairs, manifest, embedder=embedder, n_boot=n_boot, seed=seed,
                                study=study)
    except TooFewLabels as e:
        return {"message": str(e)}
    out = {k: (_plain(v) if not isinstance(v, list) else [_plain(x) for x in v]) for k, v in r.items() if k != "per_theme"}
    out["per_theme"] = [{k: _plain(v) for k, v in row.items()} for row in r["per_theme"].to_dict("records")]
    return out


def _plain_by_source(r: dict | None) -> dict | None:
    if r is None:
        return None
    return {**{k: _plain(v) for k, v in r.items() if k != "sources"},
            "sources": [{k: _plain(v) for k, v in row.items()} for row in r["sources"]]}


def by_source_lines(record: dict) -> list[str]:
    """Whether the study errs the same way in every source (``errors_by_source``), as plain-text
    lines: each source's share right, and the test; none with fewer than two labelled sources."""
    r = record.get("by_source")
    if not r:
        return []

    def num(v):
        return "n/a" if v is None else f"{v:.2f}"
    lines = ["", "errors by source (the correction assumes one error pattern for every source):"]
    for row in r["sources"]:
        lines.append(f"  {row['source']:<28} {row['n_labels']:>4} labels  right {num(row['accuracy'])} "
                     f"[{num(row['accuracy_low'])}, {num(row['accuracy_high'])}]  kappa {num(row['kappa'])}")
    lines.append(f"  {differ_sentence(r)}")
    return lines


def differ_sentence(r: dict) -> str:
    """One sentence on the test of ``errors_by_source`` and what it means for the correction."""
    p = r["p_value"]
    if p < 0.05:
        return (f"The study errs differently in different sources (p = {p:.3g}, permutation test within each labelled "
                "theme), so the corrected shares, which use one error pattern for all sources, are approximate for "
                "each source: read their intervals as a guide, and label more sentences of the sources you compare.")
    return (f"No evidence that the study errs differently in different sources (p = {p:.3g}, permutation test within "
            "each labelled theme); with few labels a source's difference may go unseen.")


def read_validation(study: str | Path) -> dict:
    """The study's ``validation.json`` (empty when it has not been validated)."""
    p = Path(study) / REPORT_FILE
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def assignment_labels(study: str | Path) -> dict | None:
    """What the study's theme model learnt from the researcher's labels (``run --labels``): the
    number used and their cross-validated effect (``themes.assignment.label_cross_validation``),
    or None."""
    path = Path(study) / "model" / "theme_model.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("recalibration")
    except (OSError, ValueError):
        return None


def honest_pairs(pairs: pd.DataFrame, used: dict | None, named: set[str]) -> tuple[pd.DataFrame, dict | None]:
    """The labelled pairs with, for each label the study's theme model learnt from (``run
    --labels``), the theme the rule gives that sentence without its own label (the run's
    cross-validated ``out_of_fold`` prediction) in place of the study's theme, which is the label
    itself. A learnt-from label with no such prediction (too few labels to cross-validate) is
    left out. Also returns how many were replaced and left out (None for a study whose model
    did not learn from labels, or was written before this record, whose pairs are returned as
    they are)."""
    if not used or "used" not in used:
        return pairs, None
    oof = used.get("out_of_fold") or {}
    ids = pairs["sentence_id"].astype(str)
    learnt = ids.isin(set(used["used"])).to_numpy()
    has = ids.isin(set(oof)).to_numpy()
    study_theme = pairs["predicted"].astype(str).to_numpy()
    without = [oof[i] if oof[i] is not None else (t if t not in named else UNASSIGNED)
               for i, t in zip(ids[learnt & has], study_theme[learnt & has])]
    predicted = study_theme.astype(object)
    predicted[learnt & has] = without
    keep = ~learnt | has
    counts = {"n_replaced": int((learnt & has).sum()), "n_left_out": int((learnt & ~has).sum())}
    return pairs.assign(predicted=predicted)[keep].reset_index(drop=True), counts


def in_sample_lines(record: dict) -> list[str]:
    """What the agreement means when the assignment learnt from the labels (``run --labels``)."""
    used = record.get("assignment_used_labels")
    if not used:
        return []
    cv = used.get("cross_validation") or {}
    honest = (f" Cross-validated macro F1 over the labelled themes: {cv['macro_f1_before']:.2f} without the labels, "
              f"{cv['macro_f1_after']:.2f} with them ({cv['folds']} folds)." if cv else
              " Too few labels to cross-validate their effect.")
    oof = record.get("out_of_fold")
    if oof is None:  # a study written before out-of-fold predictions were kept
        return [f"Note: the study's named themes were learnt from {used['n_labels_used']} of these labels (run --labels), "
                f"so the agreement above is in-sample.{honest}"]
    left = (f" {oof['n_left_out']} of them, with too few labels to cross-validate, are left out of the agreement and "
            "of the correction's error rates (they still count as known sentences)." if oof["n_left_out"] else "")
    return [f"Note: the study's named themes were learnt from {used['n_labels_used']} of these labels (run --labels), "
            "and those sentences keep the theme they were given. For them, the agreement above and the correction's "
            f"error rates use the theme the rule gives each without its own label (cross-validated), not the label "
            f"itself.{left}{honest}"]


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
    return "\n".join(lines + by_source_lines(record) + [""] * bool(in_sample_lines(record)) + in_sample_lines(record)
                     + recalibration_lines(record.get("recalibration")))


def summary_line(record: dict) -> str:
    """One line: the labels, kappa, macro F1 and the recalibration's cross-validated macro F1."""
    def num(v):
        return "n/a" if v is None else f"{v:.2f}"
    rec = record.get("recalibration") or {}
    recal = (f"; recalibration: {rec['message']}" if "message" in rec else
             f"; cross-validated macro F1 {recalibrated_name(rec)} {num(rec.get('macro_f1_after'))} "
             f"({num(rec.get('macro_f1_before'))} without)" if rec else "")
    return (f"validation: {record.get('n_labels', 0)} labels, Cohen's kappa {num(record.get('kappa'))}, macro F1 "
            f"{num(record.get('macro_f1'))}{recal}; see {REPORT_FILE} and {CORRECTED_TABLE}.parquet")


def recalibrated_name(rec: dict) -> str:
    """What the recalibration's "after" is, in a few words."""
    return "with your labels" if rec.get("applied_by") else "of a classifier on the labels"


def before_name(rec: dict) -> str:
    """What the recalibration's "before" is, in a few words."""
    return "the corpus rule without labels" if rec.get("applied_by") else "the study's themes"


def recalibration_lines(rec: dict | None) -> list[str]:
    """The recalibration figures of a validation record, as plain-text lines (none if absent)."""
    if not rec:
        return []
    if "message" in rec:
        return ["", f"recalibration: {rec['message']}"]

    def num(v):
        return "n/a" if v is None else f"{v:.2f}"
    applied = rec.get("applied_by")
    lines = ["", f"recalibration: {rec['classifier']}, {rec['folds']}-fold stratified cross-validation over "
                 f"{rec['n']} labels" + (f"; `{applied}` applies it" if applied else "; no command applies it"),
             f"  macro F1 before ({before_name(rec)}) {num(rec['macro_f1_before'])}, after "
             f"({recalibrated_name(rec)}, cross-validated) {num(rec['macro_f1_after'])}; difference "
                 f"{rec['difference']:+.2f} [{num(rec['difference_low'])}, {num(rec['difference_high'])}] "
                 "(95% paired bootstrap)"]
    for r in rec["per_theme"]:
        lines.append(f"  {r['theme']:<28} {r['n_labelled']:>4} labels  F1 before {num(r['f1_before'])}  "
                     f"after {num(r['f1_after'])}")
    return lines
