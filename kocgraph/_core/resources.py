"""What the process uses: peak resident memory (per stage, where Linux allows resetting the peak)
and the memory available. One place for the job's manifest, the pipeline and the benchmarks."""

from __future__ import annotations

import contextlib
import resource
import sys
from typing import Any

__all__ = ["peak_rss_mib", "reset_peak", "process_peak_mib", "maxrss_mib", "available_memory", "release_memory",
           "fixed_mmap_threshold", "READ_MMAP_THRESHOLD", "STAGE_MMAP_THRESHOLD"]

#: the process's peak (MiB) before the last :func:`reset_peak`, so the whole process's peak survives resets
_EARLIER_PEAK = [0.0]


def peak_rss_mib() -> float | None:
    """This process's resident-set high-water mark (``VmHWM``) in MiB since the last
    :func:`reset_peak` (since start where resetting is not possible); ``ru_maxrss`` off Linux.

    >>> peak_rss_mib() > 0
    True
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:  # pragma: no cover - not Linux
        pass
    try:  # pragma: no cover
        return maxrss_mib()
    except Exception:  # noqa: BLE001 - no resource accounting at all
        return None


def reset_peak() -> bool:
    """Reset the high-water mark to the current resident set (``/proc/self/clear_refs``), so the
    next :func:`peak_rss_mib` is the peak from now on; False where the platform does not allow it
    (then the peak is the process's since start). The peak before the reset is kept for
    :func:`process_peak_mib`."""
    _EARLIER_PEAK[0] = max(_EARLIER_PEAK[0], peak_rss_mib() or 0.0)
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:  # pragma: no cover - not Linux / not permitted
        return False


def process_peak_mib() -> float | None:
    """The whole process's resident-set peak in MiB, across every :func:`reset_peak` (a reset also
    clears ``ru_maxrss`` on Linux); None when the platform cannot tell.

    >>> reset_peak() in (True, False) and process_peak_mib() >= peak_rss_mib()
    True
    """
    now = peak_rss_mib()
    if now is None and not _EARLIER_PEAK[0]:  # pragma: no cover - no resource accounting at all
        return None
    return max(_EARLIER_PEAK[0], now or 0.0)


def maxrss_mib() -> float:
    """``ru_maxrss`` in MiB (the process-lifetime peak; survives fork+exec on Linux)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1024.0 * 1024.0) if sys.platform == "darwin" else r / 1024.0


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now (``MemAvailable``), None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return None


def release_memory() -> None:
    """Hand memory that is free inside this process back to the system: pyarrow's pool (it keeps freed
    buffers for reuse) and, with glibc, the free pages of malloc's heaps (``malloc_trim``). A stage
    that follows then starts, and peaks, lower. Best effort: does nothing where neither applies.

    >>> release_memory()
    """
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        with contextlib.suppress(Exception):  # an old or unusual pyarrow
            pa.default_memory_pool().release_unused()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def _glibc() -> Any:
    if not sys.platform.startswith("linux"):  # pragma: no cover
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except (OSError, AttributeError):  # pragma: no cover
        return None


#: glibc's mmap thresholds the nomination job sets (see :func:`fixed_mmap_threshold`): while it reads
#: the log, and for the stages after
READ_MMAP_THRESHOLD = 1 << 20
STAGE_MMAP_THRESHOLD = 32 << 20


def fixed_mmap_threshold(size: int) -> bool:
    """Fix glibc's mmap threshold (``M_MMAP_THRESHOLD``) at ``size`` bytes for this process: blocks of
    that size or more get their own mapping, returned to the system when freed. Returns whether it
    was set (glibc only).

    glibc raises the threshold each time a large block is freed (up to 32 MiB), so later arrays of a
    few MiB come from the heap. The reader frees much of what it allocates: through the heap, that
    leaves free space which the later stages fault back in and keep (at 1e7 events the cascade stage
    then peaked 160 MiB higher, and every later stage 40-100 MiB higher). The nomination job reads
    with a 1 MiB threshold (:data:`READ_MMAP_THRESHOLD`: no cost measured there) and runs the
    stages with 32 MiB (:data:`STAGE_MMAP_THRESHOLD`, the value glibc grows to anyway: a 1 MiB
    threshold there cost 14% of the job's time in page faults). A process-wide setting: only the
    nomination job sets it, never a library function.
    """
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(-3, int(size)))  # M_MMAP_THRESHOLD
