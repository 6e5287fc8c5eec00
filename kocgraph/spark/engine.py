"""The Spark engine of the nomination job: :class:`SparkJobEngine` and :func:`nominate`.

There is one nomination job, :func:`kocgraph.jobs.nominate`: it checks the configuration, reads the
log, runs the stages of :data:`kocgraph.pipeline.NOMINATION`, and writes the table, the rejected
rows, the accounts left out and the manifest as one output set. :class:`SparkJobEngine` supplies
the Spark side of it (the :class:`kocgraph.jobs.JobEngine` protocol): reading with
:func:`kocgraph.spark.read_log`, each stage on Spark DataFrames, the result tables, and the rejected
rows streamed to the staged CSV file. Each stage also writes its output as Parquet under the work
directory (``<stem>.spark/`` beside ``--out`` unless given): ``events``, ``users``, ``items``,
``rejected`` (read_log), ``edges``, ``trees`` and ``cascades`` (per item), ``nodes`` (every per-user
figure and the KOC score).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from .. import jobs as J
from ..exceptions import InvalidParameterError
from ..get import reason_line
from ..pipeline import Stage, StageOptions
from ._convert import collect
from ._kocs import kocs
from ._read import SparkLog, read_log
from ._session import get_session
from ._stages import cascades, components, coreness, edges, pagerank

__all__ = ["SparkJobEngine", "nominate"]

_log = logging.getLogger("kocgraph.spark")

#: rows of the rejected table held on the driver at a time while it is written
REJECTED_CHUNK_ROWS = 100_000
#: the reasons of the accounts left out, as ``kg.get.kocs(g, excluded=True)`` words them
EXCLUDED_REASONS = {"staff": "operator's own account",
                    "kol": "celebrity-scale audience (above the KOL threshold): buy, don't develop"}
#: the per-user figures of the table, after rank, user, score, expected reach, percentile, component
_TABLE_FIGURES = ("reach", "direct_reach", "resharers", "items_spread", "items_started", "pagerank", "conversions",
                  "conversion_value")


def _bootstrap_refused(bootstrap: int) -> InvalidParameterError:
    return InvalidParameterError(
        f"--bootstrap {bootstrap} is not available with --engine spark (rank intervals resample the whole "
        "item-user matrix in memory). Run without --bootstrap, or with --engine memory.")


class SparkJobEngine:
    """The nomination job's stages on Spark (see the module docstring).

    Parameters
    ----------
    spark
        Your own SparkSession (a cluster); by default a local one on ``master``, started when the log
        is read.
    master
        ``local[*]`` by default.
    workdir
        Where each stage writes Parquet; ``None``: nothing is written, the stages keep local
        checkpoints in Spark's block store.
    """

    name = "spark"

    def __init__(self, spark: SparkSession | None = None, *, master: str = "local[*]",
                 workdir: str | os.PathLike[str] | None = None) -> None:
        self.spark = spark
        self.master = master
        self.workdir = None if workdir is None else Path(workdir)
        self.data: Any = None  # what Spark reads: a path (a sample's file) or a DataFrame

    # -------------------------------------------------------------------------------------- reading
    def read(self, log: Any, read_options: Mapping[str, Any]) -> SparkLog:
        opts = dict(read_options)
        if isinstance(log, str) and log.startswith("sample:"):
            self.data, opts = self._sample_path(log.split(":", 1)[1]), {}
        else:
            self.data = log
        self.spark = get_session(self.spark, master=self.master)
        if self.workdir is not None:
            self.workdir.mkdir(parents=True, exist_ok=True)
        return read_log(self.spark, self.data, workdir=self.workdir, **opts)

    @staticmethod
    def _sample_path(name: str) -> str:
        from ..datasets import load_sample, toy_path

        path = toy_path() if name == "toy" else (load_sample(name).meta.get("read_log") or {}).get("path")
        if not (isinstance(path, str) and Path(path).is_file()):
            raise InvalidParameterError(f"sample {name!r} has no file that Spark can read; pass a log path.")
        return path

    def counts(self, log: SparkLog) -> dict[str, Any]:
        rep = log.report
        return {"rows_read": rep["rows_read"], "rows_accepted": rep["rows_accepted"],
                "rows_rejected": rep["rows_rejected"], "rejected_by_reason": dict(rep["rejected_by_reason"])}

    def graph_info(self, log: SparkLog) -> dict[str, Any]:
        if "n_edges" not in log.meta and ("edges" in log.results or log.n_events == 0):
            log.meta["n_edges"] = int(edges(log).count()) if log.n_events else 0
        return {"n_users": log.n_users, "n_items": log.n_items, "n_events": log.n_events,
                "n_edges": log.meta.get("n_edges")}

    def staff(self, log: SparkLog, cfg: J.NominateConfig, note: Callable[[str], None],
              show: Callable[[Any], Any]) -> list[Any]:
        def present(ids: list[Any]) -> set[Any]:
            return {r["user"] for r in log.users.where(F.col("user").isin(ids)).select("user").collect()}

        return J.match_staff(J.read_staff_ids(cfg.staff_file, cfg.staff_ids), int_ids=log.id_type == "long",
                             present=present, note=note, show=show)

    # -------------------------------------------------------------------------------------- stages
    def _save(self, df: DataFrame, name: str) -> None:
        if self.workdir is not None:
            df.write.mode("overwrite").parquet(str(self.workdir / f"{name}.parquet"))

    def run(self, stage: Stage, log: SparkLog, options: StageOptions) -> None:
        t0 = time.perf_counter()
        if stage.name == "cascades":
            self._save(edges(log), "edges")
            res = cascades(log)
            self._save(res["trees"], "trees")
            self._save(res["items"], "cascades")
        elif stage.name == "pagerank":
            pagerank(log)
        elif stage.name == "coreness":
            coreness(log)
        elif stage.name == "communities":  # Leiden needs the whole graph: weakly connected components instead
            components(log)
        elif stage.name == "kocs":
            if int(options.bootstrap):
                raise _bootstrap_refused(int(options.bootstrap))
            nodes = kocs(log, staff=list(options.staff), kol_threshold=options.kol_threshold,
                         weights="fit" if options.weights is None else options.weights,
                         per_community=options.per_community)
            self._save(nodes, "nodes")
        else:  # pragma: no cover - NOMINATION names every stage above
            raise ValueError(f"the Spark engine has no stage {stage.name!r}")
        _log.info("stage %s done in %.1f s", stage.name, time.perf_counter() - t0)

    # -------------------------------------------------------------------------------------- results
    def tables(self, log: SparkLog, top: int, cfg: J.NominateConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The top ``top`` candidates and the accounts left out, with the columns of ``kg.get.kocs``
        (``component`` in place of ``community``) and its reason sentences."""
        nodes, km = log.results["nodes"], log.meta["koc"]
        feats = km["features"]
        order_col = "koc_slate" if "koc_slate" in nodes.columns else "koc_rank"
        figures = [k for k in _TABLE_FIGURES if k in nodes.columns]
        topdf = collect(
            nodes.where(F.col(order_col).isNotNull()).orderBy(order_col).limit(top)
            .select(F.col(order_col).alias("_order"), "user", "koc_score", "koc_expected_reach", "koc_percentile",
                    "component", *figures, *[F.col(f"`koc_value_{k}`").alias(f"_v{j}") for j, k in enumerate(feats)],
                    *[F.col(f"`koc_term_{k}`").alias(f"_t{j}") for j, k in enumerate(feats)]))
        table = pd.DataFrame({"rank": topdf["_order"].to_numpy(np.int64), "user": topdf["user"].to_numpy(dtype=object),
                              "score": topdf["koc_score"].to_numpy(np.float64),
                              "expected_reach": topdf["koc_expected_reach"].to_numpy(np.float64, na_value=np.nan),
                              "percentile": topdf["koc_percentile"].to_numpy(np.float64),
                              "component": topdf["component"].to_numpy(np.int64)})
        for k in figures:
            table[k] = topdf[k].to_numpy(np.float64 if k in ("pagerank", "conversion_value") else np.int64)
        table["reason"] = self._reasons(log, topdf, feats, "conversions" in nodes.columns)
        ex = collect(nodes.where(F.col("koc_excluded").isin("staff", "kol"))
                     .orderBy(F.col("koc_excluded").desc(), F.col("reach").desc(), F.col("code"))
                     .select("user", "koc_excluded", "reach", "receivers"))
        excluded = pd.DataFrame({"user": ex["user"].to_numpy(dtype=object),
                                 "excluded": ex["koc_excluded"].astype(str).to_numpy(dtype=object),
                                 "reach": ex["reach"].to_numpy(np.int64), "receivers": ex["receivers"].to_numpy(np.int64)})
        excluded["reason"] = excluded["excluded"].map(EXCLUDED_REASONS).astype(object)
        return table, excluded

    @staticmethod
    def _reasons(log: SparkLog, topdf: pd.DataFrame, feats: list[str], has_conv: bool) -> list[str]:
        """The reason of ``kg.get.kocs``: the headline figures and the feature where the user stands
        highest (its top share among eligible users; ties: the larger term)."""
        n_elig = int(log.meta["koc"]["n_eligible"])
        values = [topdf[f"_v{j}"].to_numpy(np.float64) for j in range(len(feats))]
        ge = _at_least(log.results["nodes"].where(F.col("koc_excluded").isNull()),
                       [f"koc_value_{k}" for k in feats], values)
        shares = [g / max(n_elig, 1) for g in ge]
        out = []
        for r in range(len(topdf)):  # the output's rows only, not the data
            j = min(range(len(feats)), key=lambda i: (shares[i][r], -topdf[f"_t{i}"].iloc[r]))
            row = topdf.iloc[r]
            out.append(reason_line(
                reach=int(row["reach"]), items_spread=int(row["items_spread"]), resharers=int(row.get("resharers", 0)),
                conversions=int(row["conversions"]) if has_conv else 0, best_share=float(shares[j][r]),
                best_feature=feats[j]))
        return out

    def stage_rejected(self, log: SparkLog, outs: J.OutputSet, pseudo: J.Pseudonymizer | None) -> list[str]:
        """Stream the rejected rows (by row number, as in memory) to the staged CSV file, a chunk at a
        time, never the whole table on the driver; pseudonymized as in memory (the log's known
        columns only)."""
        if not log.report["rows_rejected"]:
            return []
        rej = log.rejected.orderBy("row")
        columns = log.report.get("columns") or {}
        dropped: list[str] = []
        if pseudo is not None:
            empty = pd.DataFrame(columns=rej.columns)
            dropped = J.pseudonymize_rejected(empty, pseudo, columns)[1]
            rej = rej.drop(*dropped)

        def chunks() -> Iterator[pd.DataFrame]:
            for chunk in _pandas_chunks(rej, REJECTED_CHUNK_ROWS):
                yield chunk if pseudo is None else J.pseudonymize_rejected(chunk, pseudo, columns)[0]

        outs.stage("rejected", lambda tmp: J.write_csv_chunks(chunks(), tmp))
        return dropped

    def ranking_meta(self, log: SparkLog) -> dict[str, Any]:
        km = log.meta["koc"]
        keys = ("features", "weights", "kol_cut", "n_eligible", "n_excluded", "fit")
        out = {k: km.get(k) for k in keys if k in km}
        out["communities"] = {"n": None, "modularity": None,
                              "note": "not computed on Spark; the table's 'component' is the weakly connected component",
                              "n_components": log.meta["components"]["n_components"]}
        out["pagerank"] = {"n_iter": log.meta["pagerank"]["n_iter"], "converged": log.meta["pagerank"]["converged"]}
        out["coreness"] = {"n_iter": log.meta["coreness"]["n_iter"]}
        return out

    def manifest_extra(self) -> dict[str, Any]:
        spark = self.spark
        return {"engine": {"name": self.name, "spark": None if spark is None else spark.version,
                           "master": None if spark is None else spark.sparkContext.master,
                           "workdir": None if self.workdir is None else str(self.workdir.resolve())}}

    def input_info(self, cfg: J.NominateConfig, log: SparkLog | None) -> dict[str, Any]:
        """What was read: a local file is hashed (SHA-256, streamed) when the job writes its
        outputs; a directory or a URI is named, not hashed."""
        if isinstance(cfg.log, pd.DataFrame):
            return {"kind": "DataFrame", "rows": int(len(cfg.log))}
        data = self.data if self.data is not None else cfg.log
        sample = isinstance(cfg.log, str) and cfg.log.startswith("sample:")
        info: dict[str, Any] = {"kind": "sample", "sample": cfg.log.split(":", 1)[1]} if sample else {"kind": "file"}
        if cfg.out is None:
            return {**info, "kind": "not hashed (nothing written)", "log": str(cfg.log)}
        if not (isinstance(data, (str, os.PathLike)) and Path(data).is_file()):
            return {"kind": "path", "path": str(data)}
        p = Path(data)
        return {**info, "path": str(p.resolve()), "bytes": p.stat().st_size, "sha256": J.file_sha256(p)}


