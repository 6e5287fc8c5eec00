"""``kg.pl.reach``, ``kg.pl.concentration``, ``kg.pl.ranking``, ``kg.pl.communities``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph
from .._core.validation import check_int
from ..exceptions import InvalidParameterError, NotComputedError
from ._utils import FEATURE_COLORS, _label_kw, _new_ax, _node_column, _numeric, _short, _store

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["reach", "concentration", "ranking", "communities"]

from ..tl._kocs import FEATURE_WORDS as _FEATURE_WORDS


def ccdf(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct positive values ``x`` and how many values are ``>= x`` (NaN ignored)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    x, counts = np.unique(v, return_counts=True)
    y = np.cumsum(counts[::-1])[::-1]
    return x, y


def top_share(values: np.ndarray, top: float = 0.01) -> tuple[float, int]:
    """Share of the total held by the top ``top`` fraction of values (at least one), and how many that is."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), 0
    k = max(1, int(np.ceil(round(top * v.size, 9))))
    total = float(v.sum())
    if total <= 0:
        return float("nan"), k
    big = np.partition(v, v.size - k)[v.size - k:]
    return float(big.sum()) / total, k


def _pct(p: float) -> str:
    if not np.isfinite(p):
        return "n/a"
    pct = 100.0 * p
    return f"{pct:.1f}%" if pct < 10 else f"{pct:.0f}%"


def reach(g: ShareGraph, *, key: str = "reach", ax: Axes | None = None) -> Axes:
    """Complementary CDF of reach on log-log axes: how many users reached at least ``x`` others.

    A heavy tail (a straight-ish line over decades) means a few users move most of the content.
    Users with reach 0 cannot sit on a log axis; the caption says how many were left out.

    Parameters
    ----------
    g
        The graph, after :func:`kocgraph.tl.cascades`.
    key
        Numeric column of ``g.nodes`` (default ``"reach"``; ``"direct_reach"`` works too).
    ax
        Axes to draw into; None makes a new figure.

    Returns
    -------
    The Axes; the line's data are the distinct positive values and the user counts ``>=`` each;
    ``ax.kocgraph`` holds ``x``, ``y`` and ``n_zero``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.cascades(g)
    >>> ax = kg.pl.reach(g)
    >>> bool(ax.kocgraph["y"][0] == (g.nodes["reach"] >= 1).sum())
    True
    >>> plt.close(ax.figure)
    """
    where = "kg.pl.reach"
    g = check_graph(g, where)
    v = _numeric(_node_column(g, key, param="key", where=where), param="key", where=where)
    x, y = ccdf(v)
    n_zero = int(np.sum(np.isfinite(v) & (v <= 0)))
    ax = _new_ax(ax)
    line, = ax.plot(x, y, marker="o", ms=3, lw=1.2, color="#1f77b4", drawstyle="default")
    line.set_gid("kocgraph-ccdf")
    if x.size:
        ax.set_xscale("log")
        ax.set_yscale("log")
    word = key.replace("_", " ")
    ax.set_xlabel(f"{word} x")
    ax.set_ylabel(f"users with {word} ≥ x")
    ax.set_title(f"Distribution of {word}")
    ax.grid(True, which="major", alpha=0.3)
    caption = f"{x.size and int(y[0]):,} users with {word} ≥ 1"
    if n_zero:
        caption += f"; {n_zero:,} with {word} 0 not shown"
    ax.text(0.02, 0.02, caption, transform=ax.transAxes, ha="left", va="bottom", fontsize=8, color="#555555")
    _store(ax, x=x, y=y, n_zero=n_zero, key=key, caption=caption)
    return ax


