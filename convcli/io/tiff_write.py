"""TIFF written with tifffile: strips as they are produced, or a whole array.

:func:`write_tiff` writes strips from an iterator, so an image larger than memory can be
written; :func:`encode_tiff` encodes a whole array (16-bit colour and alpha, which Pillow
cannot write). Uncompressed, as libvips and ImageMagick write TIFF by default.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import numpy as np
import tifffile

from convcli.errors import OutputError, reason
from convcli.io.atomic import atomic_write

ROWS_PER_STRIP = 64
"""Rows per strip in the TIFF files convcli writes (a few MiB per strip at most)."""


def _tiff_args(shape: tuple[int, ...], alpha: bool) -> dict[str, Any]:
    samples = 1 if len(shape) == 2 else shape[2]
    photometric = "minisblack" if samples - alpha == 1 else "rgb"
    extra = ("unassalpha",) if alpha else ()
    return {
        "photometric": photometric,
        "extrasamples": extra,
        "rowsperstrip": ROWS_PER_STRIP,
        "compression": None,
        "metadata": None,
    }


def _rechunk(strips: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Cut strips of any height into TIFF strips of :data:`ROWS_PER_STRIP` rows."""
    carry: np.ndarray | None = None
    for strip in strips:
        block = strip if carry is None else np.concatenate([carry, strip])
        whole = block.shape[0] // ROWS_PER_STRIP * ROWS_PER_STRIP
        for row in range(0, whole, ROWS_PER_STRIP):
            yield np.ascontiguousarray(block[row : row + ROWS_PER_STRIP])
        carry = block[whole:] if whole < block.shape[0] else None
    if carry is not None:
        yield np.ascontiguousarray(carry)


def write_tiff(
    path: str | os.PathLike[str],
    strips: Iterable[np.ndarray],
    shape: tuple[int, ...],
    dtype: Any,
    *,
    alpha: bool = False,
) -> None:
    """Write a TIFF from strips of rows as they come, atomically (uncompressed).

    Parameters
    ----------
    path : path-like
        The file; nothing appears under this name unless every strip was written.
    strips : iterable of numpy.ndarray
        Consecutive row strips, of any heights, adding up to ``shape``.
    shape : tuple of int
        ``(H, W)`` or ``(H, W, S)``, samples with alpha last when ``alpha``.
    dtype : uint8, uint16 or float32
    alpha : bool
        Whether the last sample is (unassociated) alpha.

    Raises
    ------
    OutputError
        The file cannot be written (disk full, no permission).
    """
    args = _tiff_args(shape, alpha)

    def write(handle: BinaryIO) -> None:
        try:
            with tifffile.TiffWriter(handle, bigtiff=_needs_bigtiff(shape, dtype)) as tif:
                tif.write(_rechunk(strips), shape=shape, dtype=dtype, **args)
        except OSError as exc:
            if exc.errno is not None:
                raise
            msg = f"short write ({exc}); is the disk full?"  # tifffile's check of a write
            raise OSError(msg) from None

    atomic_write(path, write)


def _needs_bigtiff(shape: tuple[int, ...], dtype: Any) -> bool:
    return int(np.prod(shape)) * np.dtype(dtype).itemsize > 2**32 - 2**25


def encode_tiff(pixels: np.ndarray, alpha: np.ndarray | None = None) -> bytes:
    """Encode a whole image (16-bit colour and alpha included) as uncompressed TIFF bytes.

    Examples
    --------
    >>> import numpy as np
    >>> import io, tifffile
    >>> data = encode_tiff(np.full((2, 2, 3), 65535, np.uint16))
    >>> tifffile.imread(io.BytesIO(data)).dtype.name
    'uint16'
    """
    array = pixels if alpha is None else np.dstack([pixels, alpha.astype(pixels.dtype)])
    buffer = io.BytesIO()
    try:
        tifffile.imwrite(buffer, array, **_tiff_args(array.shape, alpha is not None))
    except (ValueError, OSError) as exc:
        msg = f"cannot encode {array.dtype} pixels as TIFF: {reason(exc)}"
        raise OutputError(msg) from None
    return buffer.getvalue()
