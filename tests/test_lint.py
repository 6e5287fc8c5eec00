"""The house's habits, run with the test suite so CI holds them: ``ruff check`` (lint and import order)
and ``mypy`` (the whole package), both configured in pyproject.toml. Both come with the ``[test]``
extra; a missing tool fails here with the command that installs it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.fail(f"{module} is not installed: run  python -m pip install -e '.[test]'")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_ruff_is_clean() -> None:
    out = _run("ruff", "check", "--no-cache", "--output-format", "concise", ".")
    assert out.returncode == 0, f"ruff check found problems (fix them, or `ruff check --fix .`):\n{out.stdout}{out.stderr}"


def test_mypy_is_clean() -> None:
    out = _run("mypy", "--no-incremental", "--cache-dir", os.devnull)
    assert out.returncode == 0, f"mypy found problems:\n{out.stdout}{out.stderr}"
