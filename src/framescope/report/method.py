"""The report's closing sections: method notes (models, parameters, references, limits, validation)
and the manifest summary (what exactly ran, on what, with which versions, and how long it took)."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from framescope.report.render import Heading, Section, Table, Text
from framescope.validate.study import before_name, differ_sentence, in_sample_lines, recalibrated_name

REFERENCES = (
    "Grootendorst, M. (2022). BERTopic: Neural topic modeling with a class-based TF-IDF procedure. arXiv:2203.05794.",
    "Reimers, N. & Gurevych, I. (2019). Sentence-BERT: Sentence embeddings using Siamese BERT-networks. EMNLP-IJCNLP.",
    "McInnes, L., Healy, J. & Melville, J. (2018). UMAP: Uniform manifold approximation and projection for dimension reduction. arXiv:1802.03426.",
    "Campello, R., Moulavi, D. & Sander, J. (2013). Density-based clustering based on hierarchical density estimates. PAKDD.",
    "Roberts, M. E., Stewart, B. M. & Tingley, D. (2019). stm: An R package for structural topic models. Journal of Statistical Software 91(2).",
    "Monroe, B. L., Colaresi, M. P. & Quinn, K. M. (2008). Fightin' words: Lexical feature selection and evaluation for identifying the content of political conflict. Political Analysis 16(4), 372–403.",
    "Boydstun, A. E., Card, D., Gross, J. H., Resnik, P. & Smith, N. A. (2014). Tracking the development of media frames within and across policy issues. APSA Annual Meeting.",
    "Card, D., Boydstun, A. E., Gross, J. H., Resnik, P. & Smith, N. A. (2015). The Media Frames Corpus: Annotations of frames across issues. ACL-IJCNLP (short papers), 438–444.",
    "Hutto, C. J. & Gilbert, E. (2014). VADER: A parsimonious rule-based model for sentiment analysis of social media text. ICWSM.",
    "Efron, B. & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall.",
    "Cameron, A. C., Gelbach, J. B. & Miller, D. L. (2008). Bootstrap-based improvements for inference with clustered errors. Review of Economics and Statistics 90(3), 414–427.",
    "Haberman, S. J. (1973). The analysis of residuals in cross-classified tables. Biometrics 29(1), 205–220.",
)


def bertopic_table(model: dict) -> pd.DataFrame:
    """What BERTopic ran, from the study's ``model/theme_model.json`` (``themes.io.model_description``)."""
    rows = []
    for step, parts in (("discovery", model.get("discovery")), ("study model", model.get("study_model"))):
        for name, value in (parts or {}).items():
            if name == "bertopic_version":
                continue
            rows.append({"fit": step, "component": name,
                         "what ran": " + ".join(value) if isinstance(value, list) else str(value)})
    return pd.DataFrame(rows, columns=["fit", "component", "what ran"])


def method_section(manifest: dict, t: dict, validation: list, model: dict | None = None) -> Section:
    cfg = manifest.get("config", {})
    emb = manifest.get("embedding", {})
    th, me, ebd = cfg.get("themes", {}), cfg.get("measures", {}), cfg.get("embed", {})
    docs_per_source = t["documents"].groupby("source").size() if "source" in t["documents"] else pd.Series(dtype=int)
    blocks = [
        Heading("Models and parameters", 3),
        Text(f"Sentences are embedded with {emb.get('model', '?')} (weights sha256 "
             f"{str(emb.get('weights_sha256', '?'))[:16]}…), each mixed with its neighbours in the paragraph "
             f"(window {ebd.get('context_window', '?')}, weight {ebd.get('context_weight', '?')}). Themes: the "
             "codebook's named themes are matched by similarity to their descriptions and seed phrases; the "
             "remaining sentences are clustered by BERTopic with framescope's UMAP and HDBSCAN steps (below). "
             "Emphasis is a source's share of body sentences per theme, with a cluster bootstrap CI and a test "
             "of independence of source and theme. Framing: Fightin' Words log-odds for terms, VADER for tone, "
             "embedding similarity plus lexical cues for the 15 Policy Frames Codebook dimensions, and for "
             "voices spaCy's dependency parse and named entities (people and organisations that are the "
             "subject of a speech verb, the speaker of a quotation, or \"according to\"), merged over "
             "the study."),
        Table(_parameters(th, me), "Run parameters (the full resolved config is in manifest.json)."),
    ]
    model = model or {}
    study_model = model.get("study_model") or {}
    if study_model:
        version = study_model.get("bertopic_version", "?")
        blocks += [
            Heading("BERTopic", 3),
            Text(f"BERTopic {version} ran twice. Discovery: BERTopic.fit_transform on the body sentences no named "
                 "theme claims, with their in-context vectors as precomputed embeddings and framescope's reducer "
                 "and clusterer as its UMAP and HDBSCAN steps. The study's model: BERTopic in manual mode over "
                 "every body sentence, the final themes (named, discovered, edited) given as y, which computes "
                 "each theme's c-TF-IDF keywords, its KeyBERTInspired + MMR representation and its topic "
                 "embedding. It is saved in model/bertopic/ and opens with BERTopic.load."),
            Table(bertopic_table(model), f"BERTopic {version}: the components that ran.", wrap=("what ran",)),
        ]
    if validation:
        blocks += [Heading("Validation against hand labels", 3)] + validation
    blocks += frame_validation_blocks(manifest)
    blocks += [Heading("Limits of these measures", 3)] + [Text(x, lead=lead) for lead, x in _limits(me, docs_per_source)]
    blocks += [Heading("References", 3)] + [Text(r) for r in REFERENCES]
    return Section("5. Method notes", "method", blocks)


