"""Cascade forests from forwarding events: first receipt wins.

Pure kernels: integer arrays in, arrays out; no pandas, no ShareGraph. Every step is a vectorized
numpy pass over the events (plus one pass per tree level for subtree sizes), so the cost is
O(events) with no per-item or per-event Python loop.

The rule (see ``docs/definitions.md``): events are totally ordered by ``(time, row)``. A user *holds*
an item from its first send or its first receipt of that item, whichever comes first. A user whose
first receipt comes before its first send joins the cascade as the child of that receipt's sender;
every other receipt is an *exposure*. A user who sends an item before ever receiving it is a *root*.
Because a parent always holds the item strictly before its child (in event order), the parent links
can never form a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from ._parallel import side_by_side
from ._sort import sort_with_order, stable_argsort

__all__ = ["Forest", "build_forest", "item_metrics", "user_metrics", "subtree_sizes", "depths_and_roots"]

_INF = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Forest:
    """One row per (item, holder): the cascade forests of every item at once.

    Attributes
    ----------
    item, user : int32 arrays
        Item code and user code of each holder.
    parent : int64 array
        Index (into these arrays) of the holder's parent, or -1 for a root.
    parent_event : int64 array
        Event index of the first receipt that made the parent link, or -1 for a root.
    hold_event : int64 array
        Event index from which the user holds the item (its first receipt or first send).
    depth : int32 array
        Hops from the holder's root (roots have depth 0).
    root : int64 array
        Index of the holder's root.
    size : int64 array
        Subtree size, the holder included (so reach = size - 1).
    n_forwarded_before_receipt : int
        Holders who sent the item before they first received it: they count as roots and their later
        receipts as exposures.
    """

    item: np.ndarray
    user: np.ndarray
    parent: np.ndarray
    parent_event: np.ndarray
    hold_event: np.ndarray
    depth: np.ndarray
    root: np.ndarray
    size: np.ndarray
    n_forwarded_before_receipt: int

    @property
    def n(self) -> int:
        return int(self.item.shape[0])


def event_order(time: np.ndarray) -> np.ndarray | None:
    """Stable order of the events by time (ties by row); ``None`` when already in order."""
    if time.shape[0] < 2 or bool(np.all(time[1:] >= time[:-1])):
        return None
    return np.argsort(time, kind="stable")


def forest_levels(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Breadth-first levels of a forest given by parent indices (-1 for roots).

    Returns ``(order, bounds, depth, root)``: ``order[bounds[d]:bounds[d+1]]`` are the nodes at depth
    ``d``. One sort of the parent array builds the children index; each node is then touched once.

    >>> order, bounds, depth, root = forest_levels(np.array([-1, 0, 1, -1, 3]))
    >>> depth.tolist(), root.tolist(), bounds.tolist()
    ([0, 1, 2, 0, 1], [0, 0, 0, 3, 3], [0, 2, 4, 5])
    """
    n = parent.shape[0]
    depth = np.zeros(n, dtype=np.int32)
    root = np.arange(n, dtype=np.int64)
    if n == 0:
        return np.empty(0, dtype=np.int64), np.zeros(1, dtype=np.int64), depth, root
    by_parent = stable_argsort(parent + 1, max_key=n)  # roots (-1) first, then children grouped by parent
    n_roots = int(np.count_nonzero(parent < 0))
    children = by_parent[n_roots:]
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(parent[children], minlength=n), out=ptr[1:])
    levels = [by_parent[:n_roots]]
    frontier = levels[0]
    d = 0
    while True:
        k = ptr[frontier + 1] - ptr[frontier]
        tot = int(k.sum())
        if tot == 0:
            break
        starts = np.repeat(ptr[frontier], k)
        offs = np.arange(tot, dtype=np.int64) - np.repeat(np.cumsum(k) - k, k)
        nxt = children[starts + offs]
        d += 1
        depth[nxt] = d
        root[nxt] = root[parent[nxt]]
        levels.append(nxt)
        frontier = nxt
    order = np.concatenate(levels)
    bounds = np.zeros(len(levels) + 1, dtype=np.int64)
    np.cumsum([lv.shape[0] for lv in levels], out=bounds[1:])
    return order, bounds, depth, root


