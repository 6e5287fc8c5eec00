"""Writing a job's outputs: formats, atomic files, checks on output paths, and output sets that change together."""

from __future__ import annotations

import json
import os
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..exceptions import InvalidParameterError
from .pseudonyms import _is_list_column

__all__ = ["OutputFormat", "FORMATS", "check_outputs", "output_paths", "infer_format", "atomic_write", "write_frame",
           "write_table", "write_json", "neutralize_formulas", "OutputSet", "verify_outputs"]

OutputFormat = Literal["csv", "parquet", "json"]
#: output formats and the file suffixes that select them when ``format`` is not given
FORMATS: dict[str, tuple[str, ...]] = {"csv": (".csv",), "parquet": (".parquet", ".pq"), "json": (".json",)}
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
        if suf:  # e.g. kocs.xlsx: CSV text under that name would mislead whoever opens it
            raise InvalidParameterError(
                f"--out {str(out)!r} ends in {suf!r}, a format kocgraph does not write; name it .csv, .parquet or "
                f".json, or pass --format csv to write CSV under this name anyway.")
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


def write_frame(df: pd.DataFrame, path: str | os.PathLike[str], fmt: OutputFormat, *,
                note: Callable[[str], None] | None = None) -> None:
    """Write a result table to ``path`` (no atomicity: see :func:`write_table` and :class:`OutputSet`)
    as CSV (list cells as JSON arrays; cells a spreadsheet would run as formulas neutralized, see
    :func:`neutralize_formulas`), Parquet or JSON records.

    In Parquet, an id column that mixes types no one Parquet type holds (integers beyond 64 bits of
    either sign, integers beside text) is written as text, and ``note`` is told."""
    if fmt == "csv":
        out = neutralize_formulas(df)
        for col in out.columns:
            if _is_list_column(out[col]):
                out[col] = out[col].map(_csv_cell)
        out.to_csv(path, index=False, encoding="utf-8")
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
        out.to_parquet(path, index=False)
    elif fmt == "json":
        recs = [{k: _json_value(v) for k, v in row.items()} for row in df.to_dict("records")]
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(recs, fh, ensure_ascii=False, indent=1, allow_nan=False)
            fh.write("\n")
    else:  # pragma: no cover - infer_format validated it
        raise InvalidParameterError(f"unknown format {fmt!r}")


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], fmt: OutputFormat, *,
                note: Callable[[str], None] | None = None) -> Path:
    """Write a result table atomically (see :func:`write_frame` for the formats)."""
    return atomic_write(path, lambda tmp: write_frame(df, tmp, fmt, note=note))


#: first characters that make a spreadsheet read a cell as a formula (OWASP, "CSV injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` in which every text cell that starts like a spreadsheet formula (``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return) gets a leading ``'``, as OWASP recommends against CSV
    injection: Excel and LibreOffice then show the text instead of running it. Numbers are left alone.

    >>> neutralize_formulas(pd.DataFrame({"user": ["=HYPERLINK(1)", "alice", "-x"], "n": [-1, 2, 3]})).values.tolist()
    [["'=HYPERLINK(1)", -1], ['alice', 2], ["'-x", 3]]
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype) or str(s.dtype) == "str"):
            continue
        obj = s.astype(object)
        risky = obj.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS)).to_numpy(dtype=bool)
        if risky.any():
            obj = obj.copy()
            obj[risky] = "'" + obj[risky]
            out[col] = obj
    return out


def _json_value(v: Any) -> Any:
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_json_value(x) for x in v]
    v = _py(v)
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


def write_json(obj: Any, path: Path) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, ensure_ascii=False, indent=2, default=str)
            fh.write("\n")

    return atomic_write(path, write)


