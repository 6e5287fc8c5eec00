"""Formats of log files: suffixes, magic bytes, compression, JSON lines, Arrow tables as frames.

The helpers the readers of :mod:`kocgraph.io.sources` share: :func:`infer_format` by suffix,
:data:`_MAGIC` (bytes that say a file is not the text its name claims), :func:`arrow_to_frame`
(Arrow-backed columns, duplicate names refused), the JSON-lines loader that sets damaged lines aside,
and :class:`LoadedTable` (a whole file read into one frame by :func:`kocgraph.io.sources.load_table`).
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import LogSchemaError, check_choice
from .csvread import RawRecord

__all__ = ["LoadedTable", "FORMATS", "infer_format", "arrow_to_frame"]

FORMATS = ("csv", "tsv", "parquet", "jsonl")
_COMPRESSED = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".xz": "xz"}
#: magic bytes of files that are not what their name says, and what to do about each
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook?), not {fmt} text. In Excel, save it as "
                    "'CSV UTF-8'; or read it with pandas.read_excel and pass the DataFrame to kg.read_log"),
    (b"\xd0\xcf\x11\xe0", "a legacy Excel .xls workbook, not {fmt} text. In Excel, save it as 'CSV UTF-8'; "
                          "or read it with pandas.read_excel and pass the DataFrame to kg.read_log"),
    (b"PAR1", "a Parquet file, not {fmt} text. Rename it to .parquet, or pass format='parquet' (--log-format parquet)"),
    (b"\x1f\x8b", "gzip-compressed, not {fmt} text. Rename it to end in .gz (e.g. log.csv.gz): "
                  "compressed logs are read directly"),
    (b"BZh", "bzip2-compressed, not {fmt} text. Rename it to end in .bz2"),
    (b"\xfd7zXZ\x00", "xz-compressed, not {fmt} text. Rename it to end in .xz"),
)


@dataclass
class LoadedTable:
    """A file read into a frame: each frame row's data-record index (``rows``) and file line
    (``lines``, None when not known), the records set aside before parsing, and facts about the read
    (``info``: path, format, delimiter, sha256 of the bytes read, parser, ...)."""

    frame: pd.DataFrame
    rows: np.ndarray
    lines: np.ndarray | None
    rejected: list[RawRecord] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def infer_format(path: Path, fmt: str | None, *, where: str = "kg.read_log") -> str:
    """The file format: ``fmt`` when given, else from the suffix (compression suffixes skipped)."""
    if fmt is not None:
        check_choice("format", fmt, FORMATS, where=where)
        return fmt
    name = path.name.lower()
    for suf in _COMPRESSED:
        if name.endswith(suf):
            name = name[: -len(suf)]
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".tsv", ".tab")):
        return "tsv"
    return "csv"


def _opener(path: Path) -> Any:
    """A function opening a fresh binary stream of the file's (decompressed) bytes."""
    comp = _COMPRESSED.get(path.suffix.lower())
    if comp is None:
        return lambda: open(path, "rb")
    if comp == "gzip":
        return lambda: gzip.open(path, "rb")
    if comp == "bz2":
        return lambda: bz2.open(path, "rb")
    if comp == "xz":
        return lambda: lzma.open(path, "rb")

    def zstd() -> Any:  # pragma: no cover - needs the zstandard package
        import pyarrow as pa

        return pa.CompressedInputStream(pa.OSFile(str(path)), "zstd")

    return zstd


class FileNotFoundError_(LogSchemaError, FileNotFoundError):
    """A log file that does not exist: a :class:`~kocgraph.LogSchemaError` and a FileNotFoundError."""

    def __init__(self, path: Path) -> None:
        msg = f"log file {str(path)!r} does not exist. Check the path (cwd is {os.getcwd()!r})."
        super().__init__(msg)
        self.filename = str(path)
        self.message = msg

    def __str__(self) -> str:
        return self.message


def _ascii_compatible(encoding: str) -> bool:
    return '\n\r",\t'.encode(encoding, errors="replace") == b'\n\r",\t'


def _check_unique_columns(cols: list[Any], name: str) -> None:
    seen: dict[str, int] = {}
    for c in cols:
        seen[str(c)] = seen.get(str(c), 0) + 1
    dup = [c for c, k in seen.items() if k > 1]
    if dup:
        raise LogSchemaError(
            f"{name} has {len(dup)} column name(s) used twice: {dup} (columns are {[str(c) for c in cols]}). "
            "Rename the header so that every column has its own name."
        )


def _not_text(name: str, encoding: str, detail: str) -> LogSchemaError:
    return LogSchemaError(
        f"{name} is not valid {encoding} text ({detail}). Pass the file's encoding, e.g. encoding='gb18030' "
        "for Chinese exports from Excel, to kg.read_log (or --encoding)."
    )


def arrow_to_frame(table: Any, name: str = "the table") -> pd.DataFrame:
    """A pandas frame over an Arrow table's columns (Arrow-backed, no copy); ``name`` names the
    input when two columns share a name."""
    _check_unique_columns(list(table.column_names), name)
    return pd.DataFrame({c: pd.Series(pd.arrays.ArrowExtensionArray(table.column(c)), copy=False)
                         for c in table.column_names}, index=pd.RangeIndex(table.num_rows))


# ------------------------------------------------------------------------------------------------ JSON lines
def _load_jsonl(data: bytes, encoding: str) -> LoadedTable:
    """JSON lines (the file's bytes) into a LoadedTable; damaged lines set aside with their line."""
    import hashlib

    enc = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding  # a BOM is not data
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as err:
        raise _not_text("the JSON-lines file", encoding, str(err)) from err
    try:
        df = pd.read_json(io.StringIO(text), lines=True, dtype=False)
        rejected: list[RawRecord] = []
        n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
        if n_lines != len(df):
            raise ValueError("blank lines")  # the line of each record is not its index + 1
        rows = np.arange(len(df), dtype=np.int64)
        at = rows + 1
    except ValueError as err:
        # a damaged file (e.g. a truncated last line), or blank lines: parse line by line
        df, rows, at, rejected = _jsonl_by_line(text)
        if not len(df) and not rejected:
            df = pd.DataFrame()
        if len(rows) == 0 and rejected and len(rejected) == len(_nonblank_lines(text)):
            raise LogSchemaError(f"is not valid JSON lines ({err}). Each line must be one JSON object.") from err
    info = {"sha256": digest, "n_bytes": len(data)}
    return LoadedTable(df, rows, at, rejected, info)


def _nonblank_lines(text: str) -> np.ndarray:
    """0-based indices of the non-blank lines of ``text``."""
    return np.flatnonzero([bool(ln.strip()) for ln in text.split("\n")] if text else [])


def _jsonl_by_line(text: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[RawRecord]]:
    """Parse JSON lines one by one (only for damaged files): the objects as a frame, each one's record
    index and line, and the lines that are not JSON objects."""
    import json

    good: list[Any] = []
    rows: list[int] = []
    at: list[int] = []
    rejected: list[RawRecord] = []
    r = 0
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            good.append(obj)
            rows.append(r)
            at.append(lineno)
        else:
            rejected.append(RawRecord(r, lineno, "malformed_row", line.rstrip("\r")))
        r += 1
    df = pd.DataFrame.from_records(good) if good else pd.DataFrame()
    return df, np.asarray(rows, dtype=np.int64), np.asarray(at, dtype=np.int64), rejected
