"""The banded method: direct convolution as one BLAS product per kernel column per block.

For kernel column ``n`` the output rows of a block are a banded (Toeplitz) matrix ``T_n``
times the padded-input rows, shifted right by ``n * dx``::

    out[i0 + i, :] += sum_r T_n[i, r] * xpad[i0*sy + r, n*dx : n*dx + W']
    T_n[i, i*sy + m*dy] = k[m, n]

The input operand is a strided view of the tile (no copy). A column stride ``sx > 1`` is
handled by splitting the tile's columns into ``sx`` phases (one copy), so only kept
outputs are computed; a row dilation ``dy > 1`` (with ``sy == 1``) by running each row
phase ``xpad[p::dy]`` with an undilated band, so it costs no more than ``dy == 1``: the
blocks of every row phase go through the same products (a batch dimension of their own).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convcli.engine.method import TILE_BYTES, Method, Problem, TileWork, cache_tile_rows
from convcli.engine.padding import PaddedSource
from convcli.engine.tiling import scratch
from convcli.geometry import Geometry, Pair

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


def _band(weights: np.ndarray, geometry: Geometry, block: int, dtype: np.dtype) -> np.ndarray:
    """``T[i, i*sy + m*dy] = weights[m]``: one kernel column's band matrix."""
    sy, step = geometry.stride[0], geometry.dilation[0]
    band = np.zeros((block, band_span(block, geometry)), dtype)
    for i in range(block):
        band[i, i * sy : i * sy + (len(weights) - 1) * step + 1 : step] = weights
    return band


