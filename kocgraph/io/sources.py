"""Where a log comes from: files, folders, globs, lists, file-like objects, pyarrow datasets, frames.

:func:`parts_of` turns what the user passed to ``kg.read_log`` into :class:`Part` objects, one per
file (or stream, or DataFrame). A part yields its rows as :class:`Batch` objects, in order, each with
the record index of every row in its file, so that a rejected row can always name its file and row.

CSV parts are streamed with pyarrow's streaming reader through a
:class:`~kocgraph.io.csvread.RecordTally` (the bytes' SHA-256 and a quote-aware record count). When the
count disagrees with the parser, or the parser sets malformed records aside in parallel (unnumbered),
the part yields :data:`RESTART` and reads the file again: serially, or by the exact path of
:mod:`kocgraph.io.csvread`. The consumer drops what the part yielded before a RESTART.
"""

from __future__ import annotations

import codecs
import csv
import glob as _glob
import io
import os
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..algorithms._parallel import read_ahead
from ..exceptions import InvalidParameterError, LogSchemaError
from . import csvread
from .csvread import RawRecord
from .tables import (
    _MAGIC,
    FileNotFoundError_,
    LoadedTable,
    _ascii_compatible,
    _check_unique_columns,
    _load_jsonl,
    _not_text,
    _opener,
    arrow_to_frame,
    infer_format,
)

__all__ = ["Batch", "Part", "RESTART", "parts_of", "load_table", "DATA_SUFFIXES"]

#: file suffixes a folder or glob contributes (compressed forms too); other files are skipped
DATA_SUFFIXES = (".csv", ".tsv", ".tab", ".parquet", ".pq", ".jsonl", ".ndjson", ".json")
#: what a part yields when the consumer must forget the part's earlier batches (a re-read follows)
RESTART: Any = object()
#: read every CSV file by the exact path (the differential tests set it)
FORCE_EXACT = False


@dataclass
class Batch:
    """Rows of one part: the frame (pandas, usually Arrow-backed) and each row's record index in
    its part (0 = the first record after the header)."""

    frame: pd.DataFrame
    rows: np.ndarray


@dataclass
class Part:
    """One input file (or stream, or frame). ``batches()`` yields its rows; afterwards ``rejected``
    holds the records set aside before parsing, ``info`` what is known of the read (sha256, bytes,
    parser), and ``lines`` maps record indices to file lines when every record is one line."""

    name: str
    read: Callable[[Part], Generator[Any, None, None]]  # a generator: readers close it early (contextlib.closing)
    keys: dict[str, str] = field(default_factory=dict)
    rejected: list[RawRecord] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    line_offset: int | None = None  # line = record index + line_offset, when known
    line_map: tuple[np.ndarray, np.ndarray] | None = None  # else (sorted record indices, their lines)
    single: bool = False  # the whole part is one batch (its frame may be kept for rejected rows)
    size_hint: int | None = None  # bytes to parse, when known before reading (sizes the parser's blocks)

    def batches(self) -> Generator[Any, None, None]:
        return self.read(self)

    def lines_of(self, rows: np.ndarray) -> np.ndarray | None:
        """File lines of records (None when not known, e.g. for Parquet)."""
        if self.line_offset is not None:
            return rows + self.line_offset
        if self.line_map is not None:
            keys, vals = self.line_map
            pos = np.clip(np.searchsorted(keys, rows), 0, max(keys.size - 1, 0))
            return vals[pos] if keys.size else None
        return None


