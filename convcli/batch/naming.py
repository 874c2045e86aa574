"""Batch outputs: where each feature map goes, and the checks made before any work.

Everything here is decided before any pixel is read: which files are inputs, where each
feature map goes, and whether that would collide with another output, overwrite an input
or replace an existing file. Only then does :func:`run_jobs` do the work, in worker
processes when there are several inputs.

Output naming
-------------
- default: ``<stem>_<kernel>.<ext>`` beside the input (``ext`` as the input's when it is
  writable, else ``.png``; ``--format`` chooses another);
- ``-o FILE``: that file (one input only; a stack of maps adds ``_<kernel>`` to its stem);
- ``-o DIR/``, an existing directory, a path without suffix, or ``--output-dir DIR``:
  ``DIR/<sub-folders>/<stem>_<kernel>.<ext>``, sub-folders mirrored from the folder given;
- ``-o -``: standard output (one input and one feature map).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from convcli.batch.inputs import STDIO, InputFile
from convcli.choices import Existing
from convcli.errors import OutputError
from convcli.io.formats import EXTENSION_FORMATS, FORMATS, format_for_path


@dataclass(frozen=True)
class Job:
    """One input and the output(s) its feature map(s) go to (a path or ``-``)."""

    source: InputFile
    outputs: tuple[str, ...]
    formats: tuple[str, ...]


ZARR_SUFFIX = ".zarr"
"""A Zarr array (a folder) as ``-o``: one image's strips written by ``--dask`` tasks."""


def safe_name(name: str) -> str:
    """Return a kernel name made safe for a file name (as :attr:`Kernel.slug` does).

    Examples
    --------
    >>> safe_name("gaussian:sigma=2,size=13")
    'gaussian_sigma_2_size_13'
    >>> safe_name("box:3+sobel_x")
    'box_3+sobel_x'
    """
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("_.") or "kernel"


def output_format(path: str, fmt: str | None) -> str:
    """Return the output format for ``path`` (``--format`` wins over the extension).

    Raises
    ------
    OutputError
        If the extension is not one convcli writes and no format is given.

    Examples
    --------
    >>> output_format("a/b.JPEG", None)
    'jpeg'
    >>> output_format("-", None)
    'png'
    """
    if fmt is not None:
        return fmt
    if path == STDIO:
        return "png"
    if Path(path).suffix.lower() == ZARR_SUFFIX:
        return "zarr"  # written by ``--dask`` strip tasks only (convcli.batch.huge)
    return format_for_path(path).name


def is_directory_target(output: str) -> bool:
    """True when ``-o`` names a folder: ends with a separator, exists as one, or has no suffix.

    Examples
    --------
    >>> is_directory_target("out/")
    True
    >>> is_directory_target("out/a.png")
    False
    """
    if output == STDIO:
        return False
    if output.endswith(("/", os.sep)):
        return True
    if Path(output).suffix.lower() == ZARR_SUFFIX:  # a Zarr array is a folder, and a file
        return False
    if Path(output).is_dir():
        return True
    return Path(output).suffix == ""


def _extension(source: InputFile, fmt: str | None) -> str:
    if fmt is not None:
        return FORMATS[fmt].extension
    if source.path is not None and source.path.suffix.lower() in EXTENSION_FORMATS:
        suffix = source.path.suffix.lower()
        return suffix if suffix != ".npy" else ".png"
    return ".png"


def _file_names(stem: str, map_names: Sequence[str], ext: str) -> list[str]:
    return [f"{stem}_{safe_name(name)}{ext}" for name in map_names]


def _beside(source: InputFile, map_names: Sequence[str], fmt: str | None) -> list[str]:
    if source.path is None:
        return [STDIO] * len(map_names)
    names = _file_names(source.stem, map_names, _extension(source, fmt))
    return [str(source.path.parent / name) for name in names]


def _into_dir(
    source: InputFile, folder: Path, map_names: Sequence[str], fmt: str | None
) -> list[str]:
    target = folder
    if source.path is not None and source.root is not None:
        target = folder / source.path.parent.relative_to(source.root)
    names = _file_names(source.stem, map_names, _extension(source, fmt))
    return [str(target / name) for name in names]


def _as_file(output: str, map_names: Sequence[str]) -> list[str]:
    if len(map_names) == 1:
        return [output]
    if output == STDIO:
        msg = f"-o - writes one image, but {len(map_names)} feature maps are stacked"
        raise OutputError(msg)
    path = Path(output)
    return [str(path.with_name(f"{path.stem}_{safe_name(n)}{path.suffix}")) for n in map_names]


