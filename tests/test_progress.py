"""Progress bars on the long library calls: silent when nobody watches or with progress=False, shown
with progress=True (and, with progress=None, in a terminal or a Jupyter kernel); never a change in the
results."""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np
import pytest

import kocgraph as kg
import kocgraph.evaluate
from kocgraph._core import progress as P
from kocgraph.pipeline import StageOptions, run_stages

STAFF = ["brand", "staff_li"]


@pytest.fixture(scope="module")
def syn() -> kg.ShareGraph:
    return kg.datasets.synthetic(3000, 150, rng=0)


# every library call with a bar: (name, call, words the bar shows)
CALLS: dict[str, tuple[Any, str]] = {
    "betweenness": (lambda g, p: kg.tl.betweenness(g, method="sampled", epsilon=0.2, progress=p, copy=True),
                    "betweenness"),
    "simulate": (lambda g, p: kg.tl.simulate(g, STAFF_OF(g), n=50, progress=p, copy=True), "simulate"),
    "seeds": (lambda g, p: kg.tl.seeds(g, k=3, n_check=20, progress=p, copy=True), "seeds"),
    "compare_seeds": (lambda g, p: kg.evaluate.compare_seeds(g.copy(), k=[1, 2], n=20, progress=p),
                      "compare seeds"),
    "kocs_bootstrap": (lambda g, p: kg.tl.kocs(g, bootstrap=20, progress=p, copy=True), "bootstrap"),
    "backtest": (lambda g, p: kg.evaluate.backtest(g.copy(), progress=p), "backtest"),
    "pipeline": (lambda g, p: run_stages(g.copy(), StageOptions(), progress=p), "stages"),
}


def STAFF_OF(g: kg.ShareGraph) -> list[Any]:
    return list(g.meta["synthetic"]["staff"])


class _FakeTTY:
    def __init__(self, tty: bool) -> None:
        self.tty, self.text = tty, []

    def isatty(self) -> bool:
        return self.tty

    def write(self, s: str) -> int:
        self.text.append(s)
        return len(s)

    def flush(self) -> None:
        pass


# ---------------------------------------------------------------- the helper
def test_check_progress_resolves_none_against_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", _FakeTTY(False))
    assert P.check_progress(None, where="x") is False
    assert P.check_progress(True, where="x") is True and P.check_progress(False, where="x") is False
    monkeypatch.setattr(sys, "stderr", _FakeTTY(True))
    assert P.check_progress(None, where="x") is True
    with pytest.raises(kg.InvalidParameterError, match=r"progress='yes' must be None .* True .* or False"):
        P.check_progress("yes", where="kg.tl.seeds")


def test_a_jupyter_kernel_counts_as_interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", _FakeTTY(False))
    shell = types.SimpleNamespace(config={"IPKernelApp": {}})
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert P.is_interactive() is True
    plain = types.SimpleNamespace(config={})  # a terminal IPython without a kernel, stderr not a TTY
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: plain))
    assert P.is_interactive() is False


def test_silent_bar_counts_and_closes_on_error() -> None:
    with pytest.raises(RuntimeError), P.progress_bar(False, total=10, desc="x") as bar:
        P.advance(bar)(4, 10)
        assert bar.n == 4 and bar.total == 10
        raise RuntimeError("work failed")


def test_advance_sets_the_total_the_kernel_learns() -> None:
    bar = P.Silent(None, "x")
    cb = P.advance(bar)
    cb(3, None)
    cb(2, 40)
    assert (bar.n, bar.total) == (5, 40)


# ---------------------------------------------------------------- every long call
@pytest.mark.parametrize("name", list(CALLS))
def test_silent_when_not_interactive_and_with_false(syn: kg.ShareGraph, name: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    call, _ = CALLS[name]
    call(syn, None)  # pytest captures stderr: not a terminal, not Jupyter
    call(syn, False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name", list(CALLS))
def test_shown_with_true(syn: kg.ShareGraph, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    call, words = CALLS[name]
    call(syn, True)
    err = capsys.readouterr().err
    assert words in err, err[-500:]


@pytest.mark.parametrize("name", list(CALLS))
def test_shown_in_a_terminal_with_none(syn: kg.ShareGraph, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeTTY(True)
    monkeypatch.setattr(sys, "stderr", fake)
    call, words = CALLS[name]
    call(syn, None)
    assert words in "".join(fake.text)


def test_bars_do_not_change_results(syn: kg.ShareGraph) -> None:
    a = kg.tl.betweenness(syn, method="sampled", epsilon=0.2, progress=True, copy=True)
    b = kg.tl.betweenness(syn, method="sampled", epsilon=0.2, progress=False, copy=True)
    np.testing.assert_array_equal(a.nodes["betweenness"], b.nodes["betweenness"])
    a = kg.tl.seeds(syn, k=3, n_check=20, progress=True, copy=True)
    b = kg.tl.seeds(syn, k=3, n_check=20, progress=False, copy=True)
    assert a.tables["seeds"].equals(b.tables["seeds"])
    a = kg.tl.simulate(syn, STAFF_OF(syn), n=60, progress=True, copy=True)
    b = kg.tl.simulate(syn, STAFF_OF(syn), n=60, progress=False, copy=True)
    assert a.meta["simulate"] == b.meta["simulate"]


def test_bad_progress_is_rejected_before_any_work(syn: kg.ShareGraph) -> None:
    for call, _ in CALLS.values():
        with pytest.raises(kg.InvalidParameterError, match="progress="):
            call(syn, "auto")
