"""CSV input that cannot lose a row in silence.

pyarrow's parallel parser reads the file (the fast path). Independently of it, the bytes that pass on
their way to the parser are hashed (SHA-256) and their records are counted by a quote-aware scan
(:class:`RecordTally`). When the parser's count (rows + malformed rows) disagrees with the scan, or a
quote is still open at the end of the file, or a malformed record spans several lines, the file is
read again by the exact path (:func:`exact_records`): Python's :mod:`csv` module, record by record,
which sets aside exactly the broken records:

* ``malformed_row``: a record that does not split into the header's fields;
* ``unbalanced_quote``: a line whose quote is never closed before the end of the file. Only that
  line is set aside, and reading resumes at the next line (Python's reader would otherwise read the
  whole rest of the file into one field).

The records are the records of Python's csv module with the same delimiter (``"`` quotes, ``""``
escapes a quote, line ends ``\\n``, ``\\r\\n`` or ``\\r``, blank lines skipped), plus the recovery rule
above; ``tests/test_csv_differential.py`` holds the fast path to that reference on generated files.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from ..exceptions import LogSchemaError

__all__ = ["BLOCK_SIZE", "RawRecord", "CsvRead", "RecordTally", "read_csv_checked", "exact_records"]

#: pyarrow's block size; the tests shrink it to put block boundaries everywhere
BLOCK_SIZE = 1 << 24
_QUOTE, _LF, _CR = 0x22, 0x0A, 0x0D


@dataclass(frozen=True)
class RawRecord:
    """A record set aside before parsing: its data-record index (0 = the first record after the
    header), the file line it starts on (1 = the header's line), the reason and the raw text."""

    row: int
    line: int | None
    reason: str
    text: str


@dataclass
class CsvRead:
    """What :func:`read_csv_checked` read: the parsed table, the data-record index of each of its
    rows and the file line it starts on (None when not known), the records set aside, and how the
    file was read."""

    table: Any
    rows: np.ndarray
    lines: np.ndarray | None
    rejected: list[RawRecord]
    sha256: str
    n_bytes: int
    parser: str
    note: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ the tally
class RecordTally(io.RawIOBase):
    """A read-only binary stream over ``raw`` that hashes the bytes passing through and counts CSV
    records with a quote-aware scan, chunk by chunk, in O(bytes) numpy work.

    A line end (``\\n``, ``\\r\\n`` or a lone ``\\r``) ends a record when an even number of quote
    characters precede it; a record with no bytes (a blank line) is not counted. This is the csv
    module's record count whenever quotes stand at field boundaries, as CSV writers put them; a quote
    inside an unquoted field (``ab"c``) makes the two disagree, which only sends the file to the
    exact path.

    >>> t = RecordTally(io.BytesIO(b'a,b\\r\\n"x\\ny",1\\n\\n2,3'))
    >>> _ = t.read()
    >>> t.finish()
    >>> t.records, t.odd_quotes, t.multiline
    (3, False, True)
    """

    def __init__(self, raw: IO[bytes], delimiter: str = ",") -> None:
        super().__init__()
        self._raw = raw
        self.delimiter = ord(delimiter)
        self.irregular_quotes = False  #: a quote stands inside a field's text (see _check_quotes)
        self._hash = hashlib.sha256()
        self.n_bytes = 0
        self.records = 0  #: non-blank records ended so far
        self.inner_ends = 0  #: line ends inside quotes
        self.blank = 0  #: blank lines (outside quotes)
        self._parity = 0  # quote characters seen so far, mod 2
        self._last_end = -1  # offset of the last record-ending line end
        self._prev_byte = -1  # the last byte of the previous chunk
        self._pending_cr = False  # the previous chunk ended with '\r' (a line end unless '\n' follows)
        self.split_quoted_crlf = False  #: a quoted '\r\n' straddles two reads (the parser's blocks)

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._raw.read(len(b))
        n = len(data)
        memoryview(b)[:n] = data
        if n:
            self._feed(data)
        return n

    def read(self, size: int | None = -1) -> bytes:
        data = self._raw.read() if size is None or size < 0 else self._raw.read(size)
        if data:
            self._feed(data)
        return bytes(data)

    # -- the scan
    def _feed(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        base = self.n_bytes
        self.n_bytes += len(chunk)
        a = np.frombuffer(chunk, dtype=np.uint8)
        ends, content = self._line_ends(chunk, a, base)
        if chunk.find(b'"') < 0:
            par = np.full(ends.shape[0], self._parity, dtype=np.int64)
        else:
            self._check_quotes(a)
            cs = np.cumsum(a == _QUOTE, dtype=np.uint8)  # wraps at 256: the parity survives
            local = ends - base  # a '\r' deferred from the last chunk sits at -1: no quote here precedes it
            par = (self._parity + np.where(local > 0, cs[np.clip(local - 1, 0, None)], 0)) & 1
            self._parity = (self._parity + int(cs[-1])) & 1
        self._close(ends[par == 0], content[par == 0])
        self.inner_ends += int(np.count_nonzero(par))
        self._prev_byte = int(a[-1])

    def _check_quotes(self, a: np.ndarray) -> None:
        """Note a quote with field text on both sides (``ab"c``, ``"a"b"c``): CSV writers never put
        one there, and parsers read it differently (pyarrow reopens the quote, Python's csv module
        keeps it as text), so such a file is read by the exact path."""
        if self.irregular_quotes or a.size < 3:
            return
        q = a[1:-1] == _QUOTE
        edge = np.zeros(a.size, dtype=bool)
        for b in (self.delimiter, _LF, _CR, _QUOTE):
            edge |= a == b
        if (q & ~edge[:-2] & ~edge[2:]).any():
            self.irregular_quotes = True

    def _close(self, ends: np.ndarray, content: np.ndarray) -> None:
        """Count the records ended at ``ends`` (their content stops at ``content``, exclusive)."""
        if not ends.shape[0]:
            return
        starts = np.empty_like(ends)
        starts[0] = self._last_end + 1
        starts[1:] = ends[:-1] + 1
        filled = int(np.count_nonzero(content > starts))
        self.records += filled
        self.blank += int(ends.shape[0]) - filled
        self._last_end = int(ends[-1])

    def _line_ends(self, chunk: bytes, a: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
        """Stream offsets of this chunk's line ends (the '\\n' of a '\\r\\n'; a '\\r' left over from the
        last chunk first) and where each line's content stops, as int64 arrays."""
        lf = np.flatnonzero(a == _LF)
        before = np.where(lf > 0, a[np.clip(lf - 1, 0, None)], self._prev_byte)
        ends, content = [lf + base], [np.where(before == _CR, lf - 1, lf) + base]
        if self._pending_cr:
            self._pending_cr = False
            if a[0] != _LF:  # a lone '\r' at base - 1
                ends.insert(0, np.array([base - 1]))
                content.insert(0, np.array([base - 1]))
            elif self._parity:  # a quoted '\r\n' split between two reads: pyarrow drops its '\n'
                self.split_quoted_crlf = True
        if chunk.find(b"\r") >= 0:
            cr = np.flatnonzero(a == _CR)
            if cr[-1] == a.size - 1:
                self._pending_cr = True
                cr = cr[:-1]
            lone = cr[a[cr + 1] != _LF] + base
            if lone.size:
                ends.append(lone)
                content.append(lone)
        e, c = np.concatenate(ends).astype(np.int64), np.concatenate(content).astype(np.int64)
        if len(ends) > 1:
            o = np.argsort(e, kind="stable")
            e, c = e[o], c[o]
        return e, c

    def finish(self) -> None:
        """Close the count at the end of the stream: a '\\r' as the last byte, and a last record with
        no line end (also one whose quote is still open, which the csv module reads as a record)."""
        if self._pending_cr:
            self._pending_cr = False
            end = np.array([self.n_bytes - 1])
            if self._parity == 0:
                self._close(end, end)
            else:
                self.inner_ends += 1
        if self.n_bytes - 1 > self._last_end:
            self.records += 1
            self._last_end = self.n_bytes - 1

    @property
    def odd_quotes(self) -> bool:
        """An odd number of quote characters: a quote is still open at the end of the file."""
        return bool(self._parity)

    @property
    def multiline(self) -> bool:
        """Some line end sits inside quotes (a record spans several lines)."""
        return self.inner_ends > 0

    @property
    def one_line_records(self) -> bool:
        """Every record is one line and no line is blank: record ``r`` (0 = the header) is line ``r + 1``."""
        return self.inner_ends == 0 and self.blank == 0

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


# ------------------------------------------------------------------------------------------------ reading
def _arrow_options(delim: str, encoding: str, string_columns: list[str], *, threads: bool, handler: Any,
                   block_size: int | None = None) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    return {
        "read_options": pacsv.ReadOptions(encoding=encoding, use_threads=threads,
                                          block_size=block_size or BLOCK_SIZE),
        "parse_options": pacsv.ParseOptions(delimiter=delim, newlines_in_values=True, invalid_row_handler=handler),
        # ids are exact text: no null tokens ('NA', 'null', ...) on string columns; an empty cell is ''
        "convert_options": pacsv.ConvertOptions(column_types={c: pa.string() for c in string_columns},
                                                strings_can_be_null=False, quoted_strings_can_be_null=False),
    }


def read_csv_checked(
    open_bytes: Any,
    *,
    name: str,
    delim: str,
    encoding: str,
    string_columns: list[str],
    force_exact: bool = False,
) -> CsvRead:
    """Read CSV bytes (``open_bytes()`` opens a fresh binary stream each call) with pyarrow, checked
    by an independent record count; fall back to :func:`exact_records` on any disagreement.

    ``name`` names the input in messages. Raises ``pyarrow.ArrowInvalid`` for the caller to word
    (e.g. bytes that are not text in ``encoding``); everything row-level comes back in
    :attr:`CsvRead.rejected`.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    malformed: list[tuple[int | None, str]] = []

    def handler(row: Any) -> str:
        malformed.append((row.number, row.text))
        return "skip"

    table = None
    failed = None
    with open_bytes() as raw:
        tally = RecordTally(raw, delim)
        if not force_exact:
            try:
                table = pacsv.read_csv(tally, **_arrow_options(delim, encoding, string_columns, threads=True,
                                                               handler=handler))
            except pa.ArrowInvalid as err:
                # a header alone, a record over several blocks, the chunker out of step, bytes that
                # are not text: the exact path reads the file, or says what is wrong with it
                failed = str(err).splitlines()[0]
        tally.read()  # what the parser left unread (nothing, normally)
        tally.finish()
    if tally.records == 0:
        raise LogSchemaError(f"the log file {name} has no header line. Add one naming the columns.")
    if force_exact:
        reason: str | None = "asked for"
    elif failed is not None:
        reason = f"the parser stopped: {failed}"
    else:
        reason = _disagreement(table, malformed, tally)
    if reason is not None:
        with open_bytes() as raw:
            data = raw.read()
        digest = hashlib.sha256(data).hexdigest()
        if digest != tally.sha256:
            raise LogSchemaError(
                f"{name} changed while it was being read (its SHA-256 differs between two reads). "
                "Read a finished file: copy it first, or wait until the export has ended.")
        out = exact_records(data, delim=delim, encoding=encoding, string_columns=string_columns, name=name)
        out.sha256, out.n_bytes, out.note = digest, len(data), reason
        return out
    assert table is not None  # _disagreement says so when the parser gave no table
    if malformed and any(r is None for r, _ in malformed):
        # the parallel parser does not number the rows it sets aside: read the (rare) damaged file
        # serially; it has one-line records (see _disagreement), so no record straddles two blocks
        malformed.clear()
        with open_bytes() as raw:
            table = pacsv.read_csv(raw, **_arrow_options(delim, encoding, string_columns, threads=False,
                                                           handler=handler))
    rejected = [RawRecord(int(r) - 2, int(r), "malformed_row", t) for r, t in malformed]  # type: ignore[arg-type]
    rows = _rows_around(table.num_rows, [r.row for r in rejected])
    lines = rows + 2 if tally.one_line_records else None
    return CsvRead(table, rows, lines, rejected, tally.sha256, tally.n_bytes, "arrow")


def _disagreement(table: Any, malformed: list[tuple[int | None, str]], tally: RecordTally) -> str | None:
    """Why the parser's result cannot be trusted as it is (None when it can)."""
    if table is None:
        return "the parser found no record after the header"
    expected = tally.records - 1  # the header
    got = table.num_rows + len(malformed)
    if got != expected:
        return f"the parser found {got:,} records where a quote-aware count of the bytes found {expected:,}"
    if tally.odd_quotes:
        return "a quote is still open at the end of the file"
    if tally.split_quoted_crlf:
        return "a quoted line end (CRLF) straddles two of the parser's blocks"
    if tally.irregular_quotes:
        return "a quote stands inside a field's text (parsers disagree on it)"
    if any("\n" in t or "\r" in t for _, t in malformed):
        return "a malformed record spans several lines"
    if malformed and not tally.one_line_records:
        return "malformed records in a file with blank lines or records over several lines"
    return None


def _rows_around(n_rows: int, skipped: list[int]) -> np.ndarray:
    """The data-record index of each of ``n_rows`` parsed rows, given the (sorted) indices of the
    records set aside between them."""
    rows = np.arange(n_rows, dtype=np.int64)
    if skipped:
        sk = np.sort(np.asarray(skipped, dtype=np.int64))
        # parsed row i is record i + (number of skipped records at or before its place)
        rows += np.searchsorted(sk - np.arange(sk.size), rows, side="right")
    return rows


# ------------------------------------------------------------------------------------------------ the exact path
@contextlib.contextmanager
def _no_field_limit() -> Iterator[None]:
    old = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _eof_inside_quotes(text: str, delim: str) -> bool:
    """Whether Python's csv reader reaches the end of ``text`` inside a quoted field."""
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True):
            pass
    except csv.Error as err:
        return "unexpected end of data" in str(err)
    return False


def _records(lines: list[str], start: int, delim: str) -> Iterator[tuple[int, int, list[str]]]:
    """``(first line index, last line index + 1, fields)`` of each non-blank record of ``lines[start:]``."""
    reader = csv.reader(iter(lines[start:]), delimiter=delim)
    done = 0
    for fields in reader:
        end = reader.line_num
        first = done
        done = end
        if fields:
            yield start + first, start + end, fields


def exact_records(data: bytes, *, delim: str, encoding: str, string_columns: list[str], name: str) -> CsvRead:
    """Read CSV bytes record by record with Python's csv module (see the module docstring), then
    parse the good records with pyarrow so that column types come out as on the fast path."""
    import pyarrow.csv as pacsv

    try:
        text = codecs.decode(data, "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding)
    except UnicodeDecodeError as err:
        raise LogSchemaError(
            f"{name} is not valid {encoding} text ({err}). Pass the file's encoding, e.g. "
            "encoding='gb18030' for Chinese exports from Excel, to kg.read_log (or --encoding).") from err
    lines = list(io.StringIO(text, newline=""))
    out = io.StringIO()
    # "\r\n" as the line end makes the writer quote any field holding a '\r' or a '\n'
    writer = csv.writer(out, delimiter=delim, lineterminator="\r\n")
    rows: list[int] = []
    at: list[int] = []
    rejected: list[RawRecord] = []
    header: list[str] | None = None
    n_data = 0
    start = 0
    with _no_field_limit():
        while True:
            pending: tuple[int, int, list[str]] | None = None
            restart = None
            for rec in _records(lines, start, delim):
                if pending is not None:
                    header, n_data = _take(pending, header, n_data, lines, writer, (rows, at), rejected)
                pending = rec
            if pending is not None:
                first, end, _ = pending
                if end == len(lines) and _eof_inside_quotes("".join(lines[first:end]), delim):
                    if header is None:
                        raise LogSchemaError(
                            f"{name}: the header line opens a quote that is never closed ({lines[first][:80]!r}). "
                            "Fix the header line.")
                    rejected.append(RawRecord(n_data, first + 1, "unbalanced_quote", lines[first].rstrip("\r\n")))
                    n_data += 1
                    restart = first + 1
                else:
                    header, n_data = _take(pending, header, n_data, lines, writer, (rows, at), rejected)
            if restart is None:
                break
            start = restart
    if header is None:
        raise LogSchemaError(f"{name} has no header line. Add one naming the columns.")
    body = out.getvalue().encode("utf-8")
    head = io.StringIO()
    csv.writer(head, delimiter=delim, lineterminator="\r\n").writerow(header)
    buf = head.getvalue().encode("utf-8") + body
    table = pacsv.read_csv(io.BytesIO(buf), **_arrow_options(delim, "utf-8", string_columns, threads=False,
                                                                handler=None, block_size=len(buf) + 1))
    return CsvRead(table, np.asarray(rows, dtype=np.int64), np.asarray(at, dtype=np.int64), rejected, "",
                   len(data), "exact")


def _take(rec: tuple[int, int, list[str]], header: list[str] | None, n_data: int, lines: list[str],
          writer: Any, kept: tuple[list[int], list[int]], rejected: list[RawRecord]) -> tuple[list[str] | None, int]:
    """File one record: the header, a good record (written out, its row and line kept) or a
    malformed one."""
    first, end, fields = rec
    if header is None:
        return fields, n_data
    if len(fields) == len(header):
        writer.writerow(fields)
        kept[0].append(n_data)
        kept[1].append(first + 1)
    else:
        rejected.append(RawRecord(n_data, first + 1, "malformed_row", "".join(lines[first:end]).rstrip("\r\n")))
    return header, n_data + 1
