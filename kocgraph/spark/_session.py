"""The Spark session: local mode by default, or the caller's own session for a cluster."""

from __future__ import annotations

import os
import shutil
from typing import Any

from pyspark.sql import SparkSession

__all__ = ["get_session", "check_java"]


def check_java() -> None:
    """Raise a clear error when no Java runtime is visible (Spark's JVM would fail obscurely)."""
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return
    if shutil.which("java") is None:
        raise RuntimeError(
            "Spark needs Java 17, and no `java` is on the PATH (and JAVA_HOME is not set). Install a JDK or "
            "JRE 17 (e.g. `apt-get install openjdk-17-jre-headless`), or use the in-memory engine."
        )


def get_session(
    spark: SparkSession | None = None,
    *,
    master: str = "local[*]",
    app_name: str = "kocgraph",
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
    config: dict[str, Any] | None = None,
) -> SparkSession:
    """The Spark session to run on: ``spark`` when given (e.g. a cluster's), else a local one.

    Parameters
    ----------
    spark
        An existing :class:`pyspark.sql.SparkSession`; returned unchanged (its settings are the
        caller's). When ``None`` a session is started (or the active one reused) with ``master``.
    master
        ``"local[*]"`` (every core of this machine, the default), ``"local[2]"``, or a cluster URL.
    shuffle_partitions
        ``spark.sql.shuffle.partitions``; by default twice the local cores (Spark's 200 is far too
        many for one machine).
    driver_memory
        ``spark.driver.memory`` for a new local session, e.g. ``"4g"``.
    config
        Any other Spark settings for a new session.

    Returns
    -------
    SparkSession

    Examples
    --------
    >>> from kocgraph.spark import get_session
    >>> spark = get_session(master="local[2]")  # doctest: +SKIP
    """
    if spark is not None:
        return spark
    check_java()
    b = SparkSession.builder.master(master).appName(app_name)
    if shuffle_partitions is None:
        cores = os.cpu_count() or 2
        if master.startswith("local[") and master[6:-1].isdigit():
            cores = int(master[6:-1])
        shuffle_partitions = max(2, 2 * cores)
    settings: dict[str, Any] = {
        "spark.sql.shuffle.partitions": shuffle_partitions,
        "spark.ui.enabled": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.adaptive.enabled": "true",
    }
    if driver_memory is not None:
        settings["spark.driver.memory"] = driver_memory
    settings.update(config or {})
    for k, v in settings.items():
        b = b.config(k, str(v))
    s = b.getOrCreate()
    s.sparkContext.setLogLevel("ERROR")
    return s
