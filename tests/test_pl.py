"""kg.pl: every plot returns its Axes, respects ax=, leaves no stray figures, and draws what it claims."""

from __future__ import annotations

import base64
import inspect
import math
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.text import Text
from matplotlib.ticker import PercentFormatter

import kocgraph as kg
import kocgraph.evaluate
from kocgraph.exceptions import InvalidParameterError, NodeNotFoundError, NotComputedError

STAFF = ["brand", "staff_li"]


MODELS = ["last_touch", "first_touch", "linear", "time_decay"]


def _everything(g: kg.ShareGraph, staff: list[Any]) -> kg.ShareGraph:
    """Every result a plot can draw, on ``g`` (in place)."""
    kg.tl.cascades(g)
    kg.tl.communities(g, rng=0)
    kg.tl.kocs(g, staff=staff)
    kg.tl.routes(g, sources=staff, targets="kocs", k=3)
    kg.tl.attribution(g)
    for m in MODELS:
        kg.tl.attribution(g, model=m, key_added=f"attr_{m}")
    kg.evaluate.compare_seeds(g, k=[1, 2, 3], staff=staff, n=30)
    g.tables["test_backtest"] = kg.evaluate.backtest(g, k=(3, 5), staff=staff)
    return g


@pytest.fixture(scope="module")
def toy() -> kg.ShareGraph:
    return _everything(kg.datasets.toy(), STAFF)


@pytest.fixture(scope="module")
def syn() -> kg.ShareGraph:
    g = kg.datasets.synthetic(20000, 500, rng=0)
    kg.tl.cascades(g)
    kg.tl.communities(g, rng=0)
    kg.tl.kocs(g, staff=g.meta["synthetic"]["staff"])
    return g


@pytest.fixture(autouse=True)
def _no_stray_figures() -> Any:
    """Every test must close what it opens: the figure count is the same after each test."""
    before = plt.get_fignums()
    yield
    after = plt.get_fignums()
    plt.close("all")
    assert after == before, f"test left figures open: {sorted(set(after) - set(before))}"


# one entry per plot: how to call it on a graph with every result computed
PLOTS: dict[str, Callable[..., Axes]] = {
    "network": lambda g, **kw: kg.pl.network(g, highlight=["alice"], **kw),
    "cascade": lambda g, **kw: kg.pl.cascade(g, "poster", **kw),
    "cascade_time": lambda g, **kw: kg.pl.cascade(g, "coupon", color="time", **kw),
    "reach": lambda g, **kw: kg.pl.reach(g, **kw),
    "concentration": lambda g, **kw: kg.pl.concentration(g, **kw),
    "ranking": lambda g, **kw: kg.pl.ranking(g, **kw),
    "communities": lambda g, **kw: kg.pl.communities(g, **kw),
    "spread": lambda g, **kw: kg.pl.spread(g, **kw),
    "backtest": lambda g, **kw: kg.pl.backtest(g, g.tables["test_backtest"], **kw),
    "backtest_spearman": lambda g, **kw: kg.pl.backtest(g, g.tables["test_backtest"], metric="spearman", **kw),
    "route": lambda g, **kw: kg.pl.route(g, "carol", **kw),
    "attribution": lambda g, **kw: kg.pl.attribution(g, **kw),
    "attribution_models": lambda g, **kw: kg.pl.attribution(g, key=[f"attr_{m}" for m in MODELS], **kw),
}
assert {name.split("_")[0] for name in PLOTS} >= set(kg.pl.__all__), "every kg.pl plot is in PLOTS"


def _by_gid(ax: Axes, gid: str) -> list[Any]:
    return [c for c in ax.get_children() if c.get_gid() == gid]


# ---------------------------------------------------------------- contract: Axes, ax=, figures
@pytest.mark.parametrize("name", list(PLOTS))
def test_returns_axes_on_exactly_one_new_figure(toy: kg.ShareGraph, name: str) -> None:
    before = plt.get_fignums()
    ax = PLOTS[name](toy)
    try:
        assert isinstance(ax, Axes)
        new = sorted(set(plt.get_fignums()) - set(before))
        assert new == [ax.figure.number]
    finally:
        plt.close(ax.figure)
    assert plt.get_fignums() == before


