"""One exit-code contract for the command line, table-driven (issue 17, and every case in docs/errors.md).

    0  ok
    2  usage error: a flag value, or an output path that cannot or must not be written; checked before
       the log is read (every exit-2 row runs with the readers replaced by a trap that fails the test)
    3  data error: the log, the staff file, an unknown user, nothing usable left, out of memory
    1  only for a bug in kocgraph, with a line asking to report it

Each row runs ``kocgraph.cli.main`` in-process (fast, and output captured); ``test_console_script_agrees``
runs a few rows as real subprocesses to show the installed command returns the same codes. No row
prints a traceback. The ``data_*`` rows on duplicate headers, UTF-16, non-UTF-8 bytes, list-typed and
corrupt Parquet, and the Parquet dates out of range, hold the reader of issue 17 (D9) to the contract.

The second half tests the report's seeding bound (D14): :func:`kocgraph.report.seeding_memory`.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from kg_testlib import PROPERTY_SMALL, forward_logs

import kocgraph as kg
from kocgraph import cli, cli_args
from kocgraph import jobs as _jobs
from kocgraph import report as kgreport

TOY_CSV = Path(kg.datasets.toy_path())
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# ------------------------------------------------------------------------------------------------ inputs
def toy_copy(d: Path, name: str = "forwards.csv") -> Path:
    p = d / name
    shutil.copyfile(TOY_CSV, p)
    return p


def epoch_log(d: Path) -> Path:
    p = d / "epoch.csv"
    p.write_text("source,target,item,time\na,b,x,1700000000\nb,c,x,1700000060\nc,d,x,1700000120\n", encoding="utf-8")
    return p


def fifo(d: Path, name: str = "k.csv") -> Path:
    p = d / name
    os.mkfifo(p)
    return p


def dense_log(d: Path, n: int) -> Path:
    """Every one of ``n`` users forwards to every other: n*(n-1) events."""
    u = np.repeat(np.arange(n), n)
    v = np.tile(np.arange(n), n)
    keep = u != v
    p = d / f"dense{n}.csv"
    pd.DataFrame({"source": "u" + pd.Series(u[keep]).astype(str), "target": "u" + pd.Series(v[keep]).astype(str),
                  "item": "it" + pd.Series(u[keep] % 10).astype(str),
                  "time": 1_700_000_000 + np.arange(int(keep.sum()))}).to_csv(p, index=False)
    return p


def parquet(d: Path, table: pa.Table, name: str = "log.parquet") -> Path:
    p = d / name
    pq.write_table(table, p)
    return p


def toy_table(**replace: pa.Array) -> pa.Table:
    t = pa.table({"source": ["brand", "alice", "bob"], "target": ["alice", "bob", "carol"], "item": ["p", "p", "p"],
                  "time": pa.array([1_700_000_000, 1_700_000_060, 1_700_000_120], pa.int64())})
    for k, v in replace.items():
        t = t.set_column(t.schema.get_field_index(k), k, v)
    return t


def big_id_log(d: Path) -> Path:
    """JSON lines whose ids no single Parquet integer type holds: -3 beside 2**64 - 1."""
    p = d / "big.jsonl"
    rows = [{"source": 2**64 - 1, "target": 1, "item": 1, "time": 1}, {"source": 1, "target": 2**63 + 1, "item": 1,
            "time": 2}, {"source": -3, "target": 1, "item": 1, "time": 3}]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return p


# ------------------------------------------------------------------------------------------------ the table
@dataclass
class Case:
    id: str
    argv: Callable[[Path], list[str]]  # builds its files under tmp_path, returns the arguments
    code: int
    says: str  # a substring of stderr (exit != 0) or of stdout + stderr (exit 0)
    check: Callable[[Path], None] | None = None  # more assertions afterwards (what must be left untouched)
    marks: list = field(default_factory=list)


def _same(path: Path, text: str) -> Callable[[Path], None]:
    def check(tmp: Path) -> None:
        assert path.read_text(encoding="utf-8") == text

    return check


def _still_fifo(name: str = "k.csv") -> Callable[[Path], None]:
    return lambda tmp: stat.S_ISFIFO((tmp / name).lstat().st_mode) or pytest.fail(f"{name} is no longer a FIFO")


def _input_kept(name: str = "forwards.csv") -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).read_bytes() == TOY_CSV.read_bytes() or pytest.fail(f"{name} was changed")


def _parquet_ids_as_text(tmp: Path) -> None:
    # the reader reads ids beyond int64 as text (with a warning); had they reached the writer as Python
    # ints of both signs, it would write them as text too (test_cli.test_parquet_columns_no_one_type_holds)
    users = pd.read_parquet(tmp / "k.parquet")["user"].tolist()
    assert sorted(users) == sorted(["18446744073709551615", "1", "-3"])  # every digit, as text


def _uint64_ids(tmp: Path) -> None:
    t = pq.read_table(tmp / "k.parquet")
    assert t.schema.field("user").type == pa.uint64()
    assert sorted(t.column("user").to_pylist()) == [3, 2**64 - 1]  # the two senders (a pure receiver is not ranked)


def _cases() -> list[Case]:
    def toy(t: Path) -> str:
        return str(toy_copy(t))

    return [
        # ---------------------------------------------------------------- 0: ok
        Case("ok_nominate", lambda t: ["nominate", "sample:toy", "--staff-ids", "brand,staff_li", "--top", "3"], 0,
             "alice"),
        Case("ok_describe", lambda t: ["describe", toy(t)], 0, "rows read 30"),
        Case("ok_report", lambda t: ["report", "sample:toy", "--out", str(t / "r.html"), "--no-backtest"], 0,
             "wrote report"),
        Case("ok_tz_with_epoch_times", lambda t: ["describe", str(epoch_log(t)), "--tz", "Asia/Shanghai"], 0,
             "accepted 3"),
        Case("ok_out_link_replaced_not_followed", lambda t: [
            "nominate", "sample:toy", "--top", "3", "--out", str(_link(t))], 0, "wrote table",
             check=lambda t: ((t / "target.csv").read_text() == "mine" and not (t / "k.csv").is_symlink())
             or pytest.fail("the link was followed")),
        Case("ok_parquet_ids_above_2_63_as_text", lambda t: [
            "nominate", str(big_id_log(t)), "--out", str(t / "k.parquet"), "--top", "3"], 0,
             "wrote table", check=_parquet_ids_as_text),
        Case("ok_parquet_uint64_ids", lambda t: [
            "nominate", str(parquet(t, pa.table({
                "source": pa.array([2**64 - 1, 3], pa.uint64()), "target": pa.array([3, 2**63 + 1], pa.uint64()),
                "item": [1, 1], "time": [1, 2]}))), "--out", str(t / "k.parquet"), "--top", "3"], 0, "wrote table",
             check=_uint64_ids),
        Case("ok_parquet_dates_out_of_range_are_rows", lambda t: ["describe", str(parquet(t, toy_table(time=pa.array(
            [pd.Timestamp("2026-01-01").to_pydatetime(), pd.Timestamp("2026-01-02").to_pydatetime(),
             __import__("datetime").datetime(1500, 1, 1)], pa.timestamp("us")))))], 0, "time_out_of_range"),
        Case("ok_data_quality_warning_is_a_line", lambda t: ["describe", str(_write(
            t, "mixed.jsonl", b'{"source": 7, "target": "8", "item": "x", "time": 1}\n'))], 0,
             "warning: the log's ids mix integer and text ids"),  # a line, even where warnings are errors
        # ---------------------------------------------------------------- 2: usage, before any reading
        Case("usage_encoding_bogus", lambda t: ["nominate", toy(t), "--encoding", "bogus"], 2,
             "--encoding bogus is not a text encoding"),
        Case("usage_encoding_not_text", lambda t: ["describe", toy(t), "--encoding", "base64"], 2,
             "not a text encoding"),
        Case("usage_tz_bogus", lambda t: ["nominate", toy(t), "--tz", "bogus"], 2, "--tz bogus is not a time zone"),
        Case("usage_tz_bogus_epoch_times", lambda t: ["describe", str(epoch_log(t)), "--tz", "bogus"], 2,
             "is not a time zone"),
        Case("usage_sep_two_chars", lambda t: ["nominate", toy(t), "--sep", ";;"], 2, "must be one character"),
        Case("usage_rng_negative", lambda t: ["nominate", toy(t), "--rng", "-5"], 2, "a seed must be >= 0"),
        Case("usage_report_rng_negative", lambda t: ["report", toy(t), "--rng", "-5", "--out", str(t / "r.html")], 2,
             "a seed must be >= 0"),
        Case("usage_bootstrap_huge", lambda t: ["nominate", toy(t), "--bootstrap", "100000000"], 2,
             "is more than the 10,000 draws kocgraph takes"),
        Case("usage_bootstrap_negative", lambda t: ["nominate", toy(t), "--bootstrap", "-1"], 2, "must be >= 0"),
        Case("usage_top_zero", lambda t: ["nominate", toy(t), "--top", "0"], 2, "must be >= 1"),
        Case("usage_unknown_flag", lambda t: ["nominate", toy(t), "--no-such-flag"], 2, "unrecognized arguments"),
        Case("usage_unknown_sample", lambda t: ["nominate", "sample:no-such-sample"], 2, "not in the registry"),
        Case("usage_format_without_out", lambda t: ["nominate", toy(t), "--format", "json"], 2, "needs --out"),
        Case("usage_out_fifo", lambda t: ["nominate", toy(t), "--out", str(fifo(t))], 2,
             "is a FIFO (named pipe), not a regular file", check=_still_fifo()),
        Case("usage_out_is_the_input", lambda t: ["nominate", toy(t), "--out", str(t / "forwards.csv")], 2,
             "is an input of this run", check=_input_kept()),
        Case("usage_out_is_the_input_by_another_name", lambda t: [
            "nominate", toy(t), "--out", str(_mkdir(t / "sub") / ".." / "forwards.csv")], 2, "is an input of this run",
             check=_input_kept()),
        Case("usage_out_links_to_the_input", lambda t: ["nominate", toy(t), "--out", str(_link(t, t / "forwards.csv"))],
             2, "is an input of this run", check=_input_kept()),
        Case("usage_rejected_file_would_be_the_input", lambda t: [
            "nominate", str(toy_copy(t, "k.rejected.csv")), "--out", str(t / "k.csv")], 2, "is an input of this run",
             check=_input_kept("k.rejected.csv")),
        Case("usage_out_is_the_staff_file", lambda t: [
            "nominate", toy(t), "--staff", str(_staff(t)), "--out", str(t / "staff.txt")], 2, "is an input of this run",
             check=_same_staff),
        Case("usage_out_directory", lambda t: ["nominate", toy(t), "--out", str(t)], 2, "is a directory"),
        Case("usage_out_missing_directory", lambda t: ["nominate", toy(t), "--out", str(t / "no" / "k.csv")], 2,
             "does not exist"),
        Case("usage_out_unwritable_directory_proc", lambda t: ["nominate", toy(t), "--out", "/proc/kocgraph-k.csv"], 2,
             "cannot write in the output directory '/proc'",
             marks=[pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc (Linux)")]),
        Case("usage_out_read_only_directory", lambda t: ["nominate", toy(t), "--out", str(_read_only(t) / "k.csv")],
             2, "cannot write in the output directory",
             marks=[pytest.mark.skipif(IS_ROOT, reason="root writes into read-only directories")]),
        Case("usage_out_link_to_a_device", lambda t: ["nominate", toy(t), "--out", str(_link(t, Path("/dev/null")))], 2,
             "is a link to a character device"),
        Case("usage_out_character_device", lambda t: ["nominate", toy(t), "--out", str(_chardev(t))], 2,
             "is a character device, not a regular file",
             check=lambda t: stat.S_ISCHR((t / "dev").lstat().st_mode) or pytest.fail("the device was replaced")),
        Case("usage_report_out_fifo", lambda t: ["report", toy(t), "--out", str(fifo(t, "r.html"))], 2,
             "is a FIFO", check=_still_fifo("r.html")),
        Case("usage_report_out_is_the_input", lambda t: ["report", toy(t), "--out", str(t / "forwards.csv")], 2,
             "is an input of this run", check=_input_kept()),
        Case("usage_report_unwritable_directory", lambda t: ["report", toy(t), "--out", "/proc/kocgraph-r.html"], 2,
             "cannot write in the output directory",
             marks=[pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc (Linux)")]),
        Case("usage_report_tz_bogus", lambda t: ["report", toy(t), "--tz", "Nowhere/City", "--out", str(t / "r.html")],
             2, "is not a time zone"),
        Case("usage_bench_out_fifo", lambda t: ["bench", "--sizes", "toy", "--out", str(fifo(t, "b.json"))], 2,
             "is a FIFO", check=_still_fifo("b.json")),
        Case("usage_no_command", lambda t: [], 2, "usage"),
        # ---------------------------------------------------------------- 3: data
        Case("data_missing_log", lambda t: ["nominate", str(t / "nope.csv")], 3, "does not exist"),
        Case("data_missing_staff_file", lambda t: ["nominate", toy(t), "--staff", str(t / "nope.txt")], 3,
             "staff file"),
        Case("data_staff_not_in_log", lambda t: ["nominate", toy(t), "--staff-ids", "zed,yan"], 3,
             "none of the 2 staff ids"),
        Case("data_missing_column", lambda t: ["nominate", toy(t), "--source", "sender"], 3, "not found"),
        Case("data_empty_file", lambda t: ["describe", str(_write(t, "zero.csv", b""))], 3, "empty"),
        Case("data_header_only", lambda t: ["nominate", str(_write(t, "h.csv", b"source,target,item,time\n"))], 3,
             "no data row"),
        Case("data_all_rows_rejected", lambda t: ["nominate", str(_write(
            t, "bad.csv", b"source,target,item,time\na,a,1,1\n,b,1,2\n"))], 3, "all 2 row(s) were rejected"),
        Case("data_not_utf8_suggests_encoding", lambda t: ["describe", str(_write(
            t, "gbk.csv", "source,target,item,time\n张三,李四,海报,1\n".encode("gb18030")))], 3, "gb18030"),
        Case("data_on_invalid_raise", lambda t: ["describe", str(_write(
            t, "r.csv", b"source,target,item,time\na,b,1,1\nc,c,1,2\n")), "--on-invalid", "raise"], 3, "self_forward"),
        Case("data_csv_duplicate_header", lambda t: ["describe", str(_write(
            t, "dup.csv", b"source,target,item,time,time\na,b,1,1,2\n"))], 3, "time"),
        Case("data_parquet_duplicate_header", lambda t: ["describe", str(parquet(t, pa.Table.from_arrays(
            [pa.array(["a"]), pa.array(["b"]), pa.array(["b"]), pa.array(["x"]), pa.array([1])],
            names=["source", "target", "target", "item", "time"])))], 3, "target"),
        Case("data_non_utf8_byte_in_other_column", lambda t: ["describe", str(_write(
            t, "ch.csv", b"source,target,item,time,channel\na,b,x,1,gr\xffoup\nb,c,x,2,chat\n"))], 3, "is not valid utf-8 text"),
        Case("data_utf16_file", lambda t: ["describe", str(_write(
            t, "u16.csv", TOY_CSV.read_text(encoding="utf-8").encode("utf-16")))], 3, "encoding"),
        Case("data_parquet_list_item_column", lambda t: ["describe", str(parquet(t, toy_table(
            item=pa.array([["p"], ["p"], ["q"]], pa.list_(pa.string())))))], 3, "item"),
        Case("data_corrupt_parquet", lambda t: ["describe", str(_write(t, "c.parquet", b"PAR1 not really PAR1"))], 3,
             "c.parquet"),
    ]


def _mkdir(d: Path) -> Path:
    d.mkdir()
    return d


def _write(d: Path, name: str, data: bytes) -> Path:
    p = d / name
    p.write_bytes(data)
    return p


def _link(d: Path, to: Path | None = None) -> Path:
    if to is None:
        to = d / "target.csv"
        to.write_text("mine")
    p = d / "k.csv"
    p.symlink_to(to)
    return p


STAFF_TEXT = "brand\nstaff_li\n"


def _staff(d: Path) -> Path:
    p = d / "staff.txt"
    p.write_text(STAFF_TEXT, encoding="utf-8")
    return p


def _same_staff(tmp: Path) -> None:
    assert (tmp / "staff.txt").read_text(encoding="utf-8") == STAFF_TEXT


def _read_only(d: Path) -> Path:
    r = d / "ro"
    r.mkdir()
    r.chmod(0o500)
    return r


def _chardev(d: Path) -> Path:
    p = d / "dev"
    try:  # a private copy of the null device (never /dev/null itself)
        os.mknod(p, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError, AttributeError) as err:
        pytest.skip(f"cannot make a character device here: {err}")
    return p


CASES = _cases()


def _trap(*a: object, **k: object) -> None:
    raise AssertionError("the log was read before the flags were checked")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_exit_code(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    argv = case.argv(tmp_path)
    if case.code == 2:  # usage errors are found before any reading: reading fails the test
        monkeypatch.setattr(_jobs.nomination, "read_input", _trap)
        monkeypatch.setattr(cli_args, "read_input", _trap)  # what the report and describe read with
    try:
        rc = cli.main(argv)
    finally:
        for p in tmp_path.rglob("*"):  # let tmp_path be cleaned up after a read-only row
            if p.is_dir() and not p.is_symlink():
                p.chmod(0o700)
    out, err = capsys.readouterr()
    assert rc == case.code, f"exit {rc}, expected {case.code}\nstdout: {out[-2000:]}\nstderr: {err[-2000:]}"
    assert "Traceback" not in err and "internal error" not in err
    assert case.says in (out + err if rc == 0 else err), err
    if rc != 0:
        assert err.strip()
    if rc == 2 and "usage:" not in err:  # ours, not argparse's: no output file was started
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]
    if case.check is not None:
        case.check(tmp_path)


def test_every_issue_case_has_a_row() -> None:
    ids = {c.id for c in CASES}
    codes = {c.code for c in CASES}
    assert codes == {0, 2, 3}  # exit 1 has its own tests below (it needs a bug)
    for needed in ("usage_encoding_bogus", "usage_tz_bogus", "usage_tz_bogus_epoch_times", "usage_sep_two_chars",
                   "usage_rng_negative", "usage_bootstrap_huge", "usage_out_fifo", "usage_out_is_the_input",
                   "usage_out_unwritable_directory_proc", "ok_parquet_ids_above_2_63_as_text",
                   "data_csv_duplicate_header", "data_parquet_duplicate_header", "data_non_utf8_byte_in_other_column",
                   "data_utf16_file", "data_parquet_list_item_column", "ok_parquet_dates_out_of_range_are_rows",
                   "data_corrupt_parquet"):
        assert needed in ids, needed


# ------------------------------------------------------------------------------------------------ 1: a bug
def test_a_bug_exits_1_and_asks_for_a_report(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*a: object, **k: object) -> None:
        raise ZeroDivisionError("kernel bug")

    monkeypatch.setattr(cli, "nominate", broken)
    rc = cli.main(["nominate", "sample:toy"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert "internal error: ZeroDivisionError: kernel bug" in err
    assert "This is a bug in kocgraph" in err and "please report it" in err and "--debug" in err


def test_out_of_memory_is_a_data_error_not_a_bug(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    def too_big(*a: object, **k: object) -> None:
        raise MemoryError

    monkeypatch.setattr(cli, "nominate", too_big)
    rc = cli.main(["nominate", "sample:toy"])
    err = capsys.readouterr().err
    assert rc == 3 and "out of memory" in err and "please report" not in err


# ------------------------------------------------------------------------------------------------ subprocess
def _console() -> list[str]:
    exe = shutil.which("kocgraph")
    return [exe] if exe else [sys.executable, "-m", "kocgraph.cli"]


@pytest.mark.parametrize("case_id", ["usage_tz_bogus", "usage_out_fifo", "data_missing_log", "ok_describe"])
def test_console_script_agrees(case_id: str, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.id == case_id)
    env = {**os.environ, "PYTHONPATH": str(Path(kg.__file__).parent.parent)}
    proc = subprocess.run([*_console(), *case.argv(tmp_path)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=env, check=False)
    assert proc.returncode == case.code, proc.stderr
    assert "Traceback" not in proc.stderr and case.says in proc.stdout + proc.stderr


def test_early_stop_does_not_abort_at_exit(tmp_path: Path) -> None:
    # A CSV whose columns are not the log's stops the streamed parser after its first batch. pyarrow
    # had read-ahead reads queued on its I/O threads through our Python stream; left for the
    # interpreter's shutdown they aborted the process (SIGABRT, exit 134, "terminate called without
    # an active exception") in about 4 runs of 10 here. Ten runs: each must be a clean data error.
    (tmp_path / "l.csv").write_text("src,dst,when\na,b,1\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(kg.__file__).parent.parent)}
    for _ in range(10):
        proc = subprocess.run([*_console(), "nominate", "l.csv"], capture_output=True, text=True, timeout=120,
                              cwd=tmp_path, env=env, check=False)
        assert proc.returncode == 3, proc.stderr
        assert "terminate called" not in proc.stderr


def test_cli_hints_speak_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the library says "Pass source='<column>' to kg.read_log"; on the command line that is --source
    (tmp_path / "l.csv").write_text("src,dst,when\na,b,1\n", encoding="utf-8")
    assert cli.main(["nominate", str(tmp_path / "l.csv")]) == 3
    err = capsys.readouterr().err
    assert "--source src" in err and "--source <column>" in err
    assert "kg.read_log" not in err and "source=" not in err
    (tmp_path / "m.csv").write_text("source,target,time\na,b,1\n", encoding="utf-8")
    assert cli.main(["nominate", str(tmp_path / "m.csv")]) == 3
    err = capsys.readouterr().err
    assert "--item none" in err and "item=" not in err


def test_cli_words_leaves_library_only_hints() -> None:
    parser = cli.build_parser()
    # a hint with no command-line flag stays as the library wrote it
    msg = "pass ax=None to draw a new figure"
    assert cli.cli_words(msg, parser) == msg
    assert cli.cli_words("pass on_invalid='quarantine' to kg.read_log.", parser) == "pass --on-invalid quarantine."


# ------------------------------------------------------------------------------------------------ D14: seeding bound
def all_to_all(n: int) -> kg.ShareGraph:
    u = np.repeat(np.arange(n), n)
    v = np.tile(np.arange(n), n)
    keep = u != v
    return kg.read_log(pd.DataFrame({"source": u[keep], "target": v[keep], "item": u[keep] % 10,
                                     "time": np.arange(int(keep.sum()))}))


def test_seeding_memory_known_answer_all_to_all() -> None:
    # n users, each forwarding to all n-1 others, weighted-cascade probabilities 1/(n-1). The first
    # level: x_0 = 1/n on every user, each with n-1 in-edges -> B * (n-1) pairs. Every later level is
    # the same: (A_p x)_u = sum_v 1/(n-1) * 1/n = 1/n, below 1 - seen. So the peak is
    # B * (n-1) * 40 bytes = 50,000 * 59 * 40 = 118,000,000 for n = 60.
    from kocgraph.algorithms.imm import RR_BATCH

    assert RR_BATCH == 50_000
    assert kgreport.seeding_memory(all_to_all(60)) == pytest.approx(50_000 * 59 * 40, rel=1e-9)


def test_seeding_memory_cross_checked_with_the_sampler() -> None:
    # the estimate against the bytes the RR-set sampler really holds (tracemalloc), on a dense graph
    # where a level's pairs dominate: within 25% of a batch's measured peak, and not below it
    import tracemalloc

    import scipy.sparse as sp

    from kocgraph.algorithms.imm import RR_BATCH, rr_sets
    from kocgraph.tl._grow import edge_probabilities

    g = all_to_all(200)
    est = kgreport.seeding_memory(g)
    indptr, indices, p, _ = edge_probabilities(g, "tie_strength")
    R = sp.csr_matrix((p, indices, indptr), shape=(g.n_users, g.n_users)).T.tocsr()
    B = 2000
    tracemalloc.start()
    rr_sets(R.indptr, R.indices, R.data, B, np.random.default_rng(0))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    scaled = est * B / RR_BATCH
    assert peak <= scaled <= 1.25 * peak, (peak, scaled)


@PROPERTY_SMALL
@given(forward_logs(min_events=1))
def test_seeding_memory_is_at_least_the_first_level(df: pd.DataFrame) -> None:
    # level 0 is exact: B sets rooted uniformly, each expanding its root's in-edges (mean in-degree)
    from kocgraph.algorithms.imm import RR_BATCH

    g = kg.read_log(df, time_unit="s")
    first = RR_BATCH * (g.n_edges / g.n_users) * 40 if g.n_users else 0.0
    est = kgreport.seeding_memory(g)
    assert est >= first * (1 - 1e-9) - 1
    assert est == kgreport.seeding_memory(g)  # deterministic


def test_report_on_a_dense_log_says_too_dense_instead_of_blowing_up(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # 600 users all-to-all need 50,000 * 599 * 40 bytes = 1.12 GiB to seed: above the 1 GiB budget.
    # kg.tl.seeds is replaced by a trap: the estimate must stop the report before any sampling.
    g = all_to_all(600)
    assert kgreport.seeding_memory(g) > kgreport.SEED_MEMORY_BUDGET

    def trap(*a: object, **k: object) -> None:
        raise AssertionError("seeding ran on a log too dense for it")

    monkeypatch.setattr(kg.tl, "seeds", trap)
    lines: list[str] = []
    page = kgreport.build_report(g, top=3, seeds=3, backtest=False, note=lines.append)
    assert "Seeds not available: this log is too dense for seeding" in page
    assert len(lines) == 1 and "1.1 GiB" in lines[0] and "receives from 599 others" in lines[0]
    # the command line: exit 0, the page written, the reason on stderr
    small = dense_log(tmp_path, 60)
    monkeypatch.setattr(kgreport, "SEED_MEMORY_BUDGET", 64 << 20)  # 60 users need 118 MB: above 64 MiB
    rc = cli.main(["report", str(small), "--seeds", "3", "--no-backtest", "--out", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert rc == 0 and "no seeds in the report: this log is too dense" in err
    assert "too dense for seeding" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_report_seeds_normally_within_the_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    rc = cli.main(["report", "sample:toy", "--staff-ids", "brand,staff_li", "--seeds", "2", "--no-backtest",
                   "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 0 and "too dense" not in err
    page = out.read_text(encoding="utf-8")
    assert 'id="seeds"' in page and "Seeds not available" not in page
