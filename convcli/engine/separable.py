"""The separable method: a kernel of rank r as r pairs of 1-D passes (SVD).

The vertical pass is a banded matrix product over every padded column (channels
included); the horizontal pass is one product per column block against a banded
``(block + k' - 1) x block`` matrix (interleaved channels are one long row whose taps are
``dx * C`` apart), or tap-by-tap where a column stride makes the view unusable by BLAS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convcli.engine.banded import BandPlan, band_plan, band_tile_rows, banded_phases
from convcli.engine.method import Method, Problem, TileWork
from convcli.engine.padding import PaddedSource
from convcli.engine.tiling import scratch
from convcli.geometry import Geometry

ROW_BLOCK = 32
SHORT_ROW_BLOCK = 16
"""Output columns per horizontal product: 16 for rows of up to :data:`SHORT_ROW` taps, whose
band is mostly zeros at 32 (3 taps: 3 of 38 weights per column; on a 4096x4096 RGB image
16 was 5% faster at 3 taps, 2-3% at 5 and 7), 32 for longer rows (as fast, fewer products)."""
SHORT_ROW = 7
# ns per output value of one rank-1 term (a vertical and a horizontal product), per tap
SEP_NS = 2.3
SEP_TAP_NS = 0.02
# ns per output value of one horizontal 1-D tap where BLAS cannot be used
SEP_STRIDED_TAP_NS = 0.8

Factors = list[tuple[np.ndarray, np.ndarray]]


def factorize(kernel: np.ndarray, dtype: Any = np.float32) -> Factors:
    """``[(column, row), ...]`` with ``kernel == sum(outer(column, row))`` at ``dtype`` precision.

    Components whose singular value is below ``max(kh, kw) * eps(dtype)`` times the largest
    are dropped, so a rank-1 kernel in rounding noise is still found rank-1.

    Examples
    --------
    >>> import numpy as np
    >>> len(factorize(np.outer([1, 2, 1], [-1, 0, 1])))
    1
    """
    u, s, vt = np.linalg.svd(kernel)
    tol = max(kernel.shape) * np.finfo(dtype).eps * (s[0] if s.size else 0.0)
    rank = max(1, int(np.sum(s > tol)))
    if rank == 1:
        return [_pivot_factors(kernel)]
    return [(u[:, r] * np.sqrt(s[r]), vt[r] * np.sqrt(s[r])) for r in range(rank)]


def _pivot_factors(kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank-1 factors taken from the kernel's own entries, so box, binomial and Sobel
    kernels factor exactly (SVD factors carry rounding even for integer kernels)."""
    i, j = np.unravel_index(np.argmax(np.abs(kernel)), kernel.shape)
    if kernel[i, j] == 0:
        return np.zeros(kernel.shape[0]), np.zeros(kernel.shape[1])
    return kernel[:, j].copy(), kernel[i, :] / kernel[i, j]


@dataclass(frozen=True)
class Pass:
    """One rank-1 term: the vertical band matrices and the horizontal weights."""

    vertical: BandPlan
    row: np.ndarray
    row_band: np.ndarray | None


def _row_band(row: np.ndarray, dilation: int, block: int, dtype: Any) -> np.ndarray:
    span = block + (len(row) - 1) * dilation
    band = np.zeros((span, block), dtype)
    for j in range(block):
        band[j : j + (len(row) - 1) * dilation + 1 : dilation, j] = row
    return band


def factors(problem: Problem) -> Factors:
    """The kernel's rank-1 factors, computed once per problem (cost and passes share them)."""
    return problem.once("factors", lambda: factorize(problem.kernel, problem.dtype))


