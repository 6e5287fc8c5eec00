"""``kocgraph.spark.read_log``: the validation rules of :func:`kocgraph.read_log`, on Spark.

Every per-row rule runs in pandas batches (``mapInPandas``) through the very functions that the
in-memory reader uses (id blanks, time parsing, values, event-type and channel normalization); the
rules that look at the whole column (the epoch unit's majority band, "mostly numbers" for text
times) are decided once from a first pass over the time column; duplicates are found with a window
over the whole log. So a row is rejected on Spark exactly when, and for the same reason as, it is
rejected in memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from .._core.validation import (
    EPOCH_BAND_UNITS,
    EPOCH_BANDS,
    REASON_CODES,
    REASONS,
    check_columns,
    datetime_text_times,
    epoch_to_ns,
    parse_value,
)
from .._core.validation import (
    normalized_category as _normalized_category,
)
from ..exceptions import InvalidParameterError, LogSchemaError, check_choice
from ..io.tables import infer_format as _infer_format

__all__ = ["SparkLog", "read_log", "dense_index", "with_offsets", "value_counts", "local_checkpoint"]

_AUTO: Any = "__auto__"
_CORRUPT = "_corrupt_record"
_NAMES = list(REASON_CODES)
#: internal columns added to the log (prefixed so they never clash with the user's)
_P = "_kg_"


@dataclass
class SparkLog:
    """A validated forwarding log on Spark: what :func:`read_log` returns.

    Attributes
    ----------
    spark : SparkSession
    events : DataFrame
        Accepted events, one row each: ``row`` (0-based data row of the input), ``src``, ``tgt``
        (dense user codes), ``itm`` (dense item code), ``time`` (int64 UTC nanoseconds, or the row
        number when the log has no time), and ``event_type``, ``channel``, ``value`` when mapped.
    users : DataFrame
        ``code``, ``user``: the user ids, coded in the order the in-memory reader codes them (first
        seen as a source, then first seen as a target), so ties break the same way on both engines.
    items : DataFrame
        ``code``, ``item``.
    rejected : DataFrame
        The rows set aside, with the columns of ``kg.get.rejected``: ``row``, ``reason``, ``line``
        (the file's line, for a file input; null where it is not known), then the row as given, and
        ``raw_text`` (the text of lines that could not be parsed) when there are any.
    report : dict
        The ingest report, as ``g.meta["read_log"]``: rows read, accepted, rejected by reason.
    """

    spark: SparkSession
    events: DataFrame
    users: DataFrame
    items: DataFrame
    rejected: DataFrame
    report: dict[str, Any]
    id_type: str = "string"
    results: dict[str, DataFrame] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return int(self.meta.get("n_users", 0))

    @property
    def n_items(self) -> int:
        return int(self.meta.get("n_items", 0))

    @property
    def n_events(self) -> int:
        return int(self.report["rows_accepted"])

    def __repr__(self) -> str:
        r = self.report
        return (f"SparkLog: {r['rows_accepted']:,} events, {self.n_users:,} users, {self.n_items:,} items "
                f"({r['rows_rejected']:,} of {r['rows_read']:,} rows rejected)")


# --------------------------------------------------------------------------------------------- loading
def _load(spark: SparkSession, data: Any, fmt: str | None, sep: str | None, encoding: str) -> tuple[DataFrame, dict[str, Any]]:
    info: dict[str, Any] = {}
    if isinstance(data, DataFrame):
        info["input"] = "Spark DataFrame"
        return data, info
    if isinstance(data, pd.DataFrame):
        info["input"] = "DataFrame"
        pdf = data.copy()
        for c in pdf.columns:
            s = pdf[c]
            if isinstance(s.dtype, pd.CategoricalDtype) or str(s.dtype) in ("str", "string") or \
                    isinstance(s.dtype, pd.StringDtype):
                pdf[c] = s.astype(object).where(s.notna(), None)
        pdf.columns = [str(c) for c in pdf.columns]
        try:
            return spark.createDataFrame(pdf), info
        except Exception as err:
            raise LogSchemaError(
                f"Spark could not take this DataFrame ({type(err).__name__}: {str(err).splitlines()[0]}). "
                "A column mixing types (ints and strings) is the usual cause: convert id columns with "
                "df[col].astype(str) first."
            ) from err
    if not isinstance(data, (str, os.PathLike)):
        raise InvalidParameterError(
            f"kocgraph.spark.read_log got a {type(data).__name__}; pass a path (CSV, TSV, Parquet, JSON lines; "
            "a directory of such files works too), a Spark DataFrame or a pandas DataFrame."
        )
    s = str(data)
    local = "://" not in s
    p = Path(s)
    if local and not p.exists():
        raise LogSchemaError(f"log file {s!r} does not exist. Check the path (cwd is {os.getcwd()!r}).")
    if local and p.is_file() and p.stat().st_size == 0:
        raise LogSchemaError(f"log file {s!r} is empty (0 bytes); expected a header line and data rows.")
    fmt = _infer_format(p, fmt)
    info.update(path=str(p.resolve()) if local else s, format=fmt)
    if fmt in ("csv", "tsv"):
        delim = sep if sep is not None else ("\t" if fmt == "tsv" else ",")
        opts = {"header": "true", "sep": delim, "encoding": encoding, "multiLine": "false"}
        head = spark.read.options(**opts).csv(s)
        cols = head.columns
        schema = T.StructType([T.StructField(c, T.StringType()) for c in cols]
                              + [T.StructField(_CORRUPT, T.StringType())])
        df = spark.read.options(**opts, mode="PERMISSIVE", columnNameOfCorruptRecord=_CORRUPT,
                                enforceSchema="false").schema(schema).csv(s)
        info["delimiter"] = delim
        return df, info
    if fmt == "parquet":
        return spark.read.parquet(s), info
    df = spark.read.options(mode="PERMISSIVE", columnNameOfCorruptRecord=_CORRUPT, encoding=encoding).json(s)
    return df, info


def _line_offset(spark: SparkSession, info: dict[str, Any], rows_read: int) -> int | None:
    """``line - row`` of every record of a one-file CSV, TSV or JSON-lines log (the header's line and
    the 1-based count), when each record is one line of the file: Spark reads records one line each
    (``multiLine`` off), so that holds when the file has as many lines as records (plus the header),
    i.e. no blank line. ``None`` otherwise (blank lines, a folder, a URI, Parquet): lines unknown."""
    path, fmt = info.get("path"), info.get("format")
    if fmt not in ("csv", "tsv", "jsonl") or not (isinstance(path, str) and Path(path).is_file()):
        return None
    header = 1 if fmt in ("csv", "tsv") else 0
    return header + 1 if spark.read.text(path).count() == rows_read + header else None


def _id_column(df: DataFrame, name: str, role: str) -> tuple[Any, str]:
    """The id column as a Spark expression of type string or long; bad types raise LogSchemaError."""
    dt = df.schema[name].dataType
    c = F.col(f"`{name}`")
    if isinstance(dt, T.StringType):
        return c, "string"
    if isinstance(dt, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
        return c.cast("long"), "long"
    if isinstance(dt, (T.FloatType, T.DoubleType, T.DecimalType)):
        bad = df.select(c.alias("v")).where(F.col("v").isNotNull() & ~F.isnan(F.col("v").cast("double"))
                                            & (F.col("v") != F.floor(F.col("v")))).limit(1).collect()
        if bad:
            raise LogSchemaError(
                f"the {role} column holds non-integer numbers (e.g. {float(bad[0]['v'])!r}); user and item ids "
                "must be strings or integers. Read the column as strings, or round it."
            )
        return F.when(~F.isnan(c.cast("double")), c.cast("long")), "long"
    raise LogSchemaError(
        f"the {role} column {name!r} has Spark type {dt.simpleString()}, but user and item ids must be strings "
        "or integers. Cast the column (e.g. df.withColumn(c, col(c).cast('string'))) before reading the log."
    )


# --------------------------------------------------------------------------------------------- time
def _text_numbers(s: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """(null mask, numbers (NaN where not a number), stripped text) of a text time column."""
    obj = s.astype(object)
    null = obj.isna().to_numpy(dtype=bool).copy()
    stripped = pd.Series(obj.where(~null, None), dtype="string").str.strip()
    null |= (stripped == "").to_numpy(dtype=bool, na_value=False)
    num = pd.to_numeric(stripped.where(~null), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return null, num, stripped


def _time_stats(kind: str) -> Any:
    def stats(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for pdf in batches:
            s = pdf["t"]
            if kind == "text":
                null, num, _ = _text_numbers(s)
                is_num = ~np.isnan(num) & ~null
                vals = num[is_num]
                nonnull = int((~null).sum())
            else:
                v = s.to_numpy(dtype="float64", na_value=np.nan)
                vals = v[~np.isnan(v)]
                nonnull = int(vals.size)
            band = np.bincount(np.searchsorted(EPOCH_BANDS, np.abs(vals), side="right"), minlength=4)
            yield pd.DataFrame({"nonnull": [nonnull], "num": [int(vals.size)],
                                "b0": [int(band[0])], "b1": [int(band[1])], "b2": [int(band[2])], "b3": [int(band[3])]})

    return stats


def _decide_time(df: DataFrame, name: str, unit: str) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The time column as an expression, the column-wide decisions, and the report's time info."""
    dt = df.schema[name].dataType
    c = F.col(f"`{name}`")
    info: dict[str, Any] = {}
    if isinstance(dt, T.TimestampType):
        return F.unix_micros(c), {"kind": "micros"}, {"kind": "datetime"}
    if isinstance(dt, (T.DateType, T.TimestampNTZType)):
        info = {"kind": "datetime", "note": "naive date-times localized in tz"}
        return c.cast("string"), {"kind": "datetime-string"}, info
    if isinstance(dt, (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType, T.DecimalType)):
        expr = c.cast("long") if isinstance(dt, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)) else c.cast("double")
        kind = "num"
    elif isinstance(dt, T.StringType):
        expr, kind = c, "text"
    else:
        raise LogSchemaError(f"the time column {name!r} has Spark type {dt.simpleString()}; expected date-times, "
                             "epoch numbers or text.")
    need_stats = kind == "text" or unit == "auto"
    dec: dict[str, Any] = {"kind": "epoch", "text": kind == "text", "auto": unit == "auto", "unit": unit}
    if not need_stats:
        return expr, dec, {"kind": "epoch", "unit": unit, "unit_detected": False}
    schema = "nonnull long, num long, b0 long, b1 long, b2 long, b3 long"
    row = (df.select(expr.alias("t")).mapInPandas(_time_stats(kind), schema)
           .agg(*[F.sum(k).alias(k) for k in ("nonnull", "num", "b0", "b1", "b2", "b3")]).collect()[0])
    nonnull, num = int(row["nonnull"] or 0), int(row["num"] or 0)
    counts = np.array([int(row[f"b{i}"] or 0) for i in range(4)])
    if kind == "text" and not (nonnull > 0 and num / nonnull >= 0.5):
        info = {"kind": "datetime-string"}
        if unit != "auto":
            info["note"] = f"time_unit={unit!r} ignored: the column holds date-time strings"
        return expr, {"kind": "datetime-string"}, info
    info = {"kind": "epoch"}
    if unit == "auto":
        main = int(np.argmax(counts))
        dec.update(unit=EPOCH_BAND_UNITS[main], main=main)
        if int((counts > 0).sum()) > 1:
            info["mixed_units"] = {u: int(k) for u, k in zip(EPOCH_BAND_UNITS, counts) if k}
        info.update(unit=EPOCH_BAND_UNITS[main], unit_detected=True)
    else:
        info.update(unit=unit, unit_detected=False)
    return expr, dec, info