@pytest.mark.parametrize("name", list(PLOTS))
def test_draws_into_given_axes_without_new_figure(toy: kg.ShareGraph, name: str) -> None:
    fig, given = plt.subplots()
    try:
        n_artists = len(given.get_children())
        before = plt.get_fignums()
        ax = PLOTS[name](toy, ax=given)
        assert ax is given
        assert plt.get_fignums() == before
        assert len(given.get_children()) > n_artists
        assert ax.figure is fig
    finally:
        plt.close(fig)


@pytest.mark.parametrize("name", list(PLOTS))
def test_renders_to_png(toy: kg.ShareGraph, name: str, tmp_path: Any) -> None:
    ax = PLOTS[name](toy)
    try:
        out = tmp_path / f"{name}.png"
        ax.figure.savefig(out, dpi=60)  # warnings are errors: rendering must be clean
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert out.stat().st_size > 2000
    finally:
        plt.close(ax.figure)


def test_signatures_take_ax_keyword_only() -> None:
    for name in kg.pl.__all__:
        params = inspect.signature(getattr(kg.pl, name)).parameters
        assert params["ax"].kind is inspect.Parameter.KEYWORD_ONLY and params["ax"].default is None, name
    for name in ("network", "cascade"):
        assert "rng" in inspect.signature(getattr(kg.pl, name)).parameters


def test_bad_ax_is_rejected(toy: kg.ShareGraph) -> None:
    with pytest.raises(InvalidParameterError, match="not a matplotlib Axes"):
        kg.pl.reach(toy, ax="left")


# ---------------------------------------------------------------- cascade
@pytest.mark.parametrize("item", ["poster", "coupon", "article"])
def test_cascade_draws_one_edge_per_tree_link(toy: kg.ShareGraph, item: str) -> None:
    ax = kg.pl.cascade(toy, item)
    try:
        size, n_roots = int(toy.items.loc[item, "size"]), int(toy.items.loc[item, "n_roots"])
        (edges,) = _by_gid(ax, "kocgraph-edges")
        assert len(edges.get_segments()) == size - n_roots == ax.kocgraph["n_edges"]
        tree = kg.get.cascade(toy, item)
        assert sorted(ax.kocgraph["nodes"]) == sorted(tree["user"])
        # every segment joins a parent to its child, one depth row lower
        pos = dict(zip(ax.kocgraph["nodes"], map(tuple, ax.kocgraph["pos"])))
        want = {(pos[p], pos[u]) for u, p in zip(tree["user"], tree["parent"]) if isinstance(p, str)}
        got = {(tuple(s[0]), tuple(s[1])) for s in edges.get_segments()}
        assert got == want
        depth = dict(zip(tree["user"], tree["depth"]))
        assert all(pos[u][1] == -depth[u] for u in depth)  # roots on top, one row per depth
    finally:
        plt.close(ax.figure)


def test_cascade_size_one_edges_on_a_big_item(syn: kg.ShareGraph) -> None:
    item = syn.items["size"].idxmax()
    ax = kg.pl.cascade(syn, item, color="time")
    try:
        (edges,) = _by_gid(ax, "kocgraph-edges")
        size, n_roots = int(syn.items.loc[item, "size"]), int(syn.items.loc[item, "n_roots"])
        assert len(edges.get_segments()) == size - n_roots
        assert "after the first share" in ax.figure.axes[-1].get_ylabel()  # the colorbar
    finally:
        plt.close(ax.figure)


