"""Keyed pseudonyms for every user id a job writes, and where their key comes from."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InvalidParameterError

__all__ = ["Pseudonymizer", "pseudonymize_table", "pseudonymize_rejected", "resolve_key", "KEY_ENV"]

#: columns of the KOC table that are free text, never user ids (left alone by pseudonymization)
_TEXT_COLUMNS = frozenset({"reason", "excluded"})


class Pseudonymizer:
    """Keyed pseudonyms: ``"p_" + HMAC-SHA256(key=salt, msg=str(id)).hexdigest()[:16]``.

    The same salt gives the same pseudonym for an id, across runs; without the salt the ids cannot be
    recovered or confirmed. Missing values stay missing.

    Examples
    --------
    >>> p = Pseudonymizer("s3cret")
    >>> p("alice") == p("alice") != p("bob")
    True
    >>> p("alice")[:2], len(p("alice"))
    ('p_', 18)
    """

    def __init__(self, salt: str) -> None:
        if not isinstance(salt, str) or salt == "":
            raise InvalidParameterError("the pseudonymization salt must be a non-empty string; pass --pseudonymize SALT.")
        self._key = salt.encode("utf-8")
        self._cache: dict[str, str] = {}

    def __call__(self, uid: Any) -> Any:
        if uid is None or (not isinstance(uid, (list, tuple, np.ndarray)) and pd.isna(uid)):
            return uid
        s = str(uid)
        out = self._cache.get(s)
        if out is None:
            out = "p_" + hmac.new(self._key, s.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
            self._cache[s] = out
        return out

    def series(self, s: pd.Series) -> pd.Series:
        """Pseudonymize a column of ids (one HMAC per distinct id)."""
        if len(s) == 0:
            return s.astype(object)
        vals = s.astype(object).to_numpy()
        na = pd.isna(vals)
        inv, uniq = pd.factorize(pd.Series(vals[~na]), sort=False)
        mapped = np.array([self(u) for u in uniq], dtype=object)
        out = np.full(len(vals), None, dtype=object)
        out[~na] = mapped[inv] if len(uniq) else []
        return pd.Series(out, index=s.index, name=s.name, dtype=object)

    def elements(self, s: pd.Series, users: pd.Index | None = None) -> pd.Series:
        """Pseudonymize list cells element by element; scalar cells that are user ids too."""

        def one(v: Any) -> Any:
            if isinstance(v, (list, tuple, np.ndarray)):
                return [self(x) for x in v]
            if users is None or (not pd.isna(v) and v in users):
                return self(v)
            return v

        return s.map(one)


def _is_list_column(s: pd.Series) -> bool:
    if s.dtype != object or len(s) == 0:
        return False
    return bool(s.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any())


def pseudonymize_table(df: pd.DataFrame, p: Pseudonymizer, users: pd.Index, *, id_columns: Iterable[str] = ("user",)) -> pd.DataFrame:
    """Replace user ids in a result table: ``id_columns`` entirely, list columns element by element
    (top users, routes), and any other object cell equal to a user id. Free text (``reason``) is kept."""
    out = df.copy()
    ids = set(id_columns)
    for col in out.columns:
        s = out[col]
        if col in ids:
            out[col] = p.series(s)
        elif col in _TEXT_COLUMNS:
            continue
        elif _is_list_column(s):
            out[col] = p.elements(s)
        elif s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            out[col] = p.elements(s.astype(object), users)
    return out


#: the environment variable a job reads its pseudonymization key from (``--pseudonymize-key-env``)
KEY_ENV = "KOCGRAPH_PSEUDONYMIZE_KEY"


def resolve_key(*, salt: str | None = None, key_file: str | os.PathLike[str] | None = None,
                key_env: str | None = None, environ: Mapping[str, str] | None = None,
                warn: Callable[[str], None] | None = None) -> str | None:
    """The pseudonymization key from one of: a key file (its first line), an environment variable
    (``key_env``, e.g. :data:`KEY_ENV`), or the key itself (``salt``: it then sits in the process list
    and the shell's history, so ``warn`` is told). None when none is given; more than one is an error.

    >>> resolve_key(key_env="K", environ={"K": "s3cret"})
    's3cret'
    """
    given = [n for n, v in (("--pseudonymize", salt), ("--pseudonymize-key-file", key_file),
                            ("--pseudonymize-key-env", key_env)) if v is not None]
    if len(given) > 1:
        raise InvalidParameterError(f"pass one of {given}, not several: they all give the pseudonymization key.")
    if key_file is not None:
        p = Path(key_file)
        if not p.is_file():
            raise InvalidParameterError(f"the key file {str(p)!r} (--pseudonymize-key-file) does not exist.")
        key = p.read_text(encoding="utf-8-sig").splitlines()[0].strip() if p.stat().st_size else ""
        if not key:
            raise InvalidParameterError(f"the key file {str(p)!r} is empty; put the key on its first line.")
        return key
    if key_env is not None:
        env = os.environ if environ is None else environ
        key = env.get(key_env, "")
        if not key:
            raise InvalidParameterError(
                f"the environment variable {key_env!r} (--pseudonymize-key-env) is not set or empty; "
                f"export {key_env}=<key> first.")
        return key
    if salt is not None and warn is not None:
        warn("warning: --pseudonymize puts the key on the command line, where the process list and the shell "
             "history show it; prefer --pseudonymize-key-file PATH or --pseudonymize-key-env VAR.")
    return salt


def pseudonymize_rejected(rejected: pd.DataFrame, p: Pseudonymizer, columns: Mapping[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """Rejected rows safe to share under pseudonymization: the log's known columns only (source and
    target pseudonymized, the unparsed lines key-hashed whole as ``h_...``); every other column of
    the log (free text that may name people) is dropped. Returns the rows and the dropped columns."""
    known = {"row", "reason", "line", "file", "raw_text"} | {str(c) for c in columns.values() if c is not None}
    dropped = [str(c) for c in rejected.columns if str(c) not in known]
    out = rejected.drop(columns=dropped).copy()
    for role in ("source", "target"):
        c = columns.get(role)
        if c is not None and c in out.columns:
            out[c] = p.series(out[c])
    if "raw_text" in out.columns:  # an unparsed line holds ids we cannot pick out: key-hash it whole
        out["raw_text"] = p.series(out["raw_text"]).map(lambda v: v if v is None else "h_" + v[2:])
    return out, dropped
