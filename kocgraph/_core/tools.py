"""Shared plumbing of the ``kg.tl`` tools and of what reads their results: copy semantics, the record
of a run in ``g.meta[key_added]``, and the one way to say that a result is missing (:func:`require`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..exceptions import InvalidParameterError, NotComputedError
from .graph import ShareGraph

__all__ = ["check_graph", "record", "jsonable", "require", "output_column", "not_computed", "tool_call", "DEFAULT_KEYS",
           "drop_previous"]

#: each tool's default ``key_added`` (``tests/test_api_shape.py`` checks it against the signatures);
#: ``require`` uses it to write the exact call that computes a missing result
DEFAULT_KEYS: dict[str, str] = {
    "tl.cascades": "cascades", "tl.pagerank": "pagerank", "tl.strength": "strength", "tl.coreness": "coreness",
    "tl.betweenness": "betweenness", "tl.communities": "community", "tl.kocs": "koc",
    "tl.tie_strength": "tie_strength", "tl.routes": "routes", "tl.attribution": "attributed",
    "tl.affinity": "affinity", "tl.simulate": "simulate", "tl.seeds": "seeds",
    "evaluate.compare_seeds": "compare_seeds",
}
_FRAMES = ("nodes", "items", "edges")


def check_graph(g: Any, where: str) -> ShareGraph:
    if not isinstance(g, ShareGraph):
        raise InvalidParameterError(
            f"{where} needs a kg.ShareGraph as its first argument, got {type(g).__name__}. "
            "Build one with kg.read_log(...) or kg.datasets.toy()."
        )
    return g


def jsonable(v: Any) -> Any:
    """Parameters as JSON-native values (so ``kg.write``/``kg.read`` round-trip ``meta`` exactly)."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return [jsonable(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return repr(v)


def record(g: ShareGraph, key: str, params: dict[str, Any], *, tool: str,
           columns: Mapping[str, Iterable[str]] | None = None, tables: Iterable[str] = (), **results: Any) -> None:
    """Store a tool's run in ``g.meta[key]``: ``tool`` (e.g. ``"tl.kocs"``), ``columns`` (what it wrote,
    by frame: ``{"nodes": [...], "edges": [...]}``), ``tables`` (its ``g.tables`` keys), ``params``, and
    its small results. Readers find a run's outputs through this record (:func:`require`)."""
    cols = {f: list(map(str, columns[f])) for f in _FRAMES if columns and columns.get(f)}
    g.meta[key] = {"tool": tool, "columns": cols, "tables": [str(t) for t in tables],
                   "params": jsonable(params), **{k: jsonable(v) for k, v in results.items()}}


def drop_previous(g: ShareGraph, key: str) -> None:
    """Remove what an earlier run under ``key`` wrote (as its record lists), so a rerun that writes
    fewer outputs (e.g. no hours on a log without times) leaves nothing stale behind."""
    rec = g.meta.get(key)
    if not isinstance(rec, dict):
        return
    for f, cols in (rec.get("columns") or {}).items():
        frame = getattr(g, f, None) if f in _FRAMES else None
        for c in cols:
            if frame is not None and c in frame.columns:
                del frame[c]
    for t in rec.get("tables") or []:
        g.tables.pop(t, None)


def tool_call(tool: str, key: str | None = None, args: str = "") -> str:
    """The exact call that computes ``tool``'s result under ``key``: ``kg.tl.kocs(g)``,
    ``kg.tl.kocs(g, key_added='b')``, ``kg.tl.routes(g, sources=staff, targets=['ivan'])``.

    >>> tool_call("tl.kocs"), tool_call("tl.kocs", "b")
    ('kg.tl.kocs(g)', "kg.tl.kocs(g, key_added='b')")
    """
    parts = ["g"] + ([args] if args else [])
    if key is not None and key != DEFAULT_KEYS.get(tool, key):
        parts.append(f"key_added={key!r}")
    return f"kg.{tool}({', '.join(parts)})"


