"""Plain views of a graph for other libraries: every column as plain Python values (networkx,
igraph, GraphML and GEXF take them), and the networkx/igraph graphs that carry them.

Numbers stay numbers (missing ones ``nan``), categories and ids their text or integers, times
ISO-8601 strings, durations seconds, lists and dicts JSON text. Per-item results (``g.items``) go to
the graph's ``items`` attribute. :mod:`kocgraph.io.export` writes these views to files.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ..exceptions import InvalidParameterError

if TYPE_CHECKING:
    import igraph
    import networkx as nx

__all__ = ["plain_column", "plain_columns", "to_networkx", "refresh_igraph"]

Kind = Literal["int", "float", "bool", "str"]


def _json(v: Any) -> str:
    return json.dumps(v, default=lambda o: o.item() if isinstance(o, np.generic) else str(o), ensure_ascii=False)


def plain_column(s: pd.Series) -> tuple[list[Any], Kind]:
    """One column as plain Python values (None where missing) and the one type they all have."""
    dt = s.dtype
    missing = s.isna().to_numpy()
    if isinstance(dt, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dt):
        vals = [None if m else t.isoformat() for t, m in zip(s.tolist(), missing, strict=True)]
        return vals, "str"
    if pd.api.types.is_timedelta64_dtype(dt):
        secs = s.dt.total_seconds().to_numpy(np.float64, na_value=np.nan)
        return [None if m else float(x) for x, m in zip(secs.tolist(), missing, strict=True)], "float"
    if pd.api.types.is_bool_dtype(dt):
        return [None if m else bool(x) for x, m in zip(s.tolist(), missing, strict=True)], "bool"
    if pd.api.types.is_integer_dtype(dt):
        ints = s.to_numpy(np.float64, na_value=np.nan) if missing.any() else s.to_numpy(np.int64)
        return [None if m else int(x) for x, m in zip(ints.tolist(), missing, strict=True)], "int"
    if pd.api.types.is_float_dtype(dt):
        f = s.to_numpy(np.float64, na_value=np.nan)
        ok = np.isfinite(f) | np.isinf(f)
        return [float(x) if k else None for x, k in zip(f.tolist(), ok.tolist(), strict=True)], "float"
    out: list[Any] = []
    for x, m in zip(s.astype(object).tolist(), missing, strict=True):  # labels: one str per row
        if m or x is None:
            out.append(None)
        elif isinstance(x, (list, tuple, dict, np.ndarray)):
            out.append(_json(x.tolist() if isinstance(x, np.ndarray) else x))
        else:
            out.append(str(x))
    return out, "str"


def plain_columns(df: pd.DataFrame, *, skip: tuple[str, ...] = ()) -> dict[str, tuple[list[Any], Kind]]:
    """Every column of ``df`` (but ``skip``) as :func:`plain_column` gives it, by its name as str."""
    return {str(c): plain_column(df[c]) for c in df.columns if c not in skip}


def _records(cols: dict[str, tuple[list[Any], Kind]], n: int) -> list[dict[str, Any]]:
    """Per row, the attributes that are present (missing values left out)."""
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    for name, (vals, _) in cols.items():  # one pass per column; the inner loop is the output itself
        for r, v in zip(rows, vals, strict=True):
            if v is not None:
                r[name] = v
    return rows


def _items(g: Any) -> dict[Any, dict[str, Any]]:
    cols = plain_columns(g.items)
    ids = [i.item() if isinstance(i, np.generic) else i for i in g.items.index.tolist()]
    return dict(zip(ids, _records(cols, len(ids)), strict=True))


def _user_ids(g: Any) -> list[Any]:
    return [u.item() if isinstance(u, np.generic) else u for u in g.nodes.index.tolist()]


def to_networkx(g: Any, weight: str = "n_forwards") -> nx.DiGraph:
    """The networkx view of :meth:`ShareGraph.to_networkx` (see the module docstring)."""
    import networkx as nx

    if weight not in g.edges.columns:
        raise InvalidParameterError(
            f"weight={weight!r} is not a column of g.edges; columns are {list(g.edges.columns)}. "
            "Pass weight='n_forwards' or a column a kg.tl tool has written."
        )
    ids = _user_ids(g)
    G = nx.DiGraph()
    G.add_nodes_from(zip(ids, _records(plain_columns(g.nodes), len(ids)), strict=True))
    c = g.codes
    erec = _records(plain_columns(g.edges, skip=("source", "target")), g.n_edges)
    w, _ = plain_column(g.edges[weight])
    for r, x in zip(erec, w, strict=True):
        r["weight"] = x if x is not None else 0
    src, tgt = c.edge_src.tolist(), c.edge_tgt.tolist()
    G.add_edges_from((ids[a], ids[b], r) for a, b, r in zip(src, tgt, erec, strict=True))
    G.graph["items"] = _items(g)
    return G


def refresh_igraph(g: Any, ge: igraph.Graph) -> igraph.Graph:
    """Set the node, edge and item columns of ``g`` as attributes of its igraph view ``ge`` (the
    topology is unchanged; attributes of columns that are gone are removed). ``name`` stays the id."""
    for a in [a for a in ge.vs.attributes() if a != "name"]:
        del ge.vs[a]
    for a in ge.es.attributes():
        del ge.es[a]
    for name, (vals, kind) in plain_columns(g.nodes, skip=("name",)).items():
        ge.vs[name] = [float("nan") if v is None else v for v in vals] if kind in ("int", "float") and None in vals \
            else vals
    for name, (vals, kind) in plain_columns(g.edges, skip=("source", "target")).items():
        ge.es[name] = [float("nan") if v is None else v for v in vals] if kind in ("int", "float") and None in vals \
            else vals
    ge["items"] = _items(g)
    return ge


