"""Fixtures for the whole suite; the helpers, strategies and references live in ``kg_testlib``."""

from kg_testlib import toy, toy_cascades  # noqa: F401  (fixtures, found by pytest through this module)
