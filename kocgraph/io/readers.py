"""``kg.read_log``: a forwarding log (a file or a DataFrame) into a validated :class:`ShareGraph`."""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph, aggregate_edges
from .._core.validation import (
    REASON_CODES,
    REASONS,
    check_columns,
    check_tz,
    factorize_ids,
    missing_tokens_to_null,
    normalized_category,
    normalize_id_column,
    parse_time,
    parse_value,
)
from ..algorithms._parallel import side_by_side
from ..exceptions import InvalidParameterError, LogSchemaError, check_choice
from .tables import LoadedTable, load_table

__all__ = ["read_log"]

_AUTO: Any = "__auto__"


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
    missing_ids: tuple[str, ...] | list[str] = (),
    format: Literal["csv", "tsv", "parquet", "jsonl"] | None = None,
    sep: str | None = None,
    encoding: str = "utf-8",
) -> ShareGraph:
    """Read a forwarding log and build a validated :class:`ShareGraph`.

    Each row is one event: ``source`` forwarded ``item`` to ``target`` at ``time``.

    Parameters
    ----------
    data
        A path to a CSV/TSV, Parquet or JSON-lines file (optionally ``.gz``/``.bz2``/``.xz``), or a
        pandas DataFrame.
    source
        The log's column of the user who forwarded.
    target
        The log's column of the user who received.
    item
        The log's column of the content forwarded; ``None`` puts every event in one item ``"*"``.
    time
        The log's column of the event time; ``None`` uses the row order as the time order.
    event_type
        Optional column of view/share/purchase/signup. By default a column named ``event_type`` is
        used when present; ``None`` ignores it.
    channel
        Optional column of moments/group/chat (default as for ``event_type``).
    value
        Optional column of order amounts (default as for ``event_type``).
    time_unit
        Unit of epoch-number times. ``"auto"`` detects it from the magnitude (< 1e10 seconds, < 1e13
        milliseconds, < 1e16 microseconds, else nanoseconds); rows whose magnitude disagrees with the
        column's majority unit are rejected as ``mixed_epoch_units``.
    tz
        Time zone of naive date-times (e.g. ``"Asia/Shanghai"``); every time becomes UTC. A local time
        that does not exist (skipped by a daylight-saving change) is rejected as
        ``nonexistent_local_time``, one that exists twice as ``ambiguous_local_time``.
    on_invalid
        ``"quarantine"`` (default) sets bad rows aside with a reason each (see :func:`kocgraph.get.rejected`);
        ``"raise"`` raises :class:`~kocgraph.LogSchemaError` at the first bad row, with its number.
    missing_ids
        Id texts that mean "no id" (e.g. ``("NA", "null")``). By default only an empty (or all-blank)
        cell is a missing id: ``NA``, ``null`` or ``nan`` are ids like any other, kept exactly.
    format
        File format: ``"csv"``, ``"tsv"``, ``"parquet"`` or ``"jsonl"``; inferred from the suffix.
    sep
        The CSV delimiter (one character; ``","``, or a tab for ``.tsv``).
    encoding
        Text encoding of CSV/JSON files (e.g. ``"gb18030"``, ``"utf-16"``).

    Returns
    -------
    ShareGraph
        With the ingest report in ``g.meta["read_log"]``: rows read, accepted, rejected by reason,
        and for files the SHA-256 of the bytes read; accepted + rejected always equals rows read.

    Notes
    -----
    Ids come back exactly as given. When a log mixes integer and text ids (``7`` and ``"7"``), every
    id is read as its text, so the two are one user; a :class:`~kocgraph.DataQualityWarning` says so and
    ``g.meta["read_log"]["ids_as_text"]`` counts the integer ids turned into text.

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
    check_tz(tz, where="kg.read_log")
    for nm, v in (("source", source), ("target", target)):
        if not isinstance(v, str):
            raise InvalidParameterError(f"{nm}={v!r} must be a column name (str); pass e.g. {nm}='from_user'.")
    missing = _check_missing_ids(missing_ids)
    if isinstance(data, pd.DataFrame):
        loaded = LoadedTable(data, np.arange(len(data), dtype=np.int64), None, [], {"input": "DataFrame"})
    elif isinstance(data, (str, os.PathLike)):
        _check_sep(sep)
        id_cols = [c for c in (source, target, item) if c is not None]
        loaded = load_table(data, format=format, string_columns=id_cols, sep=sep, encoding=_check_encoding(encoding))
    else:
        raise InvalidParameterError(
            f"kg.read_log got a {type(data).__name__}; pass a file path (CSV, TSV, Parquet, JSON lines) "
            "or a pandas DataFrame."
        )
    df = loaded.frame
    mapping: dict[str, Any] = {"source": source, "target": target, "item": item, "time": time}
    for opt, given in (("event_type", event_type), ("channel", channel), ("value", value)):
        if given is _AUTO:
            mapping[opt] = opt if opt in [str(c) for c in df.columns] else None
        else:
            mapping[opt] = given
    if len(df.columns) or len(df):
        check_columns(list(df.columns), mapping, {"source", "target"}, where="kg.read_log")
    else:  # a JSON-lines file of blank or broken lines only: no columns to check
        df = pd.DataFrame({c: pd.Series([], dtype=object) for c in mapping.values() if c is not None})
        loaded.frame = df
    if source == target:
        raise InvalidParameterError(f"source and target both name column {source!r}; they must differ.")
    return _build(loaded, mapping, time_unit=time_unit, tz=tz, on_invalid=on_invalid, missing_ids=missing)


def _check_missing_ids(missing_ids: Any) -> tuple[str, ...]:
    if isinstance(missing_ids, str):
        missing_ids = (missing_ids,)
    try:
        out = tuple(missing_ids)
    except TypeError:
        out = (missing_ids,)
    bad = [v for v in out if not isinstance(v, str)]
    if bad:
        raise InvalidParameterError(
            f"missing_ids={missing_ids!r} must be id texts that mean 'no id', e.g. missing_ids=('NA', 'null'); "
            f"{bad[0]!r} is not a string."
        )
    return out


def _check_sep(sep: str | None) -> None:
    if sep is not None and (not isinstance(sep, str) or len(sep) != 1 or sep in '"\r\n'):
        raise InvalidParameterError(
            f"sep={sep!r} must be one character other than a quote or a line end, e.g. sep=';' or sep='\\t'."
        )


def _check_encoding(encoding: str) -> str:
    import codecs

    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError) as err:
        raise InvalidParameterError(
            f"encoding={encoding!r} is not a text encoding Python knows; pass e.g. encoding='utf-8' or "
            "encoding='gb18030' (Chinese exports from Excel)."
        ) from err
    return encoding


def _codes(df: pd.DataFrame, mapping: dict[str, Any], missing_ids: tuple[str, ...]) -> dict[str, Any]:
    """User and item codes of every row (-1 where missing or invalid), the ids, and the masks."""
    src_col = normalize_id_column(df[mapping["source"]], "source")
    tgt_col = normalize_id_column(df[mapping["target"]], "target")

    def users() -> Any:
        return factorize_ids(src_col, tgt_col, roles=("source", "target"), missing=missing_ids)

    if mapping["item"] is None:
        u = users()
        n = len(df)
        return {"users": u, "item": np.zeros(n, dtype=np.int64), "item_ids": pd.Index(["*"], dtype=object),
                "item_missing": np.zeros(n, dtype=bool), "item_invalid": np.zeros(n, dtype=bool)}
    item_col = normalize_id_column(df[mapping["item"]], "item")
    # the item ids are hashed next to the user ids (Arrow releases the GIL)
    u, it = side_by_side(users, lambda: factorize_ids(item_col, roles=("item",), missing=missing_ids))
    return {"users": u, "item": it.codes[0], "item_ids": it.ids, "item_missing": it.missing[0],
            "item_invalid": it.invalid[0], "items_as_text": it.as_text}


def _build(
    loaded: LoadedTable,
    mapping: dict[str, Any],
    *,
    time_unit: str,
    tz: str,
    on_invalid: str,
    missing_ids: tuple[str, ...],
) -> ShareGraph:
    """Validate every row of the loaded table, then build the graph from the accepted ones.

    A long function on purpose: it is the one list of row checks, in their priority order (a row
    with several problems gets the first reason), followed by the report that accounts for every row.
    """
    df, info = loaded.frame, loaded.info
    n = len(df)
    reason = np.zeros(n, dtype=np.int8)

    def flag(mask: np.ndarray, name: str) -> None:
        sel = mask & (reason == 0)
        reason[sel] = REASON_CODES[name]

    ids = _codes(df, mapping, missing_ids)
    u = ids["users"]
    src, tgt = u.codes
    item, item_ids = ids["item"], ids["item_ids"]
    flag(u.missing[0], "null_source")
    flag(u.missing[1], "null_target")
    flag(ids["item_missing"], "null_item")
    flag(u.invalid[0] | u.invalid[1] | ids["item_invalid"], "invalid_id")
    time_info: dict[str, Any] = {}
    if mapping["time"] is not None:
        tns, treason, time_info = parse_time(missing_tokens_to_null(df[mapping["time"]]), unit=time_unit, tz=tz)
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
        cat = normalized_category(missing_tokens_to_null(df[col]), lower=opt == "event_type")
        extra[opt] = cat
        extra_codes.append(np.asarray(cat.codes, dtype=np.int64))
    if mapping["value"] is not None:
        vals, vbad, vinf = parse_value(missing_tokens_to_null(df[mapping["value"]]))
        flag(vbad, "unparseable_value")
        flag(vinf, "non_finite_value")
        extra["value"] = vals
        extra_codes.append(vals.view(np.int64) if vals.size else vals.astype(np.int64))
    flag((src == tgt) & (src >= 0), "self_forward")
    # group the valid events into edges; exact duplicates can only be among the events whose
    # (source, target, item) repeats, which the grouping lists
    okidx = np.flatnonzero(reason == 0)
    allok = okidx.size == n
    kept = [a if allok else a[okidx] for a in (src, tgt, item, tns, *extra_codes)]
    edges = aggregate_edges(kept[0], kept[1], kept[2], kept[3], len(u.ids), len(item_ids))
    dup = _duplicated_among(kept, edges.repeated)
    reason[okidx[dup]] = REASON_CODES["duplicate"]
    ok = reason == 0
    row, line = loaded.rows, loaded.lines
    if on_invalid == "raise":
        _raise_first(df, mapping, reason, row, line, loaded.rejected, info)
    rejected = _rejected_table(df, reason, ok, row, line, loaded.rejected, with_line="path" in info)
    rows_read = n + len(loaded.rejected)
    by_reason = {name: 0 for name in REASONS}
    counts = np.bincount(reason, minlength=len(REASONS) + 1)
    for name, code in REASON_CODES.items():
        by_reason[name] = int(counts[code])
    for r in loaded.rejected:
        by_reason[r.reason] += 1
    report: dict[str, Any] = {
        **{k: v for k, v in info.items()},
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
    if missing_ids:
        report["missing_ids"] = list(missing_ids)
    as_text = {k: v for k, v in (("users", u.as_text), ("items", ids.get("items_as_text", 0))) if v}
    if as_text:
        report["ids_as_text"] = as_text
    if report["rows_accepted"] + report["rows_rejected"] != report["rows_read"]:  # pragma: no cover
        raise RuntimeError("kocgraph internal error: rows accepted + rejected != rows read; please report it")
    ext = {k: v[ok] for k, v in extra.items()}
    if dup.any():
        kept = [a[~dup] for a in kept[:4]]
    return ShareGraph._from_codes(
        *kept[:4], u.ids, item_ids, row=row[ok], extra=ext,
        meta={"read_log": report}, rejected=rejected, edges=edges.without(dup),
    )


def _where(r: int, line: int | None, info: dict[str, Any]) -> str:
    """"row 3 (line 5 of the file)": a data row's number and, for files, its line when known."""
    return f"row {r}" + (f" (line {line} of the file)" if line is not None and info.get("path") else "")


