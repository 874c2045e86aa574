"""Reading images with Pillow into float32 arrays on their native scale, alpha apart.

Values stay as stored: 0..255 for 8-bit, 0..65535 for 16-bit, as stored for float
images. EXIF orientation is applied. Mode conversions made by :func:`read_image`:

======================  =============================================================
Pillow mode             what comes out
======================  =============================================================
``L``                   gray, 8-bit
``LA`` / ``La``         gray + alpha, 8-bit
``1``                   gray, 8-bit, values 0 and 255
``P`` / ``PA``          RGB (RGBA when the palette has transparency); gray (+ alpha)
                        when every palette entry is gray
``RGB`` / ``RGBX``      RGB, 8-bit
``RGBA`` / ``RGBa``     RGB + alpha, 8-bit
``CMYK``, ``YCbCr``,    RGB, 8-bit (Pillow's conversion)
``LAB``, ``HSV``
``I;16`` (any order)    gray, 16-bit (``max_value`` 65535)
``I`` (32-bit int)      gray, 16-bit when every value is in 0..65535; otherwise float
                        (``bit_depth`` 32) with ``max_value`` the largest absolute value
``F`` (32-bit float)    gray, float (``bit_depth`` 32); ``max_value`` 1, 255 or 65535,
                        the first that holds every value, else the largest ``|value|``
``.npy`` file           its array: ``(H, W)``, ``(H, W, 3)``, alpha last in
                        ``(H, W, 2|4)``; uint8 8-bit, uint16 16-bit, others float
======================  =============================================================

``color="gray"`` turns colour into ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B``,
computed in floating point on the native scale (not Pillow's rounded integer
``convert("L")``); alpha is kept separately either way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np

from convcli.errors import ImageError
from convcli.io import tiff
from convcli.io.arrays import float_white_level, npy_pixels, open_npy
from convcli.io.meta import ImageMeta, read_meta
from convcli.io.pillow import DAMAGED, check_pixels, decoding, open_image, source_name
from convcli.io.png16 import orient, png16_planes

if TYPE_CHECKING:
    from PIL import Image

ColorMode = Literal["keep", "gray"]

LUMA_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)
"""ITU-R BT.601 luma weights for R, G, B."""


@dataclass(frozen=True)
class LoadedImage:
    """An image as float32 arrays on its native value scale.

    Attributes
    ----------
    pixels : numpy.ndarray
        float32, ``(H, W)`` for gray or ``(H, W, 3)`` for colour.
    alpha : numpy.ndarray or None
        float32 ``(H, W)`` on the same scale as ``pixels``, or None.
    max_value : float
        The value of full intensity: 255.0, 65535.0, 1.0 for float images.
    bit_depth : int
        8, 16 or 32 (float or 32-bit integer data).
    mode : str
        The Pillow mode of the file as stored.
    source : str
        The file name, or ``"<stdin>"`` for bytes.
    format : str or None
        The Pillow format name (``"PNG"``, ``"JPEG"`` ...).
    color : {"gray", "rgb"}
        What ``pixels`` holds.
    frames : int
        Frames or pages in the file.
    frame : int
        The frame ``pixels`` holds, counted from 0.
    meta : ImageMeta
        ICC profile, EXIF (orientation reset to 1) and DPI, for outputs to keep.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None
    max_value: float
    bit_depth: int
    mode: str
    source: str
    format: str | None
    color: Literal["gray", "rgb"]
    frames: int = 1
    frame: int = 0
    meta: ImageMeta = field(default_factory=ImageMeta)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``pixels``."""
        return tuple(self.pixels.shape)

    @property
    def channels(self) -> int:
        """Colour channels in ``pixels`` (1 or 3), alpha not counted."""
        return 1 if self.pixels.ndim == 2 else int(self.pixels.shape[2])


def read_image(
    source: str | os.PathLike[str] | bytes,
    *,
    color: ColorMode = "keep",
    max_pixels: int | None = None,
    frame: int = 0,
) -> LoadedImage:
    """Read an image file (or its bytes) into float32 arrays on its native scale.

    Parameters
    ----------
    source : str, path-like or bytes
        A file name, or the encoded bytes of an image (e.g. read from stdin).
    color : {"keep", "gray"}
        ``"gray"`` turns colour into ITU-R BT.601 luma, in floating point.
    max_pixels : int, optional
        Largest width x height accepted (default 89,478,485, Pillow's default);
        a guard against decompression bombs.
    frame : int
        The frame (or page) of an animated or multi-page file to read, from 0.

    Returns
    -------
    LoadedImage
        Pixels, alpha and scale; EXIF orientation already applied.

    Raises
    ------
    ImageError
        Missing, unreadable, corrupt or too large (``--max-pixels``) files; a frame
        the file does not have.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO()
    >>> Image.new("RGB", (4, 2), (255, 0, 0)).save(buf, format="PNG")
    >>> img = read_image(buf.getvalue(), color="gray")
    >>> img.pixels.shape, round(float(img.pixels[0, 0]), 3), img.max_value
    ((2, 4), 76.245, 255.0)
    """
    if color not in ("keep", "gray"):
        msg = f"color must be 'keep' or 'gray', got {color!r}"
        raise ValueError(msg)
    name = source_name(source)
    if not isinstance(source, bytes | bytearray) and str(source).lower().endswith(".npy"):
        if frame:
            msg = f"{name}: has no frame {frame}; a .npy image has one frame, 0"
            raise ImageError(msg)
        loaded = _read_npy(source, name, max_pixels)
    else:
        floats = tiff.float_colour_tiff(source)
        if floats is None:
            loaded = _read_pillow(source, name, max_pixels, frame)
        else:
            loaded = _read_float_tiff(source, name, floats, max_pixels, frame)
    if color == "gray" and loaded.pixels.ndim == 3:
        return _replace_pixels(loaded, luma(loaded.pixels), "gray")
    return loaded


def _read_npy(source: str | os.PathLike[str], name: str, max_pixels: int | None) -> LoadedImage:
    """A ``.npy`` image: its values as they are (see :mod:`convcli.io.arrays`)."""
    array = open_npy(source)
    check_pixels(name, (int(array.shape[1]), int(array.shape[0])), max_pixels)
    pixels, alpha, white, depth = npy_pixels(array, name)
    color: Literal["gray", "rgb"] = "gray" if pixels.ndim == 2 else "rgb"
    return LoadedImage(pixels, alpha, white, depth, f"npy {array.dtype}", name, "NPY", color)


def _read_pillow(
    source: str | os.PathLike[str] | bytes, name: str, max_pixels: int | None, frame: int
) -> LoadedImage:
    """One frame of an image Pillow reads, with the frame count and the metadata."""
    with open_image(source) as im:
        with decoding(name):  # counting the frames reads every frame's header
            frames = int(getattr(im, "n_frames", 1))
        if not 0 <= frame < frames:
            msg = f"{name}: has no frame {frame}; its frames are 0..{frames - 1}"
            raise ImageError(msg)
        with decoding(name):
            im.seek(frame)
        check_pixels(name, im.size, max_pixels)
        # 16-bit colour TIFF through tifffile: Pillow cuts it to 8 bits
        deep = read_deep_tiff(source, max_pixels) if frames == 1 and im.format == "TIFF" else None
        rawmode = png16_rawmode(im) if frame == 0 else None
        if deep is not None:
            loaded = deep
        elif rawmode is None:
            loaded = decode_image(im, name)
        else:
            loaded = _decode_png16(source, rawmode, im)
        with decoding(name):
            meta = read_meta(im, loaded.color)
        return replace(loaded, frames=frames, frame=frame, meta=meta)


def _read_float_tiff(
    source: str | os.PathLike[str] | bytes,
    name: str,
    layout: tiff.TiffLayout,
    max_pixels: int | None,
    frame: int,
) -> LoadedImage:
    """A float colour TIFF (Pillow cannot open one) through tifffile: values as they are."""
    if frame:
        msg = f"{name}: has no frame {frame}; its frames are 0..0"
        raise ImageError(msg)
    check_pixels(name, (layout.width, layout.height), max_pixels)
    planes = tiff.read_tiff_rows(source, 0, layout.height)
    pixels, alpha, white, _ = npy_pixels(planes, name)
    icc, dpi = tiff.tiff_tags(source)
    meta = ImageMeta(icc_profile=icc, dpi=dpi, color="rgb")
    return LoadedImage(pixels, alpha, white, 32, layout.mode, name, "TIFF", "rgb", meta=meta)


def read_deep_tiff(
    source: str | os.PathLike[str] | bytes, max_pixels: int | None
) -> LoadedImage | None:
    """A TIFF of 16-bit colour through tifffile (all 16 bits); None for any other file."""
    layout = tiff.probe(source) if tiff.is_tiff(source) else None
    if layout is None or layout.color != "rgb" or layout.bit_depth != 16:
        return None
    name = source_name(source)
    check_pixels(name, (layout.width, layout.height), max_pixels)
    planes = tiff.read_tiff_rows(source, 0, layout.height).astype(np.float32)
    alpha = planes[..., 3] if layout.alpha else None
    pixels = np.ascontiguousarray(planes[..., :3]) if layout.alpha else planes
    return LoadedImage(pixels, alpha, 65535.0, 16, layout.mode, name, "TIFF", "rgb")


def decode_image(im: Image.Image, name: str) -> LoadedImage:
    """Load the pixels of an open image, EXIF orientation applied."""
    from PIL import ImageOps

    with decoding(name):
        ImageOps.exif_transpose(im, in_place=True)  # not a copy of the upright image
        pixels, alpha, max_value, depth = _to_arrays(im)
    color: Literal["gray", "rgb"] = "gray" if pixels.ndim == 2 else "rgb"
    return LoadedImage(pixels, alpha, max_value, depth, im.mode, name, im.format, color)


def png16_rawmode(im: Image.Image) -> str | None:
    """The raw mode of a 16-bit colour or gray+alpha PNG, which Pillow cuts to 8 bits."""
    tile = getattr(im, "tile", None) or []
    if im.format != "PNG" or len(tile) != 1:
        return None
    rawmode = tile[0].args
    if rawmode == "LA;16B" and im.mode != "RGBA":
        return None  # Pillow versions that open 16-bit LA as RGBA only
    return rawmode if rawmode in ("RGB;16B", "RGBA;16B", "LA;16B") else None


def _decode_png16(
    source: str | os.PathLike[str] | bytes, rawmode: str, im: Image.Image
) -> LoadedImage:
    """Read a 16-bit colour/LA PNG at full precision, EXIF orientation applied."""
    name = source_name(source)
    with decoding(name):
        planes, orientation = png16_planes(source, rawmode)
    planes = orient(planes, orientation)
    pixels = planes[..., 0] if rawmode == "LA;16B" else planes[..., :3]
    alpha = None if rawmode == "RGB;16B" else planes[..., -1]
    color: Literal["gray", "rgb"] = "gray" if pixels.ndim == 2 else "rgb"
    return LoadedImage(pixels, alpha, 65535.0, 16, im.mode, name, im.format, color)


def target_mode(im: Image.Image) -> str:
    """The 8-bit mode an image converts to, or its own mode for 16-bit/int/float data."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA") or mode.startswith("I") or mode == "F":
        return mode
    if mode == "1":
        return "L"
    if mode == "La":
        return "LA"
    if mode in ("P", "PA"):
        return _palette_mode(im)
    if mode == "RGBa":
        return "RGBA"
    return "RGB"


