"""``kg.tl.tie_strength`` and ``kg.tl.routes``: forward probabilities, and the routes from the staff to each KOC."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph, record, require
from .._core.validation import check_int
from ..algorithms import routes as R
from ..exceptions import InvalidParameterError, check_choice

__all__ = ["tie_strength", "routes", "reshares_and_receipts"]


def reshares_and_receipts(g: ShareGraph) -> tuple[np.ndarray, np.ndarray]:
    """Per edge u -> v: items v received from u (``receipts``) and, of those, items v forwarded to
    anyone after first receiving them from u (``reshares``). Vectorized, O(events log events)."""
    c = g.codes
    E, N, M = g.n_events, np.int64(max(g.n_users, 1)), np.int64(max(g.n_items, 1))
    if E == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z
    # first receipt time of each (edge, item)
    k_ei = c.edge.astype(np.int64) * M + c.item
    o = np.lexsort((c.time, k_ei))
    ks = k_ei[o]
    first = np.r_[True, ks[1:] != ks[:-1]]
    pair_edge = (ks[first] // M).astype(np.int64)
    pair_item = (ks[first] % M).astype(np.int64)
    pair_time = c.time[o][first]
    # first send time of each (item, user)
    k_send = c.item.astype(np.int64) * N + c.src
    o2 = np.lexsort((c.time, k_send))
    ks2 = k_send[o2]
    f2 = np.r_[True, ks2[1:] != ks2[:-1]]
    send_keys, send_time = ks2[f2], c.time[o2][f2]
    # did the receiver v send item i after receiving it from u?
    recv_user = c.edge_tgt[pair_edge].astype(np.int64)
    q = pair_item * N + recv_user
    pos = np.searchsorted(send_keys, q)
    pos_c = np.minimum(pos, max(send_keys.shape[0] - 1, 0))
    found = (send_keys.shape[0] > 0) & (send_keys[pos_c] == q)
    reshared = found & (send_time[pos_c] >= pair_time)
    receipts = np.bincount(pair_edge, minlength=g.n_edges).astype(np.int64)
    reshares = np.bincount(pair_edge[reshared], minlength=g.n_edges).astype(np.int64)
    return reshares, receipts


def tie_strength(
    g: ShareGraph,
    *,
    method: Literal["auto", "exposure", "weighted_cascade"] = "auto",
    prior: tuple[float, float] = (1.0, 1.0),
    key_added: str = "tie_strength",
    copy: bool = False,
) -> ShareGraph | None:
    """Forward probability of every edge ``u -> v``, in (0, 1].

    - ``"exposure"``: of the items ``v`` received from ``u``, the share ``v`` passed on, smoothed with a
      Beta(a, b) prior (``prior=(a, b)``, default (1, 1)): ``(reshares + a) / (receipts + a + b)``, so a
      one-off edge reshared once gets 2/3, not 1.
    - ``"weighted_cascade"``: ``w(u, v) / Σ_x w(x, v)`` with ``w = n_forwards`` (DESIGN §5).
    - ``"auto"``: exposure when the log has ``view`` events (receipts are then observed), else
      weighted cascade.

    Parameters
    ----------
    g
        The graph to annotate.
    method
        ``"auto"``, ``"exposure"`` or ``"weighted_cascade"`` (see above).
    prior
        ``(a, b)`` of the Beta prior of the exposure method (both > 0).
    key_added
        Where the results go: ``g.edges[key_added]`` (and the exposure counts) and ``g.meta[key_added]`` (the record of the run: columns written, parameters).
    copy
        Annotate and return a copy instead of ``g`` (which is then left as it was).

    Writes
    ------
    ``g.edges[key_added]``; with exposure also ``g.edges[key_added + "_receipts"]`` and
    ``g.edges[key_added + "_reshares"]``; the method used in ``g.meta[key_added]``.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.tie_strength(g)
    >>> g.meta["tie_strength"]["method"]
    'weighted_cascade'
    >>> float(g.edges["tie_strength"].max())
    1.0
    """
    g = check_graph(g, "kg.tl.tie_strength")
    if copy:
        g = g.copy()
    check_choice("method", method, ("auto", "exposure", "weighted_cascade"), where="kg.tl.tie_strength")
    a, b = (float(x) for x in prior)
    if not (a > 0 and b > 0):
        raise InvalidParameterError(f"prior={prior!r} must be two positive numbers (a, b), e.g. (1, 1).")
    used = method
    if method == "auto":
        has_views = "event_type" in g.events.columns and bool((g.events["event_type"] == "view").any())
        used = "exposure" if has_views else "weighted_cascade"
    c = g.codes
    if used == "exposure":
        reshares, receipts = reshares_and_receipts(g)
        p = R.exposure_probability(reshares, receipts, prior_a=a, prior_b=b)
        g.edges[f"{key_added}_receipts"] = receipts
        g.edges[f"{key_added}_reshares"] = reshares
    else:
        p = R.weighted_cascade_probability(c.edge_src, c.edge_tgt, g.edges["n_forwards"].to_numpy(np.float64), g.n_users)
    g.edges[key_added] = p
    cols = [key_added] + [f"{key_added}_{x}" for x in ("receipts", "reshares") if used == "exposure"]
    record(g, key_added, {"method": method, "prior": [a, b]}, tool="tl.tie_strength", columns={"edges": cols},
           method=used)
    return g if copy else None


def _as_codes(g: ShareGraph, users: Any, what: str) -> np.ndarray:
    if isinstance(users, (str, int, np.integer)):
        users = [users]
    codes = g.user_codes(list(users), what=what)
    if codes.size == 0:
        raise InvalidParameterError(f"{what}s is empty; pass at least one user id.")
    return np.unique(codes)


def routes(
    g: ShareGraph,
    sources: Iterable[Any] | None = None,
    targets: Literal["kocs"] | Iterable[Any] = "kocs",
    *,
    k: int = 3,
    objective: Literal["probable", "short"] = "probable",
    weight: str = "tie_strength",
    n_kocs: int = 100,
    node_disjoint: bool = False,
    kocs_key: str = "koc",
    key_added: str = "routes",
    copy: bool = False,
) -> ShareGraph | None:
    """The ``k`` best routes from any staff account to each target: who can introduce us.

    One multi-source Dijkstra from all ``sources`` at once. The best route maximizes the product of
    tie strengths (``objective="probable"``: shortest path under ``-log p``) or minimizes hops
    (``"short"``, ties broken by probability). The alternatives differ in the *introducer*, the last
    person before the target, so a sales rep gets distinct people to ask. ``node_disjoint=True`` (one
    target only) instead returns routes that share no intermediate person (min-cost flow).
    Unreachable targets are listed with the reason, never silently missing.

    Parameters
    ----------
    sources
        Staff ids; by default the staff given to :func:`kocs` cannot be recovered, so pass them.
    targets
        ``"kocs"`` (the top ``n_kocs`` of :func:`kocs`) or a list of user ids.
    weight
        Edge column with probabilities (computed by :func:`tie_strength` when missing).
    g
        The graph to search.
    k
        Routes per target (distinct introducers).
    objective
        ``"probable"`` or ``"short"`` (see above).
    n_kocs
        With ``targets="kocs"``: how many of the top-ranked users are targets.
    node_disjoint
        One target only: routes sharing no intermediate person.
    kocs_key
        With ``targets="kocs"``: the ``key_added`` of the KOC ranking to read.
    key_added
        Where the results go: the tables and ``g.nodes`` columns above and ``g.meta[key_added]`` (the record of the run: columns written, parameters).
    copy
        Annotate and return a copy instead of ``g`` (which is then left as it was).

    Writes
    ------
    ``g.tables[key_added]`` (one row per route: target, rank, source, introducer, hops, strength,
    path as user codes), ``g.tables[key_added + "_unreachable"]``, and per target in ``g.nodes``:
    ``routes_strength``, ``routes_hops``, ``routes_introducer`` (best route; ``<key_added>_...``).

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.routes(g, sources=["brand", "staff_li"], targets=["carol", "judy"])
    >>> kg.get.routes(g, "judy")["path"].iloc[0]
    'staff_li → alice → judy'
    """
    g = check_graph(g, "kg.tl.routes")
    if copy:
        g = g.copy()
    check_choice("objective", objective, ("probable", "short"), where="kg.tl.routes")
    k = check_int("k", k, minimum=1, where="kg.tl.routes")
    if sources is None:
        raise InvalidParameterError(
            "kg.tl.routes needs sources= (the staff or brand accounts routes start from), e.g. sources=['brand']."
        )
    src_codes = _as_codes(g, sources, "source")
    computed = []
    if isinstance(targets, str):
        if targets != "kocs":
            raise InvalidParameterError(f"targets={targets!r}: pass 'kocs' or a list of user ids.")
        require(g, kocs_key, tool="tl.kocs", where="kg.tl.routes(targets='kocs')", args="staff=...",
                nodes=[f"{kocs_key}_rank"])
        r = g.nodes[f"{kocs_key}_rank"]
        tgt_codes = np.flatnonzero((r.notna() & (r.fillna(0) <= n_kocs)).to_numpy())
    else:
        tgt_codes = _as_codes(g, targets, "target")
    if weight not in g.edges.columns:
        if weight != "tie_strength":
            raise InvalidParameterError(f"weight={weight!r} is not a column of g.edges; run the tool that writes it.")
        tie_strength(g)
        computed.append("tie_strength")
    p = g.edges[weight].to_numpy(np.float64)
    if (p <= 0).any() or (p > 1).any() or np.isnan(p).any():
        raise InvalidParameterError(f"g.edges[{weight!r}] must hold probabilities in (0, 1].")
    A = g.adjacency(None)
    if node_disjoint:
        if tgt_codes.size != 1:
            raise InvalidParameterError(
                f"node_disjoint=True works on one target; got {tgt_codes.size}. Pass targets=[user]."
            )
        t0 = int(tgt_codes[0])
        res = R.node_disjoint_routes(A.indptr, A.indices, p, src_codes, t0, k=k)
        unreachable = np.empty(0, dtype=np.int64) if res["target"].size else tgt_codes
        # the same reasons, in the same precedence, as best_routes gives
        indeg, outdeg = int(np.count_nonzero(A.indices == t0)), int(A.indptr[t0 + 1] - A.indptr[t0])
        why = R.UNREACHABLE_REASONS[0 if indeg == 0 and outdeg == 0 else (1 if indeg == 0 else 2)]
        unreach_reason = np.array([why] * unreachable.size, dtype=object)
    else:
        res = R.best_routes(A.indptr, A.indices, p, src_codes, tgt_codes, k=k, objective=objective)
        unreachable, unreach_reason = res["unreachable"], res["unreachable_reason"]
    ptr, nodes_flat = res["path_ptr"], res["path_nodes"]
    paths = [nodes_flat[ptr[i]:ptr[i + 1]].tolist() for i in range(ptr.shape[0] - 1)]  # output-sized
    table = pd.DataFrame({
        "target": res["target"].astype(np.int64), "rank": res["rank"].astype(np.int64),
        "source": res["source"].astype(np.int64), "introducer": res["introducer"].astype(np.int64),
        "hops": res["hops"].astype(np.int64), "strength": res["strength"].astype(np.float64), "path": paths,
    })
    g.tables[key_added] = table
    g.tables[key_added + "_unreachable"] = pd.DataFrame(
        {"target": np.asarray(unreachable, dtype=np.int64), "reason": np.asarray(unreach_reason, dtype=object)}
    )
    best = table[table["rank"] == 1]
    strength = np.full(g.n_users, np.nan)
    hops = pd.array(np.zeros(g.n_users, dtype=np.int64), dtype="Int64")
    intro = np.full(g.n_users, -1, dtype=np.int32)
    tcodes = best["target"].to_numpy()
    strength[tcodes] = best["strength"].to_numpy()
    hops[tcodes] = best["hops"].to_numpy()
    has = np.zeros(g.n_users, dtype=bool)
    has[tcodes] = True
    hops[~has] = pd.NA
    intro[tcodes] = best["introducer"].to_numpy()
    g.nodes[f"{key_added}_strength"] = strength
    g.nodes[f"{key_added}_hops"] = hops
    g.nodes[f"{key_added}_introducer"] = pd.Categorical.from_codes(intro, dtype=g.events["source"].dtype)
    record(g, key_added, {"k": k, "objective": objective, "weight": weight, "node_disjoint": node_disjoint,
                          "n_sources": int(src_codes.size), "n_targets": int(tgt_codes.size),
                          "targets": targets if isinstance(targets, str) else "list", "n_kocs": n_kocs,
                          "kocs_key": kocs_key if isinstance(targets, str) else None},
           tool="tl.routes", columns={"nodes": [f"{key_added}_{x}" for x in ("strength", "hops", "introducer")]},
           tables=[key_added, key_added + "_unreachable"],
           n_routes=int(len(table)), n_unreachable=int(len(unreachable)), computed=computed)
    return g if copy else None
