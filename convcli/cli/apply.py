"""``convcli apply``: filter images (files, folders, stdin) and write the feature maps.

Wiring only: the plan and the work come from :mod:`convcli.pipeline`, inputs and outputs
from :mod:`convcli.batch`, the summary rows from :mod:`convcli.pipeline.summary`. Standard
output carries data only (an image for ``-o -``, JSON lines for ``--json``, the plan for
``--dry-run``); every summary, progress bar and error goes to standard error.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, closing, nullcontext
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from convcli.batch import (
    STDIO,
    Existing,
    InputFile,
    Job,
    Outcome,
    check_jobs,
    default_jobs,
    drop_own_outputs,
    expand_inputs,
    plan_jobs,
    process_job,
    read_stdin,
    run_jobs,
    worker_count,
    worker_threads,
)
from convcli.choices import COMBINE_MODES
from convcli.cli.emitting import emit_for_apply, emit_option, options_from
from convcli.cli.output_options import check_encoding, file_options, save_options, value_options
from convcli.cli.params import DASK, FORMAT, KERNEL_SPEC, geometry_options
from convcli.cli.recording import check_records, record_option
from convcli.cli.stdout import echo, write_bytes
from convcli.errors import ConvcliError, OutputError
from convcli.io import FORMATS, remove_stale_temps
from convcli.kernels.kernel import normalized
from convcli.pipeline import ApplySettings, FilterPlan, ImageResult, build_plan
from convcli.pipeline.summary import one_line, summary_rows

if TYPE_CHECKING:  # rich is imported when something is printed: -q and --json runs start faster
    from rich.console import Console
    from rich.progress import Progress, TaskID


@click.command("apply")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "-k",
    "--kernel",
    "kernels",
    type=KERNEL_SPEC,
    multiple=True,
    required=True,
    help="Kernel spec: NAME, NAME:ARGS, a matrix or a file. Repeat for a bank.",
)
@click.option(
    "--combine",
    type=click.Choice(COMBINE_MODES),
    default=None,
    help="How several kernels combine (stack: one map each). "
    "[default: a bank's own mode; stack for several -k]",
)
@click.option("--chain", is_flag=True, help="Apply the kernels one after another instead.")
@geometry_options
@click.option(
    "--color",
    type=click.Choice(["keep", "gray", "luma"]),
    default="keep",
    show_default=True,
    help="keep: filter every channel; gray: BT.601 luma first; luma: filter the luma, "
    "keep the chroma (YCbCr).",
)
@click.option(
    "--alpha",
    "alpha_mode",
    type=click.Choice(["keep", "filter", "drop"]),
    default="keep",
    show_default=True,
    help="Colour is filtered alpha-weighted (premultiplied); alpha is kept (on the output "
    "grid), filtered like a channel, or dropped (with the weighting).",
)
@value_options
@file_options
@click.option(
    "--depth",
    type=click.Choice(["8", "16"]),
    default=None,
    help="Output bits per sample. [default: 16 for 16-bit input where the format allows, else 8]",
)
@click.option(
    "-o",
    "--output",
    default=None,
    metavar="FILE|DIR/|-",
    help="Output file (one input); folder (ends in /, exists, or has no suffix); - for "
    "stdout. "
    "[default: <stem>_<kernel>.<ext> beside each input]",
)
@click.option(
    "--output-dir",
    default=None,
    metavar="DIR",
    help="Write into DIR, mirroring sub-folders of folder inputs.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=FORMAT,
    default=None,
    help="Output format. [default: from -o's extension; the input's for default "
    "names; png for -o -]",
)
@click.option("-r", "--recursive", is_flag=True, help="Descend into sub-folders of folders.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes: for several inputs, at most one per input and 4 per core; for "
    "one image, processes that share its strips. [default: number of cores]",
)
@click.option(
    "--dask",
    type=DASK,
    default=None,
    envvar="CONVCLI_DASK",
    help="Run the files as tasks on Dask: local[:N] starts N worker processes, tcp://HOST:PORT "
    "uses a running scheduler (inputs and outputs on storage every worker sees). "
    "[env: CONVCLI_DASK]",
)
@click.option("-q", "--quiet", is_flag=True, help="No summary or progress; errors only.")
@click.option("--skip-existing", is_flag=True, help="Leave inputs whose outputs exist alone.")
@click.option("--overwrite", is_flag=True, help="Replace outputs that exist.")
@click.option("-n", "--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per image on stdout (summaries stay on stderr).",
)
@click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    default=None,
    help="Largest width x height held in memory (guard against decompression bombs); a TIFF "
    "read and written in strips counts the pixels of one strip and of outputs held whole. "
    "[default: 89478485]",
)
@emit_option
@record_option
@click.pass_context
def apply_command(ctx: click.Context, **kw: Any) -> None:
    """Filter images with kernels and write the feature maps.

    \b
      convcli apply photo.png -k sobel_x
      convcli apply photo.png -k gaussian:sigma=2 -o blurred.png
      convcli apply photos/ -r -k sobel -o out/ --jobs 4
      convcli apply - -k sharpen -o - < in.png > out.png

    INPUT is an image file, a folder of images, or - for standard input. Outputs are
    never written over an input, and never half-written. Exit status: 0 all done,
    1 some image failed, 2 usage error.
    """
    settings = replace(_settings(kw), existing=_existing(kw))
    if kw["emit"]:
        emit_for_apply(kw, settings.plan)
        return
    files, missing = _inputs(kw)
    failures = len(missing)
    jobs, dropped = _plan(kw, files, settings.plan)
    run, skipped = _checked(jobs, kw)
    check_records(run, kw)
    if kw["dry_run"]:
        from convcli.cli.dryrun import print_plan

        failures += print_plan(run, skipped, as_json=kw["as_json"])
        ctx.exit(1 if failures else 0)
    batch = len(jobs) + failures > 1
    report = _Report(quiet=kw["quiet"], as_json=kw["as_json"], batch=batch, failed=failures)
    report.missing(missing)
    report.skipped(skipped)
    _run(run, settings, kw, report)  # Ctrl-C: ConvcliGroup prints one line, exits 130
    report.close(dropped=dropped, non_images=kw["non_images"])
    if report.failed:
        ctx.exit(1)


def _settings(kw: dict[str, Any]) -> ApplySettings:
    try:
        kernels = [normalized(k) for k in kw["kernels"]] if kw["normalize"] else kw["kernels"]
        plan = build_plan(kernels, combine=kw["combine"], chain=kw["chain"])
    except ConvcliError as exc:
        raise click.UsageError(str(exc)) from None
    options = options_from(kw)
    depth = None if kw["depth"] is None else int(kw["depth"])
    return ApplySettings(plan, options, kw["color"], kw["alpha_mode"], kw["mapping"], depth,
                         kw["max_pixels"], kw["record"], kw["scale"], kw["bias"],
                         save_options(kw), kw["strip"], kw["frame"])  # fmt: skip


def _inputs(kw: dict[str, Any]) -> tuple[list[InputFile], list[tuple[str, str]]]:
    try:
        expansion = expand_inputs(kw["inputs"], recursive=kw["recursive"])
    except ConvcliError as exc:
        raise click.UsageError(str(exc)) from None
    for name, reason in expansion.missing:
        click.echo(f"convcli: error: {name}: {reason}", err=True)
    files = [_with_stdin(f) if f.path is None else f for f in expansion.files]
    if not files and not expansion.missing:
        raise click.UsageError(_no_images(kw["inputs"], expansion.non_images, kw["recursive"]))
    kw["non_images"] = expansion.non_images
    return files, [(name, f"{name}: {reason}") for name, reason in expansion.missing]


def _no_images(inputs: Sequence[str], non_images: int, recursive: bool) -> str:
    skipped = f" ({non_images} non-image files skipped)" if non_images else ""
    hint = ""
    if not recursive and expand_inputs(inputs, recursive=True).files:
        hint = "; images are in sub-folders: add -r to descend into them"
    return f"no images found in {', '.join(inputs)}{skipped}{hint}"


def _with_stdin(source: InputFile) -> InputFile:
    return replace(source, data=read_stdin(sys.stdin.buffer))


def _plan(
    kw: dict[str, Any], files: Sequence[InputFile], plan: FilterPlan
) -> tuple[list[Job], int]:
    try:
        jobs = plan_jobs(files, plan.map_names, output=kw["output"],
                         output_dir=kw["output_dir"], fmt=kw["fmt"])  # fmt: skip
    except OutputError as exc:
        raise click.UsageError(str(exc)) from None
    _check_formats(jobs, kw)
    return drop_own_outputs(jobs)


def _check_formats(jobs: Sequence[Job], kw: dict[str, Any]) -> None:
    formats = {fmt for job in jobs for fmt in job.formats}
    if "zarr" in formats:
        _check_zarr(jobs, kw)
        formats.discard("zarr")
    if kw["depth"] == "16" and (bad := _lacking(formats, 16)):
        msg = f"--depth 16 needs png or tiff output; got {bad}"
        raise click.UsageError(msg)
    if kw["mapping"] == "raw" and (bad := _lacking(formats, 32)):
        msg = f"--map raw keeps float values: write .tif or .npy, not {bad}"
        raise click.UsageError(msg)
    check_encoding(formats, kw)
    to_stdout = any(out == "-" for job in jobs for out in job.outputs)
    if to_stdout and not kw["dry_run"] and sys.stdout.isatty():
        msg = "refusing to write image data to a terminal; use -o FILE"
        raise click.UsageError(msg)
    if to_stdout and kw["as_json"]:
        msg = "--json and -o - both want stdout; write the image to a file"
        raise click.UsageError(msg)


def _check_zarr(jobs: Sequence[Job], kw: dict[str, Any]) -> None:
    """A Zarr output is one image file's strips, written by ``--dask`` tasks."""
    if kw["dask"] is None:
        msg = "a .zarr output is written by --dask only (one image as strip tasks); add --dask"
        raise click.UsageError(msg)
    if any(job.source.path is None for job in jobs):
        msg = "a .zarr output needs an image file (its strips are read by the workers), not -"
        raise click.UsageError(msg)


