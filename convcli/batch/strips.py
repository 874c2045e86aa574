"""One array too big for one task: output strips computed as separate tasks, written to Zarr.

Each task reads, from a ``.npy`` file mapped into memory, only the input rows its strip of
output needs (through the engine's own padding index maps, so every padding mode, stride
and dilation is exact) and writes that strip as one row of Zarr chunks. Strips start on
multiples of the engine's :func:`~convcli.engine.tile_quantum`, so the Zarr array holds the
same bits as the whole-image :func:`~convcli.engine.conv2d`. The tasks go to any
:class:`concurrent.futures.Executor`: a Dask client's (``Client.get_executor()``) on a
cluster, a local pool otherwise. The array is filled under a temporary name beside the
target and renamed when every strip is written, so no half-filled array is left under it.

:func:`staged_arrays` is that temporary-name-and-rename for any Zarr arrays; ``apply
huge.tif -o huge.zarr --dask`` fills its arrays through it (:mod:`convcli.batch.huge`).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future, as_completed, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from convcli.choices import Existing
from convcli.engine import convolve_rows, tile_quantum
from convcli.errors import OutputError, reason
from convcli.geometry import Geometry, Pair, resolve_geometry
from convcli.io.atomic import temp_name

TASK_BYTES = 64 * 2**20
"""Aim for output strips of about this many bytes a task."""


@dataclass(frozen=True)
class StripPlan:
    """How the output is cut: strips of ``strip_rows`` output rows, each one task.

    Attributes
    ----------
    geometry : Geometry
        The whole image's resolved geometry.
    output_shape : tuple of int
        ``(H', W')`` or ``(H', W', C)``.
    strip_rows : int
        Output rows per strip (a multiple of the engine's tile quantum).
    strips : tuple of (int, int)
        ``(start, stop)`` output rows of each strip.
    """

    geometry: Geometry
    output_shape: tuple[int, ...]
    strip_rows: int
    strips: tuple[Pair, ...]

    @property
    def input_rows(self) -> int:
        """Padded input rows one full strip reads: its own rows and the kernel's halo."""
        (sy, _), (dy, _) = self.geometry.stride, self.geometry.dilation
        return (self.strip_rows - 1) * sy + dy * (self.geometry.kernel_hw[0] - 1) + 1


def plan_strips(
    image_shape: Sequence[int],
    kernel: np.ndarray,
    *,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    method: str = "auto",
    flip: bool = False,
    task_bytes: int = TASK_BYTES,
) -> StripPlan:
    """Cut the float32 output of ``image_shape`` convolved with ``kernel`` into strips.

    Parameters
    ----------
    image_shape : sequence of int
        ``(H, W)`` or ``(H, W, C)``.
    kernel : numpy.ndarray
        The 2-D kernel.
    stride, padding, dilation, method, flip
        As for :func:`convcli.conv2d`.
    task_bytes : int
        About how many output bytes a strip should hold (at least one tile quantum).

    Returns
    -------
    StripPlan

    Examples
    --------
    >>> plan = plan_strips((1000, 800), np.ones((3, 3)), padding="same", method="direct",
    ...                    task_bytes=800 * 4 * 256)
    >>> plan.strip_rows % tile_quantum(np.ones((3, 3)), plan.geometry, method="direct")
    0
    >>> plan.strips[0][0], plan.strips[-1][1], plan.output_shape
    (0, 1000, (1000, 800))
    """
    hw, channels = (int(image_shape[0]), int(image_shape[1])), image_shape[2:]
    geometry = resolve_geometry(hw, kernel.shape, stride=stride, padding=padding,
                                dilation=dilation)  # fmt: skip
    depth = int(channels[0]) if channels else 1
    quantum = tile_quantum(kernel, geometry, method=method, flip=flip, channels=depth)
    row_bytes = geometry.output_hw[1] * depth * 4
    rows = max(1, task_bytes // (row_bytes * quantum)) * quantum
    height = geometry.output_hw[0]
    strips = tuple((start, min(start + rows, height)) for start in range(0, height, rows))
    shape = (*geometry.output_hw, *(int(c) for c in channels))
    return StripPlan(geometry, shape, rows, strips)


def conv2d_to_zarr(
    source: str | os.PathLike[str],
    kernel: np.ndarray,
    target: str | os.PathLike[str],
    executor: Executor,
    *,
    stride: Any = 1,
    padding: Any = 0,
    padding_mode: str = "zeros",
    cval: float = 0.0,
    dilation: Any = 1,
    flip: bool = False,
    method: str = "auto",
    task_bytes: int = TASK_BYTES,
) -> StripPlan:
    """Convolve the image in the ``.npy`` file ``source`` strip by strip into a Zarr array.

    Parameters
    ----------
    source : path-like
        A ``.npy`` file holding an (H, W) or (H, W, C) array; every task maps it into
        memory and reads only the rows its strip needs.
    kernel : numpy.ndarray
        The 2-D kernel.
    target : path-like
        The Zarr array (a folder) to create; it must not exist.
    executor : concurrent.futures.Executor
        Runs the strips: ``Client.get_executor()`` of a Dask client, or a local pool.
    stride, padding, padding_mode, cval, dilation, flip, method
        As for :func:`convcli.conv2d`; the output is float32.
    task_bytes : int
        About how many output bytes each task writes.

    Returns
    -------
    StripPlan
        How the work was cut.

    Raises
    ------
    OutputError
        If ``target`` exists.
    """
    image = np.load(source, mmap_mode="r")
    plan = plan_strips(image.shape, kernel, stride=stride, padding=padding, dilation=dilation,
                       method=method, flip=flip, task_bytes=task_bytes)  # fmt: skip
    futures: list[Future[Pair]] = []
    chunks = (plan.strip_rows, *plan.output_shape[1:])
    with staged_arrays([target], plan.output_shape, chunks, np.float32) as (work,):
        try:
            options = {"padding_mode": padding_mode, "cval": cval, "flip": flip,
                       "method": method}  # fmt: skip
            job = (str(source), kernel, plan.geometry)
            futures = [executor.submit(write_strip, *job, rows, work, options)
                       for rows in plan.strips]  # fmt: skip
            for future in as_completed(futures):
                future.result()
        finally:
            for future in futures:  # after a failure: start no more strips, let running ones end
                future.cancel()
            wait(futures)
    return plan


@contextmanager
def staged_arrays(
    targets: Sequence[str | os.PathLike[str]],
    shape: tuple[int, ...],
    chunks: tuple[int, ...],
    dtype: Any,
    *,
    existing: Existing = "refuse",
) -> Iterator[list[str]]:
    """Zarr arrays filled under temporary names beside ``targets``, published on success.

    The block gets the temporary arrays' paths; when it ends without an error each is
    renamed to its target (an existing target is replaced only with ``existing="overwrite"``),
    otherwise every temporary array is removed: no half-filled array is left under a name.

    Parameters
    ----------
    targets : sequence of path-like
        The arrays (folders) to make.
    shape, chunks, dtype
        Of every array.
    existing : {"refuse", "overwrite"}
        What to do with a target that exists.

    Raises
    ------
    OutputError
        A target exists (and ``existing`` is not ``overwrite``), or cannot be written.
    """
    finals = [Path(t) for t in targets]
    for final in finals:
        _check_target(final, existing)
    works = [temp_name(final) for final in finals]  # PID-named: a rerun removes a killed run's
    import zarr  # here, not above: a --dask run of image files never needs it (0.1 s)

    try:
        for work in works:
            zarr.open_array(str(work), mode="w", shape=shape, chunks=chunks, dtype=dtype)
        yield [str(work) for work in works]
        for work, final in zip(works, finals, strict=True):
            _publish(work, final, existing)
    except OSError as exc:
        msg = f"{finals[0]}: cannot write the Zarr array: {reason(exc)}"
        raise OutputError(msg) from None
    finally:
        for work in works:
            shutil.rmtree(work, ignore_errors=True)


def _check_target(final: Path, existing: Existing) -> None:
    if final.exists() and existing != "overwrite":
        msg = f"{final} already exists; pass --overwrite to replace it"
        raise OutputError(msg)


def _publish(work: Path, final: Path, existing: Existing) -> None:
    """Rename ``work`` to ``final``; an old ``final`` goes only once the new one is in place."""
    _check_target(final, existing)
    old = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}.old"
    if final.exists():
        os.replace(final, old)
    os.replace(work, final)
    shutil.rmtree(old, ignore_errors=True)


def write_strip(
    source: str, kernel: np.ndarray, geometry: Geometry, rows: Pair, target: str,
    options: dict[str, Any],
) -> Pair:  # fmt: skip
    """One task: output ``rows`` from the mapped ``source`` into the Zarr array ``target``."""
    image = np.load(source, mmap_mode="r")
    strip = convolve_rows(image, kernel, geometry, rows, threads=1, **options).output
    import zarr  # loaded by staged_arrays before the workers started, or on their first strip

    zarr.open_array(target, mode="r+")[rows[0] : rows[1]] = strip
    return rows