def plan_jobs(
    files: Sequence[InputFile],
    map_names: Sequence[str],
    *,
    output: str | None = None,
    output_dir: str | None = None,
    fmt: str | None = None,
) -> list[Job]:
    """Decide the output path(s) of every input.

    Parameters
    ----------
    files : sequence of InputFile
        From :func:`expand_inputs`.
    map_names : sequence of str
        One name per feature map the filter produces (several for a stack).
    output : str, optional
        ``-o``: a file, a folder (see :func:`is_directory_target`) or ``-``.
    output_dir : str, optional
        ``--output-dir``.
    fmt : str, optional
        ``--format``: a name of :data:`convcli.io.formats.FORMATS`.

    Returns
    -------
    list of Job

    Raises
    ------
    OutputError
        If ``-o FILE`` or ``-o -`` is used with several inputs, both ``-o`` and
        ``--output-dir`` are given, or an output format is unknown.
    """
    if output is not None and output_dir is not None:
        msg = "give -o/--output or --output-dir, not both"
        raise OutputError(msg)
    if output is not None and os.path.normpath(output) in _STDOUT_NAMES:
        output = STDIO  # a temporary file beside /dev/stdout cannot be renamed onto it
    if output is not None and is_directory_target(output):
        output, output_dir = None, output
    if output_dir is not None:
        _check_folder(output_dir)
    if output is not None and len(files) > 1:
        msg = f"-o {output} names one output, but there are {len(files)} inputs; use -o DIR/"
        raise OutputError(msg)
    jobs = []
    for source in files:
        if output is not None:
            outputs = _as_file(output, map_names)
        elif output_dir is not None:
            outputs = _into_dir(source, Path(output_dir), map_names, fmt)
        else:
            outputs = _beside(source, map_names, fmt)
        formats = tuple(output_format(path, fmt) for path in outputs)
        jobs.append(Job(source, tuple(outputs), formats))
    return jobs


def _check_folder(folder: str) -> None:
    """Refuse an output folder that is a file, before any image is read."""
    if Path(folder).exists() and not Path(folder).is_dir():
        msg = f"output folder {folder} is a file; give -o a new or existing folder"
        raise OutputError(msg)


def _key(path: str | Path) -> str:
    return os.path.normcase(os.path.realpath(path))


_STDOUT_NAMES = frozenset({"/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"})


def drop_own_outputs(jobs: Sequence[Job]) -> tuple[list[Job], int]:
    """Drop inputs found in folders that are outputs of this run (a re-run on a folder).

    Returns
    -------
    (list of Job, int)
        The jobs kept and how many were dropped.
    """
    planned = {_key(out) for job in jobs for out in job.outputs if out != STDIO}
    kept = [
        job
        for job in jobs
        if not (job.source.from_folder and job.source.path and _key(job.source.path) in planned)
    ]
    return kept, len(jobs) - len(kept)


def check_jobs(
    jobs: Sequence[Job], *, existing: Existing = "refuse"
) -> tuple[list[Job], list[Job]]:
    """Check the plan before any work: no collision, no input overwritten, no file lost.

    Parameters
    ----------
    jobs : sequence of Job
    existing : {"refuse", "overwrite", "skip"}
        Outputs that already exist: refuse the run (``OutputError``), replace them, or
        leave the inputs whose outputs all exist alone.

    Returns
    -------
    (list of Job, list of Job)
        The jobs to run and the jobs skipped because their outputs exist.

    Raises
    ------
    OutputError
        If two outputs are the same file, an output is an input, or outputs exist and
        ``existing`` is ``"refuse"``.
    """
    _check_collisions(jobs)
    _check_inputs_kept(jobs)
    if existing == "skip":
        run = [job for job in jobs if not _all_exist(job)]
        return run, [job for job in jobs if _all_exist(job)]
    if existing == "refuse":
        _check_existing(jobs)
    return list(jobs), []


def _check_collisions(jobs: Sequence[Job]) -> None:
    seen: dict[str, str] = {}
    for job in jobs:
        for out in job.outputs:
            if out == STDIO:
                continue
            key = _key(out)
            if key in seen:
                msg = (
                    f"{job.source.display} and {seen[key]} would both write {out}; "
                    "use -o DIR/ to mirror sub-folders, or rename one"
                )
                raise OutputError(msg)
            seen[key] = job.source.display


def _check_inputs_kept(jobs: Sequence[Job]) -> None:
    inputs = {_key(job.source.path): job.source.display for job in jobs if job.source.path}
    for job in jobs:
        for out in job.outputs:
            if out != STDIO and _key(out) in inputs:
                msg = f"{out} is an input ({inputs[_key(out)]}); convcli never overwrites an input"
                raise OutputError(msg)


def _all_exist(job: Job) -> bool:
    return all(out != STDIO and Path(out).exists() for out in job.outputs)


def _check_existing(jobs: Sequence[Job]) -> None:
    existing = [out for job in jobs for out in job.outputs if out != STDIO and Path(out).exists()]
    if existing:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        msg = (
            f"{existing[0]} already exists{more}; pass --overwrite to replace or "
            "--skip-existing to keep"
        )
        raise OutputError(msg)
