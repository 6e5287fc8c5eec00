"""Write a year-long log of about 1e8 events for the 1e8 nomination figures of docs/benchmarks.md.

The log is ``--chunks`` runs of the package's seeded generator,
``kg.datasets.synthetic_frame(1_000_000, 93_000, rng=100 + i)`` for i = 0, 1, ...: the same million
users in every chunk, each chunk's items prefixed ``c{i}_`` (its own cascades), its times shifted by
i x 28 days. Eleven chunks give 106.7M rows. ``--format parquet`` writes a folder of
``part-{i}.parquet`` files; ``--format csv`` writes one CSV file with string ids (``u0004711``,
``c3_item_12``) and epoch-second times, the header once. Chunks are generated and written one at a
time, so the script itself needs about 3 GiB.

Usage::

    python benchmarks/make_big_log.py --format csv --out /tmp/big/log1e8.csv
    /usr/bin/time -v kocgraph nominate /tmp/big/log1e8.csv --out /tmp/big/r/kocs.csv --quiet
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

DAY_S = 86_400


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--format", choices=("csv", "parquet"), default="csv")
    ap.add_argument("--out", required=True, help="the CSV file, or the Parquet folder, to write")
    ap.add_argument("--chunks", type=int, default=11, help="generator runs of about 9.7M rows each (default 11)")
    ap.add_argument("--users", type=int, default=1_000_000, help="users per chunk (smaller for a smoke run)")
    ap.add_argument("--items", type=int, default=93_000, help="items per chunk")
    a = ap.parse_args(argv)

    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from kocgraph.datasets import synthetic_frame

    out = Path(a.out)
    if a.format == "parquet":
        out.mkdir(parents=True, exist_ok=True)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    rows = 0
    t0 = time.perf_counter()
    try:
        for i in range(a.chunks):
            df, _ = synthetic_frame(a.users, a.items, rng=100 + i)
            df["item"] = f"c{i}_" + df["item"].astype(str)
            df["time"] = df["time"] + i * 28 * DAY_S
            if a.format == "csv":  # plain text columns (the CSV writer takes no categoricals)
                for c in ("event_type", "channel"):
                    df[c] = df[c].astype("string")
            table = pa.Table.from_pandas(df, preserve_index=False)
            if a.format == "parquet":
                pq.write_table(table, out / f"part-{i}.parquet")
            else:
                if writer is None:
                    writer = pacsv.CSVWriter(out, table.schema, write_options=pacsv.WriteOptions(quoting_style="needed"))
                writer.write_table(table)
            rows += len(df)
            print(f"chunk {i}: {len(df):,} rows ({rows:,} in all, {time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    finally:
        if writer is not None:
            writer.close()
    print(f"{rows:,} rows written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
