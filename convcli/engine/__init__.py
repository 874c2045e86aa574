"""The convolution engine: NumPy arrays in, NumPy arrays out.

Only NumPy and ``convcli.errors``/``convcli.geometry`` are imported here. The methods
(``direct``, ``banded``, ``separable``, ``fft``) are listed in
:mod:`convcli.engine.registry`, each in its own module with its cost estimate, its tile
size and its preparation; ``method="auto"`` runs the one with the least estimated cost.

The whole image: :func:`conv2d`, :func:`conv1d`, :func:`convolve` (with the geometry and
the method that ran). Strips of it, bit-identical to the whole: :func:`convolve_rows`,
:func:`tile_quantum`; from rows read one strip at a time (streaming): :func:`convolve_strip`
with :func:`needed_rows`. Padding: :func:`pad_image` and its index map :func:`pad_indices`.
"""

from __future__ import annotations

from convcli.engine.api import conv1d, conv2d, convolve
from convcli.engine.padding import pad_image, pad_indices
from convcli.engine.registry import METHODS
from convcli.engine.run import ConvResult
from convcli.engine.strips import (
    convolve_rows,
    convolve_strip,
    held_rows,
    needed_rows,
    tile_quantum,
)
from convcli.engine.tiling import cpu_count
from convcli.engine.validate import check_finite

__all__ = [
    "METHODS",
    "ConvResult",
    "check_finite",
    "conv1d",
    "conv2d",
    "convolve",
    "convolve_rows",
    "convolve_strip",
    "cpu_count",
    "held_rows",
    "needed_rows",
    "pad_image",
    "pad_indices",
    "tile_quantum",
]
