"""Kept for :mod:`kocgraph.spark._job`, which imports ``reason_line`` from here; the getters live in
``_kocs.py`` (``kg.get.kocs``, ``kg.get.explain``) and ``_communities.py``. Delete once Spark imports
``kocgraph.get._kocs.reason_line``."""

from ._kocs import reason_line

__all__ = ["reason_line"]
