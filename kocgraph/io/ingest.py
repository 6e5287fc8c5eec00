"""Streamed ingest: batches of a log in, compact validated arrays out.

:class:`Ingest` takes the batches of every part of a log (see :mod:`kocgraph.io.sources`), one at a
time, and keeps only what the graph needs: int32 user and item codes against dictionaries that grow
as batches arrive (:class:`UserDictionary` for the sources and targets, hashed together;
:class:`IdDictionary` for the items), time chunks, small categorical codes, order values and a
reason code per row. The original rows of a batch are kept only when they are rejected (or when the
whole part is one batch). :meth:`Ingest.finish` decides what needs the whole log (the epoch unit,
exact duplicates across files) and returns a :class:`Ingested`.

Every row is accounted for: rows read = rows parsed + records set aside before parsing, and each
rejected row keeps its reason, its part (file) and its record index in that part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .._core.graph import utc_times
from .._core.validation import (
    MISSING_TOKENS,
    REASON_CODES,
    REASONS,
    TimeChunk,
    finish_epoch,
    missing_tokens_to_null,
    normalized_category,
    parse_value,
    time_chunk,
)
from ..algorithms._parallel import side_by_side
from ..exceptions import DataQualityWarning, LogSchemaError
from .csvread import RawRecord

__all__ = ["IdDictionary", "Ingest", "Ingested", "UserDictionary"]

_RC = REASON_CODES


# ------------------------------------------------------------------------------------------------ ids
class IdDictionary:
    """Factorize a stream of Arrow arrays (text or integers) into int32 codes against one dictionary
    in first-seen order.

    ``add`` dictionary-encodes a batch (Arrow's hash table, in C) and returns a handle and the
    batch's own dictionary; ``finish`` merges the batch dictionaries (Arrow's dictionary unifier,
    over the distinct ids of each batch, never over the rows); ``codes(handle)`` is then the
    batch's codes (-1 for null). Pending dictionaries are merged early when they hold more than
    ``merge_at`` ids, so memory stays bounded on logs of any length.

    >>> import pyarrow as pa
    >>> d = IdDictionary()
    >>> h1, h2 = d.add(pa.array(["b", "a", "b"]))[0], d.add(pa.array(["c", None, "a"]))[0]
    >>> d.finish(); d.codes(h1).tolist(), d.codes(h2).tolist(), d.values.to_pylist()
    ([0, 1, 0], [2, -1, 1], ['b', 'a', 'c'])
    """

    def __init__(self, *, merge_at: int = 1 << 23) -> None:
        self.values: Any = None  # the merged dictionary (a pyarrow Array)
        self._pending: list[tuple[int, Any, np.ndarray]] = []  # handle, batch dictionary, batch indices
        self._pending_size = 0
        self._codes: dict[int, np.ndarray] = {}
        self._dropped: set[int] = set()
        self._next = 0
        self._merge_at = merge_at
        self.as_text = False  # integer ids were turned into text (the stream mixed the two)

    def add(self, arr: Any) -> tuple[int, Any, np.ndarray]:
        """Encode a batch; returns its handle, its own dictionary and its rows' indices into that
        dictionary (-1 for null), for checks made once per distinct id."""
        return self._push(*_hashed(arr))

    def _push(self, batch_dict: Any, local: np.ndarray) -> tuple[int, Any, np.ndarray]:
        h = self._next
        self._next += 1
        self._pending.append((h, batch_dict, local))
        self._pending_size += len(batch_dict)
        if self._pending_size >= self._merge_at:
            self._merge()
        return h, batch_dict, local

    def drop(self, handles: list[int]) -> None:
        """Forget batches (a part read again): their codes are not wanted (their ids may stay)."""
        self._dropped |= set(handles)
        for h in handles:
            self._codes.pop(h, None)

    def _merge(self) -> None:
        """Unify the merged dictionary and the pending ones (identity indices: the unifier's output
        indices are then each batch's local -> global map), and map each batch's codes."""
        import pyarrow as pa

        if not self._pending:
            return
        dicts = ([self.values] if self.values is not None else []) + [d for _, d, _ in self._pending]
        target = _common_type([d.type for d in dicts])
        if target is not None:
            self.as_text = self.as_text or any(pa.types.is_integer(d.type) for d in dicts)
            dicts = [_as_text(d, target) for d in dicts]
        typ = dicts[0].type
        ident = [pa.DictionaryArray.from_arrays(pa.array(np.arange(len(d), dtype=np.int32)), d) for d in dicts]
        unified = pa.chunked_array(ident, type=pa.dictionary(pa.int32(), typ)).unify_dictionaries()
        self.values = unified.chunk(0).dictionary if len(ident) else self.values
        first = 1 if len(dicts) > len(self._pending) else 0
        maps = [np.asarray(ch.indices.to_numpy(zero_copy_only=False), dtype=np.int32) for ch in unified.chunks[first:]]
        self._seen(maps)
        for (h, _, local), m in zip(self._pending, maps):
            if h in self._dropped:
                continue
            self._codes[h] = np.append(m, -1)[local]
        self._pending = []
        self._pending_size = 0

    def _seen(self, maps: list[np.ndarray]) -> None:
        """A hook: the pending batches' local -> global maps, in batch order (see :class:`UserDictionary`)."""

    def finish(self) -> None:
        self._merge()

    def codes(self, handle: int) -> np.ndarray:
        return self._codes[handle]

    def release(self, handle: int) -> None:
        """Free a batch's codes once they are laid out elsewhere."""
        self._codes.pop(handle, None)


class UserDictionary(IdDictionary):
    """The users of a stream of (source, target) batches, in one dictionary: each batch's two id
    columns are hashed together (:meth:`add_pair`), so an id that is both a source and a target in
    a batch is hashed into one entry, and the two roles need no merge at the end.

    The order is that of ``pd.factorize`` of every source, then every target: the sources in
    first-seen order, then the ids seen only as targets, in first-seen order. It is found on the
    dictionaries, never on the rows: a batch's own dictionary lists its sources' distinct ids
    first (they come first in what is hashed), then the ids it has only as targets.

    >>> import pyarrow as pa
    >>> d = UserDictionary()
    >>> h1 = d.add_pair(pa.array(["b", "a"]), pa.array(["c", "b"]))[0]
    >>> h2 = d.add_pair(pa.array(["c", None]), pa.array(["d", "a"]))[0]
    >>> d.finish(); d.values.to_pylist(), d.codes(h1).tolist(), d.codes(h2).tolist()
    (['b', 'a', 'c', 'd'], [0, 1, 2, 0], [2, -1, 3, 1])
    """

    def __init__(self, *, merge_at: int = 1 << 23) -> None:
        super().__init__(merge_at=merge_at)
        self._n_sources: dict[int, int] = {}  # handle -> how many of the batch's entries are sources
        self._order_src: list[np.ndarray] = []  # global ids first seen as a source, in order
        self._order_tgt: list[np.ndarray] = []  # global ids first seen as a target only, in order
        self._is_src = np.zeros(0, dtype=bool)
        self._is_tgt = np.zeros(0, dtype=bool)

    def add_pair(self, src: Any, tgt: Any) -> tuple[int, Any, np.ndarray]:
        """Encode a batch's sources and targets together; returns the handle, the batch's own
        dictionary and the indices of its sources then its targets (``2 n`` of them, -1 for null)."""
        import pyarrow as pa

        if len(src) != len(tgt):
            raise ValueError(f"a batch has {len(src):,} sources but {len(tgt):,} targets; pass one of each per event")
        target = _common_type([src.type, tgt.type])
        if target is not None:  # 7 and "7" in one batch: both read as text, as the merge would
            self.as_text = self.as_text or pa.types.is_string(target) or pa.types.is_large_string(target)
            src, tgt = _as_text(src, target), _as_text(tgt, target)
        pieces = [c for x in (src, tgt) for c in (x.chunks if isinstance(x, pa.ChunkedArray) else [x])]
        batch_dict, local = _hashed(pa.concat_arrays(pieces) if pieces else pa.array([], src.type))
        n = len(src)
        self._n_sources[self._next] = int(local[:n].max()) + 1 if n else 0  # -1 (null) everywhere gives 0
        return self._push(batch_dict, local)

    def _seen(self, maps: list[np.ndarray]) -> None:
        size = len(self.values)
        if self._is_src.size < size:
            self._is_src = np.concatenate([self._is_src, np.zeros(size - self._is_src.size, dtype=bool)])
            self._is_tgt = np.concatenate([self._is_tgt, np.zeros(size - self._is_tgt.size, dtype=bool)])
        for (h, _, _), m in zip(self._pending, maps):
            k = self._n_sources.pop(h)
            for part, seen, order in ((m[:k], self._is_src, self._order_src), (m[k:], self._is_tgt, self._order_tgt)):
                new = part[~seen[part]]  # a batch's entries are distinct: no id twice in ``new``
                seen[new] = True
                order.append(new)

    def finish(self) -> None:
        """Merge what is pending, then put the users in ``pd.factorize`` order (sources first)."""
        self._merge()
        if self.values is None:
            return
        tgt_only = np.concatenate(self._order_tgt) if self._order_tgt else np.zeros(0, dtype=np.int32)
        order = np.concatenate(self._order_src + [tgt_only[~self._is_src[tgt_only]]])
        if order.size != len(self.values):
            raise AssertionError(f"user order covers {order.size} of {len(self.values)} ids")  # a bug, not data
        pos = np.empty(order.size + 1, dtype=np.int32)
        pos[order] = np.arange(order.size, dtype=np.int32)
        pos[-1] = -1  # null stays null
        self.values = self.values.take(order)
        for h, c in self._codes.items():
            self._codes[h] = pos[c]
        self._order_src, self._order_tgt = [], []


def _hashed(arr: Any) -> tuple[Any, np.ndarray]:
    """Arrow's dictionary encoding of ``arr``: its distinct values in first-seen order, and each
    row's index into them (int32, -1 for null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    enc = pc.dictionary_encode(arr)
    idx = enc.indices
    local = np.asarray((pc.fill_null(idx, -1) if idx.null_count else idx).to_numpy(zero_copy_only=False),
                       dtype=np.int32)
    return enc.dictionary, local


def _common_type(types: list[Any]) -> Any:
    """None when the dictionaries share one type; else the text type every one is turned into."""
    import pyarrow as pa

    if len({str(t) for t in types}) <= 1:
        return None
    if all(pa.types.is_integer(t) for t in types):
        return None if len({t for t in types}) == 1 else pa.int64() if not any(
            t == pa.uint64() for t in types) else pa.string()
    return pa.large_string() if any(pa.types.is_large_string(t) for t in types) else pa.string()


def _as_text(arr: Any, target: Any) -> Any:
    import pyarrow.compute as pc

    return arr if arr.type == target else pc.cast(arr, target)


def _arrow_ids(s: pd.Series, role: str) -> tuple[Any, np.ndarray, bool]:
    """An id column as an Arrow array of text or integers (null where missing or invalid), the mask
    of invalid values, and whether integers were turned into text (the column mixes the two)."""
    import pyarrow as pa

    from .._core.validation import _clean_id_column

    if isinstance(s.dtype, pd.ArrowDtype):
        at = s.dtype.pyarrow_dtype
        if pa.types.is_string(at) or pa.types.is_large_string(at) or pa.types.is_integer(at):
            arr = s.array.__arrow_array__()
            return arr, np.zeros(len(s), dtype=bool), False
    clean, invalid = _clean_id_column(s, role)
    if isinstance(clean.dtype, pd.ArrowDtype) and pa.types.is_null(clean.dtype.pyarrow_dtype):
        return pa.nulls(len(clean), pa.string()), invalid, False
    if isinstance(clean.dtype, pd.StringDtype) or str(clean.dtype) == "str":
        return pa.array(clean.to_numpy(dtype=object, na_value=None), pa.string()), invalid, False
    if clean.dtype.kind in "iu" or isinstance(clean.dtype, pd.core.dtypes.dtypes.BaseMaskedDtype):
        return pa.array(clean.astype(object).where(clean.notna(), None).tolist(),
                        pa.uint64() if clean.dtype.kind == "u" else pa.int64()), invalid, False
    vals = clean.to_numpy(dtype=object)
    is_str = np.fromiter((isinstance(v, str) for v in vals), dtype=bool, count=len(vals))
    is_int = np.fromiter((isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals),
                         dtype=bool, count=len(vals))
    if is_str.any() and is_int.any():
        text = [str(v) if i else (v if s_ else None) for v, s_, i in zip(vals, is_str, is_int)]
        return pa.array(text, pa.string()), invalid, True
    if is_int.any():
        ints = [int(v) if i else None for v, i in zip(vals, is_int)]
        try:
            return pa.array(ints, pa.int64()), invalid, False
        except (OverflowError, pa.ArrowInvalid):
            try:
                return pa.array(ints, pa.uint64()), invalid, False
            except (OverflowError, pa.ArrowInvalid):
                return pa.array([None if v is None else str(v) for v in ints], pa.string()), invalid, True
    return pa.array([v if s_ else None for v, s_ in zip(vals, is_str)], pa.string()), invalid, False


def _blank_ids(dictionary: Any, missing: tuple[str, ...]) -> np.ndarray:
    """Which entries of an Arrow dictionary mean "no id": blank text, and the ``missing`` texts."""
    import pyarrow as pa

    from .._core.validation import _missing_arrow

    if not (pa.types.is_string(dictionary.type) or pa.types.is_large_string(dictionary.type)):
        return np.zeros(len(dictionary), dtype=bool)
    return _missing_arrow(dictionary, missing)


# ------------------------------------------------------------------------------------------------ the accumulator
#: an id column of a batch, encoded: the Arrow ids, the invalid mask, whether integers became text,
#: the dictionary handle, and the rows with no id
_Encoded = tuple[Any, np.ndarray, bool, int, np.ndarray]


class _Kept(NamedTuple):
    part: int
    rows: np.ndarray  # record index in the part
    handles: tuple[int, int, int]  # source, target, item dictionary handles (-1: no item column)
    time: TimeChunk | None
    reason: np.ndarray  # int8
    cats: dict[str, pd.Categorical]
    value: np.ndarray | None
    frame: pd.DataFrame | None  # the batch as given (kept for one-batch parts only)
    rejected: pd.DataFrame | None  # the batch's rows rejected already, as given


@dataclass
class Ingested:
    """The validated log: int32 codes (-1 where missing), the ids, UTC ns times, per-row reasons
    (0 = accepted), categorical extras, part and record index of every row, the rejected rows."""

    src: np.ndarray
    tgt: np.ndarray
    item: np.ndarray
    users: pd.Index
    item_ids: pd.Index
    time: np.ndarray
    reason: np.ndarray
    extra: dict[str, Any]
    part: np.ndarray
    row: np.ndarray
    time_info: dict[str, Any]
    ids_as_text: dict[str, int] = field(default_factory=dict)


class Ingest:
    """Accumulate batches (see the module docstring). ``mapping`` maps canonical roles to the log's
    column names (None for absent optional roles)."""

    def __init__(self, mapping: dict[str, Any], *, time_unit: str, tz: str, missing_ids: tuple[str, ...]) -> None:
        self.mapping = mapping
        self.time_unit, self.tz, self.missing = time_unit, tz, missing_ids
        self.users = UserDictionary()
        self.items = IdDictionary()
        self.kept: list[_Kept] = []
        self.time_info: dict[str, Any] = {}
        self.text_mix = False
        self.n_rows = 0
        self.columns: list[str] = []
        self.single: dict[int, tuple[pd.DataFrame, np.ndarray]] = {}  # one-batch parts: the frame as given
        self._seen_parts: set[int] = set()
        self.first_bad: dict[str, Any] = {}  # role -> the first value of a wrong type
        self.any_valid: dict[str, bool] = {}

    # -- one batch
    def add(self, part: int, frame: pd.DataFrame, rows: np.ndarray, *, keep_frame: bool) -> None:
        m = self.mapping
        if not self.columns:
            self.columns = [str(c) for c in frame.columns]
        n = len(frame)
        reason = np.zeros(n, dtype=np.int8)

        def flag(mask: np.ndarray, name: str) -> None:
            reason[mask & (reason == 0)] = _RC[name]

        null_of: dict[str, np.ndarray] = {}
        inval = np.zeros(n, dtype=bool)
        arrs = {}
        roles = [r for r in ("source", "target", "item") if m[r] is not None]
        columns = {r: frame[m[r]] for r in roles}
        time_column = frame[m["time"]] if m["time"] is not None else None

        others = {o: frame[m[o]] for o in ("event_type", "channel", "value") if m[o] is not None}

        def times() -> TimeChunk | None:
            if time_column is None:
                return None
            return time_chunk(time_column, tz=self.tz, info=self.time_info, unit=self.time_unit,
                              missing_tokens=True)

        def extras() -> tuple[dict[str, pd.Categorical], Any]:
            cats = {o: normalized_category(missing_tokens_to_null(c), lower=o == "event_type")
                    for o, c in others.items() if o != "value"}
            return cats, parse_value(missing_tokens_to_null(others["value"])) if "value" in others else None

        # the users (sources and targets hashed together) and the items into their dictionaries,
        # the times parsed and the extra columns read, side by side (Arrow's hashing and casts
        # release the GIL); each step reads its own columns and writes its own state
        (src_enc, tgt_enc, same), *by_item, tchunk, (cats, parsed_value) = side_by_side(
            partial(self._encode_users, columns["source"], columns["target"]),
            *([partial(self._encode, columns["item"])] if "item" in columns else []), times, extras)
        encoded = [src_enc, tgt_enc, *by_item]
        handles = {role: h for role, (*_, h, _) in zip(roles, encoded)}
        for role, (arr, bad, mixed, _, null) in zip(roles, encoded):
            self.text_mix |= mixed
            if bad.any() and role not in self.first_bad:
                self.first_bad[role] = columns[role].iloc[int(np.flatnonzero(bad)[0])]
            if not self.any_valid.get(role):
                self.any_valid[role] = bool(arr.null_count < len(arr))
            arrs[role] = arr
            inval |= bad
            null_of[role] = null
        flag(null_of["source"], "null_source")
        flag(null_of["target"], "null_target")
        if "item" in null_of:
            flag(null_of["item"], "null_item")
        flag(inval, "invalid_id")
        if tchunk is not None:
            sel = (tchunk.reason > 0) & (reason == 0)
            reason[sel] = tchunk.reason[sel]
        value = None
        if parsed_value is not None:
            value, vbad, vinf = parsed_value
            flag(vbad, "unparseable_value")
            flag(vinf, "non_finite_value")
        flag(same, "self_forward")
        rej = np.flatnonzero(reason > 0)
        if not keep_frame and part not in self._seen_parts:
            keep_frame = True  # a part's first batch is kept whole: a small file rejects rows as given
        elif not keep_frame:
            self._let_go(part)
        self._seen_parts.add(part)
        rejected = frame.iloc[rej].copy() if rej.size and not keep_frame else None
        if keep_frame:
            self.single[part] = (frame, rows)
        kept_handles = tuple(handles.get(r, -1) for r in ("source", "target", "item"))
        self.kept.append(_Kept(part, rows, kept_handles, tchunk, reason, cats, value,  # type: ignore[arg-type]
                               frame if keep_frame else None, rejected))
        self.n_rows += n

    def _encode(self, column: pd.Series) -> _Encoded:
        """The item column of a batch into the items' dictionary: the Arrow ids, the invalid mask,
        whether integers became text, the dictionary handle, and the rows with no id."""
        arr, bad, mixed = _arrow_ids(column, "item")
        h, batch_dict, local = self.items.add(arr)
        blank_rows = np.append(_blank_ids(batch_dict, self.missing), False)[local]
        return arr, bad, mixed, h, (local < 0) & ~bad | blank_rows

    def _encode_users(self, source: pd.Series, target: pd.Series) -> tuple[_Encoded, _Encoded, np.ndarray]:
        """The source and target columns of a batch into the users' dictionary, hashed together:
        for each, what :meth:`_encode` gives; and the rows whose two ids are one id."""
        (sarr, sbad, smixed), (tarr, tbad, tmixed) = _arrow_ids(source, "source"), _arrow_ids(target, "target")
        h, batch_dict, local = self.users.add_pair(sarr, tarr)
        n = len(source)
        blank = np.append(_blank_ids(batch_dict, self.missing), False)[local]
        null = (local < 0) | blank
        same = (local[:n] == local[n:]) & ~null[:n]  # one entry per id: equal ids, equal codes
        return (sarr, sbad, smixed, h, null[:n] & ~sbad), (tarr, tbad, tmixed, h, null[n:] & ~tbad), same

    def _let_go(self, part: int) -> None:
        """A part has a second batch: keep only the rejected rows of its first one."""
        if self.single.pop(part, None) is None:
            return
        for i, k in enumerate(self.kept):
            if k.part == part and k.frame is not None:
                early = np.flatnonzero(k.reason > 0)
                self.kept[i] = k._replace(frame=None, rejected=k.frame.iloc[early].copy() if early.size else None)

    def drop_part(self, part: int) -> None:
        """Forget a part's batches (it is being read again)."""
        self.single.pop(part, None)
        self._seen_parts.discard(part)
        gone = [k for k in self.kept if k.part == part]
        self.users.drop([k.handles[0] for k in gone])
        self.items.drop([k.handles[2] for k in gone if k.handles[2] >= 0])
        self.n_rows -= sum(len(k.rows) for k in gone)
        self.kept = [k for k in self.kept if k.part != part]

    # -- the whole log
    def finish(self) -> Ingested:
        """Merge the id dictionaries, give the time column its unit, and lay every batch's arrays
        end to end (each filled in place into one preallocated array; batch arrays freed as they go)."""
        from .._core.validation import _bad_id
        for role, value in self.first_bad.items():
            if not self.any_valid.get(role):  # a column of no valid id: the column is wrong, not a row
                raise _bad_id(value, role)
        # the users' dictionary (the longest step: Arrow's unifier, which releases the GIL) beside
        # everything else; the two read the batches' arrays and write their own
        (src, tgt, users, as_text), (item, item_ids, items_text, reason, tns, extra, part, row) = side_by_side(
            self._users_laid, self._rest_laid)
        text_users = int(as_text or self.text_mix)
        if text_users or items_text:
            import warnings

            warnings.warn(
                "the log's ids mix integer and text ids; every id is read as its text, so 7 and '7' are one user. "
                "Convert the columns to one type to silence this.", DataQualityWarning, stacklevel=3)
        as_text_info = {k: v for k, v in (("users", text_users), ("items", int(items_text))) if v}
        return Ingested(src, tgt, item, users, item_ids, tns, reason, extra, part, row, self.time_info, as_text_info)

    def _users_laid(self) -> tuple[np.ndarray, np.ndarray, pd.Index, bool]:
        """The users merged: source and target codes end to end, the ids, whether ids became text."""
        self.users.finish()
        src, tgt = self._laid(self.users, 0, ("source", "target"))
        return src, tgt, _index_of(self.users.values), self.users.as_text

    def _rest_laid(self) -> tuple[np.ndarray, pd.Index, bool, np.ndarray, np.ndarray, dict[str, Any], np.ndarray,
                                  np.ndarray]:
        """All but the users: item codes and ids, reasons, UTC ns times, the extra columns, part and
        record index of every row, end to end."""
        m, kept = self.mapping, self.kept
        if m["item"] is not None:
            self.items.finish()
            (item,) = self._laid(self.items, 2, ("item",))
            item_ids = _index_of(self.items.values)
            items_text = self.items.as_text
        else:
            item = np.zeros(self.n_rows, dtype=np.int32)
            item_ids = pd.Index(["*"], dtype=object)
            items_text = False
        reason = _laid_out([k.reason for k in kept], np.int8, self.n_rows)
        if m["time"] is not None:
            self._raw_time = [k.time for k in kept]  # epoch numbers as given, for rebuilt rejected rows
            chunks = finish_epoch(self._raw_time, self.time_unit, self.time_info)  # type: ignore[arg-type]
            tns = _laid_out([c.values for c in chunks], np.int64, self.n_rows)
            treason = _laid_out([c.reason for c in chunks], np.int8, self.n_rows)
            del chunks
            sel = (treason > 0) & (reason == 0)
            reason[sel] = treason[sel]
            del treason, sel
        else:
            tns = np.arange(self.n_rows, dtype=np.int64)
        extra: dict[str, Any] = {}
        for opt in ("event_type", "channel"):
            if m[opt] is not None:
                extra[opt] = _union_categoricals([k.cats[opt] for k in kept])
        if m["value"] is not None:
            extra["value"] = _laid_out([k.value for k in kept], np.float64, self.n_rows)  # type: ignore[misc]
        part = _laid_out([np.full(len(k.rows), k.part, dtype=np.int32) for k in kept], np.int32, self.n_rows)
        row = _laid_out([k.rows for k in kept], np.int64, self.n_rows)
        return item, item_ids, items_text, reason, tns, extra, part, row

    def _laid(self, d: IdDictionary, j: int, roles: tuple[str, ...]) -> list[np.ndarray]:
        """Each role's int32 codes for every kept row, end to end (-1 where the id is missing), from
        the dictionary ``d`` under handle ``j`` of each batch, whose codes hold the roles one after
        another (the users' sources then targets; the items alone). Each batch's codes are freed
        once laid out."""
        outs = [np.empty(self.n_rows, dtype=np.int32) for _ in roles]
        at = 0
        for k in self.kept:
            n = len(k.rows)
            codes = d.codes(k.handles[j])
            for i, (out, role) in enumerate(zip(outs, roles)):
                seg = out[at:at + n]
                seg[:] = codes[i * n:(i + 1) * n]
                seg[k.reason == _RC["null_" + role]] = -1
            d.release(k.handles[j])
            at += n
        return outs

    def rejected_frame(self, ing: Ingested, parts: list[Any], *, with_file: bool, with_line: bool) -> pd.DataFrame:
        """Every rejected row: the row as given where it was kept, otherwise the log's mapped columns
        rebuilt from the validated arrays; ``row``, ``reason`` (``line``, ``file``) first."""
        names = np.array(list(REASON_CODES), dtype=object)
        pieces = []
        start = 0
        for k in self.kept:
            n = len(k.rows)
            rsn = ing.reason[start:start + n]
            bad = np.flatnonzero(rsn > 0)
            if bad.size:
                if k.frame is not None:
                    given = k.frame.iloc[bad].copy()
                else:
                    early = np.flatnonzero(k.reason > 0)
                    late = np.setdiff1d(bad, early)
                    frames = []
                    if early.size:
                        frames.append(k.rejected.set_axis(early))  # type: ignore[union-attr]
                    if late.size:
                        frames.append(self._rebuilt(ing, start + late, raw=k.time, local=late).set_axis(late))
                    given = pd.concat(frames).sort_index() if len(frames) > 1 else frames[0]
                given = given.reset_index(drop=True)
                head = {"row": k.rows[bad], "reason": names[rsn[bad] - 1]}
                if with_line:
                    lines = parts[k.part].lines_of(k.rows[bad])
                    head["line"] = pd.array(lines if lines is not None else [pd.NA] * bad.size, dtype="Int64")
                if with_file:
                    head["file"] = parts[k.part].name
                pieces.append(pd.concat([pd.DataFrame(head), given], axis=1))
            start += n
        for p in parts:
            if p.rejected:
                cols: dict[str, Any] = {"row": [r.row for r in p.rejected], "reason": [r.reason for r in p.rejected]}
                if with_line:
                    cols["line"] = pd.array([r.line for r in p.rejected], dtype="Int64")
                if with_file:
                    cols["file"] = p.name
                cols["raw_text"] = [r.text for r in p.rejected]
                pieces.append(pd.DataFrame(cols))
        return self._tidy(pieces, with_file=with_file, with_line=with_line)

    def duplicates_frame(self, parts: list[Any], dup: np.ndarray, *, part: np.ndarray, row: np.ndarray,
                         arrays: dict[str, np.ndarray], users: pd.Index, item_ids: pd.Index, extra: dict[str, Any],
                         with_file: bool, with_line: bool) -> pd.DataFrame:
        """The exact duplicates (indices ``dup`` into the accepted rows, whose part, record index and
        code arrays are given): as given for a one-batch part, else rebuilt from the arrays."""
        pieces = []
        for p in np.unique(part[dup]) if dup.size else []:
            sel = dup[part[dup] == p]
            head: dict[str, Any] = {"row": row[sel], "reason": "duplicate"}
            if with_line:
                lines = parts[p].lines_of(row[sel])
                head["line"] = pd.array(lines if lines is not None else [pd.NA] * sel.size, dtype="Int64")
            if with_file:
                head["file"] = parts[p].name
            kept = self.single.get(int(p))
            if kept is not None:
                frame, frame_rows = kept
                given = frame.iloc[np.searchsorted(frame_rows, row[sel])].reset_index(drop=True)
            else:
                m = self.mapping
                given = pd.DataFrame({m["source"]: users.take(arrays["src"][sel]).to_numpy(dtype=object),
                                      m["target"]: users.take(arrays["tgt"][sel]).to_numpy(dtype=object)})
                if m["item"] is not None:
                    given[m["item"]] = item_ids.take(arrays["item"][sel]).to_numpy(dtype=object)
                if m["time"] is not None:
                    given[m["time"]] = utc_times(arrays["time"][sel])
                for opt in ("event_type", "channel", "value"):
                    if m[opt] is not None:
                        given[m[opt]] = np.asarray(extra[opt][sel], dtype=object)
            pieces.append(pd.concat([pd.DataFrame(head), given], axis=1))
        return self._tidy(pieces, with_file=with_file, with_line=with_line)

    def _tidy(self, pieces: list[pd.DataFrame], *, with_file: bool, with_line: bool) -> pd.DataFrame:
        """Pieces of the rejected table as one frame with the log's columns (raw lines last)."""
        base = {"row": pd.Series(dtype=np.int64), "reason": pd.Series(dtype=object)}
        if with_line:
            base["line"] = pd.Series(dtype="Int64")
        if with_file:
            base["file"] = pd.Series(dtype=object)
        out = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(base)
        for c in self.columns:  # the log's columns, even where no kept row has them
            if c not in out.columns:
                out[c] = pd.Series([pd.NA] * len(out), dtype=object)
        if "raw_text" in out.columns:  # the unparsed lines last
            out = out[[c for c in out.columns if c != "raw_text"] + ["raw_text"]]
        return out

    def _rebuilt(self, ing: Ingested, idx: np.ndarray, *, raw: TimeChunk | None = None,
                 local: np.ndarray | None = None) -> pd.DataFrame:
        """The mapped columns of rows rejected after their batch was let go, from the validated arrays
        (epoch times as the numbers given, from the batch's ``raw`` time chunk)."""
        m = self.mapping
        out: dict[str, Any] = {}
        out[m["source"]] = ing.users.take(ing.src[idx]).to_numpy(dtype=object)
        out[m["target"]] = ing.users.take(ing.tgt[idx]).to_numpy(dtype=object)
        if m["item"] is not None:
            out[m["item"]] = ing.item_ids.take(ing.item[idx]).to_numpy(dtype=object)
        if m["time"] is not None:
            if raw is not None and raw.epoch and local is not None:
                out[m["time"]] = raw.values[local]
            else:
                out[m["time"]] = utc_times(ing.time[idx])
        for opt in ("event_type", "channel"):
            if m[opt] is not None:
                out[m[opt]] = np.asarray(ing.extra[opt][idx], dtype=object)
        if m["value"] is not None:
            out[m["value"]] = ing.extra["value"][idx]
        return pd.DataFrame(out)


def _laid_out(arrs: list[np.ndarray], dtype: Any, n: int) -> np.ndarray:
    """Arrays end to end in one array of ``dtype`` (no intermediate copy)."""
    out = np.empty(n, dtype=dtype)
    at = 0
    for a in arrs:
        out[at:at + a.shape[0]] = a
        at += a.shape[0]
    return out


def _index_of(values: Any) -> pd.Index:
    """The ids of an Arrow dictionary as a pandas Index (see :func:`ids_index`)."""
    from .._core.validation import ids_index

    if values is None or not len(values):
        return pd.Index([], dtype=object)
    return ids_index(values.to_numpy(zero_copy_only=False))


def _union_categoricals(cats: list[pd.Categorical]) -> pd.Categorical:
    """Categoricals of several batches as one (categories in first-seen order)."""
    if not cats:
        return pd.Categorical([])
    if len(cats) == 1:
        return cats[0]
    from pandas.api.types import union_categoricals

    return union_categoricals(cats)


_ = (REASONS, MISSING_TOKENS, LogSchemaError, RawRecord)
