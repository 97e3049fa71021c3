"""Check and store an uploaded corpus: extension AND content, size, and ZIP members.

A table is read whole once, for its `column_profile` (what the column guesses and checks use) and
a preview of its first rows.

Uploaded file names are never used as paths. Files are written into the session's own folder
under names this module makes: a short slug of letters, digits and underscores (the corpus loader
takes a text file's name, or a table's name when it has no source column, as the source).
Every problem raises `InputError` with one sentence the user can act on.
"""
from __future__ import annotations

import hashlib
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd

from framescope.ingest.columns import check_header, column_profile, header_names
from framescope.ingest.corpus import BOMS
from framescope.errors import InputError

TABLE_TYPES = ("csv", "tsv", "jsonl")
TEXT_TYPES = ("txt", "md")
UPLOAD_TYPES = (*TABLE_TYPES, "txt", "zip")
MAX_UPLOAD_MB = 25  # keep equal to server.maxUploadSize in .streamlit/config.toml
MAX_ZIP_MEMBERS = 500
MAX_ZIP_TOTAL_MB = 100  # uncompressed
MAX_ZIP_RATIO = 200  # a member that inflates more than this is treated as a zip bomb

# Magic numbers of formats people upload by mistake, with the advice to give.
MAGIC = {
    b"%PDF": "a PDF; export it as plain text (.txt) first",
    b"PK\x03\x04": "a ZIP container (also .docx/.xlsx); save a Word or Excel file as .txt or .csv",
    b"\xd0\xcf\x11\xe0": "an old Office document; save it as .txt or .csv",
    b"\x89PNG": "an image",
    b"\xff\xd8\xff": "an image",
    b"GIF8": "an image",
    b"\x1f\x8b": "gzip-compressed; decompress it first",
    b"\x7fELF": "a program",
    b"MZ": "a program",
    b"PAR1": "a Parquet file; upload CSV, TSV or JSONL",
    b"{\\rtf": "an RTF document; save it as plain text",
}
PREVIEW_ROWS = 200


@dataclass
class Upload:
    """An upload that passed every check, stored in the session folder."""

    kind: str  # "table" or "text"
    inputs: list[Path]  # what to pass as RunConfig.inputs
    names: list[str]  # the user's file names, for display only
    columns: list[str] = field(default_factory=list)
    preview: pd.DataFrame = field(default_factory=pd.DataFrame)  # the first PREVIEW_ROWS rows
    profile: pd.DataFrame = field(default_factory=pd.DataFrame)  # `column_profile` of the whole table


def extension(name: str) -> str:
    """Lower-case extension of an uploaded name (display only; never used as a path)."""
    return PurePosixPath(name.replace("\\", "/")).suffix.lower().lstrip(".")


def slug(name: str, max_len: int = 40) -> str:
    """A safe file stem from a name: letters, digits and underscores only."""
    stem = PurePosixPath(name.replace("\\", "/")).stem
    s = re.sub(r"[^A-Za-z0-9]+", "_", stem).strip("_")[:max_len]
    return s or "text"


def binary_reason(data: bytes) -> str | None:
    """Why these bytes are not a text file, or None if they look like text."""
    for magic, what in MAGIC.items():
        if data.startswith(magic):
            return what
    if any(data.startswith(bom) for bom, enc in BOMS if enc != "utf-8"):
        return "not UTF-8 text (it is UTF-16 or UTF-32); save it with UTF-8 encoding"
    head = data[:8192]
    if b"\x00" in head:
        return "binary (it contains NUL bytes)"
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if head and control / len(head) > 0.05:
        return "binary (it contains control characters)"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # a multi-byte character cut at 8 KiB is fine
            return "not UTF-8 text; save it with UTF-8 encoding"
    return None


def check_file(name: str, data: bytes, allowed: tuple[str, ...] = UPLOAD_TYPES,
               max_mb: float = MAX_UPLOAD_MB) -> str:
    """Check one uploaded file; return its type (extension) or raise InputError."""
    ext = extension(name)
    shown = (PurePosixPath(name.replace("\\", "/")).name or "the file")[:80]
    if ext not in allowed:
        raise InputError(f"{shown}: .{ext or '?'} files are not accepted; upload "
                         + ", ".join(f".{a}" for a in allowed))
    if len(data) > max_mb * 1024 * 1024:
        raise InputError(f"{shown} is {len(data) / 2**20:.1f} MB; the limit is {max_mb:g} MB")
    if not data.strip():
        raise InputError(f"{shown} is empty")
    if ext == "zip":
        if not data.startswith(b"PK\x03\x04"):
            raise InputError(f"{shown} is not a ZIP archive")
        return ext
    reason = binary_reason(data)
    if reason:
        raise InputError(f"{shown} is not a text file: it looks like {reason}"
                         if not reason.startswith(("binary", "not UTF")) else f"{shown} is {reason}")
    return ext