def _batch_time(s: pd.Series, dec: dict[str, Any], tz: str) -> tuple[np.ndarray, np.ndarray]:
    """int64 UTC ns and reason codes of one batch, under the column-wide decisions ``dec``."""
    n = len(s)
    reason = np.zeros(n, dtype=np.int8)
    ns = np.zeros(n, dtype=np.int64)
    kind = dec["kind"]
    if kind == "micros":
        v = s.to_numpy(dtype="float64", na_value=np.nan) if s.isna().any() else s.to_numpy(dtype=np.int64)
        null = np.isnan(v) if v.dtype.kind == "f" else np.zeros(n, dtype=bool)
        reason[null] = REASON_CODES["null_time"]
        iv = np.where(null, 0, v).astype(np.int64)
        lim = np.iinfo(np.int64).max // 1000
        oor = ~null & (np.abs(iv) > lim)
        reason[oor] = REASON_CODES["time_out_of_range"]
        good = ~null & ~oor
        ns[good] = iv[good] * 1000
        return ns, reason
    if kind == "datetime-string":
        null, _, stripped = _text_numbers(s) if len(s) else (np.zeros(0, bool), None, pd.Series([], dtype="string"))
        datetime_text_times(stripped, null, tz, ns, reason)
        return ns, reason
    # epoch numbers (numeric column, or text that is mostly numbers)
    nonnum = np.zeros(n, dtype=bool)
    if dec.get("text"):
        null, num, stripped = _text_numbers(s)
        is_num = ~np.isnan(num) & ~null
        vals: np.ndarray = np.where(is_num, num, np.nan)
        if n and is_num.all() and np.nanmax(np.abs(vals), initial=0) > 2**53:
            vals = pd.to_numeric(stripped, errors="coerce").astype("int64").to_numpy()
        nonnum = ~null & ~is_num
    elif s.dtype.kind == "f" or s.isna().any():
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
    else:
        vals = s.to_numpy(dtype=np.int64)
    fvals = vals if vals.dtype.kind == "f" else vals.astype("float64")
    null = np.isnan(fvals)
    reason[null] = REASON_CODES["null_time"]
    ok = ~null
    if dec.get("auto"):
        band = np.searchsorted(EPOCH_BANDS, np.abs(fvals[ok]), side="right")
        off = np.flatnonzero(ok)[band != dec["main"]]
        reason[off] = REASON_CODES["mixed_epoch_units"]
        ok[off] = False
    idx = np.flatnonzero(ok)
    if idx.size:
        sub_reason = np.zeros(idx.size, dtype=np.int8)
        ns[idx] = epoch_to_ns(vals[idx], sub_reason, dec["unit"], None)
        reason[idx] = sub_reason
    reason[nonnum] = REASON_CODES["unparseable_time"]
    return ns, reason


