"""Validate: label a sample of the study's sentences, see how far the study agrees with you, and
whether your labels would improve the themes."""
import pandas as pd
import streamlit as st

from framescope.app import labelling
from framescope.app.display import escape_markdown
from framescope.app.study import editable_copy, require_study
from framescope.errors import InputError
from framescope.themes.codebook import UNASSIGNED
from framescope.validate.correction import MIN_LABELS
from framescope.validate.labels import NONE, labelling_order, labels_digest, sentence_context, study_labels
from framescope.validate.recalibrate import MIN_LABELS as MIN_RECALIBRATION_LABELS
from framescope.validate.study import (before_name, differ_sentence, in_sample_lines, read_validation,
                                       recalibrated_name, validate_study)

MAX_SHORTCUTS = 9  # themes 1-9 get a number key, none gets 0
study = require_study()
st.title("Validate")
st.caption("Label a sample of this study's sentences yourself. The page then shows how well the study's themes "
           "agree with you, corrects each source's shares for the study's errors (Emphasis page), and "
           "cross-validates what your labels would change. Every label is saved in the study "
           "(labels.parquet, with your name and the time) as soon as you click.")

if not study.editable:
    st.info("The committed seed study is read-only. Labels go into a copy of it in this session "
            "(download it from Export to keep it).")
    if st.button("Label a copy of the seed study", type="primary", key="fs_label_copy"):
        editable_copy(study)
        st.rerun()
    st.stop()

path = study.path
sentences, themes_table = study.tables["sentences"], study.tables["themes"]
seed = int(study.manifest.get("config", {}).get("measures", {}).get("seed", 42))
named = themes_table.loc[themes_table["named"].astype(bool), "theme"].astype(str).tolist()
choices = named or [t for t in study.themes_in_order() if t != UNASSIGNED]
order_all = labelling_order(sentences, seed)
labels = study_labels(path)
labelled = set(labels["sentence_id"].astype(str))

# -- labelling ------------------------------------------------------------------------------------
st.subheader("Label sentences")
c1, c2 = st.columns([2, 1])
labeller = c1.text_input("Your name", value="reader", key="fs_labeller",
                         help="Recorded with every label you make (labels.parquet: labeller, labelled_at).").strip()
n_sample = int(c2.number_input("Sample size", min_value=1, max_value=max(1, len(order_all)),
                               value=min(200, max(1, len(order_all))), step=10, key=f"fs_sample::{path}",
                               help="The first sentences of a fixed, seeded order, stratified by the study's theme "
                                    "in proportion to each theme's size: wherever you stop, every sentence had "
                                    "the same chance to be labelled, as the agreement and the corrected shares "
                                    "assume."))
order = order_all[:n_sample]
done = sum(sid in labelled for sid in order)
st.progress(done / max(1, len(order)), text=f"{done} of {len(order)} sentences of the sample labelled "
                                            f"({len(labels)} labels in the study)")
current = labelling.next_sentence(order, labelled, labelling.skipped(path))
undo_col, skip_col, _ = st.columns([1, 1, 4])
if undo_col.button("Undo", key="fs_undo", shortcut="U", icon=":material/undo:",
                   disabled=not labelling.can_undo(path), help="Undo your last label or skip (U)."):
    labelling.undo(path)
    st.rerun()
if current is None:
    skips = labelling.skipped(path)
    st.success(f"Every sentence of the sample is labelled{' or skipped' if skips else ''}. Enlarge the sample "
               "to label more.")
    if skips and st.button(f"Show the {len(skips)} skipped sentence(s) again", key="fs_unskip"):
        labelling.show_skipped_again(path)
        st.rerun()
else:
    if skip_col.button("Skip", key="fs_skip", shortcut="S", icon=":material/skip_next:",
                       help="Leave this sentence for now (S); it comes back after a reload."):
        labelling.skip(path, current)
        st.rerun()
    prior, text = sentence_context(sentences, current)
    with st.container(border=True):
        for p in prior:
            st.markdown(f":gray[{escape_markdown(p)}]")
        st.markdown(f"#### {escape_markdown(text)}")
        st.caption(f"Sentence {current}. The grey lines before it are the two sentences that precede it in its "
                   "document, shown for context: label the large sentence only.")
    if not labeller:
        st.warning("Enter your name to label.")
    descriptions = dict(zip(themes_table["theme"].astype(str), themes_table.get("description", pd.Series(dtype=str))))
    cols = st.columns(min(len(choices) + 1, 5))
    for i, theme in enumerate(choices + [NONE]):
        key_hint = "0" if theme == NONE else (str(i + 1) if i < MAX_SHORTCUTS else None)
        name = "None of these" if theme == NONE else study.tlabel(theme)
        about = descriptions.get(theme)
        help_text = ("The sentence belongs to no theme listed." if theme == NONE else
                     about if isinstance(about, str) and about.strip() else None)
        if cols[i % len(cols)].button(name, key=f"fs_label::{theme}", shortcut=key_hint, disabled=not labeller,
                                      help=help_text, width="stretch", wrap=True):
            labelling.label(path, current, theme, labeller)
            st.rerun()
    st.caption("Keys: " + ", ".join(f"{i + 1} {study.tlabel(t)}" for i, t in enumerate(choices[:MAX_SHORTCUTS]))
               + ", 0 none, S skip, U undo.")

# -- agreement ------------------------------------------------------------------------------------
st.subheader("Agreement between the study and your labels")
labels = study_labels(path)
if labels.empty:
    st.caption("Label some sentences to see the agreement.")
    st.stop()
