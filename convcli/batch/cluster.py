"""``--dask``: which cluster a batch runs on, checked without importing Dask.

Dask is an optional extra (``pip install "convcli[dask]"``). This module only reads the
``--dask`` value and checks that the extra is installed; :mod:`convcli.batch.dask`, which
imports Dask, is loaded only when a batch really runs on a cluster.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from convcli.batch.naming import Job
from convcli.batch.run import Outcome
from convcli.errors import ClusterError, MissingExtraError

if TYPE_CHECKING:
    from convcli.pipeline.run import ApplySettings

EXTRA_HINT = 'pip install "convcli[dask]"'
"""The command that installs what ``--dask`` needs."""

_LOCAL = re.compile(r"local(?::(\d+))?")
_ADDRESS = re.compile(r"[a-z][a-z0-9+.-]*://\S+")


@dataclass(frozen=True)
class DaskTarget:
    """Where a batch runs: a scheduler's ``address``, or a new local cluster of ``workers``."""

    address: str | None = None
    workers: int | None = None  # local cluster only; None: one per core


def parse_dask_target(text: str) -> DaskTarget:
    """Read a ``--dask`` value: ``local``, ``local:N`` or a scheduler address.

    Parameters
    ----------
    text : str
        ``local`` (one worker process per core), ``local:N`` (N worker processes) or the
        address of a running scheduler, such as ``tcp://10.0.0.5:8786``.

    Returns
    -------
    DaskTarget

    Raises
    ------
    ClusterError
        For any other value, or ``local:0``.

    Examples
    --------
    >>> parse_dask_target("local:2")
    DaskTarget(address=None, workers=2)
    >>> parse_dask_target("tcp://127.0.0.1:8786")
    DaskTarget(address='tcp://127.0.0.1:8786', workers=None)
    """
    value = text.strip()
    if local := _LOCAL.fullmatch(value):
        workers = None if local.group(1) is None else int(local.group(1))
        if workers == 0:
            msg = "local:0 has no workers; give local:N with N >= 1"
            raise ClusterError(msg)
        return DaskTarget(workers=workers)
    if _ADDRESS.fullmatch(value):
        return DaskTarget(address=value)
    msg = f"{text!r} is not local, local:N or a scheduler address like tcp://host:8786"
    raise ClusterError(msg)


def require_dask() -> None:
    """Raise :class:`MissingExtraError` unless Dask's distributed scheduler is installed."""
    if importlib.util.find_spec("distributed") is None:
        msg = f"--dask needs Dask, which is not installed: {EXTRA_HINT}"
        raise MissingExtraError(msg)


def run_on_cluster(
    jobs: Sequence[Job],
    worker: Callable[[Job], Outcome],
    target: DaskTarget,
    settings: ApplySettings | None = None,
) -> Generator[tuple[Job, Outcome], None, None]:
    """Run ``worker`` on every job on the cluster ``target``; see :mod:`convcli.batch.dask`.

    One image file with ``settings`` runs as strip tasks where it splits
    (:func:`convcli.batch.huge.run_huge`); several files, one task a few files.
    """
    require_dask()
    return _on_cluster(jobs, worker, target, settings)


def _on_cluster(
    jobs: Sequence[Job],
    worker: Callable[[Job], Outcome],
    target: DaskTarget,
    settings: ApplySettings | None,
) -> Generator[tuple[Job, Outcome], None, None]:
    if settings is not None and len(jobs) == 1 and jobs[0].source.path is not None:
        split: Callable[..., Outcome | None]
        split = importlib.import_module("convcli.batch.huge").run_huge
        outcome = split(jobs[0], settings, target)
        if outcome is not None:
            yield jobs[0], outcome
            return
    early = None
    if target.address is None:  # this machine is the cluster: busy while Dask loads
        from convcli.batch.early import EarlyFiles

        early = EarlyFiles.start(jobs, worker)
    try:
        runner: Callable[..., Generator[tuple[Job, Outcome], None, None]]
        runner = importlib.import_module("convcli.batch.dask").run_on_dask
        yield from runner(jobs, worker, target, early)
    finally:
        if early is not None:
            early.stop()
