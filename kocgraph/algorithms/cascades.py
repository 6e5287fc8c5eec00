"""Cascade forests from forwarding events: first receipt wins.

Pure kernels: integer arrays in, arrays out; no pandas, no ShareGraph. Every step is a vectorized
numpy pass over the events (plus one pass per tree level for subtree sizes), so the cost is
O(events) with no per-item or per-event Python loop.

Memory: the forests are built block by block of items (:data:`BLOCK_EVENTS` events at a time), so the
working memory is that of one block; the forest itself holds 32 bytes per holder (int32 indices), and
the per-item and per-user sums run over slices of :data:`CHUNK` holders.

The rule (see ``docs/definitions.md``): events are totally ordered by ``(time, row)``. A user *holds*
an item from its first send or its first receipt of that item, whichever comes first. A user whose
first receipt comes before its first send joins the cascade as the child of that receipt's sender;
every other receipt is an *exposure*. A user who sends an item before ever receiving it is a *root*.
Because a parent always holds the item strictly before its child (in event order), the parent links
can never form a cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from ..exceptions import InvalidParameterError
from ._parallel import side_by_side
from ._sort import sort_in_place, stable_argsort

__all__ = ["Forest", "build_forest", "item_metrics", "user_metrics", "subtree_sizes", "depths_and_roots",
           "index_dtype", "chunked_bincount", "BLOCK_EVENTS", "CHUNK"]

_INF = np.iinfo(np.int64).max
#: events per block of items in :func:`build_forest` (its working memory is that of one block)
BLOCK_EVENTS = 1 << 20
#: holders (or events) per slice in the per-item and per-user sums
CHUNK = 1 << 20


@dataclass(frozen=True)
class Forest:
    """One row per (item, holder): the cascade forests of every item at once.

    Attributes
    ----------
    Holders are sorted by (item, user). Index arrays are int32, or int64 for a log of more than
    2**30 events (see :func:`index_dtype`).

    item, user : int32 arrays
        Item code and user code of each holder.
    parent : index array
        Index (into these arrays) of the holder's parent, or -1 for a root.
    parent_event : index array
        Event index of the first receipt that made the parent link, or -1 for a root.
    hold_event : index array
        Event index from which the user holds the item (its first receipt or first send).
    depth : int32 array
        Hops from the holder's root (roots have depth 0).
    root : index array
        Index of the holder's root.
    size : index array
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


def index_dtype(n: int) -> type[np.signedinteger]:
    """``np.int32`` when every index below ``n`` (and the sentinel -1) fits in it, else ``np.int64``.

    >>> index_dtype(10).__name__, index_dtype(2**31 + 1).__name__
    ('int32', 'int64')
    """
    return np.int32 if n <= 2**31 else np.int64


def chunked_bincount(x: np.ndarray, minlength: int = 0, weights: np.ndarray | None = None, *,
                     chunk: int | None = None) -> np.ndarray:
    """``np.bincount(x, weights, minlength)`` taken slice by slice.

    ``np.bincount`` casts its input to ``intp``: on an int32 array that is a copy twice its size.
    Slices bound that copy to ``chunk`` elements. With ``weights`` the result is the sum of the
    slices' sums, the same as one call when the weights are whole numbers (sums below 2**53 are
    exact); the callers here pass only such weights.

    >>> chunked_bincount(np.array([0, 2, 2, 1], dtype=np.int32), 4, chunk=2).tolist()
    [1, 1, 2, 0]
    """
    chunk = CHUNK if chunk is None else chunk
    n = int(x.shape[0])
    if n <= chunk or x.dtype == np.intp:
        return np.bincount(x, weights=weights, minlength=minlength)
    size = max(int(minlength), int(x.max()) + 1)
    out = np.zeros(size, dtype=np.float64 if weights is not None else np.intp)
    for a in range(0, n, chunk):
        w = None if weights is None else weights[a : a + chunk]
        out += np.bincount(x[a : a + chunk], weights=w, minlength=size)
    return out


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


