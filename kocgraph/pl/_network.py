"""``kg.pl.network`` (the diffusion map) and ``kg.pl.cascade`` (one item's tree)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph, require
from .._core.validation import check_int
from ..algorithms.communities import igraph_seed
from ..exceptions import InvalidParameterError, check_choice
from ._backbone import Backbone, koc_codes, select_backbone, staff_codes
from ._labels import LabelLayer
from ._style import styled
from ._utils import (
    EDGE_COLOR,
    HIGHLIGHT_COLOR,
    INTRODUCER_COLOR,
    PLAIN_DOT,
    ROUTE_COLOR,
    STAFF_COLOR,
    _new_ax,
    _node_column,
    _numeric,
    _seed,
    _short,
    _store,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.colors import BoundaryNorm, Colormap, ListedColormap

__all__ = ["network", "cascade"]

_N_CATEGORIES = 8  # categorical colours before "other": tab10 without red (highlights) and grey
_ARROWS_UP_TO = 120  # arrowheads on every link when at most this many are drawn (else on the routes only)
_LABEL_ALL_UP_TO = 40  # labels="auto" names everyone on a map of at most this many people
MAX_LABELS = 200  # at most this many names on a map
_KK_UP_TO = 300  # layout="auto": Kamada-Kawai (even spacing) up to this many people, FR above


def _layout_one(graph: Any, layout: str, seed: int) -> np.ndarray:
    n = graph.vcount()
    if n <= 1:
        return np.zeros((n, 2))
    if layout == "fr":
        lay = graph.layout_fruchterman_reingold(niter=500, grid="auto")
    elif layout == "kk":  # from a seeded random start (igraph's default start, a circle, ignores the rng)
        start = np.random.default_rng(seed).random((n, 2)).tolist()
        lay = graph.layout_kamada_kawai(seed=start, maxiter=50 * n)
    else:
        lay = graph.layout_drl()
    return np.asarray(lay.coords, dtype=np.float64).reshape(n, 2)


def _fit(p: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Scale ``p`` into ``(x0, x1, y0, y1)``, keeping its aspect ratio, centred."""
    x0, x1, y0, y1 = box
    if p.shape[0] == 0:
        return p
    lo, hi = p.min(axis=0), p.max(axis=0)
    span = np.maximum(hi - lo, 1e-12)
    scale = min((x1 - x0) / span[0], (y1 - y0) / span[1])
    q = (p - lo) * scale
    return q + np.array([x0 + ((x1 - x0) - (hi - lo)[0] * scale) / 2, y0 + ((y1 - y0) - (hi - lo)[1] * scale) / 2])


def _layout(n: int, es: np.ndarray, et: np.ndarray, layout: str, seed: int) -> np.ndarray:
    """Positions of a backbone with ``n`` users and local edges ``es -> et``.

    The largest weakly connected component is laid out in the unit square; the small components, if
    any, are laid out together and packed into a strip below it, so they do not squash the main map.
    """
    import igraph as ig

    if n == 0:
        return np.zeros((0, 2))
    graph = ig.Graph(n=n, edges=np.column_stack([es, et]).tolist() if es.size else [], directed=True)
    memb = np.asarray(graph.connected_components(mode="weak").membership, dtype=np.int64)
    sizes = np.bincount(memb)
    giant = memb == int(np.argmax(sizes))
    with igraph_seed(seed):
        if giant.all() or giant.sum() < 3:
            return _fit(_layout_one(graph, layout, seed), (0.0, 1.0, 0.0, 1.0))
        main = _layout_one(graph.induced_subgraph(np.flatnonzero(giant).tolist()), layout, seed)
        rest = _layout_one(graph.induced_subgraph(np.flatnonzero(~giant).tolist()), layout, seed + 1)
    pos = np.empty((n, 2))
    pos[giant] = _fit(main, (0.0, 1.0, 0.0, 1.0))
    strip = 0.12 if (~giant).sum() <= 50 else 0.25
    pos[~giant] = _fit(rest, (0.0, 1.0, -0.05 - strip, -0.05))
    return pos


def _listed_colors(name: str) -> list[Any]:
    """The colours of a listed matplotlib colour map such as ``"tab10"`` (``ListedColormap.colors``)."""
    from matplotlib import colormaps

    return list(cast("Sequence[Any]", cast("ListedColormap", colormaps[name]).colors))


