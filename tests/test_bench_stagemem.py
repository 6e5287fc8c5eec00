"""Smoke pass of ``benchmarks/bench_stagemem.py`` (memory by stage): every stage is timed and has a
peak, the whole-job peak covers them, and a failing run is reported. Never a time or memory limit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from kocgraph._core.resources import reset_peak

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_stagemem  # noqa: E402

pytestmark = pytest.mark.skipif(not reset_peak(), reason="/proc/self/clear_refs is not writable here")


def test_smoke_every_stage_has_a_time_and_a_peak(tmp_path, capsys):
    out = tmp_path / "res.json"
    assert bench_stagemem.main(["--smoke", "--quiet", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    (run,) = res["runs"]["this"]
    assert run["ok"] and set(run["stages"]) == set(bench_stagemem.STAGES)
    assert all(st["s"] > 0 and st["peak_mib"] > 0 for st in run["stages"].values())
    assert run["job_peak_mib"] >= max(st["peak_mib"] for st in run["stages"].values())
    # the job's own manifest carries a peak for the same stages
    assert set(bench_stagemem.STAGES) <= set(run["manifest_stage_peak_rss_mib"])
    assert len(run["top"]) > 0 and res["problems"] == []
    table = capsys.readouterr().out
    assert all(f"| {s} |" in table for s in bench_stagemem.STAGES) and "whole job" in table


def test_a_failing_run_is_a_problem(tmp_path):
    res = bench_stagemem.run(str(tmp_path / "missing.parquet"), {"this": str(BENCH.parent)}, 1, 300, lambda _m: None)
    problems = bench_stagemem.check(res)
    assert len(problems) == 1 and problems[0].startswith("this:")
