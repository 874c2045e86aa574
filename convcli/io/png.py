"""PNG written strip by strip as rows are produced: no whole image held, zlib off the GIL.

Each strip is a segment of the image data made on its own (:func:`png_segment`): its rows
filtered with PNG's "Up" filter (its first row unfiltered), deflated at zlib level 3 and
ended with a full flush, so it carries nothing over from the strip before. Segments can
then be made anywhere: on the writer thread, which compresses while the engine filters the
next strip (zlib releases the interpreter lock), or in the processes sharing an image's
strips (:mod:`convcli.pipeline.shared`); the file's bytes are the same. The writer joins
them into one zlib stream (its checksum combined from theirs) in a plain PNG (IHDR, IDATs,
IEND) that every reader accepts.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from convcli.choices import Existing
from convcli.io.atomic import atomic_write, start_writeback

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


def _filtered(strip: np.ndarray) -> bytes:
    """The strip's rows with filter "Up" (type 2), its first row unfiltered (type 0)."""
    rows = strip.astype(strip.dtype.newbyteorder(">"), copy=False).reshape(strip.shape[0], -1)
    raw = rows.view(np.uint8)
    body = np.empty((raw.shape[0], raw.shape[1] + 1), np.uint8)
    body[:, 0] = 2
    np.subtract(raw[1:], raw[:-1], out=body[1:, 1:])
    body[0, 0] = 0  # the segment's first row: its row above may be in another process
    body[0, 1:] = raw[0]
    return body.tobytes()


@dataclass(frozen=True)
class PngSegment:
    """Rows of a PNG's image data, filtered and deflated on their own (see the module)."""

    data: bytes  # raw deflate, ending on a full flush: byte-aligned, no history carried
    adler: int  # Adler-32 of the filtered bytes
    size: int  # filtered bytes


def png_segment(strip: np.ndarray) -> PngSegment:
    """One strip of rows (uint8 or uint16, as written) as a segment of a PNG's image data.

    Examples
    --------
    >>> import numpy as np, zlib
    >>> rows = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    >>> segment = png_segment(rows)
    >>> body = zlib.decompressobj(-15).decompress(segment.data)  # a stream not yet ended
    >>> body[0], body[7], list(body[8:])  # filter None, then Up: each value 6 above
    (0, 2, [6, 6, 6, 6, 6, 6])
    """
    body = _filtered(strip)
    packer = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    data = packer.compress(body) + packer.flush(zlib.Z_FULL_FLUSH)
    return PngSegment(data, zlib.adler32(body), len(body))


_ADLER_BASE = 65521


def adler_joined(first: int, second: int, second_size: int) -> int:
    """The Adler-32 of two byte strings joined, from theirs and the second's length.

    Adler-32 is ``A + 65536 * B`` with ``A = 1 + sum(bytes)`` and ``B`` the sum of ``A``
    after each byte (mod 65521); after the first string, the second's running ``A`` values
    are all raised by ``A1 - 1``.

    Examples
    --------
    >>> import zlib
    >>> adler_joined(zlib.adler32(b"strip "), zlib.adler32(b"by strip"), 8) == zlib.adler32(
    ...     b"strip by strip")
    True
    """
    a1, b1 = first & 0xFFFF, first >> 16
    a2, b2 = second & 0xFFFF, second >> 16
    a = (a1 + a2 - 1) % _ADLER_BASE
    b = (b1 + b2 + second_size * (a1 - 1)) % _ADLER_BASE
    return a | (b << 16)


def write_png(
    path: str | os.PathLike[str],
    strips: Iterable[np.ndarray | PngSegment],
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
    strips : iterable of numpy.ndarray or PngSegment
        Consecutive row strips adding up to ``shape``, as pixels or already made into
        segments (:func:`png_segment`).
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
        head = zlib.compress(b"", LEVEL)[:2]  # the zlib stream's header, as zlib writes it
        handle.write(b"\x89PNG\r\n\x1a\n" + _header(shape, dtype) + meta)
        adler = zlib.adler32(b"")
        for strip in strips:
            segment = strip if isinstance(strip, PngSegment) else png_segment(
                np.asarray(strip, dtype=dtype))  # fmt: skip
            handle.write(_chunk(b"IDAT", head + segment.data))
            start_writeback(handle, handle.tell())
            adler, head = adler_joined(adler, segment.adler, segment.size), b""
        end = zlib.compressobj(LEVEL, zlib.DEFLATED, -15).flush()  # an empty last block
        tail = head + end + struct.pack(">I", adler)
        handle.write(_chunk(b"IDAT", tail) + _chunk(b"IEND", b""))

    return atomic_write(path, write, existing=existing)