def _categorical_colors(values: pd.Series) -> tuple[np.ndarray, list[tuple[str, Any]]]:
    """RGBA per value: the most frequent categories get tab10 colours, the rest grey 'other'."""
    from matplotlib.colors import to_rgba

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    order = np.lexsort((np.arange(len(uniques)), -counts))[:_N_CATEGORIES]
    palette = [cl for i, cl in enumerate(_listed_colors("tab10")) if i not in (3, 7)]  # no red, no grey
    lut = np.tile(np.array(to_rgba("#c7c7c7")), (len(uniques) + 1, 1))  # last row: NaN
    legend = []
    for i, u in enumerate(order):
        lut[u] = to_rgba(palette[i])
        legend.append((str(uniques[u]), palette[i]))
    if len(uniques) > len(order) or (codes < 0).any():
        legend.append(("other", "#c7c7c7"))
    return lut[np.where(codes >= 0, codes, len(uniques))], legend


def _size_score(g: ShareGraph, size: str | None, where: str) -> tuple[np.ndarray, str | None]:
    """Per person: the value that picks the backbone and sizes the dots, and its name (None: forwards)."""
    if size == "auto":
        size = "reach" if "reach" in g.nodes.columns else None
    if size is None:
        c, n = g.codes, g.n_users
        return (np.bincount(c.src, minlength=n) + np.bincount(c.tgt, minlength=n)).astype(np.float64), None
    return _numeric(_node_column(g, size, param="size", where=where), param="size", where=where), str(size)


def _dot_sizes(v: np.ndarray | float, vmax: float, big: float) -> np.ndarray:
    """Marker areas (pt²): the area grows with the square root of the value, so a heavy tail fits."""
    frac = np.where(np.isfinite(v) & (v > 0), v, 0.0) / vmax if vmax > 0 else np.zeros(np.shape(v))
    return 8.0 + big * np.sqrt(np.clip(frac, 0.0, 1.0))


def _nice_steps(vmax: float) -> list[float]:
    """Three round values (1-2-5 steps, a decade apart) at or below ``vmax``, for the size legend."""
    if not (np.isfinite(vmax) and vmax > 0):
        return []
    e = np.floor(np.log10(vmax))
    top = max(m * 10**e for m in (1, 2, 5) if m * 10**e <= vmax * (1 + 1e-9))
    return [v for v in (top, top / 10, top / 100) if v >= 1 or v == top]


def _segments(a: np.ndarray) -> Sequence[Any]:
    """An ``(n, 2, 2)`` array of line segments, typed as the sequence matplotlib's stubs ask for."""
    return cast("Sequence[Any]", a)


def _draw_links(ax: Axes, g: ShareGraph, pos: np.ndarray, local: np.ndarray, bb: Backbone) -> None:
    """Grey links (width by forwards), the best routes over them in dark grey with arrowheads."""
    from matplotlib.collections import LineCollection

    c = g.codes
    es, et = local[c.edge_src[bb.edges]], local[c.edge_tgt[bb.edges]]
    if bb.edges.size:
        fw = g.edges["n_forwards"].to_numpy(np.float64)[bb.edges]
        alpha = float(np.clip(40.0 / np.sqrt(bb.edges.size), 0.12, 0.6))
        lw = 0.4 + 1.2 * np.log1p(fw) / max(np.log1p(fw.max()), 1e-12)
        lc = LineCollection(_segments(np.stack([pos[es], pos[et]], axis=1)), colors=EDGE_COLOR, linewidths=lw, alpha=alpha,
                            zorder=1)
        lc.set_gid("kocgraph-edges")
        ax.add_collection(lc)
    arrows = bb.route_edges if bb.edges.size > _ARROWS_UP_TO else bb.edges
    if bb.route_edges.size:
        rs, rt = local[c.edge_src[bb.route_edges]], local[c.edge_tgt[bb.route_edges]]
        rc = LineCollection(_segments(np.stack([pos[rs], pos[rt]], axis=1)), colors=ROUTE_COLOR, linewidths=1.6, alpha=0.85,
                            zorder=1.5)
        rc.set_gid("kocgraph-routes")
        ax.add_collection(rc)
    if arrows.size:  # direction marks: a small arrowhead 60% along each link, sender -> receiver
        a, b = pos[local[c.edge_src[arrows]]], pos[local[c.edge_tgt[arrows]]]
        d = b - a
        length = np.hypot(d[:, 0], d[:, 1])
        ok = length > 0
        u = d[ok] / length[ok, None]
        mid = a[ok] + 0.6 * d[ok]
        ax.quiver(mid[:, 0], mid[:, 1], u[:, 0], u[:, 1], angles="xy", pivot="mid", units="dots",
                  scale_units="dots", scale=1 / 9.0, width=1.2, headwidth=7, headlength=8, headaxislength=7,
                  color=ROUTE_COLOR if bb.edges.size > _ARROWS_UP_TO else EDGE_COLOR, alpha=0.8, zorder=1.6)


