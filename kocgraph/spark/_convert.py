"""Collect a Spark result into an in-memory :class:`~kocgraph.ShareGraph`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from ..exceptions import InvalidParameterError
from ._read import SparkLog

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

__all__ = ["to_sharegraph"]

_NODE_COLUMNS = ("reach", "direct_reach", "resharers", "items_started", "items_received", "items_spread", "forwards",
                 "receivers", "senders", "pagerank", "coreness", "component", "conversions", "conversion_value",
                 "koc_score", "koc_expected_reach", "koc_percentile", "koc_rank", "koc_excluded", "koc_slate")


def collect(sdf: DataFrame) -> pd.DataFrame:
    """``sdf.toPandas()``, typed: pyspark's stubs name its result ``PandasDataFrameLike``, which mypy
    cannot resolve without pandas-stubs (not a dependency); it is a pandas DataFrame."""
    return cast("pd.DataFrame", sdf.toPandas())


def to_sharegraph(log: SparkLog, *, max_events: int = 50_000_000) -> ShareGraph:
    """Collect a Spark log (and the per-user results computed so far) into a :class:`ShareGraph`.

    For notebooks and plots once the heavy lifting is done: the accepted events, the user and item
    ids (same codes, so the same order as ``kg.read_log``), the rejected rows, the ingest report, and
    the per-user columns of ``log.results`` (reach, pagerank, coreness, component, koc_*) in
    ``g.nodes``.

    Parameters
    ----------
    log
        What :func:`kocgraph.spark.read_log` returned (after any stages).
    max_events
        Refuse to collect more accepted events than this (the driver's memory is the limit).

    Returns
    -------
    ShareGraph

    Examples
    --------
    >>> g = ks.to_sharegraph(log)  # doctest: +SKIP
    >>> g.n_events == log.n_events  # doctest: +SKIP
    True
    """
    if not isinstance(log, SparkLog):
        raise InvalidParameterError(f"to_sharegraph needs a SparkLog (from kocgraph.spark.read_log); got {type(log).__name__}.")
    if log.n_events > max_events:
        raise InvalidParameterError(
            f"the log has {log.n_events:,} accepted events, more than max_events={max_events:,}; collecting it "
            "may not fit in the driver's memory. Filter it first, or raise max_events.")
    ev = collect(log.events.orderBy("row"))
    users = collect(log.users.orderBy("code"))
    items = collect(log.items.orderBy("code"))
    user_ix = pd.Index(users["user"].to_numpy(dtype=object), dtype=object)
    item_ix = pd.Index(items["item"].to_numpy(dtype=object), dtype=object)
    extra: dict[str, Any] = {}
    for opt in ("event_type", "channel"):
        if opt in ev.columns:
            extra[opt] = pd.Categorical(ev[opt].astype(object).where(ev[opt].notna(), None))
    if "value" in ev.columns:
        extra["value"] = ev["value"].to_numpy(dtype=np.float64, na_value=np.nan)
    rejected = collect(log.rejected.orderBy("row"))
    g = ShareGraph._from_codes(
        ev["src"].to_numpy(np.int64), ev["tgt"].to_numpy(np.int64), ev["itm"].to_numpy(np.int64),
        ev["time"].to_numpy(np.int64), user_ix, item_ix, row=ev["row"].to_numpy(np.int64), extra=extra,
        meta={"read_log": dict(log.report)}, rejected=rejected, compact=False,
    )
    nodes = log.results.get("nodes")
    parts = []
    if nodes is not None:
        parts.append(nodes)
    else:
        for k in ("reach", "pagerank", "coreness", "components"):
            if k in log.results:
                parts.append(log.results[k])
    for df in parts:
        cols = [c for c in df.columns if c in _NODE_COLUMNS or c.startswith(("koc_term_", "koc_value_"))]
        if not cols:
            continue
        pdf = collect(df.select("code", *[f"`{c}`" for c in cols])).set_index("code").reindex(np.arange(log.n_users))
        for c in cols:
            g.nodes[c] = pdf[c].to_numpy()
    return g