def test_cascade_errors(toy: kg.ShareGraph) -> None:
    with pytest.raises(NotComputedError, match=r"kg\.tl\.cascades\(g\) first"):
        kg.pl.cascade(kg.datasets.toy(), "poster")
    with pytest.raises(NodeNotFoundError, match="flyer"):
        kg.pl.cascade(toy, "flyer")
    with pytest.raises(InvalidParameterError, match="color"):
        kg.pl.cascade(toy, "poster", color="reach")


# ---------------------------------------------------------------- reach
@pytest.mark.parametrize("key", ["reach", "direct_reach"])
def test_reach_ccdf_matches_direct_computation(syn: kg.ShareGraph, key: str) -> None:
    ax = kg.pl.reach(syn, key=key)
    try:
        v = syn.nodes[key].to_numpy()
        x = np.unique(v[v > 0])
        y = np.array([(v >= t).sum() for t in x])
        (line,) = _by_gid(ax, "kocgraph-ccdf")
        np.testing.assert_array_equal(line.get_xdata(), x)
        np.testing.assert_array_equal(line.get_ydata(), y)
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert ax.kocgraph["n_zero"] == int((v == 0).sum())
    finally:
        plt.close(ax.figure)


def test_reach_errors(toy: kg.ShareGraph) -> None:
    with pytest.raises(NotComputedError, match=r"kg\.tl\.cascades\(g\) first"):
        kg.pl.reach(kg.datasets.toy())
    with pytest.raises(InvalidParameterError, match="not a column"):
        kg.pl.reach(toy, key="popularity")


# ---------------------------------------------------------------- concentration
@pytest.mark.parametrize("top", [0.01, 0.1])
def test_concentration_annotation_equals_share_from_nodes(syn: kg.ShareGraph, top: float) -> None:
    ax = kg.pl.concentration(syn, top=top)
    try:
        v = np.sort(syn.nodes["reach"].to_numpy(np.float64))[::-1]
        k = math.ceil(round(top * v.size, 9))
        share = v[:k].sum() / v.sum()
        assert ax.kocgraph["k"] == k
        assert ax.kocgraph["share"] == pytest.approx(share, rel=1e-12)
        pct = f"{100 * share:.0f}%" if share >= 0.1 else f"{100 * share:.1f}%"
        assert abs(k / v.size - top) <= 0.1 * top  # k people are the top fraction asked for, near enough
        text = f"top {100 * top:g}% of people ({k:,} people)\n→ {pct} of reach"
        assert ax.kocgraph["text"] == text
        assert text in [t.get_text() for t in ax.texts]
        # the curve ends at (100%, 100%) and passes through the annotated point
        (line,) = _by_gid(ax, "kocgraph-lorenz")
        assert line.get_xdata()[-1] == pytest.approx(1.0) and line.get_ydata()[-1] == pytest.approx(1.0)
    finally:
        plt.close(ax.figure)


def test_concentration_on_toy_by_hand(toy: kg.ShareGraph) -> None:
    # 17 people -> the top 1% is 1 person: alice, reach 16 of a total of 55 -> 29%. One person of 17 is
    # 1/17 = 5.9% of the people, so the words say "5.9%", where the point sits, not "1%".
    assert int(toy.nodes["reach"].sum()) == 55
    ax = kg.pl.concentration(toy)
    try:
        assert ax.kocgraph["share"] == pytest.approx(16 / 55)
        assert ax.kocgraph["text"] == "top 1 person (5.9% of 17)\n→ 29% of reach"
        (note,) = [t for t in ax.texts if t.get_text() == ax.kocgraph["text"]]
        assert note.xy == pytest.approx((1 / 17, 16 / 55))  # the arrow points at (5.9%, 29%)
        (dot,) = [c for c in ax.collections if len(c.get_offsets()) == 1]
        assert tuple(dot.get_offsets()[0]) == pytest.approx((1 / 17, 16 / 55))
    finally:
        plt.close(ax.figure)


def test_concentration_errors(toy: kg.ShareGraph) -> None:
    with pytest.raises(InvalidParameterError, match="top"):
        kg.pl.concentration(toy, top=0)
    with pytest.raises(NotComputedError, match=r"kg\.tl\.pagerank\(g\) first"):
        kg.pl.concentration(kg.datasets.toy(), key="pagerank")


