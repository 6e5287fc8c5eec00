"""kg.pl.network: the backbone it draws (staff, top KOCs, their best routes), its marks, and names that
never overlap (checked from the renderer's window extents, the way a reader's eye would)."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes

import kocgraph as kg
from kocgraph.exceptions import InvalidParameterError, NodeNotFoundError, NotComputedError
from kocgraph.pl._backbone import EDGES_PER_NODE

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
    before = plt.get_fignums()
    yield
    after = plt.get_fignums()
    plt.close("all")
    assert after == before, f"test left figures open: {sorted(set(after) - set(before))}"


def _by_gid(ax: Axes, gid: str) -> list[Any]:
    return [c for c in ax.get_children() if c.get_gid() == gid]


def _label_boxes(ax: Axes) -> tuple[list[Any], np.ndarray]:
    """Draw the figure, then the names drawn and their boxes ``(x0, y0, x1, y1)`` in display pixels."""
    fig = ax.figure
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    texts = ax.kocgraph["labels"].placed
    boxes = np.array([[b.x0, b.y0, b.x1, b.y1] for b in (t.get_window_extent(r) for t in texts)]).reshape(-1, 4)
    return texts, boxes


def _overlapping_pairs(boxes: np.ndarray) -> list[tuple[int, int]]:
    b = boxes
    ov = ((b[:, None, 0] < b[None, :, 2]) & (b[:, None, 2] > b[None, :, 0])
          & (b[:, None, 1] < b[None, :, 3]) & (b[:, None, 3] > b[None, :, 1]))
    np.fill_diagonal(ov, False)
    return [(int(i), int(j)) for i, j in zip(*np.nonzero(np.triu(ov)), strict=True)]


def _assert_readable(ax: Axes, *, max_labels: int = 200) -> list[str]:
    """At most ``max_labels`` names, no two overlapping, all inside the Axes; returns the names."""
    texts, boxes = _label_boxes(ax)
    assert 0 < len(texts) <= max_labels
    assert _overlapping_pairs(boxes) == [], [(texts[i].get_text(), texts[j].get_text())
                                             for i, j in _overlapping_pairs(boxes)]
    frame = ax.bbox
    assert (boxes[:, 0] >= frame.x0 - 0.5).all() and (boxes[:, 2] <= frame.x1 + 0.5).all()
    assert (boxes[:, 1] >= frame.y0 - 0.5).all() and (boxes[:, 3] <= frame.y1 + 0.5).all()
    return [t.get_text() for t in texts]


# ---------------------------------------------------------------- draws with whatever has been computed
def test_readme_tour_draws_without_communities() -> None:
    """The README tour: KOCs computed, communities never: the map draws in one colour."""
    g = kg.datasets.toy()
    kg.tl.kocs(g, staff=STAFF)
    assert "community" not in g.nodes.columns
    ax = kg.pl.network(g, highlight=kg.get.kocs(g, n=20))
    try:
        assert sorted(ax.kocgraph["highlight"]) == sorted(kg.get.kocs(g, n=20)["user"])
        (nodes,) = _by_gid(ax, "kocgraph-nodes")
        assert len({tuple(c) for c in nodes.get_facecolors()}) == 1  # one colour: no communities
        assert "colour" not in " ".join(t.get_text() for t in ax.get_legend().get_texts())
    finally:
        plt.close(ax.figure)


def test_a_raw_graph_draws_and_asked_for_results_are_required() -> None:
    raw = kg.datasets.toy()
    ax = kg.pl.network(raw)  # nothing computed: sized by forwards, one colour, nobody marked
    try:
        assert ax.kocgraph["highlight"] == [] and ax.kocgraph["staff"] == []
        assert ax.kocgraph["caption"] == "all 17 people and 24 links"
    finally:
        plt.close(ax.figure)
    before = plt.get_fignums()
    with pytest.raises(NotComputedError, match=r"kg\.tl\.cascades\(g\) first"):
        kg.pl.network(raw, size="reach")
    with pytest.raises(NotComputedError, match=r"kg\.tl\.communities\(g\) first"):
        kg.pl.network(raw, color="community")
    assert plt.get_fignums() == before


# ---------------------------------------------------------------- marks
def test_highlight_marks_exactly_those_people(toy: kg.ShareGraph) -> None:
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


def test_default_marks_the_top_kocs_and_the_staff(toy: kg.ShareGraph) -> None:
    ax = kg.pl.network(toy, n_kocs=5)
    try:
        info = ax.kocgraph
        assert info["highlight"] == kg.get.kocs(toy, n=5)["user"].tolist()
        assert info["staff"] == STAFF  # those kg.tl.kocs excluded as staff
        (squares,) = _by_gid(ax, "kocgraph-staff")
        where = [info["nodes"].index(u) for u in STAFF]
        np.testing.assert_allclose(squares.get_offsets(), info["pos"][where])
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "staff account" in legend and "top KOC" in legend
    finally:
        plt.close(ax.figure)


def test_empty_highlight_and_staff_draw_no_marks(toy: kg.ShareGraph) -> None:
    ax = kg.pl.network(toy, highlight=[], staff=[])
    try:
        assert _by_gid(ax, "kocgraph-highlight") == [] and _by_gid(ax, "kocgraph-staff") == []
        assert ax.kocgraph["highlight"] == [] and ax.kocgraph["routes"] == []
        # the toy graph fits: every person and link drawn, and the caption says so
        assert sorted(ax.kocgraph["nodes"]) == sorted(toy.nodes.index)
        assert ax.kocgraph["caption"] == "all 17 people and 24 links"
        (nodes,) = _by_gid(ax, "kocgraph-nodes")
        assert len(nodes.get_offsets()) == 17
        (edges,) = _by_gid(ax, "kocgraph-edges")
        assert len(edges.get_segments()) == 24
    finally:
        plt.close(ax.figure)


def test_best_routes_by_hand_on_the_toy(toy: kg.ShareGraph) -> None:
    # weighted cascade on the toy (see tests/test_pl_route.py): brand->bob 1, bob->carol 0.2, brand->alice
    # 0.25, alice->carol 0.6; best to carol: brand->bob->carol (0.2) beats brand->alice->carol (0.15);
    # bob is carol's introducer; alice is reached directly from brand (0.25)
    ax = kg.pl.network(toy, highlight=["carol", "alice"])
    try:
        info = ax.kocgraph
        assert info["routes"] == [["brand", "bob", "carol"], ["brand", "alice"]]
        assert info["introducers"] == ["bob"]
        (ring,) = _by_gid(ax, "kocgraph-introducers")
        np.testing.assert_allclose(ring.get_offsets(), info["pos"][[info["nodes"].index("bob")]])
        (routes,) = _by_gid(ax, "kocgraph-routes")
        pos = dict(zip(info["nodes"], map(tuple, info["pos"])))
        got = {(tuple(a), tuple(b)) for a, b in routes.get_segments()}
        assert got == {(pos[a], pos[b]) for a, b in [("brand", "bob"), ("bob", "carol"), ("brand", "alice")]}
    finally:
        plt.close(ax.figure)


def test_on_the_fly_routes_match_kg_tl_routes(syn: kg.ShareGraph) -> None:
    """The map's routes, found without kg.tl.routes, are those kg.tl.routes finds (same tie strengths)."""
    h = syn.copy()
    kg.tl.tie_strength(h)
    staff = h.meta["synthetic"]["staff"]
    top = kg.get.kocs(h, n=12)["user"].tolist()
    ax = kg.pl.network(h, highlight=top, staff=staff, max_nodes=120)
    kg.tl.routes(h, sources=staff, targets=top, k=1)
    ax2 = kg.pl.network(h, highlight=top, staff=staff, max_nodes=120)
    try:
        assert ax.kocgraph["routes"] == ax2.kocgraph["routes"]
        by_target = {p[-1]: p for p in ax.kocgraph["routes"]}
        for u in top:
            r = kg.get.routes(h, u)
            if len(r):
                assert by_target[u] == list(r["path_users"].iloc[0])
    finally:
        plt.close(ax.figure)
        plt.close(ax2.figure)


