"""Centrality kernels: PageRank, strength, coreness, exact and sampled betweenness.

Pure kernels: integer edge arrays (``src``, ``dst``, codes ``0..n-1``) or a scipy CSR matrix in, numpy
arrays out. PageRank is scipy power iteration (one sparse matrix-vector product per iteration); the
path-based measures run in igraph's C core on a graph built once per call from the edge arrays.

Graph convention: ``src[i] -> dst[i]`` is a share edge (``src`` forwarded to ``dst``), and
``A[u, v]`` is the weight of ``u -> v``.
"""

from __future__ import annotations

import math
from typing import Any

import igraph as ig
import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from kocgraph.exceptions import InvalidParameterError

from ._sort import unique_pairs

__all__ = [
    "pagerank",
    "strength",
    "coreness",
    "betweenness_exact",
    "betweenness_sampled",
    "vertex_diameter_bound",
    "simple_igraph",
]


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def _as_codes(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.int64).ravel()


def _simple_edges(
    src: np.ndarray,
    dst: np.ndarray,
    n: int,
    *,
    directed: bool,
    weights: np.ndarray | None = None,
    agg: str = "sum",
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Drop self-loops and merge parallel edges (and, undirected, reciprocal ones).

    Merged weights are summed (``agg="sum"``) or take the minimum (``agg="min"``, for lengths).
    Returned pairs are sorted by ``(u, v)`` (int32 codes); undirected pairs have ``u < v``.
    """
    u, v = np.asarray(src).ravel(), np.asarray(dst).ravel()
    if u.dtype.kind not in "iu":
        u, v = _as_codes(u), _as_codes(v)
    if not directed:
        u, v = np.minimum(u, v), np.maximum(u, v)
    keep = u != v
    all_kept = bool(keep.all())
    if not all_kept:
        u, v = u[keep], v[keep]
    uu, vv, inv = unique_pairs(u, v, n)
    del u, v
    if weights is None:
        return uu, vv, None
    w = np.asarray(weights, dtype=np.float64).ravel()
    if not all_kept:
        w = w[keep]
    if agg == "sum":
        ww = np.bincount(inv, weights=w, minlength=uu.shape[0])
    else:
        ww = np.full(uu.shape[0], np.inf)
        np.minimum.at(ww, inv, w)
    return uu, vv, ww


def _igraph(u: np.ndarray, v: np.ndarray, n: int, *, directed: bool) -> ig.Graph:
    """igraph graph on ``n`` vertices from int arrays: one ``(m, 2)`` int32 array handed to
    ``add_edges`` (igraph reads its buffer; no Python list of pairs, which took 7x the memory and
    more time at 3M edges; ``Graph(n, edges=array)`` took twice as long as ``add_edges``)."""
    g = ig.Graph(n=int(n), directed=directed)
    if np.shape(u)[0]:
        dt = np.int32 if int(n) <= 2**31 else np.int64
        g.add_edges(np.column_stack((np.asarray(u, dtype=dt), np.asarray(v, dtype=dt))))
    return g


def simple_igraph(src: np.ndarray, dst: np.ndarray, n: int, *, directed: bool) -> ig.Graph:
    """The igraph view the path kernels use: self-loops dropped, parallel edges merged.

    Undirected (``directed=False``), reciprocal edges merge too and the edges are the pairs
    ``u < v`` in sorted order, the same order as :func:`kocgraph.algorithms.communities.symmetrize`.
    Building it dominates :func:`coreness` on large graphs (about 10 s of 14 s at 10M edges), so
    callers that run several kernels should build it once and pass it as ``graph=``.

    Examples
    --------
    >>> g = simple_igraph(np.array([0, 1, 1, 2]), np.array([1, 0, 1, 0]), 3, directed=False)
    >>> g.get_edgelist()
    [(0, 1), (0, 2)]
    """
    u, v, _ = _simple_edges(src, dst, n, directed=directed)
    return _igraph(u, v, n, directed=directed)


def _check_graph(graph: ig.Graph, n: int, directed: bool, where: str) -> None:
    if graph.vcount() != int(n) or graph.is_directed() != directed:
        raise InvalidParameterError(
            f"graph= passed to {where} has {graph.vcount()} vertices (directed={graph.is_directed()}); "
            f"expected {int(n)} (directed={directed}). Build it with simple_igraph(src, dst, n, "
            f"directed={directed})."
        )


# --------------------------------------------------------------------------------------------------
# PageRank
# --------------------------------------------------------------------------------------------------


def pagerank(
    A: sp.spmatrix | sp.sparray,
    *,
    damping: float = 0.85,
    personalization: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> tuple[np.ndarray, int, bool]:
    """Weighted PageRank by power iteration on a sparse adjacency matrix.

    The walker at ``u`` follows ``u -> v`` with probability ``A[u, v] / sum_x A[u, x]``; with
    probability ``1 - damping`` it teleports to a node drawn from ``personalization``. A node with
    no (positive) out-weight is *dangling*: its mass is redistributed by ``personalization`` too (the
    networkx convention). Iteration starts from the uniform vector and stops when the L1 change
    ``sum |x_new - x| < tol``; unlike networkx, ``tol`` is **not** multiplied by ``n``.

    For influence PageRank (DESIGN §5) pass the *reversed* share graph (``A.T``), so that score
    flows from receivers back to the users who forwarded to them. Pass it as the transpose view
    ``A.T`` of a CSR matrix (no ``.tocsr()``): the iteration matrix ``P^T`` then shares ``A``'s
    index arrays, and only one array of weights is new.

    Parameters
    ----------
    A : scipy sparse matrix, shape (n, n)
        Non-negative weights; ``A[u, v]`` is the weight of ``u -> v``. Duplicates are summed,
        self-loops are kept (as in networkx).
    damping : float
        Probability of following an edge, in ``[0, 1]``.
    personalization : array of shape (n,), optional
        Non-negative teleport weights (normalized here); uniform when ``None``.
    tol : float
        L1 convergence threshold.
    max_iter : int
        Maximum number of iterations.

    Returns
    -------
    scores : float64 array of shape (n,)
        Stationary distribution; sums to 1.
    n_iter : int
        Iterations performed.
    converged : bool
        Whether the L1 change fell below ``tol`` within ``max_iter`` iterations. The kernel does not
        warn; callers raise :class:`~kocgraph.exceptions.ConvergenceWarning` when this is False.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_matrix((np.ones(3), ([0, 1, 2], [1, 2, 0])), shape=(3, 3))
    >>> x, it, ok = pagerank(A)
    >>> np.round(x, 6).tolist(), ok
    ([0.333333, 0.333333, 0.333333], True)
    """
    n = int(A.shape[0])
    if n == 0:
        return np.zeros(0, dtype=np.float64), 0, True
    p: np.ndarray | None = None  # None: uniform teleports, each 1/n
    if personalization is not None:
        p = np.asarray(personalization, dtype=np.float64).ravel()
        total = p.sum()
        if p.shape[0] != n or not np.isfinite(total) or total <= 0 or (p < 0).any():
            raise InvalidParameterError(
                f"personalization must be {n} non-negative finite numbers with a positive sum; got "
                f"shape {p.shape} and sum {total!r}. Pass personalization=None for uniform teleports."
            )
        p = p / total
    PT, dangling = _transition_transposed(A, n)
    dangling_at = np.flatnonzero(dangling)  # gathered by index: the same values, in the same order
    x = np.full(n, 1.0 / n)
    buf = np.empty(n)
    n_iter = 0
    converged = False
    # x_new = damping * (P^T x) + (damping * dangling mass + 1 - damping) * p, normalized; written
    # in place (no temporaries per iteration), each entry by the same operations in the same order
    for n_iter in range(1, int(max_iter) + 1):  # noqa: B007 - the count of iterations run is returned
        dmass = x[dangling_at].sum()
        x_new = PT @ x
        x_new *= damping
        jump = damping * dmass + (1.0 - damping)
        if p is None:
            x_new += jump * (1.0 / n)  # the same product as with an array of 1/n, entry by entry
        else:
            x_new += np.multiply(jump, p, out=buf)
        x_new /= x_new.sum()  # guard against drift; the sum is 1 up to rounding
        err = np.abs(np.subtract(x_new, x, out=buf), out=buf).sum()
        x = x_new
        if err < tol:
            converged = True
            break
    return x, n_iter, converged


def _transition_transposed(A: Any, n: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """``P^T`` as CSR (``P[u, v] = A[u, v] / out_w[u]``) and the dangling mask ``out_w <= 0``.

    ``P^T = A^T D^-1``: the CSR form of ``A^T`` with each entry divided by its column's out-weight.
    When ``A`` is the transpose view of a CSR matrix, ``A^T`` is that matrix (no copy) and only the
    scaled weights are new; otherwise ``A^T`` is converted once. The out-weights are the column sums
    of ``A^T``, summed in the same order as the row sums of ``A``.
    """
    AT = sp.csr_matrix(A.T, dtype=np.float64)
    if AT.shape != (n, n):
        AT = sp.csr_matrix(AT, shape=(n, n))
    out_w = np.bincount(AT.indices, weights=AT.data, minlength=n)
    dangling = out_w <= 0
    inv = np.zeros(n)
    np.divide(1.0, out_w, out=inv, where=~dangling)
    del out_w
    data = inv[AT.indices]
    data *= AT.data
    PT = sp.csr_matrix((data, AT.indices, AT.indptr), shape=(n, n))
    PT.has_sorted_indices = AT.has_sorted_indices
    return PT, dangling


# --------------------------------------------------------------------------------------------------
# strength and coreness
# --------------------------------------------------------------------------------------------------


def strength(
    src: np.ndarray, dst: np.ndarray, w: np.ndarray | None, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted out- and in-degree of every node.

    Parameters
    ----------
    src, dst : int arrays of length m
        Edge endpoints.
    w : float array of length m, or None
        Edge weights; ``None`` counts edges.
    n : int
        Number of nodes.

    Returns
    -------
    out_strength, in_strength : float64 arrays of shape (n,)

    Examples
    --------
    >>> out, inn = strength(np.array([0, 0, 1]), np.array([1, 2, 2]), np.array([2.0, 1.0, 5.0]), 3)
    >>> out.tolist(), inn.tolist()
    ([3.0, 5.0, 0.0], [0.0, 2.0, 6.0])
    """
    ww = None if w is None else np.asarray(w, dtype=np.float64).ravel()
    out = np.bincount(_as_codes(src), weights=ww, minlength=int(n)).astype(np.float64)
    inn = np.bincount(_as_codes(dst), weights=ww, minlength=int(n)).astype(np.float64)
    return out, inn


def coreness(src: np.ndarray, dst: np.ndarray, n: int, *, graph: ig.Graph | None = None) -> np.ndarray:
    """k-core number of every node on the undirected simple graph.

    Directions are ignored, self-loops dropped and parallel or reciprocal edges merged, so the
    result equals ``networkx.core_number`` on ``nx.Graph(edges)`` with self-loops removed. Runs in
    igraph's C core (``Graph.coreness(mode="all")``).

    Parameters
    ----------
    src, dst : int arrays of length m
    n : int
    graph : igraph.Graph, optional
        A prebuilt ``simple_igraph(src, dst, n, directed=False)``; ``src`` and ``dst`` are then
        not read.

    Returns
    -------
    int64 array of shape (n,)

    Examples
    --------
    >>> # a triangle 0-1-2 with a pendant 3 hanging off 2; 4 is isolated
    >>> coreness(np.array([0, 1, 2, 2, 1]), np.array([1, 2, 0, 3, 0]), 5).tolist()
    [2, 2, 2, 1, 0]
    """
    if int(n) == 0:
        return np.zeros(0, dtype=np.int64)
    if graph is None:
        graph = simple_igraph(src, dst, n, directed=False)
    _check_graph(graph, n, False, "coreness")
    g = graph
    return np.asarray(g.coreness(mode="all"), dtype=np.int64)


# --------------------------------------------------------------------------------------------------
# betweenness
# --------------------------------------------------------------------------------------------------


def betweenness_exact(
    src: np.ndarray, dst: np.ndarray, n: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """Exact directed betweenness (Brandes), unnormalized, in igraph's C core.

    ``b(v) = sum over ordered pairs (s, t), s != v != t, of sigma_st(v) / sigma_st``, where
    ``sigma_st`` counts shortest directed paths. Self-loops are dropped and parallel edges merged
    first, so the result equals ``networkx.betweenness_centrality(nx.DiGraph(edges),
    normalized=False)``. Divide by ``(n - 1) * (n - 2)`` for networkx's normalized value.

    Parameters
    ----------
    src, dst : int arrays of length m
    n : int
    weights : float array of length m, optional
        Edge **lengths** (igraph's convention: shortest paths minimise the summed weight), all
        positive. Parallel edges keep their smallest length. Forward counts are strengths, not
        lengths: convert them first (for example ``1 / w`` or ``-log p``).

    Returns
    -------
    float64 array of shape (n,)

    Examples
    --------
    >>> # path 0 -> 1 -> 2 -> 3: node 1 lies on (0,2) and (0,3); node 2 on (0,3) and (1,3)
    >>> betweenness_exact(np.array([0, 1, 2]), np.array([1, 2, 3]), 4).tolist()
    [0.0, 2.0, 2.0, 0.0]
    """
    if int(n) == 0:
        return np.zeros(0, dtype=np.float64)
    u, v, w = _simple_edges(src, dst, n, directed=True, weights=weights, agg="min")
    g = _igraph(u, v, n, directed=True)
    wl = None if w is None else w.tolist()
    return np.asarray(g.betweenness(directed=True, weights=wl), dtype=np.float64)


def vertex_diameter_bound(src: np.ndarray, dst: np.ndarray, n: int, *, max_levels: int = 4096) -> int:
    """An upper bound on the directed vertex diameter (most nodes on any shortest path).

    A shortest path visits the strongly connected components (SCCs) along a chain of the
    condensation DAG, and spends at most ``|C|`` nodes inside each SCC ``C`` (it cannot leave and
    re-enter one). So the heaviest chain of the condensation, weighting each SCC by its size, bounds
    the vertex diameter; it is computed by a level-by-level longest-path pass (one vectorized step
    per DAG level). When the DAG has more than ``max_levels`` levels the bound falls back to the size
    of the largest weakly connected component (a path never leaves its component).

    For share graphs, which are mostly forests of cascades, this is close to the deepest cascade;
    the number of betweenness samples grows only with ``log2`` of the bound.

    Examples
    --------
    >>> # 0 -> 1 -> 2 -> 0 is one SCC of size 3, then 2 -> 3 -> 4
    >>> vertex_diameter_bound(np.array([0, 1, 2, 2, 3]), np.array([1, 2, 0, 3, 4]), 5)
    5
    """
    n = int(n)
    if n == 0:
        return 0
    s, d = _as_codes(src), _as_codes(dst)
    A = sp.csr_matrix((np.ones(s.shape[0], dtype=np.int8), (s, d)), shape=(n, n))
    _, wcc = csgraph.connected_components(A, directed=True, connection="weak")
    wcc_max = int(np.bincount(wcc).max())
    k, scc = csgraph.connected_components(A, directed=True, connection="strong")
    size = np.bincount(scc, minlength=k).astype(np.int64)
    cu, cv = scc[s], scc[d]
    keep = cu != cv
    key = np.unique(cu[keep].astype(np.int64) * k + cv[keep])
    cu, cv = key // k, key % k  # sorted by cu: CSR order of the condensation
    indptr = np.concatenate(([0], np.cumsum(np.bincount(cu, minlength=k))))
    indeg = np.bincount(cv, minlength=k)
    best = size.copy()  # heaviest chain ending at each SCC
    frontier = np.flatnonzero(indeg == 0)
    levels = 0
    while frontier.size:
        levels += 1
        if levels > max_levels:
            return wcc_max
        starts, stops = indptr[frontier], indptr[frontier + 1]
        counts = stops - starts
        if counts.sum() == 0:
            break
        eidx = np.repeat(stops - counts.cumsum(), counts) + np.arange(counts.sum())
        tails, heads = cu[eidx], cv[eidx]
        np.maximum.at(best, heads, best[tails] + size[heads])
        dec = np.bincount(heads, minlength=k)
        indeg -= dec
        touched = np.flatnonzero(dec)
        frontier = touched[indeg[touched] == 0]
    return int(min(best.max(), wcc_max))


def betweenness_sampled(
    src: np.ndarray,
    dst: np.ndarray,
    n: int,
    *,
    epsilon: float = 0.01,
    delta: float = 0.1,
    rng: int | np.random.Generator | None = None,
    graph: ig.Graph | None = None,
    callback: Any = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Directed betweenness estimated from sampled node pairs, within ``epsilon`` w.p. ``1 - delta``.

    **Normalization.** The returned value estimates

        ``b(v) / (n (n - 1))``  =  mean over ordered pairs ``(s, t)``, ``s != t``, of
        ``sigma_st(v) / sigma_st``,

    the Riondato–Kornaropoulos (RK) normalization (unreachable pairs and pairs with ``v`` as an
    endpoint contribute 0). Multiply by ``n (n - 1)`` for :func:`betweenness_exact`'s unnormalized
    value, or by ``n / (n - 2)`` for networkx's normalized directed value.

    **Sample size.** ``r = ceil(c / epsilon**2 * (floor(log2(VD - 2)) + 1 + ln(1 / delta)))`` with
    ``c = 0.5`` and ``VD`` the upper bound of :func:`vertex_diameter_bound` (``VD - 2`` clamped to
    at least 1). Pairs ``(s, t)``, ``s != t``, are drawn uniformly and independently.

    **Credit.** For each sampled pair every node ``v`` receives ``sigma_st(v) / sigma_st``: the
    expected credit of RK's "pick one shortest path uniformly, credit its internal nodes", computed
    exactly instead of drawn (the fixed-sample-size estimator of Riondato & Upfal's ABRA). It has
    the same expectation and no more variance, and the same sample size carries the same guarantee:
    the pseudo-dimension of the family ``{(s, t) -> sigma_st(v) / sigma_st}`` is at most
    ``floor(log2(VD - 2)) + 1`` (Riondato & Upfal, ACM TKDD 2018), the VC-dimension bound RK use.

    **Work.** Samples are grouped by source; each distinct source costs one igraph C call (one BFS
    plus a dependency accumulation restricted to its sampled targets), so there are at most
    ``min(r, n)`` BFS runs (a few more when a source draws the same target twice: one call per
    multiplicity). Self-loops are dropped and parallel edges merged first, as in
    :func:`betweenness_exact`. Unweighted.

    Parameters
    ----------
    src, dst : int arrays of length m
    n : int
    epsilon : float
        Additive error bound on the normalized value, in ``(0, 1)``.
    delta : float
        Failure probability, in ``(0, 1)``.
    rng : int or numpy Generator, optional
        Seed; the same seed gives the same estimate.
    graph : igraph.Graph, optional
        A prebuilt ``simple_igraph(src, dst, n, directed=True)`` (the vertex-diameter bound still
        reads ``src`` and ``dst``).
    callback : callable, optional
        ``callback(step, total)`` after each batch of sampled pairs (``total`` = ``n_samples``): for
        a progress bar.

    Returns
    -------
    scores : float64 array of shape (n,)
    info : dict
        ``epsilon``, ``delta``, ``c``, ``n_samples``, ``n_sources`` (distinct sampled sources),
        ``vertex_diameter_bound``, ``normalization`` (``"pairs"``: divided by ``n (n - 1)``).

    Examples
    --------
    >>> b, info = betweenness_sampled(np.array([0, 1]), np.array([1, 2]), 3, epsilon=0.1, rng=0)
    >>> bool(abs(b[1] - 1 / 6) < 0.1), info["n_samples"]
    (True, 166)
    """
    n = int(n)
    if not (0 < epsilon < 1) or not (0 < delta < 1):
        raise InvalidParameterError(
            f"epsilon and delta must lie in (0, 1); got epsilon={epsilon!r}, delta={delta!r}. "
            "Pass for example epsilon=0.01, delta=0.1."
        )
    gen = np.random.default_rng(rng)
    c = 0.5
    vd = vertex_diameter_bound(src, dst, n)
    d_vc = math.floor(math.log2(max(vd - 2, 1))) + 1
    r = math.ceil(c / epsilon**2 * (d_vc + math.log(1.0 / delta)))
    info: dict[str, Any] = {
        "epsilon": float(epsilon),
        "delta": float(delta),
        "c": c,
        "n_samples": int(r) if n >= 2 else 0,
        "n_sources": 0,
        "vertex_diameter_bound": int(vd),
        "normalization": "pairs",
    }
    scores = np.zeros(n, dtype=np.float64)
    if n < 3:  # no node can be internal to a path
        return scores, info
    s = gen.integers(0, n, size=r)
    t = gen.integers(0, n - 1, size=r)
    t = t + (t >= s)  # uniform over t != s
    if graph is None:
        graph = simple_igraph(src, dst, n, directed=True)
    _check_graph(graph, n, True, "betweenness_sampled")
    g = graph
    if g.ecount() == 0:
        return scores, info
    # group samples by (source, target) with multiplicity, then by (source, multiplicity)
    pair, mult = np.unique(s.astype(np.int64) * n + t, return_counts=True)
    ps, pt = pair // n, pair % n
    order = np.lexsort((pt, mult, ps))
    ps, pt, mult = ps[order], pt[order], mult[order]
    grp = np.flatnonzero(np.r_[True, (ps[1:] != ps[:-1]) | (mult[1:] != mult[:-1]), True])
    for a, b in zip(grp[:-1], grp[1:], strict=True):
        part = g.betweenness(directed=True, sources=[int(ps[a])], targets=pt[a:b].tolist())
        scores += float(mult[a]) * np.asarray(part, dtype=np.float64)
        if callback is not None:
            callback(int(mult[a]) * int(b - a), r)
    info["n_sources"] = int(np.unique(ps).size)
    scores /= r
    return scores, info