def _draw_people(ax: Axes, pos: np.ndarray, s: np.ndarray, col: pd.Series | None, keep: np.ndarray,
                 color: str | None) -> tuple[list[tuple[str, Any]], Any]:
    """The dots, biggest first so small ones stay visible; categorical legend entries or a colour scale."""
    order = np.argsort(-s, kind="stable")
    kw: dict[str, Any] = {"linewidths": 0.5, "edgecolors": "white", "zorder": 2}
    legend_items: list[tuple[str, Any]] = []
    mappable = None
    if col is None:
        sc = ax.scatter(pos[order, 0], pos[order, 1], s=s[order], c=PLAIN_DOT, **kw)
    elif pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype) \
            and color != "community":
        cv = col.to_numpy(np.float64, na_value=np.nan)[keep]
        sc = ax.scatter(pos[order, 0], pos[order, 1], s=s[order], c=cv[order], cmap="viridis",
                        plotnonfinite=True, **kw)
        mappable = sc
    else:
        rgba, legend_items = _categorical_colors(col.iloc[keep].reset_index(drop=True))
        sc = ax.scatter(pos[order, 0], pos[order, 1], s=s[order], c=rgba[order], **kw)
    sc.set_gid("kocgraph-nodes")
    return legend_items, mappable


def _draw_roles(ax: Axes, pos: np.ndarray, s: np.ndarray, staff: np.ndarray, kocs: np.ndarray,
                intro: np.ndarray) -> None:
    """Staff as navy squares, the marked KOCs with a red ring, introducers with an orange ring."""
    if staff.size:
        st = ax.scatter(pos[staff, 0], pos[staff, 1], s=s[staff], marker="s", c=STAFF_COLOR,
                        edgecolors="white", linewidths=0.8, zorder=3)
        st.set_gid("kocgraph-staff")
    if intro.size:
        ir = ax.scatter(pos[intro, 0], pos[intro, 1], s=s[intro] + 60.0, facecolors="none",
                        edgecolors=INTRODUCER_COLOR, linewidths=2.0, zorder=3)
        ir.set_gid("kocgraph-introducers")
    if kocs.size:
        hs = ax.scatter(pos[kocs, 0], pos[kocs, 1], s=s[kocs] + 60.0, facecolors="none",
                        edgecolors=HIGHLIGHT_COLOR, linewidths=2.0, zorder=3)
        hs.set_gid("kocgraph-highlight")


def _legend(ax: Axes, *, roles: dict[str, bool], sizes: list[tuple[str, float]], size_label: str | None,
            legend_items: list[tuple[str, Any]], color: str | None, marked: str) -> None:
    """One legend beside the map: who is who, what the dot size means, what the colours mean."""
    from matplotlib.lines import Line2D

    def header(text: str) -> Line2D:
        return Line2D([], [], ls="", marker="", label=text)

    h: list[Line2D] = []
    if roles.get("staff"):
        h.append(Line2D([], [], ls="", marker="s", ms=8, mfc=STAFF_COLOR, mec="white", label="staff account"))
    if roles.get("kocs"):
        h.append(Line2D([], [], ls="", marker="o", ms=9, mfc="none", mec=HIGHLIGHT_COLOR, mew=2, label=marked))
    if roles.get("introducers"):
        h.append(Line2D([], [], ls="", marker="o", ms=9, mfc="none", mec=INTRODUCER_COLOR, mew=2,
                        label="introducer (last person\nbefore a KOC on the route)"))
    if roles.get("routes"):
        h.append(Line2D([], [], color=ROUTE_COLOR, lw=1.6, label="best route from the staff"))
    if sizes:
        h.append(header(f"dot size: {size_label}"))
        h += [Line2D([], [], ls="", marker="o", ms=float(np.sqrt(a)), mfc="#bbbbbb", mec="white", label=lb)
              for lb, a in sizes]
    if legend_items:
        h.append(header(f"colour: {_short(color, 20)}"))
        h += [Line2D([], [], ls="", marker="o", ms=8, color=cl, label=_short(lb, 16)) for lb, cl in legend_items]
    if h:
        ax.legend(handles=h, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, labelspacing=0.9,
                  handletextpad=0.6, alignment="left")


