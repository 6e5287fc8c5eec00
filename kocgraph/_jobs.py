"""Batch jobs behind the command line, importable and testable without argparse.

:func:`nominate` is the nightly nomination job: ``read_log -> tl.cascades -> tl.pagerank ->
tl.coreness -> tl.communities -> tl.kocs -> get.kocs``, then (with an output path) the ranked table,
the rejected rows, the excluded accounts and a run manifest, each written atomically. The command
line (``kocgraph nominate``) only turns flags into a :class:`NominateConfig` and prints the result.

Examples
--------
>>> from kocgraph._jobs import NominateConfig, nominate
>>> res = nominate(NominateConfig("sample:toy", staff_ids=["brand", "staff_li"], top=3, progress=False))
>>> res.table["user"].tolist()
['alice', 'carol', 'bob']
>>> res.outputs
{}
"""

from __future__ import annotations

import codecs
import hashlib
import hmac
import json
import os
import platform
import stat
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._version import __version__
from .exceptions import InvalidParameterError, LogSchemaError, NodeNotFoundError

__all__ = [
    "NominateConfig",
    "NominateResult",
    "NoUsableDataError",
    "nominate",
    "read_input",
    "resolve_staff",
    "Pseudonymizer",
    "atomic_write",
    "write_table",
    "output_paths",
    "file_sha256",
    "format_top_table",
    "check_read_options",
    "check_log_name",
    "check_seed",
    "check_bootstrap",
    "check_outputs",
    "check_config",
    "available_memory",
    "release_memory",
    "fixed_mmap_threshold",
    "StageMemory",
    "STAGES",
    "BOOTSTRAP_MAX",
]

OutputFormat = Literal["csv", "parquet", "json"]
#: output formats and the file suffixes that select them when ``format`` is not given
FORMATS: dict[str, tuple[str, ...]] = {"csv": (".csv",), "parquet": (".parquet", ".pq"), "json": (".json",)}
#: the stages of the nomination job, in order (the progress bar counts these)
STAGES = ("read_log", "cascades", "pagerank", "coreness", "communities", "kocs", "write")
#: columns of the KOC table that are free text, never user ids (left alone by pseudonymization)
_TEXT_COLUMNS = frozenset({"reason", "excluded"})
#: the most bootstrap draws a job takes: rank intervals settle within a few hundred draws, and 10,000
#: draws keep the rank matrix (draws x at most 1,000 users x 8 bytes) near 80 MB
BOOTSTRAP_MAX = 10_000


class NoUsableDataError(LogSchemaError):
    """The log has no usable event left (empty, or every row rejected)."""


# ------------------------------------------------------------------------------------------------ config
@dataclass
class NominateConfig:
    """Everything the nomination job needs; the command line fills it from its flags.

    Parameters
    ----------
    log
        A log path, ``"sample:NAME"`` (see ``kg.datasets.samples()``) or a pandas DataFrame.
    read_options
        Keyword arguments for :func:`kocgraph.read_log` (``source``, ``target``, ``time_unit``, ...).
    staff_file, staff_ids
        Staff accounts: a text file with one id per line (``#`` comments allowed) and/or ids.
    top
        How many candidates the table holds.
    out
        Output path; ``None`` computes and returns the table but writes nothing.
    format
        ``"csv"``, ``"parquet"`` or ``"json"``; ``None`` infers it from ``out``'s suffix (else CSV).
    pseudonymize
        A salt: every user id in every output becomes ``"p_" + HMAC-SHA256(salt, str(id))[:16]``.
    bootstrap, per_community, kol_threshold, rng
        Passed to :func:`kocgraph.tl.kocs` (``rng`` also seeds the communities).
    progress
        Show a tqdm bar over the stages on stderr; ``None`` = only when stderr is a terminal.
    """

    log: Any
    read_options: dict[str, Any] = field(default_factory=dict)
    staff_file: str | os.PathLike[str] | None = None
    staff_ids: Sequence[Any] = ()
    top: int = 100
    out: str | os.PathLike[str] | None = None
    format: OutputFormat | None = None
    pseudonymize: str | None = None
    bootstrap: int = 0
    per_community: int | None = None
    kol_threshold: int | str | None = "auto"
    rng: int = 0
    progress: bool | None = None


@dataclass
class NominateResult:
    """What :func:`nominate` produced: the table (as written), the paths written, the manifest."""

    table: pd.DataFrame
    excluded: pd.DataFrame
    outputs: dict[str, str]
    manifest: dict[str, Any]
    graph: Any = None
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------ input
def read_input(log: Any, read_options: Mapping[str, Any] | None = None) -> Any:
    """Read a log path / ``sample:NAME`` / DataFrame into a ShareGraph (``read_options`` go to read_log)."""
    import kocgraph as kg

    if isinstance(log, str) and log.startswith("sample:"):
        from .datasets import load_sample

        return load_sample(log.split(":", 1)[1])
    return kg.read_log(log, **dict(read_options or {}))