# ---------------------------------------------------------------- the backbone
def test_backbone_holds_staff_kocs_and_routes_and_their_strongest_links(syn: kg.ShareGraph) -> None:
    staff = syn.meta["synthetic"]["staff"]
    ax = kg.pl.network(syn, max_nodes=120, rng=0)
    try:
        info = ax.kocgraph
        drawn = set(info["nodes"])
        assert len(drawn) <= 120
        assert info["highlight"] == kg.get.kocs(syn, n=20)["user"].tolist()
        assert set(info["staff"]) == set(staff)
        assert set(info["highlight"]) | set(info["staff"]) <= drawn
        assert info["routes"], "the staff reach some KOCs"
        for path in info["routes"]:
            assert path[0] in set(staff) and path[-1] in set(info["highlight"]) and set(path) <= drawn
            if len(path) >= 3 and path[-2] not in set(info["highlight"]) | set(staff):
                assert path[-2] in info["introducers"]
        # links: inside the backbone, every route link among them, at most a few per person
        codes = syn.user_codes(info["nodes"])
        inside = np.flatnonzero(np.isin(syn.codes.edge_src, codes) & np.isin(syn.codes.edge_tgt, codes))
        assert set(info["edges"].tolist()) <= set(inside.tolist())
        ids = syn.nodes.index
        drawn_pairs = {(ids[syn.codes.edge_src[e]], ids[syn.codes.edge_tgt[e]]) for e in info["edges"]}
        assert {(a, b) for p in info["routes"] for a, b in zip(p[:-1], p[1:])} <= drawn_pairs
        n_route = sum(len(p) - 1 for p in info["routes"])
        assert info["n_edges"] <= EDGES_PER_NODE * len(drawn) + n_route
        # the strongest link inside the backbone is always drawn
        fw = syn.edges["n_forwards"].to_numpy()
        assert inside[np.argmax(fw[inside])] in set(info["edges"].tolist())
        assert info["caption"].startswith(f"showing {len(drawn):,} of {syn.n_users:,} people")
    finally:
        plt.close(ax.figure)


