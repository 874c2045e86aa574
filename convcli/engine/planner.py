"""Choosing a method for ``method="auto"`` from a cost model measured on a 2-core x86 box.

Costs are in nanoseconds per output value per channel on 2 threads, from runs of
benchmarks/bench_engine.py on 4096x4096 float32 images (see benchmarks/RESULTS.md).
Only their ratios matter: they decide between methods, not how long a call takes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from convcli.engine.banded import BLOCK, band_span
from convcli.engine.fft import fft_size
from convcli.engine.separable import factorize
from convcli.geometry import Geometry

# ns per output value for one multiply-add pass over an L2-resident tile, per stride kind
TAP_NS = 0.5
STRIDED_TAP_NS = 1.0
# ns per output value of one banded matrix product (one kernel column), and per band row
BAND_NS = 0.7
BAND_ROW_NS = 0.03
# ns per output value of one rank-1 term (a vertical and a horizontal product), per tap
SEP_NS = 2.3
SEP_TAP_NS = 0.02
# ns per output value of one horizontal 1-D tap where BLAS cannot be used
SEP_STRIDED_TAP_NS = 0.8
# ns per computed (stride-1) output value of the blocked FFT, per log2 of the FFT size
FFT_NS = 4.0
FFT_LOG_NS = 1.2


@dataclass(frozen=True)
class Plan:
    """The method chosen and the cost estimates (ns per output value) it was chosen from."""

    method: str
    costs: dict[str, float]


def tap_cost(kernel: np.ndarray, geometry: Geometry) -> float:
    """Estimated ns per output value of tap-by-tap accumulation."""
    taps = max(1, int(np.count_nonzero(kernel)))
    per_tap = TAP_NS if geometry.stride[1] == 1 else STRIDED_TAP_NS
    return taps * per_tap


def banded_cost(kernel: np.ndarray, geometry: Geometry) -> float:
    """Estimated ns per output value of the banded matrix products (inf if not usable)."""
    sy, sx = geometry.stride
    inner = replace(geometry, dilation=(1, 1)) if sy == 1 else geometry
    columns = max(1, int(np.count_nonzero(np.any(kernel != 0, axis=0))))
    split = TAP_NS if sx > 1 else 0.0  # copying the column phases
    return columns * (BAND_NS + BAND_ROW_NS * band_span(BLOCK, inner)) + split * sx * sy


def use_banded(kernel: np.ndarray, geometry: Geometry) -> bool:
    """Whether the direct method should run as banded matrix products."""
    return banded_cost(kernel, geometry) < tap_cost(kernel, geometry)


def direct_cost(kernel: np.ndarray, geometry: Geometry) -> float:
    """Estimated ns per output value of the direct method (taps or banded products)."""
    return min(tap_cost(kernel, geometry), banded_cost(kernel, geometry))


def separable_cost(rank: int, geometry: Geometry) -> float:
    """Estimated ns per output value of ``rank`` pairs of 1-D passes."""
    (kh, kw), sx = geometry.kernel_hw, geometry.stride[1]
    per_term = SEP_NS + SEP_TAP_NS * (kh + kw)
    if sx != 1:
        per_term += SEP_STRIDED_TAP_NS * kw
    return rank * per_term


def fft_cost(geometry: Geometry) -> float:
    """Estimated ns per output value of the blocked FFT (it computes stride-1 outputs)."""
    (ekh, ekw), (sy, sx) = geometry.effective_kernel_hw, geometry.stride
    fh, fw = fft_size(ekh), fft_size(ekw)
    waste = (fh * fw) / ((fh - ekh + 1) * (fw - ekw + 1))
    return sy * sx * waste * (FFT_NS + FFT_LOG_NS * np.log2(fh * fw))


def choose(kernel: np.ndarray, geometry: Geometry, dtype: np.dtype) -> Plan:
    """The cheapest method for this kernel and geometry (costs do not depend on channels).

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.geometry import resolve_geometry
    >>> g = resolve_geometry((512, 512), (31, 31), padding="same")
    >>> choose(np.random.default_rng(0).normal(size=(31, 31)), g, np.dtype("float32")).method
    'fft'
    >>> choose(np.ones((31, 31)), g, np.dtype("float32")).method
    'separable'
    """
    costs = {
        "direct": direct_cost(kernel, geometry),
        "separable": separable_cost(len(factorize(kernel, dtype)), geometry),
        "fft": fft_cost(geometry),
    }
    if kernel.size == 1:
        costs = {"direct": costs["direct"]}
    return Plan(min(costs, key=lambda name: costs[name]), costs)
