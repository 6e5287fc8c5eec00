"""``kg.pp`` filters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._core.graph import ShareGraph
from .._core.tools import check_graph
from .._core.validation import check_int
from ..exceptions import InvalidParameterError

__all__ = ["window", "keep_users", "exclude_users", "event_types", "min_item_events"]


def window(g: ShareGraph, start: Any = None, end: Any = None) -> ShareGraph:
    """Events with ``start <= time < end`` (UTC; naive bounds are read as UTC).

    Parameters
    ----------
    g
        The graph to cut.
    start
        First instant kept (a timestamp or string; None: from the first event).
    end
        First instant dropped (None: through the last event).

    Examples
    --------
    >>> import kocgraph as kg
    >>> kg.pp.window(kg.datasets.toy(), "2026-01-01T11:00Z").n_events
    11
    """
    return check_graph(g, "kg.pp.window").window(start, end)


def keep_users(g: ShareGraph, users: Iterable[Any]) -> ShareGraph:
    """Events whose source and target are both in ``users``.

    Parameters
    ----------
    g
        The graph to filter.
    users
        The user ids to keep (one id or a list).

    Examples
    --------
    >>> import kocgraph as kg
    >>> kg.pp.keep_users(kg.datasets.toy(), ["brand", "alice", "bob"]).n_events
    2
    """
    return check_graph(g, "kg.pp.keep_users").subgraph(users)


def exclude_users(g: ShareGraph, users: Iterable[Any]) -> ShareGraph:
    """Events touching none of ``users`` (e.g. drop test accounts).

    Parameters
    ----------
    g
        The graph to filter.
    users
        The user ids to drop (one id or a list).

    Examples
    --------
    >>> import kocgraph as kg
    >>> kg.pp.exclude_users(kg.datasets.toy(), ["brand"]).n_events
    28
    """
    g = check_graph(g, "kg.pp.exclude_users")
    codes = g.user_codes(list(users))
    drop = np.zeros(g.n_users, dtype=bool)
    drop[codes] = True
    mask = ~(drop[g.codes.src] | drop[g.codes.tgt])
    return g._select_events(mask, {"op": "exclude_users", "n_users": int(codes.size)})


def event_types(g: ShareGraph, types: Iterable[str]) -> ShareGraph:
    """Events of the given ``event_type`` values only (e.g. ``["share"]``).

    Parameters
    ----------
    g
        The graph to filter (its log must have an ``event_type`` column).
    types
        The event types to keep.

    Examples
    --------
    >>> import kocgraph as kg
    >>> kg.pp.event_types(kg.datasets.toy(), ["purchase"]).n_events
    3
    """
    g = check_graph(g, "kg.pp.event_types")
    if "event_type" not in g.events.columns:
        raise InvalidParameterError(
            "this log has no event_type column; pass event_type='<column>' to kg.read_log to use kg.pp.event_types."
        )
    types = [str(t).lower() for t in ([types] if isinstance(types, str) else types)]
    present = set(g.events["event_type"].cat.categories.astype(str))
    unknown = [t for t in types if t not in present]
    if unknown:
        raise InvalidParameterError(
            f"event types {unknown!r} do not occur in this log; it has {sorted(present)}. Pass some of those."
        )
    mask = g.events["event_type"].isin(types).to_numpy()
    return g._select_events(mask, {"op": "event_types", "types": types})


def min_item_events(g: ShareGraph, n: int) -> ShareGraph:
    """Events of items with at least ``n`` events (drop one-off items).

    Parameters
    ----------
    g
        The graph to filter.
    n
        The fewest events an item needs to be kept.

    Examples
    --------
    >>> import kocgraph as kg
    >>> kg.pp.min_item_events(kg.datasets.toy(), 10).n_items  # poster has 12 events, the others 9
    1
    """
    g = check_graph(g, "kg.pp.min_item_events")
    n = check_int("n", n, minimum=1, where="kg.pp.min_item_events")
    counts = np.bincount(g.codes.item, minlength=g.n_items)
    mask = counts[g.codes.item] >= n
    return g._select_events(mask, {"op": "min_item_events", "n": n})
