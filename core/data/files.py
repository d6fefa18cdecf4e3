"""Reading and writing corpus files: CSV, TSV, JSONL, Parquet (text formats optionally .gz) and folders of text files.

Everything is read as strings (no type guessing: an id `007` stays `007`), decoded as strict UTF-8 so a wrong encoding
is reported with its line instead of turning into mojibake, and validated by `corpus_from_frame`. Reading never
writes; saving goes through a temporary file and an atomic rename.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd

from core.atomic import atomic_write
from core.data.corpus import Corpus, corpus_from_frame
from core.errors import InputError

TEXT_FORMATS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
JSON_FORMATS = {".jsonl", ".ndjson"}
SUPPORTED = ("CSV (.csv), TSV (.tsv), JSON lines (.jsonl), Parquet (.parquet), any text format gzipped (.gz), an OBO "
             "ontology (.obo), or a folder")
T = TypeVar("T")
FOLDER_FILE_SUFFIXES = {".txt", ".md", ""}


def file_format(path: Path) -> tuple[str, bool]:
    """(format suffix, gzipped) from the file name, e.g. ('.tsv', True) for corpus.tsv.gz."""
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    if gz:
        suffixes = suffixes[:-1]
    return (suffixes[-1] if suffixes else ""), gz


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(f"{source}, line {line}", f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})",
                          "re-save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`") from None


def read_table(path: Path) -> pd.DataFrame:
    """The file as a DataFrame of strings (missing cells are empty strings)."""
    source = str(path)
    fmt, gz = file_format(path)
    if fmt == ".parquet":
        return _read_parquet(path, source)
    if fmt not in TEXT_FORMATS and fmt not in JSON_FORMATS:
        raise InputError(source, f"unknown format {''.join(path.suffixes) or '(no extension)'!r}",
                          f"use {SUPPORTED}")
    raw = path.read_bytes()
    if gz:
        try:
            raw = gzip.decompress(raw)
        except OSError as e:
            raise InputError(source, f"cannot decompress ({e})", "check the file is a complete gzip file") from None
    text = _decode(raw, source)
    if not text.strip():
        raise InputError(source, "the file is empty", "add a header row (id,text,...) and at least one row")
    if fmt in JSON_FORMATS:
        return _read_jsonl(text, source)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=TEXT_FORMATS[fmt], dtype=str, keep_default_na=False,
                            na_filter=False, quoting=0)
    except pd.errors.ParserError as e:
        raise InputError(source, f"cannot parse ({str(e).strip()})",
                          "check quoting and that every line has as many fields as the header") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.apply(_unescape_formulas)


TEXT_COLUMNS = ("text", "query")  # must hold text: a number or a list there is a mistake, never converted


def _read_parquet(path: Path, source: str) -> pd.DataFrame:
    """A Parquet file's columns as exact strings, by their stored types: strings as they are; integers as written
    (`1`, never `1.0`, nulls included); lists only in `parents` (joined with |); anything else in text columns
    refused, naming the column."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for a damaged file
        raise InputError(source, f"cannot read as Parquet ({type(e).__name__}: {e})",
                          "check the file is a complete Parquet file") from None
    columns = {}
    for name, column in zip(table.column_names, table.columns):
        kind = column.type
        where = f"{source}, column {str(name).strip()!r}"
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
            values = column.to_pylist()
        elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
            if str(name).strip() != "parents":
                raise InputError(where, f"holds lists ({kind})", "store one text value per cell")
            values = ["|".join("" if v is None else str(v) for v in cell) if cell is not None else None
                      for cell in column.to_pylist()]
        elif str(name).strip() in TEXT_COLUMNS:
            raise InputError(where, f"holds {kind} values, not text", f"store the {name!r} column as strings")
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
            if pa.types.is_floating(kind) and not _all_integral(column):
                values = pc.cast(column, pa.string()).to_pylist()
            else:  # integers, and floats that are whole (an int column with nulls often arrives as float)
                values = [None if v is None else str(int(v)) if not isinstance(v, bool) else str(v).lower()
                          for v in column.to_pylist()]
        else:
            raise InputError(where, f"holds {kind} values", "store the column as strings")
        columns[str(name).strip()] = ["" if v is None else v for v in values]
    return pd.DataFrame(columns, dtype=object)


def _all_integral(column) -> bool:
    import math

    return all(v is None or (math.isfinite(v) and float(v).is_integer()) for v in column.to_pylist())


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs cells starting so as formulas (OWASP CSV injection)
ESCAPE = "'"  # the spreadsheets' own mark for "this cell is text": shown, never part of the value


def _escape_formulas(column: pd.Series) -> pd.Series:
    """CSV/TSV export: prefix cells a spreadsheet would run as a formula (and cells already starting with the mark,
    so that reading reverses it exactly) with the text mark."""
    text = column.astype(str)
    risky = text.str.startswith(FORMULA_START) | text.str.startswith(ESCAPE)
    return text.where(~risky, ESCAPE + text)


def _unescape_formulas(column: pd.Series) -> pd.Series:
    """Reading CSV/TSV: drop the text mark in front of a formula-looking cell (or of another mark), as a spreadsheet
    shows it; export and import then round-trip exactly."""
    text = column.astype(str)
    marked = text.str.startswith(ESCAPE) & text.str[1:2].isin([*FORMULA_START, ESCAPE])
    return text.where(~marked, text.str[1:])


