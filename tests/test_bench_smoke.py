"""The benchmark smoke pass: every stage runs at ~1e4 events and reports sound figures.

Structure only (stages present, times positive, ratios finite, stages agree on what they computed);
never a wall-clock threshold. The second half proves the smoke check fails when a stage breaks.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import _common  # noqa: E402
import bench_ingest  # noqa: E402


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-cache")


@pytest.fixture(scope="module")
def smoke_result(cache: Path) -> tuple[dict[str, Any], list[str]]:
    return bench_ingest.smoke(cache_dir=str(cache))


def test_smoke_every_stage_present_and_sound(smoke_result: tuple[dict[str, Any], list[str]]) -> None:
    res, problems = smoke_result
    assert problems == []
    (size,) = res["sizes"]
    s = res["sizes"][size]
    assert 5_000 <= s["log"]["n_events"] <= 20_000
    assert set(s["stages"]) == {"floor", "kocgraph", "networkx"}
    for name, st in s["stages"].items():
        assert st["ok"], name
        times = {k: v for k, v in st["median"].items() if k.endswith("_s")}
        assert "total_s" in times and len(times) >= 3, name  # total + at least two sub-stages
        assert all(math.isfinite(v) and v > 0 for v in times.values()), name
        assert st["median"]["peak_rss_mib"] > 0
    assert set(s["ratios"]) == {"kocgraph/floor", "networkx/kocgraph"}
    assert all(math.isfinite(v) and v > 0 for v in s["ratios"].values())
    # the networkx pipeline computes the same cascades as kocgraph
    k, x = s["stages"]["kocgraph"]["median"], s["stages"]["networkx"]["median"]
    assert (k["reach_sum"], k["depth_sum"], k["holders"]) == (x["reach_sum"], x["depth_sum"], x["holders"])
    assert k["reach_sum"] > 0
    # the log is cached: a second call reuses the same file
    path, info = _common.make_log("1e4", cache_dir=Path(s["log"]["path"]).parent)
    assert str(path) == s["log"]["path"] and info["n_events"] == s["log"]["n_events"]


def test_isolated_stage_runs_in_a_child_process(smoke_result: tuple[dict[str, Any], list[str]]) -> None:
    res, _ = smoke_result
    path = next(iter(res["sizes"].values()))["log"]["path"]
    out = _common.run_stage("floor", path, isolate=True, timeout=120)
    assert out["ok"], out.get("error")
    assert out["total_s"] > 0 and out["peak_rss_mib"] > 0 and out["peak_rss_scope"] == "process"
    assert out["n_rows"] == res["sizes"]["1e4"]["stages"]["floor"]["median"]["n_rows"]


def test_table_lists_every_stage(smoke_result: tuple[dict[str, Any], list[str]]) -> None:
    res, _ = smoke_result
    table = _common.format_table(res)
    for name in ("floor", "kocgraph", "networkx", "kocgraph/floor", "networkx/kocgraph"):
        assert name in table


# ------------------------------------------------------------------------- the smoke check can fail
def _broken(path: Any) -> dict[str, Any]:
    raise RuntimeError("stage broken on purpose")


def test_smoke_fails_when_a_stage_raises(monkeypatch: pytest.MonkeyPatch, cache: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(_common.STAGES, "kocgraph", _broken)
    rc = bench_ingest.main(["--smoke", "--cache-dir", str(cache), "--quiet"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "stage 'kocgraph' failed" in err and "broken on purpose" in err
    res, problems = bench_ingest.smoke(cache_dir=str(cache))
    assert any("kocgraph" in p and "failed" in p for p in problems)
    # a failed stage also leaves its ratios missing, which the check reports too
    assert any("ratio kocgraph/floor" in p for p in problems)


def test_smoke_fails_on_a_missing_stage_or_bad_time(smoke_result: tuple[dict[str, Any], list[str]]) -> None:
    import copy

    res, _ = smoke_result
    gone = copy.deepcopy(res)
    del gone["sizes"]["1e4"]["stages"]["networkx"]
    assert any("'networkx' missing" in p for p in _common.check(gone))
    zero = copy.deepcopy(res)
    zero["sizes"]["1e4"]["stages"]["floor"]["median"]["read_s"] = 0.0
    assert any("read_s=0.0 is not a positive time" in p for p in _common.check(zero))
    nan = copy.deepcopy(res)
    nan["sizes"]["1e4"]["ratios"]["kocgraph/floor"] = float("nan")
    assert any("kocgraph/floor" in p for p in _common.check(nan))
    assert _common.check({"sizes": {}}) == ["no size was run"]


def test_smoke_fails_when_stages_disagree(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    real = _common.STAGES["networkx"]

    def off_by_one(path: Any) -> dict[str, Any]:
        out = real(path)
        out["reach_sum"] += 1
        return out

    monkeypatch.setitem(_common.STAGES, "networkx", off_by_one)
    _, problems = bench_ingest.smoke(cache_dir=str(cache))
    assert any("disagree on reach_sum" in p for p in problems)


def test_bench_rejects_unknown_size_and_stage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        bench_ingest.main(["--sizes", "3e9"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        bench_ingest.main(["--smoke", "--stages", "nope"])
    assert "unknown" in capsys.readouterr().err


# =============================================================== kocgraph bench: every pipeline stage
from kocgraph.bench import pipeline as P  # noqa: E402

PEER_STAGES = {"igraph": set(P.STAGE_NAMES) - {"kocs", "seeds"}, "networkx": set(P.STAGE_NAMES) - {"kocs", "seeds"}}


def _pipeline_smoke(cache: Path, **kw: Any) -> tuple[dict[str, Any], list[str]]:
    kw.setdefault("quality_sample", None)
    res = P.run(["1e4"], peers=True, repeats=1, isolate=False, cache_dir=cache, **kw)
    return res, P.check(res)


@pytest.fixture(scope="module")
def pipeline_result(cache: Path) -> tuple[dict[str, Any], list[str]]:
    return _pipeline_smoke(cache, quality_sample="planted-koc")


def test_pipeline_smoke_every_stage_present_and_sound(pipeline_result: tuple[dict[str, Any], list[str]]) -> None:
    res, problems = pipeline_result
    assert problems == []
    s = res["sizes"]["1e4"]
    assert set(s["sides"]) == {"kocgraph", "igraph", "networkx"}
    assert list(s["sides"]["kocgraph"]["stages"]) == list(P.STAGE_NAMES)
    for side, summary in s["sides"].items():
        want = set(P.STAGE_NAMES) if side == "kocgraph" else PEER_STAGES[side]
        assert set(summary["stages"]) == want, side
        for name, st in summary["stages"].items():
            assert st["ok"], (side, name, st.get("errors"))
            assert math.isfinite(st["s"]) and st["s"] > 0, (side, name)
            assert st["peak_rss_mib"] > 0
    # a ratio for every stage a peer runs, finite and positive
    for side, stages in PEER_STAGES.items():
        for name in stages:
            v = s["ratios"][name][side]
            assert math.isfinite(v) and v > 0
    # the peers computed the same things
    k = s["sides"]["kocgraph"]["stages"]
    for side in ("igraph", "networkx"):
        p = s["sides"][side]["stages"]
        assert (k["cascades"]["reach_sum"], k["cascades"]["depth_sum"]) == (p["cascades"]["reach_sum"], p["cascades"]["depth_sum"])
        c = s["sides"][side]["checks"]
        assert c["coreness_equal"] is True and c["pagerank_max_abs_diff"] < 1e-6
        assert c["route_strength_max_abs_diff"] < 1e-9
    assert k["routes"]["n_routes"] > 0 and k["seeds"]["n_seeds"] == 20 and k["kocs"]["n_ranked"] > 0


def test_pipeline_quality_figures(pipeline_result: tuple[dict[str, Any], list[str]]) -> None:
    q = pipeline_result[0]["quality"]
    assert q["sample"] == "planted-koc" and q["n_planted"] > 0 and q["planted_missing"] == 0
    assert {"koc", "out_degree", "in_degree", "pagerank_plain", "reach"} <= set(q["precision"])
    for figs in q["precision"].values():
        assert set(figs) == {str(k) for k in q["k"]} and all(0.0 <= v <= 1.0 for v in figs.values())
    assert {"koc", "out_degree", "pagerank_plain"} <= set(q["backtest"])


def test_pipeline_table_lists_every_stage_and_the_ratios(pipeline_result: tuple[dict[str, Any], list[str]]) -> None:
    table = P.format_table(pipeline_result[0])
    for name in (*P.STAGE_NAMES, "igraph s", "networkx s", "ig/kg", "nx/kg", "P@10 planted", "backtest P@50"):
        assert name in table, name


def test_bench_scripts_use_the_package_stage_functions() -> None:
    import bench_nominate

    from kocgraph.bench import ingest

    assert _common.STAGES is ingest.STAGES and _common.stage_networkx is ingest.stage_networkx
    assert "P.ig_pagerank" in Path(bench_nominate.__file__).read_text()


# ------------------------------------------------------------------ the pipeline smoke check can fail
def _table_with(side: str, stage: str, fn: Any) -> dict[str, dict[str, Any]]:
    table = {s: dict(t) for s, t in P.STAGES.items()}
    table[side][stage] = fn
    return table


def test_pipeline_smoke_fails_when_a_stage_raises(cache: Path) -> None:
    _, problems = _pipeline_smoke(cache, table=_table_with("kocgraph", "pagerank", _broken))
    assert any("kocgraph stage 'pagerank' failed" in p and "broken on purpose" in p for p in problems)
    _, problems = _pipeline_smoke(cache, table=_table_with("igraph", "routes", _broken))
    assert any("igraph stage 'routes' failed" in p for p in problems)


def test_pipeline_smoke_fails_when_a_stage_returns_nonsense(cache: Path) -> None:
    def wrong_core(ctx: dict[str, Any]) -> dict[str, Any]:
        out = P.ig_coreness(ctx)
        ctx["core"] = ctx["core"] + 1
        return out

    def no_seeds(ctx: dict[str, Any]) -> dict[str, Any]:
        return {**P.kg_seeds(ctx), "n_seeds": 0}

    def more_reach(ctx: dict[str, Any]) -> dict[str, Any]:
        out = P.nx_cascades(ctx)
        return {**out, "reach_sum": out["reach_sum"] + 1}

    table = _table_with("igraph", "coreness", wrong_core)
    table["kocgraph"]["seeds"] = no_seeds
    table["networkx"]["cascades"] = more_reach
    _, problems = _pipeline_smoke(cache, table=table)
    assert any("kocgraph and igraph coreness differ" in p for p in problems)
    assert any("seeds chose nobody" in p for p in problems)
    assert any("networkx cascades disagree on reach_sum" in p for p in problems)


def test_pipeline_check_flags_bad_figures(pipeline_result: tuple[dict[str, Any], list[str]]) -> None:
    import copy

    res, _ = pipeline_result
    bad = copy.deepcopy(res)
    s = bad["sizes"]["1e4"]
    s["sides"]["kocgraph"]["stages"]["coreness"]["s"] = 0.0
    del s["sides"]["networkx"]["stages"]["routes"]
    s["ratios"]["pagerank"]["igraph"] = float("nan")
    bad["quality"]["precision"]["koc"][str(bad["quality"]["k"][0])] = 1.5
    problems = P.check(bad)
    assert any("kocgraph stage 'coreness': time 0.0 is not a positive time" in p for p in problems)
    assert any("networkx stage 'routes' missing" in p for p in problems)
    assert any("ratio igraph/kocgraph for pagerank" in p for p in problems)
    assert any("quality: precision koc" in p for p in problems)
    assert P.check({"sizes": {}}) == ["no size was run"]