def _raise_first(df: pd.DataFrame, mapping: dict[str, Any], reason: np.ndarray, row: np.ndarray,
                 line: np.ndarray | None, raw: list[Any], info: dict[str, Any]) -> None:
    """``on_invalid="raise"``: raise on the first bad record of the input, whichever kind it is."""
    first_bad = np.flatnonzero(reason > 0)
    first_raw = min(raw, key=lambda r: r.row) if raw else None
    if first_raw is not None and (not first_bad.size or first_raw.row < int(row[first_bad[0]])):
        text = first_raw.text if len(first_raw.text) <= 200 else first_raw.text[:200] + "..."
        raise LogSchemaError(
            f"{_where(first_raw.row, first_raw.line, info)} is invalid: {first_raw.reason}: "
            f"{REASONS[first_raw.reason]}; the line is {text!r}. "
            "Fix or remove the line, or pass on_invalid='quarantine' to set bad rows aside with their reasons."
        )
    if first_bad.size:
        i = int(first_bad[0])
        name = list(REASON_CODES)[reason[i] - 1]
        shown = {k: _py(df[v].iloc[i]) for k, v in mapping.items() if v is not None}
        raise LogSchemaError(
            f"{_where(int(row[i]), None if line is None else int(line[i]), info)} is invalid: {name}: "
            f"{REASONS[name]}; the row is {shown}. "
            "Fix the row, or pass on_invalid='quarantine' to set bad rows aside with their reasons."
        )


