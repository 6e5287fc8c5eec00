"""The kocgraph pipeline on Apache Spark, for logs that outgrow one machine.

Install with ``pip install kocgraph[spark]`` (brings ``pyspark``; Spark needs Java 17). Nothing here
is imported by ``import kocgraph``: ``import kocgraph.spark`` is the first place pyspark is loaded.

The stages mirror the in-memory tools and share their kernels and validation code:

* :func:`read_log` -- the same schema and validation rules as :func:`kocgraph.read_log`; rejected rows
  go to a DataFrame with a reason each, and accepted + rejected = rows read.
* :func:`edges` -- aggregated directed edges (``n_forwards``, ``n_items``, ``first_time``, ``last_time``).
* :func:`cascades` -- every item's cascade forest, built per item with ``applyInPandas`` by the same
  numpy kernel as :func:`kocgraph.tl.cascades`; per-item figures and per-user reach.
* :func:`pagerank` -- influence PageRank by iterative DataFrame joins (same definition as
  :func:`kocgraph.tl.pagerank`), with checkpoints to cut the lineage.
* :func:`components` -- weakly connected components; :func:`coreness` -- k-core numbers.
* :func:`kocs` -- the KOC ranking of :func:`kocgraph.tl.kocs`: the same features and additive log1p
  model, with the prior weights (the fit on the log's own history runs in memory only), explicit
  weights, or the first version's percentile score.
* :func:`nominate` -- the ``kocgraph nominate`` job: the one orchestration of
  :func:`kocgraph.jobs.nominate`, run by :class:`SparkJobEngine`; :func:`to_sharegraph` -- collect a
  result into a :class:`~kocgraph.ShareGraph` when it fits in memory.

See ``docs/spark.md`` for when to switch engines.
"""

from __future__ import annotations

try:  # pragma: no cover - exercised by the import test only
    import pyspark  # noqa: F401
except ImportError as err:  # pragma: no cover
    raise ImportError(
        "kocgraph.spark needs pyspark, which is not installed. Install it with "
        "`pip install kocgraph[spark]` (Spark also needs Java 17 on the PATH), or use the in-memory "
        "engine (`kocgraph nominate --engine memory`, the default)."
    ) from err

from ._convert import to_sharegraph
from ._kocs import SPARK_FIT_REASON, kocs
from ._read import SparkLog, read_log
from ._session import get_session
from ._stages import cascades, components, coreness, edges, pagerank
from .engine import SparkJobEngine, nominate

__all__ = [
    "SparkLog",
    "get_session",
    "read_log",
    "edges",
    "cascades",
    "pagerank",
    "components",
    "coreness",
    "kocs",
    "nominate",
    "SparkJobEngine",
    "SPARK_FIT_REASON",
    "to_sharegraph",
]