def _pandas_chunks(df: DataFrame, rows: int) -> Iterator[pd.DataFrame]:
    """``df`` in order, as pandas frames of at most ``rows`` rows (one Spark partition at a time)."""
    cols = df.columns
    buf: list[tuple[Any, ...]] = []
    for r in df.toLocalIterator(prefetchPartitions=True):
        buf.append(tuple(r))
        if len(buf) >= rows:
            yield pd.DataFrame.from_records(buf, columns=cols)
            buf = []
    if buf:
        yield pd.DataFrame.from_records(buf, columns=cols)


def _at_least(df: DataFrame, cols: list[str], values: list[np.ndarray]) -> list[np.ndarray]:
    """For each column j and each value x in ``values[j]``: how many rows of ``df`` hold a value >= x
    in column j. One pass (a histogram of each batch against the sorted values), a few numbers back."""
    levels = [np.unique(v) for v in values]

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        acc = [np.zeros(u.size + 1, dtype=np.int64) for u in levels]
        for pdf in batches:
            for j, u in enumerate(levels):
                x = pdf[f"_c{j}"].to_numpy(np.float64)
                acc[j] += np.bincount(np.searchsorted(u, x, side="right"), minlength=u.size + 1)
        yield pd.DataFrame({"j": np.repeat(np.arange(len(levels)), [a.size for a in acc]),
                            "i": np.concatenate([np.arange(a.size) for a in acc]) if acc else np.zeros(0, np.int64),
                            "cnt": np.concatenate(acc) if acc else np.zeros(0, np.int64)})

    if not cols:
        return []
    src = df.select(*[F.col(f"`{c}`").cast("double").alias(f"_c{j}") for j, c in enumerate(cols)])
    rows = src.mapInPandas(run, "j long, i long, cnt long").groupBy("j", "i").agg(F.sum("cnt").alias("cnt")).collect()
    hist = [np.zeros(u.size + 1, dtype=np.int64) for u in levels]
    for r in rows:
        hist[int(r["j"])][int(r["i"])] += int(r["cnt"])
    out = []
    for j, u in enumerate(levels):
        # a row lands in bin b = number of levels <= its value; it is >= level k exactly when b > k
        ge_level = hist[j][::-1].cumsum()[::-1][1:]
        out.append(ge_level[np.searchsorted(u, values[j])])
    return out