# ---------------------------------------------------------------- ranking
def test_ranking_bars_sum_to_scores(syn: kg.ShareGraph) -> None:
    ax = kg.pl.ranking(syn, n=20)
    try:
        users = ax.kocgraph["users"]
        top = kg.get.kocs(syn, n=20)
        assert users == top["user"].tolist()
        bars = [c for c in ax.containers if isinstance(c, BarContainer)]
        feats = [f for f in syn.meta["koc"]["features"] if syn.meta["koc"]["weights"][f] > 0]
        assert [b.get_label() for b in bars] == [kg.pl._plots._FEATURE_WORDS[f] for f in feats]
        widths = np.array([[p.get_width() for p in b.patches] for b in bars])  # feature x user
        np.testing.assert_allclose(widths.sum(axis=0), syn.nodes.loc[users, "koc_score"], rtol=1e-12)
        for f, w in zip(feats, widths):  # each segment is that user's term
            np.testing.assert_allclose(w, syn.nodes.loc[users, f"koc_term_{f}"].fillna(0))
        # stacked: each segment starts where the previous ended
        lefts = np.array([[p.get_x() for p in b.patches] for b in bars])
        np.testing.assert_allclose(lefts[1:], np.cumsum(widths, axis=0)[:-1])
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [b.get_label() for b in bars]
    finally:
        plt.close(ax.figure)


def test_ranking_follows_the_slate_when_there_is_one(syn: kg.ShareGraph) -> None:
    g = kg.tl.kocs(syn, staff=syn.meta["synthetic"]["staff"], per_community=1, copy=True)
    ax = kg.pl.ranking(g, n=8)
    try:
        assert ax.kocgraph["users"] == kg.get.kocs(g, n=8)["user"].tolist()
        assert len(set(g.nodes.loc[ax.kocgraph["users"], "community"])) == 8  # one per community
    finally:
        plt.close(ax.figure)


def test_ranking_errors(toy: kg.ShareGraph) -> None:
    with pytest.raises(NotComputedError, match=r"kg\.tl\.kocs\(g\) first"):
        kg.pl.ranking(kg.datasets.toy())
    with pytest.raises(InvalidParameterError, match="n=0"):
        kg.pl.ranking(toy, n=0)


# ---------------------------------------------------------------- communities
def test_communities_sizes_and_flows(syn: kg.ShareGraph) -> None:
    ax = kg.pl.communities(syn, n=6)
    try:
        info = ax.kocgraph
        labels = syn.nodes["community"].to_numpy()
        sizes = np.bincount(labels)
        assert info["communities"][:6] == [str(i) for i in np.argsort(-sizes, kind="stable")[:6]]
        assert info["communities"][-1] == "other"
        assert info["sizes"][:6].tolist() == np.sort(sizes)[::-1][:6].tolist()
        assert info["sizes"].sum() == syn.n_users
        bars = [p.get_width() for p in ax.containers[0].patches]
        assert bars == info["sizes"].tolist()
        assert info["flows"].sum() == syn.n_events
        tab = kg.get.communities(syn)
        shown = [int(c) for c in info["communities"][:6]]
        np.testing.assert_allclose(np.diag(info["flows"])[:6], tab.loc[shown, "internal_forwards"])
        assert info["heatmap"].figure is ax.figure and info["heatmap"] in ax.figure.axes
    finally:
        plt.close(ax.figure)


def test_communities_all_shown_on_toy(toy: kg.ShareGraph) -> None:
    ax = kg.pl.communities(toy)
    try:
        assert ax.kocgraph["communities"] == ["0", "1", "2", "3"]
        flows = ax.kocgraph["flows"]
        tab = kg.get.communities(toy)
        np.testing.assert_allclose(np.diag(flows), tab["internal_forwards"])
        np.testing.assert_allclose(flows.sum(axis=1) - np.diag(flows) + flows.sum(axis=0) - np.diag(flows),
                                   tab["external_forwards"])
    finally:
        plt.close(ax.figure)