def resolve_staff(
    g: Any,
    staff_file: str | os.PathLike[str] | None = None,
    staff_ids: Iterable[Any] = (),
    *,
    note: Callable[[str], None] | None = None,
    show: Callable[[Any], Any] = lambda x: x,
) -> list[Any]:
    """Staff ids from a file (one per line, ``#`` comments) and/or a list, checked against the graph.

    Ids are text on the command line; when the graph's user ids are integers they are converted.
    Ids not in the graph are ignored with a note; when *none* is in the graph,
    :class:`~kocgraph.NodeNotFoundError` is raised. A missing file raises
    :class:`~kocgraph.LogSchemaError`.
    """
    ids: list[Any] = []
    if staff_file is not None and str(staff_file) != "":
        p = Path(staff_file)
        if not p.is_file():
            raise LogSchemaError(
                f"staff file {str(p)!r} does not exist. Pass --staff with a text file of staff ids, one per line, "
                "or --staff-ids id1,id2."
            )
        ids += [ln.strip() for ln in p.read_text(encoding="utf-8-sig").splitlines()
                if ln.strip() and not ln.strip().startswith("#")]
    ids += [s for s in (str(x).strip() if isinstance(x, str) else x for x in staff_ids) if s != ""]
    if not ids:
        return []
    index = g.nodes.index
    int_ids = index.dtype.kind in "iu" or (len(index) > 0 and isinstance(index[0], (int, np.integer))
                                            and not isinstance(index[0], bool))
    if int_ids:
        try:
            ids = [int(x) for x in ids]
        except (TypeError, ValueError) as err:
            raise LogSchemaError(
                f"staff ids must be integers for this log (its user ids are integers): {err}. "
                "Check the staff file against the log's source/target columns."
            ) from err
    else:
        ids = [str(x) for x in ids]
    ids = list(dict.fromkeys(ids))
    hit = index.isin(ids)
    present_set = set(index[hit].tolist()) if hit.any() else set()
    present = [x for x in ids if x in present_set]
    missing = [x for x in ids if x not in present_set]
    if missing and not present:
        raise NodeNotFoundError(
            f"none of the {len(ids)} staff ids is a user in the log (e.g. {[show(x) for x in missing[:3]]}). "
            "Check the staff file against the log's source/target columns."
        )
    if missing and note is not None:
        note(f"note: {len(missing)} staff id(s) not in the log, ignored: {[show(x) for x in missing[:5]]}")
    return present


