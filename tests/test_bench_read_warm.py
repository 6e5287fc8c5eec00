"""Smoke pass of ``benchmarks/bench_read_warm.py`` (warm read_log, issue 17): every run reports its
reads and the tally's time, the variant without the line check reads the same rows, the table has a
row per checkout and variant, and a failing run is reported. Never a time limit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_read_warm  # noqa: E402


def test_smoke_reports_reads_and_the_tally(tmp_path):
    out = tmp_path / "res.json"
    assert bench_read_warm.main(["--smoke", "--quiet", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    (run,) = res["runs"]["this"]
    assert run["ok"] and len(run["wall"]) == 2 and run["wall_min"] <= run["wall_median"]
    assert run["tally_cpu"] >= 0 and run["sha_cpu"] >= 0
    # the same checkout with the line check taken out reads the same rows (the smoke log has 3,000)
    (bare,) = res["runs"]["this, no check"]
    assert bare["ok"] and bare["rows_read"] == run["rows_read"] == 3000
    table = bench_read_warm.format_table(res)
    assert "| this |" in table and "| this, no check |" in table and "tally CPU s" in table


def test_a_failing_run_is_reported(tmp_path):
    res = bench_read_warm.run(str(tmp_path / "missing.csv"), {"this": str(BENCH.parent)}, rounds=1, reads=1,
                              opts={}, tally=False, say=lambda _m: None)
    (run,) = res["runs"]["this"]
    assert not run["ok"] and "missing.csv" in run["error"]
    assert "failed" in bench_read_warm.format_table(res)