def nominate(
    cfg: J.NominateConfig,
    *,
    spark: SparkSession | None = None,
    master: str = "local[*]",
    workdir: str | os.PathLike[str] | None = None,
    note: Callable[[str], None] | None = None,
) -> J.NominateResult:
    """Run the nomination job (:func:`kocgraph.jobs.nominate`) with every stage on Spark.

    The same orchestration as the in-memory job, the same checks before reading, the same output
    set and manifest (with an ``engine`` entry naming Spark, its version, master and work directory).

    Parameters
    ----------
    cfg
        The same :class:`~kocgraph.jobs.NominateConfig` as the in-memory job. ``bootstrap`` is not
        available on Spark; ``per_community`` slates by connected component (communities are an
        in-memory tool); ``weights="fit"`` (the default) uses the prior weights, since the fit runs in
        memory (the manifest's ``ranking.fit`` says so).
    spark
        Your own SparkSession (a cluster); by default a local one on ``master``.
    master
        ``local[*]`` by default.
    workdir
        Where each stage writes Parquet; default ``<stem>.spark`` beside ``cfg.out``; with neither,
        no Parquet is written.
    note
        Called with each note of the run (staff ids not in the log, ...).

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
    ['alice', 'bob', 'nina']
    """
    J.check_config(cfg)  # the memory engine's checks, before Spark starts (the job repeats them: cheap)
    if int(cfg.bootstrap):
        raise _bootstrap_refused(int(cfg.bootstrap))
    if workdir is None and cfg.out is not None:
        out = Path(cfg.out)
        workdir = out.with_name(out.stem + ".spark")
    return J.nominate(cfg, engine=SparkJobEngine(spark, master=master, workdir=workdir), note=note)