def file_sha256(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, streamed in ``chunk``-byte blocks (never the whole file in memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


# ------------------------------------------------------------------------------------------------ checks
# Every flag is checked before any reading, so a typo costs a second, not a run.
def check_read_options(opts: Mapping[str, Any]) -> None:
    """Check the ``read_log`` options that the reader would only trip over late (or ignore):
    ``encoding`` (known to Python), ``tz`` (known to pandas, checked even when the times turn out to
    be epoch numbers or carry their own zone) and ``sep`` (one character). Raises
    :class:`~kocgraph.InvalidParameterError` (exit code 2 on the command line).

    >>> check_read_options({"encoding": "gb18030", "tz": "Asia/Shanghai", "sep": ";"})
    >>> check_read_options({"tz": "Mars/Olympus"})
    Traceback (most recent call last):
    ...
    kocgraph.exceptions.InvalidParameterError: tz='Mars/Olympus' (--tz) is not a time zone pandas knows; ...
    """
    enc = opts.get("encoding")
    if enc is not None:
        try:
            text_codec = getattr(codecs.lookup(str(enc)), "_is_text_encoding", True)  # not base64, rot13, ...
        except LookupError:
            text_codec = False
        if not text_codec:
            raise InvalidParameterError(
                f"encoding={enc!r} (--encoding) is not a text encoding Python knows; pass e.g. utf-8, gb18030, "
                "big5 or utf-16.")
    tz = opts.get("tz")
    if tz is not None:
        try:
            pd.Timestamp(0).tz_localize(tz)
        except Exception:  # pytz, zoneinfo and dateutil each raise their own type
            raise InvalidParameterError(
                f"tz={tz!r} (--tz) is not a time zone pandas knows; pass an IANA name such as 'Asia/Shanghai' or "
                "'UTC' (the default).") from None
    sep = opts.get("sep")
    if sep is not None and (not isinstance(sep, str) or len(sep) != 1 or sep in '\r\n"'):
        raise InvalidParameterError(
            f"sep={sep!r} (--sep) must be one character other than a quote or a line break; pass e.g. ',' ';' "
            "or a tab (--sep $'\\t').")


def check_log_name(log: Any) -> None:
    """A ``sample:NAME`` log must name a registered sample (checked before any reading)."""
    if isinstance(log, str) and log.startswith("sample:"):
        from .datasets import SAMPLES

        name = log.split(":", 1)[1]
        if name not in SAMPLES:
            raise InvalidParameterError(
                f"sample {name!r} is not in the registry; known samples are {list(SAMPLES)}. See kg.datasets.samples().")


def check_seed(rng: Any, flag: str = "--rng") -> int:
    """A random seed: a whole number >= 0 (what numpy accepts); raises InvalidParameterError."""
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or int(rng) < 0:
        raise InvalidParameterError(f"rng={rng!r} ({flag}) must be a whole number >= 0; pass e.g. {flag} 0.")
    return int(rng)


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        pass
    try:  # pragma: no cover
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover
        return None


def check_bootstrap(bootstrap: Any, *, memory: int | None = None) -> int:
    """Bootstrap draws: 0 (off) to :data:`BOOTSTRAP_MAX`, and their rank matrix (draws x at most
    ``BOOTSTRAP_TOP`` users x 8 bytes, about 3x that at its peak with the quantiles) within half the
    available memory (``memory`` bytes; default: measured). Raises InvalidParameterError.

    >>> check_bootstrap(200)
    200
    """
    from .tl._kocs import BOOTSTRAP_TOP

    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or int(bootstrap) < 0:
        raise InvalidParameterError(f"bootstrap={bootstrap!r} (--bootstrap) must be a whole number >= 0; pass e.g. 200.")
    b = int(bootstrap)
    need = 3 * 8 * BOOTSTRAP_TOP * b
    avail = available_memory() if memory is None else memory
    size = f"{b:,} draws would need up to {need / 2**30:,.2f} GiB for the rank intervals alone"
    if b > BOOTSTRAP_MAX:
        raise InvalidParameterError(
            f"bootstrap={b:,} (--bootstrap) is more than the {BOOTSTRAP_MAX:,} draws kocgraph takes ({size}, and "
            "rank intervals settle within a few hundred). Pass e.g. --bootstrap 200.")
    if avail is not None and need > avail // 2:
        raise InvalidParameterError(
            f"bootstrap={b:,} (--bootstrap): {size}, more than half the {avail / 2**30:,.2f} GiB of memory "
            "available. Pass fewer draws, e.g. --bootstrap 200, or free some memory.")
    return b


_KIND_WORDS = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO (named pipe)",
               stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a directory"}


def _not_regular(p: Path) -> str | None:
    """What ``p`` is when it exists and is neither a regular file nor a link to one (nor a dangling link)."""
    try:
        st = p.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):  # a link is replaced, not followed; a link to a device or pipe is refused
        try:
            st = p.stat()
        except OSError:
            return None
        kind = _KIND_WORDS.get(stat.S_IFMT(st.st_mode))
        return None if kind is None else f"a link to {kind}"
    if stat.S_ISREG(st.st_mode):
        return None
    return _KIND_WORDS.get(stat.S_IFMT(st.st_mode), "not a regular file")


def check_outputs(outputs: Iterable[str | os.PathLike[str]], inputs: Iterable[Any] = (), *, flag: str = "--out",
                  example: str = "kocs.csv") -> None:
    """Refuse output paths that would destroy what the job does not own, before any work starts:
    a missing or unwritable directory, a path that exists and is not a regular file (a directory, a
    device such as /dev/null, a FIFO, a socket, or a link to one), and any input of the run (the log,
    the staff file; compared after resolving links, and by inode). A write probe (a temporary file
    created and removed) finds directories that are read-only, full or on a read-only mount, even
    for root. Raises :class:`~kocgraph.InvalidParameterError` (exit code 2 on the command line)."""
    ins = [Path(x) for x in inputs if isinstance(x, (str, os.PathLike)) and not str(x).startswith("sample:")]
    ins = [x for x in ins if x.exists()]
    probed: set[Path] = set()
    for out in map(Path, outputs):
        d = out.parent
        if not d.is_dir():
            raise InvalidParameterError(
                f"the output directory {str(d)!r} does not exist; create it or pass {flag} in an existing directory.")
        kind = _not_regular(out)
        if kind == "a directory":
            raise InvalidParameterError(f"{flag} {str(out)!r} is a directory; pass a file name such as {example}.")
        if kind is not None:
            raise InvalidParameterError(
                f"{flag} {str(out)!r} is {kind}, not a regular file; kocgraph replaces only regular files. "
                f"Pass a file name such as {example}.")
        for x in ins:
            if out.resolve() == x.resolve() or (out.exists() and os.path.samefile(out, x)):
                raise InvalidParameterError(
                    f"{flag} {str(out)!r} is an input of this run ({str(x)!r}); writing there would destroy it. "
                    f"Pass another file name such as {example}.")
        if d.resolve() not in probed:
            probed.add(d.resolve())
            try:
                fd, probe = tempfile.mkstemp(prefix=".kocgraph-probe-", dir=d)
                os.close(fd)
                os.unlink(probe)
            except OSError as err:
                raise InvalidParameterError(
                    f"cannot write in the output directory {str(d)!r} ({err.strerror or err}); pass {flag} in a "
                    "directory you can write to, or fix its permissions.") from None


# ------------------------------------------------------------------------------------------------ pseudonyms
class Pseudonymizer:
    """Keyed pseudonyms: ``"p_" + HMAC-SHA256(key=salt, msg=str(id)).hexdigest()[:16]``.

    The same salt gives the same pseudonym for an id, across runs; without the salt the ids cannot be
    recovered or confirmed. Missing values stay missing.

    Examples
    --------
    >>> p = Pseudonymizer("s3cret")
    >>> p("alice") == p("alice") != p("bob")
    True
    >>> p("alice")[:2], len(p("alice"))
    ('p_', 18)
    """

    def __init__(self, salt: str) -> None:
        if not isinstance(salt, str) or salt == "":
            raise InvalidParameterError("the pseudonymization salt must be a non-empty string; pass --pseudonymize SALT.")
        self._key = salt.encode("utf-8")
        self._cache: dict[str, str] = {}

    def __call__(self, uid: Any) -> Any:
        if uid is None or (not isinstance(uid, (list, tuple, np.ndarray)) and pd.isna(uid)):
            return uid
        s = str(uid)
        out = self._cache.get(s)
        if out is None:
            out = "p_" + hmac.new(self._key, s.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
            self._cache[s] = out
        return out

    def series(self, s: pd.Series) -> pd.Series:
        """Pseudonymize a column of ids (one HMAC per distinct id)."""
        if len(s) == 0:
            return s.astype(object)
        vals = s.astype(object).to_numpy()
        na = pd.isna(vals)
        inv, uniq = pd.factorize(pd.Series(vals[~na]), sort=False)
        mapped = np.array([self(u) for u in uniq], dtype=object)
        out = np.full(len(vals), None, dtype=object)
        out[~na] = mapped[inv] if len(uniq) else []
        return pd.Series(out, index=s.index, name=s.name, dtype=object)

    def elements(self, s: pd.Series, users: pd.Index | None = None) -> pd.Series:
        """Pseudonymize list cells element by element; scalar cells that are user ids too."""

        def one(v: Any) -> Any:
            if isinstance(v, (list, tuple, np.ndarray)):
                return [self(x) for x in v]
            if users is None or (not pd.isna(v) and v in users):
                return self(v)
            return v

        return s.map(one)


def _is_list_column(s: pd.Series) -> bool:
    if s.dtype != object or len(s) == 0:
        return False
    return bool(s.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any())


def pseudonymize_table(df: pd.DataFrame, p: Pseudonymizer, users: pd.Index, *, id_columns: Iterable[str] = ("user",)) -> pd.DataFrame:
    """Replace user ids in a result table: ``id_columns`` entirely, list columns element by element
    (top users, routes), and any other object cell equal to a user id. Free text (``reason``) is kept."""
    out = df.copy()
    ids = set(id_columns)
    for col in out.columns:
        s = out[col]
        if col in ids:
            out[col] = p.series(s)
        elif col in _TEXT_COLUMNS:
            continue
        elif _is_list_column(s):
            out[col] = p.elements(s)
        elif s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            out[col] = p.elements(s.astype(object), users)
    return out


# ------------------------------------------------------------------------------------------------ writing
def output_paths(out: str | os.PathLike[str]) -> dict[str, Path]:
    """Where the job writes: the table, ``<out>.manifest.json``, ``<stem>.rejected.csv``, ``<stem>.excluded.csv``."""
    p = Path(out)
    return {
        "table": p,
        "manifest": p.with_name(p.name + ".manifest.json"),
        "rejected": p.with_name(p.stem + ".rejected.csv"),
        "excluded": p.with_name(p.stem + ".excluded.csv"),
    }


def infer_format(out: str | os.PathLike[str] | None, fmt: str | None) -> OutputFormat:
    """The output format: ``fmt`` when given, else from ``out``'s suffix, else CSV."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise InvalidParameterError(f"format={fmt!r} is not one of {list(FORMATS)}; pass --format csv, parquet or json.")
        return fmt  # type: ignore[return-value]
    if out is not None:
        suf = Path(out).suffix.lower()
        for name, sufs in FORMATS.items():
            if suf in sufs:
                return name  # type: ignore[return-value]
    return "csv"


@contextmanager
def _temp_beside(path: Path) -> Any:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield tmp
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Write a file atomically: ``write(tmp)`` fills a temporary file in the same directory, which is
    flushed to disk and renamed over ``path`` (``os.replace``). On any error the temporary file is
    removed and ``path`` is left as it was, so a crash never leaves a half-written file. A ``path``
    that is not a regular file (a device such as /dev/null, a FIFO, a directory, a link to one) is
    refused with :class:`~kocgraph.InvalidParameterError`, never replaced."""
    path = Path(path)
    kind = _not_regular(path)
    if kind is not None:
        raise InvalidParameterError(
            f"{str(path)!r} is {kind}, not a regular file; kocgraph replaces only regular files. Write to a file "
            "name such as kocs.csv.")
    with _temp_beside(path) as tmp:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if _not_regular(path) is not None:  # it became one while we wrote: still never replace it
            raise InvalidParameterError(f"{str(path)!r} is no longer a regular file; nothing was written there.")
        os.replace(tmp, path)
    try:  # make the rename itself durable (best effort: not every file system allows it)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover
        pass
    return path


def _csv_cell(v: Any) -> Any:
    if isinstance(v, (list, tuple, np.ndarray)):
        return json.dumps([_py(x) for x in v], ensure_ascii=False)
    return v


def _py(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    return v


def _parquet_ready(s: pd.Series) -> tuple[pd.Series, str | None]:
    """An object column as Parquet can hold it: unchanged when pyarrow takes it; integers past int64
    (all >= 0) as uint64; any other mix (``-1`` beside ``2**64 - 1``, integers beside text) as text,
    every digit kept, with a note saying so."""
    import pyarrow as pa

    if s.dtype != object:
        return s, None
    try:
        pa.array(s, from_pandas=True)
        return s, None
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    vals = s.to_numpy()
    miss = np.array([v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA for v in vals], dtype=bool)
    present = vals[~miss]
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= int(v) < 2**64 for v in present):
        return pd.Series(pd.array([None if m else int(v) for v, m in zip(vals, miss)], dtype="UInt64"),
                         index=s.index, name=s.name), None
    text = pd.Series(pd.array([None if m else str(v) for v, m in zip(vals, miss)], dtype="string"),
                     index=s.index, name=s.name)
    eg = sorted({f"{type(v).__name__} {v!r}" for v in present[:1000]})[:3]
    return text, (f"column {s.name!r} holds values no single Parquet type can store ({', '.join(eg)}); "
                  "written as text, every digit kept")


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], fmt: OutputFormat, *,
                note: Callable[[str], None] | None = None) -> Path:
    """Write a result table atomically as CSV (list cells as JSON arrays), Parquet or JSON records.

    In Parquet, an id column that mixes types no one Parquet type holds (integers beyond 64 bits of
    either sign, integers beside text) is written as text, and ``note`` is told."""

    def write(tmp: Path) -> None:
        if fmt == "csv":
            out = df.copy()
            for col in out.columns:
                if _is_list_column(out[col]):
                    out[col] = out[col].map(_csv_cell)
            out.to_csv(tmp, index=False, encoding="utf-8")
        elif fmt == "parquet":
            out = df.copy()
            for col in out.columns:  # pyarrow wants one type per column: lists as lists of text
                if _is_list_column(out[col]):
                    out[col] = out[col].map(lambda v: [None if _py(x) is None else str(x) for x in v]
                                            if isinstance(v, (list, tuple, np.ndarray)) else None)
                else:
                    out[col], why = _parquet_ready(out[col])
                    if why is not None and note is not None:
                        note(f"note: {Path(path).name}: {why}")
            out.to_parquet(tmp, index=False)
        elif fmt == "json":
            recs = [{k: _json_value(v) for k, v in row.items()} for row in df.to_dict("records")]
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(recs, fh, ensure_ascii=False, indent=1, allow_nan=False)
                fh.write("\n")
        else:  # pragma: no cover - infer_format validated it
            raise InvalidParameterError(f"unknown format {fmt!r}")

    return atomic_write(path, write)


