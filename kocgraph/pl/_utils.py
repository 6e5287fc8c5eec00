"""Shared plumbing of the ``kg.pl`` plots: axes handling, column checks, seeded layouts, PNG export."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import not_computed
from ..exceptions import InvalidParameterError, close_matches

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["savefig_base64"]

#: node columns written by a kg.tl tool: the tool to run when one is missing
PRODUCERS: dict[str, str] = {
    "reach": "cascades",
    "direct_reach": "cascades",
    "items_started": "cascades",
    "items_received": "cascades",
    "community": "communities",
    "pagerank": "pagerank",
    "coreness": "coreness",
    "betweenness": "betweenness",
    "strength": "strength",
    "koc_score": "kocs",
    "koc_rank": "kocs",
    "koc_excluded": "kocs",
    "items_spread": "cascades",
}

#: one colour per KOC feature, the same in every plot
FEATURE_COLORS: dict[str, str] = {
    "reach": "#1f77b4",
    "direct_reach": "#ff7f0e",
    "items_started": "#2ca02c",
    "pagerank": "#9467bd",
    "coreness": "#8c564b",
    "conversions": "#d62728",
    "conversion_value": "#e377c2",
}
HIGHLIGHT_COLOR = "#d62728"  # the people a plot marks (top KOCs)
EDGE_COLOR = "#7f7f7f"
STAFF_COLOR = "#1f3b73"  # staff / brand accounts: where routes start
INTRODUCER_COLOR = "#ff7f0e"  # the last person before a KOC on a route: the one to ask
ROUTE_COLOR = "#333333"  # the links of a best route
PLAIN_DOT = "#6b9ac4"  # a person, when no colour is asked for


def _count_label(v: float, _pos: Any = None) -> str:
    """A tick label for a count: 1, 250, 1,000, 0.5 (never a mathtext power of ten)."""
    if not np.isfinite(v):
        return ""
    return f"{v:,.0f}" if abs(v) >= 1 or v == 0 else f"{v:g}"


def _thousands() -> Any:
    """A new formatter for counts (one per axis: a matplotlib formatter belongs to one axis)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(_count_label)


def _whole_numbers(axis: Any) -> None:
    """Ticks at whole numbers only, with thousands separators."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axis.set_major_formatter(_thousands())


def _note_below(ax: Any, text: str, *, offset_pt: float = 32.0) -> None:
    """A small grey note under the x-axis label, clear of the data, whatever the figure size."""
    ax.annotate(text, xy=(0.0, 0.0), xycoords="axes fraction", xytext=(0.0, -offset_pt), textcoords="offset points",
                ha="left", va="top", fontsize=8, color="#555555")


def _new_ax(ax: Axes | None, *, figsize: tuple[float, float] = (6.4, 4.8)) -> Axes:
    """The Axes to draw into: ``ax`` itself, or the single Axes of a new pyplot figure when ``ax`` is None."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
        return ax
    from matplotlib.axes import Axes as _Axes

    if not isinstance(ax, _Axes):
        raise InvalidParameterError(
            f"ax={ax!r} is not a matplotlib Axes; pass ax=None for a new figure, or an Axes such as "
            "plt.subplots()[1]."
        )
    return ax


def _store(ax: Axes, **info: Any) -> None:
    """Record what a plot drew on the Axes (``ax.kocgraph``), for tests and for the report."""
    ax.kocgraph = info  # type: ignore[attr-defined]


def _node_column(g: ShareGraph, column: str, *, param: str, where: str) -> pd.Series:
    """``g.nodes[column]``; NotComputedError naming the tool when a known result is missing,
    InvalidParameterError (with close matches) for an unknown name."""
    if not isinstance(column, str):
        raise InvalidParameterError(
            f"{param}={column!r} must be the name of a column of g.nodes (a str) for {where}; "
            f"columns are {list(map(str, g.nodes.columns))}."
        )
    if column in g.nodes.columns:
        return g.nodes[column]
    tool = PRODUCERS.get(column)
    if tool is None and column.startswith("koc_"):
        tool = "kocs"
    if tool is not None:
        raise not_computed(g, f"g.nodes[{column!r}]", tool=f"tl.{tool}", where=where)
    near = close_matches(column, g.nodes.columns)
    hint = f" Did you mean {param}={near[0]!r}?" if near else ""
    raise InvalidParameterError(
        f"{param}={column!r} is not a column of g.nodes; columns are {list(map(str, g.nodes.columns))}.{hint} "
        f"Pass one of them, or run the kg.tl tool that writes it."
    )


def _numeric(s: pd.Series, *, param: str, where: str) -> np.ndarray:
    if not (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)):
        raise InvalidParameterError(
            f"{param}={s.name!r} must be a numeric column of g.nodes for {where}, but its dtype is {s.dtype}. "
            "Pass a numeric column such as 'reach' or 'pagerank'."
        )
    return s.to_numpy(dtype=np.float64, na_value=np.nan)


def _seed(rng: Any) -> int:
    from .._core.validation import check_rng

    return int(check_rng(rng).integers(2**31 - 1))


def _short(x: Any, width: int = 18) -> str:
    s = str(x)
    return s if len(s) <= width else s[: width - 1] + "…"


def savefig_base64(ax: Any, *, dpi: int = 100, close: bool = False) -> str:
    """Render the figure holding ``ax`` to PNG and return it as a ``data:image/png;base64,...`` URI.

    For embedding plots in a self-contained HTML page (the report); nothing touches the disk.

    Parameters
    ----------
    ax
        An Axes (its figure is rendered) or a Figure.
    dpi
        Resolution of the PNG.
    close
        Close the figure afterwards (frees it from pyplot).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.cascades(g)
    >>> uri = kg.pl.savefig_base64(kg.pl.reach(g), close=True)
    >>> uri.startswith("data:image/png;base64,")
    True
    """
    from matplotlib.axes import Axes as _Axes
    from matplotlib.figure import Figure as _Figure

    if isinstance(ax, _Axes):
        try:
            fig: Figure = ax.get_figure(root=True)  # type: ignore[call-arg, assignment]
        except TypeError:  # matplotlib < 3.10: ax.figure is the root unless in a subfigure
            # a SubFigure's .figure is its root Figure (a Figure's own .figure, when there is one, is itself)
            fig = cast("Figure", getattr(ax.figure, "figure", ax.figure))
    elif isinstance(ax, _Figure):
        fig = ax
    else:
        raise InvalidParameterError(
            f"savefig_base64 needs a matplotlib Axes or Figure, got {type(ax).__name__}; pass what a kg.pl "
            "plot returned."
        )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