def _palette_mode(im: Image.Image) -> str:
    """L/LA for an all-gray palette, RGB/RGBA otherwise."""
    has_alpha = im.mode == "PA" or "transparency" in im.info
    if _palette_is_gray(im):
        return "LA" if has_alpha else "L"
    return "RGBA" if has_alpha else "RGB"


def _palette_is_gray(im: Image.Image) -> bool:
    """Whether every palette entry has R == G == B, read from the header (no decoding)."""
    palette = im.palette
    layout = palette and (palette.rawmode or palette.mode)
    if palette is None or layout not in ("RGB", "RGBA"):
        return False
    entries = np.frombuffer(bytes(palette.palette), dtype=np.uint8)
    entries = entries[: entries.size // len(layout) * len(layout)].reshape(-1, len(layout))
    return entries.size > 0 and bool(np.all(entries[:, :3] == entries[:, :1]))


def _to_arrays(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None, float, int]:
    """Pixels, alpha, max_value and bit depth of a Pillow image."""
    target = target_mode(im)
    if target.startswith("I;16"):
        return np.asarray(im).astype(np.float32), None, 65535.0, 16
    if target == "I":
        return _int32_arrays(np.asarray(im))
    if target == "F":
        values = np.asarray(im, dtype=np.float32)
        return values, None, float_white_level(values), 32
    converted = im if im.mode == target else im.convert(target)
    array = np.asarray(converted).astype(np.float32)
    if target == "LA":
        return array[..., 0], array[..., 1], 255.0, 8
    if target == "RGBA":
        return array[..., :3], array[..., 3], 255.0, 8
    return array, None, 255.0, 8


def _int32_arrays(array: np.ndarray) -> tuple[np.ndarray, None, float, int]:
    """32-bit integer data: 16-bit when it fits in 0..65535, float otherwise."""
    if array.size == 0 or (array.min() >= 0 and array.max() <= 65535):
        return array.astype(np.float32), None, 65535.0, 16
    peak = float(np.abs(array.astype(np.float64)).max())
    return array.astype(np.float32), None, peak or 1.0, 32


def luma(pixels: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of an (H, W, 3) array, in float, on the same scale."""
    weights = np.asarray(LUMA_WEIGHTS, dtype=np.float64)
    return (pixels[..., :3].astype(np.float64) @ weights).astype(np.float32)


def _replace_pixels(
    loaded: LoadedImage, pixels: np.ndarray, color: Literal["gray", "rgb"]
) -> LoadedImage:
    """A copy of ``loaded`` with other pixels."""
    return replace(loaded, pixels=pixels, color=color)


def read_header(source: str | os.PathLike[str] | bytes) -> tuple[int, int, int]:
    """Shape of an image ``(H, W, C)`` from its header, without decoding the pixels.

    ``C`` counts colour channels only (1 for gray, 3 for colour), as
    :func:`read_image` with ``color="keep"`` returns them; alpha is not counted.
    EXIF orientations 5-8 (quarter turns) swap ``H`` and ``W``.

    Parameters
    ----------
    source : str, path-like or bytes
        A file name or the encoded bytes of an image.

    Returns
    -------
    tuple of int
        ``(height, width, channels)`` as :func:`read_image` would deliver them.

    Raises
    ------
    ImageError
        Missing, unreadable or unidentified files.
    """
    with open_image(source) as im:
        width, height = im.size
        channels = _header_channels(im)
        if _orientation(im) in (5, 6, 7, 8):
            width, height = height, width
    return height, width, channels


def _header_channels(im: Image.Image) -> int:
    """Colour channels read_image will deliver (alpha not counted)."""
    if png16_rawmode(im) == "LA;16B":
        return 1
    gray = target_mode(im) in ("L", "LA", "F") or im.mode.startswith("I")
    return 1 if gray else 3


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation tag (1 when absent), read without decoding pixels."""
    if im.format == "PNG" and "exif" not in im.info:
        return 1  # PngImageFile.getexif() would decode the whole image to look further
    try:
        value = im.getexif().get(0x0112, 1)
    except DAMAGED:
        return 1
    return int(value) if isinstance(value, int) else 1
