"""Ingest: sources -> documents -> sentences.

- `corpus`    corpus loaders (folders of text, tables, pasted dumps) -> the documents table;
- `columns`   which column of a table holds the text, the source, the date, the title;
- `segment`   documents -> the sentences table (paragraphs, positions, body or not);
- `pieces`    pysbd, bounded: long runs cut at safe sentence ends before pysbd sees them.
"""
