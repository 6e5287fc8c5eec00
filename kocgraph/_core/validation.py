"""Every check on user input lives here: column mapping, ids, times, values and row reasons."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InvalidParameterError, LogSchemaError, close_matches

__all__ = ["REASONS", "check_columns", "factorize_ids", "parse_time", "parse_value", "check_rng", "check_int"]

#: rejection reasons, in priority order (a row with several problems gets the first), with plain words
REASONS: dict[str, str] = {
    "malformed_row": "the line could not be parsed into the header's columns (truncated or extra fields)",
    "null_source": "the source user id is missing or empty",
    "null_target": "the target user id is missing or empty",
    "null_item": "the item id is missing or empty",
    "null_time": "the time is missing",
    "unparseable_time": "the time could not be parsed as a date-time or an epoch number",
    "mixed_epoch_units": "the epoch time is in a different unit (s/ms/us/ns) from the rest of the column",
    "time_out_of_range": "the time is outside the representable range (years 1677-2262)",
    "unparseable_value": "the value is not a number",
    "self_forward": "the source and the target are the same user",
    "duplicate": "the row repeats an earlier row exactly (same source, target, item, time and optional columns)",
}
REASON_CODES = {name: i + 1 for i, name in enumerate(REASONS)}

_UNIT_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_INAT = np.iinfo(np.int64).min  # NaT as int64
# auto-detection bands of |epoch| values: < 1e10 s (until 2286), < 1e13 ms, < 1e16 us, else ns
_BANDS = np.array([1e10, 1e13, 1e16])
_BAND_UNITS = ["s", "ms", "us", "ns"]


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
            )


def normalize_id_column(s: pd.Series, role: str) -> pd.Series:
    """Make an id column hashable and exact: integral floats (ints with NaN) become nullable ints."""
    if s.dtype.kind == "f":
        vals = s.to_numpy()
        finite = vals[np.isfinite(vals)]
        if finite.size == 0 or np.all(finite == np.round(finite)):
            return s.astype("Int64")
        raise LogSchemaError(
            f"the {role} column holds non-integer numbers (e.g. {float(finite[finite != np.round(finite)][0])!r}); "
            "user and item ids must be strings or integers. Read the column as strings, or round it."
        )
    if isinstance(s.dtype, pd.ArrowDtype) and s.dtype.kind == "f":  # pragma: no cover
        return normalize_id_column(s.astype("float64"), role)
    return s


def _bad_id(value: Any, role: str) -> LogSchemaError:
    return LogSchemaError(
        f"the {role} column holds {value!r} of type {type(value).__name__}, but user and item ids must be "
        "strings or integers. Convert the column (e.g. df[col].astype(str)) or drop those rows before "
        "reading the log."
    )


_ID_TYPES = [str, np.str_, int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


def factorize_ids(*cols: pd.Series, roles: tuple[str, ...] = ()) -> tuple[list[np.ndarray], pd.Index, list[np.ndarray]]:
    """Factorize several id columns together (one shared code space).

    Returns per-column int64 codes (-1 = missing), the unique ids (object Index, in first-seen
    order) and per-column missing masks. Empty or whitespace-only strings count as missing; they
    are detected on the unique values, so the cost stays O(rows) hashing plus O(uniques).

    Ids must be strings or integers; integral floats in an object column become ints. Any other
    value (a fraction, a bool, a date, a list, ...) raises :class:`LogSchemaError` naming the column
    (``roles`` gives the column roles, for the message) and the value.
    """
    roles = tuple(roles) + tuple(f"id column #{i}" for i in range(len(roles), len(cols)))
    arrow = [_arrow_strings(c) for c in cols]
    if all(a is not None for a in arrow):
        parts, uniques = _factorize_arrow(arrow)  # type: ignore[arg-type]
    else:
        codes, uniques = _factorize_pandas(cols, roles)
        codes = np.asarray(codes, dtype=np.int64)
        bounds = np.cumsum([0] + [len(c) for c in cols])
        parts = [codes[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    idx = pd.Index(uniques, tupleize_cols=False)

    def role_of(u: int) -> str:
        return next(r for p, r in zip(parts, roles) if (p == u).any())

    if idx.dtype.kind in "bMmcV" or isinstance(idx.dtype, pd.CategoricalDtype) and idx.dtype.categories.dtype.kind in "bMmfcV":
        raise _bad_id(idx[0], role_of(0))
    if idx.dtype == object and len(idx):
        vals = idx.to_numpy(dtype=object).copy()
        # one type() per distinct id; exact types, so bool (a subclass of int) is not an id
        ok = pd.Series(vals, dtype=object).map(type).isin(_ID_TYPES).to_numpy(dtype=bool)
        if not ok.all():
            for u in np.flatnonzero(~ok):
                v = vals[u]
                if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer():
                    vals[u] = int(v)  # 3.0 in an object column: the integer id 3
                else:
                    raise _bad_id(v, role_of(int(u)))
            idx = pd.Index(vals, dtype=object, tupleize_cols=False)
    if idx.dtype.kind in "OUS" or isinstance(idx.dtype, (pd.StringDtype, pd.ArrowDtype)) or str(idx.dtype) == "str":
        as_str = pd.Series(idx.to_numpy(dtype=object), dtype=object)
        is_str = as_str.map(type).eq(str).to_numpy() if idx.dtype == object else np.ones(len(idx), dtype=bool)
        blank = np.zeros(len(idx), dtype=bool)
        if is_str.any():
            blank[is_str] = (pd.Series(as_str[is_str], dtype="string").str.strip() == "").to_numpy(dtype=bool, na_value=False)
        if blank.any():
            for p in parts:
                p[blank[np.maximum(p, 0)] & (p >= 0)] = -1
        idx = pd.Index(as_str.to_numpy(), dtype=object, tupleize_cols=False)
    elif isinstance(idx.dtype, pd.core.dtypes.dtypes.BaseMaskedDtype):
        idx = pd.Index(idx.to_numpy(), tupleize_cols=False)
    return parts, idx, [p < 0 for p in parts]


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


def parse_time(s: pd.Series, *, unit: str = "auto", tz: str = "UTC") -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Parse a time column to int64 UTC nanoseconds.

    Returns ``(ns, reason, info)`` where ``reason`` is an int8 array of :data:`REASON_CODES` (0 = ok)
    and ``info`` describes what was detected (kind, unit).
    """
    n = len(s)
    reason = np.zeros(n, dtype=np.int8)
    ns = np.zeros(n, dtype=np.int64)
    info: dict[str, Any] = {}
    dtype = s.dtype
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        at = dtype.pyarrow_dtype
        if pa.types.is_timestamp(at) or pa.types.is_date(at):
            s = s.astype(f"datetime64[ns{', ' + str(at.tz) if getattr(at, 'tz', None) else ''}]" if not pa.types.is_date(at) else "datetime64[ns]")
        elif pa.types.is_integer(at) or pa.types.is_floating(at):
            s = s.astype("float64") if pa.types.is_floating(at) or s.isna().any() else s.astype("int64")
        else:
            s = s.astype(object)
        dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or dtype.kind == "M":
        info["kind"] = "datetime"
        return (*_from_datetime(s, tz, reason, info),)
    if dtype.kind in "iuf" or isinstance(dtype, pd.core.dtypes.dtypes.BaseMaskedDtype) and dtype.kind in "iuf":
        vals = s.to_numpy(dtype="float64", na_value=np.nan) if dtype.kind == "f" or s.isna().any() else s.to_numpy()
        info["kind"] = "epoch"
        return _from_epoch(vals, unit, reason, info)
    # strings / objects: numbers written as text, or date-time strings
    obj = s.astype(object)
    null = obj.isna().to_numpy(dtype=bool).copy()
    as_str = obj.where(~null, None)
    stripped = pd.Series(as_str, dtype="string").str.strip()
    null |= (stripped == "").to_numpy(dtype=bool, na_value=False)
    num = pd.to_numeric(stripped.where(~null), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    is_num = ~np.isnan(num) & ~null
    nonnull = ~null
    if nonnull.any() and is_num[nonnull].mean() >= 0.5:
        # mostly epoch numbers: the few non-numbers are bad rows, not a reason to drop the column
        info["kind"] = "epoch"
        vals = np.where(is_num, num, np.nan)
        if is_num.all() and np.nanmax(np.abs(vals), initial=0) > 2**53:
            # nanosecond epochs exceed float precision: parse them as exact integers
            vals = pd.to_numeric(stripped, errors="coerce").astype("int64").to_numpy()
        ns, reason, info = _from_epoch(vals, unit, reason, info)
        reason[nonnull & ~is_num] = _rc("unparseable_time")
        return ns, reason, info
    info["kind"] = "datetime-string"
    if unit != "auto":
        info["note"] = f"time_unit={unit!r} ignored: the column holds date-time strings"
    datetime_text_times(stripped, null, tz, ns, reason)
    return ns, reason, info


def datetime_text_times(stripped: pd.Series, null: np.ndarray, tz: str, ns: np.ndarray, reason: np.ndarray) -> None:
    """Parse date-time strings (``stripped``; ``null`` marks the missing ones) into ``ns`` (int64 UTC
    nanoseconds) and ``reason`` (null, unparseable or out-of-range times), in place. Both engines'
    readers call it, so a date-time string means the same on each."""
    text = stripped.where(~null)
    fast = _parse_iso(text, tz) if _all_iso_like(text) else None
    if fast is not None and not ((fast[0] == _INAT) & ~fast[1])[~null].any():
        vals, oor = fast
    else:
        vals, oor = _parse_mixed(text, tz)
    bad = (vals == _INAT) & ~oor
    reason[null] = _rc("null_time")
    reason[bad & ~null] = _rc("unparseable_time")
    reason[oor & ~bad & ~null] = _rc("time_out_of_range")
    ok = ~bad & ~oor & ~null
    ns[ok] = vals[ok]



def _asi8(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """int64 UTC nanoseconds of a tz-aware datetime Series (NaT -> iNaT), and the mask of times that
    the Series holds (in a coarser unit) but nanoseconds cannot (outside years 1677-2262)."""
    s = s.dt.tz_convert("UTC")
    raw = np.asarray(s.array.asi8, dtype=np.int64)
    mult = _UNIT_NS[s.dtype.unit]
    nat = raw == np.iinfo(np.int64).min
    if mult == 1:
        return raw, np.zeros(raw.shape[0], dtype=bool)
    lim = np.iinfo(np.int64).max // mult
    oor = ~nat & ((raw > lim) | (raw < -lim))
    out = np.full(raw.shape[0], np.iinfo(np.int64).min, dtype=np.int64)
    good = ~nat & ~oor
    out[good] = raw[good] * mult
    return out, oor


def _all_iso_like(text: pd.Series) -> bool:
    sample = text.dropna().head(50)
    return bool(len(sample)) and bool(sample.str.match(r"^\d{4}-\d{2}-\d{2}").all())


# an explicit UTC offset at the end of a date-time string: Z, +08:00, -0500, +08
_OFFSET_RE = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"


def _parse_iso(text: pd.Series, tz: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Vectorized ISO 8601 parse to UTC; naive strings are local times in ``tz``.

    A column mixing offsets (``+08:00`` and ``Z``) or offsets and naive times is split by whether
    each string carries an offset, so both halves stay on the vectorized path. Returns int64 UTC
    nanoseconds (iNaT where unparseable) and the out-of-range mask, or None when pandas cannot parse
    the column this way (the caller then parses value by value).
    """
    try:
        return _asi8(_localize(pd.to_datetime(text, format="ISO8601", errors="coerce", utc=False), tz))
    except (ValueError, TypeError):  # mixed offsets, or offsets mixed with naive times
        pass
    has_off = text.str.contains(_OFFSET_RE, regex=True, na=False).to_numpy(dtype=bool)
    ns = np.full(len(text), _INAT, dtype=np.int64)
    oor = np.zeros(len(text), dtype=bool)
    try:
        for part, utc in ((has_off, True), (~has_off, False)):
            if part.any():
                parsed = pd.to_datetime(text[part], format="ISO8601", errors="coerce", utc=utc)
                ns[part], oor[part] = _asi8(_localize(parsed, tz))
    except (ValueError, TypeError):
        return None
    return ns, oor


def _parse_mixed(text: pd.Series, tz: str) -> tuple[np.ndarray, np.ndarray]:
    """Value-by-value parse (each distinct string once), tolerant of any format pandas reads.

    Returns int64 UTC nanoseconds (iNaT where unparseable) and the mask of times outside the
    nanosecond range (years 1677-2262)."""
    n = len(text)
    out = np.full(n, _INAT, dtype=np.int64)
    oor = np.zeros(n, dtype=bool)
    nonnull = text.notna().to_numpy(dtype=bool)
    if not nonnull.any():
        return out, oor
    _OOR = object()

    def one(v: str) -> Any:
        try:
            ts = pd.Timestamp(v)
        except (ValueError, TypeError, OverflowError):
            return _INAT
        if ts is pd.NaT:
            return _INAT
        if ts.tzinfo is None:
            try:
                ts = ts.tz_localize(tz)
            except Exception:  # noqa: BLE001 - nonexistent local times etc.
                return _INAT
        try:
            return int(ts.tz_convert("UTC").as_unit("ns").value)
        except (OverflowError, pd.errors.OutOfBoundsDatetime):
            return _OOR

    vals = text[nonnull].to_numpy(dtype=object)
    codes, uniq = pd.factorize(vals)
    parsed = [one(u) for u in uniq]
    is_oor = np.array([p is _OOR for p in parsed], dtype=bool)
    ints = np.array([_INAT if p is _OOR else p for p in parsed], dtype=np.int64)
    out[nonnull] = ints[codes]
    oor[nonnull] = is_oor[codes]
    return out, oor


def _localize(parsed: pd.Series, tz: str) -> pd.Series:
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return parsed.dt.tz_convert("UTC")
    return parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")


def _from_datetime(s: pd.Series, tz: str, reason: np.ndarray, info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    if not isinstance(s.dtype, pd.DatetimeTZDtype):
        info["naive_localized_as"] = tz
        s = s.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    null = s.isna().to_numpy(dtype=bool).copy()
    reason[null] = _rc("null_time")
    ns, oor = _asi8(s)
    reason[oor] = _rc("time_out_of_range")
    ns[null | oor] = 0
    return ns, reason, info


def _from_epoch(vals: np.ndarray, unit: str, reason: np.ndarray, info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    n = vals.shape[0]
    ns = np.zeros(n, dtype=np.int64)
    fvals = vals if vals.dtype.kind == "f" else vals.astype("float64")
    null = np.isnan(fvals) if vals.dtype.kind == "f" else np.zeros(n, dtype=bool)
    reason[null] = _rc("null_time")
    ok = ~null
    if unit == "auto":
        if not ok.any():
            lo = hi = 0.0
        elif vals.dtype.kind in "iu":
            vmin, vmax = int(vals.min()), int(vals.max())
            lo = 0.0 if vmin <= 0 <= vmax else float(min(abs(vmin), abs(vmax)))
            hi = float(max(abs(vmin), abs(vmax)))
        else:
            lo, hi = float(np.nanmin(np.abs(fvals))), float(np.nanmax(np.abs(fvals)))
        b_lo, b_hi = np.searchsorted(_BANDS, [lo, hi], side="right")
        if b_lo == b_hi:  # the whole column sits in one band: no per-row work
            main = int(b_lo)
        else:
            band = np.searchsorted(_BANDS, np.abs(fvals[ok]), side="right")
            counts = np.bincount(band, minlength=4)
            main = int(np.argmax(counts))
            info["mixed_units"] = {u: int(c) for u, c in zip(_BAND_UNITS, counts) if c}
            off = np.flatnonzero(ok)[band != main]
            reason[off] = _rc("mixed_epoch_units")
            ok[off] = False
        unit_used = _BAND_UNITS[main]
        info["unit"] = unit_used
        info["unit_detected"] = True
    else:
        if unit not in _UNIT_NS:
            raise InvalidParameterError(
                f"time_unit={unit!r} is not supported; expected one of ['auto', 's', 'ms', 'us', 'ns']."
            )
        unit_used = unit
        info["unit"] = unit
        info["unit_detected"] = False
    mult = _UNIT_NS[unit_used]
    if vals.dtype.kind in "iu" and ok.all() and vals.size:
        lim = np.iinfo(np.int64).max // mult
        if int(vals.max()) <= lim and int(vals.min()) >= -lim:  # fast path: every row valid, in range
            return vals.astype(np.int64) * mult, reason, info
    if vals.dtype.kind in "iu":
        v = vals[ok].astype(np.int64)
        lim = np.iinfo(np.int64).max // mult
        inr = np.abs(v) <= lim
        res = np.zeros(v.shape[0], dtype=np.int64)
        res[inr] = v[inr] * mult
    else:
        f = fvals[ok]
        inr = np.abs(f * mult) < 9.2e18
        res = np.zeros(f.shape[0], dtype=np.int64)
        # whole units and the fraction apart: (T0 + 0.25) s * 1e9 in one float product is off by 128 ns
        whole = np.floor(f[inr])
        res[inr] = whole.astype(np.int64) * mult + np.rint((f[inr] - whole) * mult).astype(np.int64)
    idx = np.flatnonzero(ok)
    reason[idx[~inr]] = _rc("time_out_of_range")
    ns[idx[inr]] = res[inr]
    return ns, reason, info


def parse_value(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numeric value column: returns (float64 values with NaN for missing, bad-mask of unparseable)."""
    if s.dtype.kind in "iuf" and not isinstance(s.dtype, pd.ArrowDtype):
        return s.to_numpy(dtype="float64", na_value=np.nan), np.zeros(len(s), dtype=bool)
    null = s.isna().to_numpy(dtype=bool).copy()
    if isinstance(s.dtype, pd.ArrowDtype) and s.dtype.kind in "iuf":
        return s.to_numpy(dtype="float64", na_value=np.nan), np.zeros(len(s), dtype=bool)
    txt = pd.Series(s.astype(object).where(~null, None), dtype="string").str.strip()
    null |= (txt == "").to_numpy(dtype=bool, na_value=False)
    v = pd.to_numeric(txt.where(~null), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = np.isnan(v) & ~null
    return v, bad


def _rc(name: str) -> int:
    return REASON_CODES[name]


def check_rng(rng: Any) -> np.random.Generator:
    """``rng`` as a numpy Generator: None, an int seed, a SeedSequence or a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)) and not isinstance(rng, bool):
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
