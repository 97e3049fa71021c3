"""Validate: the researcher's labels -> agreement with the study's themes and frames.

- `evaluate`    read labels, score assignments against them (`python -m framescope.validate.evaluate`);
- `labels`      a study's own labels (sentence_id, label, labeller, labelled_at): read, check, store;
- `correction`  agreement with CIs, and emphasis corrected for misclassification (adjusted
                classify-and-count);
- `study`       `framescope validate STUDY --labels FILE`: all of it, written into the study.
"""
