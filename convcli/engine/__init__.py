"""The convolution engine: NumPy arrays in, NumPy arrays out.

Only NumPy and ``convcli.errors``/``convcli.geometry`` are imported here.
"""

from __future__ import annotations

from convcli.engine.core import ConvResult, conv1d, conv2d, convolve

__all__ = ["ConvResult", "conv1d", "conv2d", "convolve"]
