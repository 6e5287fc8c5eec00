"""What the process uses: peak resident memory (per stage, where Linux allows resetting the peak)
and the memory available. One place for the job's manifest, the pipeline and the benchmarks."""

from __future__ import annotations

import resource
import sys

__all__ = ["peak_rss_mib", "reset_peak", "maxrss_mib", "available_memory"]


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
    (then the peak is the process's since start)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:  # pragma: no cover - not Linux / not permitted
        return False


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
