"""kg.pl: every plot returns its Axes, respects ax=, leaves no stray figures, and draws what it claims."""

from __future__ import annotations

import base64
import inspect
import math
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402

import kocgraph as kg  # noqa: E402
from kocgraph.exceptions import InvalidParameterError, NodeNotFoundError, NotComputedError  # noqa: E402

STAFF = ["brand", "staff_li"]


@pytest.fixture(scope="module")
def toy() -> kg.ShareGraph:
    g = kg.datasets.toy()
    kg.tl.cascades(g)
    kg.tl.communities(g, rng=0)
    kg.tl.kocs(g, staff=STAFF)
    return g


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
}


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


# ---------------------------------------------------------------- network
def test_network_highlight_marks_exactly_those_nodes(toy: kg.ShareGraph) -> None:
    ax = kg.pl.network(toy, highlight=["alice", "heidi"], rng=0)
    try:
        info = ax.kocgraph
        assert sorted(info["highlight"]) == ["alice", "heidi"]
        (ring,) = _by_gid(ax, "kocgraph-highlight")
        where = [info["nodes"].index(u) for u in info["highlight"]]
        np.testing.assert_allclose(ring.get_offsets(), info["pos"][where])
        assert len(ring.get_offsets()) == 2
    finally:
        plt.close(ax.figure)


def test_network_without_highlight_draws_no_ring(toy: kg.ShareGraph) -> None:
    ax = kg.pl.network(toy, highlight=None)
    try:
        assert _by_gid(ax, "kocgraph-highlight") == []
        assert ax.kocgraph["highlight"] == []
        # the toy graph fits: every user and edge drawn, and the caption says so
        assert sorted(ax.kocgraph["nodes"]) == sorted(toy.nodes.index)
        assert ax.kocgraph["caption"] == "all 17 users and 24 edges"
        (nodes,) = _by_gid(ax, "kocgraph-nodes")
        assert len(nodes.get_offsets()) == 17
        (edges,) = _by_gid(ax, "kocgraph-edges")
        assert len(edges.get_segments()) == 24
    finally:
        plt.close(ax.figure)


def test_network_backbone_is_top_users_and_edges_among_them(syn: kg.ShareGraph) -> None:
    top = kg.get.kocs(syn, n=10)["user"]
    low = syn.nodes.index[syn.nodes["reach"].to_numpy() == 0][:3].tolist()  # never in a top-300 backbone
    ax = kg.pl.network(syn, highlight=list(top) + low, max_nodes=300, rng=0)
    try:
        info = ax.kocgraph
        drawn = info["nodes"]
        assert len(drawn) <= 300
        assert set(info["highlight"]) == set(top) | set(low)
        assert set(info["highlight"]) <= set(drawn)
        (ring,) = _by_gid(ax, "kocgraph-highlight")
        assert len(ring.get_offsets()) == 13
        # the rest of the backbone: users with reach at least the 300th largest (minus the highlighted slots)
        reach = syn.nodes["reach"]
        others = [u for u in drawn if u not in set(info["highlight"])]
        cut = np.sort(reach.to_numpy())[::-1][300 - 13 - 1]
        assert (reach.loc[others] >= cut).all()
        # edges: exactly those of g.edges with both ends drawn
        codes = syn.user_codes(drawn)
        inside = np.isin(syn.codes.edge_src, codes) & np.isin(syn.codes.edge_tgt, codes)
        np.testing.assert_array_equal(np.sort(info["edges"]), np.flatnonzero(inside))
        (edges,) = _by_gid(ax, "kocgraph-edges")
        assert len(edges.get_segments()) == inside.sum() == info["n_edges"]
        assert info["caption"].startswith(f"showing {len(drawn):,} of {syn.n_users:,} users")
        assert f"{inside.sum():,} of {syn.n_edges:,} edges" in info["caption"]
        assert any(info["caption"] == t.get_text() for t in ax.texts)
    finally:
        plt.close(ax.figure)


def test_network_same_rng_same_layout(syn: kg.ShareGraph) -> None:
    axes = [kg.pl.network(syn, max_nodes=200, rng=r) for r in (3, 3, 4)]
    try:
        a, b, c = (ax.kocgraph for ax in axes)
        assert a["nodes"] == b["nodes"] == c["nodes"]
        np.testing.assert_array_equal(a["pos"], b["pos"])
        assert not np.allclose(a["pos"], c["pos"])
    finally:
        for ax in axes:
            plt.close(ax.figure)


@pytest.mark.parametrize("layout", ["fr", "drl", "kk"])
def test_network_layouts(toy: kg.ShareGraph, layout: str) -> None:
    ax = kg.pl.network(toy, layout=layout, rng=1)
    try:
        assert ax.kocgraph["layout"] == layout
        assert np.isfinite(ax.kocgraph["pos"]).all() and ax.kocgraph["pos"].shape == (17, 2)
    finally:
        plt.close(ax.figure)


