"""kocgraph.algorithms._parallel: side_by_side and read_ahead keep order, raise where called, and
leave no thread behind."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kocgraph.algorithms._parallel import read_ahead, side_by_side


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "kocgraph-read-ahead"]


@settings(max_examples=50, deadline=None)
@given(items=st.lists(st.integers(), max_size=30))
def test_read_ahead_yields_every_item_in_order(items):
    assert list(read_ahead(iter(items))) == items
    assert not _workers()


def test_read_ahead_makes_at_most_one_item_ahead():
    made: list[int] = []

    def source():
        for i in range(6):
            made.append(i)
            yield i

    seen = []
    for item in read_ahead(source()):
        # the consumer holds item i; the worker may have made i + 1, never i + 2
        seen.append((item, len(made)))
        assert len(made) <= item + 2
    assert [s for s, _ in seen] == list(range(6))


def test_read_ahead_raises_the_workers_error_after_the_items_before_it():
    def source():
        yield 1
        yield 2
        raise ValueError("broken block")

    got = []
    with pytest.raises(ValueError, match="broken block"):
        for item in read_ahead(source()):
            got.append(item)
    assert got == [1, 2]
    assert not _workers()


def test_closing_read_ahead_early_stops_the_worker():
    made: list[int] = []

    def source():
        for i in range(1000):
            made.append(i)
            yield i

    gen = read_ahead(source())
    assert next(gen) == 0
    gen.close()
    assert not _workers()
    assert len(made) <= 2  # the item in hand and at most one made ahead


def test_side_by_side_keeps_order_and_raises():
    assert side_by_side(lambda: 1, lambda: 2, lambda: 3) == [1, 2, 3]

    def boom():
        raise KeyError("x")

    with pytest.raises(KeyError):
        side_by_side(lambda: 1, boom)


def test_side_by_side_inside_a_step_runs_in_order():
    # more nested calls than there are cores: each runs its own steps in its own thread, in order
    def inner(k):
        return side_by_side(*[(lambda j=j: k * 10 + j) for j in range(3)])

    got = side_by_side(*[(lambda k=k: inner(k)) for k in range(5)])
    assert got == [[k * 10 + j for j in range(3)] for k in range(5)]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # Python 3.12+ warns of fork with threads
def test_side_by_side_works_in_a_forked_child():
    import os

    side_by_side(lambda: 1, lambda: 2)  # the parent has run workers before
    pid = os.fork()
    if pid == 0:  # the child: the parent's worker threads are gone
        ok = side_by_side(lambda: 1, lambda: 2) == [1, 2]
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_with_one_cpu_everything_runs_in_the_calling_thread(monkeypatch):
    import os

    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    me = threading.get_ident()
    assert side_by_side(threading.get_ident, threading.get_ident) == [me, me]
    assert list(read_ahead(iter([1, 2, 3]))) == [1, 2, 3]
    assert not _workers()
