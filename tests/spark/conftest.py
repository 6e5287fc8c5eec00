"""A local Spark session for the Spark engine's tests (2 cores, 4 shuffle partitions, no UI).

Every test here is skipped when pyspark is not installed or no Java runtime is on the PATH.
"""

from __future__ import annotations

import os
import shutil
import warnings

import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java 17 (no `java` on the PATH)", allow_module_level=True)


@pytest.fixture(scope="session")
def spark():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyspark's own import-time warnings (e.g. about the pandas version)
        import kocgraph.spark as ks

        s = ks.get_session(master="local[2]", shuffle_partitions=4,
                           config={"spark.default.parallelism": 2, "spark.sql.adaptive.coalescePartitions.enabled": "true"})
    yield s
    s.stop()
