"""Tie strength and routes: forward probabilities, the k most probable introductions, disjoint routes.

Pure kernels: integer arrays or a CSR adjacency ``(indptr, indices)`` with edge probabilities ``p``
aligned with ``indices`` in, numpy arrays out. A share edge ``u -> v`` means ``u`` forwarded to ``v``;
``p(u, v)`` is the probability that something ``u`` shares moves ``v`` (DESIGN §5). The most probable
route maximises the product of the probabilities along it, i.e. it is the shortest path under the
length ``-log p``.

:func:`best_routes` runs **one** multi-source Dijkstra (``scipy.sparse.csgraph``) from all sources at
once, then ranks, for every target, its in-neighbours ("introducers") by the cost of the route through
them. Everything after the Dijkstra is vectorized numpy with one Python iteration per tree level.

:func:`node_disjoint_routes` finds, for one target, up to ``k`` routes that share no intermediate node,
exactly: successive shortest paths (min-cost flow, Suurballe-style) on the node-split graph.

Conventions shared by the route kernels:

- Parallel edges count once, with the largest probability among them; self-loops are ignored.
- ``-log 1 = 0``; edges of probability 1 get the tiny length ``1e-12`` inside the Dijkstra (scipy's
  csgraph has treated stored zeros as missing edges in some versions). The effect is a tie-break:
  among equally probable routes the one with fewer certain hops wins. Reported ``cost`` and
  ``strength`` are recomputed exactly from the path's own edges.
- Routes never pass *through* a source: a route that reached a source on the way would start there
  instead (it is at least as probable), so every source is a route's first node or not on it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from kocgraph.algorithms.cascades import forest_levels, subtree_sizes
from kocgraph.exceptions import InvalidParameterError, check_choice

__all__ = [
    "weighted_cascade_probability",
    "exposure_probability",
    "best_routes",
    "node_disjoint_routes",
    "UNREACHABLE_REASONS",
]

_EPS = 1e-12  # Dijkstra length of a certain (p == 1) edge; see the module docstring

#: Reason codes of :func:`best_routes` for targets no route reaches, in order of precedence.
UNREACHABLE_REASONS = ("is_isolated", "no_in_edges", "no_path_from_sources")


# --------------------------------------------------------------------------------------------------
# edge probabilities
# --------------------------------------------------------------------------------------------------


def weighted_cascade_probability(
    src: np.ndarray, dst: np.ndarray, w: np.ndarray | None, n: int
) -> np.ndarray:
    """Weighted-cascade forward probability ``p(u, v) = w(u, v) / sum_x w(x, v)`` of every edge.

    The in-weights of every receiver share one unit of probability among its senders, so a user
    forwarded to by many is moved by each of them less (Kempe et al.'s weighted cascade, with weights).

    Parameters
    ----------
    src, dst : integer arrays of length m
        Edge ``src[i] -> dst[i]`` (codes ``0..n-1``). Parallel edges each get their own share.
    w : float array of length m, or None
        Positive edge weights (e.g. ``n_forwards``); ``None`` means all 1.
    n : int
        Number of users.

    Returns
    -------
    p : float64 array of length m, in ``(0, 1]``.

    Examples
    --------
    >>> p = weighted_cascade_probability(np.array([0, 1, 0]), np.array([2, 2, 1]), np.array([3.0, 1.0, 2.0]), 3)
    >>> p.tolist()
    [0.75, 0.25, 1.0]
    """
    dst = np.asarray(dst, dtype=np.int64).ravel()
    ww = np.ones(dst.shape[0]) if w is None else np.asarray(w, dtype=np.float64).ravel()
    if ww.shape[0] != dst.shape[0]:
        raise InvalidParameterError(
            f"w has {ww.shape[0]} weights but there are {dst.shape[0]} edges; pass one weight per edge "
            "or w=None."
        )
    if ww.shape[0] and not bool(np.all(ww > 0)):
        raise InvalidParameterError(
            f"weighted_cascade_probability needs positive weights; got min(w)={ww.min()!r}. "
            "Drop zero-weight edges first."
        )
    if dst.shape[0] == 0:
        return np.empty(0, dtype=np.float64)
    instrength = np.bincount(dst, weights=ww, minlength=int(n))
    return np.minimum(ww / instrength[dst], 1.0)


def exposure_probability(
    reshares: np.ndarray,
    receipts: np.ndarray,
    *,
    prior_a: float = 1.0,
    prior_b: float = 1.0,
) -> np.ndarray:
    """Forward probability from exposures: Beta-prior smoothed ``reshares / receipts``.

    ``p = (reshares + a) / (receipts + a + b)``: the posterior mean of a Beta(a, b) prior after
    ``receipts`` trials with ``reshares`` successes. The prior keeps one-off edges from looking certain:
    with the defaults ``a = b = 1`` (uniform prior, Laplace's rule) an edge with 1 receipt and 1 reshare
    gets ``2/3``, not 1, and an edge with 100 of 100 gets ``101/102``. An edge never received gets
    ``a / (a + b)``. The result is clipped into ``(0, 1]`` (``reshares > receipts`` would exceed 1).

    Parameters
    ----------
    reshares, receipts : arrays of equal length
        Per edge ``u -> v``: how many times ``v`` passed on an item received from ``u``, and how many
        items ``v`` received from ``u``.
    prior_a, prior_b : float, default 1.0
        Beta prior pseudo-counts of reshares and of non-reshares; both must be positive.

    Returns
    -------
    p : float64 array, in ``(0, 1]``.

    Examples
    --------
    >>> exposure_probability(np.array([1, 0, 9]), np.array([1, 4, 10])).round(4).tolist()
    [0.6667, 0.1667, 0.8333]
    """
    if not (np.isfinite(prior_a) and np.isfinite(prior_b) and prior_a > 0 and prior_b > 0):
        raise InvalidParameterError(
            f"prior_a={prior_a!r}, prior_b={prior_b!r}: both Beta prior pseudo-counts must be positive "
            "finite numbers. Pass prior_a=1.0, prior_b=1.0 (the uniform prior) or other positive values."
        )
    r = np.asarray(reshares, dtype=np.float64)
    n = np.asarray(receipts, dtype=np.float64)
    if r.shape != n.shape:
        raise InvalidParameterError(
            f"reshares has shape {r.shape} but receipts has shape {n.shape}; pass one count of each per edge."
        )
    p = (r + prior_a) / (n + prior_a + prior_b)
    return np.clip(p, np.finfo(np.float64).tiny, 1.0)


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def _simple_arcs(
    indptr: np.ndarray, indices: np.ndarray, p: np.ndarray, where: str
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate, drop self-loops, merge parallel edges (keep the largest p).

    Returns ``(n, row, col, prob, key)`` sorted by ``key = row * n + col`` (CSR order).
    """
    indptr = np.asarray(indptr, dtype=np.int64).ravel()
    indices = np.asarray(indices, dtype=np.int64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    if indptr.shape[0] < 1 or indptr[-1] != indices.shape[0]:
        raise InvalidParameterError(
            f"indptr (length {indptr.shape[0]}, last value {indptr[-1] if indptr.shape[0] else None}) does "
            f"not describe {indices.shape[0]} indices; pass A.indptr, A.indices of a scipy CSR matrix."
        )
    if p.shape[0] != indices.shape[0]:
        raise InvalidParameterError(
            f"p has {p.shape[0]} probabilities but there are {indices.shape[0]} edges; pass one per entry "
            f"of indices to {where}."
        )
    if p.shape[0] and not bool(np.all((p > 0) & (p <= 1))):
        bad = p[~((p > 0) & (p <= 1))][0]
        raise InvalidParameterError(
            f"{where} needs edge probabilities in (0, 1]; found p={bad!r}. Compute them with "
            "weighted_cascade_probability or exposure_probability, or drop zero-probability edges."
        )
    n = indptr.shape[0] - 1
    row = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    keep = row != indices
    row, col, p = row[keep], indices[keep], p[keep]
    key = row * max(n, 1) + col
    order = np.lexsort((-p, key))
    key, row, col, p = key[order], row[order], col[order], p[order]
    first = _first_of_runs(key)
    return n, row[first], col[first], p[first], key[first]


def _csr(row: np.ndarray, col: np.ndarray, data: np.ndarray, n: int) -> sp.csr_matrix:
    """CSR matrix from arcs already sorted by (row, col) with no duplicates."""
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=n), out=ptr[1:])
    return sp.csr_matrix((data, col, ptr), shape=(n, n))


def _lookup(key: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Positions of ``query`` keys in the sorted unique ``key`` array (all assumed present)."""
    return np.searchsorted(key, query)


def _gather_ranges(ptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions ``ptr[r]:ptr[r+1]`` of every ``r`` in ``rows``, and the index into ``rows`` of each."""
    starts = ptr[rows]
    lens = ptr[rows + 1] - starts
    tot = int(lens.sum())
    group = np.repeat(np.arange(rows.shape[0], dtype=np.int64), lens)
    offs = np.arange(tot, dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens)
    return np.repeat(starts, lens) + offs, group


def _tree(pred: np.ndarray, arc_key: np.ndarray, arc_cost: np.ndarray, n: int):
    """Hops, exact cost, root, preorder entry and subtree size of a shortest-path forest.

    ``pred`` is csgraph's predecessor array (negative for roots and unreached nodes). Cost is the sum
    of ``-log p`` of the tree's own edges, accumulated top-down one level at a time.
    """
    parent = np.where(pred >= 0, pred, -1).astype(np.int64)
    order, bounds, depth, root = forest_levels(parent)
    size = subtree_sizes(parent, depth, (order, bounds))
    cost = np.zeros(n, dtype=np.float64)
    tin = np.zeros(n, dtype=np.int64)
    roots = order[bounds[0] : bounds[1]]
    tin[roots] = np.cumsum(size[roots]) - size[roots]
    for d in range(1, bounds.shape[0] - 1):
        nodes = order[bounds[d] : bounds[d + 1]]  # grouped by parent, parents in level order
        par = parent[nodes]
        cost[nodes] = cost[par] + arc_cost[_lookup(arc_key, par * max(n, 1) + nodes)]
        before = np.cumsum(size[nodes]) - size[nodes]  # exclusive running size over the level
        start = np.maximum.accumulate(np.where(_first_of_runs(par), np.arange(nodes.shape[0]), 0))
        tin[nodes] = tin[par] + 1 + before - before[start]
    return depth.astype(np.int64), cost, root, tin, size


def _paths(parent: np.ndarray, last: np.ndarray, hops_to_last: np.ndarray, tail: np.ndarray, has_tail: np.ndarray):
    """Flat paths ``root ~> last[r]`` (then ``tail[r]`` where ``has_tail[r]``), walked up the forest.

    One vectorized step per hop of the longest path; returns ``(path_ptr, path_nodes)``.
    """
    extra = has_tail.astype(np.int64)
    ptr = np.zeros(last.shape[0] + 1, dtype=np.int64)
    np.cumsum(hops_to_last + 1 + extra, out=ptr[1:])
    nodes = np.empty(int(ptr[-1]), dtype=np.int64)
    end = ptr[1:] - 1
    nodes[end[has_tail]] = tail[has_tail]
    cur, pos, left = last.astype(np.int64), end - extra, hops_to_last.astype(np.int64)
    active = np.arange(last.shape[0])
    while active.shape[0]:
        nodes[pos[active]] = cur[active]
        left[active] -= 1
        pos[active] -= 1
        active = active[left[active] >= 0]
        cur[active] = parent[cur[active]]
    return ptr, nodes


def _empty_routes() -> dict[str, np.ndarray]:
    i = np.empty(0, dtype=np.int64)
    return {
        "target": i, "rank": i, "source": i, "introducer": i, "hops": i,
        "strength": np.empty(0), "cost": np.empty(0),
        "path_ptr": np.zeros(1, dtype=np.int64), "path_nodes": i,
    }  # fmt: skip


# --------------------------------------------------------------------------------------------------
# best routes
# --------------------------------------------------------------------------------------------------


def best_routes(
    indptr: np.ndarray,
    indices: np.ndarray,
    p: np.ndarray,
    sources: np.ndarray,
    targets: np.ndarray,
    *,
    k: int = 3,
    objective: Literal["probable", "short"] = "probable",
) -> dict[str, np.ndarray]:
    """The ``k`` best routes from any source to every target, through ``k`` different introducers.

    Route ``j`` of a target ``t`` is the best route ``source ~> x_j -> t`` over distinct in-neighbours
    ``x_j`` of ``t`` (the *introducer*: the user who would pass us on to ``t``). Rank 1 is the best
    route to ``t`` overall. The path ``source ~> x_j`` is ``x_j``'s own best route, read off one
    multi-source Dijkstra from all sources at once.

    Parameters
    ----------
    indptr, indices : integer arrays
        CSR adjacency of the directed share graph on ``n = len(indptr) - 1`` users; row ``u`` lists the
        users ``u`` forwarded to.
    p : float array aligned with ``indices``
        Forward probability of each edge, in ``(0, 1]``. Parallel edges count once with their largest
        probability; self-loops are ignored.
    sources : integer array
        Codes of the starting users (staff / brand accounts). Duplicates are ignored.
    targets : integer array
        Codes of the users to reach. Duplicates are collapsed; the output is sorted by target code.
    k : int, default 3
        Routes (introducers) per target, at most.
    objective : {"probable", "short"}, default "probable"
        ``"probable"``: maximise the product of the probabilities (minimise ``sum(-log p)``).
        ``"short"``: minimise the number of hops, ties broken by probability (exactly: a hop-count BFS,
        then a probability Dijkstra restricted to the edges of the BFS layering).

    Returns
    -------
    dict of numpy arrays
        One row per route, sorted by ``(target, rank)``: ``target``, ``rank`` (1..k), ``source``,
        ``introducer`` (-1 for a 0-hop route), ``hops``, ``strength`` (product of p), ``cost``
        (``sum(-log p) = -log strength``); the paths as ``path_nodes[path_ptr[r]:path_ptr[r+1]]``
        (source first, target last). Targets without any route are in ``unreachable`` with a reason
        each in ``unreachable_reason`` (strings from :data:`UNREACHABLE_REASONS`: ``"is_isolated"``
        no edges at all, ``"no_in_edges"`` nobody ever forwarded to them, ``"no_path_from_sources"``).

    Notes
    -----
    - A target that is itself a source gets exactly one route: 0 hops, ``[t]``, strength 1.
    - An in-neighbour ``x`` whose own best route passes through ``t`` is skipped: the route through it
      would revisit ``t``. It is not re-routed around ``t`` (that would take one Dijkstra per target),
      so a target may get fewer than ``k`` routes although a longer loop-free route through ``x``
      exists. Rank 1 is never affected: ``t``'s Dijkstra predecessor always qualifies.
    - Cost: one Dijkstra, O(m log n), plus O(m) numpy work and one Python step per tree level.

    Examples
    --------
    Staff 0 reaches 3 through 1 (0.9 * 0.5 = 0.45) or through 2 (0.5 * 0.8 = 0.4):

    >>> A = sp.csr_matrix(([0.9, 0.5, 0.5, 0.8], ([0, 0, 1, 2], [1, 2, 3, 3])), shape=(4, 4))
    >>> r = best_routes(A.indptr, A.indices, A.data, np.array([0]), np.array([3]), k=2)
    >>> r["introducer"].tolist(), r["strength"].round(2).tolist()
    ([1, 2], [0.45, 0.4])
    >>> r["path_nodes"][r["path_ptr"][0] : r["path_ptr"][1]].tolist()
    [0, 1, 3]
    """
    check_choice("objective", objective, ["probable", "short"], where="best_routes")
    _check_k(k, "routes per target")
    n, row, col, prob, key = _simple_arcs(indptr, indices, p, "best_routes")
    sources = _user_codes("sources", sources, n)
    targets = _user_codes("targets", targets, n)
    cost_arc = -np.log(prob)
    out = _empty_routes()
    out["unreachable"] = np.empty(0, dtype=np.int64)
    out["unreachable_reason"] = np.empty(0, dtype="<U20")
    if targets.shape[0] == 0:
        return out
    pred, reached = _forest(row, col, cost_arc, sources, n, objective)
    tree = _tree(pred, key, cost_arc, n)
    t_reached = reached[targets]
    lost = targets[~t_reached]
    if lost.shape[0]:
        out["unreachable"] = lost
        out["unreachable_reason"] = _unreachable_reasons(row, col, lost, n)
    is_src = np.zeros(n, dtype=bool)
    is_src[sources] = True
    zero_hop = targets[t_reached & is_src[targets]]
    tt = targets[t_reached & ~is_src[targets]]
    ranked = _ranked_introducers(row, col, cost_arc, tt, reached, tree, k, objective)
    out.update(_merged_routes(zero_hop, ranked, np.where(pred >= 0, pred, -1), tree[2]))
    return out


def _check_k(k: object, what: str) -> None:
    """``k`` must be a positive integer (not a bool); ``what`` says what it counts, in the message."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidParameterError(f"k={k!r} must be a positive integer ({what}); pass k=3.")


def _user_codes(name: str, codes: np.ndarray, n: int) -> np.ndarray:
    """``codes`` as sorted unique int64 user codes, each in ``0..n-1``."""
    arr = np.unique(np.asarray(codes, dtype=np.int64).ravel())
    if arr.shape[0] and (arr[0] < 0 or arr[-1] >= n):
        bad = arr[0] if arr[0] < 0 else arr[-1]
        raise InvalidParameterError(
            f"{name} contains code {int(bad)}, outside 0..{n - 1} for this graph of {n} users; "
            "pass user codes of this graph."
        )
    return arr


def _forest(
    row: np.ndarray, col: np.ndarray, cost_arc: np.ndarray, sources: np.ndarray, n: int, objective: str
) -> tuple[np.ndarray, np.ndarray]:
    """One multi-source shortest-path forest: csgraph's predecessors (int64, negative for the sources
    and the unreached) and whether each user is reached.

    ``objective="short"``: a hop-count BFS, then the probability Dijkstra on the edges of its layering.
    """
    if sources.shape[0] == 0 or n == 0:
        return np.full(n, -9999, dtype=np.int64), np.zeros(n, dtype=bool)
    length = np.where(cost_arc > 0, cost_arc, _EPS)
    if objective == "short":
        A1 = _csr(row, col, np.ones(row.shape[0]), n)
        hop_bfs = csgraph.dijkstra(A1, directed=True, indices=sources, unweighted=True, min_only=True)
        layered = np.isfinite(hop_bfs[row]) & (hop_bfs[col] == hop_bfs[row] + 1)
        A = _csr(row[layered], col[layered], length[layered], n)
    else:
        A = _csr(row, col, length, n)
    dist, pred, _ = csgraph.dijkstra(A, directed=True, indices=sources, min_only=True, return_predecessors=True)
    return pred.astype(np.int64), np.isfinite(dist)


def _unreachable_reasons(row: np.ndarray, col: np.ndarray, lost: np.ndarray, n: int) -> np.ndarray:
    """Why no route reaches each of ``lost``: the first of :data:`UNREACHABLE_REASONS` that holds."""
    indeg = np.bincount(col, minlength=n)[lost]
    outdeg = np.bincount(row, minlength=n)[lost]
    reason = np.where(
        (indeg == 0) & (outdeg == 0), UNREACHABLE_REASONS[0],
        np.where(indeg == 0, UNREACHABLE_REASONS[1], UNREACHABLE_REASONS[2]),
    )  # fmt: skip
    return reason.astype("<U20")


def _first_of_runs(a: np.ndarray) -> np.ndarray:
    """True at the first element of every run of equal values in ``a``."""
    first = np.ones(a.shape[0], dtype=bool)
    first[1:] = a[1:] != a[:-1]
    return first


def _ranked_introducers(
    row: np.ndarray,
    col: np.ndarray,
    cost_arc: np.ndarray,
    tt: np.ndarray,
    reached: np.ndarray,
    tree: tuple[np.ndarray, ...],
    k: int,
    objective: str,
) -> tuple[np.ndarray, ...]:
    """The ``k`` best in-neighbours ``x`` of every target in ``tt``, by the route ``source ~> x -> t``.

    Returns ``(target, introducer, cost, hops, rank)`` arrays sorted by target, then rank.
    """
    hops, cost, root, tin, size = tree
    n = reached.shape[0]
    in_order = np.argsort(col, kind="stable")
    in_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(col, minlength=n), out=in_ptr[1:])
    pos, grp = _gather_ranges(in_ptr, tt)
    arc = in_order[pos]
    ct, cx = tt[grp], row[arc]
    ok = reached[cx]
    # x's best route passes through t  <=>  t is an ancestor of x in the forest (x == t: self-loop)
    through = (tin[cx] >= tin[ct]) & (tin[cx] < tin[ct] + size[ct]) & (root[cx] == root[ct])
    ok &= ~through
    ct, cx, arc = ct[ok], cx[ok], arc[ok]
    c_total = cost[cx] + cost_arc[arc]
    c_hops = hops[cx] + 1
    keys = (c_total, ct) if objective == "probable" else (c_total, c_hops, ct)
    order = np.lexsort(keys)
    ct, cx, c_total, c_hops = ct[order], cx[order], c_total[order], c_hops[order]
    start = np.maximum.accumulate(np.where(_first_of_runs(ct), np.arange(ct.shape[0]), 0))
    rank = np.arange(ct.shape[0]) - start + 1
    keep = rank <= k
    return ct[keep], cx[keep], c_total[keep], c_hops[keep], rank[keep]


def _merged_routes(
    zero_hop: np.ndarray, ranked: tuple[np.ndarray, ...], parent: np.ndarray, root: np.ndarray
) -> dict[str, np.ndarray]:
    """The 0-hop routes of targets that are sources merged with the ranked routes, sorted by
    ``(target, rank)``, with their paths read off the forest (``parent``, ``root``)."""
    ct, cx, c_total, c_hops, rank = ranked
    nz = zero_hop.shape[0]
    tgt = np.concatenate([zero_hop, ct])
    order = np.lexsort((np.concatenate([np.ones(nz, dtype=np.int64), rank]), tgt))
    tgt = tgt[order]
    rnk = np.concatenate([np.ones(nz, dtype=np.int64), rank])[order]
    intro = np.concatenate([np.full(nz, -1, dtype=np.int64), cx])[order]
    hp = np.concatenate([np.zeros(nz, dtype=np.int64), c_hops])[order]
    cst = np.concatenate([np.zeros(nz), c_total])[order]
    is_zero = intro < 0
    last = np.where(is_zero, tgt, intro)
    ptr, nodes = _paths(parent, last, np.where(is_zero, 0, hp - 1), tgt, ~is_zero)
    return {
        "target": tgt, "rank": rnk, "source": root[last].astype(np.int64), "introducer": intro, "hops": hp,
        "strength": np.exp(-cst), "cost": cst, "path_ptr": ptr, "path_nodes": nodes,
    }  # fmt: skip


# --------------------------------------------------------------------------------------------------
# node-disjoint routes to one target
# --------------------------------------------------------------------------------------------------


def node_disjoint_routes(
    indptr: np.ndarray,
    indices: np.ndarray,
    p: np.ndarray,
    sources: np.ndarray,
    target: int,
    *,
    k: int = 3,
) -> dict[str, np.ndarray]:
    """Up to ``k`` routes from the sources to one target that share no intermediate node.

    Exact, not greedy: among all sets of ``j`` pairwise node-disjoint routes, with ``j`` the largest
    number ``<= k`` that exists, it returns the set of largest total log-probability (smallest
    ``sum of -log p`` over all its edges). Method: successive shortest paths with Johnson potentials
    (min-cost flow, as in Suurballe's algorithm) on the node-split graph, where every user ``v`` other
    than the sources and the target becomes ``v_in -> v_out`` of capacity 1. ``k`` Dijkstra runs of
    ``scipy.sparse.csgraph`` on a graph of ``2n + 1`` nodes.

    Routes may start at the same source (sources are endpoints, not intermediates) and never pass
    through a source. Note that the best *set* need not contain the single best route: the classic
    trap of greedy "take the best, delete its nodes, repeat" is that it can block all other routes.

    Parameters
    ----------
    indptr, indices, p
        As in :func:`best_routes`.
    sources : integer array
        Starting users.
    target : int
        The user to reach. A target that is itself a source gets the single 0-hop route ``[target]``.
    k : int, default 3
        Routes wanted, at most.

    Returns
    -------
    dict of numpy arrays
        The same keys as :func:`best_routes` (without ``unreachable``), one row per route, sorted
        from the most to the least probable. No row at all when no source reaches the target.

    Examples
    --------
    The single best route 0->1->2->3 (0.648) would block every other; the best disjoint pair is
    0->1->3 (0.45) and 0->2->3 (0.4):

    >>> A = sp.csr_matrix(([0.9, 0.5, 0.9, 0.5, 0.8], ([0, 0, 1, 1, 2], [1, 2, 2, 3, 3])), shape=(4, 4))
    >>> r = node_disjoint_routes(A.indptr, A.indices, A.data, np.array([0]), 3, k=2)
    >>> [r["path_nodes"][a:b].tolist() for a, b in zip(r["path_ptr"][:-1], r["path_ptr"][1:])]
    [[0, 1, 3], [0, 2, 3]]
    >>> r["strength"].round(3).tolist()
    [0.45, 0.4]
    """
    _check_k(k, "routes wanted")
    n, row, col, prob, key = _simple_arcs(indptr, indices, p, "node_disjoint_routes")
    sources = np.unique(np.asarray(sources, dtype=np.int64).ravel())
    t = int(target)
    if not 0 <= t < n or (sources.shape[0] and (sources[0] < 0 or sources[-1] >= n)):
        raise InvalidParameterError(
            f"target={target!r} or a source is outside 0..{n - 1} for this graph of {n} users; "
            "pass user codes of this graph."
        )
    cost_arc = -np.log(prob)
    out = _empty_routes()
    if sources.shape[0] == 0:
        return out
    is_src = np.zeros(n, dtype=bool)
    is_src[sources] = True
    if is_src[t]:
        out.update(
            target=np.array([t]), rank=np.array([1]), source=np.array([t]), introducer=np.array([-1]),
            hops=np.array([0]), strength=np.array([1.0]), cost=np.array([0.0]),
            path_ptr=np.array([0, 1]), path_nodes=np.array([t]),
        )  # fmt: skip
        return out
    a_tail, a_head, a_cost, a_cap = _split_network(row, col, cost_arc, sources, is_src, t, int(k))
    flow, found = _min_cost_flow(a_tail, a_head, a_cost, a_cap, 2 * n, t, int(k))
    if found == 0:
        return out
    paths = _flow_paths(a_tail, a_head, flow, sources, t, n)
    out.update(_disjoint_table(paths, key, cost_arc, t, n))
    return out


def _split_network(
    row: np.ndarray, col: np.ndarray, cost_arc: np.ndarray, sources: np.ndarray, is_src: np.ndarray, t: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The node-split flow network: ``v_in = v``, ``v_out = n + v``, super-source ``S = 2n``.

    Returns the arcs' ``(tail, head, cost, capacity)``: ``S -> s_out`` (capacity ``k``) for every
    source, ``v_in -> v_out`` (capacity 1) for every other user but the target, and ``u_out -> v_in``
    (capacity 1) for every share edge that enters no source and leaves not the target.
    """
    n = is_src.shape[0]
    S = 2 * n
    inner = np.flatnonzero(~is_src)
    inner = inner[inner != t]
    use = ~is_src[col] & (row != t)  # no arc into a source, none out of the target
    a_tail = np.concatenate([np.full(sources.shape[0], S), inner, n + row[use]])
    a_head = np.concatenate([n + sources, n + inner, col[use]])
    # positive lengths on every original arc: no zero-cost cycle can carry flow
    a_cost = np.concatenate([np.zeros(sources.shape[0] + inner.shape[0]), np.maximum(cost_arc[use], _EPS)])
    a_cap = np.concatenate([np.full(sources.shape[0], k), np.ones(inner.shape[0] + int(use.sum()))])
    return a_tail, a_head, a_cost, a_cap.astype(np.int64)


def _min_cost_flow(
    a_tail: np.ndarray, a_head: np.ndarray, a_cost: np.ndarray, a_cap: np.ndarray, s: int, t: int, k: int
) -> tuple[np.ndarray, int]:
    """Successive shortest paths from ``s`` to ``t`` with Johnson potentials (one Dijkstra per unit).

    Sends up to ``k`` units, each along the cheapest augmenting path of the residual graph; returns
    the flow on every arc and the number of units sent. Nodes are ``0..s`` (``s`` is the last).
    """
    n_arc = a_tail.shape[0]
    N = s + 1
    flow = np.zeros(n_arc, dtype=np.int64)
    pi = np.zeros(N)
    alive = np.ones(N, dtype=bool)  # nodes still reachable from s in the residual graph
    found = 0
    for _ in range(k):
        r_key, r_id, R = _residual(a_tail, a_head, a_cost, flow < a_cap, flow > 0, pi, alive)
        dist, pred = csgraph.dijkstra(R, directed=True, indices=s, return_predecessors=True)
        if not np.isfinite(dist[t]):
            break
        alive &= np.isfinite(dist)
        pi = np.where(alive, pi + np.where(np.isfinite(dist), dist, 0.0), 0.0)
        v = t  # walk the augmenting path back to s (one Python step per hop)
        while v != s:
            u = int(pred[v])
            a = int(r_id[np.searchsorted(r_key, u * N + v)])
            if a < n_arc:
                flow[a] += 1
            else:
                flow[a - n_arc] -= 1
            v = u
        found += 1
    return flow, found


def _residual(
    a_tail: np.ndarray, a_head: np.ndarray, a_cost: np.ndarray, fwd: np.ndarray, bwd: np.ndarray,
    pi: np.ndarray, alive: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix]:
    """The residual graph among ``alive`` nodes with reduced costs (``>= _EPS``), one arc per node pair.

    ``fwd``/``bwd``: arcs with spare capacity / with flow to push back. Returns the sorted pair keys
    ``tail * N + head``, the arc id of each pair (``>= len(a_tail)``: a reverse arc) and the CSR matrix.
    """
    n_arc, N = a_tail.shape[0], pi.shape[0]
    r_t = np.concatenate([a_tail[fwd], a_head[bwd]])
    r_h = np.concatenate([a_head[fwd], a_tail[bwd]])
    r_id = np.concatenate([np.flatnonzero(fwd), np.flatnonzero(bwd) + n_arc])  # >= n_arc: reverse
    r_c = np.concatenate([a_cost[fwd], -a_cost[bwd]])
    ok = alive[r_t] & alive[r_h]
    r_t, r_h, r_id, r_c = r_t[ok], r_h[ok], r_id[ok], r_c[ok]
    red = np.maximum(r_c + pi[r_t] - pi[r_h], 0.0)
    red = np.where(red > 0, red, _EPS)
    r_key = r_t * N + r_h
    o = np.lexsort((red, r_key))
    r_key, r_t, r_h, r_id, red = r_key[o], r_t[o], r_h[o], r_id[o], red[o]
    first = _first_of_runs(r_key)
    r_key, r_t, r_h, r_id, red = r_key[first], r_t[first], r_h[first], r_id[first], red[first]
    return r_key, r_id, _csr(r_t, r_h, red, N)


def _flow_paths(
    a_tail: np.ndarray, a_head: np.ndarray, flow: np.ndarray, sources: np.ndarray, t: int, n: int
) -> list[list[int]]:
    """Decompose the flow into routes (user codes, source first, ``t`` last), sources in code order."""
    used = np.flatnonzero((flow > 0) & (a_tail != 2 * n) & (a_tail >= n))  # original arcs u_out -> v_in
    nxt: dict[int, list[int]] = {}
    for u_out, v_in in zip(a_tail[used].tolist(), a_head[used].tolist(), strict=True):
        nxt.setdefault(u_out - n, []).append(v_in)
    paths: list[list[int]] = []
    for s in sources.tolist():
        for first_hop in nxt.get(s, []):
            path = [s, first_hop]
            while path[-1] != t and len(path) <= n:
                path.append(nxt[path[-1]][0])
            paths.append(path)
    return paths


def _disjoint_table(
    paths: list[list[int]], key: np.ndarray, cost_arc: np.ndarray, t: int, n: int
) -> dict[str, np.ndarray]:
    """The routes as :func:`node_disjoint_routes` returns them: most probable first (ties: found first),
    with costs recomputed exactly from their own edges."""
    flat = np.array([v for pth in paths for v in pth], dtype=np.int64)
    ptr = np.zeros(len(paths) + 1, dtype=np.int64)
    np.cumsum([len(pth) for pth in paths], out=ptr[1:])
    owner = np.repeat(np.arange(len(paths)), np.diff(ptr) - 1)
    is_last = np.zeros(flat.shape[0], dtype=bool)
    is_last[ptr[1:] - 1] = True
    e_u, e_v = flat[~is_last], flat[1:][~is_last[:-1]]
    c_edge = cost_arc[_lookup(key, e_u * n + e_v)]
    cst = np.bincount(owner, weights=c_edge, minlength=len(paths))
    order = np.lexsort((np.arange(len(paths)), cst))
    paths = [paths[i] for i in order]
    cst = cst[order]
    flat = np.array([v for pth in paths for v in pth], dtype=np.int64)
    np.cumsum([len(pth) for pth in paths], out=ptr[1:])
    m = len(paths)
    return {
        "target": np.full(m, t, dtype=np.int64),
        "rank": np.arange(1, m + 1, dtype=np.int64),
        "source": np.array([pth[0] for pth in paths], dtype=np.int64),
        "introducer": np.array([pth[-2] for pth in paths], dtype=np.int64),
        "hops": np.array([len(pth) - 1 for pth in paths], dtype=np.int64),
        "strength": np.exp(-cst),
        "cost": cst,
        "path_ptr": ptr,
        "path_nodes": flat,
    }