# ------------------------------------------------------------------------------------------------ resolving
def parts_of(data: Any, *, format: str | None, sep: str | None, encoding: str,
             string_columns: list[str]) -> list[Part]:
    """The parts of ``data``: a path, a folder, a glob, a list of paths, a file-like object, a
    ``pyarrow.dataset.Dataset`` or a pandas DataFrame."""
    if isinstance(data, pd.DataFrame):
        return [_frame_part(data)]
    if _is_dataset(data):
        return _dataset_parts(data, sep=sep, encoding=encoding, string_columns=string_columns)
    if hasattr(data, "read") and not isinstance(data, (str, os.PathLike)):
        return [_stream_part(data, format=format, sep=sep, encoding=encoding, string_columns=string_columns)]
    if isinstance(data, (list, tuple)):
        if not data:
            raise InvalidParameterError("kg.read_log got an empty list of files; pass at least one path.")
        odd = [p for p in data if not isinstance(p, (str, os.PathLike))]
        if odd:
            raise InvalidParameterError(
                f"kg.read_log got a list holding {odd[0]!r} ({type(odd[0]).__name__}); a list must hold file paths. "
                "Pass a DataFrame for rows (pd.DataFrame(rows, columns=[...]))."
            )
        paths = [_existing(p) for p in data]
        root = None
    elif isinstance(data, (str, os.PathLike)):
        p = Path(data)
        if isinstance(data, str) and not p.exists() and any(ch in data for ch in "*?["):
            paths = sorted(Path(x) for x in _glob.glob(data, recursive=True) if _is_data_file(Path(x)))
            if not paths:
                raise LogSchemaError(f"the pattern {data!r} matches no log file ({', '.join(DATA_SUFFIXES)}). "
                                     "Check the pattern, e.g. 'logs/*.csv' or 'logs/**/*.parquet'.")
            root = None
        elif p.is_dir():
            paths = sorted(x for x in p.rglob("*") if x.is_file() and _is_data_file(x))
            if not paths:
                listed = sorted(x.name for x in p.iterdir())[:10]
                raise LogSchemaError(
                    f"the folder {str(p)!r} holds no log file ({', '.join(DATA_SUFFIXES)}, optionally compressed); "
                    f"it holds {listed}. Pass a folder of CSV, Parquet or JSON-lines files.")
            root = p
        else:
            paths = [_existing(data)]
            root = None
    else:
        raise InvalidParameterError(
            f"kg.read_log got a {type(data).__name__}; pass a file path, a folder, a glob, a list of paths, "
            "a file-like object, a pyarrow dataset or a pandas DataFrame.")
    parts = [_file_part(x, format=format, sep=sep, encoding=encoding, string_columns=string_columns,
                        keys=_hive_keys(x, root)) for x in paths]
    return parts


def _compressed(path: Path) -> bool:
    return path.suffix.lower() in (".gz", ".bz2", ".zst", ".xz")


def _is_dataset(data: Any) -> bool:
    try:
        import pyarrow.dataset as ds
    except ImportError:  # pragma: no cover
        return False
    return isinstance(data, ds.Dataset)


def _is_data_file(p: Path) -> bool:
    name = p.name.lower()
    if name.startswith((".", "_")):  # hidden files, _SUCCESS markers, _metadata
        return False
    for suf in (".gz", ".bz2", ".zst", ".xz"):
        if name.endswith(suf):
            name = name[: -len(suf)]
    return name.endswith(DATA_SUFFIXES)


def _existing(p: Any) -> Path:
    path = Path(p)
    if not path.exists():
        raise FileNotFoundError_(path)
    if path.is_dir():
        raise LogSchemaError(f"{str(path)!r} is a directory inside a list of files; pass its files, or the folder alone.")
    return path


def _hive_keys(path: Path, root: Path | None) -> dict[str, str]:
    """``key=value`` folder names between ``root`` and the file: hive partition columns."""
    if root is None:
        return {}
    keys = {}
    for seg in path.relative_to(root).parts[:-1]:
        if "=" in seg:
            k, v = seg.split("=", 1)
            keys[k] = v
    return keys


def _constant_columns(frame: pd.DataFrame, keys: dict[str, str]) -> pd.DataFrame:
    """Add the part's partition columns (text, one value each) to a batch."""
    if not keys:
        return frame
    import pyarrow as pa

    out = frame.copy(deep=False)
    for k, v in keys.items():
        if k not in out.columns:
            out[k] = pd.Series(pd.arrays.ArrowExtensionArray(pa.array([v] * len(out), pa.string())), index=out.index)
    return out


# ------------------------------------------------------------------------------------------------ frames
def _frame_part(df: pd.DataFrame) -> Part:
    def read(part: Part) -> Generator[Any, None, None]:
        yield Batch(df, np.arange(len(df), dtype=np.int64))

    return Part("DataFrame", read, single=True, info={"input": "DataFrame"})


