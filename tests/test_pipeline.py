"""The nomination pipeline's description (kocgraph.pipeline): each stage runs its tool under the key it
declares, and its results are found through the run's record, not by column name."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

import kocgraph as kg
from kocgraph._core.tools import DEFAULT_KEYS, output_column
from kocgraph.exceptions import InvalidParameterError, NotComputedError
from kocgraph.pipeline import NOMINATION, MemoryEngine, Stage, StageOptions, column, result, run_stages, stage

STAFF = ["brand", "staff_li"]


@pytest.fixture(scope="module")
def ran() -> kg.ShareGraph:
    g = kg.datasets.toy()
    run_stages(g, StageOptions(staff=STAFF), progress=False)
    return g


def test_every_stage_names_a_real_tool_and_its_default_key() -> None:
    # the pipeline runs each tool under that tool's own default key, so a user's kg.get.* call with
    # no key= finds what the job computed
    for s in NOMINATION:
        mod, name = s.tool.split(".")
        fn = getattr(getattr(kg, mod), name)
        assert inspect.signature(fn).parameters["key_added"].default == s.key == DEFAULT_KEYS[s.tool]


def test_stage_lookup_and_its_error() -> None:
    assert stage("kocs") is NOMINATION[-1]
    with pytest.raises(InvalidParameterError, match=r"no stage 'koc'.*'cascades', 'pagerank'"):
        stage("koc")


def test_column_and_result_known_answer(ran: kg.ShareGraph) -> None:
    # on the defaults the tools' documented column names: koc_rank, pagerank, reach, items' depth
    pd.testing.assert_series_equal(column(ran, "kocs", "rank"), ran.nodes["koc_rank"])
    pd.testing.assert_series_equal(column(ran, "pagerank"), ran.nodes["pagerank"])
    pd.testing.assert_series_equal(column(ran, "cascades", "reach"), ran.nodes["reach"])
    pd.testing.assert_series_equal(column(ran, "cascades", "depth", frame="items"), ran.items["depth"])
    assert result(ran, "communities") is ran.meta["community"]
    assert np.isclose(column(ran, "pagerank").sum(), 1.0)


def test_missing_stage_says_which_call_computes_it() -> None:
    g = kg.datasets.toy()
    with pytest.raises(NotComputedError, match=r"Run kg\.tl\.kocs\(g\) first"):
        result(g, "kocs")
    kg.tl.cascades(g)
    with pytest.raises(NotComputedError, match=r"'nope' output of kg\.tl\.cascades"):
        column(g, "cascades", "nope")


def test_output_column_follows_a_non_default_key() -> None:
    g = kg.datasets.toy()
    kg.tl.cascades(g, key_added="c2")
    kg.tl.pagerank(g, key_added="pr2")
    kg.tl.kocs(g, staff=STAFF, key_added="k2")
    assert output_column(g, "c2", "reach", tool="tl.cascades", where="t") == "c2_reach"
    assert output_column(g, "pr2", tool="tl.pagerank", where="t") == "pr2"
    assert output_column(g, "k2", "rank", tool="tl.kocs", where="t") == "k2_rank"
    with pytest.raises(NotComputedError, match=r"key_added='k3'"):
        output_column(g, "k3", "rank", tool="tl.kocs", where="t")


def test_an_engine_with_other_keys_is_followed_by_the_readers() -> None:
    # a stage declared under another key: the engine writes there and column() reads there
    moved = Stage("pagerank", "influence PageRank", "tl.pagerank", "pr_elsewhere")
    g = kg.datasets.toy()
    MemoryEngine().run(moved, g, StageOptions())
    assert "pr_elsewhere" in g.nodes.columns and "pagerank" not in g.nodes.columns
    assert output_column(g, moved.key, tool=moved.tool, where="t") == "pr_elsewhere"


def test_the_stage_order_changes_no_result() -> None:
    # NOMINATION runs coreness and communities first for the memory peak (pipeline.py); every stage
    # before kocs is independent of the others, so any order gives the same ranking and columns
    order = [s.name for s in NOMINATION]
    assert order[-1] == "kocs" and order.index("coreness") + 1 == order.index("communities")
    runs = []
    for stages in (NOMINATION, tuple(stage(n) for n in ("cascades", "pagerank", "coreness", "communities", "kocs"))):
        g = kg.datasets.synthetic(3000, 150, rng=11)
        run_stages(g, StageOptions(staff=["staff_000", "staff_002"]), stages=stages, progress=False)
        runs.append(g.nodes.sort_index(axis=1))
    pd.testing.assert_frame_equal(runs[0], runs[1])