def _read_jsonl(text: str, source: str) -> pd.DataFrame:
    records = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{source}, line {line_no}", f"not valid JSON ({e.msg})",
                              "write one JSON object per line") from None
        if not isinstance(record, dict):
            raise InputError(f"{source}, line {line_no}", "not a JSON object",
                              'write one object per line, e.g. {"id": "a", "text": "..."}')
        records.append({k: _json_cell(v) for k, v in record.items()})
    return pd.DataFrame.from_records(records).fillna("")


def _json_cell(value) -> str:
    """A JSON value as the text it was written as (`1` stays `1`, `true` stays `true`, never Python's `True`)."""
    if value is None:
        return ""
    if isinstance(value, list):  # parents may be given as a JSON list
        return "|".join(map(_json_cell, value))
    if isinstance(value, bool | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def read_folder(folder: Path) -> pd.DataFrame:
    """One row per text file; its id is the relative path and its label path the sub-folders it sits in."""
    rows = []
    inside = folder.resolve()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() not in FOLDER_FILE_SUFFIXES:
            continue
        if inside not in path.resolve().parents:  # a symlink out of the folder is never followed
            raise InputError(str(folder / rel), "a link to a file outside the folder",
                             "copy the file into the folder instead of linking to it")
        text = _decode(path.read_bytes(), str(path))
        rows.append({"id": rel.as_posix(), "text": text.strip(), "path": rel.parent.as_posix().strip(".")})
    if not rows:
        raise InputError(str(folder), "the folder holds no text files (.txt, .md or no extension)",
                          "put one text file per document in the folder, in sub-folders named after their labels")
    return pd.DataFrame(rows)


def load_corpus_file(path: str | os.PathLike) -> Corpus:
    """Load and validate a corpus file or folder; raises InputError with a one-line, fixable message."""
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), "no such file or folder", "check the path, or name a built-in such as wordnet:mammal.n.01")
    if not (path.is_dir() or path.is_file()):  # a FIFO, socket or device would block or never end
        raise InputError(str(path), "not a regular file or folder", "give a corpus file or a folder of text files")
    if path.is_file() and path.suffix.lower() == ".obo":  # an ontology: terms, is_a links, synonyms as queries
        from core.data.obo import load_obo

        return load_obo(path)
    frame = read_folder(path) if path.is_dir() else read_table(path)
    return corpus_from_frame(frame, str(path))


def read_upload(name: str, data: bytes, read: Callable[[Path], T]) -> T:
    """`read` an uploaded file: written to a private temporary folder under its own name (the format follows the
    name), read, and removed again whatever happens; errors name the upload, never the temporary path."""
    safe = Path(name).name
    if (not safe or safe in (".", "..") or len(safe.encode("utf-8", "replace")) > 200
            or any(ord(c) < 32 or c in "\x7f/\\" for c in safe)):
        raise InputError(f"uploaded file {name[:80]!r}", "not a usable file name (empty, '..', too long, or with "
                         "control characters)", "rename the file to a short name ending in .csv, .tsv, .jsonl or .parquet")
    with tempfile.TemporaryDirectory(prefix="hieralign-upload-") as folder:
        path = Path(folder) / safe
        path.write_bytes(data)
        try:
            return read(path)
        except InputError as e:
            raise InputError(e.where.replace(str(path), safe), e.problem, e.fix) from None


def load_corpus_bytes(name: str, data: bytes) -> Corpus:
    """Load an uploaded corpus file (see read_upload); the corpus is named by the upload."""
    corpus = read_upload(name, data, load_corpus_file)
    return Corpus(Path(name).name, corpus.hierarchy, corpus.texts, corpus.queries, corpus.is_row, corpus.layout)


def save_corpus(corpus: Corpus, path: str | os.PathLike) -> Path:
    """Write the corpus as a file whose format follows the extension; atomic (temporary file, then rename)."""
    path = Path(path)
    fmt, gz = file_format(path)
    if fmt not in TEXT_FORMATS and fmt not in JSON_FORMATS and fmt != ".parquet":
        raise InputError(str(path), f"cannot write format {''.join(path.suffixes) or '(no extension)'!r}",
                          "end the file name in .csv, .tsv, .jsonl or .parquet (optionally .gz for text formats)")
    frame = corpus.to_frame()

    def write(tmp: str) -> None:
        if fmt == ".parquet":
            frame.to_parquet(tmp, index=False)
            return
        if fmt in JSON_FORMATS:
            body = frame.to_json(orient="records", lines=True, force_ascii=False)
        else:
            escaped = frame.apply(_escape_formulas)
            # the csv writer quotes cells holding the line terminator ("\n") but not a lone "\r", which readers take
            # for a line break: with any "\r" about, every cell is quoted
            carriage = escaped.apply(lambda c: c.str.contains("\r", regex=False).any()).any()
            body = escaped.to_csv(sep=TEXT_FORMATS[fmt], index=False, lineterminator="\n",
                                  quoting=csv.QUOTE_ALL if carriage else csv.QUOTE_MINIMAL)
        data = body.encode("utf-8")
        Path(tmp).write_bytes(gzip.compress(data, mtime=0) if gz else data)

    atomic_write(path, write)
    return path
