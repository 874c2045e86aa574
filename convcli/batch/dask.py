"""Batches on a Dask cluster: every input file one task on a scheduler's workers.

A task runs the same :func:`~convcli.batch.run.process_job` as a local worker process, on
the paths it is given, so inputs and outputs must be on storage every worker sees. Writes
are atomic, so a worker that dies mid-file leaves no half-written output; the scheduler
runs that file again on another worker, up to its ``distributed.scheduler.allowed-failures``
(3 by default), after which the file is reported failed. A file that fails for its own
reasons is an :class:`~convcli.batch.run.Outcome` with an error, reported once and never
retried. Importing this module imports Dask: it is loaded only for ``--dask``.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import CancelledError, Future, as_completed
from contextlib import contextmanager, suppress
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import dask
from distributed import Client, KilledWorker, LocalCluster

from convcli.batch.cluster import DaskTarget
from convcli.batch.naming import Job
from convcli.batch.run import Outcome, default_jobs
from convcli.errors import ClusterError, reason
from convcli.io.atomic import temp_owner

CONNECT_TIMEOUT = 10.0
"""Seconds to reach a scheduler."""

WORKERS_TIMEOUT = 60.0
"""Seconds to wait for a scheduler's first worker."""


def run_on_dask(
    jobs: Sequence[Job], worker: Callable[[Job], Outcome], target: DaskTarget
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
    If the caller stops early (Ctrl-C, closing the generator) the tasks not yet finished
    are cancelled; a file already being filtered is written whole or not at all.
    """
    if not jobs:  # every output exists (--skip-existing): no cluster to start or reach
        return
    with _client(target) as client:
        check_versions(client)
        # ClientExecutor.shutdown has no cancel_futures: wait=False cancels what is left
        executor = client.get_executor(pure=False)
        try:
            futures = {executor.submit(worker, job): job for job in jobs}
            for future in as_completed(futures):
                yield futures[future], _outcome(futures[future], future)
        finally:
            executor.shutdown(wait=False)
    remove_leftovers(jobs)  # every task has ended: no writer is left


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


def _outcome(job: Job, future: Future[Outcome]) -> Outcome:
    try:
        return future.result()
    except KilledWorker as exc:
        tries = exc.allowed_failures + 1
        error = f"{job.source.display}: its Dask worker died on each of {tries} tries"
        return Outcome(job, error=error)
    except CancelledError:
        msg = f"{job.source.display}: the Dask scheduler cancelled it (scheduler lost?)"
        raise ClusterError(msg) from None


@contextmanager
def _client(target: DaskTarget) -> Iterator[Client]:
    """A client of the scheduler at ``target.address``, or of a new local cluster."""
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
    # the workers' statistical profiler samples every 10 ms: CPU the filters need
    try:
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                dashboard_address=None, silence_logs=logging.ERROR,
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
