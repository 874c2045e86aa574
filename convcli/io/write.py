"""Writing pixels (and alpha) as image files and ``.npy`` arrays, atomically.

Which format holds which depth and alpha is :mod:`convcli.io.formats`' table.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from typing import BinaryIO

import numpy as np

from convcli.choices import Existing
from convcli.errors import OutputError, reason
from convcli.io.atomic import atomic_write, write_bytes
from convcli.io.formats import Format, format_for_path, format_named
from convcli.io.meta import SaveOptions, save_arguments
from convcli.io.tiff_write import encode_tiff


def write_image(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    format: str | None = None,
    options: SaveOptions | None = None,
    existing: Existing = "overwrite",
) -> bool:
    """Write pixels (and alpha) as an image file, atomically.

    Parameters
    ----------
    path : path-like
        Output file; its suffix picks the format unless ``format`` is given.
    pixels : numpy.ndarray
        uint8 or uint16 ``(H, W)`` / ``(H, W, 3)``, or float32 ``(H, W)`` (TIFF only).
    alpha : numpy.ndarray, optional
        ``(H, W)`` on the output scale; float alpha is rounded to ``pixels``' dtype.
        JPEG and BMP cannot hold alpha (Pillow reads 32-bit BMPs as RGB): it is
        dropped there, silently; callers that care check :attr:`Format.alpha`.
    format : str, optional
        ``png``, ``jpeg``, ``tiff``, ``webp``, ``gif`` or ``bmp``.
    options : SaveOptions, optional
        Metadata to keep (what the format holds of it), quality, lossless, compression.
    existing : {"overwrite", "refuse", "skip"}
        If ``path`` exists: replace it, raise, or keep it (see :func:`atomic_write`).

    Returns
    -------
    bool
        False if an existing file was kept.

    Raises
    ------
    OutputError
        Unknown format, or pixels the format cannot hold (16-bit JPEG, colour float).
    """
    fmt = format_named(format) if format else format_for_path(path)
    data = encode_image(pixels, alpha=alpha, format=fmt, options=options)
    return write_bytes(path, data, existing=existing)


def encode_image(
    pixels: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    format: str | Format,
    options: SaveOptions | None = None,
) -> bytes:
    """Encode pixels (and alpha) to image bytes, e.g. for ``-o -``.

    See :func:`write_image` for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> encode_image(np.zeros((2, 2), np.uint8), format="png")[:4]
    b'\\x89PNG'
    """
    fmt = format if isinstance(format, Format) else format_named(format)
    if fmt.pillow is None:
        msg = f"{fmt.name} is not an image format; write arrays with write_npy"
        raise OutputError(msg)
    name = fmt.pillow
    array = np.asarray(pixels)
    depth = _depth_of(array)
    _check_depth(fmt, array, depth)
    alpha_px = None if alpha is None or not fmt.alpha else _alpha_like(alpha, array)
    color = "gray" if array.ndim == 2 or array.shape[2] == 1 else "rgb"
    args = save_arguments(name, options or SaveOptions(), color)
    if depth == 32 and array.ndim == 3 and array.shape[2] == 3:
        return encode_tiff(array, None, args)  # float colour: Pillow cannot
    if depth == 16 and (array.ndim == 3 or alpha_px is not None):
        if not fmt.deep_colour:
            msg = f"{name} output cannot hold 16-bit colour or alpha here; use .png or --depth 8"
            raise OutputError(msg)
        if fmt.name == "tiff":
            return encode_tiff(array, alpha_px, args)
        return _encode_png16(array, alpha_px, args)
    return _encode_pillow(array, alpha_px, name, args)


def _depth_of(array: np.ndarray) -> int:
    """8, 16 or 32 from the dtype; OutputError for anything else."""
    depths = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16, np.dtype(np.float32): 32}
    if array.dtype not in depths or array.ndim not in (2, 3):
        msg = (
            f"cannot write an array of dtype {array.dtype} and shape {array.shape} as an "
            "image; expected uint8, uint16 or float32 with shape (H, W) or (H, W, 3)"
        )
        raise OutputError(msg)
    if array.ndim == 3 and array.shape[2] not in (1, 3):
        msg = f"cannot write an image with {array.shape[2]} channels; expected 1 or 3"
        raise OutputError(msg)
    return depths[array.dtype]


def _check_depth(fmt: Format, array: np.ndarray, depth: int) -> None:
    """Refuse depths the format cannot hold."""
    name = fmt.pillow or fmt.name
    if depth not in fmt.depths:
        kind = "float32" if depth == 32 else f"{depth}-bit"
        hint = "use .tif or .npy" if depth == 32 else "use .png/.tif or --depth 8"
        msg = f"{name} output cannot hold {kind} pixels; {hint}"
        raise OutputError(msg)


def _alpha_like(alpha: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Alpha in the dtype of ``pixels`` (float alpha rounded and clipped)."""
    values = np.asarray(alpha)
    if values.shape != pixels.shape[:2]:
        msg = f"alpha has shape {values.shape}; expected {pixels.shape[:2]} to match the pixels"
        raise OutputError(msg)
    if pixels.dtype == np.float32:
        msg = "float32 TIFF output cannot carry alpha; drop it or write .npy"
        raise OutputError(msg)
    if values.dtype == pixels.dtype:
        return values
    top = np.iinfo(pixels.dtype).max
    return np.floor(np.clip(values.astype(np.float64), 0, top) + 0.5).astype(pixels.dtype)


