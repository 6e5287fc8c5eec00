"""Every code block of the README runs (house rule 7), on a log shaped as the README says."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pytest

import kocgraph as kg

matplotlib.use("Agg")
README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_python_tour_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.pyplot as plt

    df = kg.datasets.synthetic_frame(600, 40, rng=3)[0]
    df.rename(columns={"source": "from_user", "target": "to_user", "item": "post", "time": "ts"}).to_csv(
        tmp_path / "forwards.csv", index=False)
    monkeypatch.chdir(tmp_path)
    (block,) = [b for b in _blocks("python") if "kg.read_log(" in b]
    ns: dict[str, object] = {}
    try:
        exec(compile(block, "README.md", "exec"), ns)
    finally:
        plt.close("all")
    assert (tmp_path / "forwards.graphml").is_file()
    assert isinstance(ns["kg"].evaluate.verdict(ns["bt"]), str)  # type: ignore[attr-defined]


def test_the_command_lines_parse() -> None:
    from kocgraph import cli

    parser = cli.build_parser()
    lines = [ln.split("#")[0].strip() for b in _blocks("bash") for ln in b.replace("\\\n", " ").splitlines()]
    # optional parts are shown in brackets: parse the command without them, then with each one
    cmds = []
    for ln in lines:
        if ln.startswith("kocgraph "):
            bare = re.sub(r"\[[^\]]*\]", " ", ln).split()[1:]
            cmds.append(bare)
            for opt in re.findall(r"\[([^\]]*)\]", ln):
                cmds.append(bare + opt.split("|")[0].split())
    assert cmds
    for argv in cmds:
        if argv[0] == "bench":
            continue  # parsed by its own test (tests/test_cli_bench.py)
        parser.parse_args(argv)