def test_communities_errors(toy: kg.ShareGraph) -> None:
    with pytest.raises(NotComputedError, match=r"kg\.tl\.communities\(g\) first"):
        kg.pl.communities(kg.datasets.toy())
    with pytest.raises(InvalidParameterError, match="integer community labels"):
        kg.pl.communities(toy, key="koc_excluded")


# ---------------------------------------------------------------- savefig_base64
def test_savefig_base64(toy: kg.ShareGraph) -> None:
    ax = kg.pl.reach(toy)
    uri = kg.pl.savefig_base64(ax)
    try:
        assert uri.startswith("data:image/png;base64,")
        assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
        assert ax.figure.number in plt.get_fignums()
    finally:
        plt.close(ax.figure)
    ax = kg.pl.concentration(toy)
    kg.pl.savefig_base64(ax.figure, close=True)
    assert ax.figure.number not in plt.get_fignums()
    with pytest.raises(InvalidParameterError, match="Axes or Figure"):
        kg.pl.savefig_base64("plot.png")


# ---------------------------------------------------------------- one house style, for every plot
@pytest.mark.parametrize("name", list(PLOTS))
def test_every_plot_draws_in_the_house_style_and_leaves_rcparams_alone(toy: kg.ShareGraph, name: str) -> None:
    with matplotlib.rc_context({"font.size": 20.0, "axes.titlesize": 30.0, "axes.spines.top": True}):
        ax = PLOTS[name](toy)
        try:
            assert matplotlib.rcParams["font.size"] == 20.0  # the caller's settings, back after the call
            assert ax.title.get_fontsize() == 12.0 or ax.get_title() == ""
            assert not ax.spines["top"].get_visible()
            ax.figure.canvas.draw()
            sizes = [t.get_fontsize() for t in ax.figure.findobj(Text) if t.get_visible() and t.get_text()]
            assert min(sizes) >= 7.5, "every text readable: 7.5 pt or more"
        finally:
            plt.close(ax.figure)


@pytest.mark.parametrize("name", list(PLOTS))
def test_the_house_style_reaches_an_axes_the_caller_made(toy: kg.ShareGraph, name: str) -> None:
    """The report draws into Axes it made itself: those look the same as the plot's own."""
    loud = {"xtick.labelsize": 20.0, "ytick.labelsize": 20.0, "axes.spines.top": True, "axes.labelsize": 20.0,
            "grid.color": "red"}
    with matplotlib.rc_context(loud):
        fig, given = plt.subplots()
        try:
            ax = PLOTS[name](toy, ax=given)
            fig.canvas.draw()  # tick labels are made now, under the caller's settings
            ticks = [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()]
            assert all(t.get_fontsize() == 9.0 for t in ticks)
            assert not ax.spines["top"].get_visible()
            assert all(t.get_fontsize() <= 12.0 for t in (ax.xaxis.label, ax.yaxis.label))
            grid = [ln for ln in ax.get_xgridlines() + ax.get_ygridlines() if ln.get_visible()]
            assert all(matplotlib.colors.to_hex(ln.get_color()) == "#dddddd" for ln in grid)
        finally:
            plt.close(fig)


def test_house_style_is_public_and_restores_rcparams() -> None:
    before = dict(matplotlib.rcParams)
    with kg.pl.house_style():
        assert matplotlib.rcParams["text.parse_math"] is False
        assert matplotlib.rcParams["axes.spines.right"] is False
    assert dict(matplotlib.rcParams) == before


# ---------------------------------------------------------------- ids drawn as plain text, never mathtext (D13)
MATH_IDS = {"alice": "$x^{$", "bob": r"$\alpha$", "carol": "a$b$c", "brand": "$brand", "judy": r"\$5 $10"}


