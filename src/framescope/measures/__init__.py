"""Measures: themed sentences -> the study's tables (one row per theme, per source x theme cell).

- `bootstrap`   cluster resampling, intervals, seeded draws per cell (`rng_for`), shared helpers;
- `emphasis`    share of each source's sentences per theme, intervals, the test, over time;
- `divergence`  differences between sources per theme (emphasis gaps with intervals);
- `terms`       distinctive terms (weighted log-odds, informative Dirichlet prior);
- `tone`        VADER compound per sentence, mean per cell;
- `frames`      Policy Frames Codebook scores per sentence, frame shares per cell;
- `voices`      who is quoted or paraphrased;
- `exemplars`   sentences to read: exemplars per cell, contrast pairs between sources;
- `framing`     every table of a study from per-partition partials, and the notes;
- `summary`     the study's headline numbers, shared by the app and the report.
"""
