"""Memory and environment helpers shared by the benchmark runners."""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from typing import Any

from .._core.resources import maxrss_mib
from .._core.resources import peak_rss_mib as vm_hwm_mib
from .._core.resources import reset_peak as reset_hwm

__all__ = ["vm_hwm_mib", "reset_hwm", "maxrss_mib", "environment", "child_env", "summarise_runs"]


def child_env() -> dict[str, str]:
    """The environment for a child process that must import this same kocgraph checkout."""
    import kocgraph

    root = os.path.dirname(os.path.dirname(os.path.abspath(kocgraph.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def environment() -> dict[str, Any]:
    """Versions and machine facts recorded with every result."""
    import importlib.metadata as md

    def ver(pkg: str) -> str | None:
        try:
            return md.version(pkg)
        except md.PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
        **{p: ver(p) for p in ("kocgraph", "numpy", "pandas", "pyarrow", "scipy", "networkx", "igraph")},
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def summarise_runs(runs: list[dict[str, Any]], *, max_keys: tuple[str, ...] = ("peak_rss_mib",),
                   min_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """Medians of the ``*_s`` keys over the successful runs, max of ``max_keys``, min of ``min_keys``, and
    the first run's value of every other number or string."""
    good = [r for r in runs if r.get("ok")]
    med: dict[str, Any] = {}
    if not good:
        return med
    for k, v in good[0].items():
        if k == "ok" or isinstance(v, bool):
            continue
        if isinstance(v, (int, float)):
            vals = [r[k] for r in good if isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool)]
            if k.endswith("_s"):
                med[k] = statistics.median(vals)
            elif k in max_keys:
                med[k] = max(vals)
            elif k in min_keys:
                med[k] = min(vals)
            else:
                med[k] = vals[0]
        elif isinstance(v, str):
            med[k] = v
    return med


def run_child(cmd: list[str], *, timeout: float | None, label: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a benchmark child process that prints its result as one JSON line (the last line starting
    with ``{``). Returns that dict, or ``{"ok": False, "error": ...}`` naming ``label`` when the child
    times out (``timeout`` seconds; None waits as long as it takes), fails, or prints no result; the
    caller adds its own ``ok``/defaults."""
    import json
    import subprocess

    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                              env=env if env is not None else child_env())
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"{label} timed out after {timeout} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {"ok": False, "error": f"{label} exited {proc.returncode}: " + " | ".join(tail)}
    return dict(json.loads(lines[-1]))


def kind_problems(size: str, kinds: dict[str, dict[str, Any]], *, zero_ok: bool = False) -> list[str]:
    """The problems every benchmark checks for each side ("kind") of one size: a failed run, or a
    ``*_s`` figure that is not a finite, positive (or, with ``zero_ok``, non-negative) time."""
    problems: list[str] = []
    for k, st in kinds.items():
        if not st["ok"]:
            problems.append(f"[{size}] {k} failed: {st.get('errors')}")
            continue
        for key, v in st["median"].items():
            ok = isinstance(v, (int, float)) and math.isfinite(v) and (v >= 0 if zero_ok else v > 0)
            if key.endswith("_s") and not ok:
                problems.append(f"[{size}] {k}: {key}={v!r} is not a {'' if zero_ok else 'positive '}time")
    return problems
