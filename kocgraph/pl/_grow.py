"""Plots of the grow and evaluate steps: spread against k, and the backtest."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph
from ..exceptions import InvalidParameterError, NotComputedError
from ._style import GRID, PALETTE, styled
from ._utils import HIGHLIGHT_COLOR, _new_ax, _short, _store, _thousands, _whole_numbers

__all__ = ["spread", "backtest", "METHOD_WORDS", "STRATEGY_WORDS", "METRIC_WORDS"]

#: the backtest's methods (:func:`kocgraph.evaluate.backtest`), in plain words
METHOD_WORDS: dict[str, str] = {
    "koc": "KOC score (this ranking)",
    "out_degree": "most people forwarded to",
    "in_degree": "most people received from",
    "pagerank_plain": "plain PageRank",
    "coreness": "most central in the network (coreness)",
    "past_reach": "largest reach so far",
    "forwards": "most forwards sent",
    "resharers": "most people who passed it on",
    "direct_reach": "most people reached directly",
    "items_started": "most content started",
    "pagerank": "influence PageRank",
    "forwards_recent": "most forwards lately",
    "reach_recent": "largest reach lately",
}
#: the seeding strategies (:func:`kocgraph.evaluate.compare_seeds`), in plain words
STRATEGY_WORDS: dict[str, str] = {
    "imm": "best picks with a guarantee (IMM)",
    "degree": "most people forwarded to",
    "pagerank": "influence PageRank",
    "reach": "largest reach so far",
    "kocs": "top KOCs",
}
#: the backtest's metrics: axis label, and whether it is a share (drawn as a percent)
METRIC_WORDS: dict[str, tuple[str, bool]] = {
    "precision": ("hit rate: share of the top k who really were top spreaders afterwards", True),
    "reach_share": ("share of all later reach that the top k produced", True),
    "spearman": ("rank agreement with what happened (Spearman, -1 to 1)", False),
}
_METRIC_TITLES = {"precision": "hit rate", "reach_share": "share of later reach", "spearman": "rank agreement"}


def _words(name: Any, table: dict[str, str]) -> str:
    return table.get(str(name), _short(str(name).replace("_", " "), 40))


@styled
def spread(g: ShareGraph, *, ax: Any = None) -> Any:
    """Expected extra reach against the number of partners k, one line per seeding strategy, with 95%
    intervals (paired simulations).

    Needs :func:`kocgraph.evaluate.compare_seeds` (it stores its table in ``g.tables``). Strategies
    are named in plain words (:data:`STRATEGY_WORDS`), the legend sits beside the plot, and k has
    whole-number ticks.

    Parameters
    ----------
    g
        The graph, after :func:`kocgraph.evaluate.compare_seeds`.
    ax
        Axes to draw into; None makes a new figure.

    Returns
    -------
    The Axes; ``ax.kocgraph`` holds ``strategies`` (as stored) and ``ks``.

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
    ax = _new_ax(ax, figsize=(8.0, 4.8))
    names = list(dict.fromkeys(t["strategy"]))
    colours = iter(PALETTE)
    for s in names:
        sub = t[t["strategy"] == s].sort_values("k")
        colour = HIGHLIGHT_COLOR if s == "kocs" else next(colours)
        line = ax.plot(sub["k"], sub["spread"], marker="o", label=_words(s, STRATEGY_WORDS), color=colour,
                       lw=2.2 if s == "imm" else 1.4)[0]
        ax.fill_between(sub["k"], sub["lo"], sub["hi"], color=line.get_color(), alpha=0.15, lw=0)
    _whole_numbers(ax.xaxis)
    ax.yaxis.set_major_formatter(_thousands())
    ax.set_ylim(bottom=0)
    ax.set_xlabel("number of partners recruited (k)")
    ax.set_ylabel("extra people reached (expected)")
    ax.set_title("Extra reach bought by each way of picking partners")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, alignment="left", title="picked by")
    ax.grid(True, axis="y", **GRID)
    _store(ax, strategies=names, ks=sorted(t["k"].unique().tolist()))
    return ax


@styled
def backtest(g: ShareGraph, table: pd.DataFrame, *, metric: str = "precision", ax: Any = None) -> Any:
    """Bars of a backtest metric per method and top k: would each ranking have found the people who
    spread the most afterwards?

    The KOC ranking is red, the simple rules it should beat are in the house colours; methods are
    named in plain words (:data:`METHOD_WORDS`), shares are drawn as percents, and the legend sits
    beside the bars, never over them.

    Parameters
    ----------
    g
        The graph the backtest ran on.
    table
        The DataFrame returned by :func:`kocgraph.evaluate.backtest`.
    metric
        ``"precision"`` (hit rate), ``"reach_share"`` (share of later reach) or ``"spearman"`` (rank
        agreement).
    ax
        Axes to draw into; None makes a new figure.

    Returns
    -------
    The Axes: one bar per (method, k); ``ax.kocgraph`` holds ``methods``, ``ks`` and ``metric``.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import kocgraph as kg, kocgraph.evaluate, matplotlib.pyplot as plt
    >>> p = kg.datasets.load_sample("planted-koc")
    >>> bt = kg.evaluate.backtest(p, k=(10, 50), staff=p.meta["synthetic"]["staff"])
    >>> ax = kg.pl.backtest(p, bt)
    >>> len(ax.patches) == len(bt)
    True
    >>> ax.get_legend().get_texts()[0].get_text()
    'KOC score (this ranking)'
    >>> plt.close("all")
    """
    check_graph(g, "kg.pl.backtest")
    if metric not in METRIC_WORDS:
        raise InvalidParameterError(f"metric={metric!r}; choose 'precision', 'reach_share' or 'spearman'.")
    if not isinstance(table, pd.DataFrame) or not {"method", "k", metric} <= set(table.columns):
        raise InvalidParameterError("table must be the DataFrame returned by kg.evaluate.backtest.")
    ax = _new_ax(ax, figsize=(8.0, 4.2))
    methods = list(dict.fromkeys(table["method"]))
    ks = sorted(table["k"].unique())
    width = 0.8 / max(len(methods), 1)
    colours = iter(PALETTE)
    for j, m in enumerate(methods):
        sub = table[table["method"] == m].set_index("k").reindex(ks)
        colour = HIGHLIGHT_COLOR if m == "koc" else next(colours, "#999999")
        ax.bar(np.arange(len(ks)) + j * width, sub[metric].fillna(0).to_numpy(), width,
               label=_words(m, METHOD_WORDS), color=colour)
    ax.set_xticks(np.arange(len(ks)) + width * (len(methods) - 1) / 2, [f"top {int(k):,}" for k in ks])
    label, share = METRIC_WORDS[metric]
    ax.set_ylabel(label if len(label) < 40 else label.split(":")[0])
    if share:
        from matplotlib.ticker import PercentFormatter

        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        top = float(np.nanmax(table[metric].to_numpy(np.float64))) if len(table) else 1.0
        ax.set_ylim(0, min(1.0, max(0.05, top * 1.15)))
    else:
        ax.axhline(0, color="#888888", lw=0.8)
    ax.set_title(f"Backtest: {_METRIC_TITLES[metric]} of each method's top k")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, alignment="left", title="ranked by")
    ax.grid(True, axis="y", **GRID)
    _store(ax, methods=methods, ks=ks, metric=metric)
    return ax