@pytest.fixture(scope="module")
def mathy() -> kg.ShareGraph:
    df = kg.datasets.toy_frame()
    for col in ("source", "target"):
        df[col] = df[col].map(lambda u: MATH_IDS.get(u, u))
    df["item"] = df["item"].map({"poster": "$poster^{$"}).fillna(df["item"])
    g = kg.read_log(df)
    return _everything(g, ["$brand", "staff_li"])


MATH_PLOTS: dict[str, Callable[..., Axes]] = {
    **PLOTS,
    "network": lambda g, **kw: kg.pl.network(g, labels=True, **kw),
    "cascade": lambda g, **kw: kg.pl.cascade(g, "$poster^{$", **kw),
    "route": lambda g, **kw: kg.pl.route(g, "a$b$c", **kw),
}


@pytest.mark.parametrize("name", list(MATH_PLOTS))
def test_ids_with_dollar_signs_are_drawn_as_plain_text(mathy: kg.ShareGraph, name: str, tmp_path: Any) -> None:
    ax = MATH_PLOTS[name](mathy)
    try:
        ax.figure.savefig(tmp_path / "m.png", dpi=50)  # "$x^{$" as mathtext would raise here
        texts = [t for t in ax.figure.findobj(Text) if t.get_text()]
        for t in texts:
            assert not t._preprocess_math(t.get_text())[1], f"{t.get_text()!r} would be drawn as mathtext"
        drawn = " ".join(t.get_text() for t in texts)
        if name in ("network", "cascade", "route", "ranking", "attribution"):
            assert any(v in drawn for v in MATH_IDS.values()), drawn  # the ids as they are, not escaped
    finally:
        plt.close(ax.figure)


# ---------------------------------------------------------------- polish: backtest, spread, communities, cascade
def test_backtest_in_plain_words_with_the_legend_beside_the_bars(toy: kg.ShareGraph) -> None:
    bt = toy.tables["test_backtest"]
    ax = kg.pl.backtest(toy, bt)
    try:
        legend = ax.get_legend()
        assert [t.get_text() for t in legend.get_texts()] == [kg.pl._grow.METHOD_WORDS[m]
                                                              for m in dict.fromkeys(bt["method"])]
        ax.figure.canvas.draw()
        r = ax.figure.canvas.get_renderer()
        assert legend.get_window_extent(r).x0 >= ax.get_window_extent(r).x1  # outside the data
        assert isinstance(ax.yaxis.get_major_formatter(), PercentFormatter)
        assert [t.get_text() for t in ax.get_xticklabels()] == ["top 3", "top 5"]
        assert ax.patches[0].get_facecolor()[:3] == pytest.approx(matplotlib.colors.to_rgb("#d62728"))  # KOC red
        # every method its own colour: the backtest has 13 methods, more than one palette of 8 (the last
        # four were once all grey, and the legend could not tell them apart)
        colours = [tuple(h.get_facecolor()) for h in legend.legend_handles]
        assert len(bt["method"].unique()) > 8 and len(set(colours)) == len(colours)
    finally:
        plt.close(ax.figure)


def test_spread_has_whole_number_ticks_for_k(toy: kg.ShareGraph) -> None:
    ax = kg.pl.spread(toy)
    try:
        ax.figure.canvas.draw()
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)
        names = [t.get_text() for t in ax.get_legend().get_texts()]
        assert [n.split(" (same as ")[0] for n in names] == [kg.pl._grow.STRATEGY_WORDS[s]
                                                             for s in ax.kocgraph["strategies"]]
    finally:
        plt.close(ax.figure)


