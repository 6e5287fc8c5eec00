"""The run manifest: what a job read, how it ran, what it wrote (with each file's hash)."""

from __future__ import annotations

import hashlib
import os
import platform
import time
from pathlib import Path
from typing import Any

import pandas as pd

from .._core.resources import process_peak_mib
from .._version import __version__
from .config import NominateConfig

__all__ = ["file_sha256", "input_info", "no_usable_events_message", "manifest_dict"]


def file_sha256(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, streamed in ``chunk``-byte blocks (never the whole file in memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _versions() -> dict[str, str | None]:
    import importlib.metadata as md

    out: dict[str, str | None] = {}
    for pkg in ("numpy", "scipy", "pandas", "pyarrow", "igraph", "networkx"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:  # pragma: no cover
            out[pkg] = None
    return out


def input_info(log: Any, g: Any) -> dict[str, Any]:
    """What was read, with the SHA-256 of the bytes the reader parsed (taken while reading, so a
    file that changes during the run, or an output written over it, cannot change it)."""
    if isinstance(log, pd.DataFrame):
        return {"kind": "DataFrame", "rows": int(len(log))}
    rep = (g.meta.get("read_log") or {}) if g is not None else {}
    s = str(log)
    info: dict[str, Any] = {"kind": "sample", "sample": s.split(":", 1)[1]} if s.startswith("sample:") else \
        {"kind": "file", "path": str(Path(s).resolve())}
    if rep.get("files"):  # a folder, a glob or a list of files
        info["kind"] = "files"
        info["files"] = [{"path": f.get("path"), "bytes": f.get("n_bytes"), "sha256": f.get("sha256")}
                         for f in rep["files"]]
    elif rep.get("sha256"):
        info.update(path=rep.get("path", info.get("path")), bytes=rep.get("n_bytes"), sha256=rep["sha256"])
    return info


def no_usable_events_message(counts: dict[str, Any]) -> str:
    """Why a log yielded no event (for :class:`NoUsableDataError`), from the ingest row counts."""
    if counts["rows_read"] == 0:
        return "no usable event: the log has a header but no data row"
    return (f"no usable event left in the log: all {counts['rows_read']:,} row(s) were rejected "
            f"({', '.join(f'{k}: {v:,}' for k, v in counts['rejected_by_reason'].items())})")


def manifest_dict(cfg: NominateConfig, *, status: str, top: int, fmt: str, show: Any, pseudonymized: bool,
                  input_info: dict[str, Any], counts: dict[str, Any], graph_info: dict[str, Any],
                  kocs_meta: dict[str, Any] | None, timings: dict[str, float], t_start: float,
                  outputs: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run manifest of a nomination job (the same fields for every engine; ``extra`` adds some)."""
    params = {
        "top": top, "format": fmt if cfg.out is not None else None, "out": None if cfg.out is None else str(cfg.out),
        "staff_file": None if cfg.staff_file is None else str(cfg.staff_file),
        "staff_ids": [show(x) if pseudonymized else x for x in cfg.staff_ids],
        "bootstrap": int(cfg.bootstrap), "per_community": cfg.per_community,
        "kol_threshold": cfg.kol_threshold, "rng": cfg.rng,
        "weights": cfg.weights if cfg.weights is None or isinstance(cfg.weights, str) else dict(cfg.weights),
        "read_options": dict(cfg.read_options),
    }
    return {
        "tool": "kocgraph nominate",
        "kocgraph": __version__,
        "status": status,
        "created_utc": pd.Timestamp.now(tz="UTC").isoformat(),
        "parameters": params,
        "pseudonymized": pseudonymized,
        "pseudonym": ("p_ + first 16 hex of HMAC-SHA256(key=salt, msg=str(user id)); the salt is not recorded"
                      if pseudonymized else None),
        "input": dict(input_info),
        "rows": counts,
        "graph": dict(graph_info),
        "ranking": kocs_meta,
        "timings_s": {k: round(v, 6) for k, v in timings.items()},
        "wall_s": round(time.perf_counter() - t_start, 6),
        "peak_rss_mib": process_peak_mib(),
        "outputs": dict(outputs),
        **(extra or {}),
        "environment": {"python": platform.python_version(), "platform": platform.platform(),
                        "implementation": platform.python_implementation(), **_versions()},
    }
