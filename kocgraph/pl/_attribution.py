"""``kg.pl.attribution``: who brought the sales, and how much the answer depends on the model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph, require
from .._core.validation import check_int
from ..exceptions import InvalidParameterError
from ._backbone import koc_codes, staff_codes
from ._style import GRID, PALETTE, styled
from ._utils import HIGHLIGHT_COLOR, STAFF_COLOR, _new_ax, _note_below, _short, _store, _thousands

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["attribution", "MODEL_WORDS"]

#: the attribution models of :func:`kocgraph.tl.attribution`, in plain words
MODEL_WORDS: dict[str, str] = {
    "last_touch": "last touch",
    "first_touch": "first touch",
    "linear": "linear (split along the chain)",
    "time_decay": "time decay (recent forwards count more)",
}
_GROUP_COLORS = {"staff": STAFF_COLOR, "kocs": HIGHLIGHT_COLOR, "others": PALETTE[0], "nobody": "#c7c7c7"}


def _share(f: float) -> str:
    """A share as a whole percent, but a small non-zero one reads "<1%", never "0%"."""
    text = f"{f:.0%}"
    return "<1%" if f > 0 and text == "0%" else text


def _credit(g: ShareGraph, key: str, where: str) -> tuple[np.ndarray, dict[str, Any]]:
    meta = require(g, key, tool="tl.attribution", where=where, nodes=[f"{key}_value"])
    return g.nodes[f"{key}_value"].to_numpy(np.float64, na_value=0.0), meta


def _model_name(meta: dict[str, Any], key: str) -> str:
    model = str(meta.get("params", {}).get("model", key))
    return MODEL_WORDS.get(model, model.replace("_", " "))


def _people(ax: Axes, g: ShareGraph, key: str, n: int, staff: np.ndarray) -> dict[str, Any]:
    """One model: the ``n`` people credited with the most sales value, staff in navy."""
    v, meta = _credit(g, key, "kg.pl.attribution")
    total = float(meta.get("total_value") or 0.0)
    order = np.lexsort((np.arange(v.size), -v))
    order = order[v[order] > 0][:n]
    m = order.size
    is_staff = np.isin(order, staff)
    y = np.arange(m)
    ax.barh(y, v[order], height=0.7, color=np.where(is_staff, STAFF_COLOR, PALETTE[0]).tolist())
    ids = g.nodes.index.to_numpy()[order]
    ax.set_yticks(y, [_short(u) + ("  (staff)" if s_ else "") for u, s_ in zip(ids, is_staff, strict=True)], parse_math=False)
    ax.set_ylim(m - 0.5, -0.5)
    top = float(v[order].max()) if m else 1.0
    for i in range(m):  # n labels: the output size
        share = f" ({_share(v[order[i]] / total)})" if total > 0 else ""
        ax.text(v[order[i]] + 0.01 * top, y[i], f"{v[order[i]]:,.0f}{share}", va="center", fontsize=9,
                color="#333333")
    ax.set_xlim(0, top * 1.25 if m else 1.0)
    ax.xaxis.set_major_formatter(_thousands())
    ax.set_xlabel("sales value credited to the person")
    ax.set_title(f"Who brought the sales: top {m} by credit, {_model_name(meta, key)} model")
    un = float(meta.get("unattributed_value") or 0.0)
    caption = (f"{total:,.0f} of sales value in all; {un:,.0f} ({_share(un / total)}) bought with no forwarder "
               "before the buyer, credited to nobody") if total > 0 else "no sales in this log"
    _note_below(ax, caption)
    ax.grid(True, axis="x", **GRID)
    return {"users": ids.tolist(), "values": v[order], "caption": caption}


def _models(ax: Axes, g: ShareGraph, keys: Sequence[str], n: int, staff: np.ndarray, kocs_key: str
            ) -> dict[str, Any]:
    """Several models: one 100% bar each, split into staff, top KOCs, everyone else and nobody."""
    kocs = koc_codes(g, None, n, kocs_key=kocs_key)
    group = np.full(g.n_users, 2, dtype=np.int64)  # 0 staff, 1 top KOCs, 2 everyone else
    group[kocs] = 1
    group[staff] = 0
    rows = {}
    for k in keys:  # one row per model asked for
        v, meta = _credit(g, k, "kg.pl.attribution")
        total = float(meta.get("total_value") or 0.0) or 1.0
        parts = np.bincount(group, weights=v, minlength=3)
        rows[_model_name(meta, k)] = np.r_[parts, float(meta.get("unattributed_value") or 0.0)] / total
    names = {"staff": "staff accounts", "kocs": f"top {kocs.size} KOCs", "others": "everyone else",
             "nobody": "nobody (no forwarder before the buyer)"}
    shares = pd.DataFrame(rows, index=list(names)).T
    if staff.size == 0:
        shares = shares.drop(columns="staff")
    if kocs.size == 0:
        shares = shares.drop(columns="kocs")
    y = np.arange(len(shares))
    left = np.zeros(len(shares))
    for col in shares.columns:
        w = shares[col].to_numpy()
        ax.barh(y, w, left=left, height=0.62, color=_GROUP_COLORS[col], label=names[col], edgecolor="white")
        for i in np.flatnonzero(w >= 0.06):  # a share wide enough to carry its number
            ax.text(left[i] + w[i] / 2, y[i], f"{w[i]:.0%}", ha="center", va="center", fontsize=9,
                    color="white" if col != "nobody" else "#333333")
        left = left + w
    from matplotlib.ticker import PercentFormatter

    ax.set_yticks(y, shares.index.tolist(), parse_math=False)
    ax.set_ylim(len(shares) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of all sales value")
    ax.set_title("Who gets the credit for the sales depends on the model")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, alignment="left", title="credited to")
    return {"shares": shares.rename(columns=names)}


@styled
def attribution(g: ShareGraph, n: int = 10, *, key: str | Sequence[str] = "attributed", staff: Any = None,
                kocs_key: str = "koc", ax: Axes | None = None) -> Axes:
    """Who brought the sales: the people credited with the most sales value, or, for several models,
    how the credit splits between staff, the top KOCs, everyone else and nobody.

    With one ``key``: horizontal bars of the ``n`` people credited with the most value by
    :func:`kocgraph.tl.attribution`, each with its value and share of all sales; staff in navy; a
    caption says how much was bought with no forwarder before the buyer (credited to nobody). With a
    list of keys (one :func:`kocgraph.tl.attribution` run per model): one 100% bar per model, so you
    see how much the answer depends on the model before you pay commissions.

    Parameters
    ----------
    g
        The graph, after :func:`kocgraph.tl.attribution`.
    n
        One key: how many people to show. Several keys: the size of the "top KOCs" group (the top
        ``n`` of :func:`kocgraph.tl.kocs`, when it ran).
    key
        The ``key_added`` of :func:`kocgraph.tl.attribution`, or a list of them.
    staff
        Staff account ids; None: those :func:`kocgraph.tl.kocs` excluded as staff; ``[]``: none.
    kocs_key
        The ``key_added`` of the KOC ranking whose top users form the "top KOCs" group.
    ax
        Axes to draw into; None makes a new figure.

    Returns
    -------
    The Axes; ``ax.kocgraph`` holds ``users`` and ``values`` (one key) or ``shares`` (a DataFrame,
    one row per model, one column per group, rows adding up to 1).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.attribution(g, model="linear")
    >>> ax = kg.pl.attribution(g, n=3)
    >>> ax.kocgraph["users"]  # the same people as kg.get.attribution(g, n=3)
    ['alice', 'brand', 'carol']
    >>> plt.close(ax.figure)
    >>> for m in ("last_touch", "first_touch"):
    ...     kg.tl.attribution(g, model=m, key_added=m)
    >>> ax = kg.pl.attribution(g, key=["last_touch", "first_touch"], staff=["brand", "staff_li"])
    >>> ax.kocgraph["shares"].sum(axis=1).round(6).tolist()
    [1.0, 1.0]
    >>> plt.close(ax.figure)
    """
    where = "kg.pl.attribution"
    g = check_graph(g, where)
    n = check_int("n", n, minimum=1, where=where)
    keys = [key] if isinstance(key, str) else list(key) if isinstance(key, (list, tuple)) else None
    if not keys or not all(isinstance(k, str) for k in keys):
        raise InvalidParameterError(
            f"key={key!r} must be the key_added of kg.tl.attribution (a str) or a list of them, "
            "e.g. key=['attr_last_touch', 'attr_linear']."
        )
    for k in keys:  # validate before any figure is made
        _credit(g, k, where)
    st = staff_codes(g, staff, cap=None, kocs_key=kocs_key)
    ax = _new_ax(ax, figsize=(8.0, max(2.6, 0.36 * (n if len(keys) == 1 else len(keys)) + 1.6)))
    info = _people(ax, g, keys[0], n, st) if len(keys) == 1 else _models(ax, g, keys, n, st, kocs_key)
    _store(ax, keys=keys, **info)
    return ax