def _parameters(th: dict, me: dict) -> pd.DataFrame:
    items = [("theme model seed", th.get("seed")), ("codebook", th.get("codebook") or "none (discovery only)"),
             ("named-theme assignment", _assignment(th)),
             ("seed-phrase evidence", f"weight {th.get('phrase_weight')}, best "
              f"{'clause' if th.get('clause_evidence', True) else 'whole-sentence'} similarity"),
             ("HDBSCAN min_cluster_size", th.get("min_cluster_size") or "adaptive"),
             ("UMAP n_neighbors / n_components", f"{th.get('n_neighbors') or 'adaptive'} / {th.get('n_components')}"),
             ("outliers reduced", th.get("reduce_outliers")), ("bootstrap resamples", me.get("n_boot")),
             ("bootstrap unit", me.get("resample_unit")), ("bootstrap seed", me.get("seed")),
             ("confidence level", me.get("ci_level")), ("small cell below (sentences)", me.get("min_cell")),
             ("terms / exemplars / contrasts per cell", f"{me.get('n_terms')} / {me.get('n_exemplars')} / {me.get('n_contrasts')}"),
             ("frames file", me.get("frames") or "bundled Policy Frames Codebook")]
    return pd.DataFrame([{"parameter": k, "value": "—" if v is None else str(v)} for k, v in items])


def _assignment(th: dict) -> str:
    if th.get("assignment", "corpus") == "threshold":
        return f"fixed threshold {th.get('similarity_threshold') or 'calibrated default (seed)'}"
    return (f"calibrated to this corpus: {th.get('seed_share')} of sentences as sure examples, {th.get('none_share')} "
            f"as non-examples, logistic regression C={th.get('classifier_c')}")


def _limits(me: dict, docs_per_source: pd.Series) -> list[tuple[str, str]]:
    out = [
        ("Tone.", "VADER was built for social-media text. On newswire and diplomatic prose most sentences score "
                  "near zero, formal negation and irony are missed, and topic words carry lexicon valence "
                  "('dispute', 'coercion'), so tone partly reflects the subject, not only the stance. Compare "
                  "sources within a theme rather than themes with each other."),
        ("Small cells.", f"Cells with fewer than {me.get('min_cell', 5)} sentences are flagged; their shares, "
                         "tone and terms rest on a handful of sentences and their intervals are wide."),
        ("Sentence-level themes.", "Each sentence gets exactly one theme. A sentence that touches two themes goes "
                                   "to the nearer one, and short sentences lean on their neighbours' context."),
        ("Frames.", "Frame scores are similarity to frame prototypes plus lexical cues, not a trained "
                    "classifier. Their agreement with two blind readers is moderate at best (see the frame "
                    "validation above), so read frame shares as comparisons between cells scored the same way, "
                    "with the sentences at hand, not as absolute prevalence."),
        ("Dependence.", "The chi-square test treats sentences as independent; they are not (they cluster in "
                        "paragraphs and documents). The bootstrap intervals respect this clustering, the "
                        "chi-square p-value overstates certainty."),
    ]
    if len(docs_per_source) and int(docs_per_source.min()) < 3:
        out.append(("Few documents.", "Some sources have fewer than three documents, so their emphasis is that of "
                                      "a few texts, and the intervals cover variation within them, not across "
                                      "the source's output."))
    return out


