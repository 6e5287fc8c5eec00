"""``kg.get.rejected`` and ``kg.get.cascade``."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph, require

__all__ = ["rejected", "cascade"]


def rejected(g: ShareGraph) -> pd.DataFrame:
    """The rows ``read_log`` set aside: ``row`` (0-based data row), ``reason``, then the row as given.

    Parameters
    ----------
    g
        The graph read by :func:`kocgraph.read_log`.

    Examples
    --------
    >>> import kocgraph as kg, pandas as pd
    >>> df = pd.DataFrame({"source": ["a", "a", "b"], "target": ["b", "a", "c"], "item": 1, "time": [1, 2, 3]})
    >>> kg.get.rejected(kg.read_log(df))[["row", "reason"]].to_dict("records")
    [{'row': 1, 'reason': 'self_forward'}]
    """
    g = check_graph(g, "kg.get.rejected")
    if g._rejected is None:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "reason": pd.Series(dtype=object)})
    return g._rejected.copy()


def cascade(g: ShareGraph, item: Any) -> pd.DataFrame:
    """One item's cascade forest: one row per holder, ordered by the time they got the item.

    Columns: ``user``, ``parent`` (NaN for roots), ``depth``, ``reach`` (descendants), ``time``.

    Parameters
    ----------
    g
        The graph after :func:`kocgraph.tl.cascades`.
    item
        The item id.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.cascades(g)
    >>> kg.get.cascade(g, "coupon")[["user", "parent", "depth"]].head(3).to_dict("records")
    [{'user': 'staff_li', 'parent': nan, 'depth': 0}, {'user': 'alice', 'parent': 'staff_li', 'depth': 1}, {'user': 'judy', 'parent': 'alice', 'depth': 2}]
    """
    g = check_graph(g, "kg.get.cascade")
    require(g, "cascades", tool="tl.cascades", where="kg.get.cascade", meta=False, trees=True)
    code = int(g.item_codes([item])[0])
    t = g.trees
    assert t is not None  # require(trees=True) above raised NotComputedError if it were
    sel = t[t["item"].cat.codes.to_numpy() == code]
    out = pd.DataFrame(
        {
            "user": sel["user"].astype(object).to_numpy(),
            "parent": sel["parent"].astype(object).to_numpy(),
            "depth": sel["depth"].to_numpy(),
            "reach": sel["subtree_size"].to_numpy() - 1,
            "time": sel["time"].to_numpy(),
        }
    )
    return out.sort_values(["time", "depth"], kind="stable").reset_index(drop=True)
