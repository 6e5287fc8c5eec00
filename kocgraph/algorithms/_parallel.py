"""Run independent numpy steps side by side, and make the next item of a stream while this one is used.

Most numpy kernels (sorting, gathers, scatters, ``bincount``, ufunc reductions) release the GIL, so
two independent steps on large arrays finish in about the time of the longer one on a 2-core machine.
:func:`side_by_side` and :func:`read_ahead` are the one place in kocgraph that starts such threads
(Arrow and igraph keep their own pools); with one CPU they simply run the steps in order.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Generator, Iterable
from typing import Any, TypeVar

__all__ = ["read_ahead", "side_by_side"]

T = TypeVar("T")


def side_by_side(*steps: Callable[[], Any]) -> list[Any]:
    """Call every step (no arguments) and return their results in order.

    The first step runs in the calling thread, the others in worker threads started for this call.
    (A pool kept for the whole process saves about 3 ms per call, but its long-lived workers kept
    about 38 MiB more resident through every stage of the 1e7 nomination job, measured with
    ``benchmarks/bench_stagemem.py``: the job's peak matters more.) A step that itself calls
    ``side_by_side`` runs its steps in order, so two cores never get more threads than steps. An
    exception in any step is raised here, after every step has finished.

    >>> side_by_side(lambda: 1 + 1, lambda: "b")
    [2, 'b']
    """
    if len(steps) < 2 or (os.cpu_count() or 1) < 2 or getattr(_STEP, "inside", False):
        return [s() for s in steps]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(steps) - 1, os.cpu_count() or 1)) as ex:
        futures = [ex.submit(_as_step, s) for s in steps[1:]]
        try:
            first = steps[0]()
        finally:
            others = [f.exception() for f in futures]  # waits for every worker
    for err in others:
        if err is not None:
            raise err
    return [first, *(f.result() for f in futures)]


_STEP = threading.local()  # .inside: this thread is running a step of side_by_side


def _as_step(step: Callable[[], Any]) -> Any:
    _STEP.inside = True
    try:
        return step()
    finally:
        _STEP.inside = False


def read_ahead(items: Iterable[T]) -> Generator[T, None, None]:
    """Iterate ``items`` with the next item made in a worker thread while the caller uses this one.

    pyarrow's streaming CSV reader parses a block only when asked for it, so a consumer that works
    on each batch (hashing ids, parsing times) and the parse take turns on one core; asked from a
    worker, the next block is parsed on the other core meanwhile. The worker makes item ``k + 1``
    only once the caller has taken item ``k``, so at most two items are alive. An exception in the
    worker is raised here, in order; closing this generator stops the worker after its current item.

    >>> list(read_ahead(iter(range(4))))
    [0, 1, 2, 3]
    """
    if (os.cpu_count() or 1) < 2:
        yield from items
        return
    import queue
    import threading

    done = object()
    out: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=1)
    turn = threading.Semaphore(1)  # the worker's permit to make one more item
    stop = threading.Event()

    def work() -> None:
        it = iter(items)
        try:
            while True:
                turn.acquire()
                if stop.is_set():
                    return
                try:
                    item = next(it)
                except StopIteration:
                    out.put((done, None))
                    return
                out.put((item, None))
        except BaseException as err:  # noqa: BLE001 - handed to the caller, raised there
            out.put((done, err))

    worker = threading.Thread(target=work, name="kocgraph-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, err = out.get()
            if item is done:
                if err is not None:
                    raise err
                return
            turn.release()
            yield item
    finally:
        stop.set()
        turn.release()
        while worker.is_alive():  # let a worker blocked on a full queue finish
            with contextlib.suppress(queue.Empty):
                out.get(timeout=0.01)
        worker.join()