# ------------------------------------------------------------------------------------------------ output sets
class OutputSet:
    """Files a job writes that change together, or not at all, as a reader of the manifest sees them.

    Each file is first written in full to a temporary file beside its target (:meth:`stage`). Then
    :meth:`commit` removes the previous manifest, renames every staged file over its target, removes
    the targets this run did not produce (a previous run's ``rejected``/``excluded`` files), and
    writes the new manifest last, with every file's SHA-256, size and the run id. A run killed at any
    point leaves either the previous set with its manifest, or no manifest: never a manifest beside
    files of another run. :func:`verify_outputs` checks a set against its manifest. Temporary files
    that a killed run left behind are removed by the next run (:meth:`__init__`).
    """

    def __init__(self, paths: dict[str, Path], *, manifest: str = "manifest") -> None:
        self.paths = {k: Path(v) for k, v in paths.items()}
        self.manifest_name = manifest
        self.run_id = uuid.uuid4().hex
        self.staged: dict[str, Path] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.removed_stale: list[str] = []
        for target in self.paths.values():  # leftovers of a run that was killed while writing
            for old in target.parent.glob(f".{target.name}.*.tmp"):
                old.unlink(missing_ok=True)
                self.removed_stale.append(str(old))

    def stage(self, name: str, write: Callable[[Path], Any]) -> Path:
        """Write the file ``name`` in full, beside its target, and note its hash."""
        target = self.paths[name]
        tmp = target.with_name(f".{target.name}.{self.run_id[:12]}.tmp")
        try:
            write(tmp)
            _fsync(tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self.staged[name] = tmp
        self.files[name] = {"path": str(target.resolve()), "sha256": _sha256(tmp), "bytes": tmp.stat().st_size}
        return tmp

    def commit(self, manifest: dict[str, Any]) -> dict[str, str]:
        """Swap the staged files in, manifest last (see the class docstring); returns name -> path."""
        mpath = self.paths[self.manifest_name]
        for target in self.paths.values():  # refuse to replace what the job does not own, even now
            kind = _not_regular(target)
            if kind is not None:
                raise InvalidParameterError(f"{str(target)!r} became {kind} while the job ran; nothing was replaced.")
        mpath.unlink(missing_ok=True)  # from here until the end, no manifest vouches for a mixed set
        for name, tmp in self.staged.items():
            os.replace(tmp, self.paths[name])
        for name, target in self.paths.items():
            if name != self.manifest_name and name not in self.staged and target.exists():
                target.unlink()  # a previous run's file that this run does not produce
        manifest = {**manifest, "run_id": self.run_id, "files": self.files}
        atomic_write(mpath, lambda tmp: tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2,
                                                                  default=str) + "\n", encoding="utf-8"))
        _fsync_dir(mpath.parent)
        return {**{k: v["path"] for k, v in self.files.items()}, self.manifest_name: str(mpath.resolve())}

    def abort(self) -> None:
        """Remove the staged files (the previous set stays as it was)."""
        for tmp in self.staged.values():
            tmp.unlink(missing_ok=True)
        self.staged.clear()


def verify_outputs(manifest: str | os.PathLike[str]) -> list[str]:
    """Problems with the output set a manifest describes (an empty list: the set is whole): a file
    missing, or whose SHA-256 or size differs from the manifest's (it belongs to another run).

    >>> verify_outputs("no/such/kocs.csv.manifest.json")[0][:40]
    "the manifest 'no/such/kocs.csv.manifest."
    """
    p = Path(manifest)
    try:
        man = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"the manifest {str(p)!r} does not exist: no complete run wrote here (or one is being written)."]
    except (OSError, ValueError) as err:
        return [f"the manifest {str(p)!r} cannot be read ({err})."]
    files = man.get("files")
    if not isinstance(files, dict):
        return [f"the manifest {str(p)!r} lists no files with hashes (written by an older kocgraph?)."]
    problems = []
    for name, info in files.items():
        f = Path(info.get("path", ""))
        if not f.is_file():
            problems.append(f"{name}: {str(f)!r} is missing.")
        elif f.stat().st_size != info.get("bytes") or _sha256(f) != info.get("sha256"):
            problems.append(f"{name}: {str(f)!r} is not the file of run {man.get('run_id')} (its hash differs).")
    return problems


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:  # make the renames durable (best effort: not every file system allows it)
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:  # pragma: no cover
        pass
