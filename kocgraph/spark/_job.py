"""``kocgraph nominate --engine spark``: the nomination job with every stage on Spark.

It writes what the in-memory job writes (the ranked table, ``<stem>.rejected.csv``,
``<stem>.excluded.csv``, ``<out>.manifest.json``), and in addition every stage's output as Parquet
under the work directory (``<stem>.spark/`` beside ``--out`` unless given): ``events``, ``users``,
``items``, ``rejected`` (read_log), ``edges``, ``trees`` and ``cascades`` (per item), ``nodes`` (every
per-user figure and the KOC score).
"""

from __future__ import annotations

import logging

import os
import shutil
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from .. import jobs as J
from ..exceptions import InvalidParameterError, LogSchemaError, NodeNotFoundError
from ..get._see import reason_line
from ._read import SparkLog, read_log
from ._session import get_session
from ._stages import cascades, components, coreness, edges, kocs, pagerank

__all__ = ["nominate", "SPARK_STAGES"]

SPARK_STAGES = ("read_log", "cascades", "pagerank", "coreness", "communities", "kocs", "write")


_log = logging.getLogger("kocgraph.spark")

def _resolve_staff(log: SparkLog, cfg: J.NominateConfig, note: Callable[[str], None], show: Callable[[Any], Any]) -> list[Any]:
    ids: list[Any] = []
    if cfg.staff_file is not None and str(cfg.staff_file) != "":
        p = Path(cfg.staff_file)
        ids += [ln.strip() for ln in p.read_text(encoding="utf-8-sig").splitlines()
                if ln.strip() and not ln.strip().startswith("#")]
    ids += [s for s in (str(x).strip() if isinstance(x, str) else x for x in cfg.staff_ids) if s != ""]
    if not ids:
        return []
    if log.id_type == "long":
        try:
            ids = [int(x) for x in ids]
        except (TypeError, ValueError) as err:
            raise LogSchemaError(f"staff ids must be integers for this log (its user ids are integers): {err}. "
                                 "Check the staff file against the log's source/target columns.") from err
    else:
        ids = [str(x) for x in ids]
    ids = list(dict.fromkeys(ids))
    found = {r["user"] for r in log.users.where(F.col("user").isin(ids)).select("user").collect()}
    present = [x for x in ids if x in found]
    missing = [x for x in ids if x not in found]
    if missing and not present:
        raise NodeNotFoundError(
            f"none of the {len(ids)} staff ids is a user in the log (e.g. {[show(x) for x in missing[:3]]}). "
            "Check the staff file against the log's source/target columns.")
    if missing:
        note(f"note: {len(missing)} staff id(s) not in the log, ignored: {[show(x) for x in missing[:5]]}")
    return present


def _write_single_csv(df: DataFrame, path: Path) -> Path:
    """Write a (possibly large) Spark DataFrame as one CSV file, atomically, without collecting it."""
    tmpdir = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.d")
    try:
        df.coalesce(1).write.mode("overwrite").option("header", "true").option("escape", '"').csv(str(tmpdir))
        part = next(p for p in sorted(tmpdir.iterdir()) if p.name.startswith("part-") and p.name.endswith(".csv"))
        J.atomic_write(path, lambda tmp: shutil.move(str(part), str(tmp)))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return path


def _pseudo_udf(pseudo: J.Pseudonymizer) -> Any:
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")  # type: ignore[misc]
    def f(s: pd.Series) -> pd.Series:
        return pseudo.series(s.astype(object).where(s.notna(), None))

    return f


def _reasons(top: pd.DataFrame, feats: list[str], weights: dict[str, float], has_conv: bool) -> list[str]:
    """The plain-words reason of kg.get.kocs, from the shares computed on Spark."""
    out = []
    for _, row in top.iterrows():  # n rows only: the output size, not the data
        best = min(feats, key=lambda k: (row[f"share_{k}"], -weights[k]))
        out.append(reason_line(
            reach=int(row["reach"]), items_spread=int(row["items_spread"]), resharers=int(row.get("resharers", 0)),
            conversions=int(row["conversions"]) if has_conv and row.get("conversions", 0) else 0,
            best_share=float(row[f"share_{best}"]), best_feature=best,
        ))
    return out


