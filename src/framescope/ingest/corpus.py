"""Corpus loaders: text folders (with an optional manifest.yaml), tables and pasted dumps -> documents.

Inputs are read in the order given; a folder's files in file-name order; a table's rows in row order.
Every failure a user can fix raises `InputError` with a one-line message. A table's column choice is
checked by `columns.checked_columns`, the same check the app's Corpus page makes.

Sources:
- folder with `manifest.yaml`: each entry's `source` (and outlet, title, genre, date, any other keys);
- text file or folder file without a manifest entry: the file stem. If the file is a dump of several
  articles (see `segment.split_articles`), article *i* gets the attribution of its trailer
  (`Source : ForeignPolice` -> `ForeignPolice`) or else `<stem>_<i>` (i from 1, in file order);
- table: the `source_col` column; if the table has no such column and the option was left at its
  default, the file stem.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import numbers
import re
from pathlib import Path

import pandas as pd
import yaml

from framescope.ingest.columns import (check_header, checked_columns, column_profile, header_names, parquet_names,
                                       table_columns)
from framescope.config import IngestConfig
from framescope.errors import InputError
from framescope.ingest.segment import is_headline, split_articles, trailer_name

log = logging.getLogger(__name__)

TEXT_EXT = {".txt", ".md", ".markdown", ".text"}
TABLE_EXT = {".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".json", ".parquet", ".pq"}
MANIFESTS = ("manifest.yaml", "manifest.yml")
TABLE_KIND = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
DOC_COLUMNS = ["doc_id", "source", "title", "date", "text", "outlet", "genre", "attribution", "path", "n_chars"]
BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
MAGIC = ((b"%PDF", "a PDF file"), (b"PK\x03\x04", "a zip archive (e.g. .docx/.xlsx)"), (b"\x89PNG", "a PNG image"),
         (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"), (b"{\\rtf", "an RTF document"),
         (b"\xd0\xcf\x11\xe0", "an old Microsoft Office file"), (b"\x1f\x8b", "a gzip archive"))
ISO_PARTIAL = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


# -------------------------------------------------------------------------------- reading text
def decode_bytes(data: bytes, name: str) -> str:
    """Bytes -> str: BOMs (UTF-8/16/32) honoured, UTF-8, else cp1252 when that is unambiguous."""
    for bom, enc in BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(enc)
            except UnicodeDecodeError:
                raise InputError(f"{name} starts with a {enc.upper()} byte-order mark but is not valid {enc.upper()}") from None
    for magic, what in MAGIC:
        if data.startswith(magic):
            raise InputError(f"{name} is {what}, not plain text; export it as .txt (or a CSV table) first")
    if b"\x00" in data:
        even, odd = data[0::2].count(0), data[1::2].count(0)
        enc = "utf-16-le" if odd > 0.4 * len(data) / 2 else "utf-16-be" if even > 0.4 * len(data) / 2 else None
        try:
            return data.decode(enc) if enc else _binary(name)
        except UnicodeDecodeError:
            _binary(name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        first_bad = e.start
    if re.search(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}", data):
        raise InputError(f"{name} is partly UTF-8 and partly another encoding (invalid byte {data[first_bad]:#04x} "
                         f"at position {first_bad}); re-save it as UTF-8")
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise InputError(f"{name} is not UTF-8 (byte {data[first_bad]:#04x} at position {first_bad}) and not "
                         "cp1252/latin-1 text either; re-save it as UTF-8") from None
    letters, high = len(re.findall(r"[^\W\d_]", text)), len(re.findall(r"[^\x00-\x7f\W\d_]", text))
    if high > 0.3 * letters or re.search(r"[^\x00-\x7f\W\d_]{3,}", text):
        raise InputError(f"{name} is not UTF-8 and its encoding is ambiguous (it does not read as Western "
                         "European cp1252/latin-1 text); re-save it as UTF-8")
    log.warning("%s is not UTF-8; decoded it as cp1252 (Windows Western European)", name)
    return text


def _binary(name: str):
    raise InputError(f"{name} looks like a binary file, not text")


def normalize_text(text: str) -> str:
    """Unix line ends, no trailing spaces on lines (non-breaking ones included), no outer blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _file_size(path: Path, cfg: IngestConfig) -> int:
    size = path.stat().st_size
    if size > cfg.max_file_mb * 1024 * 1024:
        raise InputError(f"{path.name} is {size / 1024 / 1024:.3g} MB, over the {cfg.max_file_mb:g} MB limit "
                         "(raise it with --max-file-mb)")
    return size


