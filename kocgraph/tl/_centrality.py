"""``kg.tl`` centrality and community tools: thin, validated wrappers over the kernels."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.progress import advance, check_progress, progress_bar
from .._core.tools import check_graph, record
from .._core.validation import check_rng
from ..algorithms import centrality as K
from ..algorithms import communities as C
from ..exceptions import ConvergenceWarning, InvalidParameterError, check_choice

__all__ = ["pagerank", "strength", "coreness", "betweenness", "communities"]

#: above this many users ``betweenness(method="auto")`` samples instead of computing exactly
EXACT_BETWEENNESS_MAX_USERS = 5_000
#: the undirected igraph view that coreness and communities share is kept in the graph's cache up to
#: this many edges (about 50 MB); a larger one is dropped once ``communities`` has used it
IGRAPH_KEEP_MAX_EDGES = 1_000_000
_IGRAPH_KEY = "igraph_undirected_simple"


def _prepare(g: Any, copy: bool, where: str) -> ShareGraph:
    g = check_graph(g, where)
    return g.copy() if copy else g


def _edge_weights(g: ShareGraph, weight: str | None) -> np.ndarray | None:
    if weight is None:
        return None
    if weight not in g.edges.columns:
        raise InvalidParameterError(
            f"weight={weight!r} is not a column of g.edges; columns are {list(g.edges.columns)}. "
            "Pass weight='n_forwards' (the default), weight=None, or a column a kg.tl tool wrote."
        )
    w = g.edges[weight].to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isnan(w).any() or (w < 0).any():
        raise InvalidParameterError(f"g.edges[{weight!r}] has missing or negative values; weights must be >= 0.")
    return w


def _undirected_igraph(g: ShareGraph) -> Any:
    """The undirected simple igraph view of ``g`` (built once from the int32 edge codes, cached).

    ``coreness`` and ``communities`` share it. igraph holds about 40 bytes per edge, so a view of
    more than :data:`IGRAPH_KEEP_MAX_EDGES` edges is dropped again once ``communities`` (the later of
    the two in a nomination: coreness, communities, cascades, pagerank, kocs) has used it; a
    smaller one stays for the next call.
    """
    if _IGRAPH_KEY not in g._cache:
        c = g.codes
        g._cache[_IGRAPH_KEY] = K.simple_igraph(c.edge_src, c.edge_tgt, g.n_users, directed=False)
    return g._cache[_IGRAPH_KEY]


def _personalization(g: ShareGraph, personalization: Any) -> np.ndarray | None:
    if personalization is None:
        return None
    p = np.zeros(g.n_users, dtype=np.float64)
    if isinstance(personalization, (dict, pd.Series)):
        items = dict(personalization)
        codes = g.user_codes(list(items))
        vals = np.asarray(list(items.values()), dtype=np.float64)
        if (vals < 0).any() or not np.isfinite(vals).all():
            raise InvalidParameterError("personalization weights must be finite and >= 0.")
        p[codes] = vals
    else:
        p[g.user_codes(list(personalization) if not isinstance(personalization, (str, int)) else [personalization])] = 1.0
    if p.sum() <= 0:
        raise InvalidParameterError(
            "personalization puts zero weight on every user; pass user ids (e.g. staff) or positive weights."
        )
    return p / p.sum()


def pagerank(
    g: ShareGraph,
    *,
    weight: str | None = "n_forwards",
    damping: float = 0.85,
    personalization: Any = None,
    direction: Literal["influence", "forward"] = "influence",
    tol: float = 1e-10,
    max_iter: int = 1000,
    flavor: Literal["scipy", "networkx"] = "scipy",
    key_added: str = "pagerank",
    copy: bool = False,
) -> ShareGraph | None:
    """Influence PageRank: PageRank on the *reversed* share graph (target → source).

    Score flows from receivers back to the users whose forwards feed them, so a user ranks high when
    their forwards reach many well-connected receivers. Weighted by ``g.edges[weight]``
    (``n_forwards`` by default). ``direction="forward"`` runs plain PageRank on the share graph instead
    (score flows to receivers). Power iteration in scipy to an L1 change below ``tol``; dangling users
    redistribute by the personalization vector, as networkx does.

    Parameters
    ----------
    personalization
        ``None`` (uniform), a list of user ids (e.g. staff: uniform over them), or a mapping
        ``{user: weight}``.
    g
        The graph to annotate.
    weight
        Edge column of ``g.edges`` weighing the forwards (None: every edge weighs 1).
    damping
        The probability of following a link rather than jumping, strictly between 0 and 1.
    direction
        ``"influence"`` (score flows from receivers back to senders) or ``"forward"``.
    tol
        Stop once the L1 change of the scores is below this.
    max_iter
        The most power iterations (a ConvergenceWarning when reached).
    flavor
        ``"scipy"`` (default, the fast path) or ``"networkx"`` (the reference implementation, for cross-checks).
    key_added
        Where the results go: ``g.nodes[key_added]`` and ``g.meta[key_added]`` (the record of the run: columns written, parameters).
    copy
        Annotate and return a copy instead of ``g`` (which is then left as it was).

    Writes
    ------
    ``g.nodes[key_added]`` (sums to 1) and ``g.meta[key_added]`` (parameters, iterations, converged).

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.pagerank(g)
    >>> g.nodes["pagerank"].idxmax()
    'alice'
    """
    g = _prepare(g, copy, "kg.tl.pagerank")
    check_choice("direction", direction, ("influence", "forward"), where="kg.tl.pagerank")
    check_choice("flavor", flavor, ("scipy", "networkx"), where="kg.tl.pagerank")
    if not (0.0 < float(damping) < 1.0):
        raise InvalidParameterError(f"damping={damping!r} must be strictly between 0 and 1; 0.85 is usual.")
    pers = _personalization(g, personalization)
    if weight not in (None, "n_forwards", "n_items"):  # counts from the log are valid by construction
        _edge_weights(g, weight)
    A = g.adjacency(weight)
    if flavor == "networkx":
        import networkx as nx

        G = nx.DiGraph()
        G.add_nodes_from(range(g.n_users))
        c = g.codes
        wv = A.data
        if direction == "influence":
            G.add_weighted_edges_from(zip(c.edge_tgt.tolist(), c.edge_src.tolist(), wv.tolist()))
        else:
            G.add_weighted_edges_from(zip(c.edge_src.tolist(), c.edge_tgt.tolist(), wv.tolist()))
        pd_ = None if pers is None else {i: float(x) for i, x in enumerate(pers)}
        res = nx.pagerank(G, alpha=damping, personalization=pd_, tol=1e-15, max_iter=max_iter, weight="weight",
                          dangling=pd_)
        scores = np.array([res[i] for i in range(g.n_users)])
        n_iter, converged = -1, True
    else:
        M = A.T if direction == "influence" else A  # the transpose view: P^T shares A's index arrays
        scores, n_iter, converged = K.pagerank(M, damping=damping, personalization=pers, tol=tol, max_iter=max_iter)
        if not converged:
            warnings.warn(
                f"kg.tl.pagerank stopped after max_iter={max_iter} iterations before reaching tol={tol}. "
                "Raise max_iter or loosen tol.", ConvergenceWarning, stacklevel=2,
            )
    g.nodes[key_added] = scores
    record(g, key_added, {"weight": weight, "damping": damping, "direction": direction, "tol": tol,
                          "max_iter": max_iter, "flavor": flavor,
                          "personalization": None if personalization is None else "custom"},
           tool="tl.pagerank", columns={"nodes": [key_added]}, n_iter=int(n_iter), converged=bool(converged))
    return g if copy else None


def strength(g: ShareGraph, *, weight: str | None = "n_forwards", key_added: str = "strength",
             copy: bool = False) -> ShareGraph | None:
    """Weighted out- and in-strength: forwards sent and received (``weight=None``: distinct partners).

    Parameters
    ----------
    g
        The graph to annotate.
    weight
        Edge column to sum (None: count distinct partners).
    key_added
        Where the results go: ``g.nodes[key_added + "_out"]``, ``g.nodes[key_added + "_in"]`` and ``g.meta[key_added]`` (the record of the run: columns written, parameters).
    copy
        Annotate and return a copy instead of ``g`` (which is then left as it was).

    Writes
    ------
    ``g.nodes[key_added + "_out"]`` and ``g.nodes[key_added + "_in"]``.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.strength(g)
    >>> int(g.nodes.loc["alice", "strength_out"]), int(g.nodes.loc["alice", "strength_in"])
    (8, 4)
    """
    g = _prepare(g, copy, "kg.tl.strength")
    c = g.codes
    out_s, in_s = K.strength(c.edge_src, c.edge_tgt, _edge_weights(g, weight), g.n_users)
    g.nodes[key_added + "_out"] = out_s
    g.nodes[key_added + "_in"] = in_s
    record(g, key_added, {"weight": weight}, tool="tl.strength",
           columns={"nodes": [key_added + "_out", key_added + "_in"]})
    return g if copy else None


def coreness(g: ShareGraph, *, flavor: Literal["igraph", "networkx"] = "igraph", key_added: str = "coreness",
             copy: bool = False) -> ShareGraph | None:
    """k-core number of every user on the undirected simple share graph (igraph's C core).

    The igraph graph is built once from the int32 edge codes and kept for :func:`communities`.

    Parameters
    ----------
    g
        The graph to annotate.
    flavor
        ``"igraph"`` (default, the fast path) or ``"networkx"`` (the reference implementation, for cross-checks).
    key_added
        Where the results go: ``g.nodes[key_added]`` and ``g.meta[key_added]`` (the record of the run: columns written, parameters).
    copy
        Annotate and return a copy instead of ``g`` (which is then left as it was).

    Writes
    ------
    ``g.nodes[key_added]`` (int).

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.coreness(g)
    >>> int(g.nodes["coreness"].max())
    2
    """
    g = _prepare(g, copy, "kg.tl.coreness")
    check_choice("flavor", flavor, ("igraph", "networkx"), where="kg.tl.coreness")
    c = g.codes
    if flavor == "networkx":
        import networkx as nx

        G = nx.Graph()
        G.add_nodes_from(range(g.n_users))
        G.add_edges_from(zip(c.edge_src.tolist(), c.edge_tgt.tolist()))
        core = nx.core_number(G)
        vals = np.array([core[i] for i in range(g.n_users)], dtype=np.int64)
    else:
        vals = K.coreness(c.edge_src, c.edge_tgt, g.n_users, graph=_undirected_igraph(g))
    g.nodes[key_added] = vals
    record(g, key_added, {"flavor": flavor}, tool="tl.coreness", columns={"nodes": [key_added]})
    return g if copy else None


def betweenness(
    g: ShareGraph,
    *,
    method: Literal["auto", "exact", "sampled"] = "auto",
    epsilon: float = 0.01,
    delta: float = 0.1,
    weight: str | None = None,
    rng: Any = 0,
    flavor: Literal["igraph", "networkx"] = "igraph",
    key_added: str = "betweenness",
    copy: bool = False,
    progress: bool | None = None,
) -> ShareGraph | None:
    """Directed betweenness: the share of ordered user pairs (s, t) whose shortest forwarding paths
    pass through each user, i.e. ``b(v) / (n (n - 1))``.

    ``method="exact"`` runs Brandes' algorithm in igraph's C core. ``method="sampled"`` estimates it
    from Riondato–Kornaropoulos pair sampling: with probability at least ``1 - delta`` every user's
    estimate is within ``epsilon`` of the exact value (the bound and the sample size go to
    ``g.meta[key_added]``). ``"auto"`` is exact up to 5,000 users, sampled above. ``weight=None`` counts
    hops; a column name uses it as an edge *length* (exact method only). ``progress``: a bar over the
    sampled pairs (None: only in a terminal or Jupyter; True: always; False: never).

    Parameters
    ----------
    g
        The graph to annotate.
    method
        ``"auto"``, ``"exact"`` or ``"sampled"`` (see above).
    epsilon
        Sampled method: the largest error of any user's estimate (with probability ``1 - delta``).
    delta
        Sampled method: the chance that some estimate misses by more than ``epsilon``.
    weight
        Edge column used as a length (exact method only); None counts hops.
    rng
        Seed (an int, None, or a ``numpy.random.Generator``) of the pair sampling; the same seed gives the same result.
    flavor
        ``"igraph"`` (default, the fast path) or ``"networkx"`` (the reference implementation, for cross-checks).
    key_added
        Where the results go: ``g.nodes[key_added]`` and ``g.meta[key_added]`` (the record of the run: columns written, parameters).
    copy
        Annotate and return a copy instead of ``g`` (which is then left as it was).
    progress
        A progress bar: None (default) only when someone watches (a terminal or Jupyter), True always, False never.

    Writes
    ------
    ``g.nodes[key_added]``.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.betweenness(g)
    >>> g.nodes["betweenness"].idxmax()
    'alice'
    """
    g = _prepare(g, copy, "kg.tl.betweenness")
    check_choice("method", method, ("auto", "exact", "sampled"), where="kg.tl.betweenness")
    check_choice("flavor", flavor, ("igraph", "networkx"), where="kg.tl.betweenness")
    check_progress(progress, where="kg.tl.betweenness")
    for nm, v in (("epsilon", epsilon), ("delta", delta)):
        if not (0.0 < float(v) < 1.0):
            raise InvalidParameterError(f"{nm}={v!r} must be strictly between 0 and 1 (e.g. {nm}=0.01).")
    if method == "auto":
        method = "exact" if g.n_users <= EXACT_BETWEENNESS_MAX_USERS else "sampled"
    c = g.codes
    n = g.n_users
    norm = float(n) * float(n - 1) if n > 1 else 1.0
    info: dict[str, Any] = {}
    if flavor == "networkx":
        import networkx as nx

        G = nx.DiGraph()
        G.add_nodes_from(range(n))
        w = _edge_weights(g, weight)
        if w is None:
            G.add_edges_from(zip(c.edge_src.tolist(), c.edge_tgt.tolist()))
        else:
            G.add_weighted_edges_from(zip(c.edge_src.tolist(), c.edge_tgt.tolist(), w.tolist()))
        b = nx.betweenness_centrality(G, normalized=False, weight=None if w is None else "weight")
        vals = np.array([b[i] for i in range(n)]) / norm
        method = "exact"
    elif method == "exact":
        vals = K.betweenness_exact(c.edge_src, c.edge_tgt, n, weights=_edge_weights(g, weight)) / norm
    else:
        if weight is not None:
            raise InvalidParameterError(
                "method='sampled' counts hops only; pass weight=None, or method='exact' for weighted lengths."
            )
        seed = int(check_rng(rng).integers(2**31 - 1))
        with progress_bar(progress, total=None, desc="betweenness (sampled pairs)", unit="pair",
                          where="kg.tl.betweenness") as bar:
            vals, info = K.betweenness_sampled(c.edge_src, c.edge_tgt, n, epsilon=epsilon, delta=delta, rng=seed,
                                               callback=advance(bar))
    g.nodes[key_added] = vals
    record(g, key_added, {"method": method, "epsilon": epsilon if method == "sampled" else None,
                          "delta": delta if method == "sampled" else None, "weight": weight, "flavor": flavor},
           tool="tl.betweenness", columns={"nodes": [key_added]}, normalization="b(v) / (n (n - 1)), ordered pairs", **({"bound": info} if info else {}))
    return g if copy else None


def communities(
    g: ShareGraph,
    *,
    method: Literal["leiden", "louvain", "label_propagation"] = "leiden",
    resolution: float = 1.0,
    weight: str | None = "n_forwards",
    n_iterations: int = 2,
    rng: Any = 0,
    flavor: Literal["igraph", "networkx"] = "igraph",
    key_added: str = "community",
    copy: bool = False,
) -> ShareGraph | None:
    """Communities on the undirected weighted share graph (weight of {u, v} = forwards both ways).

    Leiden (modularity objective), Louvain and label propagation run in igraph's C core; the same
    ``rng`` gives the same labels. Labels are ordered by size: community 0 is the largest. Isolated
    users would be singletons (every user here has at least one forward). The undirected igraph
    graph is the one :func:`coreness` built (or is built here, from the int32 edge codes); above
    1M edges it is freed after this call (see ``IGRAPH_KEEP_MAX_EDGES``).

    Parameters
    ----------
    g
        The graph to annotate.
    method
        ``"leiden"``, ``"louvain"`` or ``"label_propagation"``.
    resolution
        Modularity resolution (> 0; larger gives more, smaller communities).
    weight
        Edge column weighing each link (None: every link weighs 1).
    n_iterations
        Leiden iterations (negative: until stable).
    rng
        Seed (an int, None, or a ``numpy.random.Generator``) of the community search; the same seed gives the same result.
    flavor
        ``"igraph"`` (default, the fast path) or ``"networkx"`` (the reference implementation, for cross-checks).
    key_added
        Where the results go: ``g.nodes[key_added]`` and ``g.meta[key_added]`` (the record of the run: columns written, parameters).
    copy
        Annotate and return a copy instead of ``g`` (which is then left as it was).

    Writes
    ------
    ``g.nodes[key_added]`` (int label) and ``g.meta[key_added]`` (modularity, sizes).

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.communities(g, rng=0)
    >>> int(g.nodes["community"].value_counts().index[0])
    0
    """
    g = _prepare(g, copy, "kg.tl.communities")
    check_choice("method", method, ("leiden", "louvain", "label_propagation"), where="kg.tl.communities")
    check_choice("flavor", flavor, ("igraph", "networkx"), where="kg.tl.communities")
    if not float(resolution) > 0:
        raise InvalidParameterError(f"resolution={resolution!r} must be > 0; 1.0 is the classic modularity.")
    seed = int(check_rng(rng).integers(2**31 - 1))
    c = g.codes
    graph = _undirected_igraph(g) if flavor == "igraph" else None
    labels, q = C.communities(c.edge_src, c.edge_tgt, _edge_weights(g, weight), g.n_users, method=method, resolution=resolution,
                              rng=seed, n_iterations=n_iterations, flavor=flavor, graph=graph)
    if graph is not None and graph.ecount() > IGRAPH_KEEP_MAX_EDGES:  # a large view is not kept
        g._cache.pop(_IGRAPH_KEY, None)
    del graph
    g.nodes[key_added] = labels.astype(np.int64)
    sizes = np.bincount(labels) if labels.size else np.zeros(0, dtype=np.int64)
    record(g, key_added, {"method": method, "resolution": resolution, "weight": weight,
                          "n_iterations": n_iterations, "rng": rng if isinstance(rng, (int, type(None))) else "Generator",
                          "flavor": flavor},
           tool="tl.communities", columns={"nodes": [key_added]}, modularity=float(q), n_communities=int(sizes.size), largest_sizes=sizes[:10].tolist())
    return g if copy else None
