"""The direct method: tap-by-tap accumulation over cache-sized row tiles."""

from __future__ import annotations

import numpy as np

from convcli.engine.tiling import scratch
from convcli.geometry import Geometry


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
