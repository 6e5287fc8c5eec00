"""The operator's own accounts: read from a file and/or a list, checked against the log.

One reader of staff files (:func:`read_staff_ids`) and one matching rule (:func:`match_staff`) for
every engine: ids are text on the command line, turned into integers when the log's ids are
integers; ids not in the log are ignored with a note, and none in the log is an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import LogSchemaError, NodeNotFoundError

__all__ = ["check_staff_file", "read_staff_ids", "match_staff", "resolve_staff"]


def check_staff_file(staff_file: str | os.PathLike[str] | None) -> None:
    """Raise :class:`~kocgraph.LogSchemaError` when a staff file is named but does not exist."""
    if staff_file is not None and str(staff_file) != "" and not Path(staff_file).is_file():
        raise LogSchemaError(
            f"staff file {str(staff_file)!r} does not exist. Pass --staff with a text file of staff ids, one per line, "
            "or --staff-ids id1,id2."
        )


def read_staff_ids(staff_file: str | os.PathLike[str] | None = None, staff_ids: Iterable[Any] = ()) -> list[Any]:
    """Staff ids from a file (one per line, ``#`` comments, a BOM allowed) and/or a list, in order,
    without blanks.

    >>> read_staff_ids(None, [" brand ", "", 7])
    ['brand', 7]
    """
    ids: list[Any] = []
    if staff_file is not None and str(staff_file) != "":
        check_staff_file(staff_file)
        ids += [ln.strip() for ln in Path(staff_file).read_text(encoding="utf-8-sig").splitlines()
                if ln.strip() and not ln.strip().startswith("#")]
    ids += [s for s in (str(x).strip() if isinstance(x, str) else x for x in staff_ids) if s != ""]
    return ids


def match_staff(ids: list[Any], *, int_ids: bool, present: Callable[[list[Any]], set[Any]],
                note: Callable[[str], None] | None = None, show: Callable[[Any], Any] = lambda x: x) -> list[Any]:
    """The ids that are users of the log (``present(ids)`` tells which), as the log spells them.

    >>> match_staff(["1", "2"], int_ids=True, present=lambda ids: {1})
    [1]
    """
    if not ids:
        return []
    if int_ids:
        try:
            ids = [int(x) for x in ids]
        except (TypeError, ValueError) as err:
            raise LogSchemaError(
                f"staff ids must be integers for this log (its user ids are integers): {err}. "
                "Check the staff file against the log's source/target columns."
            ) from err
    else:
        ids = [str(x) for x in ids]
    ids = list(dict.fromkeys(ids))
    found = present(ids)
    hit = [x for x in ids if x in found]
    missing = [x for x in ids if x not in found]
    if missing and not hit:
        raise NodeNotFoundError(
            f"none of the {len(ids)} staff ids is a user in the log (e.g. {[show(x) for x in missing[:3]]}). "
            "Check the staff file against the log's source/target columns."
        )
    if missing and note is not None:
        note(f"note: {len(missing)} staff id(s) not in the log, ignored: {[show(x) for x in missing[:5]]}")
    return hit


def resolve_staff(
    g: Any,
    staff_file: str | os.PathLike[str] | None = None,
    staff_ids: Iterable[Any] = (),
    *,
    note: Callable[[str], None] | None = None,
    show: Callable[[Any], Any] = lambda x: x,
) -> list[Any]:
    """Staff ids (see :func:`read_staff_ids`) that are users of the in-memory graph ``g``."""
    index = g.nodes.index
    int_ids = index.dtype.kind in "iu" or (len(index) > 0 and isinstance(index[0], (int, np.integer))
                                            and not isinstance(index[0], bool))

    def present(ids: list[Any]) -> set[Any]:
        hit = index.isin(ids)
        return set(index[hit].tolist()) if hit.any() else set()

    return match_staff(read_staff_ids(staff_file, staff_ids), int_ids=int_ids, present=present, note=note, show=show)