def _json_value(v: Any) -> Any:
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_json_value(x) for x in v]
    v = _py(v)
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


def _write_json(obj: Any, path: Path) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, ensure_ascii=False, indent=2, default=str)
            fh.write("\n")

    return atomic_write(path, write)


# ------------------------------------------------------------------------------------------------ job
def _peak_rss_mib() -> float | None:
    """This process's resident-set peak in MiB: ``VmHWM`` (since start, or since the last reset by
    :class:`StageMemory`), else ``ru_maxrss`` (since start); ``None`` when neither is known."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:  # pragma: no cover - not Linux
        pass
    try:  # pragma: no cover
        import resource

        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return r / (1024.0 * 1024.0) if sys.platform == "darwin" else r / 1024.0
    except Exception:  # pragma: no cover
        return None


def _reset_peak() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux: write ``5`` to ``/proc/self/clear_refs``); ``False``
    where that file is missing or not writable."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def release_memory() -> None:
    """Hand memory that is free inside this process back to the system: pyarrow's pool (it keeps freed
    buffers for reuse) and, with glibc, the free pages of malloc's heaps (``malloc_trim``). A stage
    that follows then starts, and peaks, lower. Best effort: does nothing where neither applies."""
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        try:
            pa.default_memory_pool().release_unused()
        except Exception:  # pragma: no cover - an old or unusual pyarrow
            pass
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def _glibc() -> Any:
    if not sys.platform.startswith("linux"):  # pragma: no cover
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except (OSError, AttributeError):  # pragma: no cover
        return None


#: glibc's mmap thresholds the nomination job sets (see :func:`fixed_mmap_threshold`): while it reads
#: the log, and for the stages after
READ_MMAP_THRESHOLD = 1 << 20
STAGE_MMAP_THRESHOLD = 32 << 20


def fixed_mmap_threshold(size: int) -> bool:
    """Fix glibc's mmap threshold (``M_MMAP_THRESHOLD``) at ``size`` bytes for this process: blocks of
    that size or more get their own mapping, returned to the system when freed. Returns whether it
    was set (glibc only).

    glibc raises the threshold each time a large block is freed (up to 32 MiB), so later arrays of a
    few MiB come from the heap. The reader frees much of what it allocates: through the heap, that
    leaves free space which the later stages fault back in and keep (at 1e7 events the cascade stage
    then peaked 160 MiB higher, and every later stage 40-100 MiB higher). The nomination job reads
    with a 1 MiB threshold (:data:`READ_MMAP_THRESHOLD`: no cost measured there) and runs the
    stages with 32 MiB (:data:`STAGE_MMAP_THRESHOLD`, the value glibc grows to anyway: a 1 MiB
    threshold there cost 14% of the job's time in page faults). A process-wide setting: the library
    never sets it on its own.
    """
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(-3, int(size)))  # M_MMAP_THRESHOLD


class StageMemory:
    """The peak resident memory (RSS) of each stage of a job, in MiB.

    Where ``/proc/self/clear_refs`` is writable (Linux), ``VmHWM`` is reset when a stage starts, so
    each figure is that stage's own peak (``scope == "stage"``). Elsewhere each figure is the process
    peak since it started, read when the stage ends (``scope == "process"``): an upper bound of the
    stage's peak, never decreasing from stage to stage. Either way :meth:`process_peak` is the peak
    of the whole process: the peak before each reset is kept.

    >>> m = StageMemory()
    >>> with m.stage("build"):
    ...     x = bytearray(1 << 20)
    >>> m.peaks["build"] > 0 and m.process_peak() >= m.peaks["build"]
    True
    """

    def __init__(self) -> None:
        self.peaks: dict[str, float] = {}
        self.scope: str | None = None
        self._earlier = 0.0

    @contextmanager
    def stage(self, name: str) -> Any:
        self._earlier = max(self._earlier, _peak_rss_mib() or 0.0)
        if self.scope != "process":  # once a reset fails, the figures stay process-wide
            self.scope = "stage" if _reset_peak() else "process"
        try:
            yield
        finally:
            p = _peak_rss_mib()
            if p is not None:
                self.peaks[name] = round(p, 1)
                self._earlier = max(self._earlier, p)

    def process_peak(self) -> float | None:
        """The peak of the whole process so far (MiB)."""
        now = _peak_rss_mib()
        if now is None and not self._earlier:
            return None
        return round(max(self._earlier, now or 0.0), 1)


def _versions() -> dict[str, str | None]:
    import importlib.metadata as md

    out: dict[str, str | None] = {}
    for pkg in ("numpy", "scipy", "pandas", "pyarrow", "igraph", "networkx"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:  # pragma: no cover
            out[pkg] = None
    return out


def _use_progress(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def _input_info(log: Any, g: Any) -> dict[str, Any]:
    if isinstance(log, pd.DataFrame):
        return {"kind": "DataFrame", "rows": int(len(log))}
    s = str(log)
    info: dict[str, Any] = {}
    if s.startswith("sample:"):
        info = {"kind": "sample", "sample": s.split(":", 1)[1]}
        path = (g.meta.get("read_log") or {}).get("path") if g is not None else None
        if isinstance(path, str) and Path(path).is_file():
            info.update(path=path, bytes=Path(path).stat().st_size, sha256=file_sha256(path))
        return info
    p = Path(s)
    info = {"kind": "file", "path": str(p.resolve())}
    if p.is_file():
        info.update(bytes=p.stat().st_size, sha256=file_sha256(p))
    return info


def no_usable_events_message(counts: dict[str, Any]) -> str:
    """Why a log yielded no event (for :class:`NoUsableDataError`), from the ingest row counts."""
    if counts["rows_read"] == 0:
        return "no usable event: the log has a header but no data row"
    return (f"no usable event left in the log: all {counts['rows_read']:,} row(s) were rejected "
            f"({', '.join(f'{k}: {v:,}' for k, v in counts['rejected_by_reason'].items())})")


def manifest_dict(cfg: NominateConfig, *, status: str, top: int, fmt: str, show: Any, pseudonymized: bool,
                  input_info: dict[str, Any], counts: dict[str, Any], graph_info: dict[str, Any],
                  kocs_meta: dict[str, Any] | None, timings: dict[str, float], t_start: float,
                  outputs: dict[str, Any], extra: dict[str, Any] | None = None,
                  memory: StageMemory | None = None) -> dict[str, Any]:
    """The run manifest of a nomination job (the same fields for every engine; ``extra`` adds some).

    ``stage_peak_rss_mib`` is each stage's peak resident memory and ``stage_peak_rss_scope`` says
    what it covers (``"stage"``: the stage alone; ``"process"``: the process since it started; see
    :class:`StageMemory`); an engine that does not measure them (``memory=None``) writes ``{}`` and
    ``None``. ``peak_rss_mib`` is the whole process's peak."""
    params = {
        "top": top, "format": fmt if cfg.out is not None else None, "out": None if cfg.out is None else str(cfg.out),
        "staff_file": None if cfg.staff_file is None else str(cfg.staff_file),
        "staff_ids": [show(x) if pseudonymized else x for x in cfg.staff_ids],
        "bootstrap": int(cfg.bootstrap), "per_community": cfg.per_community,
        "kol_threshold": cfg.kol_threshold, "rng": cfg.rng,
        "read_options": dict(cfg.read_options),
    }
    return {
        "tool": "kocgraph nominate",
        "kocgraph": __version__,
        "status": status,
        "created_utc": pd.Timestamp.now(tz="UTC").isoformat(),
        "parameters": params,
        "pseudonymized": pseudonymized,
        "pseudonym": ("p_ + first 16 hex of HMAC-SHA256(key=salt, msg=str(user id)); the salt is not recorded"
                      if pseudonymized else None),
        "input": dict(input_info),
        "rows": counts,
        "graph": dict(graph_info),
        "ranking": kocs_meta,
        "timings_s": {k: round(v, 6) for k, v in timings.items()},
        "stage_peak_rss_mib": dict(memory.peaks) if memory is not None else {},
        "stage_peak_rss_scope": memory.scope if memory is not None else None,
        "wall_s": round(time.perf_counter() - t_start, 6),
        "peak_rss_mib": memory.process_peak() if memory is not None else _peak_rss_mib(),
        "outputs": dict(outputs),
        **(extra or {}),
        "environment": {"python": platform.python_version(), "platform": platform.platform(),
                        "implementation": platform.python_implementation(), **_versions()},
    }


def check_config(cfg: NominateConfig) -> tuple[int, OutputFormat, dict[str, Path] | None]:
    """Every check of a nomination job that needs no reading, in one place (each engine runs it
    first): ``top``, the read options, ``rng``, ``bootstrap``, the output format and paths, the staff
    file. Returns ``(top, format, output paths or None)``."""
    top = int(cfg.top)
    if top < 1:
        raise InvalidParameterError(f"top={cfg.top!r} must be >= 1; pass e.g. --top 100.")
    check_log_name(cfg.log)
    check_read_options(cfg.read_options)
    check_seed(cfg.rng)
    check_bootstrap(cfg.bootstrap)
    fmt = infer_format(cfg.out, cfg.format)
    paths = output_paths(cfg.out) if cfg.out is not None else None
    if paths is not None:  # every output: a regular file in a writable directory, never an input
        check_outputs(paths.values(), [cfg.log, cfg.staff_file])
    if cfg.pseudonymize is not None:
        Pseudonymizer(cfg.pseudonymize)  # an empty salt is refused here
    # the staff file must exist before any (possibly long) work starts
    if cfg.staff_file is not None and not Path(cfg.staff_file).is_file():
        raise LogSchemaError(
            f"staff file {str(cfg.staff_file)!r} does not exist. Pass --staff with a text file of staff ids, "
            "one per line, or --staff-ids id1,id2."
        )
    return top, fmt, paths


def nominate(cfg: NominateConfig, *, note: Callable[[str], None] | None = None) -> NominateResult:
    """Run the nomination job described by ``cfg``; see the module docstring.

    Raises :class:`~kocgraph.LogSchemaError` (missing or unreadable log, missing staff file),
    :class:`NoUsableDataError` (no usable event; the rejected rows and the manifest are still written),
    :class:`~kocgraph.NodeNotFoundError` (no staff id is a user of the log) and
    :class:`~kocgraph.InvalidParameterError` (bad option values: an unknown encoding or time zone, a
    ``sep`` longer than one character, a negative ``rng``, ``bootstrap`` above :data:`BOOTSTRAP_MAX`
    or beyond memory; an output path that is missing, unwritable, not a regular file or an input; see
    :func:`check_outputs`). Every one of these is raised before the log is read (:func:`check_config`).
    """
    import kocgraph as kg

    say = note or (lambda _m: None)
    t_start = time.perf_counter()
    top, fmt, paths = check_config(cfg)
    pseudo = Pseudonymizer(cfg.pseudonymize) if cfg.pseudonymize is not None else None
    show: Callable[[Any], Any] = (lambda x: pseudo(x)) if pseudo is not None else (lambda x: x)  # noqa: E731

    timings: dict[str, float] = {}
    notes: list[str] = []

    def note_(m: str) -> None:
        notes.append(m)
        say(m)

    from tqdm import tqdm

    bar = tqdm(total=len(STAGES), desc="nominate", unit="stage", file=sys.stderr,
               disable=not _use_progress(cfg.progress), leave=False, dynamic_ncols=True)

    memory = StageMemory()
    fixed_mmap_threshold(READ_MMAP_THRESHOLD)

    @contextmanager
    def stage(name: str) -> Any:
        bar.set_postfix_str(name, refresh=True)
        t0 = time.perf_counter()
        with memory.stage(name):
            yield
            release_memory()  # what the stage freed goes back before the next one starts
        timings[name] = time.perf_counter() - t0
        bar.update(1)

    g = None
    outputs: dict[str, str] = {}
    try:
        with stage("read_log"):
            try:
                g = read_input(cfg.log, cfg.read_options)
            finally:
                fixed_mmap_threshold(STAGE_MMAP_THRESHOLD)
        rep = dict(g.meta.get("read_log") or {})
        counts = {
            "rows_read": int(rep.get("rows_read", g.n_events)),
            "rows_accepted": int(rep.get("rows_accepted", g.n_events)),
            "rows_rejected": int(rep.get("rows_rejected", 0)),
            "rejected_by_reason": {str(k): int(v) for k, v in (rep.get("rejected_by_reason") or {}).items()},
        }
        rejected = kg.get.rejected(g)
        if pseudo is not None and len(rejected):
            cols = rep.get("columns") or {}
            id_cols = [c for c in (cols.get("source", "source"), cols.get("target", "target")) if c in rejected.columns]
            for c in id_cols:
                rejected[c] = pseudo.series(rejected[c])
            if "raw_text" in rejected.columns:  # an unparsed line holds ids we cannot pick out: key-hash it whole
                rejected["raw_text"] = pseudo.series(rejected["raw_text"]).map(
                    lambda v: v if v is None else "h_" + v[2:])

        input_info: dict[str, Any] = {}

        def manifest(status: str, kocs_meta: dict[str, Any] | None = None) -> dict[str, Any]:
            if not input_info:  # hash the input once, and only when a manifest is wanted
                t0 = time.perf_counter()
                input_info.update(_input_info(cfg.log, g))
                timings["hash_input"] = time.perf_counter() - t0
            return manifest_dict(
                cfg, status=status, top=top, fmt=fmt, show=show, pseudonymized=pseudo is not None,
                input_info=input_info, counts=counts,
                graph_info={"n_users": int(g.n_users), "n_items": int(g.n_items), "n_events": int(g.n_events),
                            "n_edges": int(g.n_edges)},
                kocs_meta=kocs_meta, timings=timings, t_start=t_start, outputs=outputs, memory=memory,
            )

        if g.n_events == 0:
            msg = no_usable_events_message(counts)
            if paths is not None:
                if len(rejected):
                    write_table(rejected, paths["rejected"], "csv")
                    outputs["rejected"] = str(paths["rejected"].resolve())
                _write_json(manifest("no_usable_events"), paths["manifest"])
                outputs["manifest"] = str(paths["manifest"].resolve())
                msg += f"; the rejected rows are in {str(paths['rejected'])!r}" if "rejected" in outputs else ""
            raise NoUsableDataError(msg + ". Check the column options (--source/--target/--item/--time) and the file.")

        staff = resolve_staff(g, cfg.staff_file, cfg.staff_ids, note=note_, show=show)
        with stage("cascades"):
            kg.tl.cascades(g)
        with stage("pagerank"):
            kg.tl.pagerank(g)
        with stage("coreness"):
            kg.tl.coreness(g)
        with stage("communities"):
            kg.tl.communities(g, rng=cfg.rng)
        with stage("kocs"):
            kg.tl.kocs(g, staff=staff, kol_threshold=cfg.kol_threshold, per_community=cfg.per_community,
                       bootstrap=int(cfg.bootstrap), rng=cfg.rng)
            table = kg.get.kocs(g, n=top)
            excluded = kg.get.kocs(g, excluded=True)
        with stage("write"):
            if pseudo is not None:
                table = pseudonymize_table(table, pseudo, g.nodes.index)
                excluded = pseudonymize_table(excluded, pseudo, g.nodes.index)
            if paths is not None:
                if len(rejected):
                    write_table(rejected, paths["rejected"], "csv")
                    outputs["rejected"] = str(paths["rejected"].resolve())
                if len(excluded):
                    write_table(excluded, paths["excluded"], "csv")
                    outputs["excluded"] = str(paths["excluded"].resolve())
                write_table(table, paths["table"], fmt, note=note_)
                outputs["table"] = str(paths["table"].resolve())
        km = g.meta["koc"]
        kocs_meta = {"features": km.get("features"), "weights": km.get("weights"), "kol_cut": km.get("kol_cut"),
                     "n_eligible": km.get("n_eligible"), "n_excluded": km.get("n_excluded"),
                     "n_staff": len(staff), "n_listed": int(len(table)),
                     "communities": {"n": g.meta["community"].get("n_communities"),
                                     "modularity": g.meta["community"].get("modularity")},
                     "pagerank": {"n_iter": g.meta["pagerank"].get("n_iter"),
                                  "converged": g.meta["pagerank"].get("converged")}}
        if paths is not None:
            outputs["manifest"] = str(paths["manifest"].resolve())
            man = manifest("ok", kocs_meta)
            _write_json(man, paths["manifest"])
        else:  # nothing written: the same figures, without hashing the input
            input_info.update(kind="not hashed (nothing written)",
                              log=cfg.log if isinstance(cfg.log, str) else type(cfg.log).__name__)
            man = manifest("ok", kocs_meta)
    finally:
        bar.close()
    return NominateResult(table=table, excluded=excluded, outputs=outputs, manifest=man, graph=g, notes=notes)


# ------------------------------------------------------------------------------------------------ display
def format_top_table(df: pd.DataFrame, *, max_reason: int = 90) -> str:
    """A short plain-text table of the top users for the terminal."""
    if df.empty:
        return "(no eligible user to rank)"
    cols: dict[str, Any] = {"rank": df["rank"], "user": df["user"].astype(str),
                            "score": df["score"].map(lambda v: f"{v:.3f}")}
    if "rank_lo" in df.columns:
        cols["interval"] = [f"{lo}-{hi}" if pd.notna(lo) else "" for lo, hi in zip(df["rank_lo"], df["rank_hi"])]
    if "community" in df.columns:
        cols["comm"] = df["community"]
    cols["reach"] = df["reach"].map(lambda v: f"{int(v):,}")
    cols["reason"] = df["reason"].map(lambda s: s if len(s) <= max_reason else s[: max_reason - 1] + "…")
    out = pd.DataFrame(cols)
    text = {c: [str(c)] + [str(v) for v in out[c]] for c in out.columns}
    left = {"user", "reason"}
    widths = {c: max(len(x) for x in v) for c, v in text.items()}
    lines = []
    for i in range(len(out) + 1):
        cells = [text[c][i].ljust(widths[c]) if c in left else text[c][i].rjust(widths[c]) for c in out.columns]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)