# ------------------------------------------------------------------------------------------------ files
def _file_part(path: Path, *, format: str | None, sep: str | None, encoding: str, string_columns: list[str],
               keys: dict[str, str]) -> Part:
    _check_file(path)
    fmt = infer_format(path, format)
    _sniff(_opener(path), repr(str(path)), fmt, encoding)
    info: dict[str, Any] = {"path": str(path), "format": fmt}
    if fmt == "parquet":
        return Part(str(path), lambda part: _parquet_batches(part, lambda: open(path, "rb")), keys, info=info)
    if fmt == "jsonl":
        return Part(str(path), lambda part: _jsonl_batches(part, _opener(path), encoding), keys, info=info, single=True)
    delim = sep or ("\t" if fmt == "tsv" else ",")
    hint = None if _compressed(path) else path.stat().st_size
    return Part(str(path), lambda part: _csv_batches(part, _opener(path), delim, encoding, string_columns), keys,
                info={**info, "delimiter": delim}, size_hint=hint)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError_(path)
    if path.is_dir():
        raise LogSchemaError(f"{str(path)!r} is a directory; pass a log file (CSV, TSV, Parquet or JSON lines).")
    if path.stat().st_size == 0:
        raise LogSchemaError(
            f"the log file {str(path)!r} is empty (0 bytes): there is no header and no row. "
            "Check that the export finished, or pass a file with a header line.")


def _sniff(open_bytes: Callable[[], Any], name: str, fmt: str, encoding: str) -> None:
    """Refuse bytes that are not the format's text, by their first bytes, in one clean message."""
    if fmt == "parquet":
        return
    import lzma

    try:
        with open_bytes() as fh:
            head = fh.read(8)
    except (OSError, EOFError, lzma.LZMAError) as err:
        raise LogSchemaError(f"{name} could not be decompressed ({err}). Check that the file is complete.") from err
    what = {"csv": "CSV", "tsv": "TSV", "jsonl": "JSON lines"}[fmt]
    if isinstance(head, str):
        return
    for magic, text in _MAGIC:
        if head.startswith(magic):
            raise LogSchemaError(f"{name} is {text.format(fmt=what)}.")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") and codecs.lookup(encoding).name not in ("utf-16", "utf-32"):
        raise LogSchemaError(
            f"{name} is UTF-16 text (it starts with a UTF-16 byte-order mark), not {encoding}. "
            "Pass encoding='utf-16' to kg.read_log (--encoding utf-16), or save the file as UTF-8.")


# ------------------------------------------------------------------------------------------------ streams
def _stream_part(obj: Any, *, format: str | None, sep: str | None, encoding: str, string_columns: list[str]) -> Part:
    """A file-like object (text or binary): read once into memory, then read like a file."""
    name = getattr(obj, "name", None)
    name = str(name) if isinstance(name, (str, os.PathLike)) else f"<{type(obj).__name__}>"
    data = obj.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
        encoding = "utf-8"
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidParameterError(f"kg.read_log read {type(data).__name__} from {name}; pass a text or binary file object.")
    data = bytes(data)
    if not data:
        raise LogSchemaError(f"{name} is empty: there is no header and no row.")
    fmt = format or (infer_format(Path(name), None) if not name.startswith("<") else _guess_format(data))
    opener = lambda: io.BytesIO(data)  # noqa: E731
    _sniff(opener, name, fmt, encoding)
    info = {"path": name, "format": fmt}
    if fmt == "parquet":
        return Part(name, lambda part: _parquet_batches(part, opener), info=info)
    if fmt == "jsonl":
        return Part(name, lambda part: _jsonl_batches(part, opener, encoding), info=info, single=True)
    delim = sep or ("\t" if fmt == "tsv" else ",")
    return Part(name, lambda part: _csv_batches(part, opener, delim, encoding, string_columns),
                info={**info, "delimiter": delim}, size_hint=len(data))


def _guess_format(data: bytes) -> str:
    if data[:4] == b"PAR1":
        return "parquet"
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        return "jsonl"
    return "csv"