def _label_layer(ax: Axes, g: ShareGraph, pos: np.ndarray, s: np.ndarray, keep: np.ndarray, score: np.ndarray,
                 roles: dict[str, np.ndarray], labels: Any) -> LabelLayer:
    """Names on the map, most important first: staff, marked KOCs, introducers, others on the routes,
    then the biggest dots; placed without overlaps at draw time (:class:`LabelLayer`)."""
    anchors = list(dict.fromkeys(np.concatenate([roles["staff"], roles["kocs"], roles["introducers"],
                                                 roles["routes"]]).tolist()))
    by_size = np.argsort(-np.where(np.isnan(score[keep]), -np.inf, score[keep]), kind="stable")
    if labels is False:
        want: list[int] = []
    elif labels is True or (labels == "auto" and keep.size <= _LABEL_ALL_UP_TO):
        want = list(dict.fromkeys(anchors + by_size.tolist()))
    else:
        extra = 5 if labels == "auto" else int(labels)
        want = list(dict.fromkeys(anchors + by_size[:extra].tolist()))
    want = want[:MAX_LABELS * 2]  # candidates; at most MAX_LABELS are drawn
    role_of = {}
    for name in ("routes", "introducers", "kocs", "staff"):  # later roles win
        role_of.update(dict.fromkeys(roles[name].tolist(), name))
    style = {"staff": (STAFF_COLOR, "bold"), "kocs": (HIGHLIGHT_COLOR, "bold"),
             "introducers": ("#b35900", "normal"), "routes": ("#333333", "normal")}
    ids = g.nodes.index.to_numpy()[keep]
    cols = [style.get(role_of.get(i, ""), ("#333333", "normal")) for i in want]
    layer = LabelLayer(ax, pos[want], [_short(ids[i], 18) for i in want], radius_pt=np.sqrt(s[want] + 60.0) / 2,
                       obstacles_xy=pos, obstacles_pt=np.sqrt(s) / 2, colors=[c_[0] for c_ in cols],
                       weights=[c_[1] for c_ in cols], fontsize=8.0, max_labels=MAX_LABELS)
    ax.add_artist(layer)
    return layer


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _caption(g: ShareGraph, bb: Backbone, size_label: str | None, marked_kocs: bool) -> str:
    n, keep = g.n_users, bb.keep
    if keep.size == n and bb.edges.size == g.n_edges:
        return f"all {_count(n, 'person', 'people')} and {_count(g.n_edges, 'link', 'links')}"
    what = []
    if bb.staff.size:
        what.append("the staff")
    if bb.kocs.size:
        what.append(f"the top {bb.kocs.size:,} KOCs" if marked_kocs else f"{bb.kocs.size:,} marked people")
    if bb.paths:
        what.append("the people on their best routes")
    by = size_label or "forwards sent and received"
    what.append(f"those linked to them with the largest {by}" if what else f"the largest by {by}")
    caption = (f"showing {keep.size:,} of {n:,} people ({', '.join(what[:-1]) + ' and ' if len(what) > 1 else ''}"
               f"{what[-1]})")
    if bb.edges.size < bb.n_inside:
        caption += f";\n{bb.edges.size:,} strongest of the {bb.n_inside:,} links among them ({g.n_edges:,} in all)"
    else:
        caption += f";\n{bb.edges.size:,} of {_count(g.n_edges, 'link', 'links')}"
    if bb.n_isolated:
        caption += f"; {bb.n_isolated:,} more with no link among them left out"
    return caption


