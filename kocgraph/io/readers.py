"""Reading forwarding logs (CSV/TSV, Parquet, JSON lines, DataFrame) into a :class:`ShareGraph`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph, _aggregate_edges
from ..algorithms._parallel import side_by_side
from .._core.validation import (
    REASON_CODES,
    REASONS,
    check_columns,
    factorize_ids,
    normalize_id_column,
    parse_time,
    parse_value,
)
from ..exceptions import InvalidParameterError, LogSchemaError, check_choice

__all__ = ["read_log", "load_table"]

_AUTO: Any = "__auto__"
_OPTIONAL = ("event_type", "channel", "value")
_FORMATS = ("csv", "tsv", "parquet", "jsonl")


def _infer_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        check_choice("format", fmt, _FORMATS, where="kg.read_log")
        return fmt
    name = path.name.lower()
    for suf in (".gz", ".bz2", ".zst", ".xz"):
        if name.endswith(suf):
            name = name[: -len(suf)]
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".tsv", ".tab")):
        return "tsv"
    return "csv"


def load_table(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    string_columns: list[str] = (),  # type: ignore[assignment]
    sep: str | None = None,
    encoding: str = "utf-8",
    on_invalid: str = "quarantine",
) -> tuple[pd.DataFrame, list[tuple[int | None, str]], dict[str, Any]]:
    """Read a file into a DataFrame (pyarrow-backed columns where possible).

    Returns ``(frame, malformed, info)``; ``malformed`` lists ``(data_row_number, text)`` of lines the
    CSV parser could not split into the header's columns.
    """
    path = Path(path)
    if not path.exists():
        raise LogSchemaError(f"log file {str(path)!r} does not exist. Check the path (cwd is {os.getcwd()!r}).")
    if path.is_dir():
        raise LogSchemaError(f"{str(path)!r} is a directory; pass a log file (CSV, TSV, Parquet or JSON lines).")
    if path.stat().st_size == 0:
        raise LogSchemaError(
            f"the log file {str(path)!r} is empty (0 bytes): there is no header and no row. "
            "Check that the export finished, or pass a file with a header line."
        )
    fmt = _infer_format(path, format)
    info: dict[str, Any] = {"path": str(path), "format": fmt}
    malformed: list[tuple[int | None, str]] = []
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return _arrow_to_frame(table), malformed, info
    if fmt == "jsonl":
        info["first_data_line"] = 1
        try:
            try:
                df = pd.read_json(path, lines=True, dtype=False, encoding=encoding)
            except UnicodeDecodeError:
                raise
            except ValueError as err:
                # a damaged file (e.g. a truncated last line): parse line by line to set bad lines aside
                df = _read_jsonl_lenient(path, encoding, malformed)
                if df is None:
                    raise LogSchemaError(
                        f"{str(path)!r} is not valid JSON lines ({err}). Each line must be one JSON object."
                    ) from err
        except UnicodeDecodeError as err:
            raise LogSchemaError(
                f"{str(path)!r} is not valid {encoding} text ({err}). Pass the file's encoding, "
                "e.g. encoding='gb18030' for Chinese exports, to kg.read_log (or --encoding)."
            ) from err
        return df, malformed, info
    import pyarrow as pa
    import pyarrow.csv as pacsv

    delim = sep or ("\t" if fmt == "tsv" else ",")

    def handler(row: Any) -> str:
        # set the line aside in both modes: _build raises on it (with its line number) under "raise"
        malformed.append((row.number, row.text))
        return "skip"

    try:
        col_types = {c: pa.string() for c in string_columns}

        def _read(threads: bool) -> Any:
            return pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(encoding=encoding, use_threads=threads, block_size=1 << 24),
                parse_options=pacsv.ParseOptions(delimiter=delim, invalid_row_handler=handler),
                convert_options=pacsv.ConvertOptions(column_types=col_types, strings_can_be_null=True),
            )

        table = _read(True)
        if malformed and any(r is None for r, _ in malformed):
            # parallel parsing does not know line numbers: re-read the (rare) damaged file serially
            malformed.clear()
            table = _read(False)
    except pa.ArrowInvalid as err:
        msg = str(err)
        if "UTF8" in msg or "utf8" in msg.lower() or "decode" in msg.lower():
            raise LogSchemaError(
                f"{str(path)!r} is not valid {encoding} text ({msg.splitlines()[0]}). Pass the file's encoding, "
                "e.g. encoding='gb18030' for Chinese exports from Excel, to kg.read_log (or --encoding)."
            ) from err
        if "Empty CSV" in msg:
            header = _lone_header(path, encoding, delim)
            if header:  # a header line with no newline and no row: an empty log
                info["delimiter"] = delim
                info["first_data_line"] = 2
                return pd.DataFrame({c: pd.Series([], dtype=object) for c in header}), malformed, info
            raise LogSchemaError(f"the log file {str(path)!r} has no header line. Add one naming the columns.") from err
        if on_invalid == "raise" and "Expected" in msg:
            raise LogSchemaError(
                f"{str(path)!r}: a line does not split into the header's columns ({msg.splitlines()[0]}). "
                "Fix or remove that line, or pass on_invalid='quarantine' to set it aside."
            ) from err
        raise LogSchemaError(f"could not parse {str(path)!r} as {fmt.upper()}: {msg.splitlines()[0]}") from err
    except UnicodeDecodeError as err:  # pragma: no cover - pyarrow reports ArrowInvalid
        raise LogSchemaError(f"{str(path)!r} is not valid {encoding} text. Pass encoding='gb18030'.") from err
    info["delimiter"] = delim
    info["first_data_line"] = 2
    return _arrow_to_frame(table), malformed, info


def _lone_header(path: Path, encoding: str, delim: str) -> list[str] | None:
    """Column names of a file that holds one header line and nothing else (else None)."""
    import csv

    try:
        text = path.read_text(encoding=encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) != 1:
        return None
    return next(csv.reader([lines[0]], delimiter=delim))


def _read_jsonl_lenient(path: Path, encoding: str, malformed: list[tuple[int | None, str]]) -> pd.DataFrame | None:
    """Parse JSON lines one by one (only for damaged files), collecting the lines that are not JSON
    objects in ``malformed`` as ``(line number, text)``; None when no line parses."""
    import json

    import bz2
    import gzip
    import lzma

    opener: Any = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix.lower(), open)
    if path.suffix.lower() == ".zst":  # pragma: no cover - needs the zstandard package
        import zstandard

        def opener(p: Path, mode: str, encoding: str) -> Any:
            import io

            return io.TextIOWrapper(zstandard.open(p, "rb"), encoding=encoding)

    good: list[Any] = []
    with opener(path, "rt", encoding=encoding) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                good.append(obj)
            else:
                malformed.append((lineno, line.rstrip("\r\n")))
    if not good:
        malformed.clear()
        return None
    return pd.DataFrame.from_records(good)


def _arrow_to_frame(table: Any) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(pd.arrays.ArrowExtensionArray(table.column(name)), copy=False)
                         for name in table.column_names})


def read_log(
    data: str | os.PathLike[str] | pd.DataFrame,
    /,
    *,
    source: str = "source",
    target: str = "target",
    item: str | None = "item",
    time: str | None = "time",
    event_type: str | None = _AUTO,
    channel: str | None = _AUTO,
    value: str | None = _AUTO,
    time_unit: Literal["auto", "s", "ms", "us", "ns"] = "auto",
    tz: str = "UTC",
    on_invalid: Literal["quarantine", "raise"] = "quarantine",
    format: Literal["csv", "tsv", "parquet", "jsonl"] | None = None,
    sep: str | None = None,
    encoding: str = "utf-8",
) -> ShareGraph:
    """Read a forwarding log and build a validated :class:`ShareGraph`.

    Each row is one event: ``source`` forwarded ``item`` to ``target`` at ``time``.

    Parameters
    ----------
    data
        A path to a CSV/TSV, Parquet or JSON-lines file, or a pandas DataFrame.
    source, target, item, time
        The log's column names for the canonical columns. ``item=None`` puts every event in one item
        ``"*"``; ``time=None`` uses the row order as the time order.
    event_type, channel, value
        Optional columns (view/share/purchase/signup; moments/group/chat; order amount). By default a
        column with the canonical name is used when present; pass ``None`` to ignore it.
    time_unit
        Unit of epoch-number times. ``"auto"`` detects it from the magnitude (< 1e10 seconds, < 1e13
        milliseconds, < 1e16 microseconds, else nanoseconds); rows whose magnitude disagrees with the
        column's majority unit are rejected as ``mixed_epoch_units``.
    tz
        Time zone of naive date-times (e.g. ``"Asia/Shanghai"``); every time becomes UTC.
    on_invalid
        ``"quarantine"`` (default) sets bad rows aside with a reason each (see :func:`kocgraph.get.rejected`);
        ``"raise"`` raises :class:`~kocgraph.LogSchemaError` at the first bad row, with its number.
    format, sep, encoding
        File format (inferred from the extension), CSV delimiter, and text encoding (e.g. ``"gb18030"``).

    Returns
    -------
    ShareGraph
        With the ingest report in ``g.meta["read_log"]``: rows read, accepted, rejected by reason;
        accepted + rejected always equals rows read.

    Examples
    --------
    >>> import kocgraph as kg
    >>> df = kg.datasets.toy_frame()
    >>> g = kg.read_log(df)
    >>> rep = g.meta["read_log"]
    >>> rep["rows_read"] == rep["rows_accepted"] + rep["rows_rejected"]
    True
    >>> g.n_events
    30
    """
    check_choice("on_invalid", on_invalid, ("quarantine", "raise"), where="kg.read_log")
    check_choice("time_unit", time_unit, ("auto", "s", "ms", "us", "ns"), where="kg.read_log")
    for nm, v in (("source", source), ("target", target)):
        if not isinstance(v, str):
            raise InvalidParameterError(f"{nm}={v!r} must be a column name (str); pass e.g. {nm}='from_user'.")
    malformed: list[tuple[int | None, str]] = []
    info: dict[str, Any] = {}
    if isinstance(data, pd.DataFrame):
        df = data
        info["input"] = "DataFrame"
    elif isinstance(data, (str, os.PathLike)):
        id_cols = [c for c in (source, target, item) if c is not None]
        df, malformed, info = load_table(
            data, format=format, string_columns=id_cols, sep=sep, encoding=encoding, on_invalid=on_invalid
        )
    else:
        raise InvalidParameterError(
            f"kg.read_log got a {type(data).__name__}; pass a file path (CSV, TSV, Parquet, JSON lines) "
            "or a pandas DataFrame."
        )
    mapping: dict[str, Any] = {"source": source, "target": target, "item": item, "time": time}
    for opt, given in (("event_type", event_type), ("channel", channel), ("value", value)):
        if given is _AUTO:
            mapping[opt] = opt if opt in [str(c) for c in df.columns] else None
        else:
            mapping[opt] = given
    check_columns(list(df.columns), mapping, {"source", "target"}, where="kg.read_log")
    if source == target:
        raise InvalidParameterError(f"source and target both name column {source!r}; they must differ.")
    return _build(df, mapping, malformed, info, time_unit=time_unit, tz=tz, on_invalid=on_invalid)


def _is_string(s: pd.Series) -> bool:
    return s.dtype == object or isinstance(s.dtype, pd.StringDtype) or (
        isinstance(s.dtype, pd.ArrowDtype) and str(s.dtype.pyarrow_dtype) in ("string", "large_string")
    )


def _build(
    df: pd.DataFrame,
    mapping: dict[str, Any],
    malformed: list[tuple[int | None, str]],
    info: dict[str, Any],
    *,
    time_unit: str,
    tz: str,
    on_invalid: str,
) -> ShareGraph:
    n = len(df)
    reason = np.zeros(n, dtype=np.int8)

    def flag(mask: np.ndarray, name: str) -> None:
        sel = mask & (reason == 0)
        reason[sel] = REASON_CODES[name]

    src_col = normalize_id_column(df[mapping["source"]], "source")
    tgt_col = normalize_id_column(df[mapping["target"]], "target")

    def user_codes() -> Any:
        return factorize_ids(src_col, tgt_col, roles=("source", "target"))

    if mapping["item"] is None:
        (src, tgt), users, (sn, tn) = user_codes()
    else:
        # the item ids are hashed next to the user ids (Arrow releases the GIL); a bad user id is
        # reported before a bad item id
        item_col = normalize_id_column(df[mapping["item"]], "item")
        ((src, tgt), users, (sn, tn)), ((item,), item_ids, (inull,)) = side_by_side(
            user_codes, lambda: factorize_ids(item_col, roles=("item",)))
    flag(sn, "null_source")
    flag(tn, "null_target")
    if mapping["item"] is not None:
        flag(inull, "null_item")
    else:
        item = np.zeros(n, dtype=np.int64)
        item_ids = pd.Index(["*"], dtype=object)
    time_info: dict[str, Any] = {}
    if mapping["time"] is not None:
        tns, treason, time_info = parse_time(df[mapping["time"]], unit=time_unit, tz=tz)
        sel = (treason > 0) & (reason == 0)
        reason[sel] = treason[sel]
    else:
        tns = np.arange(n, dtype=np.int64)
    extra: dict[str, Any] = {}
    extra_codes: list[np.ndarray] = []
    for opt in ("event_type", "channel"):
        col = mapping[opt]
        if col is None:
            continue
        cat = _normalized_category(df[col], lower=opt == "event_type")
        extra[opt] = cat
        extra_codes.append(np.asarray(cat.codes, dtype=np.int64))
    if mapping["value"] is not None:
        vals, vbad = parse_value(df[mapping["value"]])
        flag(vbad, "unparseable_value")
        extra["value"] = vals
        extra_codes.append(vals.view(np.int64) if vals.size else vals.astype(np.int64))
    flag((src == tgt) & (src >= 0), "self_forward")
    # group the valid events into edges; exact duplicates can only be among the events whose
    # (source, target, item) repeats, which the grouping lists
    okidx = np.flatnonzero(reason == 0)
    allok = okidx.size == n
    kept = [a if allok else a[okidx] for a in (src, tgt, item, tns, *extra_codes)]
    edges = _aggregate_edges(kept[0], kept[1], kept[2], kept[3], len(users), len(item_ids))
    dup = _duplicated_among(kept, edges.repeated)
    reason[okidx[dup]] = REASON_CODES["duplicate"]
    ok = reason == 0

    # row numbers in the input, counting lines the parser set aside
    row = np.arange(n, dtype=np.int64)
    first_line = int(info.get("first_data_line", 2))  # file line of data row 0 (CSV: after the header)
    bad_rows = sorted(int(r) - first_line if r is not None else -1 for r, _ in malformed)
    known = [r for r in bad_rows if r >= 0]
    if known:
        # data row r of the parsed table sits after every malformed data row numbered <= its position
        shift = np.zeros(n, dtype=np.int64)
        for k, r in enumerate(sorted(known)):
            shift[max(r - k, 0):] += 1
        row = row + shift
    if on_invalid == "raise":
        first_bad = np.flatnonzero(~ok)
        if malformed:
            r, text = min(malformed, key=lambda x: -1 if x[0] is None else x[0])
            if not first_bad.size or r is None or int(r) - first_line < int(row[first_bad[0]]):
                where = f"row {int(r) - first_line} (line {r} of the file)" if r is not None else "a line"
                raise LogSchemaError(
                    f"{where} is invalid: malformed_row: {REASONS['malformed_row']}; the line is {text!r}. "
                    "Fix or remove the line, or pass on_invalid='quarantine' to set bad rows aside with their reasons."
                )
        if first_bad.size:
            i = int(first_bad[0])
            name = list(REASON_CODES)[reason[i] - 1]
            shown = {k: _py(df[v].iloc[i]) for k, v in mapping.items() if v is not None}
            where = f"row {int(row[i])}" + (f" (line {int(row[i]) + first_line} of the file)" if info.get("path") else "")
            raise LogSchemaError(
                f"{where} is invalid: {name}: {REASONS[name]}; the row is {shown}. "
                "Fix the row, or pass on_invalid='quarantine' to set bad rows aside with their reasons."
            )
    # the rejected rows, as given, with reasons
    rej_idx = np.flatnonzero(~ok)
    names = np.array(list(REASON_CODES), dtype=object)
    rejected = df.iloc[rej_idx].copy()
    rejected.insert(0, "reason", names[reason[rej_idx] - 1] if rej_idx.size else np.array([], dtype=object))
    rejected.insert(0, "row", row[rej_idx])
    if malformed:
        mal = pd.DataFrame({"row": [int(r) - first_line if r is not None else -1 for r, _ in malformed],
                            "reason": "malformed_row", "raw_text": [t for _, t in malformed]})
        rejected = pd.concat([rejected, mal], ignore_index=True)
    rejected = rejected.reset_index(drop=True)

    by_reason = {name: 0 for name in REASONS}
    counts = np.bincount(reason, minlength=len(REASONS) + 1)
    for name, code in REASON_CODES.items():
        by_reason[name] = int(counts[code])
    by_reason["malformed_row"] += len(malformed)
    rows_read = n + len(malformed)
    report: dict[str, Any] = {
        **{k: v for k, v in info.items() if k != "first_data_line"},
        "columns": {k: (str(v) if v is not None else None) for k, v in mapping.items()},
        "rows_read": int(rows_read),
        "rows_accepted": int(ok.sum()),
        "rows_rejected": int(rows_read - ok.sum()),
        "rejected_by_reason": {k: v for k, v in by_reason.items() if v},
        "has_time": mapping["time"] is not None,
        "time": time_info,
        "on_invalid": on_invalid,
        "tz": tz,
    }
    assert report["rows_accepted"] + report["rows_rejected"] == report["rows_read"]  # internal invariant
    ext = {}
    for k, v in extra.items():
        ext[k] = v[ok] if isinstance(v, np.ndarray) else v[ok]
    if dup.any():
        kept = [a[~dup] for a in kept[:4]]
    g = ShareGraph._from_codes(
        *kept[:4], users, item_ids, row=row[ok], extra=ext,
        meta={"read_log": report}, rejected=rejected, edges=edges.without(dup),
    )
    return g


def _normalized_category(s: pd.Series, *, lower: bool) -> pd.Categorical:
    """Categorical of stripped (and lower-cased) text; normalizes the unique values only."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    norm = pd.Series(pd.Index(uniques).to_numpy(dtype=object), dtype="string").str.strip()
    if lower:
        norm = norm.str.lower()
    norm = norm.where(norm != "")
    ncodes, cats = pd.factorize(norm.astype(object), use_na_sentinel=True)
    remap = np.append(ncodes, -1)  # -1 (missing) stays missing
    codes = remap[np.asarray(codes)]
    return pd.Categorical.from_codes(codes.astype(np.int32), categories=pd.Index(np.asarray(cats, dtype=object), dtype=object))