def frame_validation_blocks(manifest: dict) -> list:
    """The frame measure's packaged held-out validation, when it applies to the study's frames file
    and model (``measures.frames.frame_validation``); a note saying none applies otherwise."""
    from framescope.measures.frames import frame_validation, validation_summary

    v = frame_validation(manifest)
    blocks: list = [Heading("Frame validation", 3)]
    if not v:
        return blocks + [Text("This study's frames file or embedding model is not the one framescope validated "
                              "(docs/measures.md), so no agreement figure applies to its frame shares.", kind="note")]
    rows = pd.DataFrame([{"held-out set": r["held_out"], "Cohen's κ": f"{r['kappa']:.2f}",
                          "accuracy": f"{r['accuracy']:.0%}", "most common frame always": f"{r['majority_accuracy']:.0%}",
                          "'other' predicted": f"{r['other_predicted']:.0%}", "'other' by readers": f"{r['other_gold']:.0%}"}
                         for r in v["held_out"]])
    return blocks + [Text(validation_summary(v)),
                     Table(rows, "The frame scorer against two blind readers' agreed labels, each set scored with the "
                                 f"setting chosen on the other sets (`{v['command']}`).")]


def evaluation_blocks(evaluation: dict) -> list:
    """A validation summary from STUDY/evaluation.json (`research/04_evaluate.py`), when present."""
    if not evaluation:
        return []

    def num(d: dict, key: str, fmt: str = ".2f") -> str:
        v = d.get(key)
        return "n/a" if v is None else f"{float(v):{fmt}}"

    blocks: list = [Text(
        f"{evaluation.get('n_labels', '?')} hand-labelled body sentences ({evaluation.get('labels', 'labels file')}; "
        f"{evaluation.get('n_matched', '?')} matched to the study's sentences) against the theme each was "
        f"assigned: macro F1 {num(evaluation, 'macro_f1')}, lowest F1 {num(evaluation, 'min_f1')}, adjusted Rand "
        f"index {num(evaluation, 'ari')}; {num(evaluation, 'unassigned_share', '.1%')} of body sentences are "
        "unassigned.", lead="Themes.")]
    per_theme = evaluation.get("per_theme") or []
    if per_theme:
        names = {"n_labelled": "labelled", "n_assigned": "assigned", "true_positive": "agree", "f1": "F1"}

        def cell(v) -> str:
            return "—" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))

        blocks.append(Table(pd.DataFrame([{names.get(k, k): cell(v) for k, v in r.items()} for r in per_theme]),
                            "Theme assignment against hand labels, per theme."))
    fr = evaluation.get("frames") or {}
    if fr:
        blocks.append(Text(
            f"the scorer's top frame agrees with the hand-labelled primary frame of {fr.get('n', '?')} sentences "
            f"({fr.get('labels', 'frame labels')}) in {num(fr, 'accuracy')} of cases (always answering the most "
            f"common frame, {fr.get('majority_frame', '?')}, would give {num(fr, 'majority_baseline')}); "
            f"Cohen's κ {num(fr, 'kappa')}. One annotator, so no inter-annotator agreement to compare with.",
            lead="Frames:"))
    return blocks


def study_validation_blocks(record: dict, current: bool = True, labels: dict[str, str] | None = None) -> list:
    """The study's own validation (``validation.json``: ``framescope validate`` or ``run --labels``):
    labels, kappa, macro F1, per-theme F1 with CIs, the themes too few to correct, and the
    recalibration's cross-validated F1 before and after; nothing when the study has none."""
    if not record:
        return []

    def num(v, fmt: str = ".2f") -> str:
        return "n/a" if v is None else f"{float(v):{fmt}}"

    name = (labels or {}).get
    who = ", ".join(record.get("labellers") or []) or "unnamed"
    few = [name(t, t) for t in record.get("uncorrected_themes") or [] if t != "unassigned"]
    blocks: list = [Text(
        f"{record.get('n_labels', '?')} of the study's body sentences were labelled by hand (labeller: {who}; "
        f"labels.parquet). Against them the study's themes reach Cohen's κ {num(record.get('kappa'))} and macro F1 "
        f"{num(record.get('macro_f1'))} (the mean F1 of the labelled themes other than none). Themes with fewer than "
        f"{record.get('min_labels_to_correct', 5)} labels are not corrected in section 3"
        + (f": {'; '.join(few)}." if few else "; every theme had enough."), lead="The study's own labels.")]
    blocks += [Text(line.removeprefix("Note: "), kind="note") for line in in_sample_lines(record)]
    if not current:
        blocks.append(Text("labels.parquet has changed since validation.json was written: run "
                           "`framescope validate STUDY` to bring these figures up to date.", kind="note"))
    rows = [{"theme": name(r["theme"], r["theme"]), "labelled": str(r["n_labelled"]), "assigned": str(r["n_assigned"]),
             "precision": _with_ci(r, "precision"), "recall": _with_ci(r, "recall"), "F1": _with_ci(r, "f1")}
            for r in record.get("per_theme") or [] if r["n_labelled"] or r["n_assigned"]]
    if rows:
        blocks.append(Table(pd.DataFrame(rows), "The study's themes against its hand labels, per theme, with 95% "
                                                "bootstrap CIs over the labelled sentences."))
    differ = record.get("by_source")
    if differ:
        per = "; ".join(f"{name(r['source'], r['source'])} {num(r['accuracy'])} [{num(r['accuracy_low'])}, "
                        f"{num(r['accuracy_high'])}] ({r['n_labels']} labels)" for r in differ["sources"])
        blocks.append(Text(f"Share of labelled sentences the study got right, per source (95% Wilson CI): {per}. "
                           + differ_sentence(differ), lead="Errors by source.",
                           kind="note" if differ["p_value"] < 0.05 else "p"))
    rec = record.get("recalibration") or {}
    if "message" in rec:
        blocks.append(Text(f"Recalibration: {rec['message']}.", kind="muted"))
    elif rec:
        applied = rec.get("applied_by")
        what = (f"Recalibrated by {rec.get('classifier')}, the named themes reach" if applied else
                f"A {rec.get('classifier', 'classifier')} trained on these labels alone reaches")
        blocks.append(Text(
            f"{what} macro F1 {num(rec.get('macro_f1_after'))} by {rec.get('folds')}-fold stratified "
            f"cross-validation, against {num(rec.get('macro_f1_before'))} for "
            f"{before_name(rec)} on the same {rec.get('n')} sentences (difference "
            f"{num(rec.get('difference'), '+.2f')}, 95% paired bootstrap CI [{num(rec.get('difference_low'), '+.2f')}, "
            f"{num(rec.get('difference_high'), '+.2f')}]). The study's themes are not changed by it"
            + (f"; `{applied}` applies it." if applied else "; no command applies it."), lead="Recalibration."))
        blocks.append(Table(pd.DataFrame([{"theme": name(r["theme"], r["theme"]), "labelled": str(r["n_labelled"]),
                                           "F1 before": num(r["f1_before"]), "F1 after": num(r["f1_after"])}
                                          for r in rec.get("per_theme") or []]),
                            f"Per-theme F1 of {before_name(rec)} (before) and {recalibrated_name(rec)}, "
                            "cross-validated (after)."))
    return blocks


