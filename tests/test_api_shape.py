"""House rule 4: one signature shape, enforced over every public function.

- ``g`` first for every ``pp``/``tl``/``get``/``pl``/``evaluate`` function;
- at most three positional parameters, the rest keyword-only;
- ``tl`` tools take ``copy`` and (for tools that write one key) ``key_added``;
- randomized functions take ``rng``;
- every public function has an Examples section (run as a doctest in CI).
"""

from __future__ import annotations

import importlib
import inspect

import pytest

import kocgraph as kg

MODULES = ["pp", "tl", "get", "pl", "evaluate"]
SHARED_NAMES = {"weight", "key", "key_added", "rng", "n", "k", "method", "flavor", "copy"}


def _public(modname: str) -> list[tuple[str, object]]:
    try:
        mod = importlib.import_module(f"kocgraph.{modname}")
    except ImportError:  # pragma: no cover - module not built yet
        return []
    names = getattr(mod, "__all__", [])
    return [(f"kg.{modname}.{n}", getattr(mod, n)) for n in names if inspect.isfunction(getattr(mod, n))]


ALL = [item for m in MODULES for item in _public(m)]
TOP = [(f"kg.{n}", getattr(kg, n)) for n in ("read_log", "read_adoptions", "read", "write")]


@pytest.mark.parametrize("name,fn", ALL, ids=[n for n, _ in ALL])
def test_graph_first_and_few_positionals(name: str, fn: object) -> None:
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    assert params and params[0].name == "g", f"{name}: first parameter must be g, got {params[:1]}"
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert len(positional) <= 3, f"{name}: {len(positional)} positional parameters (max 3): {positional}"


@pytest.mark.parametrize("name,fn", [x for x in ALL if x[0].startswith("kg.tl.")], ids=lambda x: str(x))
def test_tools_take_copy(name: str, fn: object) -> None:
    params = inspect.signature(fn).parameters
    assert "copy" in params, f"{name} must take copy="
    assert params["copy"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("name,fn", ALL + TOP, ids=[n for n, _ in ALL + TOP])
def test_has_examples(name: str, fn: object) -> None:
    doc = inspect.getdoc(fn) or ""
    assert "Examples" in doc and ">>>" in doc, f"{name} has no runnable Examples section"


@pytest.mark.parametrize("name,fn", ALL, ids=[n for n, _ in ALL])
def test_random_functions_take_rng(name: str, fn: object) -> None:
    src = inspect.getsource(fn)
    params = inspect.signature(fn).parameters
    if "default_rng" in src or "random" in src.split('"""')[-1]:
        assert "rng" in params, f"{name} uses randomness but takes no rng"


def test_shared_names_are_keyword_only_where_present() -> None:
    for name, fn in ALL:
        for p in inspect.signature(fn).parameters.values():
            if p.name in SHARED_NAMES - {"n", "k"}:
                assert p.kind is inspect.Parameter.KEYWORD_ONLY, f"{name}: {p.name} must be keyword-only"
