"""``kocgraph bench``: the command runs every pipeline stage, prints a table, writes JSON, and exits
non-zero when a stage fails or a figure is unsound (never because something is slow)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kocgraph import cli
from kocgraph.bench import pipeline as P
from kocgraph.bench.cli import parse_sizes
from kocgraph.exceptions import InvalidParameterError


def _bench(tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any] | None]:
    out = tmp_path / "results.json"
    rc = cli.main(["bench", "--repeats", "1", "--quality", "none", "--quiet", "--cache-dir", str(tmp_path / "cache"),
                   "--out", str(out), *extra])
    return rc, json.loads(out.read_text()) if out.exists() else None


def test_bench_toy_with_peers_prints_a_table_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, res = _bench(tmp_path, "--sizes", "toy", "--peers", "--no-isolate")
    text = capsys.readouterr().out
    assert rc == 0, text
    for stage in P.STAGE_NAMES:
        assert f"\n{stage} " in text, stage
    assert "ig/kg" in text and "nx/kg" in text and "toy: 30 events" in text
    assert res is not None and res["problems"] == []
    sides = res["sizes"]["toy"]["sides"]
    assert list(sides["kocgraph"]["stages"]) == list(P.STAGE_NAMES)
    assert set(sides) == {"kocgraph", "igraph", "networkx"}
    assert all(st["ok"] and st["s"] > 0 and st["peak_rss_mib"] > 0 for st in sides["kocgraph"]["stages"].values())
    assert res["command"].startswith("kocgraph bench --sizes toy --peers --repeats 1 --no-isolate --quality none")
    assert res["params"]["calls"]["seeds"] == "kg.tl.seeds(g, k=20, epsilon=0.2, n_check=0, rng=0)"
    assert {"python", "numpy", "igraph", "networkx"} <= set(res["environment"])


def test_bench_isolated_runs_each_side_in_a_child_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, res = _bench(tmp_path, "--sizes", "toy", "--stages", "cascades,kocs,routes", "--seeds-k", "3")
    assert rc == 0, capsys.readouterr()
    assert res is not None
    st = res["sizes"]["toy"]["sides"]["kocgraph"]
    assert list(st["stages"]) == ["read", "cascades", "kocs", "routes"]  # read is always run
    assert st["peak_rss_mib"] >= st["stages"]["cascades"]["peak_rss_mib"] > 0 and st["stages"]["routes"]["peak_rss_scope"] == "stage"


def test_bench_exits_1_when_a_stage_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    def broken(ctx: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("stage broken on purpose")

    monkeypatch.setitem(P.STAGES["kocgraph"], "cascades", broken)
    rc, res = _bench(tmp_path, "--sizes", "toy", "--no-isolate")
    assert rc == 1
    err = capsys.readouterr().err
    assert "PROBLEMS" in err and "kocgraph stage 'cascades' failed" in err and "broken on purpose" in err
    assert res is not None and res["problems"]


def test_bench_sizes_accept_counts_and_registry_names() -> None:
    assert parse_sizes("1e5, 1e6") == ["1e5", "1e6"]
    assert parse_sizes("toy,planted-koc,synthetic-1e7") == ["toy", "planted-koc", "synthetic-1e7"]
    with pytest.raises(InvalidParameterError, match="unknown size"):
        parse_sizes("3e9")


@pytest.mark.parametrize("argv", [["--sizes", "3e9"], ["--sizes", "toy", "--stages", "nope"],
                                  ["--sizes", "toy", "--quality", "nope"], ["--repeats", "0"]])
def test_bench_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", *argv]) == 2
    assert "usage" in capsys.readouterr().err


def test_bench_is_listed_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    assert "bench" in capsys.readouterr().out
