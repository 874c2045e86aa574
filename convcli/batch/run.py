"""Running jobs: one process, or worker processes for several inputs; Ctrl-C; failures."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

from convcli.batch.lifeline import bind_to_parent
from convcli.batch.naming import Job
from convcli.engine import cpu_count
from convcli.errors import ConvcliError
from convcli.pipeline import ApplySettings, ImageResult, filter_image


def default_jobs() -> int:
    """The default ``--jobs``: the number of cores this process may use."""
    return cpu_count()


JOBS_PER_CORE = 4
"""The ceiling of ``--jobs`` per core: more processes only cost memory."""


def worker_count(requested: int, inputs: int, cores: int | None = None) -> int:
    """The worker processes to start: ``requested``, at most one per input and 4 per core.

    Examples
    --------
    >>> worker_count(1000, 60, cores=2), worker_count(2, 60, cores=2), worker_count(8, 3, cores=2)
    (8, 2, 3)
    """
    return max(1, min(requested, inputs, JOBS_PER_CORE * (cores or cpu_count())))


def worker_threads(processes: int, cores: int | None = None) -> int:
    """Engine threads per worker when ``processes`` workers share ``cores`` (default: all).

    Worker processes split the cores: engine threads on top would only fight.

    Examples
    --------
    >>> worker_threads(2, cores=2), worker_threads(2, cores=8), worker_threads(4, cores=2)
    (1, 4, 1)
    """
    return max(1, (cores or cpu_count()) // max(1, processes))


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
    processes = worker_count(processes, len(jobs))
    if processes <= 1:
        for job in jobs:
            yield job, worker(job)
        return
    # multiprocessing and concurrent.futures: only when used (about 5 ms of start-up)
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(
        max_workers=processes, initializer=start_worker, initargs=(os.getpid(),)
    )
    try:
        futures = {pool.submit(worker, job): job for job in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        # a plain `with` would wait for every queued job to run to the end
        pool.shutdown(wait=True, cancel_futures=True)


_interrupted = threading.Event()


def start_worker(parent: int) -> None:
    """Worker-process initializer: die with the parent; stop cleanly on Ctrl-C or SIGTERM."""
    bind_to_parent(parent)
    watch_interrupts()


def watch_interrupts() -> None:
    """After Ctrl-C (or SIGTERM), start none of the jobs already queued.

    Ctrl-C reaches every process of the terminal's process group. Each worker stops its
    current image (atomic writes leave nothing behind) and then refuses the jobs queued
    to it that the main process can no longer cancel.
    """
    signal.signal(signal.SIGINT, _on_interrupt)
    signal.signal(signal.SIGTERM, _on_interrupt)


_busy = threading.Event()


def _on_interrupt(signum: int, frame: Any) -> None:
    _interrupted.set()
    # only inside a job: raised while a worker sends a result, it would cut the message
    # short and leave the main process waiting for the rest for ever
    if _busy.is_set():
        raise KeyboardInterrupt


@dataclass(frozen=True)
class Outcome:
    """The result of one job: ``result`` on success, else ``error`` (one line)."""

    job: Job
    result: ImageResult | None = None
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


def process_job(job: Job, settings: ApplySettings) -> Outcome:
    """Filter one input (worker-process entry point); failures become an error line.

    Only convcli's own errors and operating-system errors are caught, so a bug still
    shows its traceback instead of passing as a bad file.
    """
    source = job.source.data or b"" if job.source.path is None else str(job.source.path)
    _busy.set()
    try:
        if _interrupted.is_set():
            raise KeyboardInterrupt
        result = filter_image(source, job.outputs, job.formats, settings)
    except (ConvcliError, OSError) as exc:
        return Outcome(job, error=error_line(job.source.display, exc))
    except MemoryError:
        return Outcome(job, error=f"{job.source.display}: out of memory")
    finally:
        _busy.clear()
    return Outcome(job, result=result)