def concentration(g: ShareGraph, *, key: str = "reach", top: float = 0.01, ax: Axes | None = None) -> Axes:
    """Lorenz-style concentration curve, annotated "top 1% of users → X% of reach".

    Users are ranked from the largest ``key`` down; the curve gives the share of the total held by the
    top fraction of users. The diagonal is an even spread. The Gini coefficient is in the legend.

    Parameters
    ----------
    g
        The graph, after the tool that writes ``key`` (:func:`kocgraph.tl.cascades` for reach).
    key
        Numeric column of ``g.nodes``; users with NaN are left out.
    top
        The fraction named in the annotation (0.01: the top 1%; at least one user).
    ax
        Axes to draw into; None makes a new figure.

    Returns
    -------
    The Axes; ``ax.kocgraph`` holds ``share`` (the annotated share, exact), ``k`` (how many users
    the top fraction is), ``gini`` and ``text``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.cascades(g)
    >>> ax = kg.pl.concentration(g)
    >>> ax.kocgraph["text"]
    'top 1% of users (1 user) → 29% of reach'
    >>> plt.close(ax.figure)
    """
    where = "kg.pl.concentration"
    g = check_graph(g, where)
    if isinstance(top, bool) or not isinstance(top, (int, float, np.floating)) or not 0 < float(top) <= 1:
        raise InvalidParameterError(f"top={top!r} must be a fraction in (0, 1]; 0.01 means the top 1% of users.")
    v = _numeric(_node_column(g, key, param="key", where=where), param="key", where=where)
    v = v[np.isfinite(v)]
    if (v < 0).any():
        raise InvalidParameterError(
            f"key={key!r} has negative values (min {v.min():g}); a concentration curve needs values >= 0."
        )
    share, k = top_share(v, float(top))
    n = v.size
    total = float(v.sum())
    ax = _new_ax(ax)
    word = key.replace("_", " ")
    gini = float("nan")
    if n and total > 0:
        cum = np.cumsum(np.sort(v)[::-1]) / total
        x = np.arange(1, n + 1) / n
        # Gini from the ascending Lorenz curve: 1 - 2 * area under it (trapezoids)
        asc = np.cumsum(np.sort(v)) / total
        gini = float(1.0 - (2.0 * asc.sum() - 1.0) / n) if n > 1 else 0.0
        if n > 4000:  # plot a few thousand points: dense at the top, even elsewhere
            idx = np.unique(np.concatenate([np.geomspace(1, n, 2000), np.linspace(1, n, 2000)]).astype(np.int64)) - 1
            x, cum = x[idx], cum[idx]
        line, = ax.plot(np.r_[0.0, x], np.r_[0.0, cum], color="#1f77b4", lw=2, label=f"Gini {gini:.2f}")
        line.set_gid("kocgraph-lorenz")
    ax.plot([0, 1], [0, 1], ls="--", color="#999999", lw=1, label="even spread")
    ptop = k / n if n else float(top)
    pct_top = f"{100 * float(top):g}%"
    text = (f"top {pct_top} of users ({k:,} user{'s' * (k != 1)}) → {_pct(share)} of {word}"
            if np.isfinite(share) else f"no {word} to show")
    if np.isfinite(share):
        ax.plot([ptop, ptop, 0], [0, share, share], ls=":", color="#d62728", lw=1)
        ax.scatter([ptop], [share], color="#d62728", zorder=3, s=25)
        ax.annotate(text, (ptop, share), xytext=(0.18, max(0.12, min(share, 0.95) - 0.18)),
                    textcoords="axes fraction", fontsize=10, color="#d62728",
                    arrowprops={"arrowstyle": "->", "color": "#d62728", "lw": 1})
    else:
        ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", fontsize=10, color="#555555")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("share of users, largest first")
    ax.set_ylabel(f"share of total {word}")
    ax.set_title(f"Concentration of {word}")
    from matplotlib.ticker import PercentFormatter

    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.grid(True, alpha=0.3)
    _store(ax, share=share, k=k, top=float(top), gini=gini, n=n, key=key, text=text)
    return ax


