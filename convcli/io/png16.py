"""16-bit colour and gray+alpha PNGs at full precision (Pillow keeps only the high byte)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable

import numpy as np


def png16_planes(source: str | os.PathLike[str] | bytes, rawmode: str) -> tuple[np.ndarray, int]:
    """All bands as float32 (H, W, bands) 0..65535, and the EXIF orientation.

    Pillow's PNG decoder keeps only the high byte of 16-bit colour samples. Decoding
    the same data a second time with the little-endian raw mode yields the low bytes
    (16-bit LA lacks that raw mode; Pillow opens it as RGBA, so plain ``RGBA`` reads
    the four bytes of a pixel as they are).
    """
    if rawmode == "LA;16B":
        data, orientation = load_with(source, "RGBA")
        data = data.astype(np.uint16)
        planes = np.dstack([data[..., 0] << 8 | data[..., 1], data[..., 2] << 8 | data[..., 3]])
        return planes.astype(np.float32), orientation
    high, orientation = load_with(source, rawmode)
    low, _ = load_with(source, rawmode.replace(";16B", ";16L"))
    return (high.astype(np.uint16) << 8 | low).astype(np.float32), orientation


def load_with(source: str | os.PathLike[str] | bytes, rawmode: str) -> tuple[np.ndarray, int]:
    """Decode a PNG with another raw mode; also return its EXIF orientation."""
    from PIL import Image

    fp = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    with Image.open(fp) as im:
        im.tile = [im.tile[0]._replace(args=rawmode)]
        im.load()
        return np.asarray(im), int(im.getexif().get(0x0112, 1) or 1)


def orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an (H, W, ...) array, as exif_transpose does."""
    ops: dict[int, Callable[[np.ndarray], np.ndarray]] = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return array if op is None else np.ascontiguousarray(op(array))
