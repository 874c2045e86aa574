"""The banded method: direct convolution as one BLAS product per kernel column per block.

For kernel column ``n`` the output rows of a block are a banded (Toeplitz) matrix ``T_n``
times the padded-input rows, shifted right by ``n * dx``::

    out[i0 + i, :] += sum_r T_n[i, r] * xpad[i0*sy + r, n*dx : n*dx + W']
    T_n[i, i*sy + m*dy] = k[m, n]

The input operand is a strided view of the tile (no copy). A column stride ``sx > 1`` is
handled by splitting the tile's columns into ``sx`` phases (one copy), so only kept
outputs are computed; a row dilation ``dy > 1`` (with ``sy == 1``) by running each row
phase ``xpad[p::dy]`` with an undilated band, so it costs no more than ``dy == 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convcli.engine.method import Method, Problem, TileWork, cache_tile_rows
from convcli.engine.padding import PaddedSource
from convcli.engine.tiling import scratch
from convcli.geometry import Geometry

BLOCK = 4
# ns per output value of one banded matrix product (one kernel column), and per band row
BAND_NS = 0.7
BAND_ROW_NS = 0.03
# ns per output value per column phase copied (one pass over the tile, like a tap)
PHASE_COPY_NS = 0.5
# OpenBLAS goes multi-threaded above m*n*k = 262144; from our own worker threads that
# oversubscribes the cores (measured: 100x slowdowns), so every product stays below it.
BLAS_SERIAL_LIMIT = 262144


def band_span(rows: int, geometry: Geometry) -> int:
    """Padded-input rows a block of ``rows`` output rows reads."""
    return (rows - 1) * geometry.stride[0] + geometry.effective_kernel_hw[0]


@dataclass(frozen=True)
class BandPlan:
    """Band matrices per kernel column, with the column phase and offset each one reads."""

    geometry: Geometry
    row_phases: int
    columns: list[tuple[int, int, np.ndarray]]

    @property
    def block(self) -> int:
        """Output rows per band matrix."""
        return self.columns[0][2].shape[0] if self.columns else BLOCK

    def trimmed(self, rows: int) -> list[tuple[int, int, np.ndarray]]:
        """The band matrices cut to ``rows`` output rows."""
        span = band_span(rows, self.geometry)
        return [(q, o, band[:rows, :span]) for q, o, band in self.columns]


def band_plan(
    kernel: np.ndarray, geometry: Geometry, dtype: np.dtype, block: int = BLOCK
) -> BandPlan:
    """Band matrices for every kernel column with a non-zero weight."""
    (sy, sx), (dy, dx) = geometry.stride, geometry.dilation
    row_phases = dy if sy == 1 and dy > 1 else 1
    inner = replace(geometry, dilation=(1, dx)) if row_phases > 1 else geometry
    step = inner.dilation[0]
    columns = []
    for n in range(kernel.shape[1]):
        if not np.any(kernel[:, n]):
            continue
        band = np.zeros((block, band_span(block, inner)), dtype)
        for i in range(block):
            band[i, i * sy : i * sy + (kernel.shape[0] - 1) * step + 1 : step] = kernel[:, n]
        columns.append(((n * dx) % sx, (n * dx) // sx, band))
    return BandPlan(inner, row_phases, columns)


def banded_phases(phases: list[np.ndarray], plan: BandPlan, out: np.ndarray) -> None:
    """Fill ``out`` from the padded input rows split into column phases (one per ``sx``)."""
    p = plan.row_phases
    for phase in range(p):
        _phase_rows([ph[phase::p] for ph in phases], plan, out[phase::p])


def _phase_rows(phases: list[np.ndarray], plan: BandPlan, out: np.ndarray) -> None:
    if out.shape[0] == 0:
        return
    channels = int(np.prod(out.shape[2:], dtype=int))
    phases = [ph.reshape(ph.shape[0], -1) for ph in phases]
    block, rows = plan.block, out.shape[0]
    full = (rows // block) * block
    if full:
        _blocks(phases, plan.columns, plan.geometry, out[:full], block, channels)
    if full < rows:
        start = full * plan.geometry.stride[0]
        rest = [ph[start:] for ph in phases]
        _blocks(rest, plan.trimmed(rows - full), plan.geometry, out[full:], rows - full, channels)


def _band_operand(rows: np.ndarray, nblocks: int, step: int, span: int) -> np.ndarray:
    """``(nblocks, span, width)`` overlapping row windows, ``step`` rows apart (a view)."""
    s0, s1 = rows.strides
    shape = (nblocks, span, rows.shape[1])
    return as_strided(rows, shape=shape, strides=(s0 * step, s0, s1), writeable=False)


def _blocks(
    phases: list[np.ndarray],
    columns: list[tuple[int, int, np.ndarray]],
    geometry: Geometry,
    out: np.ndarray,
    block: int,
    channels: int,
) -> None:
    if not columns:
        out[...] = 0
        return
    width = out.shape[1] * channels
    nblocks, span = out.shape[0] // block, band_span(block, geometry)
    step = block * geometry.stride[0]
    result = out.reshape(nblocks, block, width)
    tmp = scratch("banded", result.shape, out.dtype)
    chunk = max(16, BLAS_SERIAL_LIMIT // (block * span) // 16 * 16)
    for c0 in range(0, width, chunk):
        c1 = min(c0 + chunk, width)
        for j, (q, offset, band) in enumerate(columns):
            x0 = offset * channels
            operand = _band_operand(phases[q][:, x0 + c0 : x0 + c1], nblocks, step, span)
            if j == 0:
                np.matmul(band, operand, out=result[..., c0:c1])
            else:
                np.matmul(band, operand, out=tmp[..., c0:c1])
                result[..., c0:c1] += tmp[..., c0:c1]
    if not np.may_share_memory(result, out):  # reshape had to copy
        out[...] = result.reshape(out.shape)


def band_unit(geometry: Geometry) -> int:
    """Output rows in whole band blocks of every row phase (dilated rows run phase by phase)."""
    return BLOCK * (geometry.dilation[0] if geometry.stride[0] == 1 else 1)


def band_tile_rows(geometry: Geometry, row_bytes: int) -> int:
    """Output rows per tile: about a cache's worth, in whole band blocks."""
    return cache_tile_rows(geometry, row_bytes, band_unit(geometry))


def banded_cost(problem: Problem) -> float:
    """Estimated ns per output value: one product per non-zero kernel column."""
    geometry = problem.geometry
    sy, sx = geometry.stride
    inner = replace(geometry, dilation=(1, 1)) if sy == 1 else geometry
    columns = max(1, int(np.count_nonzero(np.any(problem.kernel != 0, axis=0))))
    split = PHASE_COPY_NS if sx > 1 else 0.0
    return columns * (BAND_NS + BAND_ROW_NS * band_span(BLOCK, inner)) + split * sx * sy


def prepare(problem: Problem, channels: int) -> TileWork:
    """The tile filler: band matrices per kernel column, applied to the column phases."""
    del channels  # channels are interleaved columns of the products
    bands = band_plan(problem.kernel, problem.geometry, problem.dtype)
    sx = problem.geometry.stride[1]

    def work(source: PaddedSource, p0: int, p1: int, out: np.ndarray) -> None:
        phases = source.phases(p0, p1, sx) if sx > 1 else [source.tile(p0, p1)]
        banded_phases(phases, bands, out)

    return work


METHOD = Method(
    name="banded",
    cost=banded_cost,
    tile_rows=band_tile_rows,
    prepare=prepare,
)