# --------------------------------------------------------------------------------------------- validation
def _blank(s: pd.Series) -> np.ndarray:
    """Missing ids: null, or text that is empty after stripping (the in-memory rule)."""
    null = s.isna().to_numpy(dtype=bool).copy()
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype) or str(s.dtype) == "str":
        txt = pd.Series(s.astype(object).where(~pd.Series(null, index=s.index), None), dtype="string")
        null |= (txt.str.strip() == "").to_numpy(dtype=bool, na_value=False)
    return null


def _validator(cols: dict[str, str | None], dec: dict[str, Any] | None, tz: str, id_type: str,
               item_type: str, has_corrupt: bool) -> Any:
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for pdf in batches:
            n = len(pdf)
            reason = np.zeros(n, dtype=np.int8)

            def flag(mask: np.ndarray, name: str, reason: np.ndarray = reason) -> None:
                sel = mask & (reason == 0)
                reason[sel] = REASON_CODES[name]

            if has_corrupt:
                flag(pdf[_CORRUPT].notna().to_numpy(dtype=bool), "malformed_row")
            out = pd.DataFrame(index=pdf.index)
            ids = {}
            for role, nm in (("source", "null_source"), ("target", "null_target"), ("item", "null_item")):
                key = _P + role
                if key not in pdf.columns:
                    continue
                s = pdf[key]
                blank = _blank(s)
                flag(blank, nm)
                ids[role] = (s, blank)
            if dec is not None:
                tns, treason = _batch_time(pdf[_P + "time"], dec, tz)
                sel = (treason > 0) & (reason == 0)
                reason[sel] = treason[sel]
            else:
                tns = np.zeros(n, dtype=np.int64)
            for opt in ("event_type", "channel"):
                if cols.get(opt) is None:
                    continue
                cat = _normalized_category(pdf[_P + opt], lower=opt == "event_type")
                vals = np.asarray(cat.astype(object), dtype=object)
                none = np.array(None, dtype=object)  # a 0-d array, not None: numpy's stubs refuse None here
                out[_P + opt] = pd.Series(np.where(pd.isna(vals), none, vals), index=pdf.index, dtype=object)
            if cols.get("value") is not None:
                v, vbad, _inf = parse_value(pdf[_P + "value"])
                flag(vbad, "unparseable_value")
                out[_P + "value"] = v
            s_src, b_src = ids["source"]
            s_tgt, b_tgt = ids["target"]
            same = (s_src.astype(object).to_numpy() == s_tgt.astype(object).to_numpy())
            flag(np.asarray(same, dtype=bool) & ~b_src & ~b_tgt, "self_forward")
            res = pdf.drop(columns=[c for c in pdf.columns if c.startswith(_P)])
            for role, (s, blank) in ids.items():
                vals = s.astype(object).to_numpy(copy=True)
                vals[blank] = None
                long = (item_type if role == "item" else id_type) == "long"
                res[_P + role] = pd.array(vals, dtype="Int64") if long else pd.Series(vals, index=pdf.index, dtype=object)
            res[_P + "time"] = tns
            for c in out.columns:
                res[c] = out[c]
            res[_P + "reason"] = reason.astype(np.int32)
            yield res

    return run


