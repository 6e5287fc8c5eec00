"""``kg.tl.attribution``: credit every conversion to the upstream sharers on the buyer's cascade path."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph, record
from .._core.validation import check_int
from ..algorithms import attribution as AT
from ..exceptions import InvalidParameterError, check_choice
from ._cascades import cascades as _cascades
from ._kocs import CONVERSION_TYPES

__all__ = ["attribution"]

def attribution(
    g: ShareGraph,
    *,
    model: Literal["last_touch", "first_touch", "linear", "time_decay"] = "last_touch",
    max_levels: int = 3,
    half_life: Any = None,
    key_added: str = "attributed",
    copy: bool = False,
) -> ShareGraph | None:
    """Credit every purchase/signup to the upstream sharers on the buyer's cascade path.

    A conversion is an event whose ``event_type`` is ``purchase`` or ``signup``; its buyer is the
    event's target and its value the ``value`` column (1 when absent). The upstream sharers are the
    buyer's ancestors in that item's cascade tree, nearest first, up to ``max_levels`` levels:
    ``last_touch`` credits the parent, ``first_touch`` the farthest ancestor within ``max_levels``,
    ``linear`` splits equally, ``time_decay`` weights each sharer by ``2^(-Δt / half_life)`` (Δt from
    the sharer joining the cascade to the conversion; default half-life 7 days; ``half_life`` takes a
    string like ``"3D"``, a ``pd.Timedelta``, or a number of seconds). Each conversion's
    credit sums exactly to its value; a buyer who is a root has no upstream sharer and the value is
    reported as unattributed.

    ``max_levels`` defaults to 3 because Chinese regulation forbids commission chains deeper than
    three levels (multi-level schemes of three or more levels count as pyramid selling under the 2005
    Regulations on Prohibition of Pyramid Selling); credit is read the same way here.

    Parameters
    ----------
    g
        The graph to annotate (its log needs purchase/signup events).
    model
        ``"last_touch"``, ``"first_touch"``, ``"linear"`` or ``"time_decay"``.
    max_levels
        How many sharers upstream of the buyer can get credit (>= 1).
    half_life
        ``time_decay`` only: a duration (``"3D"``, a ``pd.Timedelta``, or seconds); None: 7 days.
    key_added
        Where the results go: the ``g.nodes`` columns above and ``g.meta[key_added]`` (the record of the run: columns written, parameters).
    copy
        Annotate and return a copy instead of ``g`` (which is then left as it was).

    Writes
    ------
    ``g.nodes[key_added + "_value"]`` and ``g.nodes[key_added + "_conversions"]`` (fractional);
    ``g.meta[key_added]``: totals, unattributed value, and the credit per level.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.attribution(g, model="linear")
    >>> round(float(g.nodes.loc["alice", "attributed_value"]), 2)  # 199/2 + 59/3 + 88/3
    148.5
    >>> g.meta["attributed"]["total_value"]
    346.0
    """
    g = check_graph(g, "kg.tl.attribution")
    if copy:
        g = g.copy()
    check_choice("model", model, ("last_touch", "first_touch", "linear", "time_decay"), where="kg.tl.attribution")
    max_levels = check_int("max_levels", max_levels, minimum=1, where="kg.tl.attribution")
    if "event_type" not in g.events.columns:
        raise InvalidParameterError(
            "kg.tl.attribution needs an event_type column with purchase/signup events; pass event_type= to kg.read_log."
        )
    computed = []
    if g._forest is None:
        _cascades(g)
        computed.append("cascades")
    f = g._forest
    c = g.codes
    ev = g.events
    idx = np.flatnonzero(ev["event_type"].isin(CONVERSION_TYPES).to_numpy())
    if "value" in ev.columns:
        val = ev["value"].to_numpy(np.float64, na_value=np.nan)[idx]
        val = np.where(np.isnan(val), 0.0, val)
    else:
        val = np.ones(idx.size)
    N = np.int64(max(g.n_users, 1))
    hkeys = f.item.astype(np.int64) * N + f.user  # holders are sorted by (item, user)
    q = c.item[idx].astype(np.int64) * N + c.tgt[idx]
    pos = np.searchsorted(hkeys, q)
    pos_c = np.minimum(pos, max(hkeys.shape[0] - 1, 0))
    conv_holder = np.where((hkeys.shape[0] > 0) & (hkeys[pos_c] == q), pos_c, -1)
    hl = None
    if half_life is not None:
        if isinstance(half_life, bool):
            raise InvalidParameterError(f"half_life={half_life!r} must be a duration, e.g. '7D' or pd.Timedelta(days=3).")
        if isinstance(half_life, (int, float, np.integer, np.floating)):
            # a plain number is in seconds (in events, for a log without times): never silently nanoseconds
            hl = float(half_life) * (1e9 if g.has_time else 1.0)
        else:
            hl = float(pd.Timedelta(half_life).value)
        if not hl > 0:
            raise InvalidParameterError(f"half_life={half_life!r} must be positive, e.g. '7D' or pd.Timedelta(days=3).")
    credit_v, credit_c, levels = AT.attribute(
        f.parent, f.user, conv_holder, val, model=model, max_levels=max_levels, half_life=hl,
        hold_time=c.time[f.hold_event], conv_time=c.time[idx], n_users=g.n_users,
    )
    g.nodes[f"{key_added}_value"] = credit_v
    g.nodes[f"{key_added}_conversions"] = credit_c
    per_level = {k: np.asarray(v).tolist() for k, v in levels.items() if np.ndim(v) == 1}
    record(g, key_added, {"model": model, "max_levels": max_levels,
                          "half_life": None if half_life is None else str(half_life)},
           tool="tl.attribution", columns={"nodes": [f"{key_added}_value", f"{key_added}_conversions"]},
           n_conversions=int(idx.size), total_value=float(val.sum()),
           unattributed_value=float(levels["unattributed_value"]),
           unattributed_conversions=float(levels["unattributed_conversions"]),
           per_level=per_level, computed=computed)
    return g if copy else None
