"""Validate: the researcher's labels -> agreement with the study's themes and frames.

- `evaluate`    read labels, score assignments against them (`python -m framescope.validate.evaluate`);
- `labels`      a study's own labels (sentence_id, label, labeller, labelled_at): read, check, store,
                and the order the Validate page offers sentences in;
- `correction`  agreement with CIs, and emphasis corrected for misclassification (adjusted
                classify-and-count);
- `recalibrate` a classifier on the labelled sentences' vectors, with cross-validated F1 against the
                study's own assignment;
- `study`       `framescope validate STUDY --labels FILE` (and `run --labels`): all of it, written
                into the study.
"""