def _lacking(formats: set[str], depth: int) -> str:
    """The formats (comma-separated) that cannot hold samples of ``depth`` bits."""
    return ", ".join(sorted(f for f in formats if depth not in FORMATS[f].depths))


def _existing(kw: dict[str, Any]) -> Existing:
    if kw["overwrite"] and kw["skip_existing"]:
        msg = "give --overwrite or --skip-existing, not both"
        raise click.UsageError(msg)
    if kw["jobs"] and kw["dask"]:
        msg = "--jobs is for local processes; with --dask give local:N for N workers"
        raise click.UsageError(msg)
    return "overwrite" if kw["overwrite"] else "skip" if kw["skip_existing"] else "refuse"


def _checked(jobs: Sequence[Job], kw: dict[str, Any]) -> tuple[list[Job], list[Job]]:
    return check_jobs(jobs, existing=_existing(kw))


def _run(run: Sequence[Job], settings: ApplySettings, kw: dict[str, Any], report: _Report) -> None:
    processes, cluster = worker_count(kw["jobs"] or default_jobs(), len(run)), kw["dask"]
    if cluster is not None or (len(run) > 1 and processes > 1):
        threads = 1 if cluster is not None else worker_threads(processes)
        settings = replace(settings, options=replace(settings.options, threads=threads))
    elif len(run) == 1 and _owns_process():  # one image: processes share its strips
        shared = kw["jobs"] or default_jobs()
        options = replace(settings.options, threads=worker_threads(shared))
        settings = replace(settings, options=options, processes=shared)
    remove_stale_temps(_folders(run))
    worker = partial(process_job, settings=settings)
    if cluster is None:
        outcomes = run_jobs(run, worker, processes=processes)
    else:
        from convcli.batch.cluster import run_on_cluster  # --dask only: others start faster

        outcomes = run_on_cluster(run, worker, cluster, settings)
    # closing(): on Ctrl-C the worker pool is shut down here, not left to exit (it hangs)
    with report.progress(len(run)), closing(outcomes):
        for _, outcome in outcomes:
            report.outcome(outcome)
            if outcome.result is not None and outcome.result.data is not None:
                write_bytes(outcome.result.data)


