"""Batches on a Dask cluster: the files of a batch as tasks on a scheduler's workers.

A task runs the same :func:`~convcli.batch.run.process_job` as a local worker process, on
a few files in turn (:func:`task_sizes`), on the paths it is given, so inputs and
outputs must be on storage every worker sees. Writes are atomic, so a worker that dies
mid-file leaves no half-written output; the scheduler runs its task again on another
worker, up to its ``distributed.scheduler.allowed-failures`` (3 by default), after which
the task's files are tried one a task, and a file that still kills its workers is reported
failed. A file that fails for its own reasons is an :class:`~convcli.batch.run.Outcome`
with an error, reported once and never retried. Importing this module imports Dask: it is
loaded only for ``--dask``.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import CancelledError
from contextlib import contextmanager, suppress
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import FrameType
from typing import Any

import dask
import distributed.gc
from distributed import Client, KilledWorker, LocalCluster, as_completed

from convcli.batch.cluster import DaskTarget
from convcli.batch.early import EarlyFiles
from convcli.batch.naming import Job
from convcli.batch.run import Outcome, default_jobs
from convcli.errors import ClusterError, reason
from convcli.io.atomic import temp_owner

CONNECT_TIMEOUT = 10.0
"""Seconds to reach a scheduler."""

WORKERS_TIMEOUT = 60.0
"""Seconds to wait for a scheduler's first worker."""


def run_on_dask(
    jobs: Sequence[Job],
    worker: Callable[[Job], Outcome],
    target: DaskTarget,
    early: EarlyFiles | None = None,
) -> Generator[tuple[Job, Outcome], None, None]:
    """Run ``worker`` on every job as a task on ``target``; yield ``(job, outcome)`` as each ends.

    Parameters
    ----------
    jobs : sequence of Job
        The files to filter, checked beforehand (names, existing outputs).
    worker : callable
        Picklable (a ``partial`` of a module-level function); returns an
        :class:`~convcli.batch.run.Outcome` and raises only for a bug.
    target : DaskTarget
        A scheduler's address, or the size of a new local cluster.
    early : EarlyFiles, optional
        The process filtering the first files while the cluster started: the cluster gets
        the files it has not taken, and those it took and gave no outcome for.

    Yields
    ------
    tuple of (Job, Outcome)
        In completion order. A file whose workers all died is an outcome with an error.

    Raises
    ------
    ClusterError
        If the scheduler cannot be reached, has no workers, or a worker runs another
        version of convcli.

    Notes
    -----
    If the caller stops early (Ctrl-C, closing the generator) the tasks not yet started
    are cancelled. On a local cluster, closed then, a file being filtered is not written;
    on a scheduler's workers, a task already running finishes its files, each written
    whole.
    """
    if not jobs:  # every output exists (--skip-existing): no cluster to start or reach
        return
    finished = False
    try:
        with kept_interrupts() as interrupted, client_for(target) as client:
            check_versions(client)
            taken = start = 0 if early is None else early.end()
            tasks = _Tasks(client, worker, interrupted)
            try:
                for size in task_sizes(len(jobs) - start, sum(client.nthreads().values())):
                    tasks.submit(jobs[start : start + size])
                    start += size
                if early is not None:
                    yield from early.outcomes(jobs)
                    for index in early.unfinished(taken):
                        tasks.submit([jobs[index]])
                yield from tasks.outcomes()
                finished = True
            finally:
                tasks.cancel()
    finally:
        if finished or target.address is None:  # no writer is left: a local cluster is closed
            remove_leftovers(jobs)


@contextmanager
def kept_interrupts() -> Iterator[Callable[[], None]]:
    """Ctrl-C and SIGTERM that Dask's callbacks swallowed, raised again: yields the check.

    A signal's exception is raised wherever the main thread is, and one raised inside a
    garbage-collector callback (Dask's GC diagnosis) is printed as "Exception ignored"
    and lost: the run went on to the end and exited 0. While this context is open, each
    SIGINT/SIGTERM is also remembered, and the check raises it again (through the handler
    that was there: ``KeyboardInterrupt``, or the CLI's SIGTERM exception) if the run
    still goes on. Outside the main thread the check does nothing.
    """
    caught: list[int] = []
    kept: dict[int, Callable[[int, FrameType | None], Any]] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(signum)
            if callable(handler):
                kept[signum] = handler
                signal.signal(signum, _remembering(handler, caught))

    def check() -> None:
        if caught:
            signum = caught.pop(0)
            caught.clear()
            kept[signum](signum, None)

    try:
        yield check
    finally:
        for number, previous in kept.items():
            signal.signal(number, previous)


