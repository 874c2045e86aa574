"""PNG written strip by strip as rows are produced: no whole image held, zlib off the GIL.

Each row is filtered with PNG's "Up" filter (vectorised over a strip; the previous strip's
last row carries over) and compressed with zlib level 3, which releases the interpreter
lock, so a writer thread compresses while the engine filters the next strip. The file is
a plain PNG (IHDR, IDATs, IEND) that every reader accepts.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any, BinaryIO

import numpy as np

from convcli.choices import Existing
from convcli.io.atomic import atomic_write

LEVEL = 3
"""zlib level, as :mod:`convcli.io.write` uses for PNG."""


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _header(shape: tuple[int, ...], dtype: Any) -> bytes:
    height, width = shape[0], shape[1]
    bands = 1 if len(shape) == 2 else shape[2]
    depth = np.dtype(dtype).itemsize * 8
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[bands]  # gray, gray + alpha, RGB, RGB + alpha
    return _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0))


def _filtered(strip: np.ndarray, previous: np.ndarray | None) -> tuple[bytes, np.ndarray]:
    """The strip's rows with filter "Up" (type 2), and its last raw row for the next strip."""
    rows = strip.astype(strip.dtype.newbyteorder(">"), copy=False).reshape(strip.shape[0], -1)
    raw = rows.view(np.uint8)
    body = np.empty((raw.shape[0], raw.shape[1] + 1), np.uint8)
    body[:, 0] = 2
    np.subtract(raw[1:], raw[:-1], out=body[1:, 1:])
    if previous is None:
        body[0, 0] = 0  # the first row of the image: no row above, kept literal
        body[0, 1:] = raw[0]
    else:
        np.subtract(raw[0], previous, out=body[0, 1:])
    return body.tobytes(), raw[-1].copy()


def write_png(
    path: str | os.PathLike[str],
    strips: Iterable[np.ndarray],
    shape: tuple[int, ...],
    dtype: Any,
    *,
    chunks: Sequence[tuple[bytes, bytes]] = (),
    existing: Existing = "overwrite",
    on_open: Callable[[str], None] | None = None,
) -> bool:
    """Write a gray or RGB PNG (8 or 16 bits) from strips of rows as they come, atomically.

    Parameters
    ----------
    path : path-like
        Nothing appears under this name unless every strip was written.
    strips : iterable of numpy.ndarray
        Consecutive row strips adding up to ``shape``.
    shape : tuple of int
        ``(H, W)`` or ``(H, W, 3)``.
    dtype : uint8 or uint16
    chunks : sequence of (bytes, bytes)
        Chunks (kind, data) written before the pixels: the metadata kept
        (:func:`convcli.io.write.png_meta_chunks`).
    existing : {"overwrite", "refuse", "skip"}
        What to do when ``path`` exists, as :func:`~convcli.io.atomic.atomic_write`.
    on_open : callable, optional
        Called with the temporary file's name once it exists (so that a caller on another
        thread can remove it at once when it gives up).

    Returns
    -------
    bool
        True if ``path`` now holds the new file.

    Raises
    ------
    OutputError
        The file cannot be written.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from PIL import Image
    >>> rows = np.arange(24, dtype=np.uint8).reshape(4, 2, 3)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "a.png"
    ...     _ = write_png(path, [rows[:1], rows[1:]], rows.shape, np.uint8)
    ...     bool(np.array_equal(np.asarray(Image.open(path)), rows))
    True
    """

    def write(handle: BinaryIO) -> None:
        if on_open is not None:
            on_open(str(handle.name))
        meta = b"".join(_chunk(kind, data) for kind, data in chunks)
        handle.write(b"\x89PNG\r\n\x1a\n" + _header(shape, dtype) + meta)
        packer = zlib.compressobj(LEVEL)
        previous = None
        for strip in strips:
            body, previous = _filtered(np.asarray(strip, dtype=dtype), previous)
            data = packer.compress(body)
            if data:
                handle.write(_chunk(b"IDAT", data))
        handle.write(_chunk(b"IDAT", packer.flush()) + _chunk(b"IEND", b""))

    return atomic_write(path, write, existing=existing)
