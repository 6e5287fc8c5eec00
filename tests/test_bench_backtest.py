"""Smoke pass of ``benchmarks/bench_backtest.py`` (issue 13): the table on a small synthetic log, the
calibration cost on the smallest sample, and the real-data modes skipping cleanly when the data are
absent. Structure and soundness only, never a time limit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_backtest  # noqa: E402


def test_smoke_table_has_a_sound_row(tmp_path, capsys):
    out = tmp_path / "bt.json"
    assert bench_backtest.main(["--smoke", "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())["backtest"]
    assert row["dataset"] == "smoke" and row["n_eligible"] > 0
    assert all(0.0 <= row["koc"][f"p@{k}"] <= 1.0 for k in bench_backtest.KS)
    # the difference to the best rule is the KOC's precision less the best rule's, as printed
    best = max(row["rules_p@50"].values())
    assert abs(row["koc_minus_best_rule_p@50"] - (row["koc"]["p@50"] - best)) < 1e-12
    assert "| smoke |" in capsys.readouterr().out


def test_cost_runs_the_nomination_job_and_the_calibration_on_a_sample(monkeypatch, tmp_path):
    monkeypatch.setenv("KOCGRAPH_CACHE", str(tmp_path))
    r = bench_backtest.cost("1e5", 1)
    assert r["size"] == "1e5" and r["nominate_s"] > 0 and r["calibration_s"] > 0
    assert abs(r["ratio"] - round(r["calibration_s"] / r["nominate_s"], 3)) <= 0.01  # rounded figures
    assert r["chosen"] is not None


def test_real_data_modes_skip_when_the_data_are_absent(tmp_path, capsys):
    assert bench_backtest.splits(tmp_path / "nowhere") == {}
    assert bench_backtest.main(["--datasets", "douban", "--data", str(tmp_path / "nowhere")]) == 0
    assert "skipped douban" in capsys.readouterr().err
