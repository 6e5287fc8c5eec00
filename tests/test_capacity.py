"""A log too large for memory fails before it is read (issue 15, bad input): the estimate of its
events (Parquet footers, text size x lines of the first megabytes, samples, DataFrames), the memory
that needs, and the job's refusal with a message pointing to ``--engine spark``."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kocgraph import cli
from kocgraph import jobs as _jobs
from kocgraph.jobs import capacity


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    return pd.DataFrame({"source": [f"u{x}" for x in r.integers(0, 10**6, n)],
                         "target": [f"user_{x}" for x in r.integers(0, 10**6, n)],
                         "item": r.integers(0, 10**4, n), "time": 1_700_000_000 + r.integers(0, 10**7, n)})


# ------------------------------------------------------------------------------------------------ known answers
def test_known_sizes_without_reading(tmp_path: Path) -> None:
    df = _frame(1_000)
    assert capacity.estimate_events(df) == 1_000  # its length
    assert capacity.estimate_events("sample:toy") == 30  # the registry's stated size
    df.to_csv(tmp_path / "a.csv", index=False)
    assert capacity.estimate_events(tmp_path / "a.csv") == 1_000  # small: every line counted, less the header
    df.to_parquet(tmp_path / "a.parquet", index=False)
    assert capacity.estimate_events(str(tmp_path / "a.parquet")) == 1_000  # the footer's row count
    (tmp_path / "logs" / "dt=1").mkdir(parents=True)
    (tmp_path / "logs" / "dt=2").mkdir()
    df.iloc[:300].to_parquet(tmp_path / "logs" / "dt=1" / "p.parquet", index=False)
    df.iloc[300:].to_parquet(tmp_path / "logs" / "dt=2" / "p.parquet", index=False)
    assert capacity.estimate_events(str(tmp_path / "logs")) == 1_000  # a folder: 300 + 700
    assert capacity.estimate_events([str(tmp_path / "a.csv"), str(tmp_path / "a.parquet")]) == 2_000
    assert capacity.estimate_events(io.StringIO("source,target\na,b\n")) is None  # never consumed here


def test_large_text_files_are_estimated_from_their_first_megabytes(tmp_path: Path, monkeypatch) -> None:
    # 20,000 rows of about 44 bytes; with a 64 KiB sample the rest is extrapolated from the sample's
    # bytes per line (raw bytes for the gzip file): within 5% for rows of even length
    monkeypatch.setattr(capacity, "SAMPLE_BYTES", 64 * 1024)
    df = _frame(20_000, seed=1)
    df.to_csv(tmp_path / "b.csv", index=False)
    with gzip.open(tmp_path / "b.csv.gz", "wt") as fh:
        df.to_csv(fh, index=False)
    for name in ("b.csv", "b.csv.gz"):
        est = capacity.estimate_events(str(tmp_path / name))
        assert abs(est - 20_000) <= 1_000, (name, est)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 200), trailing_newline=st.booleans())
def test_small_csv_count_is_exact(tmp_path_factory, n: int, trailing_newline: bool) -> None:
    path = tmp_path_factory.mktemp("c") / "c.csv"
    text = "source,target,item,time\n" + "".join(f"u{i},v{i},1,{i}\n" for i in range(n))
    path.write_text(text if trailing_newline or n == 0 else text[:-1])
    assert capacity.estimate_events(str(path)) == n


def test_memory_needed_is_linear_in_events() -> None:
    # BASE_BYTES + BYTES_PER_EVENT per event
    assert capacity.memory_needed(0) == capacity.BASE_BYTES
    assert capacity.memory_needed(10**8) - capacity.memory_needed(0) == 10**8 * capacity.BYTES_PER_EVENT


# ------------------------------------------------------------------------------------------------ the check
def test_check_refuses_with_the_need_and_the_fix(tmp_path: Path) -> None:
    _frame(1_000).to_parquet(tmp_path / "a.parquet", index=False)
    need = capacity.memory_needed(1_000)
    capacity.check_memory(str(tmp_path / "a.parquet"), available=need)  # exactly enough: runs
    with pytest.raises(capacity.LogTooLargeError) as info:
        capacity.check_memory(str(tmp_path / "a.parquet"), available=need - 1)
    msg = str(info.value)
    assert "about 1,000 events" in msg and f"{capacity.BYTES_PER_EVENT} bytes per event" in msg
    assert "--engine spark" in msg and "a.parquet" in msg
    assert isinstance(info.value, MemoryError)  # callers catching MemoryError still catch it
    assert f"{capacity.SKIP_ENV}=1" in msg


def test_the_operator_can_skip_the_check(tmp_path: Path, monkeypatch) -> None:
    _frame(1_000).to_parquet(tmp_path / "a.parquet", index=False)
    monkeypatch.setenv(capacity.SKIP_ENV, "1")
    capacity.check_memory(str(tmp_path / "a.parquet"), available=1)  # no refusal
    monkeypatch.setenv(capacity.SKIP_ENV, "0")
    with pytest.raises(capacity.LogTooLargeError):
        capacity.check_memory(str(tmp_path / "a.parquet"), available=1)


def test_unknown_memory_or_size_never_refuses(monkeypatch) -> None:
    monkeypatch.setattr(capacity, "available_memory", lambda: None)
    capacity.check_memory(_frame(10))
    capacity.check_memory(io.BytesIO(b"source,target\n"), available=1)


def test_job_fails_before_reading_and_writes_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    def trap(*a: Any, **k: Any) -> Any:
        raise AssertionError("the log was read")

    monkeypatch.setattr(capacity, "available_memory", lambda: 100 * 2**20)  # 100 MiB left on this "machine"
    monkeypatch.setattr(_jobs.nomination, "read_input", trap)
    out = tmp_path / "kocs.csv"
    rc = cli.main(["nominate", "sample:synthetic-1e7", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == cli.EXIT_DATA and "Traceback" not in err
    assert "about 10,095,236 events" in err and "0.1 GiB of memory available" in err and "--engine spark" in err
    assert not list(tmp_path.iterdir())


def test_job_runs_when_it_fits(monkeypatch) -> None:
    monkeypatch.setattr(capacity, "available_memory", lambda: capacity.memory_needed(30))
    res = _jobs.nominate(_jobs.NominateConfig("sample:toy", staff_ids=["brand", "staff_li"], top=3, progress=False))
    assert len(res.table) == 3
