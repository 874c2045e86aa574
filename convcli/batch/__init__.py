"""Batches: many inputs, their output names, the checks before any work, and the runs.

Everything is decided before any pixel is read: which files are inputs
(:mod:`~convcli.batch.inputs`), where each feature map goes and whether that would
collide, overwrite an input or replace an existing file (:mod:`~convcli.batch.naming`).
Only then does :func:`~convcli.batch.run.run_jobs` do the work
(:mod:`~convcli.batch.run`), in worker processes when there are several inputs.
"""

from __future__ import annotations

from convcli.batch.inputs import STDIO, Expansion, InputFile, expand_inputs, read_stdin
from convcli.batch.naming import (
    Existing,
    Job,
    check_jobs,
    drop_own_outputs,
    is_directory_target,
    output_format,
    plan_jobs,
    safe_name,
)
from convcli.batch.run import (
    Outcome,
    default_jobs,
    error_line,
    process_job,
    run_jobs,
    worker_count,
    worker_threads,
)

__all__ = [
    "STDIO",
    "Existing",
    "Expansion",
    "InputFile",
    "Job",
    "Outcome",
    "check_jobs",
    "default_jobs",
    "drop_own_outputs",
    "error_line",
    "expand_inputs",
    "is_directory_target",
    "output_format",
    "plan_jobs",
    "process_job",
    "read_stdin",
    "run_jobs",
    "safe_name",
    "worker_count",
    "worker_threads",
]
