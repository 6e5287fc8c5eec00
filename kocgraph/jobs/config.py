"""What a nomination job needs (:class:`NominateConfig`), what it gives back, and every check made before
the log is read (bad flags exit with code 2 before any work)."""

from __future__ import annotations

import codecs
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._core.resources import available_memory
from ..exceptions import InvalidParameterError, LogSchemaError
from .outputs import OutputFormat, check_outputs, infer_format, output_paths
from .pseudonyms import Pseudonymizer
from .staff import check_staff_file

__all__ = ["NoUsableDataError", "NominateConfig", "NominateResult", "check_read_options", "check_log_name", "check_seed",
           "check_bootstrap", "check_config", "BOOTSTRAP_MAX"]

#: the most bootstrap draws a job takes: rank intervals settle within a few hundred draws, and 10,000
#: draws keep the rank matrix (draws x at most 1,000 users x 8 bytes) near 80 MB
BOOTSTRAP_MAX = 10_000


class NoUsableDataError(LogSchemaError):
    """The log has no usable event left (empty, or every row rejected)."""


@dataclass
class NominateConfig:
    """Everything the nomination job needs; the command line fills it from its flags.

    Parameters
    ----------
    log
        A log path, ``"sample:NAME"`` (see ``kg.datasets.samples()``) or a pandas DataFrame.
    read_options
        Keyword arguments for :func:`kocgraph.read_log` (``source``, ``target``, ``time_unit``, ...).
    staff_file, staff_ids
        Staff accounts: a text file with one id per line (``#`` comments allowed) and/or ids.
    top
        How many candidates the table holds.
    out
        Output path; ``None`` computes and returns the table but writes nothing.
    format
        ``"csv"``, ``"parquet"`` or ``"json"``; ``None`` infers it from ``out``'s suffix (else CSV).
    pseudonymize
        A salt: every user id in every output becomes ``"p_" + HMAC-SHA256(salt, str(id))[:16]``.
    bootstrap, per_community, kol_threshold, rng
        Passed to :func:`kocgraph.tl.kocs` (``rng`` also seeds the communities).
    weights
        Passed to :func:`kocgraph.tl.kocs` when given (``"fit"``, ``"prior"``, ``"percentile"`` or
        ``{feature: weight}``); ``None`` keeps its default (``"fit"``). The Spark engine has no fit:
        there ``"fit"`` uses the prior weights and says so.
    progress
        Show a tqdm bar over the stages on stderr; ``None`` = only when stderr is a terminal.
    """

    log: Any
    read_options: dict[str, Any] = field(default_factory=dict)
    staff_file: str | os.PathLike[str] | None = None
    staff_ids: Sequence[Any] = ()
    top: int = 100
    out: str | os.PathLike[str] | None = None
    format: OutputFormat | None = None
    pseudonymize: str | None = None
    bootstrap: int = 0
    per_community: int | None = None
    kol_threshold: int | str | None = "auto"
    rng: int = 0
    progress: bool | None = None
    weights: Any = None


@dataclass
class NominateResult:
    """What :func:`nominate` produced: the table (as written), the paths written, the manifest."""

    table: pd.DataFrame
    excluded: pd.DataFrame
    outputs: dict[str, str]
    manifest: dict[str, Any]
    graph: Any = None
    notes: list[str] = field(default_factory=list)


def check_read_options(opts: Mapping[str, Any]) -> None:
    """Check the ``read_log`` options that the reader would only trip over late (or ignore):
    ``encoding`` (known to Python), ``tz`` (known to pandas, checked even when the times turn out to
    be epoch numbers or carry their own zone) and ``sep`` (one character). Raises
    :class:`~kocgraph.InvalidParameterError` (exit code 2 on the command line).

    >>> check_read_options({"encoding": "gb18030", "tz": "Asia/Shanghai", "sep": ";"})
    >>> check_read_options({"tz": "Mars/Olympus"})
    Traceback (most recent call last):
    ...
    kocgraph.exceptions.InvalidParameterError: tz='Mars/Olympus' (--tz) is not a time zone pandas knows; ...
    """
    enc = opts.get("encoding")
    if enc is not None:
        try:
            text_codec = getattr(codecs.lookup(str(enc)), "_is_text_encoding", True)  # not base64, rot13, ...
        except LookupError:
            text_codec = False
        if not text_codec:
            raise InvalidParameterError(
                f"encoding={enc!r} (--encoding) is not a text encoding Python knows; pass e.g. utf-8, gb18030, "
                "big5 or utf-16.")
    tz = opts.get("tz")
    if tz is not None:
        try:
            pd.Timestamp(0).tz_localize(tz)
        except Exception:  # noqa: BLE001 - pytz, zoneinfo and dateutil each raise their own type
            raise InvalidParameterError(
                f"tz={tz!r} (--tz) is not a time zone pandas knows; pass an IANA name such as 'Asia/Shanghai' or "
                "'UTC' (the default).") from None
    sep = opts.get("sep")
    if sep is not None and (not isinstance(sep, str) or len(sep) != 1 or sep in '\r\n"'):
        raise InvalidParameterError(
            f"sep={sep!r} (--sep) must be one character other than a quote or a line break; pass e.g. ',' ';' "
            "or a tab (--sep $'\\t').")


