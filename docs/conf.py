"""Sphinx configuration for the kocgraph documentation (build: sphinx-build -W -b html docs docs/_build).

The build needs no network: formulas are rendered to SVG by matplotlib's mathtext (``_ext/mplmath.py``,
no MathJax, no CDN), and the plot gallery is drawn from the current code (``gallery.py``) before the
pages are read.
"""

import sys
from pathlib import Path

import kocgraph

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS))

project = "kocgraph"
author = "kocgraph developers"
copyright = "2026, kocgraph developers"
release = kocgraph.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "mplmath",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
exclude_patterns = ["_build"]
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_typehints = "none"
autosummary_generate = False
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_ivar = True
napoleon_custom_sections = [("Writes", "notes_style")]
html_theme = "alabaster"
html_static_path = ["_static"]
html_math_renderer = "mplmath"
suppress_warnings = ["myst.header"]


def _render_gallery(app: object) -> None:
    """Draw every kg.pl plot into _static/gallery before the pages (gallery.md) are read."""
    import gallery

    gallery.render(DOCS / "_static" / "gallery")


def setup(app: object) -> None:
    app.connect("builder-inited", _render_gallery)  # type: ignore[attr-defined]
