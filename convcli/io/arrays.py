"""NumPy ``.npy`` images and the value range of float images.

A float image holds values, not 0..1 fractions: its white level (``max_value``, used only
when writing integer pixels) is decided from the data by :func:`float_white_level`.
"""

from __future__ import annotations

import os

import numpy as np

from convcli.errors import ImageError, reason
from convcli.npyfile import NpyError, load_npy

_WHITE_LEVELS = (1.0, 255.0, 65535.0)


def float_white_level(values: np.ndarray) -> float:
    """The white level of float pixels: 1, 255 or 65535, the first that holds every value.

    Values in ``0..1`` are fractions (white is 1); in ``0..255`` 8-bit levels; in
    ``0..65535`` 16-bit levels. Anything else (negative or larger values) takes its
    largest absolute value as white. NaN and infinities are ignored.

    Examples
    --------
    >>> float_white_level(np.array([0.0, 0.5, 1.0])), float_white_level(np.array([3.8, 194.0]))
    (1.0, 255.0)
    >>> float_white_level(np.array([-2.0, 700.0])), float_white_level(np.array([900.0]))
    (700.0, 65535.0)
    """
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return 1.0
    low, high = float(finite.min()), float(finite.max())
    if low >= 0:
        for level in _WHITE_LEVELS:
            if high <= level:
                return level
    return max(abs(low), abs(high)) or 1.0


def open_npy(path: str | os.PathLike[str]) -> np.ndarray:
    """The array of a ``.npy`` file, memory-mapped (never pickles).

    Raises
    ------
    ImageError
        A file that is missing, has no NumPy header or a damaged one, or holds Python
        objects.
    """
    try:
        return load_npy(path, mmap=True)
    except (FileNotFoundError, NpyError) as exc:
        why = reason(exc) if isinstance(exc, OSError) else str(exc)
        msg = f"{os.fspath(path)}: cannot read as .npy: {why}"
        raise ImageError(msg) from None


def npy_pixels(array: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray | None, float, int]:
    """Pixels, alpha, white level and bit depth of a ``.npy`` image's array.

    ``(H, W)`` is gray, ``(H, W, 3)`` colour, ``(H, W, 2)`` and ``(H, W, 4)`` carry alpha
    last. ``uint8`` is 8-bit (white 255), ``uint16`` 16-bit (65535); other numbers are
    float values (bit depth 32, white from :func:`float_white_level`).

    Raises
    ------
    ImageError
        Not a non-empty array of numbers of one of those shapes.
    """
    planes = 1 if array.ndim == 2 else (array.shape[2] if array.ndim == 3 else 0)
    if planes not in (1, 2, 3, 4) or array.dtype.kind not in "biuf" or array.size == 0:
        msg = (
            f"{name}: expected an image array of numbers shaped (H, W) or (H, W, 1..4); "
            f"got shape {array.shape} ({array.dtype})"
        )
        raise ImageError(msg)
    values = np.array(array, dtype=np.float32)
    if values.ndim == 3 and planes == 1:
        values = values[..., 0]
    alpha = values[..., -1] if planes in (2, 4) else None
    pixels = values[..., 0] if planes == 2 else (values[..., :3] if planes == 4 else values)
    depth = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}.get(array.dtype, 32)
    white = {8: 255.0, 16: 65535.0}.get(depth) or float_white_level(values)
    return pixels, alpha, white, depth