def _with_ci(r: dict, name: str) -> str:
    v, lo, hi = r.get(name), r.get(f"{name}_low"), r.get(f"{name}_high")
    if v is None:
        return "—"
    return f"{v:.2f}" + (f" [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else "")


def manifest_section(manifest: dict) -> Section:
    if not manifest:
        return Section("6. Manifest summary", "manifest", [Text("This study has no manifest.json.", kind="note")])
    emb, seeds = manifest.get("embedding", {}), manifest.get("seeds", {})
    cfg = manifest.get("config", {})
    blocks = [
        Text(f"Run started {manifest.get('started_at', '?')}. Embedding model {emb.get('model', '?')}, weights "
             f"sha256 {emb.get('weights_sha256', '?')}. Seeds: "
             + ", ".join(f"{k} {v}" for k, v in seeds.items()) + f". Inputs: {', '.join(_input_names(cfg.get('inputs', [])))}; "
             f"codebook sha256 {manifest.get('codebook_sha256') or '—'}."),
        Text("Re-run it with `framescope run --config manifest.json --out NEW_DIR`; the tables come out identical.",
             kind="muted"),
    ]
    inputs = manifest.get("inputs", {})
    if inputs:
        blocks.append(Table(pd.DataFrame([{"input file": f, "sha256": h} for f, h in _short_paths(inputs).items()]),
                            "Input files and their sha256.", wrap=("sha256",)))
    versions = manifest.get("versions", {})
    timings = manifest.get("timings", {})
    if versions:
        blocks.append(Text(", ".join(f"{k} {v}" for k, v in versions.items()) + ".", lead="Versions:"))
    if timings:
        rows = [{"stage": k, "seconds": f"{float(v):.1f}"} for k, v in timings.items()]
        rows.append({"stage": "total", "seconds": f"{sum(float(v) for v in timings.values()):.1f}"})
        blocks.append(Table(pd.DataFrame(rows), "Time per stage."))
    for note in manifest.get("notes", []) or []:
        blocks.append(Text(str(note), kind="note"))
    return Section("6. Manifest summary", "manifest", blocks)


def _input_names(inputs: list) -> list[str]:
    """The run's inputs as given, but an absolute path by its name only: a report never shows a
    server's layout (a study run from the app has its inputs in a temporary folder)."""
    return [Path(str(p)).name if Path(str(p)).is_absolute() else str(p) for p in inputs]


def _short_paths(inputs: dict[str, str]) -> dict[str, str]:
    """Input paths relative to their common folder, so a report never shows a server's layout."""
    paths = list(inputs)
    try:
        root = os.path.commonpath([str(Path(p).parent) for p in paths])
    except ValueError:
        return {Path(p).name: h for p, h in inputs.items()}
    base = Path(root).name
    return {str(Path(base) / Path(p).relative_to(root)) if root else p: h for p, h in inputs.items()}