def _encode_pillow(
    pixels: np.ndarray, alpha: np.ndarray | None, name: str, args: dict[str, object]
) -> bytes:
    """Encode 8-bit images, 16-bit gray and float32 gray with Pillow."""
    array = pixels[..., 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels
    if alpha is not None:
        array = np.dstack([array, alpha])
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(array))
    if name == "WEBP" and image.mode == "LA":
        image = image.convert("RGBA")
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=name, **args)
    except (OSError, ValueError, KeyError) as exc:
        msg = f"cannot encode {image.mode} pixels as {name}: {reason(exc)}"
        raise OutputError(msg) from None
    return buffer.getvalue()


def _encode_png16(pixels: np.ndarray, alpha: np.ndarray | None, args: dict[str, object]) -> bytes:
    """A 16-bit PNG (gray+alpha, RGB or RGBA) written directly; Pillow cannot."""
    planes = pixels if pixels.ndim == 3 else pixels[..., np.newaxis]
    if alpha is not None:
        planes = np.dstack([planes, alpha])
    height, width, bands = planes.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[bands]
    rows = planes.astype(">u2").reshape(height, width * bands).view(np.uint8)
    filtered = rows.copy()
    filtered[1:] -= rows[:-1]  # PNG filter "Up": compresses photos well, vectorises
    body = np.hstack([np.full((height, 1), 2 if height > 1 else 0, np.uint8), filtered])
    body[0, 0] = 0  # the first row has no row above; type 0 keeps it literal

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    idat = zlib.compress(body.tobytes(), 3)
    meta = b"".join(chunk(kind, data) for kind, data in png_meta_chunks(args))
    chunks = chunk(b"IHDR", header) + meta + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def png_meta_chunks(args: dict[str, object]) -> list[tuple[bytes, bytes]]:
    """The iCCP, pHYs and eXIf chunks for the metadata in Pillow's save keywords."""
    chunks = []
    profile = args.get("icc_profile")
    if isinstance(profile, bytes):
        chunks.append((b"iCCP", b"ICC Profile\0\0" + zlib.compress(profile)))
    dpi = args.get("dpi")
    if isinstance(dpi, tuple):
        per_metre = [round(float(d) / 0.0254) for d in dpi]
        chunks.append((b"pHYs", struct.pack(">IIB", *per_metre, 1)))
    exif = args.get("exif")
    if isinstance(exif, bytes):
        chunks.append((b"eXIf", exif.removeprefix(b"Exif\0\0")))
    return chunks


def write_npy(
    path: str | os.PathLike[str], array: np.ndarray, *, existing: Existing = "overwrite"
) -> bool:
    """Save an array as ``.npy``, atomically (no pickles); ``existing`` as :func:`write_image`."""
    values = np.asarray(array)

    def write(handle: BinaryIO) -> None:
        np.save(handle, values, allow_pickle=False)

    return atomic_write(path, write, existing=existing)
