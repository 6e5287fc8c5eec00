"""Results that travel: networkx and igraph views that keep every computed column, and GraphML / GEXF
files for Gephi and the other tools people already use.

Every value is turned into a plain Python value that networkx, igraph and the GraphML/GEXF writers
accept: numpy scalars become ``int``/``float``/``bool``, categoricals and other labels ``str``, times
ISO-8601 strings (``2026-01-01T09:00:00+00:00``), durations seconds (``float``), lists and dicts JSON
text. A missing value (NA, NaN, None) is left out of that node's or edge's attributes in networkx
and in the files (GraphML and GEXF have no "missing"); in igraph, where every vertex carries every
attribute, it is ``nan`` for a number and ``None`` otherwise.

Columns become attributes under their own names; per-item results (``g.items``) go to the graph
attribute ``items`` (``{item id: {column: value}}``) of the networkx and igraph views. GraphML and GEXF
hold one table of nodes and one of edges, so the files carry the people and links with all their
columns, each person's ``label`` (the id, for Gephi), and the item table only as its row count.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ..exceptions import InvalidParameterError

if TYPE_CHECKING:  # pragma: no cover
    import igraph
    import networkx as nx

    from .._core.graph import ShareGraph

__all__ = ["plain_columns", "to_networkx", "refresh_igraph", "write_graph", "export_format", "FORMATS"]

#: file formats :func:`kocgraph.write` hands to this module, by suffix
FORMATS: dict[str, str] = {".graphml": "graphml", ".gexf": "gexf"}

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


def _items(g: ShareGraph) -> dict[Any, dict[str, Any]]:
    cols = plain_columns(g.items)
    ids = [i.item() if isinstance(i, np.generic) else i for i in g.items.index.tolist()]
    return dict(zip(ids, _records(cols, len(ids)), strict=True))


def _user_ids(g: ShareGraph) -> list[Any]:
    return [u.item() if isinstance(u, np.generic) else u for u in g.nodes.index.tolist()]


def to_networkx(g: ShareGraph, weight: str = "n_forwards") -> nx.DiGraph:
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


def refresh_igraph(g: ShareGraph, ge: igraph.Graph) -> igraph.Graph:
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


def export_format(path: str | os.PathLike[str], format: str | None) -> str | None:
    """The export format of ``kg.write(g, path, format=...)``: ``format`` when given, else from the
    suffix (``.graphml``, ``.gexf``); None for kocgraph's own directory format."""
    if format is None:
        return FORMATS.get(Path(path).suffix.lower())
    if format == "kocgraph":
        return None
    if format not in FORMATS.values():
        raise InvalidParameterError(
            f"format={format!r} is not a format kg.write knows; pass 'kocgraph' (a directory kg.read restores "
            f"exactly), 'graphml' or 'gexf' (for Gephi), or None to choose by the path's suffix."
        )
    return format


def write_graph(g: ShareGraph, path: str | os.PathLike[str], *, format: str, overwrite: bool = False) -> None:
    """Write ``g`` as GraphML or GEXF (one file, written to a temporary sibling and renamed into place).

    The nodes are the people, with every column of ``g.nodes`` and ``label`` (the id); the edges the
    links, with every column of ``g.edges`` and ``weight`` (``n_forwards``). See the module docstring
    for how values are written.
    """
    import networkx as nx

    path = Path(path)
    if path.exists() and not overwrite:
        raise InvalidParameterError(f"{str(path)!r} already exists; pass overwrite=True or choose another path.")
    G = to_networkx(g)
    n_items = len(G.graph.pop("items"))
    for u, d in G.nodes(data=True):  # one label per person: the output itself
        d.setdefault("label", str(u))
    G.graph.update({"kocgraph_n_items": n_items, "kocgraph_n_events": g.n_events})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        if format == "graphml":
            nx.write_graphml(G, tmp, encoding="utf-8", prettyprint=False, named_key_ids=True)
        else:
            nx.write_gexf(G, tmp, encoding="utf-8", prettyprint=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
