"""Sphinx configuration for the kocgraph documentation (build: sphinx-build -W -b html docs docs/_build)."""

import kocgraph

project = "kocgraph"
author = "kocgraph developers"
copyright = "2026, kocgraph developers"
release = kocgraph.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
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
html_static_path: list[str] = []
suppress_warnings = ["myst.header"]
