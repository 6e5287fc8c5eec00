"""Every check on user input lives here: column mapping, ids, times, values and row reasons."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..exceptions import InvalidParameterError, LogSchemaError, close_matches

__all__ = ["REASONS", "check_columns", "factorize_ids", "parse_time", "parse_value", "check_rng", "check_int"]

#: rejection reasons, in priority order (a row with several problems gets the first), with plain words
REASONS: dict[str, str] = {
    "malformed_row": "the line could not be parsed into the header's columns (truncated or extra fields)",
    "unbalanced_quote": "the line opens a quote that is never closed before the end of the file",
    "null_source": "the source user id is missing or empty",
    "null_target": "the target user id is missing or empty",
    "null_item": "the item id is missing or empty",
    "invalid_id": "an id is neither a string nor an integer (a fraction, a boolean, a list, an object, ...)",
    "null_time": "the time is missing",
    "unparseable_time": "the time could not be parsed as a date-time or an epoch number",
    "nonexistent_local_time": "the local time does not exist in the time zone (skipped by a daylight-saving change)",
    "ambiguous_local_time": "the local time occurs twice in the time zone (repeated by a daylight-saving change)",
    "mixed_epoch_units": "the epoch time is in a different unit (s/ms/us/ns) from the rest of the column",
    "time_out_of_range": "the time is outside the representable range (years 1677-2262)",
    "unparseable_value": "the value is not a number",
    "non_finite_value": "the value is infinite (inf or -inf)",
    "self_forward": "the source and the target are the same user",
    "duplicate": "the row repeats an earlier row exactly (same source, target, item, time and optional columns)",
}
REASON_CODES = {name: i + 1 for i, name in enumerate(REASONS)}

_UNIT_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_INAT = np.iinfo(np.int64).min  # NaT as int64
# auto-detection bands of |epoch| values: < 1e10 s (until 2286), < 1e13 ms, < 1e16 us, else ns
EPOCH_BANDS = np.array([1e10, 1e13, 1e16])
EPOCH_BAND_UNITS = ["s", "ms", "us", "ns"]


# common names of the canonical columns in real exports, for "did you mean" hints
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "source": ("sender", "from", "from_user", "from_id", "src", "sharer", "forwarder", "parent", "inviter",
               "referrer", "u", "user_from", "source_user", "source_id"),
    "target": ("receiver", "recipient", "to", "to_user", "to_id", "dst", "dest", "child", "invitee", "v",
               "user_to", "target_user", "target_id"),
    "item": ("post", "post_id", "item_id", "content", "content_id", "article", "mid", "message", "campaign"),
    "time": ("ts", "timestamp", "datetime", "date", "created_at", "created", "event_time", "t", "when"),
    "user": ("uid", "user_id", "userid", "adopter", "member"),
    "social_source": ("followee", "source", "from", "src", "u"),
    "social_target": ("follower", "target", "to", "dst", "v"),
}


def _column_hints(role: str, name: str, cols: list[str], taken: set[str]) -> list[str]:
    """Columns that may be the one meant: close spellings of ``name``, then the role's usual names."""
    near = [c for c in close_matches(name, cols) if c not in taken]
    syn = {s.lower() for s in _SYNONYMS.get(role, ())}
    near += [c for c in cols if c.lower() in syn and c not in near and c not in taken]
    return near


def check_columns(columns: list[Any], mapping: dict[str, Any], required: set[str], *, where: str) -> None:
    """Raise :class:`LogSchemaError` naming close matches when a mapped column is missing."""
    cols = [str(c) for c in columns]
    taken = {str(v) for v in mapping.values() if v is not None and str(v) in cols}
    for role, name in mapping.items():
        if name is None:
            if role in required:
                raise InvalidParameterError(
                    f"{role}=None but {where} needs a {role} column; pass {role}='<column name>'."
                )
            continue
        if str(name) not in cols:
            near = _column_hints(role, str(name), cols, taken)
            hint = (f" Did you mean {role}={near[0]!r}?"
                    + (f" (other close matches: {near[1:]})" if len(near) > 1 else "") if near else "")
            raise LogSchemaError(
                f"column {name!r} (the {role} column) not found in the log; columns are {cols}.{hint} "
                f"Pass {role}='<column>' to {where}, or rename the column."
                + (f" For a log with no {role} column, pass {role}=None to {where}."
                   if role in ("item", "time") else "")
            )


#: texts that mean "missing" in the non-id columns (time, value, event type, channel): pyarrow's and
#: pandas' usual null tokens. Id columns have none (see ``missing_ids`` of :func:`kocgraph.read_log`).
MISSING_TOKENS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                  "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")


def missing_tokens_to_null(s: pd.Series) -> pd.Series:
    """A non-id text column with its missing-value tokens (:data:`MISSING_TOKENS`, after stripping
    spaces) as nulls; other columns as they are."""
    if not isinstance(s.dtype, pd.ArrowDtype):
        return s
    import pyarrow as pa
    import pyarrow.compute as pc

    at = s.dtype.pyarrow_dtype
    if not (pa.types.is_string(at) or pa.types.is_large_string(at)):
        return s
    arr = s.array.__arrow_array__()
    hit = pc.is_in(pc.utf8_trim_whitespace(arr), value_set=pa.array(MISSING_TOKENS, type=at))
    if not pc.any(hit).as_py():
        return s
    out = pc.if_else(hit, pa.scalar(None, type=at), arr)
    return pd.Series(pd.arrays.ArrowExtensionArray(out), index=s.index, name=s.name, copy=False)


def normalize_id_column(s: pd.Series, role: str) -> pd.Series:
    """Kept for callers that pass columns straight to :func:`factorize_ids`, which cleans them."""
    return s


