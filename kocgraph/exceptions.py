"""The error vocabulary of kocgraph.

Every exception is also a builtin, so ordinary ``except ValueError`` / ``except KeyError`` keeps
working. Every message says what is wrong, shows the offending value, says what was expected and
how to fix it.

Examples
--------
>>> import kocgraph as kg
>>> try:
...     kg.read_log(kg.datasets.toy_frame(), source="sender")
... except kg.LogSchemaError as err:
...     print(type(err).__name__)
LogSchemaError
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = [
    "KocgraphError",
    "LogSchemaError",
    "InvalidParameterError",
    "NodeNotFoundError",
    "NotComputedError",
    "CorruptSaveError",
    "ConvergenceWarning",
    "DataQualityWarning",
]


class KocgraphError(Exception):
    """Base class of every error kocgraph raises on purpose."""


class LogSchemaError(KocgraphError, ValueError):
    """The forwarding log does not have the shape kocgraph needs (missing column, bad row, ...)."""


class InvalidParameterError(KocgraphError, ValueError, TypeError):
    """A parameter has the wrong type or value."""


class NodeNotFoundError(KocgraphError, KeyError):
    """A user (or item) id is not in the graph."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NotComputedError(KocgraphError, KeyError):
    """A getter or plot needs a result that no ``kg.tl`` function has written yet."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CorruptSaveError(KocgraphError, ValueError):
    """A graph saved by ``kg.write`` is damaged: a file is missing, truncated, altered or unreadable.

    The message names the damaged file. ``kg.read`` raises only this for damage, never a raw
    ``JSONDecodeError``, ``KeyError`` or ``ArrowInvalid``.
    """


class ConvergenceWarning(UserWarning):
    """An iterative kernel stopped at its iteration limit before reaching its tolerance."""


class DataQualityWarning(UserWarning):
    """The input was accepted, but something about it deserves a look (see the message)."""


def close_matches(name: str, candidates: Iterable[Any], n: int = 3) -> list[str]:
    """Up to ``n`` candidates that look like ``name`` (case-insensitive), best first."""
    cands = [str(c) for c in candidates]
    lower = {c.lower(): c for c in cands}
    hits = difflib.get_close_matches(str(name).lower(), list(lower), n=n, cutoff=0.5)
    out = [lower[h] for h in hits]
    for c in cands:  # substring matches ('user' vs 'from_user') that difflib scores low
        if len(out) >= n:
            break
        if c not in out and (str(name).lower() in c.lower() or c.lower() in str(name).lower()):
            out.append(c)
    return out


def check_choice(name: str, value: Any, choices: Iterable[Any], *, where: str) -> None:
    """Raise :class:`InvalidParameterError` unless ``value`` is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        raise InvalidParameterError(
            f"{name}={value!r} is not supported by {where}; expected one of {choices}. "
            f"Pass {name}={choices[0]!r} (the default) or another of those."
        )