def test_context_people_are_the_largest_linked_to_the_marked(syn: kg.ShareGraph) -> None:
    top = kg.get.kocs(syn, n=10)["user"].tolist()
    low = syn.nodes.index[syn.nodes["reach"].to_numpy() == 0][:3].tolist()
    ax = kg.pl.network(syn, highlight=top + low, staff=[], max_nodes=300, rng=0)
    try:
        info = ax.kocgraph
        drawn, marked = info["nodes"], set(top + low)
        assert set(info["highlight"]) == marked and marked <= set(drawn)
        (ring,) = _by_gid(ax, "kocgraph-highlight")
        assert len(ring.get_offsets()) == 13
        # the others: the largest reach among the people linked to the marked ones, either direction
        c = syn.codes
        m = np.zeros(syn.n_users, dtype=bool)
        m[syn.user_codes(sorted(marked))] = True
        linked = np.zeros(syn.n_users, dtype=bool)
        linked[c.edge_tgt[m[c.edge_src]]] = True
        linked[c.edge_src[m[c.edge_tgt]]] = True
        linked[m] = False
        reach = syn.nodes["reach"].to_numpy()
        others = syn.user_codes([u for u in drawn if u not in marked])
        assert linked[others].all()
        room = 300 - 13
        cut = np.sort(reach[linked])[::-1][min(room, linked.sum()) - 1]
        assert (reach[others] >= cut).all() and len(others) == min(room, int(linked.sum()))
    finally:
        plt.close(ax.figure)


def test_nobody_to_anchor_gives_the_largest_by_reach(syn: kg.ShareGraph) -> None:
    ax = kg.pl.network(syn, highlight=[], staff=[], max_nodes=200, rng=0)
    try:
        drawn = ax.kocgraph["nodes"]
        reach = syn.nodes["reach"]
        cut = np.sort(reach.to_numpy())[::-1][199]
        assert len(drawn) <= 200 and (reach.loc[drawn] >= cut).all()
    finally:
        plt.close(ax.figure)


