"""Getters: tidy DataFrames out of a :class:`~kocgraph.ShareGraph`. Each raises
:class:`~kocgraph.NotComputedError` naming the tool to run when its result is missing."""

from ._basic import cascade, rejected
from ._communities import communities
from ._grow import seeds
from ._insight import attribution, profile, routes
from ._kocs import explain, kocs

__all__ = ["rejected", "cascade", "kocs", "explain", "communities", "routes", "attribution", "profile", "seeds"]
