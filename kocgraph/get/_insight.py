"""``kg.get.routes`` and ``kg.get.attribution``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph, require

__all__ = ["routes", "attribution", "profile"]


def routes(g: ShareGraph, user: Any, *, key: str = "routes") -> pd.DataFrame:
    """The routes found to one user, best first: who can introduce us, and through whom.

    Columns: ``rank``, ``source`` (the staff account), ``introducer`` (the last person before the
    user: the one to ask), ``hops``, ``strength`` (product of tie strengths: the chance the content
    travels the whole route), ``path`` (``"brand → alice → carol"``) and ``path_users`` (the list).
    An empty frame with ``.attrs["unreachable"]`` giving the reason when no route exists.

    Parameters
    ----------
    g
        The graph after :func:`kocgraph.tl.routes`.
    user
        The target's user id.
    key
        The ``key_added`` of the routes.

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
    require(g, key, tool="tl.routes", where="kg.get.routes", args="sources=staff, targets=[...]", tables=[key])
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

    Parameters
    ----------
    g
        The graph after :func:`kocgraph.tl.attribution`.
    n
        How many users, most credited first.
    key
        The ``key_added`` of the attribution.

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
    require(g, key, tool="tl.attribution", where="kg.get.attribution", nodes=[col, f"{key}_conversions"])
    v = g.nodes[col].to_numpy(np.float64)
    conv = g.nodes[f"{key}_conversions"].to_numpy(np.float64)
    total = float(g.meta[key]["total_value"]) or 1.0
    order = np.lexsort((np.arange(v.size), -v))
    order = order[v[order] > 0][:n]
    return pd.DataFrame({"user": g.nodes.index[order], "value": v[order], "conversions": conv[order],
                         "share": v[order] / total})


def profile(g: ShareGraph, user: Any, *, key: str = "affinity", n: int = 3) -> pd.DataFrame:
    """What moves one user, in plain sentences a sales rep can act on.

    Rows (``topic``, ``summary``): the categories they forward most compared with everyone (lift),
    the hour they are most active, their preferred channel, and the items they spread most recently
    (needs :func:`kocgraph.tl.affinity`; the items part also uses :func:`kocgraph.tl.cascades`).

    Parameters
    ----------
    g
        The graph after :func:`kocgraph.tl.affinity`.
    user
        The user id.
    key
        The ``key_added`` of the affinity run.
    n
        How many categories and recent items to name.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.cascades(g)
    >>> kg.tl.affinity(g, kg.datasets.toy_items())
    >>> print(kg.get.profile(g, "judy").to_string(index=False))
      topic                                                                    summary
      likes Forwards mostly promotion (3.2× the average user, 1 of 1 items forwarded).
      hours            Most active around 18:00 (Asia/Shanghai), 2 of 2 forwards then.
    channel                                      Prefers chat: 2 of 2 forwards (100%).
     recent  Recently spread coupon (2026-01-01, reached 3); reached 3 users in total.
    """
    g = check_graph(g, "kg.get.profile")
    require(g, key, tool="tl.affinity", where="kg.get.profile", args="items")
    code = int(g.user_codes([user])[0])
    rows: list[tuple[str, str]] = []
    tab = g.tables.get(key)
    if tab is not None:
        mine = tab[tab["user"].to_numpy() == code]
        strong = mine[mine["lift"].to_numpy() >= 1.2].head(n)
        if len(strong):
            parts = [f"{r.category} ({r.lift:.1f}× the average user, {int(r.items)} of "
                     f"{int(round(r.items / r.share))} items forwarded)" for r in strong.itertuples()]
            rows.append(("likes", "Forwards mostly " + "; ".join(parts) + "."))
        elif len(mine):
            cats = ", ".join(map(str, mine["category"].head(n)))
            rows.append(("likes", f"No strong preference: forwards {cats} about as often as everyone does."))
        else:
            rows.append(("likes", "Has not forwarded any categorised item yet."))
    hours = g.tables.get(key + "_hours")
    tz = g.meta[key]["params"].get("tz", "UTC")
    if hours is not None:
        mine = hours[hours["user"].to_numpy() == code]
        if len(mine):
            top = mine.sort_values(["forwards", "hour"], ascending=[False, True]).iloc[0]
            rows.append(("hours", f"Most active around {int(top['hour']):02d}:00 ({tz}), "
                                  f"{int(top['forwards'])} of {int(mine['forwards'].sum())} forwards then."))
    chans = g.tables.get(key + "_channels")
    if chans is not None:
        cnt = chans.iloc[code]
        tot = int(cnt.sum())
        if tot:
            best = cnt.idxmax()
            rows.append(("channel", f"Prefers {best}: {int(cnt[best])} of {tot} forwards ({100 * cnt[best] / tot:.0f}%)."))
    if g.trees is not None:
        t = g.trees
        sel = t[(t["user"].cat.codes.to_numpy() == code) & (t["subtree_size"].to_numpy() > 1)]
        if len(sel):
            sel = sel.sort_values("time", ascending=False).head(n)
            parts = [f"{r.item} ({pd.Timestamp(r.time).date()}, reached {int(r.subtree_size) - 1:,})" for r in sel.itertuples()]
            total = int(g.nodes["reach"].iloc[code]) if "reach" in g.nodes.columns else None
            tail = f"; reached {total:,} users in total." if total is not None else "."
            rows.append(("recent", "Recently spread " + ", ".join(parts) + tail))
        else:
            rows.append(("recent", "Has not spread any item to anyone yet."))
    return pd.DataFrame(rows, columns=["topic", "summary"])
