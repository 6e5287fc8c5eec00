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