def ranking(g: ShareGraph, n: int = 20, *, key: str = "koc", ax: Axes | None = None) -> Axes:
    """KOC scores as horizontal stacked bars of their explained terms, best at the top.

    Each bar is one user's score split into ``weight × percentile`` per feature (the terms of
    :func:`kocgraph.get.explain`), one colour per feature, so the bar lengths are the scores. Users
    come in the order of :func:`kocgraph.get.kocs` (the per-community slate when one was built).

    Parameters
    ----------
    g
        The graph, after :func:`kocgraph.tl.kocs`.
    n
        How many of the best-ranked users to show.
    key
        The ``key_added`` the ranking was stored under.
    ax
        Axes to draw into; None makes a new figure.

    Returns
    -------
    The Axes; one bar container per feature (labelled with the feature), ``ax.kocgraph`` holds
    ``users`` (top to bottom), ``features`` and ``scores``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.kocs(g, staff=["brand", "staff_li"])
    >>> ax = kg.pl.ranking(g, n=5)
    >>> ax.kocgraph["users"][:3]
    ['alice', 'bob', 'nina']
    >>> plt.close(ax.figure)
    """
    where = "kg.pl.ranking"
    g = check_graph(g, where)
    n = check_int("n", n, minimum=1, where=where)
    if key not in g.meta or f"{key}_score" not in g.nodes.columns or f"{key}_rank" not in g.nodes.columns:
        raise NotComputedError(f"{where} needs a KOC ranking under key {key!r}. Run kg.tl.kocs(g) first.")
    meta = g.meta[key]
    feats = [f for f in meta["features"] if float(meta["weights"].get(f, 0)) > 0]
    missing = [f for f in feats if f"{key}_term_{f}" not in g.nodes.columns]
    if missing:
        raise NotComputedError(
            f"{where}: the ranking under {key!r} has no term columns for {missing}. Run kg.tl.kocs(g) again."
        )
    # the order of kg.get.kocs: the diverse slate when kg.tl.kocs built one, else the rank
    order_col = f"{key}_slate" if f"{key}_slate" in g.nodes.columns else f"{key}_rank"
    ranks = g.nodes[order_col]
    sel = np.flatnonzero(ranks.notna().to_numpy())
    r = ranks.iloc[sel].to_numpy(np.int64)
    o = np.argsort(r, kind="stable")[:n]
    sel, r_sorted = sel[o], r[o]
    users = g.nodes.index.to_numpy()[sel]
    scores = g.nodes[f"{key}_score"].to_numpy(np.float64)[sel]
    terms = {f: g.nodes[f"{key}_term_{f}"].to_numpy(np.float64)[sel] for f in feats}
    m = sel.size
    ax = _new_ax(ax, figsize=(8.0, max(2.5, 0.32 * m + 1.4)))
    y = np.arange(m)
    left = np.zeros(m)
    from matplotlib import colormaps

    spare = iter(colormaps["tab20"].colors[1::2])
    for f in feats:
        w = np.nan_to_num(terms[f])
        colour = FEATURE_COLORS.get(f) or next(spare)
        ax.barh(y, w, left=left, height=0.72, color=colour, label=_FEATURE_WORDS.get(f, f.replace("_", " ")),
                edgecolor="white", linewidth=0.4)
        left = left + w
    for i in range(m):  # n labels: the output size
        ax.text(left[i] + 0.01, y[i], f"{scores[i]:.3f}", va="center", fontsize=8, color="#333333")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{int(k)}. {_short(u)}" for k, u in zip(r_sorted, users)], fontsize=8, **_label_kw())
    ax.set_ylim(m - 0.5, -0.5)
    ax.set_xlim(0, max(1.0, float(left.max()) + 0.08) if m else 1.0)
    ax.set_xlabel("KOC score (sum of weight × percentile)")
    ax.set_title(f"Top {m} KOCs: what their scores are made of")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, title="term",
              title_fontsize=8)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    _store(ax, users=users.tolist(), features=feats, scores=scores, key=key)
    return ax