@styled
def network(
    g: ShareGraph,
    *,
    color: str | None = "auto",
    size: str | None = "auto",
    highlight: Any = None,
    staff: Any = None,
    n_kocs: int = 20,
    max_nodes: int = 100,
    layout: Literal["auto", "fr", "drl", "kk"] = "auto",
    labels: bool | int | Literal["auto"] = "auto",
    rng: Any = 0,
    kocs_key: str = "koc",
    routes_key: str = "routes",
    ax: Axes | None = None,
) -> Axes:
    """The diffusion map: who forwards to whom, and how the staff reach the top KOCs.

    On a big graph a readable *backbone* is drawn: the staff accounts (navy squares), the top KOCs
    (red rings), and the people on the best route from the staff to each KOC (the introducer, the
    last person before the KOC, with an orange ring), then, up to ``max_nodes``, the people with the
    largest ``size`` for context. Links: every link of a best route (dark, with arrowheads), each
    drawn person's strongest link, and the strongest others, a few per person. A legend beside the
    map explains the marks, the dot sizes and the colours; a caption under it says what was left out.
    Names are placed so that no two overlap, most important first (:class:`~kocgraph.pl._labels.LabelLayer`).

    Best routes come from :func:`kocgraph.tl.routes` when it ran; otherwise they are found here (one
    Dijkstra from all staff at once, on ``g.edges["tie_strength"]`` or the weighted-cascade rule),
    and nothing is written into ``g``. Every step is vectorized over the code arrays, and the layout
    runs on the backbone only, so the map stays quick on a 10M-event log.

    Parameters
    ----------
    g
        The graph.
    color
        ``"auto"``: the communities when :func:`kocgraph.tl.communities` has run, else one colour;
        ``"community"`` (requires it), any column of ``g.nodes`` (numeric: a colour scale; otherwise
        categories, the 8 most frequent coloured), or None.
    size
        Numeric column of ``g.nodes`` that picks the context people and sizes the dots (the area grows
        with the square root of the value). ``"auto"``: ``"reach"`` when :func:`kocgraph.tl.cascades`
        has run, else forwards sent and received; None: forwards, all dots one size.
    highlight
        People to mark with a red ring, e.g. ``kg.get.kocs(g, n=20)`` (a DataFrame with a ``user``
        column, or ids). None: the top ``n_kocs`` of :func:`kocgraph.tl.kocs` when it ran; ``[]``: nobody.
    staff
        Staff account ids, where routes start. None: those :func:`kocgraph.tl.kocs` excluded as staff
        (else the sources of :func:`kocgraph.tl.routes`); ``[]``: no staff, no routes. At most 20 are drawn.
    n_kocs
        How many top KOCs to mark when ``highlight`` is None.
    max_nodes
        At most this many people are drawn (all of them when the graph is smaller).
    layout
        igraph layout: ``"fr"`` (Fruchterman-Reingold), ``"drl"`` (DrL), ``"kk"`` (Kamada-Kawai).
        ``"auto"`` is FR, which switches to its grid variant above 1,000 people.
    labels
        ``"auto"``: everyone on a map of at most 40 people; else the staff, the marked people, the
        people on the routes and the 5 biggest dots. An int: the same with that many of the biggest
        dots. True: everyone drawn. False: no names. At most 200 names are drawn; a name with no free
        spot is left out.
    rng
        Seed of the layout: the same ``rng`` gives the same map.
    kocs_key
        The ``key_added`` of the KOC ranking whose top users are marked.
    routes_key
        The ``key_added`` of the :func:`kocgraph.tl.routes` run whose routes are drawn.
    ax
        Axes to draw into; None makes a new figure.

    Returns
    -------
    The Axes. ``ax.kocgraph`` holds ``nodes`` (drawn user ids), ``pos`` (their coordinates, row =
    ``nodes``), ``highlight`` (marked ids), ``staff``, ``introducers``, ``routes`` (the best routes,
    lists of ids), ``edges`` (rows of ``g.edges`` drawn), ``n_edges``, ``caption``, ``layout`` and
    ``labels`` (the :class:`~kocgraph.pl._labels.LabelLayer`; its ``placed`` texts after a draw).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> ax = kg.pl.network(g, highlight=["alice", "bob"], rng=0)  # nothing computed: still a map
    >>> ax.kocgraph["caption"]
    'all 17 people and 24 links'
    >>> plt.close(ax.figure)
    >>> kg.tl.kocs(g, staff=["brand", "staff_li"])
    >>> ax = kg.pl.network(g, n_kocs=3, rng=0)
    >>> ax.kocgraph["highlight"], ax.kocgraph["staff"]
    (['alice', 'bob', 'nina'], ['brand', 'staff_li'])
    >>> plt.close(ax.figure)
    """
    where = "kg.pl.network"
    g = check_graph(g, where)
    max_nodes = check_int("max_nodes", max_nodes, minimum=1, where=where)
    n_kocs = check_int("n_kocs", n_kocs, minimum=0, where=where)
    check_choice("layout", layout, ("auto", "fr", "drl", "kk"), where=where)
    if not (isinstance(labels, (bool, np.bool_)) or labels == "auto"
            or (isinstance(labels, (int, np.integer)) and labels >= 0)):
        raise InvalidParameterError(
            f"labels={labels!r} must be 'auto', True, False or an int >= 0 (how many of the biggest dots to name "
            "besides the staff, the marked people and the routes)."
        )
    labels = bool(labels) if isinstance(labels, np.bool_) else labels
    seed = _seed(rng)
    score, size_label = _size_score(g, size, where)
    if color == "auto":
        color = "community" if "community" in g.nodes.columns else None
    col = None if color is None else _node_column(g, color, param="color", where=where)
    staff_c = staff_codes(g, staff, kocs_key=kocs_key, routes_key=routes_key)
    kocs = koc_codes(g, highlight, n_kocs, kocs_key=kocs_key)
    bb = select_backbone(g, score, staff_c, kocs, max_nodes, routes_key=routes_key)
    keep, n = bb.keep, g.n_users
    local = np.full(n, -1, dtype=np.int64)
    local[keep] = np.arange(keep.size)
    method = ("kk" if keep.size <= _KK_UP_TO else "fr") if layout == "auto" else layout
    c = g.codes
    pos = _layout(int(keep.size), local[c.edge_src[bb.edges]], local[c.edge_tgt[bb.edges]], method, seed)

    ax = _new_ax(ax, figsize=(10.0, 8.0))
    kv = score[keep]
    not_staff = np.ones(keep.size, dtype=bool)
    not_staff[local[bb.staff]] = False  # staff reach dwarfs everyone's: squares of one size, not in the scale
    vmax = float(np.nanmax(kv[not_staff])) if not_staff.any() and np.isfinite(kv[not_staff]).any() else 0.0
    big = 400.0 if keep.size <= 200 else 120.0
    s = np.full(keep.size, 60.0 if keep.size <= 200 else 15.0) if size is None else _dot_sizes(kv, vmax, big)
    if size is not None:
        s[~not_staff] = 120.0
    _draw_links(ax, g, pos, local, bb)
    legend_items, mappable = _draw_people(ax, pos, s, col, keep, color)
    intro = np.setdiff1d(bb.introducers, np.concatenate([bb.kocs, bb.staff]))
    roles = {"staff": local[bb.staff], "kocs": local[bb.kocs], "introducers": local[intro],
             "routes": local[np.setdiff1d(bb.on_routes, np.concatenate([bb.kocs, bb.staff, intro]))]}
    _draw_roles(ax, pos, s, roles["staff"], roles["kocs"], roles["introducers"])
    layer = _label_layer(ax, g, pos, s, keep, score, roles, labels)

    # the marked people are "top KOCs" when they are the top of the ranking (however they were passed)
    top_kocs = highlight is None or (bb.kocs.size > 0 and np.array_equal(
        np.sort(bb.kocs), np.sort(koc_codes(g, None, int(bb.kocs.size), kocs_key=kocs_key))))
    caption = _caption(g, bb, size_label, top_kocs)
    ax.text(0.0, -0.01, caption, transform=ax.transAxes, ha="left", va="top", fontsize=8, color="#555555")
    ax.set_title("Who forwards to whom" + (": the staff, the top KOCs and their best routes" if bb.paths else ""))
    ax.margins(0.05)
    ax.autoscale_view()
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_axis_off()
    if mappable is not None:
        ax.figure.colorbar(mappable, ax=ax, location="bottom", shrink=0.5, aspect=35, pad=0.07,
                           label=str(color).replace("_", " "))
    sizes = [] if size is None else [(f"{v:,.0f}" if v >= 1 else f"{v:.2g}", float(_dot_sizes(v, vmax, big)))
                                     for v in _nice_steps(vmax)]
    marked = "top KOC" if top_kocs else "marked person"
    _legend(ax, roles={"staff": bool(bb.staff.size), "kocs": bool(bb.kocs.size), "introducers": bool(intro.size),
                       "routes": bool(bb.route_edges.size)},
            sizes=sizes, size_label=(size_label or "").replace("_", " ") + " (people)" if size_label == "reach"
            else (size_label or "").replace("_", " "), legend_items=legend_items, color=color, marked=marked)
    ids = g.nodes.index.to_numpy()
    _store(ax, nodes=ids[keep].tolist(), pos=pos, highlight=ids[bb.kocs].tolist(), staff=ids[bb.staff].tolist(),
           introducers=ids[intro].tolist(), routes=[ids[p].tolist() for p in bb.paths], edges=bb.edges,
           n_edges=int(bb.edges.size), caption=caption, layout=method, labels=layer)
    return ax

