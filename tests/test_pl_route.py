"""kg.pl.route: returns its Axes, respects ax=, leaves no stray figures, draws the routes it claims."""

from __future__ import annotations

import inspect
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.axes import Axes

import kocgraph as kg
from kocgraph.exceptions import InvalidParameterError, NodeNotFoundError, NotComputedError

STAFF = ["brand", "staff_li"]


@pytest.fixture(scope="module")
def toy() -> kg.ShareGraph:
    g = kg.datasets.toy()
    kg.tl.routes(g, sources=["brand"], targets=["carol", "mia", "judy", "brand", "staff_li"], k=3)
    return g


@pytest.fixture(autouse=True)
def _no_stray_figures() -> Any:
    before = plt.get_fignums()
    yield
    after = plt.get_fignums()
    plt.close("all")
    assert after == before, f"test left figures open: {sorted(set(after) - set(before))}"


def _route_lines(ax: Axes) -> list[Any]:
    return [ln for ln in ax.get_lines() if str(ln.get_gid() or "").startswith("kocgraph-route-")]


def _texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_returns_axes_on_exactly_one_new_figure(toy: kg.ShareGraph) -> None:
    before = set(plt.get_fignums())
    ax = kg.pl.route(toy, "carol")
    try:
        assert isinstance(ax, Axes)
        assert set(plt.get_fignums()) - before == {ax.figure.number}
    finally:
        plt.close(ax.figure)


def test_draws_into_given_axes_without_new_figure(toy: kg.ShareGraph) -> None:
    fig, (left, right) = plt.subplots(1, 2)
    try:
        n = len(plt.get_fignums())
        ax = kg.pl.route(toy, "mia", ax=right)
        assert ax is right and len(plt.get_fignums()) == n
        assert not _route_lines(left)
        assert len(_route_lines(right)) == 2
    finally:
        plt.close(fig)


def test_signature() -> None:
    params = inspect.signature(kg.pl.route).parameters
    assert list(params)[:2] == ["g", "user"]
    assert params["ax"].kind is inspect.Parameter.KEYWORD_ONLY and params["ax"].default is None
    assert "route" in kg.pl.__all__


@pytest.mark.parametrize("user", ["carol", "mia", "judy"])
def test_one_line_per_route_and_the_path_users_labelled(toy: kg.ShareGraph, user: str) -> None:
    r = kg.get.routes(toy, user)
    ax = kg.pl.route(toy, user)
    try:
        lines = _route_lines(ax)
        assert len(lines) == len(r) == ax.kocgraph["n_routes"]
        # every lane has one vertex per user on its path, in order, and ends at the target's point
        ends = {tuple(ln.get_xydata()[-1]) for ln in lines}
        assert len(ends) == 1
        for ln, path in zip(lines, r["path_users"], strict=True):
            assert len(ln.get_xydata()) == len(path)
        assert ax.kocgraph["paths"] == [list(p) for p in r["path_users"]]
        assert ax.kocgraph["introducers"] == r["introducer"].tolist()
        # the labels written are exactly the users on the paths (the target once)
        on_paths = {u for p in r["path_users"] for u in p}
        texts = set(_texts(ax))
        assert on_paths <= texts
        assert set(ax.kocgraph["labels"]) == on_paths
        # each lane says its rank and strength
        for rank, s in zip(r["rank"], r["strength"], strict=True):
            assert f"#{rank}  {s:.1%}" in texts
    finally:
        plt.close(ax.figure)


def test_edge_labels_are_tie_strengths(toy: kg.ShareGraph) -> None:
    # carol from brand (weighted cascade): brand->bob 1, bob->carol 0.2, bob->oscar 1, oscar->carol 0.2,
    # brand->alice 0.25, alice->carol 0.6
    ax = kg.pl.route(toy, "carol")
    try:
        el = ax.kocgraph["edge_labels"]
        assert el == pytest.approx({("brand", "bob"): 1.0, ("bob", "carol"): 0.2, ("bob", "oscar"): 1.0,
                                    ("oscar", "carol"): 0.2, ("brand", "alice"): 0.25, ("alice", "carol"): 0.6})
        texts = _texts(ax)
        for v in ("1.00", "0.20", "0.25", "0.60"):
            assert v in texts
        # the product of a lane's edge labels is its strength
        for path, s in zip(ax.kocgraph["paths"], ax.kocgraph["strengths"], strict=True):
            prod = 1.0
            for a, b in zip(path[:-1], path[1:], strict=True):
                prod *= el[(a, b)]
            assert prod == pytest.approx(s)
    finally:
        plt.close(ax.figure)
    ax = kg.pl.route(toy, "carol", edge_labels=False)
    try:
        assert ax.kocgraph["edge_labels"] == {} and "0.60" not in _texts(ax)
    finally:
        plt.close(ax.figure)


def test_source_as_target_and_unreachable_target(toy: kg.ShareGraph) -> None:
    ax = kg.pl.route(toy, "brand")  # a source: one 0-hop route
    try:
        assert ax.kocgraph["n_routes"] == 1 and ax.kocgraph["paths"] == [["brand"]]
    finally:
        plt.close(ax.figure)
    ax = kg.pl.route(toy, "staff_li")  # nobody forwards to staff_li: no route, and the plot says why
    try:
        assert ax.kocgraph["n_routes"] == 0 and not _route_lines(ax)
        assert ax.kocgraph["unreachable"] == "no_in_edges"
        assert "No route to staff_li" in ax.get_title()
        assert any("no in edges" in t for t in _texts(ax))
    finally:
        plt.close(ax.figure)


def test_renders_to_png(toy: kg.ShareGraph, tmp_path: Any) -> None:
    ax = kg.pl.route(toy, "mia")
    try:
        ax.figure.savefig(tmp_path / "route.png")
        assert (tmp_path / "route.png").stat().st_size > 1000
    finally:
        plt.close(ax.figure)


def test_errors(toy: kg.ShareGraph) -> None:
    before = plt.get_fignums()
    fresh = kg.datasets.toy()
    with pytest.raises(NotComputedError, match=r"Run kg\.tl\.routes"):
        kg.pl.route(fresh, "carol")
    with pytest.raises(NodeNotFoundError):
        kg.pl.route(toy, "no_such_user")
    with pytest.raises(NotComputedError, match=r"'ivan' was not a target of kg\.tl\.routes"):
        kg.pl.route(toy, "ivan")
    with pytest.raises(NotComputedError, match="key 'other'"):
        kg.pl.route(toy, "carol", key="other")
    with pytest.raises(InvalidParameterError, match="not a matplotlib Axes"):
        kg.pl.route(toy, "carol", ax="left")
    assert plt.get_fignums() == before  # errors open no figure