def depths_and_roots(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth and root of every node of a forest given by parent indices (-1 for roots).

    >>> d, r = depths_and_roots(np.array([-1, 0, 1, -1, 3]))
    >>> d.tolist(), r.tolist()
    ([0, 1, 2, 0, 1], [0, 0, 0, 3, 3])
    """
    _, _, depth, root = forest_levels(parent)
    return depth, root


def subtree_sizes(parent: np.ndarray, depth: np.ndarray, levels: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Subtree size of every node (the node included), accumulated level by level, deepest first.

    >>> subtree_sizes(np.array([-1, 0, 1, 0, -1]), np.array([0, 1, 2, 1, 0])).tolist()
    [4, 2, 1, 1, 1]
    """
    n = parent.shape[0]
    size = np.ones(n, dtype=np.int64)
    if n == 0:
        return size
    if levels is None:
        order = np.argsort(depth, kind="stable")
        bounds = np.searchsorted(depth[order], np.arange(int(depth.max()) + 2))
    else:
        order, bounds = levels
    for d in range(bounds.shape[0] - 2, 0, -1):
        nodes = order[bounds[d] : bounds[d + 1]]
        np.add.at(size, parent[nodes], size[nodes])
    return size


def _first_receipts(o: np.ndarray, new: np.ndarray, grp: np.ndarray, is_send: np.ndarray, E: int, H: int) -> np.ndarray:
    """Each holder's first receipt (its rank; _INF if none), read off the sorted (item, user) keys: a
    receipt that opens its holder's group, or follows one of the group's sends."""
    after_send = np.empty_like(is_send)
    if is_send.shape[0]:
        after_send[0] = False
        after_send[1:] = is_send[:-1]
    fr = np.flatnonzero(~is_send & (new | after_send))
    recv_rank = np.full(H, _INF, dtype=np.int64)
    recv_rank[grp[fr]] = o[fr] - E
    return recv_rank


def _senders(o: np.ndarray, grp: np.ndarray, is_send: np.ndarray, E: int) -> np.ndarray:
    """The holder index of each event's sender, by rank."""
    sp = np.flatnonzero(is_send)
    send_h = np.empty(E, dtype=np.int64)
    send_h[o[sp]] = grp[sp]
    return send_h


def build_forest(src: np.ndarray, tgt: np.ndarray, item: np.ndarray, time: np.ndarray, n_users: int) -> Forest:
    """Cascade forests of all items from event arrays (codes; ``time`` any int64 order key).

    Parameters
    ----------
    src, tgt, item : integer arrays of equal length
        Sender code, receiver code and item code of each event.
    time : int64 array
        Event time; ties are broken by position.
    n_users : int
        Number of user codes.

    Examples
    --------
    Two forwards of one item, A(0) -> B(1) -> C(2), and a later exposure A -> C:

    >>> f = build_forest(np.array([0, 1, 0]), np.array([1, 2, 2]), np.zeros(3, int), np.array([1, 2, 3]), 3)
    >>> f.user.tolist(), f.depth.tolist(), f.size.tolist()
    ([0, 1, 2], [0, 1, 2], [3, 2, 1])
    """
    E = int(src.shape[0])
    N = np.int64(max(n_users, 1))
    order = event_order(time)
    if order is not None:  # work in time order ("rank" space); event indices are mapped back at the end
        src, tgt, item = src[order], tgt[order], item[order]
    item64 = item.astype(np.int64)
    keys = np.concatenate([item64 * N + src, item64 * N + tgt])
    # sort-based factorization of the (item, user) keys: one packed sort beats hashing 2E random keys.
    # Position p < E is the send of event p, p >= E the receipt of event p - E; the stable sort leaves
    # each holder's sends first, in time order, then its receipts, in time order.
    ks, o = sort_with_order(keys)
    new = np.empty(ks.shape[0], dtype=bool)
    if ks.shape[0]:
        new[0] = True
        np.not_equal(ks[1:], ks[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    uniq = ks[starts]
    del ks
    H = int(uniq.shape[0])
    grp = np.cumsum(new) - 1  # holder of each sorted position
    is_send = o < E

    recv_rank, send_h = side_by_side(partial(_first_receipts, o, new, grp, is_send, E, H),
                                     partial(_senders, o, grp, is_send, E))
    # first send: the group's first position, when it is a send
    first = o[starts]
    send_rank = np.where(first < E, first, _INF)
    del grp, o, is_send, new, first
    has_parent = recv_rank < send_rank
    parent = np.full(H, -1, dtype=np.int64)
    parent[has_parent] = send_h[recv_rank[has_parent]]
    del send_h
    # ranks are event indices when the events came in time order; else map them back
    first_recv_ev = np.where(has_parent, recv_rank, -1)
    hold_event = np.minimum(send_rank, recv_rank)
    if order is not None:
        first_recv_ev[has_parent] = order[first_recv_ev[has_parent]]
        hold_event = order[hold_event]
    n_fbr = int(np.count_nonzero((send_rank < recv_rank) & (recv_rank < _INF)))

    lvl_order, bounds, depth, root = forest_levels(parent)
    size = subtree_sizes(parent, depth, (lvl_order, bounds))
    return Forest(
        item=(uniq // N).astype(np.int32),
        user=(uniq % N).astype(np.int32),
        parent=parent,
        parent_event=first_recv_ev,
        hold_event=hold_event,
        depth=depth,
        root=root,
        size=size,
        n_forwarded_before_receipt=n_fbr,
    )


def item_metrics(f: Forest, time: np.ndarray, n_items: int) -> dict[str, np.ndarray]:
    """Per-item cascade figures: size, depth, max_breadth, virality, n_roots, start, end (time units).

    ``virality`` is the mean shortest-path distance over all pairs of users joined by a path in the
    item's forest: ``2 * sum_edges s*(n_T - s) / sum_trees n_T*(n_T - 1)`` (Goel et al.'s structural
    virality when the forest is one tree); NaN when no pair exists.
    """
    it = f.item.astype(np.int64)
    size = np.bincount(it, minlength=n_items).astype(np.int64)
    is_root = f.parent < 0
    n_roots = np.bincount(it[is_root], minlength=n_items).astype(np.int64)
    depth = np.zeros(n_items, dtype=np.int64)
    np.maximum.at(depth, it, f.depth.astype(np.int64))
    # breadth: holders per (item, depth) level; holders are sorted by item so use factorize
    level_key = it * (np.int64(f.depth.max(initial=0)) + 1) + f.depth
    lk_codes, lk_uniq = pd.factorize(level_key)
    counts = np.bincount(lk_codes)
    max_breadth = np.zeros(n_items, dtype=np.int64)
    np.maximum.at(max_breadth, lk_uniq // (np.int64(f.depth.max(initial=0)) + 1), counts)
    # structural virality over the forest
    n_tree = f.size[f.root].astype(np.float64)
    s = f.size.astype(np.float64)
    num = np.bincount(it[~is_root], weights=(s * (n_tree - s))[~is_root], minlength=n_items)
    roots_idx = np.flatnonzero(is_root)
    nr = f.size[roots_idx].astype(np.float64)
    den = np.bincount(it[roots_idx], weights=nr * (nr - 1.0), minlength=n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        virality = np.where(den > 0, 2.0 * num / np.where(den > 0, den, 1.0), np.nan)
    t = time[f.hold_event]
    start = np.full(n_items, np.iinfo(np.int64).max, dtype=np.int64)
    end = np.full(n_items, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(start, it, t)
    np.maximum.at(end, it, t)
    return {
        "size": size,
        "depth": depth,
        "max_breadth": max_breadth,
        "virality": virality,
        "n_roots": n_roots,
        "start": start,
        "end": end,
    }


def user_metrics(f: Forest, n_users: int) -> dict[str, np.ndarray]:
    """Per-user figures summed over items: reach, direct_reach, resharers, items_started,
    items_received.

    ``resharers`` counts the direct receivers who passed the item on (tree children with children of
    their own): how often what a user sends actually moves people, not just how much they send.
    """
    u = f.user.astype(np.int64)
    is_root = f.parent < 0
    reach = np.bincount(u, weights=(f.size - 1).astype(np.float64), minlength=n_users)
    parents_user = u[f.parent[~is_root]]
    passed_on = f.size[~is_root] > 1
    return {
        "reach": np.rint(reach).astype(np.int64),
        "direct_reach": np.bincount(parents_user, minlength=n_users).astype(np.int64),
        "resharers": np.bincount(parents_user[passed_on], minlength=n_users).astype(np.int64),
        "items_started": np.bincount(u[is_root], minlength=n_users).astype(np.int64),
        "items_received": np.bincount(u[~is_root], minlength=n_users).astype(np.int64),
    }