@styled
def cascade(
    g: ShareGraph,
    item: Any,
    *,
    color: Literal["depth", "time"] = "depth",
    labels: bool | Literal["auto"] = "auto",
    rng: Any = 0,
    ax: Axes | None = None,
) -> Axes:
    """How one piece of content spread: its cascade forest, first sharers at the top, one row per
    forward, coloured by depth or by when each person got it.

    Laid out with igraph's Reingold-Tilford tree layout (several roots: side by side). One segment per
    tree link: a cascade of ``size`` holders and ``n_roots`` roots draws ``size - n_roots`` edges. On
    a cascade of thousands the dots shrink, and names are placed without overlaps and inside the
    Axes, so none collides with the title or another name.

    Parameters
    ----------
    g
        The graph, after :func:`kocgraph.tl.cascades`.
    item
        The item id.
    color
        ``"depth"`` (hops from the root) or ``"time"`` (when the user got the item, after the first
        share, with a colour scale).
    labels
        ``"auto"``: every user when the cascade has at most 40 holders, else the roots and the five
        users with the largest reach; True: all; False: none.
    rng
        Accepted for a uniform signature; the tree layout is deterministic.
    ax
        Axes to draw into; None makes a new figure.

    Returns
    -------
    The Axes; ``ax.kocgraph`` holds ``item``, ``nodes`` (user ids), ``pos``, ``n_edges``, ``n_roots``
    and ``labels`` (the :class:`~kocgraph.pl._labels.LabelLayer`).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.cascades(g)
    >>> ax = kg.pl.cascade(g, "poster")
    >>> ax.kocgraph["n_edges"]
    9
    >>> plt.close(ax.figure)
    """
    where = "kg.pl.cascade"
    g = check_graph(g, where)
    check_choice("color", color, ("depth", "time"), where=where)
    if not (isinstance(labels, (bool, np.bool_)) or labels == "auto"):
        raise InvalidParameterError(f"labels={labels!r} must be 'auto', True or False.")
    if g.trees is None:
        require(g, "cascades", tool="tl.cascades", where=where, meta=False, trees=True)
    if color == "time" and not g.has_time:
        raise InvalidParameterError(
            "color='time' but this log has no time column (row order stands in for time); pass color='depth'."
        )
    _seed(rng)  # validate
    tree = _item_tree(g, item)
    n, roots = tree.rows.size, tree.roots
    pos = _tree_positions(tree)
    ax = _new_ax(ax, figsize=(max(6.4, min(16.0, 0.35 * (np.ptp(pos[:, 0]) + 1) if n else 6.4)), 4.8))
    from matplotlib.collections import LineCollection

    child, local = tree.child, tree.local
    lc = LineCollection(_segments(np.stack([pos[local[child]], pos[child]], axis=1) if child.size
                                  else np.zeros((0, 2, 2))),
                        colors=EDGE_COLOR, linewidths=0.8, alpha=0.8, zorder=1)
    lc.set_gid("kocgraph-edges")
    ax.add_collection(lc)
    cvals, cmap, norm, clabel = _cascade_colors(g, tree, color)
    s = 60.0 if n <= 100 else (20.0 if n <= 1000 else 6.0)
    sc = ax.scatter(pos[:, 0], pos[:, 1], c=cvals, cmap=cmap, norm=norm, s=s, edgecolors="white",
                    linewidths=0.5 if n <= 1000 else 0.0, zorder=2)
    sc.set_gid("kocgraph-nodes")
    if color == "time":  # depth needs no colour scale: the rows already say it
        ax.figure.colorbar(sc, ax=ax, shrink=0.8, label=clabel)
    ids = g.nodes.index.to_numpy()[tree.user]
    layer = _cascade_labels(ax, pos, ids, tree, labels, s)
    _cascade_frame(ax, item, pos, tree)
    _store(ax, item=item, nodes=ids.tolist(), pos=pos, n_edges=int(child.size), n_roots=int(roots.size),
           color=color, labels=layer)
    return ax