def _owns_process() -> bool:
    """Whether this process is the console script's (:attr:`ConvcliGroup.owns_process`)."""
    root = click.get_current_context().find_root().command
    return bool(getattr(root, "owns_process", False))


def _folders(run: Sequence[Job]) -> set[str]:
    """The folders outputs go to: temporary files of killed runs there are removed."""
    return {str(Path(out).parent) for job in run for out in job.outputs if out != STDIO}


@dataclass
class _Report:
    """Everything printed while a run goes: errors, summaries, JSON lines, the closing table."""

    quiet: bool
    as_json: bool
    batch: bool
    done: int = 0
    failed: int = 0
    skips: int = 0
    start: float = field(default_factory=time.perf_counter)
    _console: Console | None = None
    _progress: Progress | None = None
    _task: TaskID | None = None

    @property
    def console(self) -> Console:
        """The rich console on stderr (created on first use)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False)
        return self._console

    def progress(self, total: int) -> AbstractContextManager[Any]:
        """A context with a progress bar on stderr when it is a terminal and the run is a batch."""
        if self.quiet or total < 2 or not sys.stderr.isatty():
            return nullcontext()
        from rich.progress import Progress

        self._progress = Progress(console=self.console, transient=True)
        self._task = self._progress.add_task("filtering", total=total)
        return self._progress

    def error(self, line: str) -> None:
        """One ``convcli: error: ...`` line on stderr."""
        self._say(f"convcli: error: {line}")

    def warning(self, line: str) -> None:
        """One ``convcli: warning: ...`` line on stderr."""
        self._say(f"convcli: warning: {line}")

    def _say(self, line: str) -> None:
        if self._progress is not None:
            self.console.print(line, markup=False, soft_wrap=True)
        else:
            click.echo(line, err=True)

    def missing(self, lines: Sequence[tuple[str, str]]) -> None:
        """JSON records for inputs that do not exist (their error line is already out)."""
        if self.as_json:
            for name, line in lines:
                self._line({"input": name, "status": "failed", "error": line})

    def skipped(self, jobs: Sequence[Job]) -> None:
        """Report inputs skipped because their outputs exist."""
        self.skips += len(jobs)
        for job in jobs:
            if self.as_json:
                record = {"input": job.source.display, "status": "skipped",
                          "outputs": list(job.outputs)}  # fmt: skip
                self._line(record)

    def outcome(self, outcome: Outcome) -> None:
        """Report one finished image."""
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)
        if outcome.result is None:
            self.failed += 1
            self.error(str(outcome.error))
            if self.as_json:
                record = {"input": outcome.job.source.display, "status": "failed",
                          "error": outcome.error}  # fmt: skip
                self._line(record)
            return
        self.done += 1
        if self.as_json:
            self._line(outcome.result.record())
        if not self.quiet:
            self._summary(outcome.result)
            for m in outcome.result.maps:
                for warning in m.warnings:
                    self.warning(f"{outcome.result.input}: {m.output}: {warning}")

    def _line(self, record: dict[str, Any]) -> None:
        """One ``--json`` line on stdout (json is imported for --json runs only)."""
        import json

        echo(json.dumps(record))

    def _summary(self, result: ImageResult) -> None:
        from rich.text import Text

        if self.batch:
            self.console.print(Text(one_line(result)), soft_wrap=True)
            return
        for label, value in summary_rows(result):
            self.console.print(Text.assemble((f"{label:<10}", "bold cyan"), value), soft_wrap=True)

    def close(self, *, dropped: int, non_images: int) -> None:
        """The closing table of a batch (skipped: outputs kept; not images: other files)."""
        if self.quiet or not self.batch:
            return
        from rich.table import Table

        elapsed = time.perf_counter() - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        table = Table(title="convcli apply", title_justify="left")
        for name in ("done", "skipped", "not images", "failed", "time", "images/s"):
            table.add_column(name, justify="right")
        table.add_row(str(self.done), str(self.skips + dropped), str(non_images),
                      str(self.failed), f"{elapsed:.2f} s", f"{rate:.1f}")  # fmt: skip
        self.console.print(table)