# --------------------------------------------------------------------------------------------- dense codes
#: where local checkpoints keep their blocks unless the Spark setting ``kocgraph.checkpointStorageLevel``
#: names another ``pyspark.StorageLevel`` (e.g. ``MEMORY_AND_DISK``): on local disk, so that they never
#: take the JVM heap that joins and aggregations need (the operating system's page cache still keeps
#: recent blocks in RAM when there is room)
CHECKPOINT_STORAGE = "DISK_ONLY"


def local_checkpoint(df: DataFrame, eager: bool = False) -> DataFrame:
    """``df.localCheckpoint`` (cuts the lineage) with the blocks stored at :data:`CHECKPOINT_STORAGE`."""
    from pyspark import StorageLevel

    name = df.sparkSession.conf.get("kocgraph.checkpointStorageLevel", CHECKPOINT_STORAGE)
    level = getattr(StorageLevel, str(name).upper(), None)
    if not isinstance(level, StorageLevel):
        raise InvalidParameterError(
            f"kocgraph.checkpointStorageLevel={name!r} is not a pyspark StorageLevel; use e.g. 'DISK_ONLY' or "
            "'MEMORY_AND_DISK'.")
    return df.localCheckpoint(eager=eager, storageLevel=level)


def dense_index(df: DataFrame, order: list[Any], name: str) -> DataFrame:
    """Number the rows of ``df`` 0, 1, ... in ``order`` (a distributed sort; no single partition)."""
    s = df.orderBy(*order).withColumn("_pid", F.spark_partition_id()).withColumn("_mid", F.monotonically_increasing_id())
    s = local_checkpoint(s)
    counts = {int(r["_pid"]): int(r["count"]) for r in s.groupBy("_pid").count().collect()}
    return with_offsets(s, name, counts)


