"""One array too big for one task: output strips computed as separate tasks, written to Zarr.

Each task reads, from a ``.npy`` file mapped into memory, only the input rows its strip of
output needs (through the engine's own padding index maps, so every padding mode, stride
and dilation is exact) and writes that strip as one row of Zarr chunks. Strips start on
multiples of the engine's :func:`~convcli.engine.tile_quantum`, so the Zarr array holds the
same bits as the whole-image :func:`~convcli.engine.conv2d`. The tasks go to any
:class:`concurrent.futures.Executor`: a Dask client's (``Client.get_executor()``) on a
cluster, a local pool otherwise. The array is filled under a temporary name beside the
target and renamed when every strip is written, so no half-filled array is left under it.

Not yet wired to the command line: ``apply -o huge.zarr --dask`` and ``shape --plan``
are to come (they need the image pipeline in strips).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from concurrent.futures import Executor, Future, as_completed, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from convcli.engine import convolve_rows, tile_quantum
from convcli.errors import OutputError
from convcli.geometry import Geometry, Pair, resolve_geometry

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
    final = Path(target)
    if final.exists():
        msg = f"{final} already exists; remove it first"
        raise OutputError(msg)
    work = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}.tmp"
    futures: list[Future[Pair]] = []
    try:
        chunks = (plan.strip_rows, *plan.output_shape[1:])
        zarr.open_array(str(work), mode="w", shape=plan.output_shape, chunks=chunks,
                        dtype="float32")  # fmt: skip
        options = {"padding_mode": padding_mode, "cval": cval, "flip": flip, "method": method}
        futures = [
            executor.submit(
                write_strip, str(source), kernel, plan.geometry, rows, str(work), options
            )
            for rows in plan.strips
        ]
        for future in as_completed(futures):
            future.result()
        os.replace(work, final)
    finally:
        for future in futures:  # after a failure: start no more strips, let running ones end
            future.cancel()
        wait(futures)
        shutil.rmtree(work, ignore_errors=True)
    return plan


def write_strip(
    source: str, kernel: np.ndarray, geometry: Geometry, rows: Pair, target: str,
    options: dict[str, Any],
) -> Pair:  # fmt: skip
    """One task: output ``rows`` from the mapped ``source`` into the Zarr array ``target``."""
    image = np.load(source, mmap_mode="r")
    strip = convolve_rows(image, kernel, geometry, rows, threads=1, **options).output
    zarr.open_array(target, mode="r+")[rows[0] : rows[1]] = strip
    return rows