def _bucket_events(blk_of_item: np.ndarray, item: np.ndarray, order: np.ndarray | None,
                   per_block: np.ndarray) -> np.ndarray:
    """Event indices grouped by block (block ``b``'s events at ``sum(per_block[:b])``), each group in
    time order: a stable bucket sort over slices of :data:`CHUNK` events, so that besides the result
    (int32) it holds one slice's worth of arrays, never a sort of all the events."""
    E = int(item.shape[0])
    idx = index_dtype(E)
    ev = np.empty(E, dtype=idx)
    cursor = np.concatenate([[0], np.cumsum(per_block)[:-1]]).astype(np.int64)
    nb = int(per_block.shape[0])
    for a in range(0, E, CHUNK):
        rank = np.arange(a, min(a + CHUNK, E), dtype=np.int64)  # positions in time order
        events = rank if order is None else order[rank]
        blk = blk_of_item[item[events]]
        o = np.argsort(blk, kind="stable")  # radix sort of small integers
        count = np.bincount(blk, minlength=nb)
        first_in_slice = np.cumsum(count) - count
        b_sorted = blk[o]
        dest = cursor[b_sorted] + (np.arange(o.shape[0]) - first_in_slice[b_sorted])
        ev[dest] = events[o]
        cursor += count
    return ev


def _item_blocks(item: np.ndarray, order: np.ndarray | None, block_events: int) -> list[tuple[int, np.ndarray | None]]:
    """The events cut into blocks of consecutive item codes, about ``block_events`` events each (an
    item is never cut), each block's events in time order.

    Returns ``[(first item code, event indices)]``; event indices ``None`` stand for all events in
    their given order.
    """
    E = int(item.shape[0])
    if block_events >= E:
        return [(0, order)]
    counts = chunked_bincount(item)
    cum = np.cumsum(counts)
    first = np.unique(np.searchsorted(cum, np.arange(0, E, block_events, dtype=np.int64), side="right"))
    first[0] = 0
    per_block = np.add.reduceat(counts, first)
    del counts, cum
    blk_of_item = np.zeros(int(item.max()) + 1, dtype=np.int16 if first.shape[0] < 2**15 else np.int32)
    blk_of_item[first[1:]] = 1
    np.cumsum(blk_of_item, out=blk_of_item)
    ev = _bucket_events(blk_of_item, item, order, per_block)
    bounds = np.concatenate([[0], np.cumsum(per_block)])
    return [(int(first[j]), ev[bounds[j] : bounds[j + 1]]) for j in range(first.shape[0])]


def _block_forest(src: np.ndarray, tgt: np.ndarray, item: np.ndarray, ev: np.ndarray | None, item_lo: int,
                  N: int) -> dict[str, Any]:
    """The forests of one block of items (see :func:`build_forest`); holder indices local to the block.

    ``ev``: the block's events in time order (``None``: all events, as given)."""
    if ev is None:
        s, t, it = src, tgt, item
    else:
        s, t, it = src[ev], tgt[ev], item[ev]
    E = int(s.shape[0])
    # sort-based factorization of the (item, user) keys: one packed sort beats hashing 2E random keys.
    # Position p < E is the send of event p, p >= E the receipt of event p - E; the stable sort leaves
    # each holder's sends first, in time order, then its receipts, in time order.
    keys = np.empty(2 * E, dtype=np.int64)
    np.subtract(it, item_lo, out=keys[:E], casting="unsafe")
    keys[:E] *= N
    np.add(keys[:E], t, out=keys[E:])
    keys[:E] += s
    n_blk_items = int(it.max()) - item_lo + 1 if E else 1
    ks, o = sort_in_place(keys, max_key=n_blk_items * N - 1)  # keys becomes o
    del keys
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
    del grp, o, is_send, new, first, starts
    has_parent = recv_rank < send_rank
    parent = np.full(H, -1, dtype=np.int64)
    parent[has_parent] = send_h[recv_rank[has_parent]]
    del send_h
    # ranks are event indices when the block is all events in their given order; else map them back
    first_recv_ev = np.where(has_parent, recv_rank, -1)
    hold_event = np.minimum(send_rank, recv_rank)
    if ev is not None:
        first_recv_ev[has_parent] = ev[first_recv_ev[has_parent]]
        hold_event = ev[hold_event]
    n_fbr = int(np.count_nonzero((send_rank < recv_rank) & (recv_rank < _INF)))
    del send_rank, recv_rank, has_parent

    lvl_order, bounds, depth, root = forest_levels(parent)
    size = subtree_sizes(parent, depth, (lvl_order, bounds))
    del lvl_order, bounds
    return {"item": uniq // N + item_lo, "user": uniq % N, "parent": parent, "parent_event": first_recv_ev,
            "hold_event": hold_event, "depth": depth, "root": root, "size": size, "n_fbr": n_fbr}