def test_network_colour_and_size_options(toy: kg.ShareGraph) -> None:
    ax = kg.pl.network(toy, color="koc_score", size="direct_reach", labels=False)
    try:
        assert len(ax.figure.axes) == 2  # numeric colour: a colorbar
        assert not ax.texts[:-1]  # labels=False: only the caption
    finally:
        plt.close(ax.figure)
    ax = kg.pl.network(toy, color=None, size=None, labels=3)
    try:
        (nodes,) = _by_gid(ax, "kocgraph-nodes")
        assert len(set(nodes.get_sizes())) == 1  # size=None: one size
        assert ax.get_legend() is None
    finally:
        plt.close(ax.figure)
    ax = kg.pl.network(toy, color="koc_excluded", highlight=kg.get.kocs(toy, n=2))  # categorical; a DataFrame
    try:
        assert sorted(ax.kocgraph["highlight"]) == ["alice", "bob"]
        assert ax.get_legend() is not None
    finally:
        plt.close(ax.figure)


def test_network_errors(toy: kg.ShareGraph) -> None:
    raw = kg.datasets.toy()
    before = plt.get_fignums()
    with pytest.raises(NotComputedError, match=r"kg\.tl\.cascades\(g\) first"):
        kg.pl.network(raw)
    with pytest.raises(NotComputedError, match=r"kg\.tl\.communities\(g\) first"):
        kg.pl.network(raw, size=None)
    with pytest.raises(InvalidParameterError, match="'rech' is not a column of g.nodes.*Did you mean size='reach'"):
        kg.pl.network(toy, size="rech")
    with pytest.raises(InvalidParameterError, match="must be a numeric column"):
        kg.pl.network(toy, size="koc_excluded")
    with pytest.raises(NodeNotFoundError, match="nobody"):
        kg.pl.network(toy, highlight=["alice", "nobody"])
    with pytest.raises(InvalidParameterError, match="max_nodes"):
        kg.pl.network(toy, max_nodes=0)
    with pytest.raises(InvalidParameterError, match="max_nodes"):
        kg.pl.network(toy, max_nodes=1, highlight=["alice", "bob"])
    with pytest.raises(InvalidParameterError, match="layout"):
        kg.pl.network(toy, layout="circle")
    with pytest.raises(InvalidParameterError, match="labels"):
        kg.pl.network(toy, labels="some")
    with pytest.raises(InvalidParameterError, match="ShareGraph"):
        kg.pl.network(toy.nodes)
    assert plt.get_fignums() == before  # errors come before any figure is made


def _big_log_network() -> tuple[kg.ShareGraph, Axes]:
    g = kg.datasets.synthetic(400_000, 20_000, rng=0)  # 1.01M events, 232k users
    assert g.n_events >= 1_000_000
    kg.tl.cascades(g)
    return g, kg.pl.network(g, color=None, max_nodes=2000, highlight=g.nodes.index[:5], rng=0)


def test_network_on_a_million_events_draws_a_backbone() -> None:  # about 2.5 s: log, cascades, map
    g, ax = _big_log_network()
    try:
        drawn = ax.kocgraph["nodes"]
        assert 0 < len(drawn) <= 2000
        (nodes,) = _by_gid(ax, "kocgraph-nodes")
        assert len(nodes.get_offsets()) == len(drawn)
        assert ax.kocgraph["n_edges"] < g.n_edges
        assert f"of {g.n_users:,} users" in ax.kocgraph["caption"]
    finally:
        plt.close(ax.figure)


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
        text = f"top {100 * top:g}% of users ({k:,} users) → {pct} of reach"
        assert ax.kocgraph["text"] == text
        assert text in [t.get_text() for t in ax.texts]
        # the curve ends at (100%, 100%) and passes through the annotated point
        (line,) = _by_gid(ax, "kocgraph-lorenz")
        assert line.get_xdata()[-1] == pytest.approx(1.0) and line.get_ydata()[-1] == pytest.approx(1.0)
    finally:
        plt.close(ax.figure)


def test_concentration_on_toy_by_hand(toy: kg.ShareGraph) -> None:
    # 17 users -> top 1% is 1 user: alice, reach 16 of a total of 55 -> 29%
    assert int(toy.nodes["reach"].sum()) == 55
    ax = kg.pl.concentration(toy)
    try:
        assert ax.kocgraph["share"] == pytest.approx(16 / 55)
        assert ax.kocgraph["text"] == "top 1% of users (1 user) → 29% of reach"
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
