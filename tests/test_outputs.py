"""Outputs that are safe to open, share and trust (issue 16, item 7).

Spreadsheet-safe CSV, the pseudonymization key kept off the command line, rejected rows that name
nobody under pseudonymization, and output sets that change together: tested by killing a child
process at every write of a run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import kocgraph as kg
from kocgraph import cli
from kocgraph.jobs import NominateConfig, OutputSet, nominate, verify_outputs

HOSTILE = pd.DataFrame({
    "source": ["=HYPERLINK(\"http://x\")", "=HYPERLINK(\"http://x\")", "+15551234", "@alice", "bob", "bob"],
    "target": ["+15551234", "@alice", "-danger", "bob", "carol", "carol"],
    "item": ["p1", "p1", "p1", "p1", "p1", "p1"],
    "time": [1, 2, 3, 4, 5, 5],
    "note": ["hi", "call me, I'm Carol Chen", "x", "y", "z", "z"],
})


def _csv_cells(path: Path) -> list[str]:
    return [c for row in pd.read_csv(path, dtype=str, keep_default_na=False).itertuples(index=False) for c in row]


def test_csv_outputs_neutralize_formula_cells(tmp_path):
    log = tmp_path / "log.csv"
    HOSTILE.to_csv(log, index=False)
    res = nominate(NominateConfig(str(log), top=10, out=tmp_path / "k.csv", kol_threshold=None, progress=False))
    for name in ("table", "rejected"):
        risky = [c for c in _csv_cells(Path(res.outputs[name])) if c[:1] in ("=", "+", "-", "@")]
        assert not risky, (name, risky)
    cells = _csv_cells(Path(res.outputs["table"]))
    assert {"'=HYPERLINK(\"http://x\")", "'+15551234", "'@alice"} <= set(cells)
    # Parquet and JSON are not spreadsheets: the ids stay exactly as given there
    res = nominate(NominateConfig(str(log), top=10, out=tmp_path / "k.json", kol_threshold=None, progress=False))
    users = {r["user"] for r in json.loads(Path(res.outputs["table"]).read_text())}
    assert users & {"=HYPERLINK(\"http://x\")", "+15551234", "@alice"}


def test_pseudonymize_key_from_a_file_or_the_environment(tmp_path, capsys, monkeypatch):
    key = tmp_path / "key.txt"
    key.write_text("s3cret\n")
    out = tmp_path / "a.csv"
    assert cli.main(["nominate", "sample:toy", "--out", str(out), "--pseudonymize-key-file", str(key), "--quiet"]) == 0
    a = out.read_text()
    monkeypatch.setenv("MY_KEY", "s3cret")
    out2 = tmp_path / "b.csv"
    assert cli.main(["nominate", "sample:toy", "--out", str(out2), "--pseudonymize-key-env", "MY_KEY", "--quiet"]) == 0
    assert out2.read_text() == a and "alice" not in a and "p_" in a
    # the key on the command line still works, with a warning that says why not to
    out3 = tmp_path / "c.csv"
    assert cli.main(["nominate", "sample:toy", "--out", str(out3), "--pseudonymize", "s3cret"]) == 0
    assert out3.read_text() == a
    assert "process list" in capsys.readouterr().err
    # the key reaches no output file
    for p in tmp_path.iterdir():
        if p.is_file() and p != key:
            assert "s3cret" not in p.read_text(errors="ignore"), p
    assert cli.main(["nominate", "sample:toy", "--pseudonymize-key-env", "NOPE_NOT_SET"]) == 2
    assert cli.main(["nominate", "sample:toy", "--pseudonymize-key-file", str(key), "--pseudonymize", "x"]) == 2


def test_pseudonymized_rejected_rows_keep_only_the_known_columns(tmp_path):
    log = tmp_path / "log.csv"
    HOSTILE.to_csv(log, index=False)
    res = nominate(NominateConfig(str(log), out=tmp_path / "k.csv", pseudonymize="k", progress=False))
    rej = pd.read_csv(res.outputs["rejected"], dtype=str)
    assert "note" not in rej.columns and "Carol" not in Path(res.outputs["rejected"]).read_text()
    assert set(rej.columns) <= {"row", "reason", "line", "source", "target", "item", "time"}
    assert rej["source"].str.startswith("p_").all()
    assert res.manifest["rejected_columns_dropped"] == ["note"]
    assert any("dropped ['note']" in n for n in res.notes)


def test_a_later_run_removes_files_an_earlier_run_left(tmp_path):
    log = tmp_path / "log.csv"
    HOSTILE.to_csv(log, index=False)
    out = tmp_path / "k.csv"
    first = nominate(NominateConfig(str(log), out=out, progress=False))
    assert Path(first.outputs["rejected"]).is_file()
    clean = tmp_path / "clean.csv"
    kg.datasets.toy_frame().to_csv(clean, index=False)
    (tmp_path / ".k.csv.deadbeef0000.tmp").write_text("left by a killed run")
    second = nominate(NominateConfig(str(clean), out=out, progress=False))
    assert "rejected" not in second.outputs and not (tmp_path / "k.rejected.csv").exists()
    assert not list(tmp_path.glob(".*.tmp"))
    assert second.manifest["stale_temporaries_removed"]
    assert verify_outputs(second.outputs["manifest"]) == []


def test_verify_command(tmp_path, capsys):
    out = tmp_path / "k.csv"
    assert cli.main(["nominate", "sample:toy", "--out", str(out), "--quiet"]) == 0
    assert cli.main(["verify", str(out)]) == 0
    assert "file(s) as written" in capsys.readouterr().out
    with open(out, "a", encoding="utf-8") as fh:  # the table of another run, or edited by hand
        fh.write("99,someone else\n")
    assert cli.main(["verify", str(out) + ".manifest.json"]) == 3
    assert "is not the file of run" in capsys.readouterr().err
    assert cli.main(["verify", str(tmp_path / "none.csv")]) == 3


# ------------------------------------------------------------------------------------------------ kill test
_CHILD = textwrap.dedent("""
    import os, signal, sys
    from kocgraph.jobs import NominateConfig, nominate
    import kocgraph.jobs.outputs as outputs
    kill_at = int(sys.argv[3])
    calls = [0]
    def killing(real):
        def step(*a, **k):  # every staged file (fsync) and every rename is a point to be killed at
            calls[0] += 1
            if calls[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*a, **k)
        return step
    os.replace = killing(os.replace)
    outputs._fsync = killing(outputs._fsync)
    nominate(NominateConfig(sys.argv[1], out=sys.argv[2], progress=False))
