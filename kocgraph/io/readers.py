"""``kg.read_log``: a forwarding log (a file or a DataFrame) into a validated :class:`ShareGraph`."""

from __future__ import annotations

import os
from contextlib import closing
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph, aggregate_edges
from .._core.validation import REASON_CODES, REASONS, check_columns, check_tz
from ..exceptions import InvalidParameterError, LogSchemaError, check_choice
from .ingest import Ingest
from .sources import RESTART, parts_of

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
    _check_sep(sep)
    id_cols = [c for c in (source, target, item) if c is not None]
    parts = parts_of(data, format=format, sep=sep, encoding=_check_encoding(encoding), string_columns=id_cols)
    given = {"source": source, "target": target, "item": item, "time": time,
             "event_type": event_type, "channel": channel, "value": value}
    if source == target:
        raise InvalidParameterError(f"source and target both name column {source!r}; they must differ.")
    ingest, mapping = _stream(parts, given, time_unit=time_unit, tz=tz, missing=missing)
    return _build(ingest, parts, mapping, on_invalid=on_invalid, tz=tz)


def _stream(parts: list[Any], given: dict[str, Any], *, time_unit: str, tz: str,
            missing: tuple[str, ...]) -> tuple[Ingest, dict[str, Any]]:
    """Feed every batch of every part to one :class:`Ingest` (the first batch fixes the columns)."""
    ingest: Ingest | None = None
    mapping: dict[str, Any] = {}
    columns: list[str] | None = None
    for pi, part in enumerate(parts):
        with closing(part.batches()) as batches:  # an error closes the parser now, not at exit
            for got in batches:
                if got is RESTART:
                    if ingest is not None:
                        ingest.drop_part(pi)
                    continue
                frame = got.frame
                if columns is None:
                    if not len(frame.columns) and not len(frame):  # JSON lines of blank or broken lines only
                        frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in given.values()
                                              if isinstance(c, str) and c != _AUTO})
                    columns = [str(c) for c in frame.columns]
                    mapping = _mapping(given, columns)
                    check_columns(columns, mapping, {"source", "target"}, where="kg.read_log")
                    ingest = Ingest(mapping, time_unit=time_unit, tz=tz, missing_ids=missing)
                    first = part.name
                elif sorted(str(c) for c in frame.columns) != sorted(columns) and len(frame.columns):
                    raise LogSchemaError(
                        f"the files of this log have different columns: {first!r} has {columns}, {part.name!r} has "
                        f"{[str(c) for c in frame.columns]}. Read them apart, or make their headers the same.")
                assert ingest is not None
                ingest.add(pi, frame, got.rows, keep_frame=part.single)
    assert ingest is not None
    return ingest, mapping