def communities(g: ShareGraph, *, n: int = 15, key: str = "community", ax: Axes | None = None) -> Axes:
    """Community sizes (bars) beside the forwards between communities (a heatmap), rows aligned.

    The ``n`` largest communities are shown, the rest pooled as "other". Two panels: the given (or a
    new) Axes holds the size bars, and a heatmap panel is split off its right side
    (``mpl_toolkits.axes_grid1``), so no new figure is made when ``ax`` is given. Heatmap cell
    (i, j) counts forwards from community i to community j (log colour scale); the diagonal is
    forwards that stay inside a community.

    Parameters
    ----------
    g
        The graph, after :func:`kocgraph.tl.communities`.
    n
        How many of the largest communities to show.
    key
        The community column (``key_added`` of :func:`kocgraph.tl.communities`).
    ax
        Axes for the bars; None makes a new figure.

    Returns
    -------
    The bars Axes; ``ax.kocgraph`` holds ``communities`` (labels shown, "other" last when pooled),
    ``sizes``, ``flows`` (the heatmap matrix) and ``heatmap`` (its Axes).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.communities(g, rng=0)
    >>> ax = kg.pl.communities(g)
    >>> int(ax.kocgraph["flows"].sum()) == g.n_events
    True
    >>> plt.close(ax.figure)
    """
    where = "kg.pl.communities"
    g = check_graph(g, where)
    n = check_int("n", n, minimum=1, where=where)
    if key not in g.nodes.columns:
        if key == "community":
            raise NotComputedError(f"{where} needs g.nodes['community']. Run kg.tl.communities(g) first.")
        _node_column(g, key, param="key", where=where)
    lab_s = g.nodes[key]
    if lab_s.isna().any() or not pd.api.types.is_integer_dtype(lab_s.dtype):
        raise InvalidParameterError(
            f"key={key!r} must hold integer community labels with no missing values (dtype {lab_s.dtype}); "
            "pass the key_added of kg.tl.communities."
        )
    labels = lab_s.to_numpy(np.int64)
    if labels.size and labels.min() < 0:
        raise InvalidParameterError(f"key={key!r} has negative labels (min {labels.min()}); labels must be >= 0.")
    sizes_all = np.bincount(labels) if labels.size else np.zeros(0, dtype=np.int64)
    present = np.flatnonzero(sizes_all)
    order = present[np.lexsort((present, -sizes_all[present]))]
    shown = order[:n]
    pooled = order.size > shown.size
    k = shown.size + int(pooled)
    slot = np.full(sizes_all.size, k - 1 if pooled else -1, dtype=np.int64)
    slot[shown] = np.arange(shown.size)
    sizes = np.bincount(slot[labels], minlength=k) if labels.size else np.zeros(k, dtype=np.int64)
    c = g.codes
    w = g.edges["n_forwards"].to_numpy(np.float64)
    fs, ft = slot[labels[c.edge_src]], slot[labels[c.edge_tgt]]
    flows = np.bincount(fs * k + ft, weights=w, minlength=k * k).reshape(k, k) if k else np.zeros((0, 0))
    names = [str(int(x)) for x in shown] + (["other"] if pooled else [])

    # top user of each shown community: largest KOC score, else reach, else forwards sent
    nodes = g.nodes
    if "koc_score" in nodes.columns:
        score = nodes["koc_score"].to_numpy(np.float64, na_value=np.nan)
    elif "reach" in nodes.columns:
        score = nodes["reach"].to_numpy(np.float64)
    else:
        score = np.bincount(c.src, minlength=g.n_users).astype(np.float64)
    score = np.where(np.isfinite(score), score, -np.inf)
    best = np.full(sizes_all.size, -1, dtype=np.int64)
    if labels.size:
        o = np.lexsort((-score, labels))
        first = np.r_[True, labels[o][1:] != labels[o][:-1]]
        best[labels[o][first]] = o[first]
    ids = nodes.index.to_numpy()

    ax = _new_ax(ax, figsize=(11.0, max(3.0, 0.34 * k + 1.6)))
    from matplotlib.colors import LogNorm
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    y = np.arange(k)
    colors = ["#1f77b4"] * shown.size + (["#c7c7c7"] if pooled else [])
    ax.barh(y, sizes, color=colors, height=0.72)
    kw = _label_kw()
    for i in range(k):  # one label per shown community
        tag = f"{int(sizes[i]):,}"
        if i < shown.size and best[shown[i]] >= 0:
            tag += f"  {_short(ids[best[shown[i]]], 14)}"
        ax.text(sizes[i], y[i], " " + tag, va="center", fontsize=7, color="#333333", **kw)
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=8)
    ax.set_ylim(k - 0.5, -0.5)
    ax.set_xlim(0, float(sizes.max()) * 1.6 if k else 1.0)
    ax.set_xlabel("users")
    ax.set_ylabel(key)
    ax.set_title("Community sizes (top user)")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)

    divider = make_axes_locatable(ax)
    hax = divider.append_axes("right", size="100%", pad=0.5, sharey=ax)
    cax = divider.append_axes("right", size="4%", pad=0.1)
    masked = np.ma.masked_less_equal(flows, 0)
    vmax = float(flows.max()) if k and flows.max() > 0 else 1.0
    im = hax.imshow(masked, cmap="magma_r", norm=LogNorm(vmin=1.0, vmax=max(vmax, 1.0 + 1e-9)),
                    aspect="auto", interpolation="nearest", extent=(-0.5, k - 0.5, k - 0.5, -0.5))
    hax.set_xticks(y)
    hax.set_xticklabels(names, fontsize=8, rotation=90 if k > 8 else 0)
    hax.tick_params(axis="y", labelleft=False)
    hax.set_xlabel(f"to {key}")
    hax.set_title(f"Forwards from {key} (row) to {key} (column)")
    if k <= 8:
        for i in range(k):
            for j in range(k):
                if flows[i, j] > 0:
                    hax.text(j, i, f"{int(flows[i, j]):,}", ha="center", va="center", fontsize=7,
                             color="white" if flows[i, j] > np.sqrt(vmax) else "#333333")
    ax.figure.colorbar(im, cax=cax, label="forwards")
    _store(ax, communities=names, sizes=sizes, flows=flows, heatmap=hax, key=key)
    return ax