def _bad_id(value: Any, role: str) -> LogSchemaError:
    value = value.item() if isinstance(value, np.generic) else value
    return LogSchemaError(
        f"the {role} column holds {value!r} of type {type(value).__name__}, but user and item ids must be "
        "strings or integers. Convert the column (e.g. df[col].astype(str)) or drop those rows before "
        "reading the log."
    )


_ID_TYPES = [str, np.str_, int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


class IdCodes(NamedTuple):
    """What :func:`factorize_ids` found in some id columns."""

    codes: list[np.ndarray]  #: per column: int64 codes into ``ids``; -1 where missing or invalid
    ids: pd.Index  #: the distinct ids in first-seen order (object); some may be used by no row
    missing: list[np.ndarray]  #: per column: an empty cell (or a ``missing`` text)
    invalid: list[np.ndarray]  #: per column: a value that is neither a string nor an integer
    as_text: int  #: integer ids read as text because the columns mix integers and strings


def _clean_id_column(s: pd.Series, role: str) -> tuple[pd.Series, np.ndarray]:
    """The column with every value that cannot be an id set to missing, and the mask of those
    values. Ids are strings or integers; an integral float (3.0) is the integer 3."""
    n = len(s)
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        s, dtype = s.astype(object), np.dtype(object)
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        at = dtype.pyarrow_dtype
        if pa.types.is_string(at) or pa.types.is_large_string(at) or pa.types.is_integer(at) or pa.types.is_null(at):
            return s, np.zeros(n, dtype=bool)
        if pa.types.is_floating(at):
            s, dtype = s.astype("float64"), np.dtype("float64")
        else:  # lists, structs, booleans, times, binary: never ids
            bad = s.notna().to_numpy(dtype=bool)
            return pd.Series([None] * n, dtype=object, index=s.index), bad
    if dtype.kind == "f":
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
        bad = np.isfinite(vals) & (vals != np.round(vals)) | np.isinf(vals)
        out = pd.Series(np.where(bad | np.isnan(vals), np.nan, vals), index=s.index).astype("Int64")
        return out, bad
    if dtype.kind in "bMmcV" or isinstance(
            dtype, (pd.DatetimeTZDtype, pd.PeriodDtype, pd.IntervalDtype, pd.BooleanDtype)):
        bad = s.notna().to_numpy(dtype=bool)
        return pd.Series([None] * n, dtype=object, index=s.index), bad
    if dtype != np.dtype(object):
        return s, np.zeros(n, dtype=bool)
    types = s.map(type, na_action="ignore")
    ok = types.isin(_ID_TYPES).to_numpy(dtype=bool) | s.isna().to_numpy(dtype=bool)
    if ok.all():
        return s, np.zeros(n, dtype=bool)
    vals = s.to_numpy(dtype=object).copy()
    bad = ~ok
    for i in np.flatnonzero(bad):  # only the odd values: floats, bools, lists, dicts, dates, ...
        v = vals[i]
        if type(v) in (float, np.float64, np.float32) and np.isfinite(v) and float(v).is_integer():
            vals[i] = int(v)  # 3.0 in an object column: the integer id 3
            bad[i] = False
        else:
            vals[i] = None
    return pd.Series(vals, dtype=object, index=s.index), bad


def factorize_ids(*cols: pd.Series, roles: tuple[str, ...] = (), missing: tuple[str, ...] = ()) -> IdCodes:
    """Factorize several id columns together (one shared code space); see :class:`IdCodes`.

    Ids are strings or integers, kept exactly. Missing: a null, an empty or all-blank string, or a
    string in ``missing``. Invalid (one row each): a value of another type (a fraction, a bool, a
    date, a list, an object); a column with no valid id and some invalid one raises
    :class:`LogSchemaError` naming the column (``roles`` gives the columns' roles) and the value.
    When the columns mix integer and string ids, each integer id becomes its text (``7`` -> ``"7"``),
    so that the two spellings are one id, and a :class:`~kocgraph.DataQualityWarning` says so. The cost
    stays O(rows) hashing plus O(distinct ids).
    """
    roles = tuple(roles) + tuple(f"id column #{i}" for i in range(len(roles), len(cols)))
    cleaned, invalid = zip(*[_clean_id_column(c, r) for c, r in zip(cols, roles)]) if cols else ((), ())
    arrow = [_arrow_strings(c) for c in cleaned]
    if all(a is not None for a in arrow):
        parts, uniques = _factorize_arrow(arrow)  # type: ignore[arg-type]
        blank = _missing_arrow(uniques, missing)
        vals, as_text = np.asarray(uniques.to_numpy(), dtype=object), 0
    else:
        codes, uniques = _factorize_pandas(tuple(cleaned), roles)
        codes = np.asarray(codes, dtype=np.int64)
        bounds = np.cumsum([0] + [len(c) for c in cleaned])
        parts = [codes[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        vals = pd.Index(uniques, tupleize_cols=False).to_numpy(dtype=object)
        parts, vals, as_text = _ints_as_text(parts, vals, roles)
        blank = _missing_ids(vals, missing)
    if blank.any():
        for p in parts:
            p[blank[np.maximum(p, 0)] & (p >= 0)] = -1
    for p, bad, role, col in zip(parts, invalid, roles, cols):
        if bad.any() and not (p >= 0).any():  # a column of no valid id: the column is wrong, not a row
            raise _bad_id(col.iloc[int(np.flatnonzero(bad)[0])], role)
    return IdCodes(list(parts), ids_index(vals), [(p < 0) & ~bad for p, bad in zip(parts, invalid)],
                   list(invalid), as_text)


def ids_index(vals: Any) -> pd.Index:
    """Distinct ids as an Index: integers as an int64 (or uint64) Index when all of them are
    integers, otherwise an object Index of the ids as given (str or int)."""
    vals = np.asarray(vals, dtype=object) if not isinstance(vals, np.ndarray) else vals
    if vals.dtype.kind in "iu":
        return pd.Index(vals)
    if len(vals) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals[:1]):
        ints = pd.Index(vals.tolist())
        if ints.dtype.kind in "iu":
            return ints
    return pd.Index(vals, dtype=object, tupleize_cols=False)


def _ints_as_text(parts: list[np.ndarray], vals: np.ndarray, roles: tuple[str, ...]) -> tuple[list[np.ndarray], np.ndarray, int]:
    """When the distinct ids mix integers and strings, every integer id becomes its text; codes of
    ids that now coincide are merged (first-seen order kept)."""
    if not len(vals) or vals.dtype != object:
        return parts, vals, 0
    kinds = pd.Series(vals, dtype=object).map(lambda v: isinstance(v, str))
    is_str = kinds.to_numpy(dtype=bool)
    if is_str.all() or not is_str.any():
        return parts, vals, 0
    import warnings

    from ..exceptions import DataQualityWarning

    n_int = int((~is_str).sum())
    text = np.array([v if s else str(v) for v, s in zip(vals, is_str)], dtype=object)
    remap, uniq = pd.factorize(text)
    remap = np.append(remap.astype(np.int64), -1)
    warnings.warn(
        f"the {'/'.join(roles)} columns mix integer and text ids ({n_int:,} distinct integer ids, e.g. "
        f"{vals[~is_str][0]!r}, and {int(is_str.sum()):,} text ids, e.g. {vals[is_str][0]!r}); every id is read "
        "as its text, so 7 and '7' are one user. Convert the columns to one type to silence this.",
        DataQualityWarning, stacklevel=4)
    return [remap[p] for p in parts], np.asarray(uniq, dtype=object), n_int


def _missing_arrow(uniques: Any, missing: tuple[str, ...]) -> np.ndarray:
    """:func:`_missing_ids` of Arrow strings, in Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = uniques.__arrow_array__() if hasattr(uniques, "__arrow_array__") else pa.array(uniques)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not len(arr):
        return np.zeros(0, dtype=bool)
    stripped = pc.utf8_trim_whitespace(arr)
    hit = pc.equal(stripped, "")
    if missing:
        ms = pa.array(list(missing), type=arr.type)
        hit = pc.or_(hit, pc.or_(pc.is_in(arr, value_set=ms), pc.is_in(stripped, value_set=ms)))
    return np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)


def _missing_ids(vals: np.ndarray, missing: tuple[str, ...]) -> np.ndarray:
    """Which distinct ids mean "no id": blank strings, and the texts in ``missing``."""
    out = np.zeros(len(vals), dtype=bool)
    if not len(vals):
        return out
    is_str = np.fromiter((isinstance(v, str) for v in vals), dtype=bool, count=len(vals))
    if is_str.any():
        txt = pd.Series(vals[is_str], dtype="string")
        stripped = txt.str.strip()
        hit = stripped == ""
        if missing:
            hit = hit | txt.isin(list(missing)) | stripped.isin(list(missing))
        out[is_str] = hit.to_numpy(dtype=bool, na_value=False)
    return out


def _factorize_pandas(cols: tuple[pd.Series, ...], roles: tuple[str, ...]) -> tuple[np.ndarray, Any]:
    """``pd.factorize`` of the columns end to end (first-seen order); names an unhashable id."""
    if len(cols) == 1:
        both = cols[0]
    else:
        if len({str(c.dtype) for c in cols}) > 1:
            cols = tuple(c.astype(object) for c in cols)
        both = pd.concat(cols, ignore_index=True)
    try:
        return pd.factorize(both, use_na_sentinel=True)
    except TypeError:  # unhashable values (lists, dicts, arrays): find the first, to name it
        for c, role in zip(cols, roles):
            for v in c:
                try:
                    hash(v)
                except TypeError:
                    raise _bad_id(v, role) from None
        raise  # pragma: no cover - every value hashed


def _arrow_strings(s: pd.Series) -> Any:
    """The column's Arrow string data as one ChunkedArray, or None for other dtypes."""
    if not isinstance(s.dtype, pd.ArrowDtype):
        return None
    import pyarrow as pa

    at = s.dtype.pyarrow_dtype
    if not (pa.types.is_string(at) or pa.types.is_large_string(at)):
        return None
    ca = s.array.__arrow_array__()
    return ca if isinstance(ca, pa.ChunkedArray) else pa.chunked_array([ca])


def _encode_one(ca: Any) -> tuple[np.ndarray, Any]:
    """Arrow's hash encoding of one string column: int64 codes (-1 for null) and its dictionary."""
    import pyarrow as pa
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(ca)
    chunks = [c for c in enc.chunks if len(c)]
    if not chunks:
        return np.empty(0, dtype=np.int64), pa.array([], type=ca.type)
    if len({len(c.dictionary) for c in chunks}) > 1:  # chunks not sharing one dictionary: unify them
        chunks = pa.chunked_array(chunks).unify_dictionaries().chunks
    indices = pa.chunked_array([c.indices for c in chunks], type=chunks[0].indices.type)
    if indices.null_count:
        indices = pc.fill_null(indices, -1)
    return indices.to_numpy().astype(np.int64), chunks[0].dictionary


def _factorize_arrow(arrays: list[Any]) -> tuple[list[np.ndarray], Any]:
    """Factorize Arrow string columns jointly, as ``pd.factorize`` of their concatenation would
    (same codes, same first-seen order), but with each column hashed by Arrow in its own thread and
    the per-column dictionaries merged afterwards (hashing only the distinct ids again).

    Returns the int64 codes of each column (-1 for null) and the unique ids."""
    import pyarrow as pa

    if len({a.type for a in arrays}) > 1:  # string and large_string: one type for the merge
        arrays = [a.cast(pa.large_string()) for a in arrays]
    if len(arrays) == 1:
        codes, dictionary = _encode_one(arrays[0])
        pieces = [codes]
    else:
        from ..algorithms._parallel import side_by_side

        parts = side_by_side(*[lambda a=a: _encode_one(a) for a in arrays])
        # unify: the first column's dictionary, then each next column's new values in its order
        idents = [pa.DictionaryArray.from_arrays(pa.array(np.arange(len(d), dtype=np.int32)), d) for _, d in parts]
        unified = pa.chunked_array(idents).unify_dictionaries()
        dictionary = unified.chunk(0).dictionary
        # the first column keeps its codes (its dictionary leads the unified one); the others are
        # mapped through their transpose maps, with -1 (null) kept as -1
        pieces = [parts[0][0]]
        for (c, _), u in zip(parts[1:], unified.chunks[1:]):
            pieces.append(np.append(u.indices.to_numpy().astype(np.int64), -1)[c])
    return pieces, pd.arrays.ArrowExtensionArray(dictionary)


class TimeChunk(NamedTuple):
    """A batch of a time column, parsed: ``values`` are int64 UTC nanoseconds, or, when ``epoch``,
    the raw epoch numbers (int64 or float64) awaiting the column's unit (see :func:`finish_epoch`);
    ``reason`` holds the rows' reasons so far (0 = fine)."""

    values: np.ndarray
    reason: np.ndarray
    epoch: bool


def parse_time(s: pd.Series, *, unit: str = "auto", tz: str = "UTC") -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Parse a time column to int64 UTC nanoseconds.

    Returns ``(ns, reason, info)`` where ``reason`` is an int8 array of :data:`REASON_CODES` (0 = ok)
    and ``info`` describes what was detected (kind, unit). A streamed column is parsed batch by batch
    with :func:`time_chunk`, then :func:`finish_epoch` gives every batch the column's epoch unit.

    >>> ns, why, info = parse_time(pd.Series([1767225600, 1767225600000, None]))
    >>> ns.tolist()[0], [list(REASON_CODES)[r - 1] if r else "" for r in why], info["unit"]
    (1767225600000000000, ['', 'mixed_epoch_units', 'null_time'], 's')
    """
    info: dict[str, Any] = {}
    chunk = finish_epoch([time_chunk(s, tz=tz, info=info, unit=unit)], unit, info)[0]
    return chunk.values, chunk.reason, info


def time_chunk(s: pd.Series, *, tz: str, info: dict[str, Any], unit: str = "auto",
               missing_tokens: bool = False) -> TimeChunk:
    """Parse one batch of a time column (see :class:`TimeChunk`). ``info["kind"]``, when already
    set by an earlier batch, holds the column to that kind: a text time in an epoch column, or an
    epoch number in a date-time column, is unparseable. ``missing_tokens``: a text column's
    :data:`MISSING_TOKENS` are missing times (:func:`missing_tokens_to_null`)."""
    n = len(s)
    reason = np.zeros(n, dtype=np.int8)
    dtype = s.dtype
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        at = dtype.pyarrow_dtype
        if pa.types.is_timestamp(at) or pa.types.is_date(at):
            info.setdefault("kind", "datetime")
            return TimeChunk(_from_arrow_times(s.array.__arrow_array__(), tz, reason, info)[0], reason, False)
        if pa.types.is_string(at) or pa.types.is_large_string(at):
            clean = _arrow_text_times(s.array.__arrow_array__(), tz, reason, info, as_is=True)
            if clean is not None:
                return clean
            if missing_tokens:
                s = missing_tokens_to_null(s)
            fast = _arrow_text_times(s.array.__arrow_array__(), tz, reason, info)
            if fast is not None:
                return fast
        if pa.types.is_integer(at) or pa.types.is_floating(at):
            s = s.astype("float64") if pa.types.is_floating(at) or s.isna().any() else s.astype("int64")
        else:
            s = s.astype(object)
        dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or dtype.kind == "M":
        info.setdefault("kind", "datetime")
        return TimeChunk(_from_datetime(s, tz, reason, info)[0], reason, False)
    if dtype.kind in "iuf" or (isinstance(dtype, pd.core.dtypes.dtypes.BaseMaskedDtype) and dtype.kind in "iuf"):
        vals = s.to_numpy(dtype="float64", na_value=np.nan) if dtype.kind == "f" or s.isna().any() else s.to_numpy()
        info.setdefault("kind", "epoch")
        reason[np.isnan(vals) if vals.dtype.kind == "f" else np.zeros(n, dtype=bool)] = _rc("null_time")
        return TimeChunk(vals, reason, True)
    # strings / objects: numbers written as text, or date-time strings
    obj = s.astype(object)
    null = obj.isna().to_numpy(dtype=bool).copy()
    stripped = pd.Series(obj.where(~null, None), dtype="string").str.strip()
    null |= (stripped == "").to_numpy(dtype=bool, na_value=False)
    num = pd.to_numeric(stripped.where(~null), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    is_num = ~np.isnan(num) & ~null
    nonnull = ~null
    kind = info.get("kind")
    if kind == "epoch" or (kind is None and nonnull.any() and is_num[nonnull].mean() >= 0.5):
        # mostly epoch numbers: the few non-numbers are bad rows, not a reason to drop the column
        info.setdefault("kind", "epoch")
        vals = np.where(is_num, num, np.nan)
        if is_num.all() and np.nanmax(np.abs(vals), initial=0) > 2**53:
            # nanosecond epochs exceed float precision: parse them as exact integers
            vals = pd.to_numeric(stripped, errors="coerce").astype("int64").to_numpy()
        reason[null] = _rc("null_time")
        reason[nonnull & ~is_num] = _rc("unparseable_time")
        return TimeChunk(vals, reason, True)
    if nonnull.any():
        info.setdefault("kind", "datetime-string")
    if unit != "auto" and info.get("kind") == "datetime-string":
        info["note"] = f"time_unit={unit!r} ignored: the column holds date-time strings"
    ns = np.zeros(n, dtype=np.int64)
    datetime_text_times(stripped, null, tz, ns, reason)
    return TimeChunk(ns, reason, False)


def _arrow_text_times(arr: Any, tz: str, reason: np.ndarray, info: dict[str, Any], *,
                      as_is: bool = False) -> TimeChunk | None:
    """Arrow's own casts for a text time column that is all integers, all decimals or all ISO 8601
    date-times of one form (the usual exports): C speed, no Python per value. None when the batch
    needs the general parser.

    ``as_is``: cast the text as it stands, with no trimming and no look-up of missing-value tokens,
    and give None unless every value casts: a clean batch (the usual export) is parsed in one pass;
    a batch with a blank, a token or a stray space is then parsed the careful way."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if as_is:
        if arr.null_count or not len(arr):
            return None
        txt, null = arr, np.zeros(len(arr), dtype=bool)
    else:
        txt = pc.utf8_trim_whitespace(arr)
        txt = pc.if_else(pc.is_in(txt, value_set=pa.array(MISSING_TOKENS, type=txt.type)),
                         pa.scalar(None, txt.type), txt)
        null = np.asarray(pc.is_null(txt).to_numpy(zero_copy_only=False), dtype=bool)
        if null.all():
            return None
    kind = info.get("kind")
    if kind is None and not _reads_as_number(txt, null):
        kind = "not epoch"  # a failed cast of the whole batch costs 0.2 s per million rows
    if kind in (None, "epoch"):
        for typ in (pa.int64(), pa.float64()):
            try:
                got = pc.cast(txt, typ)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            info.setdefault("kind", "epoch")
            vals = got.to_numpy(zero_copy_only=False)
            if typ == pa.int64():
                vals = np.array(pc.fill_null(got, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
            reason[null] = _rc("null_time")
            return TimeChunk(vals, reason, True)
        if kind == "epoch" or as_is:
            return None
    first = txt[int(np.argmin(null))].as_py()
    import re

    if not re.match(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?", first):
        return None
    aware = bool(re.search(_OFFSET_RE, first))
    try:
        ts = pc.cast(txt, pa.timestamp("us", tz="UTC") if aware else pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    info.setdefault("kind", "datetime-string")
    if ts.null_count:
        raw = np.array(pc.fill_null(pc.cast(ts, pa.int64()), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        raw[null] = _INAT
    else:  # the usual batch: Arrow's own buffer, read-only (_to_ns writes a new array)
        raw = np.asarray(ts.to_numpy(zero_copy_only=False)).view(np.int64)
    ns, oor = _to_ns(raw, null, 1_000)
    out = _finish_times(ns, oor, "aware" if aware else None, tz, reason, info)[0]
    return TimeChunk(out, reason, False)


def _reads_as_number(txt: Any, null: np.ndarray) -> bool:
    """Whether the first non-missing text of a batch casts to a number. When it does not, the whole
    batch cannot (a cast fails on any value that does not)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    first = txt.slice(int(np.argmin(null)), 1)
    try:
        pc.cast(first, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def finish_epoch(chunks: list[TimeChunk], unit: str, info: dict[str, Any]) -> list[TimeChunk]:
    """Give every epoch chunk of a column the column's unit: the chunks, in UTC ns.

    ``unit="auto"`` detects the unit from the magnitudes of all chunks together (< 1e10 seconds,
    < 1e13 milliseconds, < 1e16 microseconds, else nanoseconds); values in another band than the
    column's majority are ``mixed_epoch_units``."""
    if not any(c.epoch for c in chunks):
        return chunks
    if unit == "auto":
        main, counts = _epoch_band([c for c in chunks if c.epoch])
        if counts is not None:
            info["mixed_units"] = {u: int(c) for u, c in zip(EPOCH_BAND_UNITS, counts) if c}
        info["unit"], info["unit_detected"] = EPOCH_BAND_UNITS[main], True
    else:
        if unit not in _UNIT_NS:
            raise InvalidParameterError(
                f"time_unit={unit!r} is not supported; expected one of ['auto', 's', 'ms', 'us', 'ns']."
            )
        main, counts = -1, None
        info["unit"], info["unit_detected"] = unit, False
    return [TimeChunk(epoch_to_ns(c.values, c.reason, info["unit"], main if counts is not None else None),
                      c.reason, False) if c.epoch else c for c in chunks]


def _epoch_band(chunks: list[TimeChunk]) -> tuple[int, np.ndarray | None]:
    """The column's main magnitude band, and the per-band counts when the column spans several."""
    lo, hi = np.inf, -np.inf
    for c in chunks:
        ok = c.reason == 0
        if not ok.any():
            continue
        v = np.abs(c.values[ok].astype(np.float64))
        if c.values.dtype.kind in "iu":
            vmin, vmax = int(c.values[ok].min()), int(c.values[ok].max())
            if vmin <= 0 <= vmax:
                lo = 0.0
        lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
    if hi < lo:
        return 0, None
    b_lo, b_hi = np.searchsorted(EPOCH_BANDS, [lo, hi], side="right")
    if b_lo == b_hi:  # the whole column sits in one band: no per-row work
        return int(b_lo), None
    counts = np.zeros(4, dtype=np.int64)
    for c in chunks:
        ok = c.reason == 0
        counts += np.bincount(np.searchsorted(EPOCH_BANDS, np.abs(c.values[ok].astype(np.float64)), side="right"),
                              minlength=4)
    return int(np.argmax(counts)), counts


def epoch_to_ns(vals: np.ndarray, reason: np.ndarray, unit_used: str, main: int | None) -> np.ndarray:
    """Epoch numbers in ``unit_used`` to int64 ns; rows outside band ``main`` (when given) are
    ``mixed_epoch_units``, rows beyond the ns range ``time_out_of_range`` (in ``reason``)."""
    n = vals.shape[0]
    ns = np.zeros(n, dtype=np.int64)
    ok = reason == 0
    if main is not None:
        band = np.searchsorted(EPOCH_BANDS, np.abs(vals[ok].astype(np.float64)), side="right")
        off = np.flatnonzero(ok)[band != main]
        reason[off] = _rc("mixed_epoch_units")
        ok[off] = False
    mult = _UNIT_NS[unit_used]
    if vals.dtype.kind in "iu" and ok.all() and vals.size:
        lim = np.iinfo(np.int64).max // mult
        if int(vals.max()) <= lim and int(vals.min()) >= -lim:  # fast path: every row valid, in range
            return vals.astype(np.int64) * mult
    if vals.dtype.kind in "iu":
        v = vals[ok].astype(np.int64)
        lim = np.iinfo(np.int64).max // mult
        inr = np.abs(v) <= lim
        res = np.zeros(v.shape[0], dtype=np.int64)
        res[inr] = v[inr] * mult
    else:
        f = vals[ok]
        inr = np.abs(f * mult) < 9.2e18
        res = np.zeros(f.shape[0], dtype=np.int64)
        # whole units and the fraction apart: (T0 + 0.25) s * 1e9 in one float product is off by 128 ns
        whole = np.floor(f[inr])
        res[inr] = whole.astype(np.int64) * mult + np.rint((f[inr] - whole) * mult).astype(np.int64)
    idx = np.flatnonzero(ok)
    reason[idx[~inr]] = _rc("time_out_of_range")
    ns[idx[inr]] = res[inr]
    return ns


def datetime_text_times(stripped: pd.Series, null: np.ndarray, tz: str, ns: np.ndarray, reason: np.ndarray) -> None:
    """Parse date-time strings (``stripped``; ``null`` marks the missing ones) into ``ns`` (int64 UTC
    nanoseconds) and ``reason`` (null, unparseable, out-of-range and daylight-saving times), in place.
    Both engines' readers call it, so a date-time string means the same on each."""
    text = stripped.where(~null)
    fast = _parse_iso(text, tz) if _all_iso_like(text) else None
    if fast is not None and not ((fast[0] == _INAT) & ~fast[1] & ~fast[2] & ~fast[3])[~null].any():
        vals, oor, gap, twice = fast
    else:
        vals, oor, gap, twice = _parse_mixed(text, tz)
    bad = (vals == _INAT) & ~oor & ~gap & ~twice
    reason[null] = _rc("null_time")
    for mask, name in ((bad, "unparseable_time"), (gap, "nonexistent_local_time"),
                       (twice, "ambiguous_local_time"), (oor, "time_out_of_range")):
        reason[mask & ~null & (reason == 0)] = _rc(name)
    ok = (vals != _INAT) & ~oor & ~gap & ~twice & ~null
    ns[ok] = vals[ok]


Parsed = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # UTC ns (iNaT: none), out of range, gap, overlap


def _asi8(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """int64 UTC nanoseconds of a tz-aware datetime Series (NaT -> iNaT), and the mask of times that
    the Series holds (in a coarser unit) but nanoseconds cannot (outside years 1677-2262)."""
    s = s.dt.tz_convert("UTC")
    raw = np.array(s.array.asi8, dtype=np.int64)  # a copy: never the caller's own buffer
    return _to_ns(raw, raw == _INAT, _UNIT_NS[s.dtype.unit])


def _all_iso_like(text: pd.Series) -> bool:
    sample = text.dropna().head(50)
    return bool(len(sample)) and bool(sample.str.match(r"^\d{4}-\d{2}-\d{2}").all())


# an explicit UTC offset at the end of a date-time string: Z, +08:00, -0500, +08
_OFFSET_RE = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"


def _utc_or_local(parsed: pd.Series, tz: str) -> Parsed:
    """Parsed date-times to UTC ns: aware ones converted, naive ones read as wall-clock times in ``tz``."""
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        ns, oor = _asi8(parsed)
        return ns, oor, np.zeros(ns.shape[0], dtype=bool), np.zeros(ns.shape[0], dtype=bool)
    raw = np.asarray(parsed.array.asi8, dtype=np.int64)
    wall, oor = _to_ns(raw, raw == _INAT, _UNIT_NS[np.datetime_data(parsed.dtype)[0]])
    ns, gap, twice = localize_wall_ns(wall, tz)
    return ns, oor, gap, twice


def _parse_iso(text: pd.Series, tz: str) -> Parsed | None:
    """Vectorized ISO 8601 parse to UTC; naive strings are local times in ``tz``.

    A column mixing offsets (``+08:00`` and ``Z``) or offsets and naive times is split by whether
    each string carries an offset, so both halves stay on the vectorized path. Returns None when
    pandas cannot parse the column this way (the caller then parses value by value).
    """
    try:
        return _utc_or_local(pd.to_datetime(text, format="ISO8601", errors="coerce", utc=False), tz)
    except (ValueError, TypeError):  # mixed offsets, or offsets mixed with naive times
        pass
    has_off = text.str.contains(_OFFSET_RE, regex=True, na=False).to_numpy(dtype=bool)
    out = [np.full(len(text), _INAT, dtype=np.int64)] + [np.zeros(len(text), dtype=bool) for _ in range(3)]
    try:
        for part, utc in ((has_off, True), (~has_off, False)):
            if part.any():
                got = _utc_or_local(pd.to_datetime(text[part], format="ISO8601", errors="coerce", utc=utc), tz)
                for o, g in zip(out, got):
                    o[part] = g
    except (ValueError, TypeError):
        return None
    return out[0], out[1], out[2], out[3]


def _parse_mixed(text: pd.Series, tz: str) -> Parsed:
    """Value-by-value parse (each distinct string once), tolerant of any format pandas reads."""
    n = len(text)
    nonnull = text.notna().to_numpy(dtype=bool)
    vals = text[nonnull].to_numpy(dtype=object)
    codes, uniq = pd.factorize(vals)

    def one(v: str) -> tuple[int, int]:
        """(ns, kind): kind 0 = UTC ns, 1 = naive wall-clock ns, 2 = unparseable, 3 = out of range."""
        try:
            ts = pd.Timestamp(v)
        except (ValueError, TypeError, OverflowError):
            return _INAT, 2
        if ts is pd.NaT:
            return _INAT, 2
        try:
            if ts.tzinfo is None:
                return int(ts.as_unit("ns").value), 1
            return int(ts.tz_convert("UTC").as_unit("ns").value), 0
        except (OverflowError, pd.errors.OutOfBoundsDatetime):
            return _INAT, 3

    got = np.array([one(u) for u in uniq], dtype=np.int64).reshape(-1, 2)
    u_ns, kind = got[:, 0], got[:, 1]
    naive = kind == 1
    gap_u = np.zeros(len(uniq), dtype=bool)
    twice_u = np.zeros(len(uniq), dtype=bool)
    if naive.any():
        u_ns[naive], gap_u[naive], twice_u[naive] = localize_wall_ns(u_ns[naive], tz)
    out = np.full(n, _INAT, dtype=np.int64)
    oor, gap, twice = (np.zeros(n, dtype=bool) for _ in range(3))
    out[nonnull], oor[nonnull] = u_ns[codes], (kind == 3)[codes]
    gap[nonnull], twice[nonnull] = gap_u[codes], twice_u[codes]
    out[gap | twice] = _INAT
    return out, oor, gap, twice


def _from_datetime(s: pd.Series, tz: str, reason: np.ndarray, info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """A numpy/pandas datetime column (tz-aware, or naive local times in ``tz``) to UTC ns."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        raw, oor = _asi8(s)
        return _finish_times(raw, oor, None, tz, reason, info)
    unit = np.datetime_data(s.dtype)[0]
    raw = np.array(s.to_numpy().view(np.int64))
    ns, oor = _to_ns(raw, raw == _INAT, _UNIT_NS[unit])
    return _finish_times(ns, oor, None, tz, reason, info)


def _from_arrow_times(arr: Any, tz: str, reason: np.ndarray, info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """An Arrow timestamp or date column to UTC ns, in Arrow and numpy (no per-value Python)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    at = arr.type
    if pa.types.is_date32(at):
        mult, zone = 86_400 * 10**9, None
    elif pa.types.is_date64(at):
        mult, zone = 10**6, None
    else:
        mult, zone = _UNIT_NS[at.unit], at.tz
    ints = pc.cast(pc.cast(arr, pa.int32()), pa.int64()) if pa.types.is_date32(at) else pc.cast(arr, pa.int64())
    null = np.asarray(pc.is_null(ints).to_numpy(zero_copy_only=False), dtype=bool)
    raw = np.array(pc.fill_null(ints, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    raw[null] = _INAT
    ns, oor = _to_ns(raw, null, mult)
    return _finish_times(ns, oor, None if zone is None else "aware", tz, reason, info)


def _to_ns(raw: np.ndarray, nat: np.ndarray, mult: int) -> tuple[np.ndarray, np.ndarray]:
    """Values in a unit of ``mult`` ns to ns (iNaT where missing), and the mask of those that
    nanoseconds cannot hold (outside the years 1677-2262)."""
    if mult == 1:
        return raw, np.zeros(raw.shape[0], dtype=bool)
    lim = np.iinfo(np.int64).max // mult
    if raw.shape[0] and not nat.any() and -lim <= int(raw.min()) and int(raw.max()) <= lim:
        return raw * mult, np.zeros(raw.shape[0], dtype=bool)  # the usual batch: one pass
    oor = ~nat & ((raw > lim) | (raw < -lim))
    out = np.full(raw.shape[0], _INAT, dtype=np.int64)
    good = ~nat & ~oor
    out[good] = raw[good] * mult
    return out, oor


def _finish_times(ns: np.ndarray, oor: np.ndarray, aware: Any, tz: str, reason: np.ndarray,
                  info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Reasons for missing and out-of-range times; naive (``aware`` None) wall-clock times localized
    in ``tz`` (times a daylight-saving change skipped or repeated get their own reasons)."""
    null = (ns == _INAT) & ~oor
    clean = not (null.any() or oor.any())  # the usual batch: no time missing or out of range
    if aware is None and not _is_utc(tz):
        info["naive_localized_as"] = tz
        ns, nonexist, ambig = localize_wall_ns(ns if clean else np.where(null | oor, _INAT, ns), tz)
        reason[nonexist] = _rc("nonexistent_local_time")
        reason[ambig] = _rc("ambiguous_local_time")
        oor = oor | nonexist | ambig
    elif aware is None:
        info["naive_localized_as"] = tz
    if clean and not oor.any():
        return ns, reason, info
    reason[null] = _rc("null_time")
    reason[oor & (reason == 0)] = _rc("time_out_of_range")
    ns = np.where(null | oor, 0, ns)
    return ns, reason, info


def _is_utc(tz: str) -> bool:
    return str(tz).upper() in ("UTC", "Z", "ETC/UTC", "GMT", "+00:00")


def localize_wall_ns(wall: np.ndarray, tz: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Naive wall-clock times (int64 ns, iNaT for missing) read in ``tz``, to UTC ns; and the masks
    of times that do not exist there (a daylight-saving gap) and that exist twice (an overlap).

    >>> w = pd.to_datetime(["2026-03-08 02:30", "2026-11-01 01:30", "2026-06-01 12:00"]).as_unit("ns").asi8
    >>> ns, gap, twice = localize_wall_ns(w, "America/New_York")
    >>> gap.tolist(), twice.tolist(), str(pd.Timestamp(ns[2], tz="UTC"))
    ([True, False, False], [False, True, False], '2026-06-01 16:00:00+00:00')
    """
    idx = pd.DatetimeIndex(np.asarray(wall, dtype=np.int64).view("M8[ns]"))
    loc = idx.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    out = np.asarray(loc.asi8, dtype=np.int64)
    lost = out == _INAT
    if lost.any():
        lost &= np.asarray(wall) != _INAT
    gap = np.zeros(idx.shape[0], dtype=bool)
    twice = np.zeros(idx.shape[0], dtype=bool)
    if lost.any():
        shifted = idx[lost].tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
        gap[lost] = np.asarray(shifted.notna(), dtype=bool)
        twice[lost] = ~gap[lost]
    return out, gap, twice


def normalized_category(s: pd.Series, *, lower: bool) -> pd.Categorical:
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


def parse_value(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numeric value column: float64 values (NaN for missing or bad), the mask of values that are not
    numbers, and the mask of infinite values.

    >>> v, bad, inf = parse_value(pd.Series(["1.5", "", "free", "inf"], dtype=object))
    >>> v.tolist()[0], bad.tolist(), inf.tolist()
    (1.5, [False, False, True, False], [False, False, False, True])
    """
    if (s.dtype.kind in "iufb" and not isinstance(s.dtype, pd.ArrowDtype)) or (
            isinstance(s.dtype, pd.ArrowDtype) and s.dtype.kind in "iuf"):
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        bad = np.zeros(len(s), dtype=bool)
    else:
        null = s.isna().to_numpy(dtype=bool).copy()
        txt = pd.Series(s.astype(object).where(~null, None), dtype="string").str.strip()
        null |= (txt == "").to_numpy(dtype=bool, na_value=False)
        v = pd.to_numeric(txt.where(~null), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        bad = np.isnan(v) & ~null
    inf = np.isinf(v)
    v = np.where(inf, np.nan, v)
    return v, bad, inf


def check_tz(tz: Any, *, where: str) -> str:
    """A time zone name that pandas knows (``"UTC"``, ``"Asia/Shanghai"``, ``"+08:00"``)."""
    try:
        pd.Timestamp("2026-01-01").tz_localize(tz)
    except Exception as err:
        raise InvalidParameterError(
            f"tz={tz!r} is not a time zone that {where} knows; pass an IANA name such as tz='Asia/Shanghai' "
            "or tz='UTC' (every time becomes UTC; tz is the zone of times written without an offset)."
        ) from err
    return str(tz)


def _rc(name: str) -> int:
    return REASON_CODES[name]


def id_list(ids: Any) -> list[Any]:
    """One id or many as a list: ``None`` gives ``[]``; a single id (text, bytes or an integer) gives
    ``[id]``; anything else iterable gives its items. Every parameter that takes "one id or a list
    of ids" (``staff=``, ``users=``, ``targets=``) goes through here."""
    if ids is None:
        return []
    if isinstance(ids, (str, bytes, int, np.integer)):
        return [ids]
    return list(ids)


def check_rng(rng: Any) -> np.random.Generator:
    """``rng`` as a numpy Generator: None, an int seed, a SeedSequence or a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer, np.random.SeedSequence)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise InvalidParameterError(
        f"rng={rng!r} is not a seed; pass an int (e.g. rng=0), None, or a numpy.random.Generator."
    )


def check_int(name: str, value: Any, *, minimum: int | None = None, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidParameterError(f"{name}={value!r} must be an integer for {where}; pass e.g. {name}=10.")
    if minimum is not None and value < minimum:
        raise InvalidParameterError(f"{name}={value!r} must be >= {minimum} for {where}.")
    return int(value)


def check_fraction(name: str, value: Any, *, where: str, example: float, meaning: str = "") -> float:
    """A number strictly between 0 and 1 (one wording for every such parameter).

    >>> check_fraction("alpha", 0.1, where="kg.tl.kocs", example=0.1)
    0.1
    >>> check_fraction("alpha", 1, where="kg.tl.kocs", example=0.1)
    Traceback (most recent call last):
    ...
    kocgraph.exceptions.InvalidParameterError: alpha=1 must be a number strictly between 0 and 1 for kg.tl.kocs; pass e.g. alpha=0.1.
    """
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not (0.0 < float(value) < 1.0):
        why = f" ({meaning})" if meaning else ""
        raise InvalidParameterError(
            f"{name}={value!r} must be a number strictly between 0 and 1 for {where}{why}; pass e.g. {name}={example}.")
    return float(value)
