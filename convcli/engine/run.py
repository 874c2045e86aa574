"""One engine call after validation: plan the method, then fill output rows tile by tile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from convcli.engine.method import Problem
from convcli.engine.padding import PaddedSource
from convcli.engine.registry import Plan, check_method, plan
from convcli.engine.tiling import cpu_count, run_tiles
from convcli.engine.validate import check_threads, compute_dtype, output_dtype
from convcli.geometry import (
    Geometry,
    PaddingMode,
    Pair,
    normalize_padding_mode,
    working_geometry,
)

if TYPE_CHECKING:  # annotations only: numpy.typing costs every run's start-up
    from numpy.typing import DTypeLike


@dataclass(frozen=True)
class ConvResult:
    """A feature map with the geometry and the method that produced it.

    Attributes
    ----------
    output : numpy.ndarray
        The feature map, (H', W') or (H', W', C); for
        :func:`~convcli.engine.convolve_rows`, only the rows asked for.
    geometry : Geometry
        Pads, stride, dilation and output shape actually used (of the whole image).
    method : str
        The method that ran: one of :data:`~convcli.engine.METHODS` other than ``auto``.
    flip : bool
        True for convolution (kernel rotated 180°), False for cross-correlation.
    """

    output: np.ndarray
    geometry: Geometry
    method: str
    flip: bool


@dataclass(frozen=True)
class Options:
    """The keyword options every entry point shares, ``method`` and ``threads`` checked."""

    mode: PaddingMode
    cval: float
    flip: bool
    method: str
    dtype: DTypeLike | None
    threads: int | None

    @classmethod
    def checked(
        cls,
        padding_mode: str,
        cval: float,
        flip: bool,
        method: str,
        dtype: DTypeLike | None,
        threads: int | None,
    ) -> Options:
        """The options with ``method``, ``threads`` and ``padding_mode`` checked."""
        check_method(method)
        check_threads(threads)
        return cls(normalize_padding_mode(padding_mode), cval, flip, method, dtype, threads)


def make_plan(kernel: np.ndarray, geometry: Geometry, flip: bool, method: str, dtype: Any) -> Plan:
    """Plan ``method`` for a validated float64 kernel, computing in ``dtype``."""
    weights = np.ascontiguousarray(kernel[::-1, ::-1] if flip else kernel)
    return plan(Problem(weights, geometry, np.dtype(dtype)), method)


def _execute(source: PaddedSource, chosen: Plan, rows: Pair, threads: int) -> np.ndarray:
    """Output rows ``rows[0]:rows[1]``, in tiles of ``chosen.tile_rows`` from ``rows[0]``."""
    geometry = chosen.problem.geometry
    pixel = source.image.shape[2:]
    channels = int(np.prod(pixel, dtype=int))
    out = np.empty((rows[1] - rows[0], geometry.output_hw[1], *pixel), source.dtype)
    work = chosen.work(channels)
    sy, ekh = geometry.stride[0], geometry.effective_kernel_hw[0]

    def tile(i0: int, i1: int) -> None:
        r0, r1 = rows[0] + i0, rows[0] + i1
        work(source, r0 * sy, (r1 - 1) * sy + ekh, out[i0:i1])

    row_bytes = source.width * channels * source.dtype.itemsize
    run_tiles(tile, out.shape[0], chosen.tile_rows(row_bytes), threads)
    return out


def run(
    image: np.ndarray,
    kernel: np.ndarray,
    geometry: Geometry,
    rows: Pair,
    options: Options,
    held: np.ndarray | None = None,
) -> ConvResult:
    """Output rows ``rows`` of a validated image (or of the rows ``held`` of it)."""
    out_dtype = output_dtype(image.dtype, options.dtype)
    compute = compute_dtype(out_dtype)
    strip = held is not None or rows != (0, geometry.output_hw[0])
    working = working_geometry(geometry, rows=rows if strip else None)  # a strip: its rows
    chosen = make_plan(kernel, working, options.flip, options.method, compute)
    source = PaddedSource.create(image, working, options.mode, options.cval, compute, held)
    out = _execute(source, chosen, rows, options.threads or cpu_count())
    result = out.astype(out_dtype, copy=False)
    return ConvResult(result, geometry, chosen.method.name, options.flip)