def nominate(
    cfg: J.NominateConfig,
    *,
    spark: SparkSession | None = None,
    master: str = "local[*]",
    workdir: str | os.PathLike[str] | None = None,
    note: Callable[[str], None] | None = None,
) -> J.NominateResult:
    """Run the nomination job of :func:`kocgraph.jobs.nominate` with every stage on Spark.

    Parameters
    ----------
    cfg
        The same :class:`~kocgraph.jobs.NominateConfig` as the in-memory job. ``bootstrap`` is not
        available on Spark; ``per_community`` slates by connected component (communities are an
        in-memory tool).
    spark
        Your own SparkSession (a cluster); by default a local one on ``master``.
    master
        ``local[*]`` by default.
    workdir
        Where each stage writes Parquet; default ``<stem>.spark`` beside ``cfg.out``, or a temporary
        directory (removed afterwards) when nothing is written.

    Returns
    -------
    NominateResult
        ``table``, ``excluded``, ``outputs``, ``manifest`` as in memory; ``graph`` is the
        :class:`~kocgraph.spark.SparkLog` with every stage's DataFrames in ``results``.

    Examples
    --------
    >>> from kocgraph.jobs import NominateConfig  # doctest: +SKIP
    >>> res = ks.nominate(NominateConfig("sample:toy", staff_ids=["brand", "staff_li"], top=3))  # doctest: +SKIP
    >>> res.table["user"].tolist()  # doctest: +SKIP
    ['alice', 'bob', 'carol']
    """
    say = note or (lambda _m: None)
    t_start = time.perf_counter()
    top = int(cfg.top)
    if top < 1:
        raise InvalidParameterError(f"top={cfg.top!r} must be >= 1; pass e.g. --top 100.")
    if int(cfg.bootstrap):
        raise InvalidParameterError(
            f"--bootstrap {cfg.bootstrap} is not available with --engine spark (rank intervals resample the whole "
            "item-user matrix in memory). Run without --bootstrap, or with --engine memory.")
    fmt = J.infer_format(cfg.out, cfg.format)
    paths = J.output_paths(cfg.out) if cfg.out is not None else None
    if paths is not None:
        d = paths["table"].parent
        if not d.is_dir():
            raise InvalidParameterError(
                f"the output directory {str(d)!r} does not exist; create it or pass --out in an existing directory.")
        if paths["table"].is_dir():
            raise InvalidParameterError(f"--out {str(paths['table'])!r} is a directory; pass a file name such as kocs.csv.")
    pseudo = J.Pseudonymizer(cfg.pseudonymize) if cfg.pseudonymize is not None else None
    show: Callable[[Any], Any] = (lambda x: pseudo(x)) if pseudo is not None else (lambda x: x)  # noqa: E731
    if cfg.staff_file is not None and not Path(cfg.staff_file).is_file():
        raise LogSchemaError(
            f"staff file {str(cfg.staff_file)!r} does not exist. Pass --staff with a text file of staff ids, "
            "one per line, or --staff-ids id1,id2.")
    if workdir is None and paths is not None:
        workdir = paths["table"].with_name(paths["table"].stem + ".spark")
    wd = Path(workdir) if workdir is not None else None
    if wd is not None:
        wd.mkdir(parents=True, exist_ok=True)

    def save(df: DataFrame, name: str) -> None:
        if wd is not None:
            df.write.mode("overwrite").parquet(str(wd / f"{name}.parquet"))
    timings: dict[str, float] = {}
    notes: list[str] = []

    def note_(m: str) -> None:
        notes.append(m)
        say(m)

    @contextmanager
    def stage(name: str) -> Any:
        t0 = time.perf_counter()
        yield
        timings[name] = time.perf_counter() - t0
        _log.info("stage %s done in %.1f s", name, timings[name])

    spark = get_session(spark, master=master)
    outputs: dict[str, str] = {}
    log = cfg.log
    read_opts = dict(cfg.read_options)
    if isinstance(log, str) and log.startswith("sample:"):
        from ..datasets import load_sample

        path = (load_sample(log.split(":", 1)[1]).meta.get("read_log") or {}).get("path")
        if not (isinstance(path, str) and Path(path).is_file()):
            raise InvalidParameterError(f"sample {log!r} has no file that Spark can read; pass a log path.")
        data: Any = path
        read_opts = {}
    else:
        data = log
    with stage("read_log"):
        slog = read_log(spark, data, workdir=wd, **read_opts)
    rep = slog.report
    counts = {"rows_read": rep["rows_read"], "rows_accepted": rep["rows_accepted"],
              "rows_rejected": rep["rows_rejected"], "rejected_by_reason": dict(rep["rejected_by_reason"])}
    rejected = slog.rejected
    if pseudo is not None and counts["rows_rejected"]:
        f = _pseudo_udf(pseudo)
        cols = rep.get("columns") or {}
        for c in (cols.get("source"), cols.get("target")):
            if c in rejected.columns:
                rejected = rejected.withColumn(c, f(F.col(f"`{c}`").cast("string")))
        if "raw_text" in rejected.columns:
            rejected = rejected.withColumn("raw_text", F.when(F.col("raw_text").isNotNull(),
                                                              F.concat(F.lit("h_"), F.substring(f(F.col("raw_text")), 3, 16))))
    input_info: dict[str, Any] = {}
    graph_info = {"n_users": slog.n_users, "n_items": slog.n_items, "n_events": slog.n_events, "n_edges": None}

    def manifest(status: str, kocs_meta: dict[str, Any] | None = None) -> dict[str, Any]:
        if not input_info:
            t0 = time.perf_counter()
            if isinstance(log, pd.DataFrame):
                input_info.update(kind="DataFrame", rows=int(len(log)))
            elif isinstance(data, str) and Path(data).is_file():
                input_info.update(kind="sample" if str(log).startswith("sample:") else "file",
                                  path=str(Path(data).resolve()), bytes=Path(data).stat().st_size,
                                  sha256=J.file_sha256(data))
            else:
                input_info.update(kind="path", path=str(data))
            timings["hash_input"] = time.perf_counter() - t0
        return J.manifest_dict(
            cfg, status=status, top=top, fmt=fmt, show=show, pseudonymized=pseudo is not None,
            input_info=input_info, counts=counts, graph_info=graph_info, kocs_meta=kocs_meta,
            timings=timings, t_start=t_start, outputs=outputs,
            extra={"engine": {"name": "spark", "spark": spark.version, "master": spark.sparkContext.master,
                              "workdir": None if wd is None else str(wd.resolve())}},
        )

    def write_rejected() -> None:
        if paths is not None and counts["rows_rejected"]:
            # the in-memory order: parsed rows by row number, then the lines that could not be parsed
            _write_single_csv(rejected.orderBy((F.col("reason") == "malformed_row"), "row"), paths["rejected"])
            outputs["rejected"] = str(paths["rejected"].resolve())

    if slog.n_events == 0:
        msg = J.no_usable_events_message(counts)
        if paths is not None:
            write_rejected()
            J._write_json(manifest("no_usable_events"), paths["manifest"])
            outputs["manifest"] = str(paths["manifest"].resolve())
            msg += f"; the rejected rows are in {str(paths['rejected'])!r}" if "rejected" in outputs else ""
        raise J.NoUsableDataError(msg + ". Check the column options (--source/--target/--item/--time) and the file.")

    staff = _resolve_staff(slog, cfg, note_, show)
    with stage("cascades"):
        e = edges(slog)
        save(e, "edges")
        graph_info["n_edges"] = int(e.count())
        res = cascades(slog)
        save(res["trees"], "trees")
        save(res["items"], "cascades")
    with stage("pagerank"):
        pagerank(slog)
    with stage("coreness"):
        coreness(slog)
    with stage("communities"):
        components(slog)
    with stage("kocs"):
        nodes = kocs(slog, staff=staff, kol_threshold=cfg.kol_threshold, per_community=cfg.per_community)
        save(nodes.drop(*[c for c in nodes.columns if c.startswith("share_")]), "nodes")
        km = slog.meta["koc"]
        feats = km["features"]
        order_col = "koc_slate" if cfg.per_community is not None else "koc_rank"
        pick = ["code", "user", order_col, "koc_score", "component", "reach", "direct_reach", "resharers", "items_spread",
                "items_started", "pagerank"] + [c for c in ("conversions", "conversion_value") if c in nodes.columns] + \
            [f"share_{k}" for k in feats]
        topdf = nodes.where(F.col(order_col).isNotNull()).orderBy(order_col).limit(top).select(*pick).toPandas()
        has_conv = "conversions" in nodes.columns
        table = pd.DataFrame({"rank": topdf[order_col].to_numpy(np.int64), "user": topdf["user"].to_numpy(dtype=object),
                              "score": topdf["koc_score"].to_numpy(np.float64),
                              "component": topdf["component"].to_numpy(np.int64)})
        for k in ("reach", "direct_reach", "resharers", "items_spread", "items_started", "pagerank", "conversions",
                  "conversion_value"):
            if k in topdf.columns:
                table[k] = topdf[k].to_numpy()
        table["reason"] = _reasons(topdf, feats, km["weights"], has_conv)
        exdf = nodes.where(F.col("koc_excluded").isin("staff", "kol")).orderBy("code").select(
            "user", F.col("koc_excluded").alias("excluded"), "reach").toPandas()
        excluded = pd.DataFrame({"user": exdf["user"].to_numpy(dtype=object),
                                 "excluded": exdf["excluded"].astype(str).to_numpy(dtype=object),
                                 "reach": exdf["reach"].to_numpy(np.int64)})
        excluded["reason"] = np.where(excluded["excluded"] == "staff", "operator's own account",
                                      "celebrity-scale audience (above the KOL threshold)")
    with stage("write"):
        if pseudo is not None:
            users_ix = pd.Index(list(table["user"]) + list(excluded["user"]), dtype=object)
            table = J.pseudonymize_table(table, pseudo, users_ix)
            excluded = J.pseudonymize_table(excluded, pseudo, users_ix)
        if paths is not None:
            write_rejected()
            if len(excluded):
                J.write_table(excluded, paths["excluded"], "csv")
                outputs["excluded"] = str(paths["excluded"].resolve())
            J.write_table(table, paths["table"], fmt)
            outputs["table"] = str(paths["table"].resolve())
    kocs_meta = {"features": feats, "weights": km["weights"], "kol_cut": km["kol_cut"],
                 "n_eligible": km["n_eligible"], "n_excluded": km["n_excluded"],
                 "n_staff": len(staff), "n_listed": int(len(table)),
                 "communities": {"n": None, "modularity": None,
                                 "note": "not computed on Spark; the table's 'component' is the weakly connected "
                                         "component", "n_components": slog.meta["components"]["n_components"]},
                 "pagerank": {"n_iter": slog.meta["pagerank"]["n_iter"],
                              "converged": slog.meta["pagerank"]["converged"]},
                 "coreness": {"n_iter": slog.meta["coreness"]["n_iter"]}}
    if paths is not None:
        outputs["manifest"] = str(paths["manifest"].resolve())
        if wd is not None:
            outputs["stages"] = str(wd.resolve())
        man = manifest("ok", kocs_meta)
        J._write_json(man, paths["manifest"])
    else:
        input_info.update(kind="not hashed (nothing written)",
                          log=cfg.log if isinstance(cfg.log, str) else type(cfg.log).__name__)
        man = manifest("ok", kocs_meta)
    return J.NominateResult(table=table, excluded=excluded, outputs=outputs, manifest=man, graph=slog, notes=notes)
