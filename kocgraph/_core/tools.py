"""Shared plumbing of the ``kg.tl`` tools: copy semantics and recording parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import InvalidParameterError
from .graph import ShareGraph

__all__ = ["check_graph", "record", "jsonable"]


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


def record(g: ShareGraph, key: str, params: dict[str, Any], **results: Any) -> None:
    """Store a tool's parameters (and small results) in ``g.meta[key]``."""
    g.meta[key] = {"params": jsonable(params), **{k: jsonable(v) for k, v in results.items()}}
