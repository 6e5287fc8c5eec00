"""Community detection on the undirected weighted share graph, and per-community summaries.

Pure kernels: edge arrays in, label arrays out. The directed share graph is symmetrized first
(weight of ``{u, v}`` = ``w(u -> v) + w(v -> u)``, self-loops dropped); detection runs in igraph's C
core (Leiden by default, as DESIGN §9 recommends). A ``flavor="networkx"`` path (networkx Louvain)
exists for cross-checking only.

Labels are canonical: label 0 is the largest community, ties broken by the smallest member code,
so equal partitions always get equal label arrays.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import igraph as ig
import networkx as nx
import numpy as np

from kocgraph.exceptions import InvalidParameterError, check_choice

from ._sort import unique_pairs
from .centrality import _igraph

__all__ = ["communities", "community_summary", "symmetrize", "canonical_labels", "CommunitySummary", "igraph_seed"]

_METHODS = ("leiden", "louvain", "label_propagation")


def symmetrize(
    src: np.ndarray, dst: np.ndarray, w: np.ndarray | None, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Undirected simple weighted edge list: ``u < v``, weight ``w(u->v) + w(v->u)``, no self-loops.

    Parallel edges add up too. ``w=None`` weighs every directed edge 1. ``u`` and ``v`` are int32
    codes (int64 beyond 2**31 users), sorted by ``(u, v)``; one packed sort finds them.

    Examples
    --------
    >>> u, v, w = symmetrize(np.array([0, 1, 1, 2]), np.array([1, 0, 2, 2]), None, 3)
    >>> u.tolist(), v.tolist(), w.tolist()
    ([0, 1], [1, 2], [2.0, 1.0])
    """
    s, d = np.asarray(src).ravel(), np.asarray(dst).ravel()
    if s.dtype.kind not in "iu":
        s, d = s.astype(np.int64), d.astype(np.int64)
    ww = np.ones(s.shape[0]) if w is None else np.asarray(w, dtype=np.float64).ravel()
    keep = s != d
    if not keep.all():
        s, d, ww = s[keep], d[keep], ww[keep]
    u, v, inv = unique_pairs(np.minimum(s, d), np.maximum(s, d), n)
    return u, v, np.bincount(inv, weights=ww, minlength=u.shape[0])


def canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Relabel so 0 is the largest community; ties go to the community with the smallest member.

    Examples
    --------
    >>> canonical_labels(np.array([7, 7, 3, 3, 3, 9])).tolist()
    [1, 1, 0, 0, 0, 2]
    """
    lab = np.asarray(labels).ravel()
    if lab.size == 0:
        return np.zeros(0, dtype=np.int64)
    uniq, first, inv, size = np.unique(lab, return_index=True, return_inverse=True, return_counts=True)
    order = np.lexsort((first, -size))  # size descending, then smallest member code
    new = np.empty(uniq.shape[0], dtype=np.int64)
    new[order] = np.arange(uniq.shape[0])
    return new[inv]


@contextmanager
def igraph_seed(seed: int) -> Iterator[None]:
    """Route igraph's RNG through a private ``random.Random(seed)`` for one call; give it back the
    ``random`` module (igraph's default) after. The one place kocgraph seeds igraph."""
    ig.set_random_number_generator(random.Random(seed))
    try:
        yield
    finally:
        ig.set_random_number_generator(random)


def _modularity(labels: np.ndarray, u: np.ndarray, v: np.ndarray, w: np.ndarray, resolution: float) -> float:
    """Newman modularity of ``labels`` on the undirected weighted graph; NaN when it has no weight."""
    total = w.sum()
    if total <= 0:
        return float("nan")
    k = int(labels.max()) + 1
    lu, lv = labels[u], labels[v]
    same = lu == lv
    # the edges across communities would add 0.0 to the internal sums: leaving them out changes nothing
    internal = np.bincount(lu[same], weights=w[same], minlength=k)
    deg = np.bincount(lu, weights=w, minlength=k) + np.bincount(lv, weights=w, minlength=k)
    return float((internal / total - resolution * (deg / (2 * total)) ** 2).sum())


def communities(
    src: np.ndarray,
    dst: np.ndarray,
    w: np.ndarray | None,
    n: int,
    *,
    method: str = "leiden",
    resolution: float = 1.0,
    rng: int | np.random.Generator | None = None,
    n_iterations: int = 2,
    flavor: str = "igraph",
    graph: ig.Graph | None = None,
) -> tuple[np.ndarray, float]:
    """Partition users into communities by modularity on the symmetrized share graph.

    Parameters
    ----------
    src, dst : int arrays of length m
        Directed share edges.
    w : float array of length m, or None
        Edge weights (for example ``n_forwards``); ``None`` weighs each edge 1.
    n : int
        Number of users.
    method : {"leiden", "louvain", "label_propagation"}
        igraph's ``community_leiden`` (objective ``"modularity"``), ``community_multilevel`` or
        ``community_label_propagation``.
    resolution : float
        Modularity resolution ``gamma`` (leiden and louvain; label propagation ignores it, but the
        returned modularity uses it).
    rng : int or numpy Generator, optional
        Seeds igraph's RNG (through a private ``random.Random``) for the call; same seed, same labels.
    n_iterations : int
        Leiden iterations (igraph's default, 2); negative iterates until the partition stops
        changing, which on a 1M-edge share graph took about 10x longer for +0.002 modularity.
    flavor : {"igraph", "networkx"}
        ``"networkx"`` runs ``networkx.community.louvain_communities`` (cross-checking only; slow).
    graph : igraph.Graph, optional
        A prebuilt ``kocgraph.algorithms.centrality.simple_igraph(src, dst, n, directed=False)``
        (its edges are in :func:`symmetrize` order); saves rebuilding the igraph view.

    Returns
    -------
    labels : int64 array of shape (n,)
        Canonical labels (0 = largest community). Isolated users are singletons.
    modularity : float
        Modularity of ``labels`` at ``resolution`` on the undirected weighted graph, as igraph's
        ``Graph.modularity`` computes it; NaN when the graph has no edges.

    Examples
    --------
    >>> # two triangles joined by the edge 2 -> 3
    >>> src = np.array([0, 1, 2, 3, 4, 5, 2]); dst = np.array([1, 2, 0, 4, 5, 3, 3])
    >>> labels, q = communities(src, dst, None, 6, rng=0)
    >>> labels.tolist(), round(q, 4)
    ([0, 0, 0, 1, 1, 1], 0.3571)
    """
    check_choice("method", method, _METHODS, where="communities")
    check_choice("flavor", flavor, ("igraph", "networkx"), where="communities")
    n = int(n)
    if n == 0:
        return np.zeros(0, dtype=np.int64), float("nan")
    u, v, ww = symmetrize(src, dst, w, n)
    del w  # the caller may hand it over: only the symmetrized weights are needed from here
    if (ww < 0).any():
        raise InvalidParameterError(
            f"community detection needs non-negative weights; the smallest is {ww.min()!r}. "
            "Pass weights such as forward counts."
        )
    gen = np.random.default_rng(rng)
    seed = int(gen.integers(0, 2**31 - 1))
    if flavor == "networkx":
        G = nx.Graph()
        G.add_nodes_from(range(n))
        G.add_weighted_edges_from(zip(u.tolist(), v.tolist(), ww.tolist(), strict=True))
        parts = nx.community.louvain_communities(G, weight="weight", resolution=resolution, seed=seed)
        raw = np.empty(n, dtype=np.int64)
        for i, members in enumerate(parts):
            raw[list(members)] = i
    else:
        if graph is None:
            g = _igraph(u, v, n, directed=False)
        elif graph.vcount() != n or graph.is_directed() or graph.ecount() != u.shape[0]:
            raise InvalidParameterError(
                f"graph= has {graph.vcount()} vertices and {graph.ecount()} edges "
                f"(directed={graph.is_directed()}); expected an undirected graph with {n} vertices "
                f"and {u.shape[0]} edges. Build it with simple_igraph(src, dst, n, directed=False)."
            )
        else:
            g = graph
        wl = ww  # igraph reads the float64 array itself (a list of Python floats cost 32 bytes an edge)
        with igraph_seed(seed):
            if method == "leiden":
                cl = g.community_leiden(
                    objective_function="modularity",
                    weights=wl,
                    resolution=resolution,
                    n_iterations=n_iterations,
                )
            elif method == "louvain":
                cl = g.community_multilevel(weights=wl, resolution=resolution)
            else:
                cl = g.community_label_propagation(weights=wl)
        raw = np.asarray(cl.membership, dtype=np.int64)
    labels = canonical_labels(raw)
    return labels, _modularity(labels, u, v, ww, resolution)


class CommunitySummary(NamedTuple):
    """Per-community arrays, indexed by label.

    Attributes
    ----------
    size : int64 array
        Number of users.
    internal : float64 array
        Summed weight of forwards with both ends inside (self-loops excluded).
    external : float64 array
        Summed weight of forwards with exactly one end inside (leaving or entering).
    modularity : float64 array
        Newman's per-community term ``L_c / M - gamma * (K_c / 2M)**2`` on the symmetrized graph
        (``M`` total weight, ``L_c`` internal weight, ``K_c`` summed strength); sums to the
        modularity of the partition.
    """

    size: np.ndarray
    internal: np.ndarray
    external: np.ndarray
    modularity: np.ndarray


def community_summary(
    labels: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    w: np.ndarray | None = None,
    *,
    resolution: float = 1.0,
) -> CommunitySummary:
    """Size, internal and external forwards, and modularity contribution of every community.

    Self-loops are excluded everywhere, as in :func:`communities`. ``w=None`` counts forwards.

    Examples
    --------
    >>> s = community_summary(np.array([0, 0, 1]), np.array([0, 1, 2]), np.array([1, 2, 0]))
    >>> s.size.tolist(), s.internal.tolist(), s.external.tolist()
    ([2, 1], [1.0, 0.0], [2.0, 2.0])
    >>> round(float(s.modularity.sum()), 4)
    -0.2222
    """
    lab = np.asarray(labels, dtype=np.int64).ravel()
    k = int(lab.max()) + 1 if lab.size else 0
    s = np.asarray(src, dtype=np.int64).ravel()
    d = np.asarray(dst, dtype=np.int64).ravel()
    ww = np.ones(s.shape[0]) if w is None else np.asarray(w, dtype=np.float64).ravel()
    keep = s != d
    s, d, ww = s[keep], d[keep], ww[keep]
    ls, ld = lab[s], lab[d]
    inside = ls == ld
    internal = np.bincount(ls[inside], weights=ww[inside], minlength=k).astype(np.float64)
    cross = ~inside
    external = np.bincount(ls[cross], weights=ww[cross], minlength=k) + np.bincount(
        ld[cross], weights=ww[cross], minlength=k
    )
    total = ww.sum()
    if total > 0:
        deg = 2 * internal + external
        q = internal / total - resolution * (deg / (2 * total)) ** 2
    else:
        q = np.full(k, np.nan)
    size = np.bincount(lab, minlength=k).astype(np.int64)
    return CommunitySummary(size, internal, external.astype(np.float64), q)