def zip_members(data: bytes) -> list[tuple[str, bytes]]:
    """(member name, bytes) of the .txt/.md files of a ZIP, after every safety check."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise InputError("the ZIP archive is damaged or not a ZIP file") from None
    out, total = [], 0
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > MAX_ZIP_MEMBERS:
            raise InputError(f"the ZIP holds {len(infos)} files; the limit is {MAX_ZIP_MEMBERS}")
        for info in infos:
            name = info.filename.replace("\\", "/")
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts or re.match(r"^[A-Za-z]:", name):
                raise InputError(f"the ZIP member {name[:80]!r} has an unsafe path")
            base = parts[-1] if parts else ""
            if parts[0] == "__MACOSX" or base.startswith("."):
                continue  # macOS resource forks and hidden files
            if extension(base) not in TEXT_TYPES:
                raise InputError(f"the ZIP member {base[:80]!r} is not a .txt or .md file")
            if info.flag_bits & 0x1:
                raise InputError(f"the ZIP member {base[:80]!r} is encrypted")
            if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO:
                raise InputError(f"the ZIP member {base[:80]!r} inflates suspiciously; not read")
            limit = MAX_ZIP_TOTAL_MB * 2**20 - total
            content = member_bytes(zf, info, base, limit + 1)
            total += len(content)
            if total > MAX_ZIP_TOTAL_MB * 2**20:
                raise InputError(f"the ZIP unpacks to more than {MAX_ZIP_TOTAL_MB} MB")
            check_file(base, content, allowed=TEXT_TYPES, max_mb=MAX_ZIP_TOTAL_MB)
            out.append((base, content))
    if not out:
        raise InputError("the ZIP holds no .txt or .md files")
    return out


def member_bytes(zf: zipfile.ZipFile, info: zipfile.ZipInfo, base: str, limit: int) -> bytes:
    """At most `limit` bytes of one ZIP member; InputError when its data are damaged (bad CRC,
    broken compressed stream) or packed with a method Python cannot read."""
    try:
        with zf.open(info) as f:
            return f.read(limit)  # never trust the header's size
    except NotImplementedError:
        raise InputError(f"the ZIP member {base[:80]!r} is compressed with a method that cannot be read; "
                         "re-create the archive with standard (deflate) compression") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError):
        raise InputError(f"the ZIP member {base[:80]!r} is damaged (its data do not match its checksum); "
                         "re-create the archive") from None


def _unique(stem: str, taken: set[str]) -> str:
    name, n = stem, 2
    while name in taken:
        name, n = f"{stem}_{n}", n + 1
    taken.add(name)
    return name


def _read_table(path: Path, ext: str) -> pd.DataFrame:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:  # the header only
        check_header(header_names(f, ext), "the table")
    try:
        if ext == "jsonl":
            df = pd.read_json(path, lines=True, dtype=False)
        else:
            df = pd.read_csv(path, sep="\t" if ext == "tsv" else ",", dtype=str,
                             encoding="utf-8-sig", keep_default_na=False, on_bad_lines="error")
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, RecursionError) as e:
        why = "it nests too deeply" if isinstance(e, RecursionError) else (str(e).splitlines() or [type(e).__name__])[0]
        raise InputError(f"the table could not be read as {ext.upper()}: {why[:160]}") from None
    if df.empty or len(df.columns) == 0:
        raise InputError("the table has no rows")
    return df


def store_uploads(files: list[tuple[str, bytes]], folder: Path) -> Upload:
    """Check uploaded (name, bytes) pairs and write them into `folder` under safe names.

    Either one table (CSV/TSV/JSONL) or any number of text files and ZIPs of text files.
    """
    if not files:
        raise InputError("no file uploaded")
    kinds = [(name, check_file(name, data), data) for name, data in files]
    tables = [k for k in kinds if k[1] in TABLE_TYPES]
    if tables and len(kinds) > 1:
        raise InputError("upload either one table (CSV, TSV or JSONL) or text files, not both")
    digest = hashlib.sha256(b"".join(hashlib.sha256(d).digest() for _, _, d in kinds)).hexdigest()[:16]
    dest = folder / f"upload-{digest}"
    dest.mkdir(parents=True, exist_ok=True)
    names = [n for n, _, _ in kinds]
    if tables:
        name, ext, data = tables[0]
        path = dest / f"{slug(name)}.{ext}"  # the stem names the source when no column does
        path.write_bytes(data)
        table = _read_table(path, ext)
        return Upload(kind="table", inputs=[path], names=names, columns=[str(c) for c in table.columns],
                      preview=table.head(PREVIEW_ROWS), profile=column_profile(table))
    texts: list[tuple[str, bytes]] = []
    for name, ext, data in kinds:
        texts += zip_members(data) if ext == "zip" else [(name, data)]
    taken: set[str] = set()
    for name, data in texts:
        (dest / f"{_unique(slug(name), taken)}.txt").write_bytes(data)
    return Upload(kind="text", inputs=[dest], names=names)
