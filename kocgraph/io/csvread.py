"""CSV input that cannot lose a row in silence: the pieces the streamed reader uses.

pyarrow's streaming parser reads the file (the fast path, :mod:`kocgraph.io.sources`). Independently
of it, the bytes that pass on their way to the parser are hashed (SHA-256) and their records counted
by a quote-aware scan (:class:`RecordTally`). When the parser's count (rows + malformed rows)
disagrees with the scan, or a quote is still open at the end of the file, or a malformed record spans
several lines, or a quote stands inside a field's text, the file is read again by the exact path
(:func:`exact_records`): Python's :mod:`csv` module, record by record, which sets aside exactly the
broken records:

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

__all__ = ["BLOCK_SIZE", "RawRecord", "CsvRead", "RecordTally", "arrow_options", "exact_records"]

#: pyarrow's largest block; the tests shrink it to put block boundaries everywhere
BLOCK_SIZE = 1 << 26
#: the smallest block for a file of known size (see :func:`block_size_for`)
MIN_BLOCK = 1 << 22


def block_size_for(n_bytes: int | None) -> int:
    """The parser's block for a file of ``n_bytes``: about an eighth of it (so both cores parse from
    the start on small files), between :data:`MIN_BLOCK` and :data:`BLOCK_SIZE` (few batches, so few
    batch dictionaries to merge, on large ones).

    >>> block_size_for(40 << 20) == 5 << 20, block_size_for(None) == BLOCK_SIZE
    (True, True)
    """
    if n_bytes is None:
        return BLOCK_SIZE
    return int(min(BLOCK_SIZE, max(min(MIN_BLOCK, BLOCK_SIZE), n_bytes // 8)))
#: the scan's piece: the tally makes several passes over each piece, so a piece stays in cache
#: between them (half the scan's time at 1 MiB pieces or less, against 5 MiB reads)
SCAN_PIECE = 1 << 18
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
        self._prev2 = -1  # the byte before it (-1: none yet)
        self._edge = np.zeros(256, dtype=bool)  # the bytes a quote may stand beside (see _check_quotes)
        self._edge[[self.delimiter, _LF, _CR, _QUOTE]] = True
        self._pending_cr = False  # the previous chunk ended with '\r' (a line end unless '\n' follows)
        self.split_quoted_crlf = False  #: a quoted '\r\n' straddles two reads (the parser's blocks)
        self._stopped = False  # see stop()
        self._calls = 0  # reads asked for so far (stop() waits until they cease)
        self._cr_here = self._quote_here = True  # whether the current read holds a '\r', a quote
        self._buf = np.empty(0, dtype=bool)  # the byte compares' output, reused piece after piece

    def readable(self) -> bool:
        return True

    def stop(self, quiet_s: float = 0.02, max_s: float = 0.5) -> None:
        """End the stream early (a consumer stopped reading): every later read returns end of file,
        and this waits, with the GIL released, until no read has come for ``quiet_s`` seconds (at
        most ``max_s``).

        pyarrow's streaming reader reads ahead on its I/O threads, through this Python object. A
        read still queued when the interpreter shuts down waits for the GIL there and aborts the
        process ("terminate called without an active exception", apache/arrow#34314). Answering
        the queued reads now, with end of file, lets them finish while Python still runs.
        """
        import time

        self._stopped = True
        start = time.monotonic()
        while time.monotonic() - start < max_s:
            seen = self._calls
            time.sleep(quiet_s)
            if self._calls == seen:
                return

    def readinto(self, b: Any) -> int:
        self._calls += 1
        if self._stopped:
            return 0
        data = self._raw.read(len(b))
        n = len(data)
        memoryview(b)[:n] = data
        if n:
            self._feed(data)
        return n

    def read(self, size: int | None = -1) -> bytes:
        self._calls += 1
        if self._stopped:
            return b""
        data = self._raw.read() if size is None or size < 0 else self._raw.read(size)
        if data:
            self._feed(data)
        return bytes(data)

    # -- the scan
    def _feed(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        # one search per read, not per piece: a read with no '\r' (nearly every file's every read)
        # takes the packed scan, and one with no quote skips the quotes' masks
        self._cr_here = chunk.find(b"\r") >= 0
        self._quote_here = chunk.find(b'"') >= 0
        step = SCAN_PIECE
        view = memoryview(chunk)
        for at in range(0, len(chunk), step):  # pieces that stay in the core's cache across the passes
            self._feed_piece(view[at:at + step])

    def _feed_piece(self, piece: memoryview) -> None:
        base = self.n_bytes
        self.n_bytes += len(piece)
        a = np.frombuffer(piece, dtype=np.uint8)
        if self._pending_cr or self._cr_here or not self._scan_plain(a, base):
            self._scan(bytes(piece), a, base)
        self._check_seam(a)
        self._prev2 = int(a[-2]) if a.size > 1 else self._prev_byte
        self._prev_byte = int(a[-1])

    def _mask(self, a: np.ndarray, byte: int) -> np.ndarray:
        """Where ``a`` holds ``byte``, as packed words (see :func:`_words`), through a reused buffer."""
        if self._buf.size < a.size:
            self._buf = np.empty(a.size, dtype=bool)
        return _words(np.equal(a, byte, out=self._buf[:a.size]))

    def _scan_plain(self, a: np.ndarray, base: int) -> bool:
        """The scan of a piece with no '\r' in it, on packed bit masks (one bit per byte, so every
        step after the three byte compares works on an eighth of the bytes), when none of its line
        ends is inside quotes, as in nearly every piece of nearly every file; returns False, having
        changed nothing, when one is (then :meth:`_scan` counts the piece).

        A quote's parity after each byte is a running XOR of the quote bits (:func:`_odd_after`); a
        line end is a blank line when the byte before it is a line end too (or, for the piece's
        first byte, when the last record ended on the byte before it)."""
        lf = self._mask(a, _LF)
        parity = self._parity
        if self._quote_here:
            isq = self._mask(a, _QUOTE)
            odd, parity = _odd_after(isq, parity)
            if (odd & lf).any():  # a line end inside quotes
                return False
            self._check_quotes_bits(a, isq, lf)
        elif parity and lf.any():
            return False
        n_ends = _popcount(lf)
        if n_ends:
            twice = lf & _after(lf)  # a line end right after a line end: a blank line
            blank = _popcount(twice) if twice.any() else 0
            blank += int(bool(a[0] == _LF) and self._last_end == base - 1)
            self.records += n_ends - blank
            self.blank += blank
            self._last_end = base + _last_bit(lf)
        self._parity = parity
        return True

    def _check_quotes_bits(self, a: np.ndarray, isq: np.ndarray, lf: np.ndarray) -> None:
        """:meth:`_check_quotes` on packed masks, for a piece with no '\r': a quote with neither
        neighbour a delimiter, a line end or a quote (the piece's first and last bytes are left to
        :meth:`_check_seam`)."""
        if self.irregular_quotes or a.size < 3:
            return
        edge = self._mask(a, self.delimiter)
        edge |= isq
        edge |= lf
        lone = isq & ~(_after(edge) | _before(edge))
        lone[0] &= ~np.uint64(1)
        last = a.size - 1
        lone[last >> 6] &= ~np.uint64(1 << (last & 63))
        if lone.any():
            self.irregular_quotes = True

    def _scan(self, chunk: bytes, a: np.ndarray, base: int) -> None:
        """The scan of any chunk: every line end's offset and the quotes' parity before it."""
        ends, content = self._line_ends(chunk, a, base)
        if chunk.find(b'"') < 0:
            par = np.full(ends.shape[0], self._parity, dtype=np.int64)
        else:
            q = np.flatnonzero(a == _QUOTE)  # the quotes' offsets in this chunk, ascending
            self._check_quotes(a, q)
            # quotes of this chunk before each line end (a '\r' deferred from the last chunk sits at -1:
            # none precedes it); a binary search per line end instead of a running count per byte
            before = np.searchsorted(q, ends - base, side="left")
            par = (self._parity + before) & 1
            self._parity = (self._parity + int(q.size)) & 1
        self._close(ends[par == 0], content[par == 0])
        self.inner_ends += int(np.count_nonzero(par))

    def _check_quotes(self, a: np.ndarray, q: np.ndarray) -> None:
        """Note a quote (``q``: the quotes' offsets in ``a``) with field text on both sides (``ab"c``,
        ``"a"b"c``): CSV writers never put one there, and parsers read it differently (pyarrow
        reopens the quote, Python's csv module keeps it as text), so such a file is read by the exact
        path. Only the bytes beside each quote are looked at; a quote at either end of the chunk is
        looked at by :meth:`_check_seam`."""
        if self.irregular_quotes or a.size < 3:
            return
        inner = q[(q > 0) & (q < a.size - 1)]
        if (~self._edge[a[inner - 1]] & ~self._edge[a[inner + 1]]).any():
            self.irregular_quotes = True

    def _check_seam(self, a: np.ndarray) -> None:
        """The quotes beside the seam between the last chunk and this one: the last chunk's last
        byte (its right neighbour is ``a[0]``) and this chunk's first byte (its left neighbour is
        the last chunk's last byte). The first and last bytes of the stream have no neighbour."""
        edge, prev = self._edge, self._prev_byte
        if self.irregular_quotes or prev < 0:
            return
        last_was = prev == _QUOTE and self._prev2 >= 0 and not edge[self._prev2] and not edge[a[0]]
        first_is = a[0] == _QUOTE and a.size > 1 and not edge[prev] and not edge[a[1]]
        self.irregular_quotes = bool(last_was or first_is)

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


def _words(mask: np.ndarray) -> np.ndarray:
    """A bool mask packed into little-endian 64-bit words: byte ``i`` is bit ``i % 64`` of word ``i // 64``."""
    bits = np.packbits(mask, bitorder="little")
    pad = -bits.size % 8
    if pad:
        bits = np.concatenate([bits, np.zeros(pad, dtype=np.uint8)])
    return bits.view("<u8")


_ONE, _TOP = np.uint64(1), np.uint64(63)
_bitwise_count = getattr(np, "bitwise_count", None)  # numpy >= 2.0


def _after(x: np.ndarray) -> np.ndarray:
    """Packed words (see :func:`_words`) moved one byte on: bit ``i`` of the result is bit ``i - 1``
    of ``x`` (whether the byte before holds the mark; none before the first)."""
    y = x << _ONE
    y[1:] |= x[:-1] >> _TOP
    return y


def _before(x: np.ndarray) -> np.ndarray:
    """Packed words moved one byte back: bit ``i`` of the result is bit ``i + 1`` of ``x``."""
    y = x >> _ONE
    y[:-1] |= x[1:] << _TOP
    return y


def _popcount(words: np.ndarray) -> int:
    """The set bits of packed words."""
    if _bitwise_count is not None:
        return int(_bitwise_count(words).sum())
    return int(np.count_nonzero(np.unpackbits(words.view(np.uint8))))  # numpy < 2


def _last_bit(words: np.ndarray) -> int:
    """The byte offset of the last set bit of packed words that have one."""
    w = int(np.flatnonzero(words)[-1])
    return (w << 6) + int(words[w]).bit_length() - 1


def _odd_after(isq: np.ndarray, parity: int) -> tuple[np.ndarray, int]:
    """Whether an odd number of quotes (``isq``, packed words, with ``parity`` of them before) stand up to
    and including each byte, as packed words (see :func:`_words`); and the parity at the end.

    A prefix XOR within each word by six shift-XOR steps, then each word flipped by the parity of
    all words before it: a few passes over a 64th of the bytes, where a running XOR over the bytes
    costs ten times as much.

    >>> odd, end = _odd_after(_words(np.array([0, 1, 0, 0, 1, 0], dtype=bool)), 1)
    >>> [int(odd[0]) >> i & 1 for i in range(6)], end
    ([1, 0, 0, 0, 1, 1], 1)
    """
    x = isq.copy()
    for shift in (1, 2, 4, 8, 16, 32):
        x ^= x << np.uint64(shift)
    flips = np.bitwise_xor.accumulate((x >> np.uint64(63)).astype(np.uint8))  # through each word
    end = (int(flips[-1]) ^ parity) if flips.size else parity
    before = np.empty_like(flips)
    before[:1] = parity
    np.bitwise_xor(flips[:-1], parity, out=before[1:])
    x ^= np.uint64(0) - before.astype(np.uint64)  # all ones where the words before hold an odd count
    return x, end


# ------------------------------------------------------------------------------------------------ reading
def arrow_options(delim: str, encoding: str, string_columns: list[str], *, threads: bool, handler: Any,
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
    table = pacsv.read_csv(io.BytesIO(buf), **arrow_options(delim, "utf-8", string_columns, threads=False,
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
