"""``kg.get.routes`` and ``kg.get.attribution``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph
from ..exceptions import NotComputedError

__all__ = ["routes", "attribution"]


def routes(g: ShareGraph, user: Any, *, key: str = "routes") -> pd.DataFrame:
    """The routes found to one user, best first: who can introduce us, and through whom.

    Columns: ``rank``, ``source`` (the staff account), ``introducer`` (the last person before the
    user: the one to ask), ``hops``, ``strength`` (product of tie strengths: the chance the content
    travels the whole route), ``path`` (``"brand → alice → carol"``) and ``path_users`` (the list).
    An empty frame with ``.attrs["unreachable"]`` giving the reason when no route exists.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.routes(g, sources=["brand"], targets=["carol"], k=3)
    >>> r = kg.get.routes(g, "carol")
    >>> r["introducer"].tolist(), r["strength"].round(2).tolist()
    (['bob', 'oscar', 'alice'], [0.2, 0.2, 0.15])
    >>> r["path"].iloc[0]
    'brand → bob → carol'
    
    """
    g = check_graph(g, "kg.get.routes")
    if key not in g.tables:
        raise NotComputedError(f"no routes under key {key!r}. Run kg.tl.routes(g, sources=staff, targets=...) first.")
    code = int(g.user_codes([user])[0])
    t = g.tables[key]
    sel = t[t["target"].to_numpy() == code].sort_values("rank")
    ids = g.nodes.index
    paths = [[ids[int(x)] for x in p] for p in sel["path"]]
    out = pd.DataFrame({
        "rank": sel["rank"].to_numpy(),
        "source": [ids[int(x)] for x in sel["source"]],
        "introducer": [ids[int(x)] if x >= 0 else None for x in sel["introducer"]],
        "hops": sel["hops"].to_numpy(),
        "strength": sel["strength"].to_numpy(),
        "path": [" → ".join(map(str, p)) for p in paths],
        "path_users": paths,
    })
    un = g.tables.get(key + "_unreachable")
    if un is not None and len(out) == 0:
        hit = un[un["target"].to_numpy() == code]
        out.attrs["unreachable"] = str(hit["reason"].iloc[0]) if len(hit) else "not a target of kg.tl.routes"
    return out


def attribution(g: ShareGraph, n: int = 20, *, key: str = "attributed") -> pd.DataFrame:
    """Users ranked by attributed conversion value, with fractional conversions and share of total.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.attribution(g)
    >>> kg.get.attribution(g, n=2)["user"].tolist()
    ['alice', 'carol']
    """
    g = check_graph(g, "kg.get.attribution")
    col = f"{key}_value"
    if col not in g.nodes.columns or key not in g.meta:
        raise NotComputedError(f"no attribution under key {key!r}. Run kg.tl.attribution(g) first.")
    v = g.nodes[col].to_numpy(np.float64)
    conv = g.nodes[f"{key}_conversions"].to_numpy(np.float64)
    total = float(g.meta[key]["total_value"]) or 1.0
    order = np.lexsort((np.arange(v.size), -v))
    order = order[v[order] > 0][:n]
    return pd.DataFrame({"user": g.nodes.index[order], "value": v[order], "conversions": conv[order],
                         "share": v[order] / total})
