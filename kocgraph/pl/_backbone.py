"""Which people and links ``kg.pl.network`` draws: the backbone of a big graph.

The backbone answers "who are our KOCs and how do we reach them": the staff accounts, the top KOCs,
and the people on the best route from the staff to each KOC (the introducer last), then, up to the
cap, the people with the largest reach among those linked to them, for context. With nobody to
anchor the map (no staff, no KOC), it is the people with the largest reach. Links: every link on a
best route, each drawn person's strongest link, then the strongest links among the drawn people, up
to a few per person.
Everything here is vectorized over the graph's code arrays; the Python loops run over routes and
drawn people only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from ..exceptions import InvalidParameterError

__all__ = ["Backbone", "select_backbone", "staff_codes", "koc_codes", "best_route_paths"]

#: at most this many staff accounts anchor a map (the most active first)
MAX_STAFF = 20
#: at most this many links per drawn person (beyond the route links and each person's strongest link)
EDGES_PER_NODE = 3


@dataclass
class Backbone:
    """The drawn people (codes, sorted) and links (rows of ``g.edges``), and the roles in them."""

    keep: np.ndarray
    edges: np.ndarray
    staff: np.ndarray
    kocs: np.ndarray
    paths: list[np.ndarray] = field(default_factory=list)
    route_edges: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    n_isolated: int = 0
    n_inside: int = 0

    @property
    def introducers(self) -> np.ndarray:
        """The last person before the KOC on each best route (routes of two hops or more)."""
        return np.unique(np.array([p[-2] for p in self.paths if p.size >= 3], dtype=np.int64))

    @property
    def on_routes(self) -> np.ndarray:
        return np.unique(np.concatenate(self.paths)) if self.paths else np.empty(0, dtype=np.int64)


def staff_codes(g: ShareGraph, staff: Any, *, cap: int | None = MAX_STAFF, kocs_key: str = "koc",
                routes_key: str = "routes") -> np.ndarray:
    """Codes of the staff: as given; None: those the KOC ranking under ``kocs_key`` excluded as staff,
    else the sources of ``kg.tl.routes`` under ``routes_key``; at most ``cap`` (None: all), the most
    active first."""
    if staff is None:
        excl = f"{kocs_key}_excluded"
        if excl in g.nodes.columns:
            codes = np.flatnonzero((g.nodes[excl].astype("object") == "staff").to_numpy(dtype=bool))
        elif routes_key in g.tables and len(g.tables[routes_key]):
            codes = np.unique(g.tables[routes_key]["source"].to_numpy(np.int64))
        else:
            codes = np.empty(0, dtype=np.int64)
    else:
        if isinstance(staff, (str, bytes, int, np.integer)):
            staff = [staff]
        codes = np.unique(g.user_codes(list(staff), what="staff account"))
    if cap is not None and codes.size > cap:
        c = g.codes
        sent = np.bincount(c.src, minlength=g.n_users)[codes]
        codes = np.sort(codes[np.lexsort((codes, -sent))[:cap]])
    return codes.astype(np.int64)


def koc_codes(g: ShareGraph, highlight: Any, n_kocs: int, *, kocs_key: str = "koc") -> np.ndarray:
    """Codes of the people to mark, in order: ``highlight`` as given (a DataFrame with a ``user``
    column too); None: the top ``n_kocs`` of the KOC ranking under ``kocs_key``, when there is one."""
    if highlight is None:
        slate = f"{kocs_key}_slate"
        col = slate if slate in g.nodes.columns else f"{kocs_key}_rank"
        if col not in g.nodes.columns or n_kocs == 0:
            return np.empty(0, dtype=np.int64)
        r = g.nodes[col].to_numpy(dtype=np.float64, na_value=np.nan)
        sel = np.flatnonzero(np.isfinite(r))
        return sel[np.argsort(r[sel], kind="stable")][:n_kocs].astype(np.int64)
    if isinstance(highlight, pd.DataFrame):
        if "user" not in highlight.columns:
            raise InvalidParameterError(
                "highlight is a DataFrame without a 'user' column; pass user ids, e.g. "
                "highlight=kg.get.kocs(g, n=20)['user']."
            )
        highlight = highlight["user"]
    if isinstance(highlight, (str, bytes, int, np.integer)):
        highlight = [highlight]
    codes = g.user_codes(list(highlight), what="highlighted user")
    return pd.unique(np.asarray(codes, dtype=np.int64))


def best_route_paths(g: ShareGraph, staff: np.ndarray, kocs: np.ndarray, *, routes_key: str = "routes"
                     ) -> list[np.ndarray]:
    """The best route (user codes, staff first) to each of ``kocs`` that has one: from the table of
    :func:`kocgraph.tl.routes` when it ran, else one Dijkstra from all staff at once on the tie
    strengths (``g.edges["tie_strength"]`` when computed, else the weighted-cascade rule). Nothing
    is written into ``g``."""
    if staff.size == 0 or kocs.size == 0:
        return []
    t = g.tables.get(routes_key)
    if t is not None and len(t) and {"target", "rank", "path"} <= set(t.columns):
        best = t[(t["rank"].to_numpy() == 1) & np.isin(t["target"].to_numpy(), kocs)]
        by_target = dict(zip(best["target"].tolist(), best["path"], strict=True))
        return [np.asarray(by_target[k], dtype=np.int64) for k in kocs.tolist() if k in by_target]
    from ..algorithms import routes as R

    c = g.codes
    p = None
    if "tie_strength" in g.edges.columns:
        p = g.edges["tie_strength"].to_numpy(np.float64)
        if not (np.isfinite(p).all() and (p > 0).all() and (p <= 1).all()):
            p = None
    if p is None:
        p = R.weighted_cascade_probability(c.edge_src, c.edge_tgt, g.edges["n_forwards"].to_numpy(np.float64),
                                           g.n_users)
    A = g.adjacency(None)
    res = R.best_routes(A.indptr, A.indices, p, staff, np.unique(kocs), k=1)
    ptr, nodes = res["path_ptr"], res["path_nodes"]
    by_target = {int(t_): nodes[ptr[i]:ptr[i + 1]] for i, t_ in enumerate(res["target"].tolist())}
    return [by_target[k].astype(np.int64) for k in kocs.tolist() if k in by_target]


def _fill(score: np.ndarray, taken: np.ndarray, room: int, *, near: np.ndarray | None = None,
          g: ShareGraph | None = None) -> np.ndarray:
    """The ``room`` people with the largest ``score`` not yet taken (one argpartition); with ``near``,
    only among the people linked to those (either direction), so the context sits around them."""
    free = np.ones(score.size, dtype=bool)
    free[taken] = False
    if near is not None and g is not None:
        c = g.codes
        mark = np.zeros(score.size, dtype=bool)
        mark[near] = True
        linked = np.zeros(score.size, dtype=bool)
        linked[c.edge_tgt[mark[c.edge_src]]] = True
        linked[c.edge_src[mark[c.edge_tgt]]] = True
        free &= linked
    cand = np.flatnonzero(free)
    room = min(room, cand.size)
    if room <= 0:
        return np.empty(0, dtype=np.int64)
    key = np.where(np.isnan(score[cand]), -np.inf, score[cand])
    if room < cand.size:
        cand = cand[np.argpartition(-key, room - 1)[:room]]
    return np.sort(cand).astype(np.int64)


def _links(g: ShareGraph, keep: np.ndarray, must: np.ndarray) -> tuple[np.ndarray, int]:
    """Rows of ``g.edges`` to draw among ``keep``: the ``must`` rows (route links), each person's
    strongest link, then the strongest others up to :data:`EDGES_PER_NODE` per person."""
    c = g.codes
    mask = np.zeros(g.n_users, dtype=bool)
    mask[keep] = True
    inside = np.flatnonzero(mask[c.edge_src] & mask[c.edge_tgt])
    cap = EDGES_PER_NODE * keep.size + must.size
    if inside.size <= cap:
        return inside, int(inside.size)
    fw = g.edges["n_forwards"].to_numpy(np.float64)[inside]
    order = inside[np.lexsort((inside, -fw))]  # strongest first
    ends = np.concatenate([c.edge_src[order], c.edge_tgt[order]])
    rows = np.concatenate([order, order])
    _, first = np.unique(ends, return_index=True)  # each person's strongest link
    chosen = np.union1d(must, rows[first])
    rest = order[~np.isin(order, chosen)][: max(0, cap - chosen.size)]
    return np.sort(np.concatenate([chosen, rest])), int(inside.size)


def select_backbone(g: ShareGraph, score: np.ndarray, staff: np.ndarray, kocs: np.ndarray,
                    max_nodes: int, *, routes_key: str = "routes") -> Backbone:
    """The people and links to draw (see the module docstring)."""
    n, c = g.n_users, g.codes
    if kocs.size > max_nodes:
        raise InvalidParameterError(
            f"{kocs.size:,} highlighted users but max_nodes={max_nodes:,}; pass max_nodes>={kocs.size} or fewer ids."
        )
    paths = best_route_paths(g, staff, kocs, routes_key=routes_key)
    if n <= max_nodes:
        keep = np.arange(n, dtype=np.int64)
    else:
        anchors = list(dict.fromkeys(kocs.tolist() + staff.tolist()))[:max_nodes]
        kept_paths = []
        for p in paths:  # bounded by the KOCs marked (a few dozen)
            extra = [u for u in p.tolist() if u not in set(anchors)]
            if len(anchors) + len(extra) > max_nodes:
                break
            anchors += extra
            kept_paths.append(p)
        paths = kept_paths
        base = np.asarray(anchors, dtype=np.int64)
        keep = np.union1d(base, _fill(score, base, max_nodes - base.size, near=base if base.size else None,
                                      g=g))
    # the links of the best routes, as rows of g.edges
    pairs = np.array([(a, b) for p in paths for a, b in zip(p[:-1].tolist(), p[1:].tolist())],
                     dtype=np.int64).reshape(-1, 2)
    key = c.edge_src.astype(np.int64) * n + c.edge_tgt
    route_rows = np.flatnonzero(np.isin(key, pairs[:, 0] * n + pairs[:, 1])) if pairs.size else np.empty(0, np.int64)
    n_isolated = 0
    if keep.size < n:  # a truncated backbone: context people with no link inside it would float around
        mask = np.zeros(n, dtype=bool)
        mask[keep] = True
        inside = np.flatnonzero(mask[c.edge_src] & mask[c.edge_tgt])
        linked = np.zeros(n, dtype=bool)
        linked[c.edge_src[inside]] = True
        linked[c.edge_tgt[inside]] = True
        linked[kocs] = True
        linked[staff] = True
        n_isolated = int(keep.size - linked[keep].sum())
        keep = keep[linked[keep]]
    edges, n_inside = _links(g, keep, route_rows)
    return Backbone(keep=keep, edges=edges, staff=staff, kocs=kocs, paths=paths, route_edges=route_rows,
                    n_isolated=n_isolated, n_inside=n_inside)