def test_spread_lines_that_coincide_are_both_visible() -> None:
    g = kg.datasets.toy()
    # two strategies that picked the same people give the same curve: the later one is drawn dashed on top
    # and its legend entry says which line it repeats; a different curve stays solid and unnamed
    rows = [(s, k, v) for s, vals in {"imm": [3.0, 5.0], "pagerank": [1.0, 2.0], "kocs": [1.0, 2.0],
                                      "degree": [1.0, 2.5]}.items() for k, v in zip([1, 2], vals, strict=True)]
    g.tables["compare_seeds"] = pd.DataFrame([{"strategy": s, "k": k, "spread": v, "lo": v - 0.5, "hi": v + 0.5}
                                              for s, k, v in rows])
    ax = kg.pl.spread(g)
    try:
        names = [t.get_text() for t in ax.get_legend().get_texts()]
        w = kg.pl._grow.STRATEGY_WORDS
        assert names == [w["imm"], w["pagerank"], f"{w['kocs']} (same as {w['pagerank']})", w["degree"]]
        assert [ln.get_linestyle() for ln in ax.get_lines()] == ["-", "-", "--", "-"]
    finally:
        plt.close(ax.figure)


def test_ranking_axis_says_what_the_score_is_in() -> None:
    for weights, want in [("fit", "in log units: about ln(1 + people reached next)"),
                          ("percentile", "weighted sum of percentiles"),
                          ({"reach": 1.0}, "weighted sum of ln(1 + each measure)")]:
        g = kg.datasets.toy()
        kg.tl.kocs(g, staff=STAFF, weights=weights)
        ax = kg.pl.ranking(g, n=3)
        try:
            assert want in ax.get_xlabel(), (weights, ax.get_xlabel())
            if weights == "fit":  # the best score read back into people: expm1 of the top bar's score
                best = float(g.nodes["koc_score"].max())
                assert f"{best:.1f} ≈ {np.expm1(best):,.0f} people" in ax.get_xlabel()
        finally:
            plt.close(ax.figure)