def plan_passes(terms: Factors, geometry: Geometry, dtype: Any, channels: int) -> list[Pass]:
    """The 1-D passes for every rank-1 term ``(column, row)``."""
    (_, sx), (_, dx) = geometry.stride, geometry.dilation
    vgeo = replace(
        geometry,
        kernel_hw=(geometry.kernel_hw[0], 1),
        stride=(geometry.stride[0], 1),
        dilation=(geometry.dilation[0], 1),
    )
    passes = []
    for column, row in terms:
        mats = band_plan(column[:, None], vgeo, np.dtype(dtype))
        # interleaved channels: a row is one signal whose taps are dx * channels apart
        block = SHORT_ROW_BLOCK if len(row) <= SHORT_ROW else ROW_BLOCK
        band = _row_band(row, dx * channels, block, dtype) if sx == 1 else None
        passes.append(Pass(mats, row.astype(dtype), band))
    return passes


def _horizontal_taps(
    mid: np.ndarray, row: np.ndarray, geometry: Geometry, out: np.ndarray
) -> None:
    (_, sx), (_, dx), ow = geometry.stride, geometry.dilation, geometry.output_hw[1]
    tmp = scratch("sep-h", out.shape, out.dtype)
    for n in range(len(row)):
        x0 = n * dx
        view = mid[:, x0 : x0 + (ow - 1) * sx + 1 : sx]
        if n == 0:
            np.multiply(view, row[0], out=out)
        else:
            np.multiply(view, row[n], out=tmp)
            out += tmp


def _horizontal_blas(mid: np.ndarray, band: np.ndarray, out: np.ndarray) -> None:
    mid = mid.reshape(mid.shape[0], -1)
    out = out.reshape(out.shape[0], -1)  # a view: output tiles are whole rows
    span, block = band.shape
    width = out.shape[1]
    nblk = width // block
    if nblk:
        view = sliding_window_view(mid, span, axis=1)[:, : (nblk - 1) * block + 1 : block]
        target = out[:, : nblk * block].reshape(out.shape[0], nblk, block)
        np.matmul(view.transpose(1, 0, 2), band, out=target.transpose(1, 0, 2))
    rest = width - nblk * block
    if rest:
        tail = band[: span - block + rest, :rest]
        np.matmul(mid[:, nblk * block : nblk * block + tail.shape[0]], tail, out=out[:, -rest:])


def separable_tile(
    src: np.ndarray, passes: list[Pass], geometry: Geometry, out: np.ndarray
) -> None:
    """Fill ``out`` from ``src`` with one vertical and one horizontal pass per rank-1 term."""
    mid = scratch("sep-mid", (out.shape[0], *src.shape[1:]), out.dtype)
    acc = scratch("sep-acc", out.shape, out.dtype)
    for r, term in enumerate(passes):
        banded_phases(src[:, None], term.vertical, mid)  # vertical passes have column stride 1
        target = out if r == 0 else acc
        if term.row_band is not None:
            _horizontal_blas(mid, term.row_band, target)
        else:
            _horizontal_taps(mid, term.row, geometry, target)
        if r:
            out += acc


def separable_cost(problem: Problem) -> float:
    """Estimated ns per output value: a vertical and a horizontal pass per rank-1 term."""
    if problem.kernel.size == 1:
        return math.inf  # a single weight is a scale: direct does it exactly
    geometry = problem.geometry
    (kh, kw), sx = geometry.kernel_hw, geometry.stride[1]
    per_term = SEP_NS + SEP_TAP_NS * (kh + kw)
    if sx != 1:
        per_term += SEP_STRIDED_TAP_NS * kw
    return len(factors(problem)) * per_term


def prepare(problem: Problem, channels: int) -> TileWork:
    """The tile filler: the 1-D passes of every rank-1 term of the kernel."""
    geometry = problem.geometry
    passes = plan_passes(factors(problem), geometry, problem.dtype, channels)

    def work(source: PaddedSource, p0: int, p1: int, out: np.ndarray) -> None:
        separable_tile(source.tile(p0, p1), passes, geometry, out)

    return work


METHOD = Method(
    name="separable",
    cost=separable_cost,
    tile_rows=band_tile_rows,
    prepare=prepare,
)
