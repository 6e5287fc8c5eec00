"""The plot gallery is drawn from the current code, and the docs show math without a network (no MathJax,
no CDN: formulas are SVG files rendered at build time)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import kocgraph as kg

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _gallery() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kocgraph_docs_gallery", DOCS / "gallery.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gallery_covers_every_plot() -> None:
    g = _gallery()
    assert {fn for fn, _ in g.ENTRIES.values()} == set(kg.pl.__all__)
    page = (DOCS / "gallery.md").read_text(encoding="utf-8")
    for name, (fn, _) in g.ENTRIES.items():
        assert f"_static/gallery/{name}.png" in page, name
        assert f"`kg.pl.{fn}`" in page, fn


def test_gallery_script_renders_every_png(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(DOCS / "gallery.py"), str(tmp_path)], capture_output=True,
                          text=True, timeout=600, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = [Path(line) for line in proc.stdout.split()]
    assert [p.stem for p in written] == list(_gallery().ENTRIES)
    for p in written:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000, p


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("sphinx", reason="install the [test] extra (it brings sphinx and myst-parser)")
    pytest.importorskip("myst_parser", reason="install the [test] extra (it brings myst-parser)")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS),
                           str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def test_math_is_rendered_without_a_network(site: Path) -> None:
    page = (site / "definitions.html").read_text(encoding="utf-8")
    imgs = re.findall(r'<img class="math[^"]*" src="([^"]+)" alt="([^"]*)"', page)
    assert len(imgs) >= 5, "every formula of the definitions page is an image"
    for src, alt in imgs:
        svg = site / src
        assert svg.exists() and svg.read_text(encoding="utf-8").lstrip().startswith("<?xml"), (src, alt)
    assert any("frac" in alt for _, alt in imgs)  # the virality formula, a display formula
    # nothing loaded from elsewhere: no remote script, stylesheet or image, and no MathJax at all
    remote = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//[^"]+"', page)
    assert remote == []
    assert "mathjax" not in " ".join(re.findall(r"<script[^>]*>", page)).lower()
    assert "\\frac" not in re.sub(r'alt="[^"]*"', "", page)  # no raw TeX left for a browser to typeset


def test_gallery_page_shows_every_figure(site: Path) -> None:
    page = (site / "gallery.html").read_text(encoding="utf-8")
    for name in _gallery().ENTRIES:
        assert f"{name}.png" in page, name
        assert (site / "_images" / f"{name}.png").exists(), name
