"""Batches: inputs from files and folders, output names, safety checks, parallel runs.

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
import signal
import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convcli.engine.tiling import cpu_count
from convcli.errors import OutputError

STDIO = "-"

FORMAT_EXTENSIONS: dict[str, str] = {
    "png": ".png",
    "jpeg": ".jpg",
    "tiff": ".tif",
    "webp": ".webp",
    "bmp": ".bmp",
    "npy": ".npy",
}
"""Output formats and the extension used when convcli names a file."""

EXTENSION_FORMATS: dict[str, str] = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".webp": "webp",
    ".bmp": "bmp",
    ".npy": "npy",
}
"""Output extensions convcli writes, and their format."""

FORMATS_16BIT = frozenset({"png", "tiff", "npy"})
"""Formats that can hold 16-bit samples."""

FLOAT_FORMATS = frozenset({"tiff", "npy"})
"""Formats that can hold raw float values (``--map raw``)."""


@dataclass(frozen=True)
class InputFile:
    """One input image: a path, or standard input when ``path`` is None.

    Attributes
    ----------
    path : Path or None
        The file; None for ``-`` (standard input).
    root : Path or None
        The folder the user named, when the file was found inside it (for mirroring).
    from_folder : bool
        True when found by walking a folder (such files may be dropped if they are
        outputs of this very run).
    data : bytes or None
        The encoded image read from standard input.
    """

    path: Path | None
    root: Path | None = None
    from_folder: bool = False
    data: bytes | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        """The name shown in messages."""
        return STDIO if self.path is None else str(self.path)

    @property
    def stem(self) -> str:
        """The file name without its suffix (``stdin`` for ``-``)."""
        return "stdin" if self.path is None else self.path.stem


@dataclass
class Expansion:
    """The result of :func:`expand_inputs`."""

    files: list[InputFile] = field(default_factory=list)
    non_images: int = 0
    missing: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    """One input and the output(s) its feature map(s) go to (a path or ``-``)."""

    source: InputFile
    outputs: tuple[str, ...]
    formats: tuple[str, ...]


def expand_inputs(inputs: Sequence[str], *, recursive: bool = False) -> Expansion:
    """Turn the command's INPUT arguments into a list of image files.

    Parameters
    ----------
    inputs : sequence of str
        Files, folders, or ``-`` for standard input.
    recursive : bool
        Descend into sub-folders of folders.

    Returns
    -------
    Expansion
        The files in a stable (sorted) order, the count of non-image files skipped in
        folders, and the inputs that do not exist with the reason.

    Raises
    ------
    OutputError
        If ``-`` is given more than once.
    """
    from convcli.images import IMAGE_EXTENSIONS

    result = Expansion()
    if sum(1 for item in inputs if item == STDIO) > 1:
        msg = "standard input '-' can be given only once"
        raise OutputError(msg)
    for item in inputs:
        if item == STDIO:
            result.files.append(InputFile(None))
            continue
        path = Path(item)
        if path.is_dir():
            _expand_folder(path, recursive, IMAGE_EXTENSIONS, result)
        elif path.exists():
            result.files.append(InputFile(path))
        else:
            result.missing.append((item, "no such file or folder"))
    return result


def _expand_folder(
    folder: Path, recursive: bool, extensions: frozenset[str], result: Expansion
) -> None:
    pattern = "**/*" if recursive else "*"
    for path in sorted(folder.glob(pattern)):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        image = path.suffix.lower() in extensions
        if image and path.is_symlink() and not path.exists():
            result.missing.append((str(path), "broken symbolic link"))
            continue
        if not path.is_file():
            continue
        if image:
            result.files.append(InputFile(path, root=folder, from_folder=True))
        else:
            result.non_images += 1


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
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSION_FORMATS:
        known = ", ".join(sorted(EXTENSION_FORMATS))
        shown = suffix or "(no extension)"
        msg = f"{path}: unknown output format {shown!r}; expected one of {known}"
        raise OutputError(msg)
    return EXTENSION_FORMATS[suffix]


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
    if output.endswith(("/", os.sep)) or Path(output).is_dir():
        return True
    return Path(output).suffix == ""


def _extension(source: InputFile, fmt: str | None) -> str:
    if fmt is not None:
        return FORMAT_EXTENSIONS[fmt]
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
        ``--format``: one of :data:`FORMAT_EXTENSIONS`.

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
    jobs: Sequence[Job], *, overwrite: bool = False, skip_existing: bool = False
) -> tuple[list[Job], list[Job]]:
    """Check the plan before any work: no collision, no input overwritten, no file lost.

    Parameters
    ----------
    jobs : sequence of Job
    overwrite : bool
        Replace outputs that already exist.
    skip_existing : bool
        Leave inputs whose outputs all exist alone.

    Returns
    -------
    (list of Job, list of Job)
        The jobs to run and the jobs skipped because their outputs exist.

    Raises
    ------
    OutputError
        If two outputs are the same file, an output is an input, or outputs exist and
        neither ``overwrite`` nor ``skip_existing`` is set.
    """
    if overwrite and skip_existing:
        msg = "give --overwrite or --skip-existing, not both"
        raise OutputError(msg)
    _check_collisions(jobs)
    _check_inputs_kept(jobs)
    if skip_existing:
        run = [job for job in jobs if not _all_exist(job)]
        return run, [job for job in jobs if _all_exist(job)]
    if not overwrite:
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


def default_jobs() -> int:
    """The default ``--jobs``: the number of cores this process may use."""
    return cpu_count()


def run_jobs(
    jobs: Sequence[Job], worker: Callable[[Job], Any], *, processes: int = 1
) -> Generator[tuple[Job, Any], None, None]:
    """Run ``worker`` on every job; yield ``(job, result)`` as each one finishes.

    Worker processes are used only when there are several jobs and ``processes > 1``;
    ``worker`` must then be picklable (a module-level function or a ``partial`` of one).
    Results come in input order with one process, in completion order with several.
    If the caller stops early (Ctrl-C, an error, closing the generator) the jobs not yet
    started are cancelled, so no output is written after the run was given up.
    """
    if len(jobs) <= 1 or processes <= 1:
        for job in jobs:
            yield job, worker(job)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(max_workers=min(processes, len(jobs)), initializer=watch_interrupts)
    try:
        futures = {pool.submit(worker, job): job for job in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        # a plain `with` would wait for every queued job to run to the end
        pool.shutdown(wait=True, cancel_futures=True)


_interrupted = threading.Event()


def watch_interrupts() -> None:
    """Worker-process initializer: after Ctrl-C, start none of the jobs already queued.

    Ctrl-C reaches every process of the terminal's process group. Each worker stops its
    current image (atomic writes leave nothing behind) and then refuses the jobs queued
    to it that the main process can no longer cancel.
    """
    signal.signal(signal.SIGINT, _on_interrupt)


def _on_interrupt(signum: int, frame: Any) -> None:
    _interrupted.set()
    raise KeyboardInterrupt


@dataclass(frozen=True)
class Outcome:
    """The result of one job: ``result`` on success, else ``error`` (one line)."""

    job: Job
    result: Any = None
    error: str | None = None


def error_line(display: str, exc: BaseException) -> str:
    """``<file>: <reason>``, without naming the file twice.

    Examples
    --------
    >>> error_line("a.png", ValueError("a.png: truncated"))
    'a.png: truncated'
    >>> error_line("a.png", ValueError("kernel too big"))
    'a.png: kernel too big'
    """
    text = str(exc).strip().splitlines()
    reason = text[0] if text else type(exc).__name__
    if reason.startswith((f"{display}:", "<stdin>:")):
        return reason
    return f"{display}: {reason}"


def process_job(job: Job, settings: Any) -> Outcome:
    """Filter one input (worker-process entry point); failures become an error line.

    Only convcli's own errors and operating-system errors are caught, so a bug still
    shows its traceback instead of passing as a bad file.
    """
    from convcli.errors import ConvcliError
    from convcli.filtering import filter_image

    if _interrupted.is_set():
        raise KeyboardInterrupt
    source = job.source.data or b"" if job.source.path is None else str(job.source.path)
    try:
        result = filter_image(source, job.outputs, job.formats, settings)
    except (ConvcliError, OSError) as exc:
        return Outcome(job, error=error_line(job.source.display, exc))
    except MemoryError:
        return Outcome(job, error=f"{job.source.display}: out of memory")
    return Outcome(job, result=result)
