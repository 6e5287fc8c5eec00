"""Root conftest: doctest collection of optional parts only where their extra is installed."""

import importlib.util

# kocgraph.spark imports pyspark (the [spark] extra); without it, its doctests are not collected
# (tests/spark skips itself the same way)
collect_ignore = [] if importlib.util.find_spec("pyspark") else ["kocgraph/spark"]
