"""``kg.tl.cascades``: cascade forests, per-item figures and per-user reach."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph, utc_times
from .._core.resources import release_memory
from .._core.tools import check_graph, record
from ..algorithms import cascades as _kernels
from ..algorithms._parallel import side_by_side
from ..algorithms.cascades import Forest, build_forest, item_metrics, user_metrics

__all__ = ["cascades"]

#: from this many events on, the memory the forest build freed is handed back before the metrics
RELEASE_AFTER_FOREST = 1 << 20


def _name(key: str, name: str) -> str:
    """The default key writes the canonical names every other tool reads (``reach``, ``size``, ...);
    any other key prefixes them (``<key>_reach``), so two runs never overwrite each other."""
    return name if key == DEFAULT_KEY else f"{key}_{name}"


#: the default ``key_added`` of ``kg.tl.cascades``
DEFAULT_KEY = "cascades"


def cascades(g: ShareGraph, *, key_added: str = DEFAULT_KEY, copy: bool = False) -> ShareGraph | None:
    """Reconstruct every item's cascade forest and annotate items and users.

    The rule (DESIGN §1): events are ordered by time (ties by row). A user holds an item from its
    first receipt or first send, whichever comes first. A user whose first receipt comes before any
    send of its own joins the cascade as the child of that receipt's sender; every later receipt is an
    *exposure*, kept in the edge weights but never in the tree, so a forward back to someone who
    already holds the item (A -> B -> A) never makes a cycle. A user who sends an item before ever
    receiving it is a *root*.

    Writes
    ------
    ``g.items``: ``size`` (holders), ``depth`` (longest root-to-leaf hops), ``max_breadth`` (most
    holders at one depth), ``virality`` (structural virality: mean distance over connected pairs of
    the forest, ``2 Σ_edges s(n_T − s) / Σ_trees n_T(n_T − 1)``; NaN below two holders), ``n_roots``,
    ``root`` (the root of the largest tree), ``start``, ``duration`` (first hold to last join).

    ``g.nodes``: ``reach`` (descendants summed over items), ``direct_reach`` (children summed over
    items), ``items_started`` (items where the user is a root), ``items_received`` (items the user
    joined by receiving them), ``items_spread`` (items in which the user reached anyone).

    ``g.edges``: ``n_tree`` (how many cascade links the edge carried).

    ``g.trees``: one row per (item, holder): ``item``, ``user``, ``parent`` (NaN for roots),
    ``depth``, ``subtree_size``, ``time`` (when the user started to hold the item). The table is
    built from the cascade forest when ``g.trees`` is first read, so a pipeline that never reads it
    never holds it (about 32 bytes per holder).

    ``g.meta[key_added]``: the columns written, counts of holders, tree links, exposures, and of users
    who forwarded an item before they received it (they count as roots).

    The names above are those of the default ``key_added="cascades"``, the canonical columns every
    other tool reads; any other key writes ``<key_added>_<name>`` (``g.trees`` is the same for every
    key: the forests depend on the log alone).

    Parameters
    ----------
    g
        The graph to annotate.
    key_added
        Where the results go (see above).
    copy
        Annotate and return a copy instead of ``g`` (which is then left as it was).

    Returns
    -------
    None, or the annotated copy with ``copy=True``.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.cascades(g)
    >>> g.items.loc["poster", ["size", "depth", "n_roots"]].tolist()
    [10, 4, 1]
    >>> int(g.nodes.loc["alice", "reach"]), int(g.nodes.loc["alice", "direct_reach"])
    (16, 7)
    """
    g = check_graph(g, "kg.tl.cascades")
    if copy:
        g = g.copy()
    c = g.codes
    f = build_forest(c.src, c.tgt, c.item, c.time, g.n_users)
    if c.src.shape[0] >= RELEASE_AFTER_FOREST:
        # the build's temporaries (many below glibc's mmap threshold) stay in malloc's heap once
        # freed, and the metrics' arrays do not fit in their holes: at 1e7 events handing them
        # back lowered the stage's peak by about 150 MiB (docs/benchmarks.md, memory at 1e7)
        release_memory()
    im, um, n_tree = side_by_side(lambda: item_metrics(f, c.time, g.n_items), lambda: user_metrics(f, g.n_users),
                                  lambda: _tree_links(f, c.edge, g.n_edges))
    size = im["size"]
    has = size > 0
    start = np.where(has, im["start"], 0)
    dur_ns = np.where(has, im["end"] - im["start"], 0)
    # root of the largest tree per item
    ridx = np.flatnonzero(f.parent < 0)
    big = np.full(g.n_items, -1, dtype=np.int64)
    if ridx.size:
        order = np.lexsort((-f.size[ridx], f.item[ridx]))
        r_sorted = ridx[order]
        first = np.r_[True, f.item[r_sorted][1:] != f.item[r_sorted][:-1]]
        big[f.item[r_sorted[first]]] = f.user[r_sorted[first]]
    cols: dict[str, list[str]] = {"items": [], "nodes": [], "edges": []}

    def put(frame: str, name: str, values: object) -> None:
        col = _name(key_added, name)
        getattr(g, frame)[col] = values
        cols[frame].append(col)

    put("items", "size", size)
    put("items", "depth", im["depth"])
    put("items", "max_breadth", im["max_breadth"])
    put("items", "virality", im["virality"])
    put("items", "n_roots", im["n_roots"])
    put("items", "root", pd.Categorical.from_codes(big.astype(np.int32), dtype=g.events["source"].dtype))
    if g.has_time:
        put("items", "start", utc_times(start))
        put("items", "duration", pd.to_timedelta(dur_ns, unit="ns"))
    for k, v in um.items():
        put("nodes", k, v)
    put("nodes", "items_spread", np.bincount(f.user[f.size > 1], minlength=g.n_users).astype(np.int64))
    put("edges", "n_tree", n_tree)
    # g.trees is a view of the forest, built when first read (a nomination never reads it)
    g._set_trees_view(partial(trees_table, f, c.time, g.events["item"].dtype, g.events["source"].dtype), f.n)
    g._forest = f
    n_links = int(f.n - ridx.size)
    record(
        g, key_added, {}, tool="tl.cascades", columns=cols,
        n_holders=int(f.n), n_tree_links=n_links, n_exposures=int(g.n_events - n_links),
        n_forwarded_before_receipt=int(f.n_forwarded_before_receipt),
        note=("users who forwarded an item before they received it count as roots of that item; "
              "their later receipts are exposures"),
    )
    return g if copy else None


def _tree_links(f: Forest, edge: np.ndarray, n_edges: int) -> np.ndarray:
    """How many cascade links each edge carried (the edges of the parent links' events), counted over
    slices of holders."""
    n_tree = np.zeros(n_edges, dtype=np.int64)
    step = max(_kernels.CHUNK, n_edges, 1)
    for a in range(0, f.n, step):
        pe = f.parent_event[a : a + step]
        n_tree += np.bincount(edge[pe[pe >= 0]], minlength=n_edges)
    return n_tree


def trees_table(f: Forest, time: np.ndarray, item_dtype: pd.CategoricalDtype,
                user_dtype: pd.CategoricalDtype) -> pd.DataFrame:
    """``g.trees``: one row per (item, holder) of the forest ``f``: ``item``, ``user``, ``parent``
    (NaN for roots), ``depth``, ``subtree_size``, ``time`` (when the user started to hold the item)."""
    par_user = np.full(f.n, -1, dtype=np.int32)
    has = f.parent >= 0
    par_user[has] = f.user[f.parent[has]]
    return pd.DataFrame(
        {
            "item": pd.Categorical.from_codes(f.item, dtype=item_dtype),
            "user": pd.Categorical.from_codes(f.user, dtype=user_dtype),
            "parent": pd.Categorical.from_codes(par_user, dtype=user_dtype),
            "depth": f.depth,
            "subtree_size": f.size.astype(np.int64),
            "time": utc_times(time[f.hold_event]),
        }
    )
