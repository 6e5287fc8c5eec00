"""Reshape: time windows and filters. Every function returns a new :class:`~kocgraph.ShareGraph`;
results computed on the input are not carried over (rerun the tools on the new graph)."""

from ._filters import event_types, exclude_users, keep_users, min_item_events, window

__all__ = ["window", "keep_users", "exclude_users", "event_types", "min_item_events"]
