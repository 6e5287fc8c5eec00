"""``kg.get.seeds``."""

from __future__ import annotations

import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph, require

__all__ = ["seeds"]


def seeds(g: ShareGraph, *, key: str = "seeds") -> pd.DataFrame:
    """The chosen seeds in pick order: ``order``, ``user``, ``marginal_gain`` (extra users reached),
    ``spread`` (cumulative, RR estimate), ``spread_lo``/``spread_hi`` (simulated 95% interval of the
    cumulative spread, when checked), ``cost`` and ``why`` in plain words.

    Parameters
    ----------
    g
        The graph after :func:`kocgraph.tl.seeds`.
    key
        The ``key_added`` of the seeding run.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.seeds(g, k=1, rng=0)
    >>> kg.get.seeds(g).loc[0, "why"].startswith("adds about")
    True
    """
    g = check_graph(g, "kg.get.seeds")
    require(g, key, tool="tl.seeds", where="kg.get.seeds", args="k=...", tables=[key])
    t = g.tables[key]
    out = pd.DataFrame({"order": t["order"].to_numpy(), "user": g.nodes.index[t["user"].to_numpy()],
                        "marginal_gain": t["marginal_gain"].to_numpy(), "spread": t["spread"].to_numpy()})
    for c in ("spread_sim", "spread_lo", "spread_hi"):
        if c in t.columns:
            out[c] = t[c].to_numpy()
    out["cost"] = t["cost"].to_numpy()
    beyond = " beyond the staff's own reach" if g.meta[key]["params"].get("n_excluded") else ""
    why = []
    for r in out.itertuples(index=False):
        s = f"adds about {r.marginal_gain:,.0f} users not reached by the earlier seeds{beyond}"
        if g.meta[key]["params"].get("budget"):
            s += f" ({r.marginal_gain / r.cost:,.2f} users per unit of cost)"
        why.append(s)
    out["why"] = why
    return out
