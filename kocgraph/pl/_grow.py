"""Plots of the grow and evaluate steps: spread against k, and backtest precision."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph
from ..exceptions import InvalidParameterError, NotComputedError
from ._utils import _new_ax, _store

__all__ = ["spread", "backtest"]


def spread(g: ShareGraph, *, ax: Any = None) -> Any:
    """Expected spread against k for each seeding strategy, with 95% intervals (paired simulations).

    Needs :func:`kocgraph.evaluate.compare_seeds` (it stores its table in ``g.tables``).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import kocgraph as kg, kocgraph.evaluate, matplotlib.pyplot as plt
    >>> g = kg.datasets.toy()
    >>> _ = kg.evaluate.compare_seeds(g, k=[1, 2, 3], staff=["brand", "staff_li"], n=50)
    >>> ax = kg.pl.spread(g)
    >>> sorted(ax.kocgraph["strategies"]) == sorted(kg.evaluate.STRATEGIES)
    True
    >>> plt.close("all")
    """
    g = check_graph(g, "kg.pl.spread")
    t = g.tables.get("compare_seeds")
    if t is None:
        raise NotComputedError("no seeding comparison in this graph. Run kg.evaluate.compare_seeds(g, k=[...]) first.")
    ax = _new_ax(ax)
    names = list(dict.fromkeys(t["strategy"]))
    for s in names:
        sub = t[t["strategy"] == s].sort_values("k")
        line = ax.plot(sub["k"], sub["spread"], marker="o", label=s, lw=2 if s == "imm" else 1.2)[0]
        ax.fill_between(sub["k"], sub["lo"], sub["hi"], color=line.get_color(), alpha=0.15, lw=0)
    ax.set_xlabel("number of seeds k")
    ax.set_ylabel("expected extra reach (users)")
    ax.set_title("Reach bought by each seeding strategy")
    ax.legend(frameon=False)
    _store(ax, strategies=names, ks=sorted(t["k"].unique().tolist()))
    return ax


def backtest(g: ShareGraph, table: pd.DataFrame, *, metric: str = "precision", ax: Any = None) -> Any:
    """Bars of a backtest metric (``precision``, ``reach_share`` or ``spearman``) per method and k.

    ``table`` is the DataFrame returned by :func:`kocgraph.evaluate.backtest`.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import kocgraph as kg, kocgraph.evaluate, matplotlib.pyplot as plt
    >>> p = kg.datasets.load_sample("planted-koc")
    >>> bt = kg.evaluate.backtest(p, k=(10, 50), staff=p.meta["synthetic"]["staff"])
    >>> ax = kg.pl.backtest(p, bt)
    >>> len(ax.patches) == len(bt)
    True
    >>> plt.close("all")
    """
    check_graph(g, "kg.pl.backtest")
    if metric not in ("precision", "reach_share", "spearman"):
        raise InvalidParameterError(f"metric={metric!r}; choose 'precision', 'reach_share' or 'spearman'.")
    if not {"method", "k", metric} <= set(table.columns):
        raise InvalidParameterError("table must be the DataFrame returned by kg.evaluate.backtest.")
    ax = _new_ax(ax)
    methods = list(dict.fromkeys(table["method"]))
    ks = sorted(table["k"].unique())
    width = 0.8 / max(len(methods), 1)
    for j, m in enumerate(methods):
        sub = table[table["method"] == m].set_index("k").reindex(ks)
        ax.bar(np.arange(len(ks)) + j * width, sub[metric].fillna(0).to_numpy(), width, label=m)
    ax.set_xticks(np.arange(len(ks)) + width * (len(methods) - 1) / 2, [f"k = {k}" for k in ks])
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(f"Backtest: {metric.replace('_', ' ')} of future reach")
    ax.legend(frameon=False, fontsize="small")
    _store(ax, methods=methods, ks=ks, metric=metric)
    return ax
