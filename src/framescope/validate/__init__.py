"""Validate: the researcher's labels -> agreement with the study's themes and frames.

- `evaluate`  read labels, score assignments against them (`python -m framescope.validate.evaluate`).
"""