record = read_validation(path)
if record.get("labels_sha256") != labels_digest(labels):
    try:
        with st.spinner("Computing the agreement and the corrected shares…"):
            record = validate_study(path, recalibrate=False)
    except InputError as e:
        st.error(f"The stored labels do not fit this study: {e}")
        st.stop()
m1, m2, m3 = st.columns(3)
m1.metric("Labels", f"{record['n_labels']:,}")
m2.metric("Cohen's kappa", "–" if record.get("kappa") is None else f"{record['kappa']:.2f}",
          help="Agreement between the study's themes and your labels, beyond chance (1 = perfect, 0 = chance).")
m3.metric("Macro F1", "–" if record.get("macro_f1") is None else f"{record['macro_f1']:.2f}",
          help="The mean F1 of the themes you used, other than none.")
per_theme = pd.DataFrame(record["per_theme"])
per_theme = per_theme[(per_theme["n_labelled"] > 0) | (per_theme["n_assigned"] > 0)]


def two_decimals(v) -> str:
    return "–" if v is None or pd.isna(v) else f"{v:.2f}"


def with_ci(name: str) -> pd.Series:
    return per_theme.apply(lambda r: "–" if pd.isna(r[name]) else
                           f"{r[name]:.2f} [{r[name + '_low']:.2f}, {r[name + '_high']:.2f}]", axis=1)


st.table(pd.DataFrame({"theme": per_theme["theme"].map(study.tlabel), "your labels": per_theme["n_labelled"],
                       "study assigned": per_theme["n_assigned"], "precision": with_ci("precision"),
                       "recall": with_ci("recall"), "F1": with_ci("f1")}).set_index("theme"))
st.caption("Per theme, among your labelled sentences: precision (of the sentences the study put in the theme, the "
           "share you put there too), recall (of yours, the share the study found) and F1, each with a 95% "
           "bootstrap CI over your labelled sentences. A study theme you never used counts as none. "
           f"Themes with fewer than {MIN_LABELS} labels are not corrected on the Emphasis page.")
conf = record["confusion"]
st.table(pd.DataFrame(conf["counts"], index=pd.Index([study.tlabel(x) for x in conf["labels"]], name="your label"),
                      columns=[study.tlabel(x) for x in conf["study"]]))
st.caption("Confusion table: rows are your labels, columns the study's themes.")
for line in in_sample_lines(record):  # the run learnt from labels (run --labels): what the figures above use
    st.info(line.removeprefix("Note: "))
by_source = record.get("by_source")
if by_source:  # the correction assumes one error pattern for every source: is it so?
    st.markdown("**Does the study err the same way in every source?**")
    rows = pd.DataFrame(by_source["sources"])
    st.table(pd.DataFrame({"source": rows["source"].map(study.slabel), "your labels": rows["n_labels"],
                           "study right": rows.apply(lambda r: f"{r['accuracy']:.2f} [{r['accuracy_low']:.2f}, "
                                                     f"{r['accuracy_high']:.2f}]", axis=1),
                           "kappa": rows["kappa"].map(two_decimals)}).set_index("source"))
    (st.warning if by_source["p_value"] < 0.05 else st.caption)(differ_sentence(by_source))

# -- recalibration --------------------------------------------------------------------------------
st.subheader("Would your labels improve the themes?")
st.caption("Cross-validated over your labels: for a study with named themes, what `framescope run --labels` does with "
           "them (the corpus rule calibrated with your labels as well as its sure examples) against the rule without "
           "them; for a study without named themes, a logistic regression on the sentence vectors trained on your "
           f"labels alone against the study's themes. It needs at least {MIN_RECALIBRATION_LABELS} labels. It does "
           "not change the study.")
rec = record.get("recalibration")
if rec is None:
    if st.button("Cross-validate (loads the embedding model)", key="fs_recalibrate"):
        try:
            with st.spinner("Embedding the study's sentences and cross-validating…"):
                record = validate_study(path, recalibrate=True)
        except InputError as e:
            st.error(str(e))
        rec = record.get("recalibration")
if rec is not None and "message" in rec:
    st.info(rec["message"][0].upper() + rec["message"][1:] + ".")
elif rec is not None:
    r1, r2, r3 = st.columns(3)
    r1.metric(f"Macro F1, {before_name(rec)}", f"{rec['macro_f1_before']:.2f}")
    r2.metric(f"Macro F1, {recalibrated_name(rec)} (cross-validated)", f"{rec['macro_f1_after']:.2f}")
    r3.metric("Difference", f"{rec['difference']:+.2f}",
              help=f"95% paired bootstrap CI [{rec['difference_low']:+.2f}, {rec['difference_high']:+.2f}]")
    st.caption(f"{rec['classifier'][0].upper() + rec['classifier'][1:]}; {rec['folds']}-fold stratified "
               f"cross-validation over {rec['n']} labels; difference 95% CI [{rec['difference_low']:+.2f}, "
               f"{rec['difference_high']:+.2f}] (paired bootstrap over your labels). "
               + ("To apply it, re-run the study with its own settings and your labels (downloaded below): "
                  "`framescope run --config STUDY/manifest.json --out STUDY --labels labels.csv`."
                  if rec.get("applied_by") else "No command applies it."))
    recal = pd.DataFrame(rec["per_theme"])
    st.table(pd.DataFrame({"theme": recal["theme"].map(study.tlabel), "your labels": recal["n_labelled"],
                           "F1 before": recal["f1_before"].map(two_decimals),
                           "F1 after": recal["f1_after"].map(two_decimals)}).set_index("theme"))
st.download_button("Your labels (CSV)", data=labels.to_csv(index=False).encode("utf-8"), file_name="labels.csv",
                   mime="text/csv", icon=":material/download:", on_click="ignore", key="fs_labels_csv")
