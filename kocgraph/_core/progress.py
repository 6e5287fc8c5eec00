"""Progress bars for the library calls that can take more than a few seconds.

Every such call takes ``progress: bool | None = None``:

- ``None`` (the default): a bar only when someone is watching, i.e. stderr is a terminal or the
  code runs in a Jupyter kernel. Scripts, batch jobs, CI and the test suite stay silent.
- ``True``: always a bar; ``False``: never.

The bar is ``tqdm.auto`` (a widget in Jupyter when ``ipywidgets`` is installed, text otherwise), on
stderr, and it disappears when the call ends (``leave=False``), so notebooks keep their outputs
clean. Kernels in ``kocgraph.algorithms`` stay free of tqdm: they take a plain ``callback(n)`` that
is called after each batch with the work just done, and :func:`advance` turns a bar into one.

Examples
--------
>>> from kocgraph._core.progress import progress_bar
>>> with progress_bar(False, total=3, desc="demo") as bar:
...     for _ in range(3):
...         bar.update(1)
>>> bar.n
3
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..exceptions import InvalidParameterError

__all__ = ["advance", "check_progress", "is_interactive", "progress_bar", "Silent"]


def _in_jupyter() -> bool:
    """True inside a Jupyter (IPython) kernel; never imports IPython itself."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001  # pragma: no cover - a broken IPython install means 'not a notebook'
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def is_interactive() -> bool:
    """Someone is watching: stderr is a terminal, or this is a Jupyter kernel."""
    try:
        tty = bool(sys.stderr is not None and sys.stderr.isatty())
    except (AttributeError, ValueError):  # a replaced or closed stderr
        tty = False
    return tty or _in_jupyter()


def check_progress(progress: Any, *, where: str) -> bool:
    """Whether to show a bar: ``progress`` (None, True or False) resolved against :func:`is_interactive`."""
    if progress is None:
        return is_interactive()
    if isinstance(progress, bool):
        return progress
    raise InvalidParameterError(
        f"{where}: progress={progress!r} must be None (a bar only when interactive: a terminal or Jupyter), "
        "True (always) or False (never)."
    )


class Silent:
    """The bar shown when nobody is watching: counts the work and draws nothing."""

    def __init__(self, total: int | None = None, desc: str = "") -> None:
        self.total, self.desc, self.n = total, desc, 0

    def update(self, n: int = 1) -> None:
        self.n += int(n)

    def set_description(self, desc: str, refresh: bool = True) -> None:
        self.desc = desc

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


def _tqdm() -> Any:
    """``tqdm.auto.tqdm``; without ipywidgets, tqdm.auto falls back to text bars and warns once at
    import: the fallback is what we want, so the warning is not shown."""
    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmWarning)
        from tqdm.auto import tqdm
    return tqdm


@contextmanager
def progress_bar(progress: Any, *, total: int | None, desc: str, unit: str = "it",
                 where: str = "kocgraph") -> Iterator[Any]:
    """A tqdm bar, or a :class:`Silent` stand-in, closed on exit (also when the work raises).

    Parameters
    ----------
    progress
        None, True or False (see the module docstring); validated here.
    total
        Units of work expected (None: unknown, the bar counts up).
    desc
        A few plain words shown before the bar, e.g. ``"betweenness (sampled pairs)"``.
    unit
        What one unit is (``"run"``, ``"set"``, ``"source"``).
    where
        The public call, named in the error for a bad ``progress``.

    Yields
    ------
    An object with ``update(n)``, ``set_description(s)``, ``set_postfix_str(s)`` and ``n``.
    """
    if check_progress(progress, where=where):
        bar = _tqdm()(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True)
    else:
        bar = Silent(total, desc)
    try:
        yield bar
    finally:
        bar.close()


def advance(bar: Any) -> Callable[[int, int | None], None]:
    """The ``callback(step, total)`` a kernel calls after each batch: sets the bar's total when the
    kernel knows it (``None``: unknown) and advances the bar by ``step``."""

    def callback(step: int, total: int | None) -> None:
        if total is not None and bar.total != total:
            bar.total = int(total)
        bar.update(int(step))

    return callback
