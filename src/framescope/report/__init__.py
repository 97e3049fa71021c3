"""Report: a study's tables -> report.html / report.md and the figures shared with the app.

- `build`     the report's sections, written atomically (`write_report`);
- `emphasis`  the emphasis section; `method`: method notes and the manifest summary;
- `render`    the section model (headings, tables, figures) -> HTML and Markdown;
- `figures`   the plotly figures the app draws and the static PNG/SVG figures.
"""