def build_forest(src: np.ndarray, tgt: np.ndarray, item: np.ndarray, time: np.ndarray, n_users: int, *,
                 block_events: int | None = None) -> Forest:
    """Cascade forests of all items from event arrays (codes; ``time`` any int64 order key).

    The items are taken in blocks of consecutive codes, about ``block_events`` events each (one
    viral item may make a larger block: an item is never cut), and each block's forests are built
    on their own: the working memory is a few dozen bytes per event of one block, not of the log.
    The result is the same for every block size.

    Parameters
    ----------
    src, tgt, item : integer arrays of equal length
        Sender code, receiver code and item code of each event.
    time : int64 array
        Event time; ties are broken by position.
    n_users : int
        Number of user codes.
    block_events : int, optional
        Events per block (see above); default :data:`BLOCK_EVENTS`.

    Examples
    --------
    Two forwards of one item, A(0) -> B(1) -> C(2), and a later exposure A -> C:

    >>> f = build_forest(np.array([0, 1, 0]), np.array([1, 2, 2]), np.zeros(3, int), np.array([1, 2, 3]), 3)
    >>> f.user.tolist(), f.depth.tolist(), f.size.tolist()
    ([0, 1, 2], [0, 1, 2], [3, 2, 1])
    """
    block_events = BLOCK_EVENTS if block_events is None else block_events
    if int(block_events) < 1:
        raise InvalidParameterError(f"block_events={block_events!r} must be >= 1; the default is {BLOCK_EVENTS}.")
    E = int(src.shape[0])
    N = max(int(n_users), 1)
    idx = index_dtype(2 * E + 1)  # holders (at most 2E) and events
    order = event_order(time)
    blocks = _item_blocks(item, order, int(block_events))
    del order
    fields = ("item", "user", "parent", "parent_event", "hold_event", "depth", "root", "size")
    # The outputs are allocated once at their largest size (a holder per send and receipt): pages
    # never written are never resident, and the arrays are cut to size in place at the end. Blocks'
    # outputs kept between blocks' temporaries would fragment malloc's heap instead.
    out = {k: np.empty(2 * E, dtype=np.int32 if k in ("item", "user", "depth") else idx) for k in fields}
    offset, n_fbr = 0, 0
    for item_lo, ev in blocks:
        b = _block_forest(src, tgt, item, ev, item_lo, N)
        n_fbr += b["n_fbr"]
        h = int(b["parent"].shape[0])
        for k in ("parent", "root"):  # local holder indices -> global ones (roots keep -1)
            v = b[k]
            v[v >= 0] += offset
        for k in fields:
            out[k][offset : offset + h] = b[k]
        offset += h
        del b
    del blocks
    for k in fields:
        out[k].resize(offset, refcheck=False)  # shrinks in place (realloc); only this function holds it
    return Forest(**out, n_forwarded_before_receipt=n_fbr)

def _item_slices(bounds: np.ndarray, chunk: int) -> Iterator[tuple[int, int]]:
    """Consecutive item ranges ``[a, b)`` holding at most ``chunk`` holders each (or one item)."""
    n = int(bounds.shape[0]) - 1
    a = 0
    while a < n:
        b = int(np.searchsorted(bounds, bounds[a] + chunk, side="right")) - 1
        b = min(max(b, a + 1), n)
        yield a, b
        a = b


