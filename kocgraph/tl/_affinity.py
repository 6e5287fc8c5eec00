"""``kg.tl.affinity``: what moves each user (category lift, active hours, channels)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph, drop_previous, record
from ..algorithms import affinity as AF
from ..exceptions import InvalidParameterError, LogSchemaError, close_matches
from ._kocs import CONVERSION_TYPES

__all__ = ["affinity"]


def affinity(
    g: ShareGraph,
    items: pd.DataFrame | None = None,
    *,
    by: str = "category",
    tz: str = "Asia/Shanghai",
    key_added: str = "affinity",
    copy: bool = False,
) -> ShareGraph | None:
    """Per user: the lift of each item category in what they forward, their active hours and channels.

    ``lift(u, c)`` is the share of the user's forwarded items in category ``c`` divided by the same
    share over everyone's forwards (each (user, item) counted once): 2 means twice the crowd's interest.
    Only forwards count: purchase/signup rows (credited to the sharer) and ``view`` events are left
    out. Hours are counted in ``tz`` (Beijing time by default) from the user's forwards; channels from the
    ``channel`` column when the log has one.

    Parameters
    ----------
    items
        Item metadata: indexed by item id (or with an ``item`` column), with the ``by`` column
        (e.g. category, tag or price band). Items missing from it count as uncategorised.
    by
        The metadata column to measure lift on.
    g
        The graph to annotate.
    tz
        Time zone the active hours are counted in.
    key_added
        Where the results go: the tables and ``g.nodes`` columns above and ``g.meta[key_added]`` (the record of the run: columns written, parameters).
    copy
        Annotate and return a copy instead of ``g`` (which is then left as it was).

    Writes
    ------
    ``g.tables[key_added]`` (long table: user code, category, items, share, lift),
    ``g.tables[key_added + "_hours"]`` (user code, hour, forwards), ``g.tables[key_added + "_channels"]``,
    ``g.nodes``: ``affinity_top_category``, ``affinity_top_category_lift``, ``affinity_active_hour``,
    ``affinity_preferred_channel`` (``<key_added>_...``).

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.affinity(g, kg.datasets.toy_items())
    >>> g.nodes.loc["judy", ["affinity_top_category", "affinity_preferred_channel"]].tolist()
    ['promotion', 'chat']
    """
    g = check_graph(g, "kg.tl.affinity")
    if copy:
        g = g.copy()
    drop_previous(g, key_added)
    c = g.codes
    n = g.n_users
    meta: dict[str, Any] = {}
    # only forwards describe a user's taste and habits: purchases/signups (credited to the sharer) and
    # view events are not things the user forwarded
    if "event_type" in g.events.columns:
        fwd = np.flatnonzero(~g.events["event_type"].isin(CONVERSION_TYPES + ("view",)).to_numpy())
    else:
        fwd = np.arange(g.n_events)
    src, item, time = c.src[fwd], c.item[fwd], c.time[fwd]
    meta["n_forwards_used"] = int(fwd.size)
    if items is not None:
        if not isinstance(items, pd.DataFrame):
            raise InvalidParameterError(f"items must be a DataFrame of item metadata, got {type(items).__name__}.")
        tab = items.set_index("item") if "item" in items.columns else items
        if by not in tab.columns:
            near = close_matches(by, tab.columns)
            raise LogSchemaError(
                f"column {by!r} not in the item table; columns are {list(map(str, tab.columns))}."
                + (f" Did you mean by={near[0]!r}?" if near else "") + " Pass by='<column>'."
            )
        if not tab.index.is_unique:
            dup = tab.index[tab.index.duplicated()][:3].tolist()
            raise LogSchemaError(f"the item table lists some items twice (e.g. {dup!r}); keep one row per item.")
        cat_of = tab[by].reindex(g.items.index)
        codes, cats = pd.factorize(cat_of, use_na_sentinel=True)
        meta["uncategorised_items"] = int((codes < 0).sum())
        L = AF.category_lift(src, item, np.asarray(codes), n, len(cats)).tocoo()
        # items per (user, category), counted once per (user, item)
        pair = pd.unique(src.astype(np.int64) * max(g.n_items, 1) + item)
        pu, pi = pair // max(g.n_items, 1), pair % max(g.n_items, 1)
        pc = np.asarray(codes)[pi]
        ok = pc >= 0
        cnt = pd.Series(1, index=pd.MultiIndex.from_arrays([pu[ok], pc[ok]])).groupby(level=[0, 1]).sum()
        per_user = np.bincount(pu[ok], minlength=n)
        long = pd.DataFrame({"user": L.row.astype(np.int64), "category": np.asarray(cats, dtype=object)[L.col],
                             "lift": L.data})
        long["items"] = cnt.reindex(pd.MultiIndex.from_arrays([L.row, L.col])).to_numpy()
        long["share"] = long["items"] / per_user[long["user"].to_numpy()]
        long = long.sort_values(["user", "lift"], ascending=[True, False], kind="stable").reset_index(drop=True)
        g.tables[key_added] = long[["user", "category", "items", "share", "lift"]]
        best = long.drop_duplicates("user")
        topc = np.full(n, None, dtype=object)
        topl = np.full(n, np.nan)
        topc[best["user"].to_numpy()] = best["category"].to_numpy()
        topl[best["user"].to_numpy()] = best["lift"].to_numpy()
        g.nodes[f"{key_added}_top_category"] = topc
        g.nodes[f"{key_added}_top_category_lift"] = topl
        meta["by"] = by
    # active hours in the operator's time zone
    hours = pd.to_datetime(time, utc=True).tz_convert(tz).hour.to_numpy() if g.has_time else None
    if hours is not None:
        H = AF.hour_histogram(src, hours, n)
        nz = np.nonzero(H)
        g.tables[key_added + "_hours"] = pd.DataFrame({"user": nz[0].astype(np.int64), "hour": nz[1].astype(np.int64),
                                                       "forwards": H[nz].astype(np.int64)})
        active = np.where(H.sum(axis=1) > 0, H.argmax(axis=1), -1)
        g.nodes[f"{key_added}_active_hour"] = pd.array(np.where(active >= 0, active, 0), dtype="Int64")
        g.nodes.loc[active < 0, f"{key_added}_active_hour"] = pd.NA
    if "channel" in g.events.columns:
        ch = g.events["channel"]
        cc = np.asarray(ch.cat.codes, dtype=np.int64)[fwd]
        C = AF.channel_counts(src, cc, n, len(ch.cat.categories))
        pref = np.where(C.sum(axis=1) > 0, C.argmax(axis=1), -1)
        g.nodes[f"{key_added}_preferred_channel"] = pd.Categorical.from_codes(pref, categories=ch.cat.categories)
        g.tables[key_added + "_channels"] = pd.DataFrame(C, columns=[str(x) for x in ch.cat.categories])
    names = ("top_category", "top_category_lift", "active_hour", "preferred_channel")
    cols = [f"{key_added}_{x}" for x in names if f"{key_added}_{x}" in g.nodes.columns]
    tabs = [t for t in (key_added, key_added + "_hours", key_added + "_channels") if t in g.tables]
    record(g, key_added, {"by": by, "tz": tz, "items": None if items is None else int(len(items))},
           tool="tl.affinity", columns={"nodes": cols}, tables=tabs, **meta)
    return g if copy else None
