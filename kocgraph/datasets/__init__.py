"""Sample data: a hand-checkable toy log, a seeded synthetic generator, and readers for public datasets.

Examples
--------
>>> import kocgraph as kg
>>> g = kg.datasets.toy()
>>> g.n_events
30
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal

import pandas as pd

from .._core.graph import ShareGraph
from ._registry import SAMPLES, cache_dir, load_sample, samples
from ._synthetic import synthetic_frame
from .public import public_datasets, read_douban, read_higgs, read_stackexchange, read_weibo_deephawkes

__all__ = ["toy", "toy_items", "toy_frame", "toy_path", "synthetic", "synthetic_frame", "samples", "load_sample", "cache_dir", "SAMPLES",
           "public_datasets", "read_weibo_deephawkes", "read_douban", "read_stackexchange", "read_higgs"]


def toy_path() -> str:
    """Path of the bundled toy log (CSV, 30 events, 17 users, 3 items).

    Examples
    --------
    >>> import kocgraph as kg
    >>> kg.datasets.toy_path().endswith("toy.csv")
    True
    """
    return str(resources.files(__package__).joinpath("data/toy.csv"))


def toy_frame() -> pd.DataFrame:
    """The toy log as a raw DataFrame (columns source, target, item, time, event_type, channel, value).

    Three items (``poster``, ``coupon``, ``article``) spread by a brand account, one staff member and
    fifteen consumers, with exposures, a 2-cycle and three purchases: small enough to check by hand.

    Examples
    --------
    >>> import kocgraph as kg
    >>> kg.datasets.toy_frame().shape
    (30, 7)
    """
    return pd.read_csv(toy_path(), dtype={"source": str, "target": str, "item": str, "time": str})


def toy_items() -> pd.DataFrame:
    """Item metadata for the toy log: category and price band of each item.

    Examples
    --------
    >>> import kocgraph as kg
    >>> kg.datasets.toy_items().loc["coupon", "category"]
    'promotion'
    """
    return pd.DataFrame(
        {"category": ["beauty", "promotion", "parenting"], "price_band": ["high", "low", "none"]},
        index=pd.Index(["poster", "coupon", "article"], name="item"),
    )


def toy() -> ShareGraph:
    """The toy log as a :class:`~kocgraph.ShareGraph` (see :func:`toy_frame`).

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> g.n_users, g.n_items
    (17, 3)
    """
    from ..io.readers import read_log

    g = read_log(toy_path())
    g.meta["dataset"] = {"name": "toy", "staff": ["brand", "staff_li"]}
    return g


def synthetic(
    n_users: int = 10_000,
    n_items: int = 500,
    *,
    n_staff: int = 5,
    n_planted: int = 20,
    n_broadcasters: int = 0,
    mean_followers: float = 15.0,
    n_communities: int = 20,
    purchase_rate: float = 0.03,
    ids: Literal["str", "int"] = "str",
    rng: Any = 0,
) -> ShareGraph:
    """A seeded synthetic forwarding log, read into a :class:`~kocgraph.ShareGraph`.

    Cascades run over a heavy-tailed follower graph with community structure. Staff accounts start
    60% of the items; ``n_planted`` ordinary consumers forward far more than anyone else (the
    *planted* strong spreaders); ``n_broadcasters`` decoys forward as much as the planted users but
    their receivers pass things on at a tenth of the usual rate (loud, not influential); about ``purchase_rate`` of new receivers buy. The ids of the staff
    and the planted users are in ``g.meta["synthetic"]``. The same ``rng`` gives the same log.

    Parameters
    ----------
    n_users, n_items
        Population and number of items (the number of events follows from the cascades: roughly
        ``n_items * 60`` with the defaults).
    ids
        ``"str"`` for ids like ``"u000042"`` / ``"staff_001"``, ``"int"`` for 11-digit integers.
    rng
        Seed or numpy Generator.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.synthetic(2_000, 50, rng=1)
    >>> len(g.meta["synthetic"]["planted"])
    20
    >>> g.n_events == kg.datasets.synthetic(2_000, 50, rng=1).n_events
    True
    """
    from ..io.readers import read_log

    df, truth = synthetic_frame(
        n_users, n_items, n_staff=n_staff, n_planted=n_planted, n_broadcasters=n_broadcasters,
        mean_followers=mean_followers,
        n_communities=n_communities, purchase_rate=purchase_rate, ids=ids, rng=rng,
    )
    g = read_log(df, time_unit="s")
    g.meta["synthetic"] = truth
    return g