def band_plan(
    kernel: np.ndarray, geometry: Geometry, dtype: np.dtype, block: int = BLOCK
) -> BandPlan:
    """Band matrices for every kernel column with a non-zero weight."""
    (sy, sx), (dy, dx) = geometry.stride, geometry.dilation
    row_phases = dy if sy == 1 and dy > 1 else 1
    inner = replace(geometry, dilation=(1, dx)) if row_phases > 1 else geometry
    columns = [
        ((n * dx) % sx, (n * dx) // sx, _band(kernel[:, n], inner, block, dtype))
        for n in range(kernel.shape[1])
        if np.any(kernel[:, n])
    ]
    return BandPlan(inner, row_phases, columns)


def banded_phases(layout: np.ndarray, plan: BandPlan, out: np.ndarray) -> None:
    """Fill ``out`` from padded input rows laid out by column phase.

    ``layout[r, q]`` holds column phase ``q`` (``xpad[r, q::sx]``) of padded row ``r``.
    Whole groups of blocks (one block per row phase) go through the same products; the
    rows left over, phase by phase, through trimmed bands.
    """
    p, block = plan.row_phases, plan.block
    layout = layout.reshape(*layout.shape[:2], -1)
    channels = math.prod(out.shape[2:])
    full = out.shape[0] // (block * p) * (block * p)
    if full:
        _blocks(layout, plan.columns, plan.geometry, out[:full], (block, p), channels)
    start = full * plan.geometry.stride[0]
    for phase in range(p):
        rest = out[full + phase :: p]
        if rest.shape[0]:
            columns = plan.trimmed(rest.shape[0])
            rows = layout[start + phase :: p]
            _blocks(rows, columns, plan.geometry, rest, (rest.shape[0], 1), channels)


def _operands(
    layout: np.ndarray,
    columns: list[tuple[int, int, np.ndarray]],
    geometry: Geometry,
    groups: int,
    blocks: Pair,
) -> list[np.ndarray]:
    """``(groups, phases, k, width)`` views of ``layout``, the operand of each column entry.

    Block ``(g, p)`` reads padded rows ``(g * block * phases + p) * sy + r * phases``.
    """
    block, phases = blocks
    row = layout.strides[0]
    group_step = row * block * phases * geometry.stride[0]
    views = []
    for q, _, band in columns:
        rows = layout[:, q]
        strides = (group_step, row, row * phases, rows.strides[-1])
        shape = (groups, phases, band.shape[1], rows.shape[-1])
        views.append(as_strided(rows, shape=shape, strides=strides, writeable=False))
    return views


def _by_block(rows: np.ndarray, blocks: Pair, width: int) -> np.ndarray:
    """``rows`` as ``(groups, phases, block, width)``: output row
    ``g * block * phases + i * phases + p`` is row ``i`` of block ``(g, p)``."""
    block, phases = blocks
    groups = rows.shape[0] // (block * phases)
    return rows.reshape(groups, block, phases, width).transpose(0, 2, 1, 3)


def _blocks(
    layout: np.ndarray,
    columns: list[tuple[int, int, np.ndarray]],
    geometry: Geometry,
    out: np.ndarray,
    blocks: Pair,
    channels: int,
) -> None:
    """Fill ``out`` in groups of ``blocks = (block, phases)``: output row
    ``g * block * phases + i * phases + p`` is row ``i`` of block ``(g, p)``."""
    if not columns:
        out[...] = 0
        return
    width = out.shape[1] * channels
    result = _by_block(out, blocks, width)
    # laid out like ``result``, so that adding it is one pass over contiguous rows
    tmp = _by_block(scratch("banded", (out.shape[0], width), out.dtype), blocks, width)
    span = columns[0][2].shape[1]
    chunk = max(16, BLAS_SERIAL_LIMIT // (blocks[0] * span) // 16 * 16)
    operands = _operands(layout, columns, geometry, result.shape[0], blocks)
    for c0 in range(0, width, chunk):
        c1 = min(c0 + chunk, width)
        for j, ((_, offset, band), whole) in enumerate(zip(columns, operands, strict=True)):
            x0 = offset * channels
            operand = whole[..., x0 + c0 : x0 + c1]
            if j == 0:
                np.matmul(band, operand, out=result[..., c0:c1])
            else:
                np.matmul(band, operand, out=tmp[..., c0:c1])
                result[..., c0:c1] += tmp[..., c0:c1]
    if not np.may_share_memory(result, out):  # reshape had to copy
        out[...] = result.transpose(0, 2, 1, 3).reshape(out.shape)


def band_unit(geometry: Geometry) -> int:
    """Output rows in whole band blocks of every row phase (dilated rows run phase by phase)."""
    return BLOCK * (geometry.dilation[0] if geometry.stride[0] == 1 else 1)


def band_tile_rows(geometry: Geometry, row_bytes: int) -> int:
    """Output rows per tile: about a cache's worth, in whole band blocks.

    Under a row stride a tile reads twice the bytes: it has fewer output rows per input
    row, and the fixed cost of a tile (measured about 30 us) would otherwise weigh more.
    """
    budget = TILE_BYTES * (2 if geometry.stride[0] > 1 else 1)
    return cache_tile_rows(geometry, row_bytes, band_unit(geometry), budget)


def banded_tile_rows(geometry: Geometry, row_bytes: int) -> int:
    """Twice :func:`band_tile_rows` under a row stride or for the row phases of a dilation.

    A tile's fixed cost (about 30 us, mostly Python, holding the interpreter lock) weighs
    more where a tile has few output rows per input byte, and row phases need whole blocks
    of every phase under a halo ``dy`` times taller (measured at 4096²: 3x3 stride 2 about
    10% faster, 3x3 dilation 2 about 10%; larger tiles were slower). The banded products
    do not depend on the tile height, so neither do the bits. The separable method's do,
    and it keeps :func:`band_tile_rows`: a whole multiple of it, so that a bank mixing the
    two methods has a strip quantum (the least common multiple) no larger than this.
    """
    rows = band_tile_rows(geometry, row_bytes)
    return 2 * rows if geometry.stride[0] > 1 or geometry.dilation[0] > 1 else rows


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
    used = {q for q, _, _ in bands.columns}  # a phase no kernel column reads is not built

    def work(source: PaddedSource, p0: int, p1: int, out: np.ndarray) -> None:
        layout = source.phases(p0, p1, sx, used) if sx > 1 else source.tile(p0, p1)[:, None]
        banded_phases(layout, bands, out)

    return work


METHOD = Method(
    name="banded",
    cost=banded_cost,
    tile_rows=banded_tile_rows,
    prepare=prepare,
)