class _ItemTree(NamedTuple):
    """One item's cascade forest, a row per holder (local numbering ``0..n-1``, in ``g.trees`` order)."""

    rows: np.ndarray  # rows of g.trees
    user: np.ndarray  # user codes
    depth: np.ndarray  # hops from the root
    sub_size: np.ndarray  # holders in the subtree
    local: np.ndarray  # local number of the parent, -1 for a root
    child: np.ndarray  # local numbers of the non-roots
    roots: np.ndarray  # local numbers of the roots


def _item_tree(g: ShareGraph, item: Any) -> _ItemTree:
    """The cascade forest of ``item``, read from ``g.trees`` (which the caller checked is computed)."""
    code = int(g.item_codes([item])[0])
    t = cast("pd.DataFrame", g.trees)
    rows = np.flatnonzero(t["item"].cat.codes.to_numpy() == code)
    user = t["user"].cat.codes.to_numpy()[rows].astype(np.int64)
    parent = t["parent"].cat.codes.to_numpy()[rows].astype(np.int64)
    local = pd.Index(user).get_indexer(parent)  # -1 for roots (parent code -1 is never a user)
    local[parent < 0] = -1
    return _ItemTree(rows=rows, user=user, depth=t["depth"].to_numpy()[rows],
                     sub_size=t["subtree_size"].to_numpy()[rows], local=local, child=np.flatnonzero(local >= 0),
                     roots=np.flatnonzero(local < 0))