def read_text(path: Path, cfg: IngestConfig) -> str:
    """A text file's content, decoded and normalized; refuses big, empty and binary files."""
    size = _file_size(path, cfg)
    text = decode_bytes(path.read_bytes(), path.name)
    controls = len(re.findall(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]", text))
    if controls > max(2, 0.001 * len(text)):
        _binary(path.name)
    text = normalize_text(text)
    if not text:
        raise InputError(f"{path.name} is empty" if size == 0 else f"{path.name} contains only whitespace")
    return text


# ---------------------------------------------------------------------------- text documents
def _trailer(text: str) -> str | None:
    return trailer_name(text.rsplit("\n", 1)[-1])


def _title(text: str) -> str | None:
    first, _, rest = text.partition("\n")
    return first.strip().lstrip("#").strip() if rest.strip() and is_headline(first) else None


def _text_documents(path: Path, cfg: IngestConfig, meta: dict | None = None) -> list[dict]:
    """One document per article of a text file (one unless the file is a dump and splitting is on)."""
    text = read_text(path, cfg)
    if meta is not None or not cfg.split_dumps:
        spans = [(0, len(text))]
    else:
        spans = split_articles(text, workers=cfg.workers)
    docs = []
    for i, (s, e) in enumerate(spans, start=1):
        body = text[s:e]
        attribution = _trailer(body)
        doc = {"source": path.stem, "title": _title(body), "date": None, "text": body, "outlet": attribution,
               "genre": None, "attribution": attribution, "path": path.name}
        if len(spans) > 1:
            doc["source"] = attribution or f"{path.stem}_{i}"
        docs.append(doc | {k: v for k, v in (meta or {}).items() if v is not None})
    if len(spans) > 1:
        log.info("%s: split into %d articles (%s)", path.name, len(spans), ", ".join(d["source"] for d in docs))
    return docs


def _manifest(folder: Path) -> dict[str, dict] | None:
    path = next((folder / m for m in MANIFESTS if (folder / m).is_file()), None)
    if path is None:
        return None
    if not inside(path, folder):
        raise InputError(f"{path} is a link to a file outside {folder}; framescope reads only files inside "
                         "the folder it is given")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise InputError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    entries = data.get("documents") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not all(isinstance(x, dict) and x.get("file") for x in entries):
        raise InputError(f"{path}: expected a 'documents:' list of entries, each with a 'file' key")
    out = {}
    for entry in entries:
        meta = {k: _meta_value(v) for k, v in entry.items() if k != "file"}
        if k := next((k for k in ("doc_id", "text", "path", "n_chars") if k in meta), None):
            raise InputError(f"{path}: entry for {entry['file']} sets '{k}', which framescope fills in itself")
        if meta.get("date") is not None:
            try:
                meta["date"] = _iso_date(entry["date"], "date", path.name, 0)
            except InputError:
                raise InputError(f"{path}: entry for {entry['file']} has date '{entry['date']}', which is not "
                                 "a date (write YYYY, YYYY-MM or YYYY-MM-DD)") from None
        out[str(entry["file"])] = meta
    return out


def _meta_value(v):
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return None if v is None else str(v) if not isinstance(v, str) else v


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, with every link resolved, lies in folder ``root`` (also resolved)."""
    real, top = path.resolve(), root.resolve()
    return real == top or top in real.parents


def folder_files(folder: Path, suffixes: set[str] | tuple[str, ...] = tuple(TEXT_EXT)) -> list[Path]:
    """The visible files of ``folder`` with one of ``suffixes``, in name order. A link that
    points outside the folder is refused (one-line ``InputError`` naming it): framescope reads
    only files inside the folder it was given, so a link cannot disclose another file."""
    files = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or p.suffix.lower() not in suffixes:
            continue
        if not inside(p, folder):
            raise InputError(f"{folder / p.name} is a link to a file outside {folder}; framescope reads only "
                             "files inside the folder it is given")
        if p.is_dir():
            continue
        _regular(p)
        files.append(p)
    return files


def _regular(path: Path) -> None:
    """InputError unless ``path`` is a regular file (a named pipe would block the read forever)."""
    if not path.is_file():
        raise InputError(f"{path.name} is not a regular file (a named pipe, socket or device); framescope reads "
                         "only ordinary files")


def _folder_documents(folder: Path, cfg: IngestConfig) -> list[dict]:
    files = folder_files(folder)
    if not files:
        raise InputError(f"folder {folder} has no .txt or .md files")
    manifest = _manifest(folder)
    if manifest is not None:
        missing = sorted(set(manifest) - {p.name for p in files})
        if missing:
            raise InputError(f"{folder}/manifest.yaml lists {', '.join(missing)}, not found in the folder")
        unlisted = [p.name for p in files if p.name not in manifest]
        if unlisted:
            log.warning("%s: %s not in manifest.yaml; using the file stem as source", folder, ", ".join(unlisted))
    docs = []
    for p in files:
        docs += _text_documents(p, cfg, manifest.get(p.name) if manifest else None)
    return docs


# ----------------------------------------------------------------------------------- tables
SPECIAL_META = ("outlet", "genre", "attribution")  # table columns that fill documents' own fields


def used_columns(names: list[str] | None, cfg: IngestConfig, name: str) -> list[str] | None:
    """The columns of a table (header ``names``) that ingest needs: with ``cfg.meta_cols`` a list,
    the text, source, date and title columns, outlet/genre/attribution, and those metadata columns,
    in table order; None (read every column) when ``meta_cols`` is None, the names are unknown, or
    a chosen column is missing (so that the usual message lists every column). A metadata column the
    table does not have is a one-line error."""
    if cfg.meta_cols is None or names is None:
        return None
    missing = [c for c in cfg.meta_cols if c not in names]
    if missing:
        raise InputError(f"{name} has no metadata column '{missing[0]}' (--meta-col); its columns are: "
                         + ", ".join(map(str, names[:50])) + (" …" if len(names) > 50 else ""))
    chosen = [c for c in table_columns(names, cfg).values() if c is not None]
    if any(c not in names for c in chosen):
        return None
    keep = set(chosen) | set(SPECIAL_META) | set(cfg.meta_cols)
    return [c for c in names if c in keep]


def _read_table(path: Path, cfg: IngestConfig) -> pd.DataFrame:
    ext = path.suffix.lower()
    try:
        if ext in (".parquet", ".pq"):
            if _file_size(path, cfg) == 0:
                raise InputError(f"{path.name} is empty")
            names = parquet_names(path)
            check_header(names, path.name)
            return _plain_columns(pd.read_parquet(path, columns=used_columns(names, cfg, path.name)))
        text = read_text(path, cfg)
        names = header_names(io.StringIO(text), TABLE_KIND.get(ext, "tsv"))
        check_header(names, path.name)
        if ext in (".jsonl", ".ndjson", ".json"):  # no column selection while reading: read, then cut
            df = (pd.read_json(io.StringIO(text), orient="records", dtype=False) if ext == ".json" else
                  pd.read_json(io.StringIO(text), lines=True, dtype=False))
            use = used_columns([str(c) for c in df.columns], cfg, path.name)
            return df if use is None else df[use]
        return pd.read_csv(io.StringIO(text), sep="," if ext == ".csv" else "\t", dtype=str,
                           keep_default_na=False, usecols=used_columns(names, cfg, path.name))
    except InputError:
        raise
    except Exception as e:  # pandas/pyarrow parse errors
        kind = {".jsonl": "JSON Lines", ".ndjson": "JSON Lines", ".json": "JSON", ".csv": "CSV",
                ".parquet": "Parquet", ".pq": "Parquet"}.get(ext, "TSV")
        msg = str(e).strip().splitlines()[0].replace(str(path), path.name) if str(e).strip() else type(e).__name__
        if isinstance(e, RecursionError):
            msg = "it nests too deeply"
        raise InputError(f"{path.name} is not a valid {kind} table: {msg}") from None


def _plain_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Dictionary-encoded (categorical) Parquet columns as plain values, as any other table's."""
    cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    return df.astype({c: object for c in cats}) if cats else df


def _column(df: pd.DataFrame, col: str) -> pd.Series:
    return df[col].map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v).strip())