def test_same_rng_same_layout(syn: kg.ShareGraph) -> None:
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
def test_layouts(toy: kg.ShareGraph, layout: str) -> None:
    ax = kg.pl.network(toy, layout=layout, rng=1)
    try:
        assert ax.kocgraph["layout"] == layout
        assert np.isfinite(ax.kocgraph["pos"]).all() and ax.kocgraph["pos"].shape == (17, 2)
    finally:
        plt.close(ax.figure)


def test_colour_and_size_options(toy: kg.ShareGraph) -> None:
    ax = kg.pl.network(toy, color="koc_score", size="direct_reach", labels=False)
    try:
        assert len(ax.figure.axes) == 2  # numeric colour: a colour scale
        assert not ax.texts[:-1]  # labels=False: only the caption
        assert ax.kocgraph["labels"].candidates == []
    finally:
        plt.close(ax.figure)
    ax = kg.pl.network(toy, color=None, size=None, labels=3)
    try:
        (nodes,) = _by_gid(ax, "kocgraph-nodes")
        assert len(set(nodes.get_sizes())) == 1  # size=None: one size
        legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
        assert "dot size" not in legend and "colour" not in legend
    finally:
        plt.close(ax.figure)
    ax = kg.pl.network(toy, color="koc_excluded", highlight=kg.get.kocs(toy, n=2))  # categorical; a DataFrame
    try:
        assert sorted(ax.kocgraph["highlight"]) == ["alice", "bob"]
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "colour: koc_excluded" in legend and "top KOC" in legend  # the top 2 of the ranking
    finally:
        plt.close(ax.figure)
    ax = kg.pl.network(toy, highlight=["heidi"])  # not the top of the ranking: "marked person"
    try:
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "marked person" in legend and "top KOC" not in legend
    finally:
        plt.close(ax.figure)


def test_size_legend_matches_the_dots(syn: kg.ShareGraph) -> None:
    ax = kg.pl.network(syn, max_nodes=100)
    try:
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        handles = ax.get_legend().legend_handles
        i = texts.index("dot size: reach (people)")
        (nodes,) = _by_gid(ax, "kocgraph-nodes")
        reach = syn.nodes.loc[ax.kocgraph["nodes"], "reach"].to_numpy(float)
        staff = np.isin(ax.kocgraph["nodes"], ax.kocgraph["staff"])
        order = np.argsort(-np.where(staff, -1, reach), kind="stable")  # the dots are drawn biggest first
        area = dict(zip(np.array(ax.kocgraph["nodes"])[order], nodes.get_sizes()))
        for t, h in zip(texts[i + 1: i + 4], handles[i + 1: i + 4]):
            value = float(t.replace(",", ""))
            # a dot of exactly that reach would have the legend marker's area (markersize is a diameter)
            vmax = reach[~staff].max()
            assert h.get_markersize() ** 2 == pytest.approx(8.0 + 400.0 * np.sqrt(value / vmax))
        assert max(area[u] for u in np.array(ax.kocgraph["nodes"])[~staff]) == pytest.approx(408.0)
    finally:
        plt.close(ax.figure)


def test_errors(toy: kg.ShareGraph) -> None:
    before = plt.get_fignums()
    with pytest.raises(InvalidParameterError, match="'rech' is not a column of g.nodes.*Did you mean size='reach'"):
        kg.pl.network(toy, size="rech")
    with pytest.raises(InvalidParameterError, match="must be a numeric column"):
        kg.pl.network(toy, size="koc_excluded")
    with pytest.raises(NodeNotFoundError, match="nobody"):
        kg.pl.network(toy, highlight=["alice", "nobody"])
    with pytest.raises(NodeNotFoundError, match="nobody"):
        kg.pl.network(toy, staff=["nobody"])
    with pytest.raises(InvalidParameterError, match="max_nodes"):
        kg.pl.network(toy, max_nodes=0)
    with pytest.raises(InvalidParameterError, match="max_nodes"):
        kg.pl.network(toy, max_nodes=1, highlight=["alice", "bob"])
    with pytest.raises(InvalidParameterError, match="n_kocs"):
        kg.pl.network(toy, n_kocs=-1)
    with pytest.raises(InvalidParameterError, match="layout"):
        kg.pl.network(toy, layout="circle")
    with pytest.raises(InvalidParameterError, match="labels"):
        kg.pl.network(toy, labels="some")
    with pytest.raises(InvalidParameterError, match="ShareGraph"):
        kg.pl.network(toy.nodes)
    assert plt.get_fignums() == before  # errors come before any figure is made


