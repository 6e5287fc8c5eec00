"""The synthetic generator's planted truth, and the planted-koc sample's recovery figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kocgraph as kg
from kocgraph.datasets._synthetic import synthetic_frame
from kocgraph.exceptions import InvalidParameterError


def _precision(users: pd.Index, truth: set[str], k: int) -> float:
    return len(set(users[:k]) & truth) / k


def test_broadcasters_forward_a_lot_and_move_nobody() -> None:
    g = kg.datasets.synthetic(5_000, 400, n_planted=20, n_broadcasters=20, rng=3)
    kg.tl.cascades(g)
    truth = g.meta["synthetic"]
    b = [u for u in truth["broadcasters"] if u in g.nodes.index]
    p = [u for u in truth["planted"] if u in g.nodes.index]
    assert len(truth["broadcasters"]) == 20
    assert not set(truth["broadcasters"]) & (set(truth["planted"]) | set(truth["staff"]))
    nb, npl = g.nodes.loc[b], g.nodes.loc[p]
    # they send about as much as the planted users ...
    assert nb["direct_reach"].sum() > 0.25 * npl["direct_reach"].sum()
    # ... but their receivers do not pass things on (only same-second ties in the log can make a
    # receiver's first parent differ from the generator's), while a planted user's receivers do
    assert nb["resharers"].sum() <= 0.01 * nb["direct_reach"].sum()
    assert npl["resharers"].sum() >= 0.2 * npl["direct_reach"].sum()


def test_no_broadcasters_by_default_and_bad_counts_rejected() -> None:
    a, ta = synthetic_frame(1_000, 30, rng=1)
    b, tb = synthetic_frame(1_000, 30, n_broadcasters=0, rng=1)
    pd.testing.assert_frame_equal(a, b)
    assert ta["broadcasters"] == [] and ta["params"]["n_broadcasters"] == 0
    with pytest.raises(InvalidParameterError, match="n_staff \\+ n_planted \\+ n_broadcasters = 1000"):
        synthetic_frame(1_000, 30, n_staff=5, n_planted=20, n_broadcasters=975)


def test_no_staff_with_string_ids() -> None:
    # a log with no staff accounts: every id is a consumer's u-number (numpy's zfill refuses an empty array)
    df, truth = synthetic_frame(500, 10, n_staff=0, rng=3)
    assert truth["staff"] == []
    ids = pd.concat([df["source"], df["target"]])
    assert ids.str.fullmatch(r"u\d{3}").all()


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31), nb=st.integers(0, 15))
def test_same_seed_same_log_and_truth(seed: int, nb: int) -> None:
    a, ta = synthetic_frame(800, 20, n_planted=5, n_broadcasters=nb, rng=seed)
    b, tb = synthetic_frame(800, 20, n_planted=5, n_broadcasters=nb, rng=seed)
    pd.testing.assert_frame_equal(a, b)
    assert ta == tb and len(ta["broadcasters"]) == nb


def test_sample_cache_name_carries_seed_version_and_parameter_hash(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KOCGRAPH_CACHE", str(tmp_path))
    from kocgraph.datasets import _registry

    small = _registry.Sample("planted-koc", "test", {"n_users": 600, "n_items": 20, "n_planted": 5,
                                                     "n_broadcasters": 3, "rng": 7}, 0)
    monkeypatch.setitem(_registry.SAMPLES, "planted-koc", small)
    g1 = kg.datasets.load_sample("planted-koc")
    (f,) = tmp_path.glob("*.parquet")
    assert f.name.startswith(f"planted-koc-seed7-v{kg.__version__}-")
    g2 = kg.datasets.load_sample("planted-koc")  # read back from the cache: the same log
    pd.testing.assert_frame_equal(g1.events, g2.events)
    assert g2.meta["synthetic"]["broadcasters"] == g1.meta["synthetic"]["broadcasters"]
    # other parameters -> another file, never the stale one
    monkeypatch.setitem(_registry.SAMPLES, "planted-koc",
                        _registry.Sample("planted-koc", "test", {**small.params, "n_broadcasters": 4}, 0))
    kg.datasets.load_sample("planted-koc")
    assert len(list(tmp_path.glob("*.parquet"))) == 2


def test_planted_koc_recovered_better_than_out_degree_and_plain_pagerank() -> None:
    """Issue 7's acceptance figure: precision@50 of the 50 planted KOCs (measured: kocs 0.92,
    weighted out-degree 0.70, distinct out-degree 0.72, plain PageRank 0.14)."""
    g = kg.datasets.load_sample("planted-koc")
    truth = g.meta["synthetic"]
    planted, staff = set(truth["planted"]), truth["staff"]
    kg.tl.kocs(g, staff=staff)
    p_koc = _precision(pd.Index(kg.get.kocs(g, n=50)["user"]), planted, 50)
    kg.tl.strength(g)
    kg.tl.pagerank(g, direction="forward", key_added="pagerank_plain")
    consumers = g.nodes.drop(index=staff)
    p_out = _precision(consumers["strength_out"].sort_values(ascending=False, kind="stable").index, planted, 50)
    p_pr = _precision(consumers["pagerank_plain"].sort_values(ascending=False, kind="stable").index, planted, 50)
    assert p_koc > p_out and p_koc > p_pr
    assert np.isfinite([p_out, p_pr]).all()


@pytest.mark.xfail(strict=True, reason=(
    "issue 13: the fitted KOC score (the default since issue 13) recovers 44 of the 50 planted KOCs "
    "(0.88): it predicts future reach, and 5 of the 25 broadcasters reach many people directly, so the "
    "fit keeps weight on direct reach (it predicts future reach better than resharers alone on every inner "
    "cut). Target missed; see docs/benchmarks.md"))
def test_planted_koc_recovery_at_least_0_9() -> None:
    g = kg.datasets.load_sample("planted-koc")
    truth = g.meta["synthetic"]
    kg.tl.kocs(g, staff=truth["staff"])
    assert _precision(pd.Index(kg.get.kocs(g, n=50)["user"]), set(truth["planted"]), 50) >= 0.9
