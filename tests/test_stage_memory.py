"""Per-stage peak memory in the nomination job's manifest (issue 15, item 5).

On Linux with a writable ``/proc/self/clear_refs`` every stage's figure is its own peak (VmHWM reset
when the stage starts); elsewhere it is the process peak since start (the documented fallback). The
whole-process peak survives the resets either way.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kocgraph import _jobs

CAN_RESET = _jobs._reset_peak()
needs_reset = pytest.mark.skipif(not CAN_RESET, reason="/proc/self/clear_refs is not writable here")


def _nominate(tmp_path: Path) -> dict:
    out = tmp_path / "kocs.csv"
    _jobs.nominate(_jobs.NominateConfig("sample:toy", staff_ids=["brand", "staff_li"], top=3, out=str(out),
                                        progress=False))
    return json.loads(Path(str(out) + ".manifest.json").read_text(encoding="utf-8"))


@needs_reset
def test_manifest_has_each_stages_own_peak(tmp_path):
    man = _nominate(tmp_path)
    peaks = man["stage_peak_rss_mib"]
    assert list(peaks) == list(_jobs.STAGES)  # every stage, in order, next to its time
    assert set(peaks) <= set(man["timings_s"])
    assert all(v > 0 for v in peaks.values())
    assert man["stage_peak_rss_scope"] == "stage"
    # the resets do not lose the whole process's peak (this pytest process's, imports included)
    assert man["peak_rss_mib"] >= max(peaks.values())


def test_fallback_without_reset_is_the_process_peak_so_far(tmp_path, monkeypatch):
    monkeypatch.setattr(_jobs, "_reset_peak", lambda: False)
    man = _nominate(tmp_path)
    peaks = [man["stage_peak_rss_mib"][s] for s in _jobs.STAGES]
    assert man["stage_peak_rss_scope"] == "process"
    assert all(b >= a for a, b in zip(peaks, peaks[1:]))  # a peak since start never decreases
    assert man["peak_rss_mib"] >= peaks[-1] > 0


@needs_reset
def test_stage_peak_is_the_stages_own():
    # known answer: a stage that touches 200 MiB peaks at least 190 MiB above where it started; the
    # next stage, which touches nothing, peaks below that, because the high-water mark was reset
    m = _jobs.StageMemory()
    start = _jobs._peak_rss_mib()
    _jobs._reset_peak()
    start = min(start, _jobs._peak_rss_mib())
    with m.stage("big"):
        x = np.ones(200 * 2**20, dtype=np.uint8)
        del x
    with m.stage("small"):
        pass
    assert m.scope == "stage"
    assert m.peaks["big"] >= start + 190
    assert m.peaks["small"] < m.peaks["big"] - 150
    assert m.process_peak() >= m.peaks["big"]


def test_engine_without_stage_memory_writes_empty_fields():
    cfg = _jobs.NominateConfig("sample:toy")
    man = _jobs.manifest_dict(cfg, status="ok", top=1, fmt="csv", show=lambda x: x, pseudonymized=False,
                              input_info={}, counts={}, graph_info={}, kocs_meta=None, timings={"read_log": 0.1},
                              t_start=0.0, outputs={})
    assert man["stage_peak_rss_mib"] == {} and man["stage_peak_rss_scope"] is None
    assert man["peak_rss_mib"] > 0


def test_release_memory_and_threshold_are_safe_to_call():
    _jobs.release_memory()
    ok = _jobs.fixed_mmap_threshold(_jobs.STAGE_MMAP_THRESHOLD)
    assert isinstance(ok, bool)