def with_offsets(s: DataFrame, name: str, counts: dict[int, int]) -> DataFrame:
    """Turn ``_pid``/``_mid`` (partition id, monotonically increasing id) into consecutive numbers,
    given the rows per partition id."""
    off, acc = {}, 0
    for pid in sorted(counts):
        off[pid] = acc
        acc += counts[pid]
    if not off:
        return s.withColumn(name, F.lit(0).cast("long")).drop("_pid", "_mid")
    m = F.create_map(*[x for pid in sorted(off) for x in (F.lit(pid), F.lit(off[pid]).cast("long"))])
    local = F.col("_mid") - F.shiftleft(F.col("_pid").cast("long"), 33)
    return s.withColumn(name, m[F.col("_pid")] + local).drop("_pid", "_mid")


def value_counts(df: DataFrame, col: str) -> tuple[DataFrame, int]:
    """Per distinct non-null value ``v`` of ``col`` among the rows of ``df``: ``cnt`` (rows holding
    it), ``le`` (rows whose value is <= v) and ``ge`` (>= v); and the number of rows counted.

    A distributed sort of the distinct values, then running sums within each sorted partition plus
    the totals of the partitions before it (the offsets of :func:`dense_index`): no window over one
    partition, whatever the number of distinct values.
    """
    vc = df.where(F.col(f"`{col}`").isNotNull()).groupBy(F.col(f"`{col}`").alias("v")).agg(
        F.count(F.lit(1)).alias("cnt"))
    s = local_checkpoint(vc.orderBy("v").withColumn("_pid", F.spark_partition_id()))
    totals = {int(r[0]): int(r[1]) for r in s.groupBy("_pid").agg(F.sum("cnt")).collect()}
    off, acc = {}, 0
    for pid in sorted(totals):
        off[pid] = acc
        acc += totals[pid]
    n = acc

    def running(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        seen: dict[int, int] = {}  # rows of each partition already passed (its batches come in order)
        for pdf in batches:
            if not len(pdf):
                continue
            pid = int(pdf["_pid"].iloc[0])
            c = pdf["cnt"].to_numpy(np.int64)
            le = off[pid] + seen.get(pid, 0) + np.cumsum(c)
            seen[pid] = seen.get(pid, 0) + int(c.sum())
            yield pd.DataFrame({"v": pdf["v"], "cnt": c, "le": le, "ge": n - le + c})

    schema = T.StructType([T.StructField("v", df.schema[col].dataType), T.StructField("cnt", T.LongType()),
                           T.StructField("le", T.LongType()), T.StructField("ge", T.LongType())])
    return local_checkpoint(s.mapInPandas(running, schema)), n


# --------------------------------------------------------------------------------------------- read_log
def read_log(
    spark: SparkSession | None,
    data: Any,
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
    workdir: str | os.PathLike[str] | None = None,
) -> SparkLog:
    """Read and validate a forwarding log on Spark, with the rules of :func:`kocgraph.read_log`.

    Parameters
    ----------
    spark
        A :class:`~pyspark.sql.SparkSession` (yours, for a cluster), or ``None`` to start a local one
        (``local[*]``, see :func:`get_session`).
    data
        A path (CSV/TSV, Parquet, JSON lines; a directory of part files too; any URI Spark reads), a
        Spark DataFrame or a pandas DataFrame.
    source, target, item, time, event_type, channel, value, time_unit, tz, on_invalid, format, sep, encoding
        As in :func:`kocgraph.read_log`, with the same defaults and meanings.
    workdir
        A directory for the validated events, users, items and rejected rows as Parquet (the stage's
        output). ``None`` keeps them as local checkpoints in Spark's block store (memory and disk).

    Returns
    -------
    SparkLog
        ``events``, ``users``, ``items``, ``rejected`` DataFrames and the ingest ``report``, where
        accepted + rejected always equals rows read.

    Notes
    -----
    Rows are numbered in Spark's scan order, which is the file order for one file. Ids are Spark
    strings or longs; a source column of one type and a target column of another are both read as
    text.

    Examples
    --------
    >>> import kocgraph as kg, kocgraph.spark as ks  # doctest: +SKIP
    >>> log = ks.read_log(None, kg.datasets.toy_frame())  # doctest: +SKIP
    >>> log.report["rows_accepted"]  # doctest: +SKIP
    30
    """
    where = "kocgraph.spark.read_log"
    check_choice("on_invalid", on_invalid, ("quarantine", "raise"), where=where)
    check_choice("time_unit", time_unit, ("auto", "s", "ms", "us", "ns"), where=where)
    for nm, v in (("source", source), ("target", target)):
        if not isinstance(v, str):
            raise InvalidParameterError(f"{nm}={v!r} must be a column name (str); pass e.g. {nm}='from_user'.")
    from ._session import get_session

    spark = get_session(spark)
    raw, info = _load(spark, data, format, sep, encoding)
    has_corrupt = _CORRUPT in raw.columns
    user_cols = [c for c in raw.columns if c != _CORRUPT]
    mapping: dict[str, Any] = {"source": source, "target": target, "item": item, "time": time}
    for opt, given in (("event_type", event_type), ("channel", channel), ("value", value)):
        mapping[opt] = (opt if opt in user_cols else None) if given is _AUTO else given
    check_columns(user_cols, mapping, {"source", "target"}, where=where)
    if source == target:
        raise InvalidParameterError(f"source and target both name column {source!r}; they must differ.")
    staged, id_type, item_type, dec, time_info = _staged(raw, mapping, time_unit)
    checked = staged.mapInPandas(_validator(dict(mapping), dec, tz, id_type, item_type, has_corrupt),
                                 _checked_schema(raw, mapping, id_type, item_type))
    if time is None:
        checked = checked.withColumn(_P + "time", F.col("_mid"))  # row order is the time order
    checked = local_checkpoint(_mark_duplicates(checked, mapping))
    checked, by = _count_reasons(checked)
    rows_read = int(sum(by.values()))
    accepted = int(by.get(0, 0))
    by_reason = {name: int(by.get(code, 0)) for name, code in REASON_CODES.items() if by.get(code, 0)}
    if on_invalid == "raise" and accepted < rows_read:
        _raise_first_invalid(checked, mapping)
    rejected = _rejected_rows(spark, checked, info, user_cols, rows_read,
                              raw_text=has_corrupt and bool(by_reason.get("malformed_row")))
    users, items = _user_and_item_codes(checked)
    ev = _event_table(checked, users, items, mapping)
    if workdir is not None:
        ev, users, items, rejected = _write_workdir(spark, workdir, ev, users, items, rejected)
    else:
        ev = local_checkpoint(ev, eager=True)
    n_users = users.count()
    n_items = items.count()
    report: dict[str, Any] = {
        **info,
        "columns": {k: (str(v) if v is not None else None) for k, v in mapping.items()},
        "rows_read": rows_read,
        "rows_accepted": accepted,
        "rows_rejected": rows_read - accepted,
        "rejected_by_reason": by_reason,
        "has_time": time is not None,
        "time": time_info,
        "on_invalid": on_invalid,
        "tz": tz,
        "engine": "spark",
    }
    if report["rows_accepted"] + report["rows_rejected"] != report["rows_read"]:  # pragma: no cover
        raise RuntimeError("internal error: accepted + rejected != read")
    return SparkLog(spark=spark, events=ev, users=users, items=items, rejected=rejected, report=report,
                    id_type=id_type, meta={"n_users": int(n_users), "n_items": int(n_items), "item_type": item_type,
                                           "workdir": None if workdir is None else str(workdir)})


def _accepted() -> Any:
    """The condition "the row is accepted" (reason code 0), as a Spark column."""
    return F.col(_P + "reason") == 0


def _staged(
    raw: DataFrame, mapping: dict[str, Any], time_unit: str
) -> tuple[DataFrame, str, str, dict[str, Any] | None, dict[str, Any]]:
    """The input with ``_pid``, ``_mid`` (scan partition, monotonically increasing id) and the mapped
    columns added under prefixed names; also the id type and the item type (``"string"`` or ``"long"``:
    a source and a target of different types are both read as text), the column-wide time decisions
    (None without a time column) and the report's time info."""
    s_expr, s_type = _id_column(raw, mapping["source"], "source")
    t_expr, t_type = _id_column(raw, mapping["target"], "target")
    id_type = s_type if s_type == t_type else "string"
    if s_type != t_type:
        s_expr, t_expr = s_expr.cast("string"), t_expr.cast("string")
    if mapping["item"] is not None:
        i_expr, item_type = _id_column(raw, mapping["item"], "item")
    else:
        i_expr, item_type = F.lit("*"), "string"
    dec: dict[str, Any] | None = None
    time_info: dict[str, Any] = {}
    if mapping["time"] is not None:
        t_col, dec, time_info = _decide_time(raw, mapping["time"], time_unit)
    keep = [F.col(f"`{c}`") for c in raw.columns]
    extra = [s_expr.alias(_P + "source"), t_expr.alias(_P + "target"), i_expr.alias(_P + "item")]
    if mapping["time"] is not None:
        extra.append(t_col.alias(_P + "time"))
    for opt in ("event_type", "channel", "value"):
        if mapping[opt] is not None:
            extra.append(F.col(f"`{mapping[opt]}`").alias(_P + opt))
    staged = raw.select(*keep, F.spark_partition_id().alias("_pid"), F.monotonically_increasing_id().alias("_mid"), *extra)
    return staged, id_type, item_type, dec, time_info


def _checked_schema(raw: DataFrame, mapping: dict[str, Any], id_type: str, item_type: str) -> T.StructType:
    """The schema of the rows :func:`_validator` yields: the input's columns, ``_pid``, ``_mid``, the
    prefixed ids, time, mapped optional columns and the reason code."""
    spark_id = T.LongType() if id_type == "long" else T.StringType()
    fields = list(raw.schema.fields) + [T.StructField("_pid", T.IntegerType()), T.StructField("_mid", T.LongType()),
                                        T.StructField(_P + "source", spark_id), T.StructField(_P + "target", spark_id),
                                        T.StructField(_P + "item", T.LongType() if item_type == "long" else T.StringType()),
                                        T.StructField(_P + "time", T.LongType())]
    for opt in ("event_type", "channel"):
        if mapping[opt] is not None:
            fields.append(T.StructField(_P + opt, T.StringType()))
    if mapping["value"] is not None:
        fields.append(T.StructField(_P + "value", T.DoubleType()))
    fields.append(T.StructField(_P + "reason", T.IntegerType()))
    return T.StructType(fields)


def _mark_duplicates(checked: DataFrame, mapping: dict[str, Any]) -> DataFrame:
    """Exact duplicates among the accepted rows get the reason ``duplicate``: the first (in row order) stays."""
    key = [_P + "source", _P + "target", _P + "item", _P + "time"] + \
        [_P + o for o in ("event_type", "channel", "value") if mapping[o] is not None]
    ok = _accepted()
    w = Window.partitionBy(ok.alias("_ok"), *[F.col(k) for k in key]).orderBy("_mid")
    return checked.withColumn(
        _P + "reason",
        F.when(ok & (F.row_number().over(w) > 1), F.lit(REASON_CODES["duplicate"])).otherwise(F.col(_P + "reason")))


def _count_reasons(checked: DataFrame) -> tuple[DataFrame, dict[int, int]]:
    """One pass: rows per (scan partition, reason) give the row numbers (``_row``, 0-based, in scan
    order) and the rows by reason code (0: accepted)."""
    pc = checked.groupBy("_pid", _P + "reason").count().collect()
    per_pid: dict[int, int] = {}
    by: dict[int, int] = {}
    for r in pc:
        per_pid[int(r[0])] = per_pid.get(int(r[0]), 0) + int(r[2])
        by[int(r[1])] = by.get(int(r[1]), 0) + int(r[2])
    checked = with_offsets(checked.withColumn("_mid2", F.col("_mid")), "_row", per_pid).withColumnRenamed("_mid2", "_mid")
    return checked, by


def _raise_first_invalid(checked: DataFrame, mapping: dict[str, Any]) -> NoReturn:
    """``on_invalid="raise"``: a LogSchemaError naming the first invalid row, its reason and its content."""
    first = checked.where(~_accepted()).orderBy("_mid").limit(1).collect()[0]
    name = _NAMES[int(first[_P + "reason"]) - 1]
    if name == "malformed_row":
        raise LogSchemaError(
            f"row {int(first['_row'])} is invalid: malformed_row: {REASONS['malformed_row']}; the line is "
            f"{first[_CORRUPT]!r}. Fix or remove the line, or pass on_invalid='quarantine' to set bad rows aside "
            "with their reasons.")
    shown = {k: first[v] for k, v in mapping.items() if v is not None}
    raise LogSchemaError(
        f"row {int(first['_row'])} is invalid: {name}: {REASONS[name]}; the row is {shown}. "
        "Fix the row, or pass on_invalid='quarantine' to set bad rows aside with their reasons.")


def _rejected_rows(spark: SparkSession, checked: DataFrame, info: dict[str, Any], user_cols: list[str],
                   rows_read: int, *, raw_text: bool) -> DataFrame:
    """The rejected rows as in memory: row, reason, the file line (a file input), the row as given
    (nothing of a line that could not be parsed), and the unparsed lines' text last (``raw_text``)."""
    names = F.array(*[F.lit(x) for x in _NAMES])
    rej_cols = [F.col("_row").alias("row"), F.element_at(names, F.col(_P + "reason")).alias("reason")]
    if "path" in info:
        offset = _line_offset(spark, info, rows_read)
        rej_cols.append((F.col("_row") + F.lit(offset) if offset is not None else F.lit(None)).cast("long").alias("line"))
    malformed = F.col(_P + "reason") == REASON_CODES["malformed_row"]
    rej_cols += [F.when(~malformed, F.col(f"`{c}`")).alias(c) for c in user_cols]
    if raw_text:
        rej_cols.append(F.col(_CORRUPT).alias("raw_text"))
    return checked.where(~_accepted()).select(*rej_cols)


def _user_and_item_codes(checked: DataFrame) -> tuple[DataFrame, DataFrame]:
    """User and item codes (``code``, ``user`` / ``code``, ``item``) in the in-memory reader's order
    (users: sources first-seen, then targets first-seen), keeping only those with an accepted event."""
    parsed = checked.where(F.col(_P + "reason") != REASON_CODES["malformed_row"])
    seen_u = (parsed.where(F.col(_P + "source").isNotNull()).select(F.col(_P + "source").alias("user"), F.lit(0).alias("role"), "_mid")
              .unionByName(parsed.where(F.col(_P + "target").isNotNull()).select(F.col(_P + "target").alias("user"), F.lit(1).alias("role"), "_mid"))
              .groupBy("user").agg(F.min(F.struct("role", "_mid")).alias("k")))
    acc = checked.where(_accepted())
    used_u = acc.select(F.col(_P + "source").alias("user")).unionByName(acc.select(F.col(_P + "target").alias("user"))).distinct()
    users = dense_index(seen_u.join(used_u, "user", "left_semi").select("user", F.col("k.role").alias("role"), F.col("k._mid").alias("m")),
                        [F.col("role"), F.col("m")], "code").select("code", "user")
    seen_i = parsed.where(F.col(_P + "item").isNotNull()).groupBy(F.col(_P + "item").alias("item")).agg(F.min("_mid").alias("m"))
    used_i = acc.select(F.col(_P + "item").alias("item")).distinct()
    items = dense_index(seen_i.join(used_i, "item", "left_semi"), [F.col("m")], "code").select("code", "item")
    return users, items


def _event_table(checked: DataFrame, users: DataFrame, items: DataFrame, mapping: dict[str, Any]) -> DataFrame:
    """The accepted events with dense codes: ``row``, ``src``, ``tgt``, ``itm``, ``time`` and the mapped
    optional columns."""
    extras = [o for o in ("event_type", "channel", "value") if mapping[o] is not None]
    ev_cols = [F.col("_row").alias("row"), F.col(_P + "source").alias("_s"), F.col(_P + "target").alias("_t"),
               F.col(_P + "item").alias("_i"), F.col(_P + "time").alias("time")]
    ev_cols += [F.col(_P + o).alias(o) for o in extras]
    ev = checked.where(_accepted()).select(*ev_cols)
    ucode = users.select(F.col("user").alias("_s"), F.col("code").alias("src"))
    ev = ev.join(ucode, "_s").join(ucode.select(F.col("_s").alias("_t"), F.col("src").alias("tgt")), "_t")
    ev = ev.join(items.select(F.col("item").alias("_i"), F.col("code").alias("itm")), "_i")
    return ev.select("row", "src", "tgt", "itm", "time", *extras)


def _write_workdir(spark: SparkSession, workdir: str | os.PathLike[str], *frames: DataFrame) -> tuple[DataFrame, ...]:
    """Write the events, users, items and rejected rows as Parquet under ``workdir`` and read them back."""
    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    out = []
    for nm, d in zip(("events", "users", "items", "rejected"), frames, strict=True):
        d.write.mode("overwrite").parquet(str(wd / f"{nm}.parquet"))
        out.append(spark.read.parquet(str(wd / f"{nm}.parquet")))
    return tuple(out)