def _duplicated_among(cols: list[np.ndarray], candidates: np.ndarray) -> np.ndarray:
    """Rows equal, column by column, to an earlier row, looked for among ``candidates`` (ascending
    row positions) only: the caller passes every row that could have an equal one.

    A 64-bit hash of each candidate row, sorted, finds the hashes that occur more than once; only the
    rows carrying such a hash are compared exactly, so a hash collision never rejects a distinct row.
    """
    dup = np.zeros(cols[0].shape[0], dtype=bool)
    if not candidates.size:
        return dup
    sub = [c[candidates].astype(np.int64, copy=False).view(np.uint64) for c in cols]
    h = np.zeros(candidates.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j, c in enumerate(sub):  # a multiply-add per column, then the splitmix64 finalizer
            h += c * np.uint64((0x9E3779B97F4A7C15 * (2 * j + 1)) % 2**64)
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    hs = np.sort(h)
    twice = np.unique(hs[1:][hs[1:] == hs[:-1]])
    if not twice.size:
        return dup
    maybe = np.flatnonzero(np.isin(h, twice))
    frame = pd.DataFrame({f"c{j}": c[maybe] for j, c in enumerate(sub)})
    dup[candidates[maybe[frame.duplicated(keep="first").to_numpy()]]] = True
    return dup


def _py(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v
