"""The distributed graph stages: edges, cascades, PageRank, components, coreness (the KOC score is in
:mod:`kocgraph.spark._kocs`).

Each function takes a :class:`~kocgraph.spark.SparkLog`, stores its result DataFrame(s) in
``log.results`` and returns them. Iterative stages (PageRank, components, coreness) cut their
lineage with a local checkpoint every iteration, so the plan never grows with the iteration count.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..algorithms.cascades import build_forest, item_metrics
from ..exceptions import InvalidParameterError
from ._read import SparkLog, dense_index, local_checkpoint

__all__ = ["edges", "cascades", "pagerank", "components", "coreness", "BUCKET_EVENTS"]


def _ckpt(df: DataFrame) -> DataFrame:
    return local_checkpoint(df, eager=True)


# ------------------------------------------------------------------------------------------------ edges
def edges(log: SparkLog) -> DataFrame:
    """Aggregate the events into directed edges, as ``g.edges`` of the in-memory graph.

    Returns
    -------
    DataFrame
        ``src``, ``tgt`` (user codes), ``n_forwards`` (events), ``n_items`` (distinct items),
        ``first_time``, ``last_time`` (int64 ns). Also stored in ``log.results["edges"]``.

    Examples
    --------
    >>> e = ks.edges(log)  # doctest: +SKIP
    """
    if "edges" in log.results:
        return log.results["edges"]
    e = (log.events.groupBy("src", "tgt")
         .agg(F.count(F.lit(1)).alias("n_forwards"), F.countDistinct("itm").alias("n_items"),
              F.min("time").alias("first_time"), F.max("time").alias("last_time")))
    log.results["edges"] = e = _ckpt(e)
    return e


# ------------------------------------------------------------------------------------------------ cascades
_FOREST_SCHEMA = T.StructType([
    T.StructField("kind", T.IntegerType()),  # 0 holder, 1 item summary
    T.StructField("itm", T.LongType()),
    T.StructField("user", T.LongType()),
    T.StructField("parent", T.LongType()),
    T.StructField("depth", T.IntegerType()),
    T.StructField("subtree_size", T.LongType()),
    T.StructField("hold_time", T.LongType()),
    T.StructField("size", T.LongType()),
    T.StructField("max_depth", T.LongType()),
    T.StructField("max_breadth", T.LongType()),
    T.StructField("virality", T.DoubleType()),
    T.StructField("n_roots", T.LongType()),
    T.StructField("start", T.LongType()),
    T.StructField("end", T.LongType()),
    T.StructField("root", T.LongType()),
    T.StructField("n_forwarded_before_receipt", T.LongType()),
])


def _forest_of_bucket(pdf: pd.DataFrame) -> pd.DataFrame:
    """The forests of every item in one bucket, with the in-memory kernels in one vectorized call
    (``build_forest`` handles many items at once; events ordered by time, ties by row)."""
    pdf = pdf.sort_values(["time", "row"], kind="stable")
    src = pdf["src"].to_numpy(np.int64)
    tgt = pdf["tgt"].to_numpy(np.int64)
    tm = pdf["time"].to_numpy(np.int64)
    icode, items = pd.factorize(pdf["itm"].to_numpy(np.int64), sort=True)
    m = int(items.shape[0])
    n_codes = int(max(src.max(initial=0), tgt.max(initial=0))) + 1
    f = build_forest(src, tgt, icode.astype(np.int64), tm, n_codes)
    im = item_metrics(f, tm, m)
    user = f.user.astype(np.int64)
    par = np.where(f.parent >= 0, user[np.maximum(f.parent, 0)], -1)
    is_root = f.parent < 0
    # root of the largest tree per item (ties: smallest user code), as kg.tl.cascades
    ridx = np.flatnonzero(is_root)
    big = np.full(m, -1, dtype=np.int64)
    if ridx.size:
        order = np.lexsort((-f.size[ridx], f.item[ridx]))
        r_sorted = ridx[order]
        first = np.r_[True, f.item[r_sorted][1:] != f.item[r_sorted][:-1]]
        big[f.item[r_sorted[first]]] = user[r_sorted[first]]
    fbr_items = np.zeros(m, dtype=np.int64)  # forwarded-before-receipt is a bucket total: put it on item 0
    if m:
        fbr_items[0] = int(f.n_forwarded_before_receipt)
    H = f.n
    parent = pd.array(np.where(par >= 0, par, 0), dtype="Int64")
    parent[par < 0] = pd.NA
    na = pd.array(np.zeros(H, dtype=np.int64), dtype="Int64")
    na[:] = pd.NA
    hold = pd.DataFrame({
        "kind": np.zeros(H, dtype=np.int32), "itm": items[f.item.astype(np.int64)], "user": pd.array(user, dtype="Int64"),
        "parent": parent, "depth": pd.array(f.depth.astype(np.int32), dtype="Int32"),
        "subtree_size": pd.array(f.size.astype(np.int64), dtype="Int64"), "hold_time": pd.array(tm[f.hold_event], dtype="Int64"),
    })
    summ = pd.DataFrame({
        "kind": np.ones(m, dtype=np.int32), "itm": items.astype(np.int64),
        "size": pd.array(im["size"], dtype="Int64"), "max_depth": pd.array(im["depth"], dtype="Int64"),
        "max_breadth": pd.array(im["max_breadth"], dtype="Int64"), "virality": im["virality"],
        "n_roots": pd.array(im["n_roots"], dtype="Int64"), "start": pd.array(im["start"], dtype="Int64"),
        "end": pd.array(im["end"], dtype="Int64"), "root": pd.array(big, dtype="Int64"),
        "n_forwarded_before_receipt": pd.array(fbr_items, dtype="Int64"),
    })
    out = pd.concat([hold, summ], ignore_index=True)
    for c in _FOREST_SCHEMA.fieldNames():
        if c not in out.columns:
            out[c] = pd.array([pd.NA] * len(out), dtype="Int32" if c == "depth" else "Int64") if c != "virality" \
                else np.full(len(out), np.nan)
    return out[_FOREST_SCHEMA.fieldNames()]


#: events per cascade bucket: one applyInPandas call builds the forests of all of a bucket's items
BUCKET_EVENTS = 250_000
#: the per-user figures of kg.tl.cascades (plus items_spread, which kg.tl.kocs adds)
_USER_FIGURES = ("reach", "direct_reach", "resharers", "items_started", "items_received", "items_spread")


def cascades(log: SparkLog) -> dict[str, DataFrame]:
    """Cascade forests of every item (``applyInPandas`` per item, the in-memory numpy kernel).

    Writes (into ``log.results``, and returns)
    ------------------------------------------
    ``trees``: one row per (item, holder): ``itm``, ``user``, ``parent`` (null for roots), ``depth``,
    ``subtree_size``, ``hold_time``. ``items``: ``itm``, ``size``, ``depth``, ``max_breadth``,
    ``virality``, ``n_roots``, ``root``, ``start``, ``duration`` (ns) -- the figures of
    :func:`kocgraph.tl.cascades`. ``reach``: per user code ``reach``, ``direct_reach``,
    ``resharers`` (direct receivers who passed the item on), ``items_started``, ``items_received``,
    ``items_spread``.

    Notes
    -----
    Items are hashed into buckets of about :data:`BUCKET_EVENTS` events; each bucket's forests are
    built in one call of the vectorized kernel. One item's events always go to one executor: an item
    with more events than an executor's memory holds (hundreds of millions) is the limit.

    Examples
    --------
    >>> res = ks.cascades(log)  # doctest: +SKIP
    """
    if "trees" in log.results:
        return {k: log.results[k] for k in ("trees", "items", "reach")}
    # items go to buckets of about BUCKET_EVENTS events; one kernel call per bucket (per-item calls
    # would pay pandas' per-call overhead once per item)
    n_buckets = max(1, int(math.ceil(log.n_events / BUCKET_EVENTS)))
    forest = _ckpt(log.events.select("row", "src", "tgt", "itm", "time")
                   .withColumn("_b", F.pmod(F.xxhash64("itm"), F.lit(n_buckets)))
                   .groupBy("_b").applyInPandas(_forest_of_bucket, _FOREST_SCHEMA))
    trees = forest.where(F.col("kind") == 0).select("itm", "user", "parent", "depth", "subtree_size", "hold_time")
    items = forest.where(F.col("kind") == 1).select(
        "itm", "size", F.col("max_depth").alias("depth"), "max_breadth", "virality", "n_roots", "root", "start",
        (F.col("end") - F.col("start")).alias("duration"))
    per_user = trees.groupBy(F.col("user").alias("code")).agg(
        F.sum(F.col("subtree_size") - 1).alias("reach"),
        F.sum(F.when(F.col("parent").isNull(), 1).otherwise(0)).cast("long").alias("items_started"),
        F.sum(F.when(F.col("parent").isNotNull(), 1).otherwise(0)).cast("long").alias("items_received"),
        F.sum(F.when(F.col("subtree_size") > 1, 1).otherwise(0)).cast("long").alias("items_spread"))
    direct = trees.where(F.col("parent").isNotNull()).groupBy(F.col("parent").alias("code")).agg(
        F.count(F.lit(1)).alias("direct_reach"),
        F.sum(F.when(F.col("subtree_size") > 1, 1).otherwise(0)).cast("long").alias("resharers"))
    reach = (log.users.select("code").join(per_user, "code", "left").join(direct, "code", "left")
             .select("code", *[F.coalesce(F.col(c), F.lit(0)).cast("long").alias(c)
                               for c in _USER_FIGURES]))
    log.results.update(trees=trees, items=items, reach=_ckpt(reach))
    fbr = forest.where(F.col("kind") == 1).agg(F.sum("n_forwarded_before_receipt")).collect()[0][0]
    log.meta["cascades"] = {"n_forwarded_before_receipt": int(fbr or 0), "n_buckets": n_buckets}
    return {k: log.results[k] for k in ("trees", "items", "reach")}


# ------------------------------------------------------------------------------------------------ pagerank
#: most bytes of a per-user vector (code + value, 16 bytes a user) that an iterative stage broadcasts
#: to every task instead of shuffling the links; the Spark setting ``kocgraph.broadcastVectorBytes``
#: overrides it (0 turns broadcasting off)
BROADCAST_VECTOR_BYTES = 64 << 20


def _broadcastable(spark: Any, n_users: int) -> bool:
    limit = int(spark.conf.get("kocgraph.broadcastVectorBytes", str(BROADCAST_VECTOR_BYTES)))
    return 16 * int(n_users) <= limit


def pagerank(log: SparkLog, *, damping: float = 0.85, tol: float = 1e-10, max_iter: int = 1000) -> DataFrame:
    """Influence PageRank by iterative joins: the definition of :func:`kocgraph.tl.pagerank`.

    PageRank on the reversed share graph (target -> source) weighted by ``n_forwards``; a user who
    never received anything is dangling and its mass is spread uniformly, as is the teleport; the
    iteration starts uniform, renormalizes each step and stops when the L1 change is below ``tol``.

    Returns
    -------
    DataFrame
        ``code``, ``pagerank`` (sums to 1); ``log.results["pagerank"]``, with ``n_iter`` and
        ``converged`` in ``log.meta["pagerank"]``.

    Examples
    --------
    >>> pr = ks.pagerank(log)  # doctest: +SKIP
    """
    if not (0.0 < float(damping) < 1.0):
        raise InvalidParameterError(f"damping={damping!r} must be strictly between 0 and 1; 0.85 is usual.")
    if "pagerank" in log.results:
        return log.results["pagerank"]
    n = log.n_users
    d = float(damping)
    e = edges(log)
    inw = e.groupBy("tgt").agg(F.sum("n_forwards").alias("inw"))
    # the walker at v (a receiver) moves to u (who forwarded to v) with probability w(u->v) / in-weight(v)
    P = _ckpt(e.join(inw, "tgt").select(F.col("tgt").alias("v"), F.col("src").alias("u"),
                                        (F.col("n_forwards") / F.col("inw")).alias("p")))
    x = _ckpt(log.users.select("code").join(inw.select(F.col("tgt").alias("code"), F.lit(False).alias("nd")), "code", "left")
              .select("code", F.col("nd").isNull().alias("dangling"), F.lit(1.0 / max(n, 1)).alias("x")))
    dmass = x.where("dangling").count() / max(n, 1)
    n_iter, converged = 0, False
    # a vector small enough to ship whole is broadcast: the links then never move (no shuffle of P)
    small = _broadcastable(log.spark, n)
    for n_iter in range(1, int(max_iter) + 1):  # noqa: B007 - the count is read after the loop
        xv = x.select(F.col("code").alias("v"), "x")
        c = P.join(F.broadcast(xv) if small else xv, "v").groupBy(F.col("u").alias("code")).agg(
            F.sum(F.col("p") * F.col("x")).alias("c"))
        base = (d * dmass + (1.0 - d)) / n
        # one job per iteration: the new vector is stored (lineage cut) while its sums are taken
        y = x.join(c, "code", "left").select(
            "code", "dangling", (F.lit(d) * F.coalesce(F.col("c"), F.lit(0.0)) + F.lit(base)).alias("y"), "x"
        ).transform(local_checkpoint)
        r = y.agg(F.sum("y").alias("s"), F.sum(F.when(F.col("dangling"), F.col("y")).otherwise(0.0)).alias("dm"),
                  F.sum(F.abs(F.col("y") - F.col("x"))).alias("err")).collect()[0]
        s = float(r["s"])
        # L1 change of the renormalized vector; s = 1 up to rounding, so |y/s - x| = |y - x| to ~1e-16
        err = float(r["err"])
        x = y.select("code", "dangling", (F.col("y") / F.lit(s)).alias("x"))
        dmass = float(r["dm"]) / s
        if err < tol:
            converged = True
            break
    out = x.select("code", F.col("x").alias("pagerank"))
    log.results["pagerank"] = out
    log.meta["pagerank"] = {"n_iter": int(n_iter), "converged": bool(converged), "damping": d, "tol": tol,
                            "weight": "n_forwards", "direction": "influence"}
    return out


# ------------------------------------------------------------------------------------------------ components
def _undirected(log: SparkLog) -> DataFrame:
    if "_undirected" not in log.results:
        e = edges(log).select("src", "tgt").where(F.col("src") != F.col("tgt"))
        u = e.select(F.col("src").alias("a"), F.col("tgt").alias("b")).unionByName(
            e.select(F.col("tgt").alias("a"), F.col("src").alias("b"))).distinct()
        log.results["_undirected"] = _ckpt(u)
    return log.results["_undirected"]


def components(log: SparkLog, *, max_iter: int = 10_000) -> DataFrame:
    """Weakly connected components by min-label propagation (one join per iteration).

    Returns
    -------
    DataFrame
        ``code``, ``component``: components numbered 0, 1, ... in the order of their smallest user
        code (the numbering of ``scipy.sparse.csgraph.connected_components``).

    Examples
    --------
    >>> cc = ks.components(log)  # doctest: +SKIP
    """
    if "components" in log.results:
        return log.results["components"]
    U = _undirected(log)
    lab = _ckpt(log.users.select("code", F.col("code").alias("c")))
    it = 0
    small = _broadcastable(log.spark, log.n_users)
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is read after the loop
        lb = lab.select(F.col("code").alias("b"), "c")
        m = U.join(F.broadcast(lb) if small else lb, "b").groupBy(F.col("a").alias("code")).agg(F.min("c").alias("m"))
        new = lab.join(m, "code", "left").select(
            "code", F.least(F.col("c"), F.coalesce(F.col("m"), F.col("c"))).alias("c"),
            F.coalesce(F.col("m") < F.col("c"), F.lit(False)).alias("chg")).transform(local_checkpoint)
        changed = new.agg(F.max(F.col("chg").cast("int"))).collect()[0][0]
        lab = new.select("code", "c")
        if not changed:
            break
    roots = dense_index(lab.select("c").distinct(), [F.col("c")], "component")
    out = _ckpt(lab.join(roots, "c").select("code", "component"))
    log.results["components"] = out
    log.meta["components"] = {"n_iter": it, "n_components": roots.count()}
    return out


# ------------------------------------------------------------------------------------------------ coreness
def coreness(log: SparkLog, *, max_iter: int = 10_000) -> DataFrame:
    """k-core number of every user on the undirected simple share graph.

    Distributed h-index iteration (Lü et al. 2016; Montresor et al. 2013): every user starts at its
    degree and repeatedly takes the h-index of its neighbours' values, which converges to the
    coreness; each iteration is one join (the values broadcast when they are small) and one
    aggregate that sorts each user's neighbour values.

    Returns
    -------
    DataFrame
        ``code``, ``coreness``.

    Examples
    --------
    >>> core = ks.coreness(log)  # doctest: +SKIP
    """
    if "coreness" in log.results:
        return log.results["coreness"]
    U = _undirected(log)
    deg = U.groupBy(F.col("a").alias("code")).agg(F.count(F.lit(1)).alias("k"))
    est = _ckpt(log.users.select("code").join(deg, "code", "left").select("code", F.coalesce("k", F.lit(0)).cast("long").alias("k")))
    it = 0
    small = _broadcastable(log.spark, log.n_users)
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is read after the loop
        kb = est.select(F.col("code").alias("b"), F.col("k").alias("kb"))
        nb = U.join(F.broadcast(kb) if small else kb, "b")
        # h-index of the neighbours' values: with them sorted high to low, the number of positions i
        # (from 1) whose value is at least i; one hash aggregate, no sort of the whole edge list
        h = nb.groupBy(F.col("a").alias("code")).agg(F.sort_array(F.collect_list("kb"), asc=False).alias("v")).select(
            "code", F.size(F.filter("v", lambda x, i: x >= i + 1)).alias("h"))
        new = est.join(h, "code", "left").select(
            "code", F.least(F.col("k"), F.coalesce(F.col("h"), F.lit(0)).cast("long")).alias("k"),
            F.col("k").alias("old")).transform(local_checkpoint)
        changed = new.agg(F.max((F.col("k") != F.col("old")).cast("int"))).collect()[0][0]
        est = new.select("code", "k")
        if not changed:
            break
    out = est.select("code", F.col("k").alias("coreness"))
    log.results["coreness"] = out
    log.meta["coreness"] = {"n_iter": it}
    return out
