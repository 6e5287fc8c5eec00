"""The Spark engine completes on a log larger than the driver's memory (slow: minutes).

A 6M-event Parquet log (about 0.9 GB as Python objects, well over 500 MB as JVM rows) is read by a
fresh Python process whose Spark driver (local mode: driver and executors share one JVM) is capped
at ``spark.driver.memory=512m``; the whole nomination job still completes, because every stage
streams, spills or writes Parquet instead of collecting. Run with ``-m slow``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("pyspark")

pytestmark = [pytest.mark.slow]

N_EVENTS = 6_000_000


def _write_log(path, n=N_EVENTS, seed=0):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    n_users, n_items = 500_000, 60_000
    src = rng.zipf(1.6, n) % n_users
    tgt = rng.integers(0, n_users, n)
    item = rng.integers(0, n_items, n)
    t = 1_767_225_600 + rng.integers(0, 30 * 86400, n)
    pq.write_table(pa.table({
        "source": pa.array(np.char.add("u", src.astype(str))),
        "target": pa.array(np.char.add("u", tgt.astype(str))),
        "item": pa.array(np.char.add("i", item.astype(str))),
        "time": pa.array(t),
    }), path, row_group_size=500_000)


def test_nominate_completes_with_driver_memory_far_below_the_log(tmp_path):
    log = tmp_path / "big.parquet"
    _write_log(log)
    out = tmp_path / "kocs.csv"
    code = textwrap.dedent(f"""
        import json, warnings
        warnings.simplefilter("ignore")
        import kocgraph.spark as ks
        from kocgraph.jobs import NominateConfig
        spark = ks.get_session(master="local[2]", driver_memory="512m", shuffle_partitions=16)
        assert spark.sparkContext.getConf().get("spark.driver.memory") == "512m"
        res = ks.nominate(NominateConfig({str(log)!r}, staff_ids=["u0"], top=20, out={str(out)!r}), spark=spark)
        print(json.dumps(res.manifest["rows"]))
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=3600)
    assert p.returncode == 0, p.stderr[-4000:]
    rows = json.loads(p.stdout.strip().splitlines()[-1])
    assert rows["rows_read"] == N_EVENTS
    assert rows["rows_accepted"] + rows["rows_rejected"] == N_EVENTS
    assert out.exists() and out.with_name("kocs.csv.manifest.json").exists()
