"""The command line: ``kocgraph nominate`` (every flag, every exit code), ``describe``, ``--version``.

Runs in-process through ``kocgraph.cli.main([...])`` (output captured with capsys), plus real
subprocess calls of the installed ``kocgraph`` console script. The job logic itself
(``kocgraph.jobs``) is also tested directly, without argparse.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import kocgraph as kg
from kocgraph import cli
from kocgraph import jobs as _jobs

TOY_CSV = Path(kg.__file__).parent / "datasets" / "data" / "toy.csv"
STAFF = ["brand", "staff_li"]


# ------------------------------------------------------------------------------------------------ helpers
def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def toy_frame() -> pd.DataFrame:
    return pd.read_csv(TOY_CSV, dtype=str, keep_default_na=False)


def manifest_of(out: Path) -> dict[str, Any]:
    return json.loads(out.with_name(out.name + ".manifest.json").read_text(encoding="utf-8"))


def pseudo(salt: str, uid: Any) -> str:
    return "p_" + hmac.new(salt.encode(), str(uid).encode(), hashlib.sha256).hexdigest()[:16]


@pytest.fixture()
def staff_file(tmp_path: Path) -> Path:
    p = tmp_path / "staff.txt"
    p.write_text("# the brand's own accounts\nbrand\n\nstaff_li\n", encoding="utf-8")
    return p


@pytest.fixture()
def bad_log(tmp_path: Path) -> Path:
    """The toy log under other column names, with 5 bad rows of 4 kinds and one malformed line."""
    df = toy_frame().rename(columns={"source": "from_user", "target": "to_user", "item": "post", "time": "ts"})
    lines = [",".join(df.columns)] + [",".join(r) for r in df.astype(str).itertuples(index=False)]
    lines += [
        ",alice,poster,2026-01-02T10:00:00Z,share,group,",          # null_source
        "alice,alice,poster,2026-01-02T10:01:00Z,share,group,",     # self_forward
        "alice,bob,poster,not a time,share,group,",                 # unparseable_time
        lines[1],                                                   # duplicate of the first event
        "alice,bob,poster,2026-01-02T10:03:00Z,share,group,,EXTRA",  # malformed_row (one field too many)
    ]
    p = tmp_path / "forwards.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


LOG_COLS = ["--source", "from_user", "--target", "to_user", "--item", "post", "--time", "ts"]


# ------------------------------------------------------------------------------------------------ exit 0
def test_readme_first_command_prints_only(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rc, out, err = run(["nominate", "sample:toy", "--staff-ids", "brand,staff_li", "--top", "10"], capsys)
    assert rc == 0, err
    lines = out.strip().splitlines()
    # the summary, how the score was weighted (the toy is too thin to fit: said so), the table
    assert lines[1].startswith("score: prior weights (the log has 30 events")
    assert lines[2].split()[:4] == ["rank", "user", "score", "next_reach"]
    assert [ln.split()[1] for ln in lines[3:6]] == ["alice", "bob", "nina"]
    assert len(lines) == 3 + 10
    assert "excluded 2 staff" in lines[0]
    assert list(tmp_path.iterdir()) == []  # no --out: nothing written
    assert "Traceback" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(["--version"], capsys)
    assert rc == 0 and out.strip() == f"kocgraph {kg.__version__}"


def test_csv_output_manifest_and_rejected_rows(tmp_path: Path, bad_log: Path, staff_file: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "kocs.csv"
    rc, stdout, err = run(["nominate", str(bad_log), *LOG_COLS, "--staff", str(staff_file), "--top", "5",
                           "--out", str(out)], capsys)
    assert rc == 0, err
    tab = pd.read_csv(out)
    assert tab["user"].tolist()[:3] == ["alice", "bob", "nina"] and len(tab) == 5
    assert {"rank", "user", "score", "community", "reach", "reason"} <= set(tab.columns)
    # rejected rows: a file next to the output, and the counts in the manifest add up
    rej = pd.read_csv(tmp_path / "kocs.rejected.csv")
    man = manifest_of(out)
    rows = man["rows"]
    assert rows["rows_read"] == 35 and rows["rows_rejected"] == 5
    assert rows["rows_read"] == rows["rows_accepted"] + rows["rows_rejected"]
    assert sum(rows["rejected_by_reason"].values()) == rows["rows_rejected"] == len(rej)
    assert rej["reason"].value_counts().to_dict() == rows["rejected_by_reason"]
    assert set(rows["rejected_by_reason"]) == {"null_source", "self_forward", "unparseable_time", "duplicate",
                                               "malformed_row"}
    # the manifest: version, parameters, input hash, timings per stage, outputs, environment
    assert man["kocgraph"] == kg.__version__ and man["status"] == "ok"
    assert man["input"]["sha256"] == hashlib.sha256(bad_log.read_bytes()).hexdigest()
    assert man["input"]["bytes"] == bad_log.stat().st_size
    assert man["parameters"]["top"] == 5 and man["parameters"]["read_options"]["source"] == "from_user"
    assert set(_jobs.STAGES) <= set(man["timings_s"]) and all(v >= 0 for v in man["timings_s"].values())
    assert man["wall_s"] > 0 and man["peak_rss_mib"] > 0
    assert set(man["outputs"]) == {"table", "rejected", "excluded", "manifest"}
    assert all(Path(p).is_file() for p in man["outputs"].values())
    assert man["pseudonymized"] is False and man["environment"]["python"]
    assert man["ranking"]["n_excluded"]["staff"] == 2
    ex = pd.read_csv(tmp_path / "kocs.excluded.csv")
    assert sorted(ex["user"]) == STAFF and set(ex["excluded"]) == {"staff"}
    assert "wrote table" in err
    assert "alice" in stdout


@pytest.mark.parametrize("fmt, suffix", [("parquet", ".parquet"), ("json", ".json"), ("csv", ".txt")])
def test_formats_are_readable(fmt: str, suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"kocs{suffix}"
    rc, _, err = run(["nominate", "sample:toy", "--staff-ids", "brand,staff_li", "--top", "4", "--out", str(out),
                      "--format", fmt, "--bootstrap", "10"], capsys)
    assert rc == 0, err
    if fmt == "parquet":
        tab = pd.read_parquet(out)
    elif fmt == "json":
        recs = json.loads(out.read_text(encoding="utf-8"))
        assert isinstance(recs, list) and isinstance(recs[0], dict)
        tab = pd.DataFrame(recs)
    else:
        tab = pd.read_csv(out)
    assert tab["user"].tolist() == ["alice", "bob", "nina", "carol"]
    assert {"rank_lo", "rank_hi"} <= set(tab.columns)  # --bootstrap gives rank intervals
    assert manifest_of(out)["parameters"]["format"] == fmt


def test_format_inferred_from_suffix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, _ = run(["nominate", "sample:toy", "--out", str(tmp_path / "k.parquet"), "--quiet"], capsys)
    assert rc == 0 and pd.read_parquet(tmp_path / "k.parquet").shape[0] > 0
    rc, _, _ = run(["nominate", "sample:toy", "--out", str(tmp_path / "k.json"), "--quiet"], capsys)
    assert rc == 0 and json.loads((tmp_path / "k.json").read_text())


def test_ranking_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["nominate", "sample:toy", "--staff-ids", "brand,staff_li", "--quiet"]
    # --per-community: at most N per community, ranked as a slate
    out = tmp_path / "slate.csv"
    assert run([*base, "--per-community", "1", "--out", str(out)], capsys)[0] == 0
    tab = pd.read_csv(out)
    assert tab["community"].is_unique and tab["rank"].tolist() == list(range(1, len(tab) + 1))
    assert manifest_of(out)["parameters"]["per_community"] == 1
    # --kol-threshold N excludes accounts with more distinct receivers than N; 'none' excludes none
    out = tmp_path / "kol.csv"
    assert run([*base, "--kol-threshold", "3", "--out", str(out)], capsys)[0] == 0
    ex = pd.read_csv(tmp_path / "kol.excluded.csv")
    assert "alice" in set(ex.loc[ex["excluded"] == "kol", "user"])
    assert "alice" not in set(pd.read_csv(out)["user"])
    for val in ("none", "auto"):
        out = tmp_path / f"kol_{val}.csv"
        assert run([*base, "--kol-threshold", val, "--out", str(out)], capsys)[0] == 0
        assert "kol" not in set(pd.read_csv(tmp_path / f"kol_{val}.excluded.csv")["excluded"])
        assert manifest_of(out)["parameters"]["kol_threshold"] == (None if val == "none" else "auto")
    # --rng: the same seed gives the same files; --bootstrap B recorded
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for p in (a, b):
        assert run([*base, "--rng", "7", "--bootstrap", "20", "--out", str(p)], capsys)[0] == 0
    assert a.read_bytes() == b.read_bytes()
    assert manifest_of(a)["parameters"]["rng"] == 7 and manifest_of(a)["parameters"]["bootstrap"] == 20


def test_quiet_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(["nominate", "sample:toy", "--out", str(tmp_path / "k.csv"), "--quiet"], capsys)
    assert rc == 0 and out == "" and err == ""


def test_log_options_reach_read_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--event-type/--channel/--value, --time-unit, --tz, --sep, --log-format, --encoding, --on-invalid."""
    df = toy_frame().rename(columns={"event_type": "kind", "channel": "via", "value": "amount"})
    df["time"] = (pd.to_datetime(df["time"]).astype("int64") // 1_000_000).astype(str)  # epoch ms
    df.loc[0, "source"] = "小红🌸"
    log = tmp_path / "log.txt"
    log.write_bytes(df.to_csv(sep=";", index=False).encode("gb18030", errors="replace"))
    out = tmp_path / "k.csv"
    argv = ["nominate", str(log), "--event-type", "kind", "--channel", "via", "--value", "amount",
            "--time-unit", "ms", "--tz", "Asia/Shanghai", "--sep", ";", "--log-format", "csv",
            "--encoding", "gb18030", "--on-invalid", "quarantine", "--staff-ids", "staff_li",
            "--out", str(out), "--no-progress"]
    rc, _, err = run(argv, capsys)
    assert rc == 0, err
    tab = pd.read_csv(out)
    assert "conversions" in tab.columns and tab["conversions"].sum() > 0  # --event-type/--value used
    opts = manifest_of(out)["parameters"]["read_options"]
    assert opts == {**opts, "event_type": "kind", "channel": "via", "value": "amount", "time_unit": "ms",
                    "tz": "Asia/Shanghai", "sep": ";", "format": "csv", "encoding": "gb18030"}
    assert manifest_of(out)["rows"]["rows_rejected"] == 0
    users = set(pd.read_csv(out)["user"]) | set(pd.read_csv(tmp_path / "k.excluded.csv")["user"])
    assert "小红🌸" in users or "小红🌸" not in set(df["source"])  # the nickname survived gb18030
    # --item none / --time none: one item, row order as time
    rc, _, err = run(["nominate", str(TOY_CSV), "--item", "none", "--time", "none", "--quiet",
                      "--out", str(tmp_path / "one.csv")], capsys)
    assert rc == 0, err
    assert manifest_of(tmp_path / "one.csv")["graph"]["n_items"] == 1


def test_integer_user_ids_and_staff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = pd.DataFrame({"source": [1, 1, 2, 2, 3, 5], "target": [2, 3, 4, 5, 6, 7], "item": ["x"] * 6,
                       "time": range(6)})
    log = tmp_path / "ints.parquet"  # Parquet keeps integer ids (CSV ids are read as text)
    df.to_parquet(log, index=False)
    out = tmp_path / "k.csv"
    rc, _, err = run(["nominate", str(log), "--staff-ids", "1,99", "--out", str(out), "--pseudonymize", "s"], capsys)
    assert rc == 0, err
    note = next(ln for ln in err.splitlines() if "staff id(s) not in the log" in ln)
    assert note.startswith("note: 1 staff id(s) not in the log") and "99" not in note  # ids in notes are pseudonymized too
    ex = pd.read_csv(tmp_path / "k.excluded.csv")
    assert ex["user"].tolist() == [pseudo("s", 1)]
    assert set(pd.read_csv(out)["user"]) <= {pseudo("s", u) for u in range(1, 8)}
    rc, _, err = run(["nominate", str(log), "--staff-ids", "abc"], capsys)
    assert rc == 3 and "integers" in err


# ------------------------------------------------------------------------------------------------ pseudonyms
def test_pseudonymization_is_complete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No original id string appears anywhere in any output file, rejected rows included."""
    df = toy_frame()
    names = sorted(set(df["source"]) | set(df["target"]))
    ren = {u: f"uid-{u}-7f" for u in names}
    ren["alice"] = "爱丽丝-uid"
    df["source"], df["target"] = df["source"].map(ren), df["target"].map(ren)
    lines = [",".join(df.columns)] + [",".join(r) for r in df.itertuples(index=False)]
    lines += [
        f"{ren['bob']},{ren['bob']},poster,2026-01-03T00:00:00Z,share,group,",           # self_forward
        f"{ren['carol']},uid-only-rejected-9q,poster,never,share,group,",                 # unparseable_time
        f"uid-only-malformed-3z,{ren['dave']},poster,2026-01-03T00:00:00Z,share,,,x,y",   # malformed
    ]
    log = tmp_path / "log.csv"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    staff = tmp_path / "staff.txt"
    staff.write_text(f"{ren['brand']}\n{ren['staff_li']}\nuid-not-in-log-5k\n", encoding="utf-8")
    all_ids = list(ren.values()) + ["uid-only-rejected-9q", "uid-only-malformed-3z", "uid-not-in-log-5k"]
    salt = "pepper-Zq81"
    written: dict[str, set[Path]] = {}
    for fmt in ("csv", "parquet", "json"):
        out = tmp_path / f"out_{fmt}" / f"kocs.{fmt}"
        out.parent.mkdir()
        rc, stdout, err = run(["nominate", str(log), "--staff", str(staff), "--staff-ids", ren["nina"],
                               "--top", "50", "--out", str(out), "--pseudonymize", salt, "--kol-threshold", "4",
                               "--bootstrap", "5"], capsys)
        assert rc == 0, err
        files = set(out.parent.iterdir())
        written[fmt] = files
        assert {p.name for p in files} == {f"kocs.{fmt}", f"kocs.{fmt}.manifest.json", "kocs.rejected.csv",
                                           "kocs.excluded.csv"}
        for p in files:
            blob = p.read_bytes()
            for uid in all_ids:
                assert uid.encode() not in blob, (p.name, uid)
            assert salt.encode() not in blob, p.name
        for text in (stdout, err):
            assert not any(uid in text for uid in all_ids) and salt not in text
        man = manifest_of(out)
        assert man["pseudonymized"] is True
        assert man["parameters"]["staff_ids"] == [pseudo(salt, ren["nina"])]
    # the mapping is HMAC-SHA256(salt, id)[:16]: the same salt gives the same pseudonyms
    tab = pd.read_csv(tmp_path / "out_csv" / "kocs.csv")
    assert pseudo(salt, ren["alice"]) in set(tab["user"]) or pseudo(salt, ren["alice"]) in set(
        pd.read_csv(tmp_path / "out_csv" / "kocs.excluded.csv")["user"])
    assert tab["user"].str.fullmatch(r"p_[0-9a-f]{16}").all()
    js = pd.DataFrame(json.loads((tmp_path / "out_json" / "kocs.json").read_text(encoding="utf-8")))
    pq = pd.read_parquet(tmp_path / "out_parquet" / "kocs.parquet")
    assert js["user"].tolist() == pq["user"].tolist() == tab["user"].tolist()
    rej = pd.read_csv(tmp_path / "out_csv" / "kocs.rejected.csv")
    assert pseudo(salt, "uid-only-rejected-9q") in set(rej["target"])
    assert rej["raw_text"].dropna().str.startswith("h_").all()
    ex = pd.read_csv(tmp_path / "out_csv" / "kocs.excluded.csv")
    assert {pseudo(salt, ren["brand"]), pseudo(salt, ren["staff_li"]), pseudo(salt, ren["nina"])} <= set(ex["user"])
    # another salt, other pseudonyms
    rc, _, _ = run(["nominate", str(log), "--out", str(tmp_path / "other.csv"), "--pseudonymize", "salt2",
                    "--quiet"], capsys)
    assert rc == 0
    assert not set(pd.read_csv(tmp_path / "other.csv")["user"]) & set(tab["user"])


def test_list_columns_serialize_and_pseudonymize(tmp_path: Path) -> None:
    """Lists (top users, routes) are JSON arrays in CSV, lists in Parquet/JSON; ids in them pseudonymized."""
    df = pd.DataFrame({"rank": [1, 2], "user": ["alice", "bob"], "route": [["brand", "alice"], []],
                       "via": ["brand", None], "reason": ["knows brand", "x"]})
    p = _jobs.Pseudonymizer("k")
    users = pd.Index(["alice", "bob", "brand"])
    ps = _jobs.pseudonymize_table(df, p, users)
    assert ps["route"].tolist() == [[p("brand"), p("alice")], []]
    assert ps["via"][0] == p("brand") and pd.isna(ps["via"][1]) and ps["reason"].tolist() == ["knows brand", "x"]
    _jobs.write_table(df, tmp_path / "t.csv", "csv")
    back = pd.read_csv(tmp_path / "t.csv")
    assert [json.loads(v) for v in back["route"]] == [["brand", "alice"], []]
    _jobs.write_table(df, tmp_path / "t.parquet", "parquet")
    assert [list(v) for v in pd.read_parquet(tmp_path / "t.parquet")["route"]] == [["brand", "alice"], []]
    _jobs.write_table(df, tmp_path / "t.json", "json")
    assert json.loads((tmp_path / "t.json").read_text())[0]["route"] == ["brand", "alice"]
    assert p(None) is None and p("alice") == pseudo("k", "alice")


# ------------------------------------------------------------------------------------------------ atomic
def test_atomic_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "kocs.csv"
    out.write_text("previous good run\n", encoding="utf-8")
    real = pd.DataFrame.to_csv

    def crash_mid_write(self: pd.DataFrame, path: Any = None, *a: Any, **k: Any) -> Any:
        if path is not None and Path(str(path)).name.startswith(".kocs.csv."):
            real(self.head(2), path, *a, **k)  # half the table reaches the disk ...
            raise OSError(28, "No space left on device")  # ... then the disk fills up
        return real(self, path, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_csv", crash_mid_write)
    rc, _, err = run(["nominate", "sample:toy", "--staff-ids", "brand,staff_li", "--out", str(out)], capsys)
    assert rc == 3 and "No space left" in err and "Traceback" not in err
    assert out.read_text(encoding="utf-8") == "previous good run\n"  # the old file is intact
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))  # no temp file left
    assert not (tmp_path / "kocs.csv.manifest.json").exists()  # no manifest for a run that failed
    # a fresh output path: nothing at all appears
    rc, _, _ = run(["nominate", "sample:toy", "--out", str(tmp_path / "new" / "kocs.csv")], capsys)
    assert rc == 2  # the directory does not exist: usage error
    (tmp_path / "new").mkdir()
    rc, _, _ = run(["nominate", "sample:toy", "--out", str(tmp_path / "new" / "kocs.csv")], capsys)
    assert rc == 3 and list((tmp_path / "new").iterdir()) == []


def test_atomic_write_unit(tmp_path: Path) -> None:
    target = tmp_path / "a.json"

    def boom(tmp: Path) -> None:
        tmp.write_text("{half", encoding="utf-8")
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        _jobs.atomic_write(target, boom)
    assert list(tmp_path.iterdir()) == []
    _jobs.atomic_write(target, lambda tmp: tmp.write_text("{}", encoding="utf-8"))
    assert target.read_text() == "{}" and [p.name for p in tmp_path.iterdir()] == ["a.json"]


# ------------------------------------------------------------------------------------------------ progress
def test_progress_bar_only_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["nominate", "sample:toy", "--out", str(tmp_path / "k.csv")]
    _, _, err = run(argv, capsys)  # captured stderr is not a terminal: a pipeline
    assert "stage" not in err and "\r" not in err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    _, _, err = run(argv, capsys)
    assert "nominate" in err and "stage" in err  # tqdm's bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    _, _, err = run([*argv, "--no-progress"], capsys)
    assert "stage" not in err and "\r" not in err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    _, _, err = run([*argv, "--quiet"], capsys)
    assert err == ""


# ------------------------------------------------------------------------------------------------ exit 2
@pytest.mark.parametrize("argv", [
    ["nominate"],                                              # LOG missing
    ["nominate", "sample:toy", "--format", "xml"],             # bad --format
    ["nominate", "sample:toy", "--top", "0"],
    ["nominate", "sample:toy", "--top", "ten"],
    ["nominate", "sample:toy", "--bootstrap", "-1"],
    ["nominate", "sample:toy", "--per-community", "0"],
    ["nominate", "sample:toy", "--kol-threshold", "lots"],
    ["nominate", "sample:toy", "--rng", "x"],
    ["nominate", "sample:toy", "--no-such-flag"],
    ["nominate", "sample:toy", "--time-unit", "days"],
    ["nominate", "sample:toy", "--on-invalid", "ignore"],
    ["nominate", "sample:toy", "--log-format", "xls"],
    ["nominate", "sample:toy", "--format", "json"],            # --format without --out
    ["nominate", "sample:no-such-sample"],
    ["frobnicate"],
    [],
])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(argv, capsys)
    assert rc == 2, err
    assert "Traceback" not in err and err.strip()


# ------------------------------------------------------------------------------------------------ exit 3
def test_data_errors_exit_3(tmp_path: Path, bad_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a missing log
    rc, _, err = run(["nominate", str(tmp_path / "nope.csv")], capsys)
    assert rc == 3 and "does not exist" in err and "Traceback" not in err
    # a missing staff file: reported before any work starts, nothing written
    out = tmp_path / "k.csv"
    rc, _, err = run(["nominate", str(TOY_CSV), "--staff", str(tmp_path / "staff.txt"), "--out", str(out)], capsys)
    assert rc == 3 and "staff file" in err and not out.exists()
    # none of the staff ids is in the log
    rc, _, err = run(["nominate", "sample:toy", "--staff-ids", "zed,yan"], capsys)
    assert rc == 3 and "none of the 2 staff ids" in err
    # some are: a note, and the job goes on
    rc, _, err = run(["nominate", "sample:toy", "--staff-ids", "brand,zed", "--top", "3"], capsys)
    assert rc == 0 and "1 staff id(s) not in the log" in err
    # --on-invalid raise stops at the first bad row
    rc, _, err = run(["nominate", str(bad_log), *LOG_COLS, "--on-invalid", "raise"], capsys)
    assert rc == 3 and "--on-invalid" in err and "on_invalid" not in err
    # a wrong column name
    rc, _, err = run(["nominate", str(bad_log)], capsys)
    assert rc == 3 and "not found" in err
    # an empty file, a header-only file
    (tmp_path / "zero.csv").write_text("", encoding="utf-8")
    assert run(["nominate", str(tmp_path / "zero.csv")], capsys)[0] == 3
    (tmp_path / "head.csv").write_text("source,target,item,time\n", encoding="utf-8")
    rc, _, err = run(["nominate", str(tmp_path / "head.csv")], capsys)
    assert rc == 3 and "no data row" in err


def test_all_rows_rejected_exit_3_with_rejected_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "bad.csv"
    log.write_text("source,target,item,time\na,a,1,1\n,b,1,2\nc,d,1,x\n", encoding="utf-8")
    out = tmp_path / "k.csv"
    rc, _, err = run(["nominate", str(log), "--out", str(out)], capsys)
    assert rc == 3 and "all 3 row(s) were rejected" in err
    assert not out.exists()
    rej = pd.read_csv(tmp_path / "k.rejected.csv")
    man = manifest_of(out)
    assert man["status"] == "no_usable_events" and len(rej) == man["rows"]["rows_rejected"] == 3
    assert man["rows"]["rows_accepted"] == 0


# ------------------------------------------------------------------------------------------------ exit 1, --debug
def test_internal_error_and_debug(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*a: Any, **k: Any) -> Any:
        raise RuntimeError("kernel bug")

    monkeypatch.setattr(cli, "nominate", broken)
    rc, _, err = run(["nominate", "sample:toy"], capsys)
    assert rc == 1 and "internal error" in err and "kernel bug" in err and "Traceback" not in err
    with pytest.raises(RuntimeError):
        cli.main(["--debug", "nominate", "sample:toy"])
    monkeypatch.undo()
    with pytest.raises(kg.LogSchemaError):
        cli.main(["nominate", "missing.csv", "--debug"])  # --debug after the subcommand works too


# ------------------------------------------------------------------------------------------------ describe
def test_describe_keeps_its_format_flag(capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("--format", "--log-format"):
        rc, out, _ = run(["describe", str(TOY_CSV), flag, "csv", "--json"], capsys)
        assert rc == 0 and json.loads(out)["graph"]["n_events"] == 30


# ------------------------------------------------------------------------------------------------ API
def test_job_without_argparse(tmp_path: Path) -> None:
    res = _jobs.nominate(_jobs.NominateConfig(toy_frame(), staff_ids=STAFF, top=3, out=tmp_path / "k.json",
                                              progress=False))
    assert res.table["user"].tolist() == ["alice", "bob", "nina"]
    assert res.manifest["input"]["kind"] == "DataFrame" and Path(res.outputs["table"]).is_file()
    assert res.manifest["rows"]["rows_read"] == 30
    with pytest.raises(kg.InvalidParameterError):
        _jobs.nominate(_jobs.NominateConfig("sample:toy", top=0))
    with pytest.raises(kg.InvalidParameterError):
        _jobs.Pseudonymizer("")
    assert _jobs.infer_format("a.PQ", None) == "parquet" and _jobs.infer_format(None, None) == "csv"


# ------------------------------------------------------------------------------------------------ subprocess
def _console() -> list[str]:
    exe = shutil.which("kocgraph")
    return [exe] if exe else [sys.executable, "-m", "kocgraph.cli"]


def test_console_script_in_a_pipeline(tmp_path: Path) -> None:
    out = tmp_path / "kocs.csv"
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    proc = subprocess.run([*_console(), "nominate", "sample:toy", "--staff-ids", "brand,staff_li", "--top", "3",
                           "--out", str(out)], capture_output=True, text=True, timeout=120, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "alice" in proc.stdout and "\r" not in proc.stderr and "stage" not in proc.stderr  # no bar in a pipe
    assert pd.read_csv(out)["user"].tolist() == ["alice", "bob", "nina"]
    proc = subprocess.run([*_console(), "nominate", str(tmp_path / "missing.csv")], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr and "does not exist" in proc.stderr


# ------------------------------------------------------------------------------------------------ checks before reading
def test_bootstrap_size_is_checked_against_memory() -> None:
    # the rank matrix: B draws x at most BOOTSTRAP_TOP (1,000) users x 8 bytes, x3 at its peak:
    # 24,000 bytes a draw; 10,000 draws = 240,000,000 bytes, more than half of 400 MB
    assert _jobs.check_bootstrap(200, memory=400_000_000) == 200
    assert _jobs.check_bootstrap(10_000, memory=480_000_000) == 10_000  # exactly half: allowed
    with pytest.raises(kg.InvalidParameterError, match=r"more than half the 0\.37 GiB of memory available"):
        _jobs.check_bootstrap(10_000, memory=400_000_000)
    with pytest.raises(kg.InvalidParameterError, match=r"more than the 10,000 draws kocgraph takes"):
        _jobs.check_bootstrap(10_001, memory=10**15)
    for bad in (-1, 2.5, True, "200"):
        with pytest.raises(kg.InvalidParameterError, match="whole number >= 0"):
            _jobs.check_bootstrap(bad)


def test_job_checks_everything_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def trap(*a: Any, **k: Any) -> Any:
        raise AssertionError("read before checking")

    monkeypatch.setattr(_jobs.nomination, "read_input", trap)
    fifo = tmp_path / "k.csv"
    os.mkfifo(fifo)
    bad = [
        ({"out": fifo}, "FIFO"), ({"rng": -1}, "rng=-1"), ({"bootstrap": 10**8}, "10,000 draws"),
        ({"read_options": {"tz": "bogus"}}, "time zone"), ({"read_options": {"encoding": "nope"}}, "encoding"),
        ({"read_options": {"sep": "\n"}}, "one character"), ({"log": "sample:nope"}, "not in the registry"),
        ({"pseudonymize": ""}, "salt"),
    ]
    for kw, msg in bad:
        cfg = _jobs.NominateConfig(**{"log": toy_frame(), "progress": False, **kw})
        with pytest.raises(kg.InvalidParameterError, match=msg):
            _jobs.nominate(cfg)
    assert stat_is_fifo(fifo)


def stat_is_fifo(p: Path) -> bool:
    import stat

    return stat.S_ISFIFO(p.lstat().st_mode)


def test_check_outputs_links(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "to_file").symlink_to(tmp_path / "other.csv")
    (tmp_path / "other.csv").write_text("y")
    _jobs.check_outputs([tmp_path / "dangling", tmp_path / "to_file", tmp_path / "new.csv"], [log])
    (tmp_path / "hard.csv").hardlink_to(log)
    with pytest.raises(kg.InvalidParameterError, match="is an input of this run"):
        _jobs.check_outputs([tmp_path / "hard.csv"], [log])
    with pytest.raises(kg.InvalidParameterError, match=r"--out '.*' is a directory; pass a file name such as r\.html"):
        _jobs.check_outputs([tmp_path], example="r.html")
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".kocgraph-probe-")]  # the probe is removed


def test_parquet_columns_no_one_type_holds(tmp_path: Path) -> None:
    notes: list[str] = []
    df = pd.DataFrame({"user": pd.Series([2**64 - 1, -3, None], dtype=object),
                       "mixed": pd.Series([1, "1", "a"], dtype=object),
                       "big": pd.Series([2**64 - 1, 2**63, None], dtype=object),
                       "plain": pd.Series([1, 2, None], dtype=object)})
    _jobs.write_table(df, tmp_path / "t.parquet", "parquet", note=notes.append)
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert back["user"].tolist()[:2] == ["18446744073709551615", "-3"] and pd.isna(back["user"].iloc[2])
    assert back["mixed"].tolist() == ["1", "1", "a"]
    assert back["big"].dtype == "uint64" or str(back["big"].dtype) == "UInt64"
    assert back["big"].tolist()[:2] == [2**64 - 1, 2**63]
    assert back["plain"].tolist()[:2] == [1, 2]
    assert len(notes) == 2 and "'user'" in notes[0] and "'mixed'" in notes[1] and "every digit kept" in notes[0]


def test_atomic_write_never_replaces_a_device_or_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(kg.InvalidParameterError, match=r"is a FIFO \(named pipe\), not a regular file"):
        _jobs.atomic_write(fifo, lambda tmp: tmp.write_text("x"))
    (tmp_path / "to_pipe").symlink_to(fifo)
    with pytest.raises(kg.InvalidParameterError, match="is a link to a FIFO"):
        _jobs.write_table(pd.DataFrame({"a": [1]}), tmp_path / "to_pipe", "csv")
    assert stat_is_fifo(fifo) and sorted(os.listdir(tmp_path)) == ["pipe", "to_pipe"]


def test_manifest_hash_is_of_the_bytes_read(tmp_path, monkeypatch):
    # D6: a log that grows while the job runs keeps, in the manifest, the hash of what was read
    from kocgraph.jobs import NominateConfig, nominate

    log = tmp_path / "grow.csv"
    kg.datasets.toy_frame().to_csv(log, index=False)
    read_bytes = log.read_bytes()
    real = kg.tl.cascades

    def grow_then_cascades(g, *a, **k):
        with open(log, "a", encoding="utf-8") as fh:
            fh.write("zed,yan,late,2026-12-31T00:00:00Z\n")
        return real(g, *a, **k)

    monkeypatch.setattr(kg.tl, "cascades", grow_then_cascades)
    res = nominate(NominateConfig(str(log), staff_ids=["brand"], top=3, out=tmp_path / "k.csv", progress=False))
    assert res.manifest["input"]["sha256"] == hashlib.sha256(read_bytes).hexdigest()
    assert res.manifest["input"]["bytes"] == len(read_bytes) != log.stat().st_size
    assert res.manifest["rows"]["rows_read"] == len(kg.datasets.toy_frame())
