"""Themes: the codebook's named themes and the topics BERTopic discovers, as one estimator.

- `codebook`   the codebook file (named themes, seed phrases, edits) and `UNASSIGNED`;
- `model`      `ThemeModel`: fit / transform / save / load (sklearn-style);
- `discovery`  topic discovery: framescope's clusterer and reducer, as BERTopic's steps;
- `io`         the saved model's files;
- `mentions`   a sentence's second named theme (`also_themes`), read by framing.
"""
from framescope.themes.codebook import UNASSIGNED, Codebook, load_codebook, parse_codebook
from framescope.themes.model import ThemeModel

__all__ = ["UNASSIGNED", "Codebook", "ThemeModel", "load_codebook", "parse_codebook"]
