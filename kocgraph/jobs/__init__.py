"""Batch jobs behind the command line, importable and testable without argparse.

:func:`nominate` is the nightly nomination job: read the log, run the pipeline
(:mod:`kocgraph.pipeline`), and write the ranked table, the rejected rows, the accounts left out and
a run manifest as one output set (:class:`OutputSet`: they change together, the manifest last, with
every file's hash). The command line (``kocgraph nominate``) only turns flags into a
:class:`NominateConfig` and prints the result.

- :mod:`~kocgraph.jobs.config`: the configuration and every check made before reading;
- :mod:`~kocgraph.jobs.nomination`: the orchestration and the engine hook;
- :mod:`~kocgraph.jobs.outputs`: formats, atomic files, output sets, spreadsheet-safe CSV;
- :mod:`~kocgraph.jobs.pseudonyms`: keyed pseudonyms and where their key comes from;
- :mod:`~kocgraph.jobs.capacity`: whether the log fits in memory, estimated before reading;
- :mod:`~kocgraph.jobs.manifest`: the run manifest; :mod:`~kocgraph.jobs.staff`: staff accounts.

Examples
--------
>>> from kocgraph.jobs import NominateConfig, nominate
>>> res = nominate(NominateConfig("sample:toy", staff_ids=["brand", "staff_li"], top=3, progress=False))
>>> res.table["user"].tolist() == res.graph.nodes.sort_values("koc_rank").index[:3].tolist()
True
"""

from .capacity import LogTooLargeError, check_memory, estimate_events, memory_needed
from .config import (
    BOOTSTRAP_MAX,
    NominateConfig,
    NominateResult,
    NoUsableDataError,
    check_bootstrap,
    check_config,
    check_log_name,
    check_read_options,
    check_seed,
)
from .display import format_top_table
from .manifest import file_sha256, input_info, manifest_dict, no_usable_events_message
from .nomination import STAGES, JobEngine, MemoryJobEngine, nominate, read_input
from .outputs import (
    FORMATS,
    OutputSet,
    atomic_write,
    check_outputs,
    infer_format,
    neutralize_formulas,
    output_paths,
    verify_outputs,
    write_csv_chunks,
    write_frame,
    write_json,
    write_table,
)
from .pseudonyms import KEY_ENV, Pseudonymizer, pseudonymize_rejected, pseudonymize_table, resolve_key
from .staff import check_staff_file, match_staff, read_staff_ids, resolve_staff

__all__ = [
    "BOOTSTRAP_MAX", "NominateConfig", "NominateResult", "NoUsableDataError", "check_bootstrap", "check_config",
    "check_log_name", "check_read_options", "check_seed", "format_top_table", "file_sha256", "input_info",
    "manifest_dict", "no_usable_events_message", "STAGES", "JobEngine", "MemoryJobEngine", "nominate", "read_input",
    "FORMATS", "OutputSet", "atomic_write", "check_outputs", "infer_format", "neutralize_formulas", "output_paths",
    "verify_outputs", "write_csv_chunks", "write_frame", "write_json", "write_table", "KEY_ENV", "Pseudonymizer", "pseudonymize_rejected",
    "pseudonymize_table", "resolve_key", "check_staff_file", "match_staff", "read_staff_ids", "resolve_staff",
    "LogTooLargeError", "check_memory", "estimate_events", "memory_needed",
]
