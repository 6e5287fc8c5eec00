"""``kg.pl.route``: the routes found to one user, one lane per route."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._core.graph import ShareGraph
from .._core.tools import check_graph, not_computed, require
from ._style import styled
from ._utils import EDGE_COLOR, HIGHLIGHT_COLOR, INTRODUCER_COLOR, STAFF_COLOR, _new_ax, _short, _store

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["route"]

SOURCE_COLOR = STAFF_COLOR
INNER_COLOR = "#9a9a9a"


def _tie_strengths(g: ShareGraph, weight: str, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], float]:
    """Tie strength of the edges ``(u, v)`` (user codes) on the routes; empty when the column is gone."""
    if not pairs or weight not in g.edges.columns:
        return {}
    n = np.int64(max(g.n_users, 1))
    c = g.codes
    keys = c.edge_src.astype(np.int64) * n + c.edge_tgt.astype(np.int64)
    want = np.array([u * n + v for u, v in pairs], dtype=np.int64)
    rows = np.flatnonzero(np.isin(keys, want))  # O(edges), vectorized: fine even on 10M edges
    p = g.edges[weight].to_numpy(np.float64)[rows]
    out: dict[tuple[int, int], float] = {}
    for k, q in zip(keys[rows].tolist(), p.tolist(), strict=True):  # at most k * hops entries
        key = (int(k // n), int(k % n))
        out[key] = max(q, out.get(key, 0.0))
    return out


@styled
def route(
    g: ShareGraph,
    user: Any,
    *,
    key: str = "routes",
    edge_labels: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """The routes :func:`kocgraph.tl.routes` found to one user: who can introduce us, and through whom.

    One horizontal lane per route, best on top, read left to right: the staff account that starts it
    (navy square), the people it passes through (grey), the *introducer* (orange: the last person
    before the user, the one to ask) and the user (red star, on the right, where every lane ends).
    Each lane is labelled with its rank and strength (the product of its tie strengths: the chance the
    content travels all of it); with ``edge_labels`` every hop carries its tie strength. A user shared
    by two routes appears in both lanes. The layout is fixed (no randomness).

    Parameters
    ----------
    g
        The graph, after :func:`kocgraph.tl.routes` with ``user`` among the targets.
    user
        The user id of the target.
    key
        The ``key_added`` that :func:`kocgraph.tl.routes` wrote under.
    edge_labels
        Write each hop's tie strength on it.
    ax
        Axes to draw into; None makes a new figure.

    Returns
    -------
    The Axes; ``ax.kocgraph`` holds ``user``, ``paths`` (user ids per route, best first),
    ``introducers``, ``sources``, ``strengths``, ``n_routes``, ``labels`` (the user ids written on the
    plot), ``edge_labels`` (``{(u, v): tie strength}``) and, with no route, ``unreachable`` (the reason).

    Raises
    ------
    NotComputedError
        When :func:`kocgraph.tl.routes` has not run under ``key``, or ``user`` was not one of its targets.
    NodeNotFoundError
        When ``user`` is not in the graph.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.routes(g, sources=["brand"], targets=["carol"], k=3)
    >>> ax = kg.pl.route(g, "carol")
    >>> ax.kocgraph["introducers"]
    ['bob', 'oscar', 'alice']
    >>> ax.kocgraph["paths"][0]
    ['brand', 'bob', 'carol']
    >>> plt.close(ax.figure)
    """
    where = "kg.pl.route"
    g = check_graph(g, where)
    require(g, key, tool="tl.routes", where=where, args=f"sources=staff, targets=[{user!r}]", tables=[key])
    from ..get import routes as _get_routes

    r = _get_routes(g, user, key=key)
    if len(r) == 0 and r.attrs.get("unreachable") == "not a target of kg.tl.routes":
        raise not_computed(g, f"routes to {user!r}, but {user!r} was not a target of kg.tl.routes (key {key!r}), "
                              "so no route to it was looked for", tool="tl.routes", where=where, key=key,
                           args=f"sources=staff, targets=[{user!r}]")
    paths: list[list[Any]] = [list(p) for p in r["path_users"]]
    strengths = r["strength"].to_numpy(np.float64)
    n_routes = len(paths)
    max_h = max((len(p) - 1 for p in paths), default=0)
    ax = _new_ax(ax, figsize=(max(6.4, min(16.0, 1.7 * (max_h + 1) + 1.5)), max(3.0, min(12.0, 1.1 * n_routes + 1.6))))

    # lanes: rank 1 on top; a route of h hops puts its i-th user at x = max_h - (h - i), so every lane
    # ends at the user, drawn once at (max_h, 0)
    lane_y = (n_routes - 1) / 2.0 - np.arange(n_routes, dtype=np.float64)
    weight = str(g.meta[key].get("params", {}).get("weight", "tie_strength"))
    on_routes = list(dict.fromkeys(v for p in paths for v in p))
    code_of = dict(zip(on_routes, g.user_codes(on_routes).tolist(), strict=True)) if on_routes else {}
    pairs = [(code_of[a], code_of[b]) for p in paths for a, b in zip(p[:-1], p[1:], strict=True)]
    ties = _tie_strengths(g, weight, pairs) if edge_labels else {}
    labels: list[Any] = []
    drawn_edge_labels: dict[tuple[Any, Any], float] = {}
    for j, path in enumerate(paths):
        hop_ties = [ties.get((code_of[a], code_of[b])) for a, b in zip(path[:-1], path[1:], strict=True)]
        drawn_edge_labels.update(_draw_lane(ax, j, path, max_h, float(lane_y[j]), float(strengths[j]),
                                            hop_ties if edge_labels else None))
        labels += path[:-1]
    # the user, where every lane ends
    ax.scatter([max_h], [0.0], s=260, marker="*", color=HIGHLIGHT_COLOR, edgecolors="white", linewidths=0.8, zorder=5)
    ax.annotate(_short(user, 14), (max_h, 0.0), xytext=(12, 0), textcoords="offset points", ha="left", va="center",
                fontsize=9, fontweight="bold", color=HIGHLIGHT_COLOR, zorder=5)
    labels.append(user)
    unreachable = r.attrs.get("unreachable") if n_routes == 0 else None
    _route_frame(ax, user, r["introducer"].tolist(), unreachable, n_routes, max_h)
    _store(ax, user=user, key=key, paths=paths, n_routes=n_routes,
           introducers=r["introducer"].tolist(), sources=r["source"].tolist(), strengths=strengths.tolist(),
           labels=labels, edge_labels=drawn_edge_labels, unreachable=unreachable)
    return ax


def _draw_lane(ax: Axes, j: int, path: list[Any], max_h: int, y: float, strength: float,
               hop_ties: list[float | None] | None) -> dict[tuple[Any, Any], float]:
    """Route ``j`` (0: the best) as one lane at height ``y``, ending at the user at ``(max_h, 0)``: its
    line, a dot and name for everyone but the user (staff square, grey inner people, orange
    introducer), each hop's tie strength (``hop_ties``; None: no hop labels) and, on the left, its rank
    and strength.

    Returns ``{(u, v): tie strength}`` of the hops labelled.
    """
    h = len(path) - 1
    xs = np.arange(max_h - h, max_h + 1, dtype=np.float64)
    ys = np.full(h + 1, y)
    ys[-1] = 0.0
    (line,) = ax.plot(xs, ys, color=EDGE_COLOR, linewidth=2.2 if j == 0 else 1.4, alpha=0.9, zorder=1,
                      solid_capstyle="round")
    line.set_gid(f"kocgraph-route-{j + 1}")
    for i, who in enumerate(path[:-1]):
        role = "source" if i == 0 else ("introducer" if i == h - 1 else "inner")
        color = {"source": SOURCE_COLOR, "introducer": INTRODUCER_COLOR, "inner": INNER_COLOR}[role]
        ax.scatter([xs[i]], [ys[i]], s=110 if role != "inner" else 70, marker="s" if role == "source" else "o",
                   color=color, edgecolors="white", linewidths=0.8, zorder=3)
        ax.annotate(_short(who, 14), (xs[i], ys[i]), xytext=(0, 9), textcoords="offset points", ha="center",
                    fontsize=8, color="#222222", zorder=4)
    drawn: dict[tuple[Any, Any], float] = {}
    for i, p in enumerate(hop_ties or []):  # hops whose tie strength is unknown stay bare
        if p is None:
            continue
        drawn[(path[i], path[i + 1])] = p
        ax.annotate(f"{p:.2f}", ((xs[i] + xs[i + 1]) / 2, (ys[i] + ys[i + 1]) / 2), ha="center",
                    va="center", fontsize=8, color="#444444", zorder=2,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9})
    ax.annotate(f"#{j + 1}  {strength:.1%}", (xs[0], ys[0]), xytext=(-14, 0), textcoords="offset points",
                ha="right", va="center", fontsize=8, color="#222222", zorder=4)
    return drawn


def _route_frame(ax: Axes, user: Any, introducers: list[Any], unreachable: Any, n_routes: int, max_h: int) -> None:
    """Title (the introducers, or why there is no route), legend and limits of the route plot."""
    from matplotlib.lines import Line2D

    if n_routes:
        intro = [x for x in introducers if x is not None]
        via = ", ".join(_short(x, 14) for x in intro[:5]) + ("…" if len(intro) > 5 else "")
        ax.set_title(f"Routes to {_short(user, 24)}: {n_routes} found" + (f", via {via}" if via else ""))
    else:
        ax.set_title(f"No route to {_short(user, 24)}")
        ax.text(0.5, 0.25, f"unreachable: {str(unreachable).replace('_', ' ')}", transform=ax.transAxes,
                ha="center", va="center", fontsize=9, color="#555555")
    handles = [Line2D([], [], marker="s", linestyle="", color=SOURCE_COLOR, label="staff account"),
               Line2D([], [], marker="o", linestyle="", color=INTRODUCER_COLOR, label="introducer"),
               Line2D([], [], marker="*", linestyle="", color=HIGHLIGHT_COLOR, markersize=11, label="person to reach")]
    if n_routes:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=3, frameon=False, fontsize=8)
    ax.set_xlim(-1.1, max_h + 0.9)
    span = max(1.0, (n_routes - 1) / 2.0)
    ax.set_ylim(-span - 0.6, span + 0.6)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
