"""Plain-text views of a job's results for the terminal."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["format_top_table"]


def format_top_table(df: pd.DataFrame, *, max_reason: int = 90) -> str:
    """A short plain-text table of the top users for the terminal."""
    if df.empty:
        return "(no eligible user to rank)"
    cols: dict[str, Any] = {"rank": df["rank"], "user": df["user"].astype(str),
                            "score": df["score"].map(lambda v: f"{v:.3f}")}
    if "expected_reach" in df.columns:  # the score on a scale people read: people reached next period
        cols["next_reach"] = df["expected_reach"].map(lambda v: f"{v:,.0f}" if pd.notna(v) else "")
    if "rank_lo" in df.columns:
        cols["interval"] = [f"{lo}-{hi}" if pd.notna(lo) else "" for lo, hi in zip(df["rank_lo"], df["rank_hi"])]
    if "community" in df.columns:
        cols["comm"] = df["community"]
    cols["reach"] = df["reach"].map(lambda v: f"{int(v):,}")
    cols["reason"] = df["reason"].map(lambda s: s if len(s) <= max_reason else s[: max_reason - 1] + "…")
    out = pd.DataFrame(cols)
    text = {c: [str(c)] + [str(v) for v in out[c]] for c in out.columns}
    left = {"user", "reason"}
    widths = {c: max(len(x) for x in v) for c, v in text.items()}
    lines = []
    for i in range(len(out) + 1):
        cells = [text[c][i].ljust(widths[c]) if c in left else text[c][i].rjust(widths[c]) for c in out.columns]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
