"""Getters: tidy DataFrames out of a :class:`~kocgraph.ShareGraph`."""

from ._basic import cascade, rejected

__all__ = ["rejected", "cascade"]
