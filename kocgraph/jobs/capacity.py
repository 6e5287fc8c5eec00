"""Will the log fit in memory? An estimate made before reading, so that a log too large for the
in-memory engine fails at once with a message, not minutes later when the operating system kills
the process.

The number of events is estimated without parsing the log: a Parquet file's row count from its
footer, a CSV/TSV/JSON-lines file's from its size and the bytes per line of its first megabytes
(decompressed, for ``.gz``/``.bz2``/``.xz``), a sample's from the registry, a DataFrame's from its
length. The memory the job needs is :data:`BASE_BYTES` plus :data:`BYTES_PER_EVENT` per event,
the measured peak of ``kocgraph nominate`` (see ``docs/benchmarks.md``, memory at 1e7).

Examples
--------
>>> from kocgraph.jobs.capacity import estimate_events, memory_needed
>>> estimate_events("sample:toy")
30
>>> memory_needed(10_000_000) / 2**30 < 2
True
"""

from __future__ import annotations

import bz2
import lzma
import os
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .._core.resources import available_memory
from ..exceptions import KocgraphError

__all__ = ["LogTooLargeError", "BYTES_PER_EVENT", "BASE_BYTES", "estimate_events", "memory_needed", "check_memory"]

#: peak resident memory of ``kocgraph nominate`` per event of the log, beyond :data:`BASE_BYTES`:
#: measured 1,780-1,789 MiB at 10,095,117 events, i.e. (1,789 - 300) MiB / 1.01e7 = 155 bytes, rounded
#: up (docs/benchmarks.md, "Memory at 1e7"). Since the stage reorder of 2026-12-06 the job peaks at
#: 1,567-1,625 MiB there (137 bytes) and 12,187 MiB at 1.07e8 events (117 bytes); the figure is kept
#: as headroom for logs of other shapes (more users or edges per event than the synthetic sample).
BYTES_PER_EVENT = 160
#: the interpreter, the libraries and the job's fixed costs
BASE_BYTES = 300 * 2**20
#: set to 1 to skip the check (the estimate is an upper bound measured on one kind of log)
SKIP_ENV = "KOCGRAPH_SKIP_MEMORY_CHECK"
#: how much of a text file's (decompressed) start is read to measure its bytes per line
SAMPLE_BYTES = 4 * 2**20


class LogTooLargeError(KocgraphError, MemoryError):
    """The log is estimated to need more memory than the machine has available (raised before
    reading; the command line reports it as a data error)."""


def memory_needed(n_events: int) -> int:
    """Bytes the in-memory nomination job is estimated to need at its peak for ``n_events``."""
    return BASE_BYTES + BYTES_PER_EVENT * int(n_events)


def estimate_events(log: Any, read_options: Mapping[str, Any] | None = None) -> int | None:
    """The number of events (rows) of ``log``, estimated without parsing it; None when it cannot
    be told cheaply (a file-like object, a pyarrow dataset, a compression without a reader here).
    A path, a folder, a glob or a list of paths counts every file it names; files that cannot be
    estimated count as 0, so the estimate errs low (the check never refuses a log for them)."""
    if isinstance(log, pd.DataFrame):
        return len(log)
    if isinstance(log, str) and log.startswith("sample:"):
        from ..datasets import SAMPLES

        s = SAMPLES.get(log.split(":", 1)[1])
        return None if s is None else int(s.approx_events)
    if not isinstance(log, (str, os.PathLike, list, tuple)):
        return None
    from ..io.sources import parts_of

    opts = dict(read_options or {})
    parts = parts_of(log, format=opts.get("format"), sep=opts.get("sep"), encoding=opts.get("encoding", "utf-8"),
                     string_columns=[])
    return sum(_file_rows(Path(p.info["path"]), p.info["format"]) or 0 for p in parts)


def _file_rows(path: Path, fmt: str) -> int | None:
    """Rows of one file: Parquet from its footer, text from its size and its first lines."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception:  # noqa: BLE001 - a broken footer: the reader reports it with the file named
            return None
    head, used, size = _text_head(path)
    if head is None:
        return None
    lines = head.count(b"\n")
    if used >= size:  # the whole file was read
        return max(lines + (bool(head) and not head.endswith(b"\n")) - (fmt != "jsonl"), 0)
    return int(lines * size / max(used, 1))


#: streaming decompressors by suffix (zlib's ``wbits=47`` reads a gzip header)
_DECOMPRESSORS: dict[str, Any] = {".gz": lambda: zlib.decompressobj(wbits=47), ".bz2": bz2.BZ2Decompressor,
                                  ".xz": lzma.LZMADecompressor}


def _text_head(path: Path) -> tuple[bytes | None, int, int]:
    """The first :data:`SAMPLE_BYTES` or more of a text file's (decompressed) bytes, the raw bytes
    read for them and the file's raw size; ``(None, 0, size)`` for a compression read elsewhere
    (``.zst``) or a damaged file (the reader reports it)."""
    size = path.stat().st_size
    suffix = path.suffix.lower()
    with open(path, "rb") as raw:
        if suffix not in _DECOMPRESSORS:
            if suffix == ".zst":
                return None, 0, size
            head = raw.read(SAMPLE_BYTES)
            return head, len(head), size
        dec, out, n_out, used = _DECOMPRESSORS[suffix](), [], 0, 0
        try:
            while n_out < SAMPLE_BYTES and not dec.eof:
                chunk = raw.read(1 << 16)
                if not chunk:
                    break
                used += len(chunk)
                out.append(dec.decompress(chunk))
                n_out += len(out[-1])
        except (OSError, EOFError, zlib.error, lzma.LZMAError):
            return None, 0, size
    return b"".join(out), used, size


def check_memory(log: Any, read_options: Mapping[str, Any] | None = None, *, available: int | None = None) -> None:
    """Raise :class:`LogTooLargeError` when ``log`` is estimated to need more memory than is
    available (``available`` bytes; default: measured now). Does nothing when either is unknown, or
    when the environment sets :data:`SKIP_ENV` (``KOCGRAPH_SKIP_MEMORY_CHECK=1``: the operator knows
    better than the estimate)."""
    if os.environ.get(SKIP_ENV, "").strip() not in ("", "0"):
        return
    n = estimate_events(log, read_options)
    avail = available_memory() if available is None else available
    if n is None or avail is None:
        return
    need = memory_needed(n)
    if need <= avail:
        return
    raise LogTooLargeError(
        f"the log {_name(log)} has about {n:,} events; the in-memory engine would need about "
        f"{need / 2**30:,.1f} GiB ({BYTES_PER_EVENT} bytes per event plus {BASE_BYTES / 2**30:.1f} GiB), more than "
        f"the {avail / 2**30:,.1f} GiB of memory available. Run it with --engine spark, on a machine with more "
        f"memory, or on a time window of the log (or, if you know it fits, set {SKIP_ENV}=1).")


def _name(log: Any) -> str:
    if isinstance(log, pd.DataFrame):
        return "(a DataFrame)"
    if isinstance(log, (list, tuple)):
        return f"({len(log)} files)"
    return repr(str(log))