def test_communities_size_ticks_never_overlap(syn: kg.ShareGraph) -> None:
    # the million-event sample's shape: 15 groups shown, the many smaller ones pooled into one long bar, so
    # the narrow size panel spans five-digit counts; at matplotlib's default spacing (0, 2,500, ...,
    # 17,500) the labels ran together. Here 600 people share the 15 shown groups (40 each) and the rest
    # 250 smaller ones (about 32 each; 7,975 pooled), in a figure 9 inches wide. Labels must stay at least
    # half a 9-pt character apart (6 pt), so they still read apart when the picture is scaled down.
    h = syn.copy()
    idx = np.arange(h.n_users)
    h.nodes["test_groups"] = np.where(idx < 600, idx % 15, 15 + idx % 250).astype(np.int64)
    _, ax0 = plt.subplots(figsize=(9.0, 6.0))
    ax = kg.pl.communities(h, n=15, key="test_groups", ax=ax0)
    try:
        assert ax.kocgraph["sizes"][-1] > 5_000  # the pooled bar: the axis runs into five digits
        ax.figure.canvas.draw()
        r = ax.figure.canvas.get_renderer()
        boxes = [t.get_window_extent(r) for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
        gap = 6.0 / 72.0 * ax.figure.dpi
        assert len(boxes) >= 3
        assert all(b.x0 - a.x1 >= gap for a, b in zip(boxes, boxes[1:])), [t.get_text() for t in ax.get_xticklabels()]
    finally:
        plt.close(ax.figure)


def test_communities_rows_are_labelled_on_both_panels(syn: kg.ShareGraph) -> None:
    ax = kg.pl.communities(syn, n=6)
    try:
        ax.figure.canvas.draw()
        hax = ax.kocgraph["heatmap"]
        rows = [t.get_text() for t in ax.get_yticklabels()]
        assert rows[:6] == [f"group {c}" for c in ax.kocgraph["communities"][:6]]
        assert rows[-1].endswith("smaller groups")
        heat_rows = [t.get_text() for t in hax.get_yticklabels() if t.get_visible()]
        assert heat_rows == rows and all(t.get_fontsize() >= 9 for t in hax.get_yticklabels())
        assert hax.get_ylabel() == "from group" and hax.get_xlabel() == "to group"
    finally:
        plt.close(ax.figure)


def test_cascade_names_stay_clear_of_the_title_on_a_big_item() -> None:
    g = kg.datasets.synthetic(100_000, 1_700, rng=0)  # 105k events; items with thousands of holders
    kg.tl.cascades(g)
    item = (g.items["size"] - 3000).abs().idxmin()  # the size the issue names (3,244 holders)
    assert 2000 <= g.items.loc[item, "size"] <= 5000
    ax = kg.pl.cascade(g, item)
    try:
        fig = ax.figure
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        boxes = [t.get_window_extent(r) for t in ax.kocgraph["labels"].placed]
        assert boxes
        title = ax.title.get_window_extent(r)
        for b in boxes:
            assert not b.overlaps(title) and b.y1 <= ax.bbox.y1 + 0.5
        for i, b in enumerate(boxes):
            assert not any(b.overlaps(o) for o in boxes[:i])
    finally:
        plt.close(ax.figure)


# ---------------------------------------------------------------- attribution
def test_attribution_people_are_those_of_kg_get_attribution(toy: kg.ShareGraph) -> None:
    ax = kg.pl.attribution(toy, n=4, key="attr_first_touch")
    try:
        want = kg.get.attribution(toy, n=4, key="attr_first_touch")
        assert ax.kocgraph["users"] == want["user"].tolist()
        np.testing.assert_allclose(ax.kocgraph["values"], want["value"])
        widths = [p.get_width() for p in ax.patches]
        np.testing.assert_allclose(widths, want["value"])
        # first touch credits brand 199 and staff_li 59 (they start the chains): marked as staff
        rows = [t.get_text() for t in ax.get_yticklabels()]
        assert rows[0] == "brand  (staff)" and "staff_li  (staff)" in rows
    finally:
        plt.close(ax.figure)


def test_attribution_small_shares_read_below_one_percent() -> None:
    from kocgraph.pl._attribution import _share

    # 279 of 67,819 is 0.41%: "<1%", not "0%"; so is 0.5%, which Python's format rounds to "0%" (to even);
    # zero stays "0%", and larger shares round as usual
    assert [_share(279 / 67_819), _share(0.005), _share(0.0), _share(0.134)] == ["<1%", "<1%", "0%", "13%"]


def test_attribution_models_split_all_the_value(toy: kg.ShareGraph) -> None:
    keys = [f"attr_{m}" for m in MODELS]
    ax = kg.pl.attribution(toy, key=keys, n=3)
    try:
        shares = ax.kocgraph["shares"]
        np.testing.assert_allclose(shares.sum(axis=1), 1.0)
        # an independent count: credit per group from g.nodes, and the unattributed value from g.meta
        top3 = kg.get.kocs(toy, n=3)["user"]
        for key, (_, row) in zip(keys, shares.iterrows(), strict=True):
            v = toy.nodes[f"{key}_value"].fillna(0.0)
            total = toy.meta[key]["total_value"]
            assert row["staff accounts"] == pytest.approx(v[STAFF].sum() / total)
            assert row["top 3 KOCs"] == pytest.approx(v[top3].sum() / total)
            assert row["nobody (no forwarder before the buyer)"] == pytest.approx(
                toy.meta[key]["unattributed_value"] / total)
        assert shares.index.tolist() == [kg.pl._attribution.MODEL_WORDS[m] for m in MODELS]
    finally:
        plt.close(ax.figure)


def test_attribution_errors(toy: kg.ShareGraph) -> None:
    before = plt.get_fignums()
    with pytest.raises(NotComputedError, match=r"Run kg\.tl\.attribution"):
        kg.pl.attribution(kg.datasets.toy())
    with pytest.raises(NotComputedError, match="'nope'"):
        kg.pl.attribution(toy, key=["attr_linear", "nope"])
    with pytest.raises(InvalidParameterError, match="key="):
        kg.pl.attribution(toy, key=3)
    with pytest.raises(InvalidParameterError, match="n=0"):
        kg.pl.attribution(toy, n=0)
    assert plt.get_fignums() == before
