"""The documentation site builds with warnings as errors (house rule 7: every example runs in CI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build_without_warnings(tmp_path: Path) -> None:
    pytest.importorskip("sphinx", reason="install the [test] extra (it brings sphinx and myst-parser)")
    pytest.importorskip("myst_parser", reason="install the [test] extra (it brings myst-parser)")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(ROOT / "docs"), str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    assert (tmp_path / "index.html").exists()
    for page in ("getting-started", "guide", "definitions", "errors", "api", "benchmarks"):
        assert (tmp_path / f"{page}.html").exists(), page


def test_errors_page_lists_every_rejection_reason() -> None:
    # the reason table of docs/errors.md is REASONS, row for row: a new reason must be documented
    import re

    from kocgraph._core.validation import REASONS

    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    table = text[text.index("| reason | meaning |"):]
    rows = re.findall(r"^\| `([a-z_]+)` \| (.+?) \|$", table[: table.index("\n\n")], flags=re.M)
    assert dict(rows) == dict(REASONS)