def _iso_date(value, col: str, name: str, row: int) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer():
        value = str(int(value))  # a bare year such as 2022 (numbers are never read as epoch times)
    if isinstance(value, str) and ISO_PARTIAL.match(value.strip()):
        return value.strip()
    try:
        if isinstance(value, numbers.Real):
            raise ValueError(value)
        ts = pd.Timestamp(value) if not isinstance(value, str) else pd.to_datetime(value.strip(), format="mixed")
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"{name}: cannot read '{value}' in date column '{col}' (data row {row}) as a date") from None
    return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()


def _table_documents(path: Path, cfg: IngestConfig) -> list[dict]:
    name = path.name
    df = _read_table(path, cfg)
    if df.empty:
        raise InputError(f"{name} has no rows")
    check_header([str(c) for c in df.columns], name)  # a JSON array has no header to check before reading
    df.columns = [str(c) for c in df.columns]
    df = df.reset_index(drop=True)
    chosen = checked_columns(column_profile(df), name, cfg)
    source_col, title_col, date_col = chosen["source"], chosen["title"], chosen["date"]
    texts = _column(df, cfg.text_col)
    keep = texts != ""
    if source_col is not None:
        sources = _column(df, source_col)
        blank = sources.index[(sources == "") & keep]
        if len(blank) == keep.sum():
            raise InputError(f"source column '{source_col}' in {name} is blank in every row")
        if len(blank):
            raise InputError(f"source column '{source_col}' in {name} is blank in {len(blank)} of {len(df)} "
                             f"rows (first: data row {blank[0] + 1})")
    else:
        log.info("%s has no '%s' column; using the file stem '%s' as source", name, cfg.source_col, path.stem)
        sources = pd.Series(path.stem, index=df.index)
    titles = _column(df, title_col) if title_col else None
    dates = _dates(df, date_col, name, strict=bool(cfg.date_col)) if date_col else None
    if (~keep).any():
        log.warning("%s: skipped %d rows with blank text (first: data row %d)", name, (~keep).sum(),
                    keep.index[~keep][0] + 1)
    used = {cfg.text_col, cfg.source_col, title_col, date_col}
    extras = {c: c if c in SPECIAL_META or c not in DOC_COLUMNS else f"meta_{c}"
              for c in df.columns if c not in used and (cfg.meta_cols is None or c in SPECIAL_META
                                                        or c in cfg.meta_cols)}
    docs = []
    for i in df.index[keep]:
        text = normalize_text(texts[i])
        meta = {new: None if _is_na(df.at[i, c]) else _meta_value(df.at[i, c]) for c, new in extras.items()}
        attribution = meta.pop("attribution", None) or _trailer(text)
        docs.append({"source": sources[i], "title": titles[i] or None if titles is not None else None,
                     "date": dates[i] if dates is not None else None, "text": text,
                     "outlet": meta.pop("outlet", None) or attribution, "genre": meta.pop("genre", None),
                     "attribution": attribution, "path": name, **meta})
    return docs


