"""``kg.get.communities``: one row per community."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph, require
from .._core.validation import check_int
from ..algorithms.communities import community_summary

__all__ = ["communities"]

def communities(g: ShareGraph, *, key: str = "community", n_top: int = 3, kocs_key: str = "koc") -> pd.DataFrame:
    """One row per community: size, modularity share, top users, internal and external forwards.

    ``modularity`` is the community's term of Newman's modularity (the terms sum to the partition's
    modularity); ``top_users`` are its best-ranked KOCs when ``kg.tl.kocs`` ran, else its largest
    reach, else its most forwards.

    Parameters
    ----------
    g
        A graph on which :func:`kocgraph.tl.communities` ran.
    key
        The ``key_added`` the communities were written under.
    n_top
        How many top users to list per community.
    kocs_key
        The ``key_added`` of the KOC ranking that orders the top users (when present).

    Returns
    -------
    DataFrame indexed by community label: ``size``, ``modularity``, ``internal_forwards``,
    ``external_forwards``, ``top_users``.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.communities(g, rng=0)
    >>> tab = kg.get.communities(g)
    >>> int(tab["size"].sum()) == g.n_users
    True
    """
    g = check_graph(g, "kg.get.communities")
    n_top = check_int("n_top", n_top, minimum=1, where="kg.get.communities")
    params = require(g, key, tool="tl.communities", where="kg.get.communities", nodes=[key]).get("params", {})
    labels = g.nodes[key].to_numpy(np.int64)
    c = g.codes
    wcol = params.get("weight", "n_forwards")
    w = g.edges[wcol].to_numpy(np.float64) if wcol else None
    summ = community_summary(labels, c.edge_src, c.edge_tgt, w, resolution=float(params.get("resolution", 1.0)))
    nodes = g.nodes
    if isinstance(g.meta.get(kocs_key), dict) and f"{kocs_key}_score" in nodes.columns:
        score = nodes[f"{kocs_key}_score"].fillna(-1).to_numpy(np.float64)
    elif "reach" in nodes.columns:
        score = nodes["reach"].to_numpy(np.float64)
    else:
        score = np.bincount(c.src, minlength=g.n_users).astype(np.float64)
    order = np.lexsort((-score, labels))
    lab_sorted = labels[order]
    rank_in = pd.Series(lab_sorted).groupby(lab_sorted).cumcount().to_numpy()
    keep = order[rank_in < n_top]
    tops = pd.Series(nodes.index.to_numpy()[keep]).groupby(labels[keep]).agg(list)
    k = summ.size.shape[0]
    out = pd.DataFrame(
        {
            "size": summ.size,
            "modularity": summ.modularity,
            "internal_forwards": summ.internal,
            "external_forwards": summ.external,
            "top_users": [tops.get(i, []) for i in range(k)],
        },
        index=pd.Index(np.arange(k), name=key),
    )
    return out
