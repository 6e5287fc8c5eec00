"""The layers of docs/architecture.md hold: no module imports from a layer above its own.

Imports are read from the source (module level and inside functions alike), so a lazy import that
goes upwards fails here as a module-level one would.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "kocgraph"
#: the layer of each top-level module or package, from the bottom (docs/architecture.md)
RANK = {"exceptions": 0, "_version": 0, "algorithms": 1, "_core": 2, "io": 3, "datasets": 4, "pp": 5, "tl": 5,
        "get": 6, "pl": 6, "evaluate": 6, "pipeline": 7, "jobs": 8, "report": 9, "bench": 9, "spark": 9,
        "cli": 10, "cli_args": 10, "cli_report": 10}
#: modules that sit in another layer than their package: the bench subcommand is command-line code
OVERRIDE = {"kocgraph.bench.cli": 10}
#: ``import kocgraph`` loads the public face (io, tl, get, pl, evaluate, datasets): the evaluate layer
ROOT_RANK = 6


def _module(p: Path) -> str:
    parts = list(p.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _rank(mod: str) -> int | None:
    if mod == "kocgraph":
        return ROOT_RANK
    if mod in OVERRIDE:
        return OVERRIDE[mod]
    return RANK.get(mod.split(".")[1]) if mod.startswith("kocgraph.") else None


def _imports(p: Path, me: str) -> set[str]:
    pkg = me if p.name == "__init__.py" else me.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                out.add(".".join(base + ([node.module] if node.module else [])))
            else:
                out.add(node.module or "")
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m == "kocgraph" or m.startswith("kocgraph.")}


def test_no_layer_imports_upwards() -> None:
    bad = []
    for p in sorted(ROOT.rglob("*.py")):
        me = _module(p)
        mine = _rank(me)
        if me == "kocgraph" or mine is None:
            continue
        for t in _imports(p, me):
            theirs = _rank(t)
            if theirs is not None and theirs > mine and not (me + ".").startswith(t + "."):
                bad.append(f"{me} (layer {mine}) imports {t} (layer {theirs})")
    assert not bad, "\n".join(bad)


def test_every_top_level_module_has_a_layer() -> None:
    names = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    assert names <= set(RANK), f"add {sorted(names - set(RANK))} to the layers (docs/architecture.md)"
