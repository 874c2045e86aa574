"""``--record`` for ``apply``: a replay record ``<output>.json`` beside each output."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from convcli.batch import Job
from convcli.pipeline.record import existing_records

F = TypeVar("F", bound=Callable[..., Any])


def record_option(fn: F) -> F:
    """Add ``--record``."""
    option = click.option(
        "--record",
        is_flag=True,
        help="Also write <output>.json beside each output: a replay record for "
        "`convcli replay` (--json lines carry it too).",
    )
    return option(fn)


def check_records(jobs: Sequence[Job], kw: dict[str, Any]) -> None:
    """Refuse ``--record`` for standard output, and record files that would be replaced."""
    if not kw["record"]:
        return
    outputs = [out for job in jobs for out in job.outputs]
    if "-" in outputs:
        msg = "--record writes <output>.json beside each output; -o - has no name: use -o FILE"
        raise click.UsageError(msg)
    if not kw["overwrite"] and (found := existing_records(outputs)):
        msg = f"{found[0]} exists; --overwrite replaces it"
        raise click.UsageError(msg)