""")


def test_a_run_killed_at_any_write_never_leaves_a_mixed_set(tmp_path):
    # an earlier, complete run
    log_a = tmp_path / "a.csv"
    HOSTILE.to_csv(log_a, index=False)
    out = tmp_path / "k.csv"
    old = nominate(NominateConfig(str(log_a), out=out, progress=False))
    old_id = old.manifest["run_id"]
    log_b = tmp_path / "b.csv"
    kg.datasets.toy_frame().to_csv(log_b, index=False)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(kg.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    seen = set()
    for k in range(1, 16):
        r = subprocess.run([sys.executable, "-c", _CHILD, str(log_b), str(out), str(k)], env=env,
                           capture_output=True, text=True, timeout=300)
        killed = r.returncode == -signal.SIGKILL
        manifest = Path(str(out) + ".manifest.json")
        if manifest.exists():  # a manifest always vouches for a whole set: the old run's or the new one's
            assert verify_outputs(manifest) == [], (k, r.stderr[-500:])
            run_id = json.loads(manifest.read_text())["run_id"]
            seen.add("old" if run_id == old_id else "new")
        else:
            assert killed
            seen.add("none")
        if not killed:
            break
        # the next run (not killed) cleans up and leaves a whole set
        res = nominate(NominateConfig(str(log_a), out=out, progress=False))
        assert verify_outputs(res.outputs["manifest"]) == [] and not list(tmp_path.glob(".*.tmp"))
        old_id = res.manifest["run_id"]
    assert {"old", "none", "new"} <= seen  # the kills fell before, during and after the swap


def test_output_set_abort_leaves_the_previous_set(tmp_path):
    paths = {"table": tmp_path / "t.csv", "manifest": tmp_path / "t.csv.manifest.json"}
    first = OutputSet(paths)
    first.stage("table", lambda p: p.write_text("a\n1\n"))
    first.commit({"status": "ok"})
    second = OutputSet(paths)
    second.stage("table", lambda p: p.write_text("a\n2\n"))
    second.abort()
    assert (tmp_path / "t.csv").read_text() == "a\n1\n" and verify_outputs(paths["manifest"]) == []
    with pytest.raises(RuntimeError):
        OutputSet(paths).stage("table", lambda p: (_ for _ in ()).throw(RuntimeError("disk full")))
    assert not list(tmp_path.glob(".*.tmp"))
