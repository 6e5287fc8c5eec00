"""``kg.pl.reach``, ``kg.pl.concentration``, ``kg.pl.ranking``, ``kg.pl.communities``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter, PercentFormatter

from .._core.graph import ShareGraph
from .._core.tools import check_graph, require
from .._core.validation import check_int
from ..exceptions import InvalidParameterError
from ._network import _listed_colors
from ._style import GRID, PALETTE, styled
from ._utils import (
    FEATURE_COLORS,
    HIGHLIGHT_COLOR,
    _new_ax,
    _node_column,
    _note_below,
    _numeric,
    _short,
    _store,
    _thousands,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["reach", "concentration", "ranking", "communities"]

from ..tl import FEATURE_WORDS as _FEATURE_WORDS


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


def _top_text(share: float, k: int, n: int, top: float, word: str) -> str:
    """"top 1% of people (12 people) → 45% of reach", or, when the top fraction is a handful of people
    who are a visibly larger share than asked (1 of 17 people is 6%, not 1%), "top 1 person (6% of 17
    people) → 29% of reach": the words always name the point the arrow points at."""
    if not np.isfinite(share):
        return f"no {word} to show"
    people = f"{k:,} {'person' if k == 1 else 'people'}"
    if n and abs(k / n - top) <= 0.1 * top:
        return f"top {100 * top:g}% of people ({people})\n→ {_pct(share)} of {word}"
    return f"top {people} ({_pct(k / n)} of {n:,})\n→ {_pct(share)} of {word}"


def _pct(p: float) -> str:
    if not np.isfinite(p):
        return "n/a"
    pct = 100.0 * p
    return f"{pct:.1f}%" if pct < 10 else f"{pct:.0f}%"


