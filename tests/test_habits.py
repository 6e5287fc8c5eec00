"""House habits that a test can hold: no function in ``kocgraph/`` over 80 lines without a reason.

The rule (issue 14, DESIGN's house rules): keep functions under ~80 lines unless the docstring says
why. Measured with :mod:`ast`: a function's *body lines* run from its first statement after the
docstring to the end of its last statement (decorators, signature and docstring not counted; a nested
function counts towards its parent and is measured on its own too).

Convention for a function that is long on purpose: its docstring contains the words
``is long because`` followed by the reason, in one sentence, e.g.::

    def kernel(...):
        \"\"\"...

        This function is long because it is one tight numeric loop that reads as one algorithm.
        \"\"\"

The test fails listing every function over the limit whose docstring gives no such reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kocgraph"
MAX_BODY_LINES = 80
#: the marker, then at least three words of reason
REASON = re.compile(r"\bis long because\s+\S+\s+\S+\s+\S+", re.IGNORECASE)


def body_lines(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first statement after the docstring to the end of the last statement."""
    body = fn.body
    if ast.get_docstring(fn, clean=False) is not None:
        body = body[1:]
    if not body:
        return 0
    return int(body[-1].end_lineno or body[-1].lineno) - body[0].lineno + 1


def long_functions(source: str, filename: str = "<string>") -> list[tuple[str, int]]:
    """``("file:line:name", body lines)`` of every function over the limit with no reason given."""
    out = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = body_lines(node)
            if n > MAX_BODY_LINES and not REASON.search(ast.get_docstring(node) or ""):
                out.append((f"{filename}:{node.lineno}:{node.name}", n))
    return out


def _function(body: int, doc: str | None) -> str:
    """Source of a function with ``body`` one-line statements and the docstring ``doc``."""
    lines = ["def f(x):"]
    if doc is not None:
        lines += ['    """' + doc, '', '    more text', '    """']
    lines += [f"    x = x + {i}" for i in range(body - 1)] + ["    return x"]
    return "\n".join(lines) + "\n"


def test_no_long_function_without_a_reason() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20, f"found only {len(files)} files under {PACKAGE}"
    bad = [hit for p in files for hit in long_functions(p.read_text(encoding="utf-8"), str(p.relative_to(PACKAGE.parent)))]
    assert not bad, (
        f"{len(bad)} function(s) over {MAX_BODY_LINES} body lines without a reason; split them along their seams "
        "into private helpers, or write in the docstring one sentence 'This function is long because <reason>.':\n"
        + "\n".join(f"  {n} lines  {where}" for where, n in sorted(bad, key=lambda h: -h[1]))
    )


@pytest.mark.parametrize(
    ("body", "doc", "flagged"),
    [
        (80, None, False),  # exactly at the limit
        (81, None, True),  # one over, no docstring
        (81, "Does a thing.", True),  # a docstring without the marker
        (81, "This function is long because it is one tight loop.", False),
        (81, "It is long because.", True),  # the marker with no reason after it
        (200, "IS LONG BECAUSE the kernel reads as one algorithm.", False),  # case does not matter
    ],
)
def test_the_checker_itself(body: int, doc: str | None, flagged: bool) -> None:
    src = _function(body, doc)
    fn = ast.parse(src).body[0]
    assert isinstance(fn, ast.FunctionDef)
    assert body_lines(fn) == body  # the docstring (4 lines here) is not counted
    assert bool(long_functions(src)) is flagged


def test_nested_functions_are_measured_on_their_own() -> None:
    inner = _function(90, None).replace("\n", "\n    ")
    src = "def outer():\n    " + inner + "\n    return f\n"
    hits = [where for where, _ in long_functions(src)]
    assert hits == ["<string>:1:outer", "<string>:2:f"]