# ------------------------------------------------------------------------------------------------ datasets
def _dataset_parts(dset: Any, *, sep: str | None, encoding: str, string_columns: list[str]) -> list[Part]:
    """A pyarrow dataset: one part per fragment, with its partition columns. Local CSV and Parquet
    files are read by kocgraph's own readers (row accounting included)."""
    import pyarrow.dataset as ds

    parts = []
    frags = list(dset.get_fragments())
    if not frags:
        raise LogSchemaError("the pyarrow dataset has no file (no fragment). Check its source path.")
    for frag in frags:
        keys = {k: str(v) for k, v in (ds.get_partition_keys(frag.partition_expression) or {}).items()}
        path = Path(getattr(frag, "path", ""))
        fmt_name = type(frag.format).__name__.lower()
        if path.is_file() and ("csv" in fmt_name or "parquet" in fmt_name):
            fmt = "parquet" if "parquet" in fmt_name else "csv"
            parts.append(_file_part(path, format=fmt, sep=sep, encoding=encoding, string_columns=string_columns,
                                    keys=keys))
        else:
            def read(part: Part, frag: Any = frag) -> Generator[Any, None, None]:
                start = 0
                for rb in frag.to_batches(schema=dset.schema):
                    yield Batch(arrow_to_frame(rb, part.name), np.arange(start, start + rb.num_rows, dtype=np.int64))
                    start += rb.num_rows
            parts.append(Part(str(getattr(frag, "path", "fragment")), read, keys, info={"format": fmt_name}))
    return parts


# ------------------------------------------------------------------------------------------------ Parquet
def _parquet_batches(part: Part, open_bytes: Callable[[], Any]) -> Generator[Any, None, None]:
    """Row groups of a Parquet file, hashed as read."""
    import hashlib

    import pyarrow as pa
    import pyarrow.parquet as pq

    with open_bytes() as fh:
        data = fh.read()
    part.info.update(sha256=hashlib.sha256(data).hexdigest(), n_bytes=len(data), parser="parquet")
    try:
        pf = pq.ParquetFile(pa.BufferReader(data))
        names = pf.schema_arrow.names
        _check_unique_columns(names, repr(part.name))
        start = 0
        # the next row group is decoded while the caller ingests this one; a caller that stops early
        # stops the decoding worker here
        with closing(read_ahead(pf.read_row_group(i) for i in range(pf.num_row_groups))) as groups:
            for rb in groups:
                yield Batch(_constant_columns(arrow_to_frame(rb, repr(part.name)), part.keys),
                            np.arange(start, start + rb.num_rows, dtype=np.int64))
                start += rb.num_rows
        if pf.num_row_groups == 0:
            empty = pf.schema_arrow.empty_table()
            yield Batch(_constant_columns(arrow_to_frame(empty, repr(part.name)), part.keys), np.empty(0, np.int64))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as err:
        raise LogSchemaError(
            f"{part.name!r} is not a readable Parquet file ({str(err).splitlines()[0]}). "
            "Check that the file is complete (a damaged or truncated copy?), or re-export it.") from err


# ------------------------------------------------------------------------------------------------ JSON lines
def _jsonl_batches(part: Part, open_bytes: Callable[[], Any], encoding: str) -> Generator[Any, None, None]:
    """A JSON-lines file, whole (one batch)."""
    with open_bytes() as fh:
        data = fh.read()
    try:
        loaded = _load_jsonl(data, encoding)
    except LogSchemaError as err:
        raise LogSchemaError(f"{part.name!r} {err}") from err
    part.rejected = loaded.rejected
    part.info.update(loaded.info)
    rows = loaded.rows
    if loaded.lines is not None and np.array_equal(loaded.lines, rows + 1):
        part.line_offset = 1
    elif loaded.lines is not None:
        part.line_map = (rows, loaded.lines)
    yield Batch(_constant_columns(loaded.frame, part.keys), rows)


