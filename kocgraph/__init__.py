"""kocgraph: find Key Opinion Consumers (KOCs) in content-forwarding networks.

One object, four verbs: :class:`ShareGraph` holds the log and every result; ``kg.pp`` returns new
graphs, ``kg.tl`` computes and annotates, ``kg.get`` returns tidy DataFrames, ``kg.pl`` draws.

Examples
--------
>>> import kocgraph as kg
>>> g = kg.datasets.toy()
>>> kg.tl.cascades(g)
>>> int(g.nodes.loc["alice", "reach"])
16
"""

from __future__ import annotations

from . import datasets, evaluate, get, pl, pp, tl
from ._core.graph import ShareGraph
from ._version import __version__
from .exceptions import (
    ConvergenceWarning,
    CorruptSaveError,
    DataQualityWarning,
    InvalidParameterError,
    KocgraphError,
    LogSchemaError,
    NodeNotFoundError,
    NotComputedError,
)
from .io import read, read_adoptions, read_log, write

__all__ = [
    "ShareGraph",
    "read_log",
    "read_adoptions",
    "read",
    "write",
    "pp",
    "pl",
    "evaluate",
    "tl",
    "get",
    "datasets",
    "__version__",
    "KocgraphError",
    "LogSchemaError",
    "InvalidParameterError",
    "NodeNotFoundError",
    "NotComputedError",
    "CorruptSaveError",
    "ConvergenceWarning",
    "DataQualityWarning",
]