def _dates(df: pd.DataFrame, col: str, name: str, strict: bool) -> list[str | None]:
    """ISO date strings of a date column; unreadable values are an error if the column was asked for."""
    try:
        return [_iso_date(v, col, name, i + 1) for i, v in enumerate(df[col])]
    except InputError:
        if strict:
            raise
        log.warning("%s: column 'date' is not all dates; dates left empty (name it with --date-col to see why)", name)
        return [None] * len(df)


def _is_na(v) -> bool:
    return v is None or (not isinstance(v, (list, dict)) and bool(pd.isna(v)))


# ------------------------------------------------------------------------------ entry point
def _path_documents(path: Path, cfg: IngestConfig) -> list[dict]:
    if not path.exists():
        raise InputError(f"no such file or folder: {path}")
    if path.is_dir():
        return _folder_documents(path, cfg)
    _regular(path)
    ext = path.suffix.lower()
    if ext in TEXT_EXT:
        return _text_documents(path, cfg)
    if ext in TABLE_EXT:
        return _table_documents(path, cfg)
    raise InputError(f"{path.name}: unsupported file type '{ext or '(none)'}'; use .txt/.md files, a folder of "
                     "them, or a .csv/.tsv/.jsonl/.parquet table")


def load_documents(paths: list[str], cfg: IngestConfig) -> pd.DataFrame:
    """The documents table of all inputs, in input order, duplicates (same text) kept once."""
    if not paths:
        raise InputError("no input given: pass text files, folders or tables")
    docs, seen = [], {}
    for p in paths:
        for doc in _path_documents(Path(p), cfg):
            key = " ".join(doc["text"].split()).casefold()
            if key in seen:
                first = seen[key]
                log.warning("duplicate document skipped: %s (source %s) has the same text as %s (source %s)",
                            doc["path"], doc["source"], first["path"], first["source"])
                continue
            seen[key] = doc
            docs.append(doc)
    width = max(4, len(str(len(docs) - 1)))
    for i, doc in enumerate(docs):
        doc["doc_id"], doc["n_chars"] = f"d{i:0{width}d}", len(doc["text"])
    extras = list(dict.fromkeys(k for doc in docs for k in doc if k not in DOC_COLUMNS))
    table = pd.DataFrame([[doc.get(c) for c in DOC_COLUMNS + extras] for doc in docs],
                         columns=DOC_COLUMNS + extras, dtype=object)
    return table.astype({"n_chars": "int64"})