def _rejected_table(df: pd.DataFrame, reason: np.ndarray, ok: np.ndarray, row: np.ndarray,
                    line: np.ndarray | None, raw: list[Any], *, with_line: bool) -> pd.DataFrame:
    """The rejected rows as given, after ``row``, ``reason`` (and ``line``, the file line, for files);
    the records set aside before parsing come last, with their ``raw_text``."""
    rej_idx = np.flatnonzero(~ok)
    names = np.array(list(REASON_CODES), dtype=object)
    rejected = df.iloc[rej_idx].copy()
    if with_line:
        at = pd.array(line[rej_idx], dtype="Int64") if line is not None else pd.array([pd.NA] * rej_idx.size, dtype="Int64")
        rejected.insert(0, "line", at)
    rejected.insert(0, "reason", names[reason[rej_idx] - 1] if rej_idx.size else np.array([], dtype=object))
    rejected.insert(0, "row", row[rej_idx])
    if raw:
        cols: dict[str, Any] = {"row": [r.row for r in raw], "reason": [r.reason for r in raw]}
        if with_line:
            cols["line"] = pd.array([r.line for r in raw], dtype="Int64")
        cols["raw_text"] = [r.text for r in raw]
        rejected = pd.concat([rejected, pd.DataFrame(cols)], ignore_index=True)
    return rejected.reset_index(drop=True)


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
    return v.item() if isinstance(v, np.generic) else v
