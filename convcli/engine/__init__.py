"""The convolution engine: NumPy arrays in, NumPy arrays out.

Only NumPy and ``convcli.errors``/``convcli.geometry`` are imported here. Methods:

- ``direct``: tap-by-tap accumulation over cache-sized row tiles, threaded;
- ``separable``: SVD factors, one vertical and one horizontal 1-D pass per rank;
- ``fft``: blocked FFT convolution (overlap-save) with :mod:`numpy.fft`;

``method="auto"`` lets :mod:`convcli.engine.planner` choose by a measured cost model.
"""

from __future__ import annotations

from convcli.engine.core import ConvResult, conv1d, conv2d, convolve
from convcli.engine.padding import pad_image
from convcli.engine.validate import METHODS

__all__ = ["METHODS", "ConvResult", "conv1d", "conv2d", "convolve", "pad_image"]