def _mapping(given: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    mapping = {k: given[k] for k in ("source", "target", "item", "time")}
    for opt in ("event_type", "channel", "value"):
        mapping[opt] = (opt if opt in columns else None) if given[opt] is _AUTO else given[opt]
    return mapping


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


def _build(ingest: Ingest, parts: list[Any], mapping: dict[str, Any], *, on_invalid: str, tz: str) -> ShareGraph:
    """The graph from the ingested log: exact duplicates found over the whole log, every row
    accounted for in the report, the rejected rows with their reasons.

    This is the read's memory peak, so the steps keep int32 codes and free what the next step does
    not need: the rejected rows are taken while the batches are still at hand, then only the
    accepted rows stay for the edge grouping (which finds the exact duplicates among them)."""
    ing = ingest.finish()
    _release_arrow_memory()
    multi = len(parts) > 1
    with_line = any(p.info.get("path") for p in parts)
    raising = on_invalid == "raise"
    rejected = [] if raising else [ingest.rejected_frame(ing, parts, with_file=multi, with_line=with_line)]
    okidx = np.flatnonzero(ing.reason == 0) if np.count_nonzero(ing.reason) else None  # None: every row
    if okidx is None:
        acc = {"src": ing.src, "tgt": ing.tgt, "item": ing.item, "time": ing.time, "part": ing.part, "row": ing.row}
        ext = dict(ing.extra)
    else:
        acc = {k: getattr(ing, k if k != "time" else "time")[okidx]
               for k in ("src", "tgt", "item", "time", "part", "row")}
        ext = {k: v[okidx] for k, v in ing.extra.items()}
    counts = _counts(ing, parts)
    users, item_ids, time_info, as_text = ing.users, ing.item_ids, ing.time_info, ing.ids_as_text
    if not raising:
        ingest.kept.clear()  # the batches' arrays: no longer needed
        del ing
    del okidx
    # exact duplicates can only be among the events whose (source, target, item) repeats, which the
    # edge grouping lists; they are the same across files as within one
    edges = aggregate_edges(acc["src"], acc["tgt"], acc["item"], acc["time"], len(users), len(item_ids))
    extra_cols = [np.asarray(c.codes) for k, c in ext.items() if k != "value"]
    if "value" in ext:
        extra_cols.append(ext["value"].view(np.int64))
    dup = _duplicated_among([acc["src"], acc["tgt"], acc["item"], acc["time"], *extra_cols], edges.repeated)
    del extra_cols
    dups = np.flatnonzero(dup)
    if raising:
        first_dup = (int(acc["part"][dups[0]]), int(acc["row"][dups[0]])) if dups.size else None
        _raise_first(ingest, ing, parts, mapping, multi=multi, first_dup=first_dup)
        rejected.append(ingest.rejected_frame(ing, parts, with_file=multi, with_line=with_line))
    rejected.append(ingest.duplicates_frame(parts, dups, part=acc["part"], row=acc["row"], arrays=acc, users=users,
                                            item_ids=item_ids, extra=ext, with_file=multi, with_line=with_line))
    counts["duplicate"] = int(dups.size)
    rej = pd.concat([r for r in rejected if len(r)], ignore_index=True) if any(len(r) for r in rejected) else rejected[0]
    if len(rej):
        order = ["file", "row"] if multi else ["row"]
        rej = rej.sort_values(order, kind="stable").reset_index(drop=True)
    report = _report(counts, parts, mapping, int(acc["src"].shape[0] - dups.size), time_info, as_text,
                     on_invalid=on_invalid, tz=tz)
    if ingest.missing:
        report["missing_ids"] = list(ingest.missing)
    if multi:
        ext["file"] = pd.Categorical.from_codes(acc["part"], categories=pd.Index([p.name for p in parts]))
    row = acc.pop("row")
    acc.pop("part")
    if dups.size:
        keep = ~dup
        acc = {k: v[keep] for k, v in acc.items()}
        ext = {k: v[keep] for k, v in ext.items()}
        row = row[keep]
        edges = edges.without(dup)
    # hand the arrays over (popped, so the graph's own copies are the only ones left)
    return ShareGraph._from_codes(acc.pop("src"), acc.pop("tgt"), acc.pop("item"), acc.pop("time"), users, item_ids,
                                  row=row, extra=ext, meta={"read_log": report}, rejected=rej, edges=edges,
                                  distinct_ids=True)


def _counts(ing: Any, parts: list[Any]) -> dict[str, int]:
    """Rows per reason (duplicates come later), the records set aside before parsing included."""
    n = int(ing.reason.size)
    bad = ing.reason[np.flatnonzero(ing.reason)]  # the rejected rows only: bincount widens to int64 first
    c = np.bincount(bad, minlength=len(REASONS) + 1)
    c[0] = n - bad.size
    counts = {name: int(c[code]) for name, code in REASON_CODES.items()}
    for p in parts:
        for r in p.rejected:
            counts[r.reason] += 1
    counts["_parsed"] = n
    per_part = [n] if len(parts) == 1 else np.bincount(ing.part, minlength=len(parts)).tolist()
    counts["_per_part"] = per_part  # type: ignore[assignment]
    return counts


def _release_arrow_memory() -> None:
    """Hand the memory pyarrow's pool keeps after the streamed read back to the system, so that
    numpy's arrays of the next steps can use it (the pool otherwise holds it until exit)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _report(counts: dict[str, Any], parts: list[Any], mapping: dict[str, Any], n_ok: int, time_info: dict[str, Any],
            as_text: dict[str, int], *, on_invalid: str, tz: str) -> dict[str, Any]:
    """The ingest report: what was read from where, and where every row went."""
    n_raw = sum(len(p.rejected) for p in parts)
    rows_read = int(counts.pop("_parsed") + n_raw)
    per_part = counts.pop("_per_part")
    report: dict[str, Any] = {}
    if len(parts) == 1:
        report.update(parts[0].info)
    else:
        report["files"] = [{**p.info, "rows_read": int(per_part[i] + len(p.rejected))} for i, p in enumerate(parts)]
        report["n_files"] = len(parts)
    report.update({
        "columns": {k: (str(v) if v is not None else None) for k, v in mapping.items()},
        "rows_read": rows_read,
        "rows_accepted": int(n_ok),
        "rows_rejected": int(rows_read - n_ok),
        "rejected_by_reason": {k: v for k, v in counts.items() if v},
        "has_time": mapping["time"] is not None,
        "time": time_info,
        "on_invalid": on_invalid,
        "tz": tz,
    })
    if as_text:
        report["ids_as_text"] = as_text
    if sum(report["rejected_by_reason"].values()) != report["rows_rejected"]:  # pragma: no cover
        raise RuntimeError("kocgraph internal error: rows accepted + rejected != rows read; please report it")
    return report


def _where(r: int, line: int | None, name: str | None, *, multi: bool = False) -> str:
    """"row 3 (line 5 of the file)", or with several files "row 3 of logs/b.csv (line 5)"."""
    if multi and name is not None:
        return f"row {r} of {name}" + (f" (line {line})" if line is not None else "")
    return f"row {r}" + (f" (line {line} of the file)" if name is not None and line is not None else "")


def _raise_first(ingest: Ingest, ing: Any, parts: list[Any], mapping: dict[str, Any], *, multi: bool,
                 first_dup: tuple[int, int] | None) -> None:
    """``on_invalid="raise"``: raise on the first bad record of the input (file by file), whichever
    kind: a rejected row, a record set aside before parsing, or an exact duplicate (``first_dup``)."""
    bad = np.flatnonzero(ing.reason > 0)
    cands: list[tuple[int, int, str, Any]] = []
    if bad.size:
        i = int(bad[np.lexsort((ing.row[bad], ing.part[bad]))[0]])
        cands.append((int(ing.part[i]), int(ing.row[i]), "row", i))
    if first_dup is not None:
        hit = np.flatnonzero((ing.part == first_dup[0]) & (ing.row == first_dup[1]))
        cands.append((first_dup[0], first_dup[1], "dup", int(hit[0])))
    for pi, p in enumerate(parts):
        if p.rejected:
            r = min(p.rejected, key=lambda x: x.row)
            cands.append((pi, r.row, "raw", r))
    if not cands:
        return
    pi, row, kind, what = min(cands, key=lambda c: (c[0], c[1]))
    part = parts[pi]
    name = part.name if part.info.get("path") else None
    fix = "or pass on_invalid='quarantine' to set bad rows aside with their reasons."
    if kind == "raw":
        text = what.text if len(what.text) <= 200 else what.text[:200] + "..."
        raise LogSchemaError(
            f"{_where(row, what.line, name, multi=multi)} is invalid: {what.reason}: {REASONS[what.reason]}; "
            f"the line is {text!r}. Fix or remove the line, " + fix)
    i = what
    why = "duplicate" if kind == "dup" else list(REASON_CODES)[ing.reason[i] - 1]
    lines = part.lines_of(np.array([row]))
    shown = _shown_row(ingest, ing, i, mapping)
    raise LogSchemaError(
        f"{_where(row, None if lines is None else int(lines[0]), name, multi=multi)} is invalid: {why}: "
        f"{REASONS[why]}; the row is {shown}. Fix the row, " + fix)


def _shown_row(ingest: Ingest, ing: Any, i: int, mapping: dict[str, Any]) -> dict[str, Any]:
    """The canonical values of global row ``i``, as given where its batch was kept."""
    start = 0
    for k in ingest.kept:
        n = len(k.rows)
        if start <= i < start + n:
            j = i - start
            src = k.frame if k.frame is not None else None
            if src is None and k.rejected is not None and k.reason[j] > 0:
                pos = int(np.searchsorted(np.flatnonzero(k.reason > 0), j))
                src = k.rejected.iloc[[pos]].reset_index(drop=True)
                j = 0
            if src is not None:
                return {r: _py(src[c].iloc[j]) for r, c in mapping.items() if c is not None}
            return {r: _py(v) for r, v in ingest._rebuilt(ing, np.array([i])).iloc[0].items()}
        start += n
    return {}  # pragma: no cover


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