@styled
def reach(g: ShareGraph, *, key: str = "reach", ax: Axes | None = None) -> Axes:
    """Complementary CDF of reach on log-log axes: how many people reached at least ``x`` others.

    A heavy tail (a straight-ish line over decades) means a few people move most of the content.
    People with reach 0 cannot sit on a log axis; the caption says how many were left out.

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
    line, = ax.plot(x, y, marker="o", ms=3, lw=1.2, color=PALETTE[0], drawstyle="default")
    line.set_gid("kocgraph-ccdf")
    if x.size:
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):  # 1, 10, 1,000 (plain numbers, no mathtext powers of ten)
            axis.set_major_formatter(_thousands())
            axis.set_minor_formatter(NullFormatter())
    word = key.replace("_", " ")
    ax.set_xlabel(f"{word}: people reached (x, log scale)" if key == "reach" else f"{word} (x, log scale)")
    ax.set_ylabel(f"people with {word} of at least x")
    ax.set_title(f"How many people reach how many others ({word})")
    ax.grid(True, which="major", **GRID)
    n_pos = int(y[0]) if x.size else 0
    caption = f"{n_pos:,} {'person' if n_pos == 1 else 'people'} with {word} of at least 1"
    if n_zero:
        caption += f"; {n_zero:,} with {word} 0, which a log scale cannot show"
    _note_below(ax, caption)
    _store(ax, x=x, y=y, n_zero=n_zero, key=key, caption=caption)
    return ax


@styled
def concentration(g: ShareGraph, *, key: str = "reach", top: float = 0.01, ax: Axes | None = None) -> Axes:
    """Lorenz-style concentration curve, annotated "top 1% of people → X% of reach".

    People are ranked from the largest ``key`` down; the curve gives the share of the total held by
    the top fraction of people. The diagonal is an even spread. The Gini coefficient is in the legend.
    The top fraction is at least one person; when that person (or handful) is a visibly larger share
    of everyone than ``top`` (1 of 17 people is 6%, not 1%), the words say so, so they always name the
    point they point at.

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
    >>> print(ax.kocgraph["text"])  # 1 of 17 people is 6%, and the point sits at 6%
    top 1 person (5.9% of 17)
    → 29% of reach
    >>> plt.close(ax.figure)
    """
    where = "kg.pl.concentration"
    g = check_graph(g, where)
    if isinstance(top, bool) or not isinstance(top, (int, float, np.floating)) or not 0 < float(top) <= 1:
        raise InvalidParameterError(f"top={top!r} must be a fraction in (0, 1]; 0.01 means the top 1% of people.")
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
        line, = ax.plot(np.r_[0.0, x], np.r_[0.0, cum], color=PALETTE[0], lw=2, label=f"Gini {gini:.2f}")
        line.set_gid("kocgraph-lorenz")
    ax.plot([0, 1], [0, 1], ls="--", color="#999999", lw=1, label="even spread")
    ptop = k / n if n else float(top)
    text = _top_text(share, k, n, float(top), word)
    if np.isfinite(share):
        ax.plot([ptop, ptop, 0], [0, share, share], ls=":", color=HIGHLIGHT_COLOR, lw=1)
        ax.scatter([ptop], [share], color=HIGHLIGHT_COLOR, zorder=3, s=25)
        # the words sit in the empty corner under the diagonal, the arrow points at the point they name
        ax.annotate(text, (ptop, share), xytext=(max(0.38, min(ptop + 0.12, 0.5)), 0.08),
                    textcoords="axes fraction", ha="left", va="bottom", fontsize=10, color=HIGHLIGHT_COLOR,
                    arrowprops={"arrowstyle": "->", "color": HIGHLIGHT_COLOR, "lw": 1, "shrinkB": 4})
    else:
        ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", fontsize=10, color="#555555")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("share of people, largest first")
    ax.set_ylabel(f"share of all {word}")
    ax.set_title(f"How concentrated {word} is")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, alignment="left",
              title="0 = everyone alike,\n1 = one person has it all" if np.isfinite(gini) else None)
    ax.grid(True, **GRID)
    _store(ax, share=share, k=k, top=float(top), gini=gini, n=n, key=key, text=text)
    return ax


@styled
def ranking(g: ShareGraph, n: int = 20, *, key: str = "koc", ax: Axes | None = None) -> Axes:
    """KOC scores as horizontal stacked bars of their explained terms, best at the top.

    Each bar is one person's score split into its terms per feature (the contributions of
    :func:`kocgraph.get.explain`), one colour per feature, so the bar lengths are the scores. People
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
    meta = require(g, key, tool="tl.kocs", where=where, nodes=[f"{key}_score", f"{key}_rank"])
    feats = [f for f in meta["features"] if float(meta["weights"].get(f, 0)) > 0]
    require(g, key, tool="tl.kocs", where=where, nodes=[f"{key}_term_{f}" for f in feats])
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
    spare = iter(_listed_colors("tab20")[1::2])
    for f in feats:
        w = np.nan_to_num(terms[f])
        colour = FEATURE_COLORS.get(f) or next(spare)
        ax.barh(y, w, left=left, height=0.72, color=colour, label=_FEATURE_WORDS.get(f, f.replace("_", " ")),
                edgecolor="white", linewidth=0.4)
        left = left + w
    top = float(left.max()) if m else 1.0
    for i in range(m):  # n labels: the output size
        ax.text(left[i] + 0.01 * top, y[i], f"{scores[i]:.3f}", va="center", fontsize=9, color="#333333")
    ax.set_yticks(y, [f"{int(k)}. {_short(u)}" for k, u in zip(r_sorted, users, strict=True)], fontsize=9, parse_math=False)
    ax.set_ylim(m - 0.5, -0.5)
    ax.set_xlim(0, top * 1.12 if m and top > 0 else 1.0)
    ax.set_xlabel(_score_units(meta, float(scores.max()) if m else 0.0))
    ax.set_title(f"Top {m} KOCs: what their scores are made of")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, alignment="left",
              title="part of the score")
    ax.grid(True, axis="x", **GRID)
    _store(ax, users=users.tolist(), features=feats, scores=scores, key=key)
    return ax


def _score_units(meta: dict, best: float) -> str:
    """The ranking's x-axis label: what the score is in, with the best score read back into people."""
    kind = meta.get("fit", {}).get("kind")
    if kind == "percentile":
        return "KOC score: a weighted sum of percentiles (0 to 1), the sum of its parts"
    if kind not in ("fit", "prior"):  # weights the user gave: log units, but no promise about reach
        return "KOC score, in log units: a weighted sum of ln(1 + each measure), the sum of its parts"
    # the fitted (or prior) score estimates log1p(future reach): koc_expected_reach = expm1(score)
    return (f"KOC score, in log units: about ln(1 + people reached next), e.g. {best:.1f} ≈ "
            f"{np.expm1(best):,.0f} people; the sum of its parts")


@styled
def communities(g: ShareGraph, *, n: int = 15, key: str = "community", kocs_key: str = "koc",
                ax: Axes | None = None) -> Axes:
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
    kocs_key
        The ``key_added`` of the KOC ranking that picks each community's named users.
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
    labels = _community_labels(g, key, where)
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
    best = _top_person(g, labels, sizes_all.size, kocs_key)
    ids = g.nodes.index.to_numpy()
    tops = [_short(ids[best[x]], 16) if best[x] >= 0 else None for x in shown]
    ax = _new_ax(ax, figsize=(12.0, max(3.2, 0.38 * k + 1.8)))
    rows = [f"group {nm}" if nm != "other" else f"{len(order) - shown.size:,} smaller groups" for nm in names]
    _group_size_bars(ax, sizes, rows, tops, pooled)
    hax = _flow_heatmap(ax, flows, names)
    _store(ax, communities=names, sizes=sizes, flows=flows, heatmap=hax, key=key)
    return ax