def check_log_name(log: Any) -> None:
    """A ``sample:NAME`` log must name a registered sample (checked before any reading)."""
    if isinstance(log, str) and log.startswith("sample:"):
        from ..datasets import SAMPLES

        name = log.split(":", 1)[1]
        if name not in SAMPLES:
            raise InvalidParameterError(
                f"sample {name!r} is not in the registry; known samples are {list(SAMPLES)}. See kg.datasets.samples().")


def check_seed(rng: Any, flag: str = "--rng") -> int:
    """A random seed: a whole number >= 0 (what numpy accepts); raises InvalidParameterError."""
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or int(rng) < 0:
        raise InvalidParameterError(f"rng={rng!r} ({flag}) must be a whole number >= 0; pass e.g. {flag} 0.")
    return int(rng)


def check_bootstrap(bootstrap: Any, *, memory: int | None = None) -> int:
    """Bootstrap draws: 0 (off) to :data:`BOOTSTRAP_MAX`, and their rank matrix (draws x at most
    ``BOOTSTRAP_TOP`` users x 8 bytes, about 3x that at its peak with the quantiles) within half the
    available memory (``memory`` bytes; default: measured). Raises InvalidParameterError.

    >>> check_bootstrap(200)
    200
    """
    from ..tl import BOOTSTRAP_TOP

    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or int(bootstrap) < 0:
        raise InvalidParameterError(f"bootstrap={bootstrap!r} (--bootstrap) must be a whole number >= 0; pass e.g. 200.")
    b = int(bootstrap)
    need = 3 * 8 * BOOTSTRAP_TOP * b
    avail = available_memory() if memory is None else memory
    size = f"{b:,} draws would need up to {need / 2**30:,.2f} GiB for the rank intervals alone"
    if b > BOOTSTRAP_MAX:
        raise InvalidParameterError(
            f"bootstrap={b:,} (--bootstrap) is more than the {BOOTSTRAP_MAX:,} draws kocgraph takes ({size}, and "
            "rank intervals settle within a few hundred). Pass e.g. --bootstrap 200.")
    if avail is not None and need > avail // 2:
        raise InvalidParameterError(
            f"bootstrap={b:,} (--bootstrap): {size}, more than half the {avail / 2**30:,.2f} GiB of memory "
            "available. Pass fewer draws, e.g. --bootstrap 200, or free some memory.")
    return b


def check_config(cfg: NominateConfig) -> tuple[int, OutputFormat, dict[str, Path] | None]:
    """Every check of a nomination job that needs no reading, in one place (each engine runs it
    first): ``top``, the read options, ``rng``, ``bootstrap``, the output format and paths, the staff
    file. Returns ``(top, format, output paths or None)``."""
    top = int(cfg.top)
    if top < 1:
        raise InvalidParameterError(f"top={cfg.top!r} must be >= 1; pass e.g. --top 100.")
    check_log_name(cfg.log)
    check_read_options(cfg.read_options)
    check_seed(cfg.rng)
    check_bootstrap(cfg.bootstrap)
    paths = output_paths(cfg.out) if cfg.out is not None else None
    if paths is not None:  # every output: a regular file in a writable directory, never an input
        check_outputs(paths.values(), [cfg.log, cfg.staff_file])
    fmt = infer_format(cfg.out, cfg.format)
    if cfg.pseudonymize is not None:
        Pseudonymizer(cfg.pseudonymize)  # an empty salt is refused here
    check_staff_file(cfg.staff_file)  # before any (possibly long) work starts
    return top, fmt, paths