def _remembering(
    handler: Callable[[int, FrameType | None], Any], caught: list[int]
) -> Callable[[int, FrameType | None], Any]:
    def remember(signum: int, frame: FrameType | None) -> Any:
        caught.append(signum)
        if _in_gc_callback(frame):  # raised there, it would be printed and lost: the check
            return None  # raises it when the run next looks
        return handler(signum, frame)

    return remember


def _in_gc_callback(frame: FrameType | None) -> bool:
    """Whether ``frame`` runs in Dask's garbage-collector callback (its scheduler's)."""
    while frame is not None:
        if frame.f_code is _GC_CALLBACK:
            return True
        frame = frame.f_back
    return False


_GC_CALLBACK = distributed.gc.GCDiagnosis._gc_callback.__code__


def task_sizes(files: int, slots: int, most: int = 16) -> list[int]:
    """The files of each task, in the order they run: up to ``most``, fewer towards the end.

    Each task costs the scheduler, the client and the worker a few milliseconds, as much
    as filtering a small photo (a worker waits about 4 ms for its next task): a few files
    a task make that small beside the work (200 photos: 16 files at most ran 2-4% faster
    than 8). A task holds at most half a worker thread's share of the files left after the
    tasks before it, so the last tasks are of one file and the workers finish together
    (with 8 files a task to the end, a worker could idle a whole task, 0.25 s, before the
    batch ended).

    Examples
    --------
    >>> task_sizes(40, 2)
    [10, 8, 6, 4, 3, 3, 2, 1, 1, 1, 1]
    >>> task_sizes(200, 2)[:4]
    [16, 16, 16, 16]
    >>> task_sizes(3, 2), task_sizes(0, 2)
    ([1, 1, 1], [])
    """
    sizes: list[int] = []
    left = files
    while left > 0:
        sizes.append(min(most, -(-left // (2 * max(1, slots)))))
        left -= sizes[-1]
    return sizes


def run_task(worker: Callable[[Job], Outcome], jobs: Sequence[Job]) -> list[Outcome]:
    """One task on a worker: ``worker`` on each job in turn."""
    return [worker(job) for job in jobs]


class _Tasks:
    """The tasks of a batch: a task whose workers all died is split into one task a file."""

    def __init__(
        self, client: Client, worker: Callable[[Job], Outcome], interrupted: Callable[[], None]
    ) -> None:
        self.client, self.worker, self.interrupted = client, worker, interrupted
        self.pending: dict[Any, Sequence[Job]] = {}
        self.finished = as_completed(loop=client.loop)

    def submit(self, jobs: Sequence[Job]) -> None:
        """Send one task filtering ``jobs``."""
        future = self.client.submit(run_task, self.worker, jobs, pure=False)
        self.pending[future] = jobs
        self.finished.add(future)

    def outcomes(self) -> Iterator[tuple[Job, Outcome]]:
        """``(job, outcome)`` of every file, as its task ends."""
        for future in self.finished:
            self.interrupted()
            jobs = self.pending.pop(future)
            try:
                outcomes = future.result()
            except KilledWorker as exc:
                if len(jobs) > 1:  # find which file kills its workers
                    for job in jobs:
                        self.submit([job])
                    continue
                outcomes = [_killed(jobs[0], exc)]
            except CancelledError:
                msg = (
                    f"{jobs[0].source.display}: the Dask scheduler cancelled it (scheduler lost?)"
                )
                raise ClusterError(msg) from None
            yield from ((outcome.job, outcome) for outcome in outcomes)

    def cancel(self) -> None:
        """Cancel every task not finished (after Ctrl-C or an error)."""
        self.client.cancel(list(self.pending))


def _killed(job: Job, exc: KilledWorker) -> Outcome:
    error = (
        f"{job.source.display}: its Dask worker died on each of {exc.allowed_failures + 1} tries"
    )
    return Outcome(job, error=error)


def remove_leftovers(jobs: Sequence[Job]) -> list[Path]:
    """Remove the temporary files that writers killed mid-write left for ``jobs``' outputs.

    Parameters
    ----------
    jobs : sequence of Job
        Jobs none of whose tasks is still running.

    Returns
    -------
    list of Path
        The files removed.
    """
    names: dict[Path, set[str]] = {}
    for out in (Path(o) for job in jobs for o in job.outputs if o != "-"):
        names.setdefault(out.parent, set()).add(out.name)
    removed = []
    for folder, wanted in names.items():
        with suppress(OSError), os.scandir(folder) as entries:
            removed += [Path(e.path) for e in entries if temp_owner(e.name) in wanted]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


@contextmanager
def client_for(target: DaskTarget) -> Iterator[Client]:
    """A client of the scheduler at ``target.address``, or of a new local cluster.

    Raises
    ------
    ClusterError
        The cluster cannot be started, or the scheduler reached, or it has no workers.
    """
    if target.address is None:
        with (
            _local_cluster(target.workers or default_jobs()) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    with _quiet_logs(), _connect(target.address) as client:
        _wait_for_workers(client, target.address)
        yield client


def _local_cluster(workers: int) -> LocalCluster:
    """``workers`` single-threaded worker processes on this machine, Ctrl-C left to the client."""
    # the workers' statistical profiler samples every 10 ms: CPU the filters need; one task
    # a worker thread at a time: a worker that dies takes down no queued task with it;
    # workers forked from this process, which has imported Dask and convcli already: a
    # spawned worker imports them again (0.7 s more to start, 0.2 s to stop: on 200 photos
    # --dask local:2 took 1.5x the time of --jobs 2, forked 1.04x). The client has no threads
    # of its own yet, and the engine's thread pool is made anew in each process. The event
    # loops' health checks (every 20 ms) and system monitors (every 0.5 s) in the scheduler,
    # the nannies and the workers, for warnings and dashboards this cluster has neither of,
    # took 4% of a core while 2 workers idled; every 1 s and 5 s, 2%. The nannies' and
    # workers' memory monitors (every 100 ms, each a new psutil process object) run every
    # 1 s: 200 photos took 30-40 ms less (a strip pipeline's memory does not grow fast).
    config = {"distributed.worker.profile.enabled": False,
              "distributed.scheduler.worker-saturation": 1.0,
              "distributed.worker.multiprocessing-method": "fork",
              "distributed.admin.tick.interval": "1s",
              "distributed.admin.system-monitor.interval": "5s",
              "distributed.worker.memory.monitor-interval": "1s"}  # fmt: skip
    try:
        with dask.config.set(config):
            # no dashboard; the scheduler's HTTP routes on any free port, not 8787 (another
            # cluster's port gives a warning on standard error)
            return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                dashboard_address=None, silence_logs=logging.CRITICAL,
                                scheduler_kwargs={"dashboard_address": ":0"},
                                preload=[__name__])  # fmt: skip
    except (OSError, RuntimeError, TimeoutError) as exc:
        msg = f"cannot start a local Dask cluster of {workers} workers: {reason(exc)}"
        raise ClusterError(msg) from None


def dask_setup(worker: Any) -> None:
    """Preload hook of the local cluster's workers: Ctrl-C is for the client to handle.

    The workers share the terminal's process group, so Ctrl-C reaches them too; the client
    cancels the tasks and closes the cluster, and the workers must not die first with a
    traceback of their own.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """Dask's own warnings (lost workers, retries) stay off convcli's standard error."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _connect(address: str) -> Client:
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        msg = f"cannot reach the Dask scheduler at {address}: {reason(exc)}"
        raise ClusterError(msg) from None


def _wait_for_workers(client: Client, address: str) -> None:
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
    except TimeoutError:
        msg = f"the Dask scheduler at {address} has no workers (waited {WORKERS_TIMEOUT:.0f} s)"
        raise ClusterError(msg) from None


def check_versions(client: Any) -> None:
    """Raise :class:`ClusterError` unless every worker runs this client's convcli version.

    Parameters
    ----------
    client : distributed.Client
        Anything with Dask's ``Client.run(function, *args, on_error=...)``.
    """
    mine = version("convcli")
    theirs = client.run(version, "convcli", on_error="return")
    for address, found in sorted(theirs.items()):
        if isinstance(found, PackageNotFoundError):
            msg = f"Dask worker {address} has no convcli installed; install convcli {mine} there"
            raise ClusterError(msg)
        if isinstance(found, BaseException):
            msg = f"Dask worker {address} cannot report its convcli version: {reason(found)}"
            raise ClusterError(msg)
        if found != mine:
            msg = (f"Dask worker {address} runs convcli {found} but this client runs {mine}; "
                   "install the same version on every worker")  # fmt: skip
            raise ClusterError(msg)
