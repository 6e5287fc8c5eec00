"""Per-stage peak memory in the nomination job's manifest (issue 15, item 5), and the memory the job
hands back between stages.

On Linux with a writable ``/proc/self/clear_refs`` every stage's figure is its own peak (VmHWM reset
when the stage starts); elsewhere it is the process peak since start (the documented fallback). The
whole-process peak (``peak_rss_mib``) survives the resets either way.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kocgraph import pipeline
from kocgraph._core import resources
from kocgraph.jobs import NominateConfig, nominate
from kocgraph.jobs import nomination as J

CAN_RESET = resources.reset_peak()
needs_reset = pytest.mark.skipif(not CAN_RESET, reason="/proc/self/clear_refs is not writable here")


def _nominate(tmp_path: Path) -> dict:
    out = tmp_path / "kocs.csv"
    nominate(NominateConfig("sample:toy", staff_ids=["brand", "staff_li"], top=3, out=str(out), progress=False))
    return json.loads(Path(str(out) + ".manifest.json").read_text(encoding="utf-8"))


def test_manifest_has_each_stages_peak_and_the_whole_peak(tmp_path):
    man = _nominate(tmp_path)
    peaks = man["peak_rss_mib_by_stage"]
    # every stage before the write (the manifest is written inside it), in order, next to its time
    assert list(peaks) == [s for s in J.STAGES if s != "write"]
    assert set(peaks) <= set(man["timings_s"])
    assert all(v > 0 for v in peaks.values())
    # the resets do not lose the whole process's peak (this pytest process's, imports included)
    assert man["peak_rss_mib"] >= max(peaks.values())


@needs_reset
def test_whole_peak_survives_a_reset():
    # known answer: after touching 200 MiB and resetting, the high-water mark is back near the current
    # RSS (at least 150 MiB lower), but process_peak_mib still covers the 200 MiB
    x = np.ones(200 * 2**20, dtype=np.uint8)
    top = resources.peak_rss_mib()
    del x
    resources.release_memory()
    assert resources.reset_peak()
    assert resources.peak_rss_mib() < top - 150
    # (the kernel syncs per-thread RSS counters in batches, so VmHWM read twice may differ by a few pages)
    assert resources.process_peak_mib() >= top - 1
    assert resources.process_peak_mib() > resources.peak_rss_mib() + 150


@needs_reset
def test_stage_peak_is_the_stages_own(monkeypatch):
    # known answer: a stage that touches 200 MiB peaks at least 190 MiB above where it started; the
    # next stage, which touches nothing, peaks below that, because the high-water mark was reset
    # (and the 200 MiB went back to the system when the first stage ended)
    class Big:
        name = "test"

        def run(self, stage, log, options):
            if stage.name == "big":
                x = np.ones(200 * 2**20, dtype=np.uint8)
                del x

    resources.release_memory()
    resources.reset_peak()
    start = resources.peak_rss_mib()
    stages = (pipeline.Stage("big", "touches 200 MiB", "test.big", "big"),
              pipeline.Stage("small", "touches nothing", "test.small", "small"))
    rec = pipeline.run_stages(None, pipeline.StageOptions(), engine=Big(), stages=stages, progress=False)
    assert rec["big"].peak_rss_mib >= start + 190
    assert rec["small"].peak_rss_mib < rec["big"].peak_rss_mib - 150


def test_each_stage_releases_memory(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(pipeline, "release_memory", lambda: calls.append("stage"))
    monkeypatch.setattr(J, "release_memory", lambda: calls.append("step"))
    _nominate(tmp_path)
    # after the read and the write (job steps) and after each of the pipeline's stages
    assert calls.count("stage") == len(pipeline.NOMINATION)
    assert calls.count("step") == 2


def test_read_runs_with_the_low_mmap_threshold_and_the_stages_with_the_high_one(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(J, "fixed_mmap_threshold", lambda size: seen.append(size) or True)
    _nominate(tmp_path)
    assert seen == [resources.READ_MMAP_THRESHOLD, resources.STAGE_MMAP_THRESHOLD]


def test_release_memory_and_threshold_are_safe_to_call():
    resources.release_memory()
    ok = resources.fixed_mmap_threshold(resources.STAGE_MMAP_THRESHOLD)
    assert isinstance(ok, bool)
