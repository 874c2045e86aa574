"""One huge image on a Dask cluster: its output strips as tasks, into Zarr or a TIFF.

Each task runs :func:`~convcli.pipeline.split.run_strip` on the worker: it opens the TIFF
(on storage every worker sees), reads only the input rows its strip of output needs and
makes that strip's pixels as the single-machine strip pipeline does, so the output is the
same bits. For a Zarr output each task writes its strip (one chunk row of the array,
filled under a temporary name and renamed when every strip is in:
:func:`~convcli.batch.strips.staged_arrays`) and sends back only what its mapping did; for
a TIFF or PNG output the tasks send their pixels back and the client writes them in order
through the strip writers (:func:`~convcli.pipeline.strip_targets.write_maps`), holding a
few strips at a time. A worker that dies mid-task: the scheduler runs the task again
(strips are written whole, so a strip written twice holds the same bytes). Importing this
module imports Dask (Zarr only once an output is a Zarr array): it is loaded only for
``--dask``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import CancelledError
from contextlib import closing
from dataclasses import replace
from typing import Any

import numpy as np
from distributed import Client, KilledWorker, as_completed

from convcli.batch.cluster import DaskTarget
from convcli.batch.dask import check_versions, client_for, kept_interrupts
from convcli.batch.naming import Job
from convcli.batch.run import Outcome, error_line
from convcli.batch.strips import staged_arrays
from convcli.errors import ClusterError, ConvcliError
from convcli.geometry import Pair
from convcli.pipeline.filtering import FeatureMap
from convcli.pipeline.run import ApplySettings
from convcli.pipeline.split import ZARR, NotSplit, Split, StripJob, open_split, run_strip
from convcli.pipeline.stream_run import strip_result
from convcli.pipeline.strip_stats import StripReport, check_finite_maps
from convcli.pipeline.strip_targets import MappedStrip, Streamed, write_maps

AHEAD = 2
"""Strips a worker thread may have made ahead of the one the TIFF writer waits for."""


def run_huge(job: Job, settings: ApplySettings, target: DaskTarget) -> Outcome | None:
    """Filter the one image of ``job`` as strip tasks on ``target``; None to run it whole.

    Parameters
    ----------
    job : Job
        One image file and its outputs (Zarr arrays, or TIFF/PNG files).
    settings : ApplySettings
        As ``apply`` gives (engine threads 1).
    target : DaskTarget
        The cluster.

    Returns
    -------
    Outcome or None
        The image's outcome; None where the image cannot be split and its outputs are
        files (the batch path then filters it whole on one worker). A Zarr output that
        cannot be made in strips is an outcome with the reason.

    Raises
    ------
    ClusterError
        The cluster cannot be started or reached, or runs another convcli.
    """
    start = time.perf_counter()
    source = str(job.source.path)
    try:
        split = open_split(source, job.outputs, job.formats, settings)
    except NotSplit as exc:
        if ZARR in job.formats:
            return Outcome(job, error=error_line(job.source.display, exc))
        return None
    except (ConvcliError, OSError) as exc:
        return Outcome(job, error=error_line(job.source.display, exc))
    with closing(split.image):
        try:
            maps = _run(split, target)
        except ClusterError:
            raise
        except (ConvcliError, OSError) as exc:
            return Outcome(job, error=error_line(job.source.display, exc))
        except KilledWorker as exc:
            error = (f"{job.source.display}: a strip task's Dask worker died on each of "
                     f"{exc.allowed_failures + 1} tries")  # fmt: skip
            return Outcome(job, error=error)
        except CancelledError:
            msg = f"{job.source.display}: the Dask scheduler cancelled its strips (lost?)"
            raise ClusterError(msg) from None
        result = strip_result(split.image, maps, settings, split.image.name, start)
    return Outcome(job, result=result)


def _run(split: Split, target: DaskTarget) -> list[Streamed]:
    job = split.job
    if job.specs[0].fmt != ZARR:
        with kept_interrupts() as interrupted, client_for(target) as client:
            check_versions(client)
            return _to_files(client, split, interrupted)
    chunks = (split.cuts[0][1] - split.cuts[0][0], *split.output_shape[1:])
    outputs = [spec.output for spec in job.specs]
    # the arrays are dropped after the cluster is closed: a strip task still running when
    # another failed (a full disk) would otherwise write into a folder already removed
    with staged_arrays(outputs, split.output_shape, chunks, split.dtype,
                       existing=job.specs[0].existing) as works:  # fmt: skip
        with kept_interrupts() as interrupted, client_for(target) as client:
            check_versions(client)
            parts = _to_zarr(client, split, works, interrupted)
        reports = [StripReport() for _ in job.specs]
        for part in parts:
            for report, strip in zip(reports, part, strict=True):
                report.merge(strip.report)
        check_finite_maps(reports)
    first = parts[0]
    return [
        Streamed(
            FeatureMap(name, np.broadcast_to(split.dtype.type(0), split.output_shape), None,
                       strip.kernel_sum, strip.applied),
            report.final(spec, gain), spec,
        )
        for name, spec, gain, report, strip in zip(split.job.plan.map_names, job.specs,
                                                   job.gains, reports, first, strict=True)
    ]  # fmt: skip


def _to_zarr(
    client: Client, split: Split, works: Sequence[str], interrupted: Callable[[], None]
) -> list[list[MappedStrip]]:
    """Every strip task writes its strip into the arrays ``works``; the reports come back.

    ``interrupted`` raises a Ctrl-C that Dask swallowed (see ``kept_interrupts``).
    """
    futures = [client.submit(zarr_strip, split.job, cut, works, pure=False) for cut in split.cuts]
    try:
        parts = []
        for future in as_completed(futures):
            interrupted()
            parts.append(future.result())
        return parts
    finally:
        client.cancel(futures)


def zarr_strip(job: StripJob, cut: Pair, arrays: Sequence[str]) -> list[MappedStrip]:
    """One task: output rows ``cut`` of every map into its Zarr array; their reports back."""
    import zarr  # loaded by staged_arrays before the workers started

    mapped = run_strip(job, cut)
    for path, strip in zip(arrays, mapped, strict=True):
        zarr.open_array(path, mode="r+")[cut[0] : cut[1]] = strip.pixels
    # no pixels back, and no view of them: a worker keeps each task's result until the
    # client lets go, and a view keeps the whole strip (a 20000² image held 700 MiB a worker)
    empty = [np.empty((0, *s.pixels.shape[1:]), s.pixels.dtype) for s in mapped]
    return [replace(strip, pixels=e) for strip, e in zip(mapped, empty, strict=True)]


def _to_files(client: Client, split: Split, interrupted: Callable[[], None]) -> list[Streamed]:
    """The strips come back in order and go through the strip writers."""
    job = split.job
    ahead = AHEAD * max(1, sum(client.nthreads().values()))
    strips = _in_order(client, job, split.cuts, ahead, interrupted)
    with closing(strips):
        return write_maps(strips, job.specs, split.output_shape[0], job.plan.map_names,
                          job.gains)  # fmt: skip


def _in_order(
    client: Client, job: StripJob, cuts: Sequence[Pair], ahead: int,
    interrupted: Callable[[], None],
) -> Generator[tuple[Pair, list[MappedStrip]], None, None]:  # fmt: skip
    """Each strip's maps, top to bottom, with at most ``ahead`` tasks sent beyond it."""
    pending: deque[tuple[Pair, Any]] = deque()
    waiting = iter(cuts)
    try:
        while True:
            while len(pending) < ahead and (cut := next(waiting, None)) is not None:
                pending.append((cut, client.submit(run_strip, job, cut, pure=False)))
            if not pending:
                return
            cut, future = pending.popleft()
            strip = future.result()
            interrupted()
            yield cut, strip
            future.release()
    finally:
        client.cancel([future for _, future in pending])