def _tree_positions(tree: _ItemTree) -> np.ndarray:
    """Reingold-Tilford positions: roots at the top, one row per depth, the biggest tree on the left."""
    import igraph as ig

    n = tree.rows.size
    if not n:
        return np.zeros((0, 2))
    graph = ig.Graph(n=n, edges=np.column_stack([tree.local[tree.child], tree.child]).tolist(), directed=True)
    # roots in order of tree size, biggest first, so the main tree sits on the left
    root_order = tree.roots[np.argsort(-tree.sub_size[tree.roots], kind="stable")].tolist()
    lay = graph.layout_reingold_tilford(mode="out", root=root_order)
    pos = np.asarray(lay.coords, dtype=np.float64).reshape(n, 2)
    pos[:, 1] = -tree.depth.astype(np.float64)  # roots at the top, one row per depth
    return pos


def _cascade_colors(
    g: ShareGraph, tree: _ItemTree, color: str
) -> tuple[np.ndarray, Colormap | str, BoundaryNorm | None, str]:
    """The dots' colour values, colour map, norm and colour-scale label: one colour per depth, or the
    time since the first share in minutes, hours or days (whichever fits the cascade's span)."""
    n, depth = tree.rows.size, tree.depth
    if color == "depth":
        from matplotlib import colormaps
        from matplotlib.colors import BoundaryNorm

        dmax = int(depth.max()) if n else 0
        cmap = colormaps["viridis"].resampled(dmax + 1)
        return depth, cmap, BoundaryNorm(np.arange(-0.5, dmax + 1.5), cmap.N), "forwards from the first sharer"
    tns = pd.DatetimeIndex(cast("pd.DataFrame", g.trees)["time"].iloc[tree.rows]).asi8
    dt = (tns - tns.min()) / 1e9 if n else np.zeros(0)
    span = float(dt.max()) if n else 0.0
    if span < 2 * 3600:
        unit, div = "minutes", 60.0
    elif span < 3 * 86400:
        unit, div = "hours", 3600.0
    else:
        unit, div = "days", 86400.0
    return dt / div, "plasma", None, f"{unit} after the first share"


def _cascade_labels(ax: Axes, pos: np.ndarray, ids: np.ndarray, tree: _ItemTree, labels: Any,
                    s: float) -> LabelLayer:
    """Names placed without overlaps, inside the Axes (never on the title): everyone on a small
    cascade (``labels="auto"``, at most 40), else the roots first, then the biggest subtrees."""
    n = tree.rows.size
    if labels is True or (labels == "auto" and n <= 40):
        lab = np.arange(n)
    elif labels is False:
        lab = np.empty(0, dtype=np.int64)
    else:
        lab = np.unique(np.concatenate([tree.roots[:10], np.argsort(-tree.sub_size, kind="stable")[:5]]))
    layer = LabelLayer(ax, pos[lab], [_short(ids[i], 12) for i in lab], radius_pt=np.sqrt(s) / 2,
                       obstacles_xy=pos if n <= 2000 else None, obstacles_pt=np.sqrt(s) / 2, fontsize=8.0)
    ax.add_artist(layer)
    return layer


def _cascade_frame(ax: Axes, item: Any, pos: np.ndarray, tree: _ItemTree) -> None:
    """Title, limits and the depth axis (at most about 12 ticks) of the cascade plot."""
    n, roots = tree.rows.size, tree.roots
    d = int(tree.depth.max()) if n else 0
    step = max(1, int(np.ceil((d + 1) / 12)))
    ax.set_title(f"How “{_short(item, 30)!s}” spread: {n:,} {'person' if n == 1 else 'people'}, "
                 f"up to {d} forward{'s' * (d != 1)} from {'its start' if roots.size == 1 else 'the start'}"
                 f" ({roots.size:,} starting point{'s' * (roots.size != 1)})")
    if n:
        xlo, xhi = pos[:, 0].min(), pos[:, 0].max()
        ax.set_xlim(xlo - 0.7, xhi + 0.7)
        ax.set_ylim(-d - 0.6, 0.9)
    ax.set_xticks([])
    ax.set_yticks(-np.arange(0, d + 1, step))
    ax.set_yticklabels([str(i) for i in range(0, d + 1, step)])
    ax.set_ylabel("forwards from the first sharer")
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