# ------------------------------------------------------------------------------------------------ CSV
def _csv_header(open_bytes: Callable[[], Any], delim: str, encoding: str) -> list[str] | None:
    """The header's column names (from the file's first record), or None when it has none."""
    with open_bytes() as fh:
        head = fh.read(1 << 20)
    dec = codecs.getincrementaldecoder("utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding)(errors="replace")
    text = dec.decode(head, final=False)
    for rec in csv.reader(io.StringIO(text, newline=""), delimiter=delim):
        if rec:
            return rec
    return None


def _csv_batches(part: Part, open_bytes: Callable[[], Any], delim: str, encoding: str,
                 string_columns: list[str]) -> Generator[Any, None, None]:
    """Stream a CSV file: threaded first; serially when the parser set records aside (to number them);
    by the exact path when the independent count disagrees."""
    import pyarrow as pa

    name = repr(part.name)
    if not _ascii_compatible(encoding):  # UTF-16/32: the tally works on ASCII-compatible bytes
        with open_bytes() as fh:
            try:
                data = fh.read().decode(encoding).encode("utf-8")
            except UnicodeDecodeError as err:
                raise _not_text(name, encoding, str(err)) from err
        open_bytes, encoding = (lambda: io.BytesIO(data)), "utf-8"
    header = _csv_header(open_bytes, delim, encoding)
    if header is not None:
        _check_unique_columns(header, name)
    types = {c: pa.string() for c in (header or [])}
    for threads in () if FORCE_EXACT else (True, False):
        got = yield from _csv_stream(part, open_bytes, delim, encoding, types, threads=threads)
        if got == "ok":
            return
        yield RESTART
        if got != "number":
            break
    with open_bytes() as raw:
        data = raw.read()
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    if part.info.get("sha256") and digest != part.info["sha256"]:
        raise LogSchemaError(
            f"{name} changed while it was being read (its SHA-256 differs between two reads). "
            "Read a finished file: copy it first, or wait until the export has ended.")
    out = csvread.exact_records(data, delim=delim, encoding=encoding, string_columns=list(types), name=name)
    part.rejected = out.rejected
    part.info.update(sha256=digest, n_bytes=len(data), parser="exact")
    part.line_offset = None
    part.line_map = (out.rows, out.lines) if out.lines is not None else None
    _check_binary(out.table, name, encoding)
    for rb, rows in _slices(out.table, out.rows):
        yield Batch(_constant_columns(arrow_to_frame(rb, name), part.keys), rows)


def _slices(table: Any, rows: np.ndarray, size: int = 1 << 20) -> Iterator[tuple[Any, np.ndarray]]:
    if table.num_rows == 0:
        yield table, rows
        return
    for a in range(0, table.num_rows, size):
        yield table.slice(a, size), rows[a:a + size]


def _check_binary(table: Any, name: str, encoding: str) -> None:
    import pyarrow as pa

    binary = [f.name for f in table.schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    if binary:  # pyarrow reads bytes that are not UTF-8 as binary instead of failing
        raise _not_text(name, encoding, f"column(s) {binary} hold bytes that are not {encoding} text")


def _csv_stream(part: Part, open_bytes: Callable[[], Any], delim: str, encoding: str, types: dict[str, Any], *,
                threads: bool) -> Any:
    """One streamed pass over a CSV file (a generator returning "ok", "number" (read it again
    serially to number the records set aside) or "exact" (read it by the exact path))."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    name = repr(part.name)
    malformed: list[tuple[int | None, str]] = []

    def handler(row: Any) -> str:
        malformed.append((row.number, row.text))
        return "skip"

    opts = csvread.arrow_options(delim, encoding, list(types), threads=threads, handler=handler,
                                 block_size=csvread.block_size_for(part.size_hint))
    opts["convert_options"] = pacsv.ConvertOptions(column_types=types, strings_can_be_null=False,
                                                   quoted_strings_can_be_null=False)
    failed = None
    n_rows = 0
    n_batches = 0
    next_rec = 0
    with open_bytes() as raw:
        tally = csvread.RecordTally(raw, delim)
        reader = None
        batches = None
        try:
            reader = pacsv.open_csv(tally, **opts)
            batches = read_ahead(reader)  # the next block is parsed while the caller ingests this one
            for rb in batches:
                numbered = [int(r) for r, _ in malformed if r is not None]
                if len(numbered) < len(malformed):
                    break  # unnumbered: the rows' record indices are unknown from here on
                rows, next_rec = _number_rows(rb.num_rows, next_rec, sorted(r - 2 for r in numbered))
                n_rows += rb.num_rows
                n_batches += 1
                _check_binary(rb, name, encoding)
                yield Batch(_constant_columns(arrow_to_frame(rb, name), part.keys), rows)
        except pa.ArrowInvalid as err:
            failed = str(err).splitlines()[0]
        except BaseException:  # the consumer stopped early (a schema error), or a check failed:
            tally.stop()       # answer the reads queued on pyarrow's I/O threads now, not at exit
            raise
        finally:
            if batches is not None:
                batches.close()
            if reader is not None:
                reader.close()
        tally.read()
        tally.finish()
    part.info.update(sha256=tally.sha256, n_bytes=tally.n_bytes, parser="arrow" if threads else "arrow-serial")
    if tally.records == 0:
        raise LogSchemaError(f"the log file {name} has no header line. Add one naming the columns.")
    if failed is not None:
        part.info["parser_note"] = f"the parser stopped: {failed}"
        return "exact"
    if malformed and any(r is None for r, _ in malformed):
        return "number"
    expected = tally.records - 1
    reason = None
    if n_rows + len(malformed) != expected:
        reason = (f"the parser found {n_rows + len(malformed):,} records where a quote-aware count of the "
                  f"bytes found {expected:,}")
    elif tally.odd_quotes:
        reason = "a quote is still open at the end of the file"
    elif tally.split_quoted_crlf:
        reason = "a quoted line end (CRLF) straddles two of the parser's blocks"
    elif tally.irregular_quotes:
        reason = "a quote stands inside a field's text (parsers disagree on it)"
    elif any("\n" in t or "\r" in t for _, t in malformed):
        reason = "a malformed record spans several lines"
    elif malformed and not tally.one_line_records:
        reason = "malformed records in a file with blank lines or records over several lines"
    if reason is not None:
        part.info["parser_note"] = reason
        return "exact"
    part.rejected = [RawRecord(int(r) - 2, int(r), "malformed_row", t) for r, t in malformed]  # type: ignore[arg-type]
    part.line_offset = 2 if tally.one_line_records else None
    if not n_batches:  # a header and no record
        frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in types})
        yield Batch(_constant_columns(frame, part.keys), np.empty(0, dtype=np.int64))
    return "ok"


def _number_rows(n: int, start: int, skipped: list[int]) -> tuple[np.ndarray, int]:
    """Record indices of the next ``n`` parsed rows from record ``start`` on, skipping the records
    set aside (``skipped``, sorted); and the record index after them."""
    rows = np.empty(n, dtype=np.int64)
    sk = np.asarray(skipped, dtype=np.int64)
    sk = sk[sk >= start]
    pos, r, j = 0, start, 0
    while pos < n:  # one step per skipped record in this batch (rare), else one slice
        nxt = int(sk[j]) if j < sk.size else None
        take = n - pos if nxt is None else min(n - pos, nxt - r)
        rows[pos:pos + take] = np.arange(r, r + take)
        pos += take
        r += take
        if nxt is not None and r == nxt:
            r += 1
            j += 1
    return rows, r


# ------------------------------------------------------------------------------------------------ whole files
def load_table(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    string_columns: list[str] | tuple[str, ...] = (),
    sep: str | None = None,
    encoding: str = "utf-8",
) -> LoadedTable:
    """Read one log file whole into a :class:`LoadedTable` (the streamed reader's batches, joined);
    see the module docstring. ``kg.read_log`` streams instead; this serves small side files."""
    (part,) = parts_of(Path(path), format=format, sep=sep, encoding=encoding, string_columns=list(string_columns))
    frames: list[pd.DataFrame] = []
    rows: list[np.ndarray] = []
    with closing(part.batches()) as batches:  # an error closes the parser now, not at exit
        for got in batches:
            if got is RESTART:
                frames, rows = [], []
                continue
            frames.append(got.frame)
            rows.append(got.rows)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    r = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    return LoadedTable(frame, r, part.lines_of(r), part.rejected, dict(part.info))
