"""Run independent numpy steps side by side.

Most numpy kernels (sorting, gathers, scatters, ``bincount``, ufunc reductions) release the GIL, so
two independent steps on large arrays finish in about the time of the longer one on a 2-core machine.
:func:`side_by_side` is the one place in kocgraph that starts such threads (Arrow and igraph keep
their own pools); with one CPU it simply runs the steps in order.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = ["side_by_side"]


def side_by_side(*steps: Callable[[], Any]) -> list[Any]:
    """Call every step (no arguments) and return their results in order.

    The first step runs in the calling thread, the others in worker threads. An exception in any
    step is raised here, after every step has finished.

    >>> side_by_side(lambda: 1 + 1, lambda: "b")
    [2, 'b']
    """
    if len(steps) < 2 or (os.cpu_count() or 1) < 2:
        return [s() for s in steps]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(steps) - 1, os.cpu_count() or 1)) as ex:
        futures = [ex.submit(s) for s in steps[1:]]
        try:
            first = steps[0]()
        finally:
            others = [f.exception() for f in futures]  # waits for every worker
    for err in others:
        if err is not None:
            raise err
    return [first, *(f.result() for f in futures)]
