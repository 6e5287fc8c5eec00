"""``kg.pl.network`` (the diffusion map) and ``kg.pl.cascade`` (one item's tree)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph
from .._core.validation import check_int
from ..exceptions import InvalidParameterError, NotComputedError, check_choice
from ._utils import (
    EDGE_COLOR,
    HIGHLIGHT_COLOR,
    _igraph_rng,
    _label_kw,
    _new_ax,
    _node_column,
    _numeric,
    _seed,
    _short,
    _store,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["network", "cascade"]

_N_CATEGORIES = 8  # categorical colours before "other": tab10 without red (highlights) and grey
_ARROWS_UP_TO = 400  # draw direction marks when at most this many edges are drawn


def _highlight_codes(g: ShareGraph, highlight: Any) -> np.ndarray:
    if highlight is None:
        return np.empty(0, dtype=np.int64)
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
    return np.unique(codes)


def _layout_one(graph: Any, layout: str) -> np.ndarray:
    n = graph.vcount()
    if n <= 1:
        return np.zeros((n, 2))
    if layout == "fr":
        lay = graph.layout_fruchterman_reingold(niter=500, grid="auto")
    elif layout == "kk":
        lay = graph.layout_kamada_kawai()
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
    with _igraph_rng(seed):
        if giant.all() or giant.sum() < 3:
            return _fit(_layout_one(graph, layout), (0.0, 1.0, 0.0, 1.0))
        main = _layout_one(graph.induced_subgraph(np.flatnonzero(giant).tolist()), layout)
        rest = _layout_one(graph.induced_subgraph(np.flatnonzero(~giant).tolist()), layout)
    pos = np.empty((n, 2))
    pos[giant] = _fit(main, (0.0, 1.0, 0.0, 1.0))
    strip = 0.12 if (~giant).sum() <= 50 else 0.25
    pos[~giant] = _fit(rest, (0.0, 1.0, -0.05 - strip, -0.05))
    return pos


def _categorical_colors(values: pd.Series) -> tuple[np.ndarray, list[tuple[str, Any]]]:
    """RGBA per value: the most frequent categories get tab10 colours, the rest grey 'other'."""
    from matplotlib import colormaps
    from matplotlib.colors import to_rgba

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    order = np.lexsort((np.arange(len(uniques)), -counts))[:_N_CATEGORIES]
    palette = [cl for i, cl in enumerate(colormaps["tab10"].colors) if i not in (3, 7)]  # no red, no grey
    lut = np.tile(np.array(to_rgba("#c7c7c7")), (len(uniques) + 1, 1))  # last row: NaN
    legend = []
    for i, u in enumerate(order):
        lut[u] = to_rgba(palette[i])
        legend.append((str(uniques[u]), palette[i]))
    if len(uniques) > len(order) or (codes < 0).any():
        legend.append(("other", "#c7c7c7"))
    return lut[np.where(codes >= 0, codes, len(uniques))], legend


def network(
    g: ShareGraph,
    *,
    color: str | None = "community",
    size: str | None = "reach",
    highlight: Any = None,
    max_nodes: int = 2000,
    layout: Literal["auto", "fr", "drl", "kk"] = "auto",
    labels: bool | int | Literal["auto"] = "auto",
    rng: Any = 0,
    ax: Axes | None = None,
) -> Axes:
    """The diffusion map: who forwards to whom, sized by reach, coloured by community.

    On a big graph only a *backbone* is drawn: the ``max_nodes`` users with the largest ``size``
    (highlighted users always among them) and the edges between them. A caption under the map says
    what was left out ("showing 2,000 of 1,234,567 users and 12,345 of 9,876,543 edges"). The
    selection is a vectorized top-k over ``g.nodes[size]`` and a mask over the edge code arrays; the
    layout runs on the backbone only, in igraph's C core, so the map stays quick on a 10M-event log.

    Parameters
    ----------
    g
        The graph.
    color
        ``"community"`` (needs :func:`kocgraph.tl.communities`), any column of ``g.nodes`` (numeric:
        colour scale with a colorbar; otherwise categories, the 10 most frequent coloured), or None.
    size
        Numeric column of ``g.nodes`` that picks the backbone and scales the markers (area ∝ value);
        default ``"reach"`` (needs :func:`kocgraph.tl.cascades`). None: the backbone is the users with
        the most forwards sent and received, drawn at one size.
    highlight
        User ids to mark (red ring, labelled), e.g. ``kg.get.kocs(g, n=20)["user"]`` (a DataFrame with
        a ``user`` column is accepted too). They are always drawn, within ``max_nodes``.
    max_nodes
        At most this many users are drawn.
    layout
        igraph layout: ``"fr"`` (Fruchterman-Reingold), ``"drl"`` (DrL, for thousands of nodes),
        ``"kk"`` (Kamada-Kawai, small graphs). ``"auto"`` is FR, which switches to its grid variant above
        1,000 users: on a 2,000-user backbone it takes about 0.1 s where DrL takes 1.8 s and KK 3.4 s.
    labels
        ``"auto"``: every user when at most 40 are drawn, else the highlighted users (up to 20) and the
        5 largest; an int ``k``: the highlighted and the ``k`` largest; True: all; False: none.
    rng
        Seed of the layout: the same ``rng`` gives the same map.
    ax
        Axes to draw into; None makes a new figure.

    Returns
    -------
    The Axes. ``ax.kocgraph`` holds ``nodes`` (drawn user ids), ``highlight`` (highlighted ids),
    ``pos`` (their coordinates, row = ``nodes``), ``edges`` (rows of ``g.edges`` drawn), ``n_edges``,
    ``caption`` and ``layout``. When the backbone is truncated, its users with no edge inside it are
    left out (named in the caption) unless highlighted.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.cascades(g)
    >>> kg.tl.communities(g, rng=0)
    >>> ax = kg.pl.network(g, highlight=["alice", "bob"], rng=0)
    >>> ax.kocgraph["caption"]
    'all 17 users and 24 edges'
    >>> plt.close(ax.figure)
    """
    where = "kg.pl.network"
    g = check_graph(g, where)
    max_nodes = check_int("max_nodes", max_nodes, minimum=1, where=where)
    check_choice("layout", layout, ("auto", "fr", "drl", "kk"), where=where)
    if not (isinstance(labels, (bool, np.bool_)) or labels == "auto" or isinstance(labels, (int, np.integer))):
        raise InvalidParameterError(
            f"labels={labels!r} must be 'auto', True, False or an int (how many of the largest users to label)."
        )
    seed = _seed(rng)
    n, c = g.n_users, g.codes
    # what to draw: validate every column before any work
    if size is None:
        score = (np.bincount(c.src, minlength=n) + np.bincount(c.tgt, minlength=n)).astype(np.float64)
        size_label = "forwards sent and received"
    else:
        score = _numeric(_node_column(g, size, param="size", where=where), param="size", where=where)
        size_label = str(size)
    col = None if color is None else _node_column(g, color, param="color", where=where)
    hl = _highlight_codes(g, highlight)
    if hl.size > max_nodes:
        raise InvalidParameterError(
            f"{hl.size:,} highlighted users but max_nodes={max_nodes:,}; pass max_nodes>={hl.size} or fewer ids."
        )

    # backbone: highlighted users, then the largest by score (one argpartition; ties resolved deterministically)
    key = np.where(np.isnan(score), -np.inf, score)
    if n <= max_nodes:
        keep = np.arange(n, dtype=np.int64)
    else:
        key_nohl = key.copy()
        key_nohl[hl] = np.inf  # highlighted users first
        part = np.argpartition(-key_nohl, max_nodes - 1)[:max_nodes]
        keep = np.sort(part)
    mask = np.zeros(n, dtype=bool)
    mask[keep] = True
    eidx = np.flatnonzero(mask[c.edge_src] & mask[c.edge_tgt])
    n_isolated = 0
    if keep.size < n:  # a truncated backbone: users with no link inside it would float around the map
        linked = np.zeros(n, dtype=bool)
        linked[c.edge_src[eidx]] = True
        linked[c.edge_tgt[eidx]] = True
        linked[hl] = True
        n_isolated = int(keep.size - linked[keep].sum())
        keep = keep[linked[keep]]
    local = np.full(n, -1, dtype=np.int64)
    local[keep] = np.arange(keep.size)
    es, et = local[c.edge_src[eidx]], local[c.edge_tgt[eidx]]

    method = "fr" if layout == "auto" else layout
    pos = _layout(int(keep.size), es, et, method, seed)

    ax = _new_ax(ax, figsize=(8.0, 8.0))
    from matplotlib.collections import LineCollection

    # edges: one LineCollection, width by forwards (log), alpha by how many are drawn
    if eidx.size:
        fw = g.edges["n_forwards"].to_numpy(np.float64)[eidx]
        segs = np.stack([pos[es], pos[et]], axis=1)
        alpha = float(np.clip(60.0 / np.sqrt(eidx.size), 0.08, 0.6))
        lw = 0.4 + 0.8 * np.log1p(fw) / max(np.log1p(fw.max()), 1e-12)
        lc = LineCollection(segs, colors=EDGE_COLOR, linewidths=lw, alpha=alpha, zorder=1)
        lc.set_gid("kocgraph-edges")
        ax.add_collection(lc)
        if eidx.size <= _ARROWS_UP_TO:  # direction marks: a small arrowhead 60% along each edge
            d = pos[et] - pos[es]
            length = np.hypot(d[:, 0], d[:, 1])
            ok = length > 0
            u = d[ok] / length[ok, None]
            mid = pos[es][ok] + 0.6 * d[ok]
            ax.quiver(mid[:, 0], mid[:, 1], u[:, 0], u[:, 1], angles="xy", pivot="mid", units="dots",
                      scale_units="dots", scale=1 / 9.0, width=1.2, headwidth=7, headlength=8,
                      headaxislength=7, color=EDGE_COLOR, alpha=min(1.0, alpha + 0.3), zorder=1)

    # nodes: area ∝ size
    kv = score[keep]
    if size is None:
        s = np.full(keep.size, 60.0 if keep.size <= 200 else 15.0)
    else:
        vmax = np.nanmax(kv) if keep.size and np.isfinite(kv).any() else 0.0
        frac = np.where(np.isfinite(kv) & (kv > 0), kv, 0.0) / vmax if vmax > 0 else np.zeros(keep.size)
        big = 400.0 if keep.size <= 200 else 120.0
        s = 8.0 + big * np.sqrt(frac)
    order = np.argsort(s, kind="stable")  # small on top of... big first so small stay visible
    order = order[::-1]
    legend_items: list[tuple[str, Any]] = []
    cbar_mappable = None
    if col is None:
        sc = ax.scatter(pos[order, 0], pos[order, 1], s=s[order], c="#1f77b4", linewidths=0.4,
                        edgecolors="white", zorder=2)
    elif pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype) \
            and color != "community":
        cv = col.to_numpy(np.float64, na_value=np.nan)[keep]
        sc = ax.scatter(pos[order, 0], pos[order, 1], s=s[order], c=cv[order], cmap="viridis",
                        linewidths=0.4, edgecolors="white", zorder=2, plotnonfinite=True)
        cbar_mappable = sc
    else:
        rgba, legend_items = _categorical_colors(col.iloc[keep].reset_index(drop=True))
        sc = ax.scatter(pos[order, 0], pos[order, 1], s=s[order], c=rgba[order], linewidths=0.4,
                        edgecolors="white", zorder=2)
    sc.set_gid("kocgraph-nodes")

    # highlight: a red ring on top of exactly the highlighted users
    hl_local = local[hl]
    if hl_local.size:
        hs = ax.scatter(pos[hl_local, 0], pos[hl_local, 1], s=s[hl_local] + 60.0, facecolors="none",
                        edgecolors=HIGHLIGHT_COLOR, linewidths=2.0, zorder=3, label="highlighted")
        hs.set_gid("kocgraph-highlight")

    # labels
    ids = g.nodes.index.to_numpy()[keep]
    if labels is True or (labels == "auto" and keep.size <= 40):
        lab = np.arange(keep.size)
    elif labels is False:
        lab = np.empty(0, dtype=np.int64)
    else:
        k = 5 if labels == "auto" else int(labels)
        top = np.argsort(-key[keep], kind="stable")[:k]
        lab = np.unique(np.concatenate([hl_local[:20] if labels == "auto" else hl_local, top]))
    kw = _label_kw()
    hl_set = set(hl_local.tolist())
    for i in lab.tolist():  # bounded by the labels asked for, not by the graph
        off = 0.75 * (np.sqrt(s[i] + (60.0 if i in hl_set else 0.0)) / 2) + 2  # clear of the marker
        ax.annotate(_short(ids[i]), pos[i], xytext=(off, off), textcoords="offset points", fontsize=8,
                    color=HIGHLIGHT_COLOR if i in hl_set else "#333333", zorder=4, **kw)

    # caption and decorations
    if keep.size == n and eidx.size == g.n_edges:
        caption = f"all {n:,} users and {g.n_edges:,} edges"
    else:
        caption = (f"showing {keep.size:,} of {n:,} users (largest by {size_label}) "
                   f"and {eidx.size:,} of {g.n_edges:,} edges")
        if n_isolated:
            caption += f";\n{n_isolated:,} more with no link among them left out"
    ax.text(0.0, -0.01, caption, transform=ax.transAxes, ha="left", va="top", fontsize=8, color="#555555")
    ax.set_title("Diffusion map" + (f", coloured by {color}" if color else ""))
    ax.margins(0.05)
    ax.autoscale_view()
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_axis_off()
    if cbar_mappable is not None:
        ax.figure.colorbar(cbar_mappable, ax=ax, shrink=0.6, label=str(color))
    elif legend_items:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], marker="o", ls="", color=cl, label=_short(lb, 14)) for lb, cl in legend_items]
        if hl_local.size:
            handles.append(Line2D([], [], marker="o", ls="", mfc="none", mec=HIGHLIGHT_COLOR, mew=2,
                                  label="highlighted"))
        ax.legend(handles=handles, title=str(color), loc="upper left", bbox_to_anchor=(1.0, 1.0),
                  fontsize=8, title_fontsize=8, frameon=False)
    _store(ax, nodes=ids.tolist(), highlight=g.nodes.index.to_numpy()[hl].tolist(), pos=pos,
           n_edges=int(eidx.size), edges=eidx, caption=caption, layout=method)
    return ax


def cascade(
    g: ShareGraph,
    item: Any,
    *,
    color: Literal["depth", "time"] = "depth",
    labels: bool | Literal["auto"] = "auto",
    rng: Any = 0,
    ax: Axes | None = None,
) -> Axes:
    """One item's cascade forest, roots at the top, coloured by depth or by join time.

    Laid out with igraph's Reingold-Tilford tree layout (several roots: side by side). One segment per
    tree link: a cascade of ``size`` holders and ``n_roots`` roots draws ``size - n_roots`` edges.

    Parameters
    ----------
    g
        The graph, after :func:`kocgraph.tl.cascades`.
    item
        The item id.
    color
        ``"depth"`` (hops from the root) or ``"time"`` (when the user got the item, after the first
        share); with a colorbar.
    labels
        ``"auto"``: every user when the cascade has at most 40 holders, else the roots and the five
        users with the largest reach; True: all; False: none.
    rng
        Accepted for a uniform signature; the tree layout is deterministic.
    ax
        Axes to draw into; None makes a new figure.

    Returns
    -------
    The Axes; ``ax.kocgraph`` holds ``item``, ``nodes`` (user ids), ``pos`` and ``n_edges``.

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
        raise NotComputedError(f"{where} needs the cascade trees (g.trees). Run kg.tl.cascades(g) first.")
    if color == "time" and not g.has_time:
        raise InvalidParameterError(
            "color='time' but this log has no time column (row order stands in for time); pass color='depth'."
        )
    _seed(rng)  # validate
    code = int(g.item_codes([item])[0])
    t = g.trees
    rows = np.flatnonzero(t["item"].cat.codes.to_numpy() == code)
    user = t["user"].cat.codes.to_numpy()[rows].astype(np.int64)
    parent = t["parent"].cat.codes.to_numpy()[rows].astype(np.int64)
    depth = t["depth"].to_numpy()[rows]
    sub_size = t["subtree_size"].to_numpy()[rows]
    n = rows.size
    local = pd.Index(user).get_indexer(parent)  # -1 for roots (parent code -1 is never a user)
    local[parent < 0] = -1
    child = np.flatnonzero(local >= 0)
    roots = np.flatnonzero(local < 0)

    import igraph as ig

    tree = ig.Graph(n=n, edges=np.column_stack([local[child], child]).tolist(), directed=True)
    if n:
        # roots in order of tree size, biggest first, so the main tree sits on the left
        root_order = roots[np.argsort(-sub_size[roots], kind="stable")].tolist()
        lay = tree.layout_reingold_tilford(mode="out", root=root_order)
        pos = np.asarray(lay.coords, dtype=np.float64).reshape(n, 2)
        pos[:, 1] = -depth.astype(np.float64)  # roots at the top, one row per depth
    else:
        pos = np.zeros((0, 2))

    ax = _new_ax(ax, figsize=(max(6.4, min(16.0, 0.35 * (np.ptp(pos[:, 0]) + 1) if n else 6.4)), 4.8))
    from matplotlib.collections import LineCollection

    lc = LineCollection(np.stack([pos[local[child]], pos[child]], axis=1) if child.size else np.zeros((0, 2, 2)),
                        colors=EDGE_COLOR, linewidths=0.8, alpha=0.8, zorder=1)
    lc.set_gid("kocgraph-edges")
    ax.add_collection(lc)
    if color == "depth":
        from matplotlib import colormaps
        from matplotlib.colors import BoundaryNorm

        dmax = int(depth.max()) if n else 0
        cmap = colormaps["viridis"].resampled(dmax + 1)
        norm = BoundaryNorm(np.arange(-0.5, dmax + 1.5), cmap.N)
        cvals = depth
        clabel = "depth (hops from the root)"
    else:
        tns = pd.DatetimeIndex(t["time"].iloc[rows]).asi8
        dt = (tns - tns.min()) / 1e9 if n else np.zeros(0)
        span = float(dt.max()) if n else 0.0
        if span < 2 * 3600:
            unit, div = "minutes", 60.0
        elif span < 3 * 86400:
            unit, div = "hours", 3600.0
        else:
            unit, div = "days", 86400.0
        cvals = dt / div
        cmap, norm = "plasma", None
        clabel = f"{unit} after the first share"
    s = 60.0 if n <= 100 else (20.0 if n <= 1000 else 6.0)
    sc = ax.scatter(pos[:, 0], pos[:, 1], c=cvals, cmap=cmap, norm=norm, s=s, edgecolors="white",
                    linewidths=0.5, zorder=2)
    sc.set_gid("kocgraph-nodes")
    cb = ax.figure.colorbar(sc, ax=ax, shrink=0.8, label=clabel)
    d = int(depth.max()) if n else 0
    step = max(1, int(np.ceil((d + 1) / 12)))
    if color == "depth":
        cb.set_ticks(np.arange(0, d + 1, step))
    ids = g.nodes.index.to_numpy()[user]
    if labels is True or (labels == "auto" and n <= 40):
        lab = np.arange(n)
    elif labels is False:
        lab = np.empty(0, dtype=np.int64)
    else:
        lab = np.unique(np.concatenate([roots[:10], np.argsort(-sub_size, kind="stable")[:5]]))
    kw = _label_kw()
    for i in lab:  # bounded: at most 40 labels, or 15 on a big cascade
        ax.annotate(_short(ids[i], 12), pos[i], xytext=(0, 6), textcoords="offset points", ha="center",
                    fontsize=7, color="#333333", zorder=3, **kw)
    ax.set_title(f"Cascade of {_short(item, 30)!s}: {n:,} users, depth {d}, "
                 f"{roots.size} root{'s' * (roots.size != 1)}")
    if n:
        xlo, xhi = pos[:, 0].min(), pos[:, 0].max()
        ax.set_xlim(xlo - 0.7, xhi + 0.7)
        ax.set_ylim(-d - 0.6, 0.6)
    ax.set_xticks([])
    ax.set_yticks(-np.arange(0, d + 1, step))
    ax.set_yticklabels([str(i) for i in range(0, d + 1, step)])
    ax.set_ylabel("depth")
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    _store(ax, item=item, nodes=ids.tolist(), pos=pos, n_edges=int(child.size), n_roots=int(roots.size),
           color=color)
    return ax