# ---------------------------------------------------------------- names that never overlap
def test_names_never_overlap_and_the_important_ones_come_first(syn: kg.ShareGraph) -> None:
    ax = kg.pl.network(syn, labels=True, max_nodes=150, rng=0)
    try:
        names = _assert_readable(ax)
        layer = ax.kocgraph["labels"]
        assert len(layer.candidates) > len(names)  # labels=True on 150 people: some did not fit, left out
        first = [t.get_text() for t in layer.candidates[:len(ax.kocgraph["staff"])]]
        assert first == [str(u) for u in ax.kocgraph["staff"]]  # staff first, then the KOCs
        assert set(ax.kocgraph["staff"]) <= set(names)
    finally:
        plt.close(ax.figure)


def test_names_stay_apart_after_resizing_and_at_any_dpi(syn: kg.ShareGraph) -> None:
    ax = kg.pl.network(syn, labels=True, max_nodes=150, rng=0)
    try:
        ax.figure.set_size_inches(6, 5)  # names are placed at draw time, for the size drawn
        _assert_readable(ax)
        ax.figure.set_dpi(150)
        _assert_readable(ax)
    finally:
        plt.close(ax.figure)


def test_names_are_in_the_saved_png_and_the_tight_box(syn: kg.ShareGraph, tmp_path: Any) -> None:
    ax = kg.pl.network(syn, max_nodes=100)
    try:
        out = tmp_path / "map.png"
        ax.figure.savefig(out, dpi=60, bbox_inches="tight")
        assert out.stat().st_size > 10_000
        assert ax.kocgraph["labels"].placed  # drawn during savefig
    finally:
        plt.close(ax.figure)


def _readable_default_map(g: kg.ShareGraph) -> None:
    ax = kg.pl.network(g)
    try:
        info = ax.kocgraph
        names = _assert_readable(ax, max_labels=200)
        assert len(info["nodes"]) <= 200
        # every marked KOC and every staff account is named on the default map
        assert {str(u) for u in info["highlight"]} | {str(u) for u in info["staff"]} <= set(names)
    finally:
        plt.close(ax.figure)


def test_default_map_is_readable_on_a_synthetic_log(syn: kg.ShareGraph) -> None:
    _readable_default_map(syn)


@pytest.mark.slow
def test_default_map_is_readable_on_the_million_event_sample() -> None:  # about 10 s: load, kocs, map
    g = kg.datasets.load_sample("synthetic-1e6")
    kg.tl.kocs(g, staff=g.meta["dataset"]["staff"])
    kg.tl.communities(g, rng=0)
    _readable_default_map(g)


def test_a_million_events_draw_a_backbone() -> None:  # about 2.5 s: log, cascades, map
    g = kg.datasets.synthetic(400_000, 20_000, rng=0)  # 1.01M events, 232k users
    assert g.n_events >= 1_000_000
    kg.tl.cascades(g)
    ax = kg.pl.network(g, color=None, max_nodes=2000, highlight=g.nodes.index[:5], rng=0)
    try:
        drawn = ax.kocgraph["nodes"]
        assert 0 < len(drawn) <= 2000
        (nodes,) = _by_gid(ax, "kocgraph-nodes")
        assert len(nodes.get_offsets()) == len(drawn)
        assert ax.kocgraph["n_edges"] < g.n_edges
        assert f"of {g.n_users:,} people" in ax.kocgraph["caption"]
        _assert_readable(ax)
    finally:
        plt.close(ax.figure)