def _present(g: ShareGraph, tool: str) -> str:
    runs = {k: v.get("tool") for k, v in g.meta.items() if isinstance(v, dict) and v.get("tool")}
    same = [k for k, t in runs.items() if t == tool]
    if same:
        return (f" kg.{tool} ran on this graph under key {', '.join(map(repr, same))}: pass "
                f"key={same[0]!r} to read that run.")
    if runs:
        return " Results present: " + ", ".join(f"{k!r} (kg.{t})" for k, t in runs.items()) + "."
    return " No kg.tl tool has run on this graph yet."


def not_computed(g: ShareGraph, what: str, *, tool: str, where: str, key: str | None = None,
                 args: str = "") -> NotComputedError:
    """The one NotComputedError: what ``where`` needs, the exact call that computes it, and the results
    this graph does hold. Raise what it returns."""
    return NotComputedError(f"{where} needs {what}, which has not been computed. "
                            f"Run {tool_call(tool, key, args)} first.{_present(g, tool)}")


def require(g: ShareGraph, key: str, *, tool: str, where: str, args: str = "", what: str | None = None,
            nodes: Iterable[str] = (), tables: Iterable[str] = (), trees: bool = False,
            meta: bool = True) -> dict[str, Any]:
    """The record ``g.meta[key]`` of a run of ``tool``, once its outputs are known to be here.

    Checks the record (unless ``meta=False``), the columns and tables it lists, and the extra ``nodes``
    columns, ``tables`` and ``trees`` asked for; when any is missing raises :func:`not_computed`,
    naming them, the call (``kg.tl.kocs(g, key_added='b')``) and the keys present.

    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.pagerank(g)
    >>> require(g, "koc", tool="tl.kocs", where="kg.get.kocs")
    Traceback (most recent call last):
    ...
    kocgraph.exceptions.NotComputedError: kg.get.kocs needs g.meta['koc'] (a run of kg.tl.kocs under key 'koc'), which has not been computed. Run kg.tl.kocs(g) first. Results present: 'pagerank' (kg.tl.pagerank).
    """
    if not isinstance(key, str):
        raise InvalidParameterError(f"key={key!r} must be a str: the key_added given to kg.{tool} "
                                    f"(default {DEFAULT_KEYS.get(tool, '?')!r}).")
    rec = g.meta.get(key) if meta else None
    missing = [f"g.meta[{key!r}]"] if meta and not isinstance(rec, dict) else []
    want: dict[str, list[str]] = {f: list((rec or {}).get("columns", {}).get(f, [])) for f in _FRAMES}
    want["nodes"] += [c for c in nodes if c not in want["nodes"]]
    for f in _FRAMES:
        have = getattr(g, f).columns
        missing += [f"g.{f}[{c!r}]" for c in want[f] if c not in have]
    missing += [f"g.tables[{t!r}]" for t in [*(rec or {}).get("tables", []), *tables] if t not in g.tables]
    if trees and g.trees is None:
        missing.append("g.trees")
    if missing:
        head = what or f"{', '.join(dict.fromkeys(missing))} (a run of kg.{tool} under key {key!r})"
        raise not_computed(g, head, tool=tool, where=where, key=key, args=args)
    return rec if isinstance(rec, dict) else {}


def output_column(g: ShareGraph, key: str, name: str | None = None, *, tool: str, where: str,
                  frame: str = "nodes") -> str:
    """The name of the ``frame`` column that a run of ``tool`` under ``key`` wrote for its output
    ``name`` (``"rank"``, ``"reach"``), found through the run's record ``g.meta[key]``.

    A tool writes ``{key}_{name}`` (``koc_rank``), its bare ``name`` under its default key where its
    outputs are plain words (``reach``), or, when it has one output, the key itself (``pagerank``;
    pass ``name=None``). Raises :func:`not_computed` when the run or that output is missing.

    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.pagerank(g, key_added="pr")
    >>> output_column(g, "pr", tool="tl.pagerank", where="this example")
    'pr'
    """
    rec = require(g, key, tool=tool, where=where)
    written = rec.get("columns", {}).get(frame, [])
    for col in ([key] if name is None else [f"{key}_{name}", name]):
        if col in written:
            return str(col)
    what = f"the {name or key!r} output of kg.{tool} under key {key!r} (it wrote {written})"
    raise not_computed(g, what, tool=tool, where=where, key=key)
