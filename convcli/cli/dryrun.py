"""``apply --dry-run``: what would be written, and which inputs would fail, from headers."""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

from convcli.batch import Job, error_line
from convcli.cli.stdout import echo
from convcli.errors import ConvcliError
from convcli.io import read_header


def print_plan(run: Sequence[Job], skipped: Sequence[Job], *, as_json: bool) -> int:
    """Print what ``--dry-run`` would write; return how many inputs would fail.

    Each planned input's header is read (no pixels): a file that is empty or not an
    image is an error line, not a "would write".
    """
    failed = 0
    for job, status in [(j, "planned") for j in run] + [(j, "skipped") for j in skipped]:
        error = _header_error(job) if status == "planned" else None
        if error is not None:
            failed += 1
            click.echo(f"convcli: error: {error}", err=True)
        if as_json:
            record = {"input": job.source.display, "status": "failed" if error else status}
            echo(
                json.dumps(
                    {**record, "error": error}
                    if error
                    else {**record, "outputs": list(job.outputs)}
                )
            )
            continue
        verb = "would write" if status == "planned" else "would skip (exists)"
        for out in [] if error else job.outputs:
            echo(f"{verb} {out} <- {job.source.display}")
    return failed


def _header_error(job: Job) -> str | None:
    """The error line of an input whose header cannot be read (a dry run reads no pixels)."""
    source = job.source.data or b"" if job.source.path is None else str(job.source.path)
    try:
        read_header(source)
    except ConvcliError as exc:
        return error_line(job.source.display, exc)
    return None