def item_metrics(f: Forest, time: np.ndarray, n_items: int, *, chunk: int | None = None) -> dict[str, np.ndarray]:
    """Per-item cascade figures: size, depth, max_breadth, virality, n_roots, start, end (time units).

    ``virality`` is the mean shortest-path distance over all pairs of users joined by a path in the
    item's forest: ``2 * sum_edges s*(n_T - s) / sum_trees n_T*(n_T - 1)`` (Goel et al.'s structural
    virality when the forest is one tree); NaN when no pair exists.

    Holders are sorted by item, so each item's holders are one slice; the figures are taken over
    slices of whole items of about ``chunk`` holders (default :data:`CHUNK`; the result does not
    depend on it).
    """
    chunk = CHUNK if chunk is None else chunk
    size = np.zeros(n_items, dtype=np.int64)
    depth = np.zeros(n_items, dtype=np.int64)
    max_breadth = np.zeros(n_items, dtype=np.int64)
    n_roots = np.zeros(n_items, dtype=np.int64)
    num = np.zeros(n_items, dtype=np.float64)
    den = np.zeros(n_items, dtype=np.float64)
    start = np.full(n_items, np.iinfo(np.int64).max, dtype=np.int64)
    end = np.full(n_items, np.iinfo(np.int64).min, dtype=np.int64)
    bounds = np.searchsorted(f.item, np.arange(n_items + 1, dtype=f.item.dtype))
    size[:] = np.diff(bounds)
    for a, b in _item_slices(bounds, int(chunk)):
        ha, hb = int(bounds[a]), int(bounds[b])
        if ha == hb:
            continue
        k = b - a
        it = f.item[ha:hb] - np.int32(a)
        d = f.depth[ha:hb]
        is_root = f.parent[ha:hb] < 0
        ne = size[a:b] > 0
        first = (bounds[a:b] - ha)[ne]  # each item's first holder in the slice
        n_roots[a:b] = np.bincount(it[is_root], minlength=k)
        depth[a:b][ne] = np.maximum.reduceat(d, first)
        # breadth: holders per (item, depth) level, then each item's largest level
        levels = np.sort(it.astype(np.int64) * (int(d.max()) + 1) + d)
        run = np.flatnonzero(np.r_[True, levels[1:] != levels[:-1]])
        count = np.diff(np.r_[run, levels.shape[0]])
        run_item = levels[run] // (int(d.max()) + 1)
        del levels
        firsts = np.flatnonzero(np.r_[True, run_item[1:] != run_item[:-1]])
        max_breadth[a + run_item[firsts]] = np.maximum.reduceat(count, firsts)
        # structural virality over the forest
        s = f.size[ha:hb].astype(np.float64)
        n_tree = f.size[f.root[ha:hb]].astype(np.float64)
        child = ~is_root
        num[a:b] = np.bincount(it[child], weights=(s * (n_tree - s))[child], minlength=k)
        nr = s[is_root]
        den[a:b] = np.bincount(it[is_root], weights=nr * (nr - 1.0), minlength=k)
        del s, n_tree, nr
        t = time[f.hold_event[ha:hb]]
        start[a:b][ne] = np.minimum.reduceat(t, first)
        end[a:b][ne] = np.maximum.reduceat(t, first)
    with np.errstate(invalid="ignore", divide="ignore"):
        virality = np.where(den > 0, 2.0 * num / np.where(den > 0, den, 1.0), np.nan)
    return {
        "size": size,
        "depth": depth,
        "max_breadth": max_breadth,
        "virality": virality,
        "n_roots": n_roots,
        "start": start,
        "end": end,
    }


def user_metrics(f: Forest, n_users: int, *, chunk: int | None = None) -> dict[str, np.ndarray]:
    """Per-user figures summed over items: reach, direct_reach, resharers, items_started,
    items_received.

    ``resharers`` counts the direct receivers who passed the item on (tree children with children of
    their own): how often what a user sends actually moves people, not just how much they send.
    The sums run over slices of at least ``chunk`` holders (default :data:`CHUNK`; all counts, so
    the result does not depend on it).
    """
    chunk = CHUNK if chunk is None else chunk
    n = int(n_users)
    reach = np.zeros(n, dtype=np.float64)
    out = {k: np.zeros(n, dtype=np.int64) for k in ("direct_reach", "resharers", "items_started", "items_received")}
    step = max(int(chunk), n, 1)  # each slice costs O(n_users) more: keep slices at least that long
    for a in range(0, f.n, step):
        u = f.user[a : a + step]
        par = f.parent[a : a + step]
        size = f.size[a : a + step]
        is_root = par < 0
        child = ~is_root
        reach += np.bincount(u, weights=(size - 1).astype(np.float64), minlength=n)
        parents_user = f.user[par[child]]
        out["direct_reach"] += np.bincount(parents_user, minlength=n)
        out["resharers"] += np.bincount(parents_user[size[child] > 1], minlength=n)
        out["items_started"] += np.bincount(u[is_root], minlength=n)
        out["items_received"] += np.bincount(u[child], minlength=n)
    return {"reach": np.rint(reach).astype(np.int64), **out}
