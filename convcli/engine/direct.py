"""The direct method: tap-by-tap accumulation over cache-sized row tiles.

Every output value is ``sum(weight * input)`` over the kernel's non-zero taps in row-major
order, each product an element-wise NumPy operation, so the numbers do not depend on
how the image is cut into tiles.
"""

from __future__ import annotations

import numpy as np

from convcli.engine.method import Method, Problem, TileWork, cache_tile_rows
from convcli.engine.padding import PaddedSource
from convcli.engine.tiling import scratch
from convcli.geometry import Geometry

# ns per output value for one multiply-add pass over an L2-resident tile, per stride kind
TAP_NS = 0.5
STRIDED_TAP_NS = 1.0


def tap_view(src: np.ndarray, geometry: Geometry, m: int, n: int, rows: int) -> np.ndarray:
    """The padded-input values tap ``(m, n)`` meets for ``rows`` output rows (kept only)."""
    (sy, sx), (dy, dx), ow = geometry.stride, geometry.dilation, geometry.output_hw[1]
    y0, x0 = m * dy, n * dx
    return src[y0 : y0 + (rows - 1) * sy + 1 : sy, x0 : x0 + (ow - 1) * sx + 1 : sx]


def direct_tile(src: np.ndarray, kernel: np.ndarray, geometry: Geometry, out: np.ndarray) -> None:
    """Fill ``out`` (one output row tile) from ``src`` (its padded input rows)."""
    rows = out.shape[0]
    tmp = scratch("direct", out.shape, out.dtype)
    first = True
    for (m, n), weight in np.ndenumerate(kernel):
        if weight == 0:
            continue
        view = tap_view(src, geometry, m, n, rows)
        if first:
            np.multiply(view, weight, out=out)
            first = False
        else:
            np.multiply(view, weight, out=tmp)
            out += tmp
    if first:
        out[...] = 0


def tap_cost(problem: Problem) -> float:
    """Estimated ns per output value: one pass per non-zero tap."""
    taps = max(1, int(np.count_nonzero(problem.kernel)))
    per_tap = TAP_NS if problem.geometry.stride[1] == 1 else STRIDED_TAP_NS
    return taps * per_tap


def prepare(problem: Problem, channels: int) -> TileWork:
    """The tile filler: the kernel in the compute dtype, applied tap by tap."""
    del channels  # taps broadcast over channels
    weights, geometry = problem.kernel.astype(problem.dtype), problem.geometry

    def work(source: PaddedSource, p0: int, p1: int, out: np.ndarray) -> None:
        direct_tile(source.tile(p0, p1), weights, geometry, out)

    return work


METHOD = Method(
    name="direct",
    cost=tap_cost,
    tile_rows=cache_tile_rows,
    prepare=prepare,
    tile_free=True,
)
