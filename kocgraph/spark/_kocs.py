"""``kocgraph.spark.kocs``: the KOC ranking of :func:`kocgraph.tl.kocs` on Spark.

The same features, eligibility rules and models as in memory, computed per user on Spark and scored
by the very kernels the in-memory tool uses (:func:`kocgraph.algorithms.koc_model.log_features`,
:func:`kocgraph.algorithms.scoring.additive_scores`) in pandas batches, so a user's score is the same
number on both engines. What Spark does not do is the fit on the log's own history (it needs the
inner backtests' cascades in memory): ``weights="fit"`` uses the prior weights there and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from .._core.validation import check_int
from ..algorithms import koc_model as M
from ..algorithms.scoring import additive_scores
from ..tl import CONVERSION_TYPES, DEFAULT_WEIGHTS, PRIOR_WEIGHTS, check_weights
from ._read import SparkLog, dense_index, local_checkpoint, value_counts
from ._stages import BUCKET_EVENTS, cascades, components, coreness, edges, pagerank

__all__ = ["kocs", "SPARK_FIT_REASON"]

#: why ``weights="fit"`` gives the prior weights on Spark (``log.meta["koc"]["fit"]["reason"]``)
SPARK_FIT_REASON = ("weights='fit' is not available on Spark (the fit backtests the log's own history in memory), "
                    "so the prior weights were used; for weights fitted on this log run with --engine memory "
                    "(kg.tl.kocs in Python)")


def _ckpt(df: DataFrame) -> DataFrame:
    return local_checkpoint(df, eager=True)


def _nan_null(name: str) -> Any:
    """A double column with NaN as null (the ineligible users' scores and terms)."""
    return F.nanvl(F.col(name), F.lit(None).cast("double"))


def _col(name: str) -> Any:
    return F.col(f"`{name}`")  # feature names such as reach_recent_event@0.1 hold a dot


# ------------------------------------------------------------------------------------------------ weights
def _split(name: str) -> tuple[str, float | None]:
    base, _, h = name.partition("@")
    try:
        return base, (float(h) if h else None)
    except ValueError:
        return base, -1.0  # not a half-life: an unknown feature


def _choose_weights(weights: Any, present: list[str]) -> tuple[str, dict[str, float], dict[str, Any]]:
    """``(mode, weights to use, the fit record)``: ``"fit"`` and ``"prior"`` use
    :data:`kocgraph.tl.PRIOR_WEIGHTS` (``"fit"`` recorded as a fallback with
    :data:`SPARK_FIT_REASON`), ``"percentile"`` the first version's weights, a mapping itself."""
    mode, explicit = check_weights(weights, present, where="kocgraph.spark.kocs")  # the rules of kg.tl.kocs
    if mode == "explicit":
        return mode, {k: float(v) for k, v in explicit.items()}, {"kind": "explicit"}
    if mode == "percentile":
        return mode, {k: v for k, v in DEFAULT_WEIGHTS.items() if k in present}, {"kind": "percentile"}
    info: dict[str, Any] = {"kind": mode}
    if mode == "fit":
        info.update(fell_back=True, fallback="prior", reason=SPARK_FIT_REASON)
    return mode, dict(PRIOR_WEIGHTS), info


def _recency_names(w_use: Mapping[str, float], has_wall: bool) -> list[str]:
    """The recency features the in-memory tool computes for these weights, in its order: each clock
    (the wall clock only when the log's times have a span), each half-life named with a positive
    weight, forwards then reach."""
    hls = sorted({h for k, v in w_use.items() if "@" in k and v > 0 and (h := _split(k)[1]) is not None and h > 0})
    clocks = ["event"] + (["wall"] if has_wall else [])
    return [f"{what}_recent_{clock}@{h:g}" for clock in clocks for h in hls for what in ("forwards", "reach")]


# ------------------------------------------------------------------------------------------------ features
def _count_features(log: SparkLog) -> tuple[DataFrame, bool]:
    """Every user's count features, PageRank, coreness and component (running the stages missing)."""
    casc = cascades(log)
    e = edges(log)
    fwd = log.events.groupBy(F.col("src").alias("code")).agg(F.count(F.lit(1)).alias("forwards"))
    rcv = e.groupBy(F.col("src").alias("code")).agg(F.count(F.lit(1)).alias("receivers"))
    snd = e.groupBy(F.col("tgt").alias("code")).agg(F.count(F.lit(1)).alias("senders"))
    nodes = (log.users.join(casc["reach"], "code").join(pagerank(log), "code").join(coreness(log), "code")
             .join(components(log), "code").join(fwd, "code", "left").join(rcv, "code", "left").join(snd, "code", "left"))
    for c in ("forwards", "receivers", "senders"):
        nodes = nodes.withColumn(c, F.coalesce(c, F.lit(0)).cast("long"))
    has_conv = False
    if "event_type" in log.events.columns:
        conv_ev = log.events.where(F.col("event_type").isin(list(CONVERSION_TYPES)))
        has_conv = conv_ev.limit(1).count() > 0
        if has_conv:
            val = F.coalesce(F.col("value"), F.lit(0.0)) if "value" in log.events.columns else F.lit(0.0)
            val = F.when(F.isnan(val), F.lit(0.0)).otherwise(val)
            cv = conv_ev.groupBy(F.col("src").alias("code")).agg(F.count(F.lit(1)).alias("conversions"),
                                                                 F.sum(val).alias("conversion_value"))
            nodes = nodes.join(cv, "code", "left").withColumn(
                "conversions", F.coalesce("conversions", F.lit(0)).cast("long")).withColumn(
                "conversion_value", F.coalesce("conversion_value", F.lit(0.0)))
    return nodes, has_conv


def _weights_of(spec: list[tuple[str, str, float]], ages: dict[str, np.ndarray]) -> np.ndarray:
    """``2 ** (-age / h)`` per row and recency feature (the weights of ``koc_model.recency_parts``)."""
    out = np.empty((next(iter(ages.values())).shape[0], len(spec)))
    for j, (_name, clock, h) in enumerate(spec):
        out[:, j] = np.exp2(-ages[clock] / h)
    return out


def _ages(pdf: pd.DataFrame, n: int, span: tuple[int, int] | None) -> dict[str, np.ndarray]:
    """Each row's age on the event clock (``n_after / n``, as ``koc_model.event_ages``) and on the
    wall clock (as ``koc_model.wall_ages``), from its time and its count of later events."""
    out = {"event": pdf["n_after"].to_numpy(np.int64) / n}
    if span is not None:
        lo, hi = span
        out["wall"] = (hi - pdf["time"].to_numpy(np.int64)).astype(np.float64) / float(hi - lo)
    return out


def _reach_recent_bucket(spec: list[tuple[str, str, float]], n: int, span: tuple[int, int] | None) -> Any:
    """Per holder of a bucket's forests: the summed weights of its descendants' joins. The holders
    are taken in the in-memory forest's order (item, then user code) and summed by the same kernel,
    so every value is the in-memory one to the last bit."""

    def run(pdf: pd.DataFrame) -> pd.DataFrame:
        pdf = pdf.sort_values(["itm", "user"], kind="stable")
        icode = pd.factorize(pdf["itm"].to_numpy(np.int64), sort=True)[0].astype(np.int64)
        user = pdf["user"].to_numpy(np.int64)
        N = int(user.max(initial=0)) + 1
        key = icode * N + user  # sorted: the rows' own order
        par = pdf["parent"].to_numpy(dtype=np.float64, na_value=np.nan)
        is_child = ~np.isnan(par)
        parent = np.full(key.shape[0], -1, dtype=np.int64)
        parent[is_child] = np.searchsorted(key, icode[is_child] * N + par[is_child].astype(np.int64))
        w = _weights_of(spec, _ages(pdf, n, span))
        below = M.subtree_sums(parent, pdf["depth"].to_numpy(np.int64), w) - w
        keep = (below > 0).any(axis=1)
        out = pd.DataFrame({"itm": pdf["itm"].to_numpy(np.int64)[keep], "user": user[keep]})
        for j in range(len(spec)):
            out[f"_r{j}"] = below[keep, j]
        return out

    return run


def _forwards_recent_bucket(spec: list[tuple[str, str, float]], n: int, span: tuple[int, int] | None) -> Any:
    """Per sender of a bucket: the summed weights of its forwards, added in row order (the order of
    the in-memory ``bincount``), so every value is the in-memory one to the last bit."""

    def run(pdf: pd.DataFrame) -> pd.DataFrame:
        pdf = pdf.sort_values("row", kind="stable")
        codes, users = pd.factorize(pdf["src"].to_numpy(np.int64))
        w = _weights_of(spec, _ages(pdf, n, span))
        out = pd.DataFrame({"code": np.asarray(users, dtype=np.int64)})
        for j in range(len(spec)):
            out[f"_f{j}"] = np.bincount(codes, weights=w[:, j], minlength=len(users))
        return out

    return run


def _adder(field: str) -> Any:
    """``(acc, x) -> acc + x[field]`` for ``F.aggregate`` (which reads the lambda's parameters)."""
    return lambda acc, x: acc + x[field]


def _recency_features(log: SparkLog, names: list[str]) -> DataFrame | None:
    """``code`` and every recency feature in ``names`` (``<reach|forwards>_recent_<clock>@<h>``)."""
    if not names:
        return None
    n = log.n_events
    span = None
    if any("_wall@" in k for k in names):
        r = log.events.agg(F.min("time").alias("lo"), F.max("time").alias("hi")).collect()[0]
        span = (int(r["lo"]), int(r["hi"]))
    vc, _ = value_counts(log.events, "time")
    after = vc.select(F.col("v").alias("time"), (F.lit(n) - F.col("le")).alias("n_after"))
    spec = {what: [(k, k.split("_recent_")[1].split("@")[0], float(k.split("@")[1]))
                   for k in names if k.startswith(what + "_")] for what in ("reach", "forwards")}
    n_buckets = max(1, int(np.ceil(n / BUCKET_EVENTS)))
    out = log.users.select("code")
    if spec["reach"]:
        sp = spec["reach"]
        holders = cascades(log)["trees"].join(after.withColumnRenamed("time", "hold_time"), "hold_time").select(
            "itm", "user", "parent", "depth", F.col("hold_time").alias("time"), "n_after")
        schema = T.StructType([T.StructField("itm", T.LongType()), T.StructField("user", T.LongType())]
                              + [T.StructField(f"_r{j}", T.DoubleType()) for j in range(len(sp))])
        below = (holders.withColumn("_b", F.pmod(F.xxhash64("itm"), F.lit(n_buckets))).groupBy("_b")
                 .applyInPandas(_reach_recent_bucket(sp, n, span), schema))
        # per user: the holders' sums added in item order, as the in-memory bincount adds them
        lst = below.groupBy(F.col("user").alias("code")).agg(
            F.array_sort(F.collect_list(F.struct("itm", *[f"_r{j}" for j in range(len(sp))]))).alias("_l"))
        per_user = lst.select("code", *[F.aggregate("_l", F.lit(0.0), _adder(f"_r{j}")).alias(name)
                                        for j, (name, _c, _h) in enumerate(sp)])
        out = out.join(per_user, "code", "left")
    if spec["forwards"]:
        sp = spec["forwards"]
        ev = log.events.select("row", "src", "time").join(after, "time")
        schema = T.StructType([T.StructField("code", T.LongType())]
                              + [T.StructField(f"_f{j}", T.DoubleType()) for j in range(len(sp))])
        per_src = (ev.withColumn("_b", F.pmod(F.xxhash64("src"), F.lit(n_buckets))).groupBy("_b")
                   .applyInPandas(_forwards_recent_bucket(sp, n, span), schema))
        out = out.join(per_src.select("code", *[F.col(f"_f{j}").alias(name) for j, (name, _c, _h) in enumerate(sp)]),
                       "code", "left")
    return _ckpt(out.select("code", *[F.coalesce(_col(k), F.lit(0.0)).alias(k) for k in names]))


# ------------------------------------------------------------------------------------------------ scoring
def _score_batches(feats: list[str], wvec: np.ndarray, mode: str, pr_floor: float) -> Any:
    """The score, expected reach and terms of each user, by the in-memory kernels."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for pdf in batches:
            m = len(pdf)
            elig = pdf["_elig"].to_numpy(dtype=bool)
            if mode == "percentile":  # kg.tl.kocs normalizes, then koc_scores normalizes again
                wt = wvec / wvec.sum()
                P = np.column_stack([pdf[f"_p{j}"].to_numpy(np.float64) for j in range(len(feats))]) if feats \
                    else np.zeros((m, 0))
                contrib = np.full(P.shape, np.nan)
                contrib[elig] = P[elig] * wt
                score = np.full(m, np.nan)
                score[elig] = contrib[elig].sum(axis=1)
                expected = np.full(m, np.nan)
            else:
                cols = {k: pdf[f"_v{j}"].to_numpy(np.float64) for j, k in enumerate(feats)}
                if "pagerank" in cols:  # the floor is the whole log's smallest PageRank, not this batch's
                    cols = {k: np.append(v, pr_floor if k == "pagerank" else 0.0) for k, v in cols.items()}
                X = M.log_features(cols, feats)[:m] if feats else np.zeros((m, 0))
                score, contrib = additive_scores(X, wvec, elig)
                expected = np.expm1(score)
            out = pd.DataFrame({"code": pdf["code"].to_numpy(np.int64), "koc_score": score,
                                "koc_expected_reach": expected})
            for j in range(len(feats)):
                out[f"_t{j}"] = contrib[:, j]
            yield out

    return run


def _eligibility(nodes: DataFrame, staff_ids: list[Any], kol_cut: int | None) -> DataFrame:
    """``koc_excluded``: staff, then KOL-size (more distinct receivers than the cut), then no forwards."""
    staff_col = F.col("user").isin(staff_ids) if staff_ids else F.lit(False)
    excl = F.when(staff_col, F.lit("staff"))
    if kol_cut is not None:
        excl = excl.when(F.col("receivers") > kol_cut, F.lit("kol"))
    excl = excl.when(F.col("receivers") == 0, F.lit("no_forwards"))
    return nodes.withColumn("koc_excluded", excl)


def _percentiles(nodes: DataFrame, feats: list[str], n_elig: int) -> DataFrame:
    """``_p<j>``: each eligible user's share of eligible users at or below its value of feature j."""
    elig = nodes.where(F.col("koc_excluded").isNull())
    for j, k in enumerate(feats):
        vc, _ = value_counts(elig.select(_col(f"koc_value_{k}").alias("x")), "x")
        nodes = nodes.join(vc.select(F.col("v").alias(f"_x{j}"), (F.col("le") / F.lit(float(max(n_elig, 1)))).alias(f"_p{j}")),
                           _col(f"koc_value_{k}") == F.col(f"_x{j}"), "left").drop(f"_x{j}")
    return nodes


def _slate(nodes: DataFrame, per_community: int) -> DataFrame:
    """``koc_slate``: at most ``per_community`` users per connected component, best first."""
    wc = Window.partitionBy("component").orderBy(F.col("koc_score").desc(), F.col("code"))
    keep = nodes.where(F.col("koc_excluded").isNull()).withColumn("_k", F.row_number().over(wc)).where(
        F.col("_k") <= int(per_community)).select("code", "koc_score")
    slate = dense_index(keep, [F.col("koc_score").desc(), F.col("code")], "_s").select(
        "code", (F.col("_s") + 1).alias("koc_slate"))
    return nodes.join(slate, "code", "left")


def kocs(
    log: SparkLog,
    *,
    staff: Iterable[Any] | None = None,
    kol_threshold: int | str | None = "auto",
    weights: str | Mapping[str, float] = "fit",
    per_community: int | None = None,
) -> DataFrame:
    """The KOC ranking of :func:`kocgraph.tl.kocs`, on Spark.

    Features (as in memory): ``reach``, ``resharers``, ``direct_reach``, ``forwards``, ``receivers``,
    ``senders``, ``items_started``, influence ``pagerank``, ``coreness``, ``conversions`` /
    ``conversion_value`` when the log has purchase or signup events, and the recency-decayed
    ``reach_recent_<clock>@h`` / ``forwards_recent_<clock>@h`` that the weights name (each join or
    forward weighing ``2 ** (-age / h)``, its age on the event clock: the share of the log's events
    after it; or on the wall clock). The score is the additive model of the in-memory tool,
    ``Σ_j w_j · log1p(feature_j)`` (PageRank as the log of its ratio to the floor), computed by the
    same kernels in pandas batches: the same number for every user, ranks 1 = best with ties broken
    by user code, and the same eligibility rules (staff, the KOL threshold on distinct receivers, no
    forwards). Missing stages are run first.

    Parameters
    ----------
    staff
        Staff / brand account ids, as the log spells them.
    kol_threshold
        ``"auto"`` (max(1,000, 1% of users)), ``None`` (no limit) or an integer >= 1.
    weights
        ``"prior"``: :data:`kocgraph.tl.PRIOR_WEIGHTS`. ``"fit"`` (the default, as in memory): the fit on
        the log's own history runs in memory only, so Spark uses the prior weights and records it in
        ``log.meta["koc"]["fit"]`` (``fell_back``, ``fallback="prior"``, ``reason``). A mapping
        ``{feature: weight}`` as in memory; ``"percentile"``: the first version's weighted sum of
        percentiles.
    per_community
        At most this many users per *connected component* (communities are not computed on Spark).

    Returns
    -------
    DataFrame
        One row per user: ``code``, ``user``, the count features, ``component``, ``items_spread``,
        ``koc_value_<feature>`` (each model feature's raw value), ``koc_term_<feature>`` (its
        contribution), ``koc_score``, ``koc_expected_reach``, ``koc_percentile``, ``koc_rank``,
        ``koc_excluded`` (and ``koc_slate``); also ``log.results["nodes"]``. Parameters, features,
        weights, the fit record and counts in ``log.meta["koc"]``.

    Examples
    --------
    >>> nodes = ks.kocs(log, staff=["brand", "staff_li"])  # doctest: +SKIP
    >>> log.meta["koc"]["fit"]["fallback"]  # doctest: +SKIP
    'prior'
    """
    if per_community is not None:
        per_community = check_int("per_community", per_community, minimum=1, where="kocgraph.spark.kocs")
    if kol_threshold not in ("auto", None):
        check_int("kol_threshold", kol_threshold, minimum=1, where="kocgraph.spark.kocs")
    nodes, has_conv = _count_features(log)
    present = list(M.COUNT_FEATURES if has_conv else M.COUNT_FEATURES[:-2])
    mode, w_use, fit_info = _choose_weights(weights, present)
    has_wall = False
    if any("_wall@" in k for k in w_use):
        r = log.events.agg(F.min("time"), F.max("time")).collect()[0]
        has_wall = int(r[1]) > int(r[0])
    recency = _recency_names(w_use, has_wall)
    order = present + recency
    dropped = [k for k, v in w_use.items() if v > 0 and k not in order]
    if dropped:  # e.g. conversions on a log without purchase events, a wall clock on one timestamp
        fit_info["dropped"] = dropped
    feats = [k for k in order if w_use.get(k, 0.0) > 0]
    wvec = np.array([w_use[k] for k in feats], dtype=np.float64)
    if mode == "percentile":
        wvec = wvec / wvec.sum()
    rec = _recency_features(log, [k for k in recency if k in feats])
    if rec is not None:
        nodes = nodes.join(rec, "code", "left")
    nodes = nodes.select(*[_col(c) for c in nodes.columns if c not in recency],
                         *[_col(k).cast("double").alias(f"koc_value_{k}") for k in feats])
    kol_cut = M.kol_cut(kol_threshold, log.n_users)
    staff_ids = [] if staff is None else ([staff] if isinstance(staff, (str, int)) else list(staff))
    nodes = _ckpt(_eligibility(nodes, staff_ids, kol_cut))
    n_elig = nodes.where(F.col("koc_excluded").isNull()).count()
    pr_floor = 1.0
    if "pagerank" in feats:
        lo = nodes.where(F.col("pagerank") > 0).agg(F.min("pagerank")).collect()[0][0]
        pr_floor = 1.0 if lo is None else float(lo)
    scored_in = nodes.select("code", F.col("koc_excluded").isNull().alias("_elig"),
                             *[_col(f"koc_value_{k}").alias(f"_v{j}") for j, k in enumerate(feats)])
    if mode == "percentile":
        scored_in = _percentiles(nodes, feats, n_elig).select(
            "code", F.col("koc_excluded").isNull().alias("_elig"), *[F.coalesce(f"_p{j}", F.lit(0.0)).alias(f"_p{j}")
                                                                    for j in range(len(feats))])
    schema = T.StructType([T.StructField("code", T.LongType()), T.StructField("koc_score", T.DoubleType()),
                           T.StructField("koc_expected_reach", T.DoubleType())]
                          + [T.StructField(f"_t{j}", T.DoubleType()) for j in range(len(feats))])
    scored = scored_in.mapInPandas(_score_batches(feats, wvec, mode, pr_floor), schema).select(
        "code", _nan_null("koc_score").alias("koc_score"), _nan_null("koc_expected_reach").alias("koc_expected_reach"),
        *[_nan_null(f"_t{j}").alias(f"koc_term_{k}") for j, k in enumerate(feats)])
    nodes = _ckpt(nodes.join(scored, "code"))
    elig = nodes.where(F.col("koc_excluded").isNull())
    ranked = dense_index(elig.select("code", "koc_score"), [F.col("koc_score").desc(), F.col("code")], "_r").select(
        "code", (F.col("_r") + 1).alias("koc_rank"))
    pct, _ = value_counts(elig.select("koc_score"), "koc_score")
    nodes = nodes.join(ranked, "code", "left").join(
        pct.select(F.col("v").alias("_s"), (F.col("le") / F.lit(float(max(n_elig, 1)))).alias("koc_percentile")),
        F.col("koc_score") == F.col("_s"), "left").drop("_s")
    if per_community is not None:
        nodes = _slate(nodes, per_community)
    nodes = _ckpt(nodes)
    counts = {str(r[0]): int(r[1]) for r in nodes.where(F.col("koc_excluded").isNotNull())
              .groupBy("koc_excluded").count().collect()}
    log.results["nodes"] = nodes
    log.meta["koc"] = {
        "params": {"staff": len(staff_ids), "kol_threshold": kol_threshold,
                   "weights": weights if isinstance(weights, str) else dict(weights),
                   "per_community": per_community, "bootstrap": 0},
        "features": feats, "weights": dict(zip(feats, wvec.tolist())), "fit": fit_info, "kol_cut": kol_cut,
        "n_eligible": int(n_elig), "n_excluded": counts, "engine": "spark",
    }
    return nodes
