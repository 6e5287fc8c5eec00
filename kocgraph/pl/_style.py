"""One house style for every ``kg.pl`` figure, so the report, the notebooks and the docs look alike.

Every plot runs inside :func:`house_style` (a ``matplotlib.rc_context``): the same fonts and sizes,
no top/right spines, legends without frames, the same colour cycle, and **no mathtext**: user ids are
drawn as the plain text they are, so an id such as ``$x^{$`` neither breaks a figure nor turns into
a formula. The user's own rcParams are left as they were once the plot returns.

Use it for your own matplotlib figures too, so they match::

    with kg.pl.house_style():
        ax = frame.plot.barh()
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.typing import RcKeyType

__all__ = ["house_style", "styled", "restyle", "PALETTE", "PALETTE_LIGHT", "GRID", "TICKS"]

#: the colour cycle: tab10 without red (kept for highlights) and grey (kept for "other")
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf"]
#: the light tab20 partners of PALETTE, in the same order: the next eight colours when a plot needs more
#: than eight series (so no two series share a colour before sixteen)
PALETTE_LIGHT = ["#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5"]

#: grid lines, passed explicitly: matplotlib makes tick and grid lines at draw time, after the style's
#: context has closed
GRID: dict[str, Any] = {"color": "#dddddd", "linewidth": 0.8}
#: tick marks and labels, passed explicitly for the same reason
TICKS: dict[str, Any] = {"labelsize": 9.0, "labelcolor": "#444444", "color": "#888888"}

_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
              "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "Droid Sans Fallback")


@lru_cache(maxsize=1)
def font_family() -> tuple[str, ...]:
    """DejaVu Sans, then a CJK font when one is installed (Chinese nicknames as labels)."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return ("DejaVu Sans", *(n for n in _CJK_FONTS if n in names))


def rc() -> dict[str, Any]:
    """The rcParams of the house style."""
    from cycler import cycler

    return {
        "font.family": list(font_family()),  # a list: matplotlib falls back glyph by glyph
        "font.size": 10.0,
        "axes.titlesize": 12.0,
        "axes.titlepad": 10.0,
        "axes.labelsize": 10.0,
        "axes.labelcolor": "#333333",
        "axes.edgecolor": "#888888",
        "axes.linewidth": 0.8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": cycler(color=PALETTE),
        "axes.axisbelow": True,
        "xtick.labelsize": 9.0,
        "ytick.labelsize": 9.0,
        "xtick.color": "#444444",
        "ytick.color": "#444444",
        "legend.fontsize": 9.0,
        "legend.title_fontsize": 9.0,
        "legend.frameon": False,
        "grid.color": "#dddddd",
        "grid.linewidth": 0.8,
        "figure.facecolor": "white",
        "axes.facecolor": "white",
        "savefig.facecolor": "white",
        "image.cmap": "viridis",
        "text.usetex": False,
        "text.parse_math": False,
    }


@contextmanager
def house_style() -> Iterator[None]:
    """A context in which matplotlib draws in the kocgraph house style (see the module docstring).

    Examples
    --------
    >>> import matplotlib
    >>> import kocgraph as kg
    >>> with kg.pl.house_style():
    ...     print(matplotlib.rcParams["axes.spines.top"], matplotlib.rcParams["text.parse_math"])
    False False
    """
    import matplotlib

    # rc() is typed with str keys; matplotlib's stubs want its literal rcParams names (each key is one)
    with matplotlib.rc_context(cast("dict[RcKeyType, Any]", rc())):
        yield


def plain_text(*axes: Any) -> None:
    """Draw every text of these Axes as plain text (no mathtext), including texts that were made
    before the house style applied (the title and tick labels of an Axes the caller passed in)."""
    from matplotlib.text import Text

    for a in axes:
        for t in a.findobj(Text):
            t.set_parse_math(False)


def restyle(ax: Any, *, given: bool) -> None:
    """The parts of the house style matplotlib applies lazily (tick labels are made at draw time, after
    the style's context closed) or only when an Axes is made (an Axes the caller passed in)."""
    ax.tick_params(axis="both", which="both", **TICKS)
    if given:  # made before the style applied: its spines, facecolor and axis labels are the caller's
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for side in ("bottom", "left"):
            ax.spines[side].set_color("#888888")
        ax.set_facecolor("white")
        for label in (ax.xaxis.label, ax.yaxis.label):
            label.set_fontsize(10.0)
            label.set_color("#333333")


F = TypeVar("F", bound=Callable[..., Any])


def styled(fn: F) -> F:
    """Run a plot in the house style; afterwards, every text of the Axes it drew on (and of the Axes
    it added, e.g. a colorbar) is plain text."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = kwargs.get("ax")
        before = set(map(id, given.figure.axes)) if given is not None and hasattr(given, "figure") else None
        with house_style():
            ax = fn(*args, **kwargs)
        fig = ax.figure
        new = [a for a in fig.axes if before is None or id(a) not in before]
        restyle(ax, given=given is not None)
        for a in new:
            if a is not ax:
                a.tick_params(axis="both", which="both", **TICKS)
        plain_text(ax, *new)
        return ax

    return wrapper  # type: ignore[return-value]
