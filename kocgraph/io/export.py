"""GraphML / GEXF files for Gephi and the other tools people already use (``kg.write(g, "x.graphml")``).

The files carry every computed column as node and edge attributes, in the plain values of
:mod:`kocgraph._core.interop` (the networkx view is what the files are written from). A missing
value is left out of that node's or edge's attributes (GraphML and GEXF have no "missing").
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .._core.interop import to_networkx
from ..exceptions import InvalidParameterError

if TYPE_CHECKING:  # pragma: no cover
    from .._core.graph import ShareGraph

__all__ = ["write_graph", "export_format", "FORMATS"]

#: file formats :func:`kocgraph.write` hands to this module, by suffix
FORMATS: dict[str, str] = {".graphml": "graphml", ".gexf": "gexf"}


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