def _community_labels(g: ShareGraph, key: str, where: str) -> np.ndarray:
    """The community label of every user (``g.nodes[key]``), checked: integers >= 0, none missing."""
    if key not in g.nodes.columns:
        if key == "community":
            require(g, key, tool="tl.communities", where=where, nodes=[key])
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
    return labels


def _top_person(g: ShareGraph, labels: np.ndarray, n_labels: int, kocs_key: str) -> np.ndarray:
    """Per community label: the user code of its top person (-1 for an empty label), by the largest
    KOC score under ``kocs_key``, else reach, else forwards sent; ties go to the smallest code."""
    nodes = g.nodes
    if isinstance(g.meta.get(kocs_key), dict) and f"{kocs_key}_score" in nodes.columns:
        score = nodes[f"{kocs_key}_score"].to_numpy(np.float64, na_value=np.nan)
    elif "reach" in nodes.columns:
        score = nodes["reach"].to_numpy(np.float64)
    else:
        score = np.bincount(g.codes.src, minlength=g.n_users).astype(np.float64)
    score = np.where(np.isfinite(score), score, -np.inf)
    best = np.full(n_labels, -1, dtype=np.int64)
    if labels.size:
        o = np.lexsort((-score, labels))
        first = np.r_[True, labels[o][1:] != labels[o][:-1]]
        best[labels[o][first]] = o[first]
    return best


def _group_size_bars(ax: Axes, sizes: np.ndarray, rows: list[str], tops: list[str | None], pooled: bool) -> None:
    """The left panel: one bar per group (grey for the pooled "other"), tagged with its size and the
    top person of each shown group (``tops``, None: nobody)."""
    from matplotlib.ticker import MaxNLocator

    k = len(rows)
    y = np.arange(k)
    colors = [PALETTE[0]] * len(tops) + (["#c7c7c7"] if pooled else [])
    ax.barh(y, sizes, color=colors, height=0.72)
    for i in range(k):  # one label per shown group: its size and its top person
        tag = f"{int(sizes[i]):,}"
        if i < len(tops) and tops[i] is not None:
            tag += f"  top: {tops[i]}"
        ax.text(sizes[i], y[i], " " + tag, va="center", fontsize=9, color="#333333")
    ax.set_yticks(y, rows, fontsize=9, parse_math=False)
    ax.set_ylim(k - 0.5, -0.5)
    ax.set_xlim(0, float(sizes.max()) * 1.9 if k else 1.0)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))  # the panel is narrow: few, wide labels
    ax.xaxis.set_major_formatter(_thousands())
    ax.set_xlabel("people in the group")
    ax.set_title("How big each group is, and its top person")


def _flow_heatmap(ax: Axes, flows: np.ndarray, names: list[str]) -> Axes:
    """The right panel, split off ``ax`` (rows shared): forwards between groups on a log colour scale,
    with the counts written in the cells when there are at most 8 groups. Returns its Axes."""
    from matplotlib.colors import LogNorm
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    k = len(names)
    y = np.arange(k)
    divider = make_axes_locatable(ax)
    hax = divider.append_axes("right", size="90%", pad=1.4, sharey=ax)
    cax = divider.append_axes("right", size="4%", pad=0.1)
    masked = np.ma.masked_less_equal(flows, 0)
    vmax = float(flows.max()) if k and flows.max() > 0 else 1.0
    im = hax.imshow(masked, cmap="magma_r", norm=LogNorm(vmin=1.0, vmax=max(vmax, 1.0 + 1e-9)),
                    aspect="auto", interpolation="nearest", extent=(-0.5, k - 0.5, k - 0.5, -0.5))
    short = [nm if nm != "other" else "smaller" for nm in names]
    hax.set_xticks(y, short, fontsize=9, rotation=90 if k > 10 else 0, parse_math=False)
    hax.tick_params(axis="y", labelleft=True, labelsize=9)
    hax.set_xlabel("to group")
    hax.set_ylabel("from group")
    hax.set_title("Forwards between groups (the diagonal: within a group)")
    for side in ("top", "right"):
        hax.spines[side].set_visible(True)
    if k <= 8:
        for i in range(k):
            for j in range(k):
                if flows[i, j] > 0:
                    hax.text(j, i, f"{int(flows[i, j]):,}", ha="center", va="center", fontsize=9,
                             color="white" if flows[i, j] > np.sqrt(vmax) else "#333333")
    cb = ax.figure.colorbar(im, cax=cax, label="forwards (log scale)")
    cb.ax.yaxis.set_major_formatter(_thousands())
    cb.ax.yaxis.set_minor_formatter(NullFormatter())
    return hax
