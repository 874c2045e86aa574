"""Pillow <-> float arrays: modes, EXIF orientation, bit depth, alpha, value mapping, writing.

Reading turns every image into float32 arrays on the image's *native* value scale
(0..255 for 8-bit, 0..65535 for 16-bit, as stored for float images), with alpha kept
apart. Writing maps a feature map back to pixel values (:func:`map_values`,
:func:`to_pixels`) and writes it atomically (:func:`atomic_write`), so a failed or
interrupted run never leaves a half-written file behind.

Mode conversions made by :func:`read_image`:

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
``F`` (32-bit float)    gray, float (``bit_depth`` 32, ``max_value`` 1.0)
======================  =============================================================

``color="gray"`` turns colour into ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B``,
computed in floating point on the native scale (not Pillow's rounded integer
``convert("L")``); alpha is kept separately either way.
"""

from __future__ import annotations

import functools
import io
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

import numpy as np

from convcli.choices import VALUE_MAPPINGS, ValueMapping
from convcli.errors import ImageError, OutputError

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = [
    "IMAGE_EXTENSIONS",
    "NO_ALPHA_FORMATS",
    "OUTPUT_FORMATS",
    "VALUE_MAPPINGS",
    "ColorMode",
    "LoadedImage",
    "MappingReport",
    "ValueMapping",
    "atomic_write",
    "encode_image",
    "format_for_path",
    "map_values",
    "read_header",
    "read_image",
    "supported_depths",
    "to_pixels",
    "write_image",
    "write_npy",
]

ColorMode = Literal["keep", "gray"]

#: Lowercase suffixes that folder scanning treats as images.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".ppm",
     ".pgm", ".pbm", ".pnm", ".tga", ".jp2", ".j2k"}
)  # fmt: skip

#: Output suffix -> Pillow format name.
OUTPUT_FORMATS: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}

#: Pixel depths each output format can hold (32 = float32, one channel).
_FORMAT_DEPTHS: dict[str, tuple[int, ...]] = {
    "PNG": (8, 16),
    "JPEG": (8,),
    "TIFF": (8, 16, 32),
    "WEBP": (8,),
    "BMP": (8,),
}

#: ITU-R BT.601 luma weights for R, G, B.
LUMA_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)

#: Formats that cannot carry alpha; write_image drops it there.
NO_ALPHA_FORMATS: frozenset[str] = frozenset({"JPEG", "BMP"})

_AUTO_ZERO_SUM = 1e-6
_DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own default for Image.MAX_IMAGE_PIXELS
_PIL_LIMIT_LOCK = threading.Lock()


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
    """

    pixels: np.ndarray
    alpha: np.ndarray | None
    max_value: float
    bit_depth: int
    mode: str
    source: str
    format: str | None
    color: Literal["gray", "rgb"]

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``pixels``."""
        return tuple(self.pixels.shape)

    @property
    def channels(self) -> int:
        """Colour channels in ``pixels`` (1 or 3), alpha not counted."""
        return 1 if self.pixels.ndim == 2 else int(self.pixels.shape[2])


@dataclass(frozen=True)
class MappingReport:
    """How a feature map was mapped to pixel values.

    Attributes
    ----------
    mapping : str
        The mapping that ran (never ``"auto"``).
    min, max : float
        The feature map's range before mapping.
    clipped : int
        How many values fell outside ``[0, max_value]`` and were clipped.
    clipped_share : float
        ``clipped`` as a share of all values, 0..1.
    """

    mapping: str
    min: float
    max: float
    clipped: int
    clipped_share: float


# --------------------------------------------------------------------------- reading


def _source_name(source: str | os.PathLike[str] | bytes) -> str:
    """Name of a source for messages."""
    return "<stdin>" if isinstance(source, bytes | bytearray) else os.fspath(source)


@contextmanager
def _pillow_limit_off() -> Iterator[None]:
    """Switch off Pillow's global decompression-bomb check; convcli checks itself."""
    from PIL import Image

    with _PIL_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


@contextmanager
def _open(source: str | os.PathLike[str] | bytes) -> Iterator[PILImage.Image]:
    """Open an image lazily (header only), turning every failure into ImageError."""
    from PIL import Image, UnidentifiedImageError

    name = _source_name(source)
    fp: str | os.PathLike[str] | BinaryIO
    fp = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        with _pillow_limit_off():
            im = Image.open(fp)
    except FileNotFoundError:
        msg = f"{name}: no such file"
        raise ImageError(msg) from None
    except IsADirectoryError:
        msg = f"{name}: is a directory, not an image file"
        raise ImageError(msg) from None
    except UnidentifiedImageError:
        msg = f"{name}: not an image Pillow can read (unknown or corrupt format)"
        raise ImageError(msg) from None
    except (OSError, ValueError, SyntaxError) as exc:
        msg = f"{name}: cannot read image: {_reason(exc)}"
        raise ImageError(msg) from None
    with im:
        yield im


def _reason(exc: BaseException) -> str:
    """One line of an exception's text (an OSError's reason without its file name)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextmanager
def _decoding(name: str) -> Iterator[None]:
    """Decode with Pillow's pixel limit off; a failure becomes ImageError naming the file."""
    try:
        with _pillow_limit_off():
            yield
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        msg = f"{name}: cannot decode image: {_reason(exc)}"
        raise ImageError(msg) from None


def _check_pixels(name: str, size: tuple[int, int], max_pixels: int | None) -> None:
    """Refuse images over the decompression-bomb limit, pointing at --max-pixels."""
    limit = _DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    width, height = size
    if width * height > limit:
        msg = (
            f"{name}: {width}x{height} = {width * height} pixels is over the limit of "
            f"{limit} pixels (a guard against decompression bombs); "
            f"pass --max-pixels {width * height} or more if you trust this file"
        )
        raise ImageError(msg)


def read_image(
    source: str | os.PathLike[str] | bytes,
    *,
    color: ColorMode = "keep",
    max_pixels: int | None = None,
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

    Returns
    -------
    LoadedImage
        Pixels, alpha and scale; EXIF orientation already applied.

    Raises
    ------
    ImageError
        Missing, unreadable, corrupt or too large (``--max-pixels``) files.

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
    name = _source_name(source)
    with _open(source) as im:
        _check_pixels(name, im.size, max_pixels)
        rawmode = _png16_rawmode(im)
        loaded = _decode(im, name) if rawmode is None else _decode_png16(source, rawmode, im)
    if color == "gray" and loaded.pixels.ndim == 3:
        return _replace_pixels(loaded, _luma(loaded.pixels), "gray")
    return loaded


def _decode(im: PILImage.Image, name: str) -> LoadedImage:
    """Load the pixels of an open image, EXIF orientation applied."""
    from PIL import ImageOps

    with _decoding(name):
        ImageOps.exif_transpose(im, in_place=True)  # not a copy of the upright image
        pixels, alpha, max_value, depth = _to_arrays(im)
    color: Literal["gray", "rgb"] = "gray" if pixels.ndim == 2 else "rgb"
    return LoadedImage(pixels, alpha, max_value, depth, im.mode, name, im.format, color)


def _png16_rawmode(im: PILImage.Image) -> str | None:
    """The raw mode of a 16-bit colour or gray+alpha PNG, which Pillow cuts to 8 bits."""
    tile = getattr(im, "tile", None) or []
    if im.format != "PNG" or len(tile) != 1:
        return None
    rawmode = tile[0].args
    if rawmode == "LA;16B" and im.mode != "RGBA":
        return None  # Pillow versions that open 16-bit LA as RGBA only
    return rawmode if rawmode in ("RGB;16B", "RGBA;16B", "LA;16B") else None


def _decode_png16(
    source: str | os.PathLike[str] | bytes, rawmode: str, im: PILImage.Image
) -> LoadedImage:
    """Read a 16-bit colour/LA PNG at full precision, EXIF orientation applied."""
    name = _source_name(source)
    with _decoding(name):
        planes, orientation = _png16_planes(source, rawmode)
    planes = _orient(planes, orientation)
    pixels = planes[..., 0] if rawmode == "LA;16B" else planes[..., :3]
    alpha = None if rawmode == "RGB;16B" else planes[..., -1]
    color: Literal["gray", "rgb"] = "gray" if pixels.ndim == 2 else "rgb"
    return LoadedImage(pixels, alpha, 65535.0, 16, im.mode, name, im.format, color)


def _png16_planes(source: str | os.PathLike[str] | bytes, rawmode: str) -> tuple[np.ndarray, int]:
    """All bands as float32 (H, W, bands) 0..65535, and the EXIF orientation.

    Pillow's PNG decoder keeps only the high byte of 16-bit colour samples. Decoding
    the same data a second time with the little-endian raw mode yields the low bytes
    (16-bit LA lacks that raw mode; Pillow opens it as RGBA, so plain ``RGBA`` reads
    the four bytes of a pixel as they are).
    """
    if rawmode == "LA;16B":
        data, orientation = _load_with(source, "RGBA")
        data = data.astype(np.uint16)
        planes = np.dstack([data[..., 0] << 8 | data[..., 1], data[..., 2] << 8 | data[..., 3]])
        return planes.astype(np.float32), orientation
    high, orientation = _load_with(source, rawmode)
    low, _ = _load_with(source, rawmode.replace(";16B", ";16L"))
    return (high.astype(np.uint16) << 8 | low).astype(np.float32), orientation


def _load_with(source: str | os.PathLike[str] | bytes, rawmode: str) -> tuple[np.ndarray, int]:
    """Decode a PNG with another raw mode; also return its EXIF orientation."""
    from PIL import Image

    fp = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    with Image.open(fp) as im:
        im.tile = [im.tile[0]._replace(args=rawmode)]
        im.load()
        return np.asarray(im), int(im.getexif().get(0x0112, 1) or 1)


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
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


def _target_mode(im: PILImage.Image) -> str:
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


def _palette_mode(im: PILImage.Image) -> str:
    """L/LA for an all-gray palette, RGB/RGBA otherwise."""
    has_alpha = im.mode == "PA" or "transparency" in im.info
    if _palette_is_gray(im):
        return "LA" if has_alpha else "L"
    return "RGBA" if has_alpha else "RGB"


def _palette_is_gray(im: PILImage.Image) -> bool:
    """Whether every palette entry has R == G == B, read from the header (no decoding)."""
    palette = im.palette
    layout = palette and (palette.rawmode or palette.mode)
    if palette is None or layout not in ("RGB", "RGBA"):
        return False
    entries = np.frombuffer(bytes(palette.palette), dtype=np.uint8)
    entries = entries[: entries.size // len(layout) * len(layout)].reshape(-1, len(layout))
    return entries.size > 0 and bool(np.all(entries[:, :3] == entries[:, :1]))


def _to_arrays(im: PILImage.Image) -> tuple[np.ndarray, np.ndarray | None, float, int]:
    """Pixels, alpha, max_value and bit depth of a Pillow image."""
    target = _target_mode(im)
    if target.startswith("I;16"):
        return np.asarray(im).astype(np.float32), None, 65535.0, 16
    if target == "I":
        return _int32_arrays(np.asarray(im))
    if target == "F":
        return np.asarray(im, dtype=np.float32), None, 1.0, 32
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


def _luma(pixels: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of an (H, W, 3) array, in float, on the same scale."""
    weights = np.asarray(LUMA_WEIGHTS, dtype=np.float64)
    return (pixels[..., :3].astype(np.float64) @ weights).astype(np.float32)


def _replace_pixels(
    loaded: LoadedImage, pixels: np.ndarray, color: Literal["gray", "rgb"]
) -> LoadedImage:
    """A copy of ``loaded`` with other pixels."""
    from dataclasses import replace

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
    with _open(source) as im:
        width, height = im.size
        channels = _header_channels(im)
        if _orientation(im) in (5, 6, 7, 8):
            width, height = height, width
    return height, width, channels


def _header_channels(im: PILImage.Image) -> int:
    """Colour channels read_image will deliver (alpha not counted)."""
    if _png16_rawmode(im) == "LA;16B":
        return 1
    gray = _target_mode(im) in ("L", "LA", "F") or im.mode.startswith("I")
    return 1 if gray else 3


def _orientation(im: PILImage.Image) -> int:
    """The EXIF orientation tag (1 when absent), read without decoding pixels."""
    if im.format == "PNG" and "exif" not in im.info:
        return 1  # PngImageFile.getexif() would decode the whole image to look further
    try:
        value = im.getexif().get(0x0112, 1)
    except (OSError, ValueError, SyntaxError):
        return 1
    return int(value) if isinstance(value, int) else 1


# --------------------------------------------------------------------------- mapping


def map_values(
    fmap: np.ndarray,
    mapping: ValueMapping | str,
    *,
    max_value: float,
    kernel_sum: float | None,
) -> tuple[np.ndarray, MappingReport]:
    """Map a feature map to ``[0, max_value]`` and report what happened.

    Parameters
    ----------
    fmap : numpy.ndarray
        The feature map (any shape), floating point.
    mapping : {"auto", "clip", "abs", "normalize", "offset", "raw"}
        ``clip``: clip to ``[0, max_value]``. ``abs``: ``|x|`` then clip.
        ``normalize``: min-max to the full range (a constant map gives zeros).
        ``offset``: ``x + max_value / 2`` then clip (mid-grey is zero).
        ``raw``: unchanged (only float outputs can hold it).
        ``auto``: ``abs`` when ``|kernel_sum| < 1e-6`` (edge detectors), else ``clip``;
        ``clip`` when ``kernel_sum`` is None.
    max_value : float
        The value of full intensity on the output scale (255.0, 65535.0, 1.0).
    kernel_sum : float or None
        Sum of the kernel's weights, used by ``auto``.

    Returns
    -------
    mapped : numpy.ndarray
        Floating point, same shape (float32 unless ``fmap`` is float64).
    report : MappingReport
        The mapping that ran, the range of ``fmap`` and how many values were clipped.

    Examples
    --------
    >>> import numpy as np
    >>> out, report = map_values(np.array([-10.0, 5.0, 300.0]), "auto",
    ...                          max_value=255.0, kernel_sum=0.0)
    >>> out.tolist(), report.mapping, report.clipped
    ([10.0, 5.0, 255.0], 'abs', 1)
    """
    resolved = _resolve_mapping(mapping, kernel_sum)
    values = _as_float(fmap)
    low, high = _range(values)
    if resolved == "clip" and 0 <= low and high <= max_value:
        mapped, clipped = values, 0  # already in range (blurs of 8-bit images): no pass
    else:
        mapped, clipped = _MAPPERS[resolved](values, float(max_value), low, high)
    share = clipped / values.size if values.size else 0.0
    return mapped, MappingReport(resolved, low, high, clipped, share)


def _resolve_mapping(mapping: str, kernel_sum: float | None) -> str:
    """Resolve ``auto`` and check the name."""
    if mapping not in VALUE_MAPPINGS:
        msg = f"value mapping {mapping!r} is not one of {', '.join(VALUE_MAPPINGS)}"
        raise ValueError(msg)
    if mapping != "auto":
        return mapping
    if kernel_sum is not None and abs(kernel_sum) < _AUTO_ZERO_SUM:
        return "abs"
    return "clip"


def _as_float(fmap: np.ndarray) -> np.ndarray:
    """float64 stays float64; everything else becomes float32."""
    array = np.asarray(fmap)
    return array if array.dtype == np.float64 else array.astype(np.float32)


def _range(values: np.ndarray) -> tuple[float, float]:
    """Min and max, (0, 0) for an empty array."""
    if values.size == 0:
        return 0.0, 0.0
    return float(values.min()), float(values.max())


def _clip(
    values: np.ndarray, max_value: float, low: float, high: float, *, in_place: bool = False
) -> tuple[np.ndarray, int]:
    """Clip to [0, max_value], counting the values that moved (in place on a scratch array).

    ``low`` and ``high`` are the range of ``values``: a side they show in range (not NaN)
    is not counted, saving a pass over the array.
    """
    top = values.dtype.type(max_value)
    below = 0 if low >= 0 else int(np.count_nonzero(values < 0))
    above = 0 if high <= max_value else int(np.count_nonzero(values > top))
    out = values if in_place else np.empty_like(values)
    return np.clip(values, values.dtype.type(0), top, out=out), below + above


def _abs(values: np.ndarray, max_value: float, low: float, high: float) -> tuple[np.ndarray, int]:
    """|x| then clip."""
    return _clip(np.abs(values), max_value, 0.0, max(abs(low), abs(high)), in_place=True)


def _offset(
    values: np.ndarray, max_value: float, low: float, high: float
) -> tuple[np.ndarray, int]:
    """x + max/2 then clip."""
    shift = max_value / 2
    shifted = values + values.dtype.type(shift)
    return _clip(shifted, max_value, low + shift, high + shift, in_place=True)


def _normalize(
    values: np.ndarray, max_value: float, low: float, high: float
) -> tuple[np.ndarray, int]:
    """Min-max to [0, max_value]; a constant map gives zeros."""
    if high - low <= 0 or not np.isfinite(high - low):
        return np.zeros_like(values), 0
    scaled = (values.astype(np.float64) - low) * (max_value / (high - low))
    return np.clip(scaled, 0, max_value).astype(values.dtype), 0


def _raw(values: np.ndarray, max_value: float, low: float, high: float) -> tuple[np.ndarray, int]:
    """Unchanged."""
    return values, 0


_MAPPERS: dict[str, Callable[[np.ndarray, float, float, float], tuple[np.ndarray, int]]] = {
    "clip": _clip,
    "abs": _abs,
    "normalize": _normalize,
    "offset": _offset,
    "raw": _raw,
}


def to_pixels(mapped: np.ndarray, depth: int, *, max_value: float | None = None) -> np.ndarray:
    """Round mapped values to unsigned integer pixels.

    Parameters
    ----------
    mapped : numpy.ndarray
        Values in ``[0, max_value]`` (from :func:`map_values`).
    depth : {8, 16}
        Output bit depth: uint8 or uint16.
    max_value : float, optional
        The scale of ``mapped``; when given and different from ``2**depth - 1``
        the values are rescaled (e.g. a 16-bit image written at 8 bits).
        By default ``mapped`` is taken to be on the output scale already.

    Returns
    -------
    numpy.ndarray
        uint8 or uint16, rounded to nearest and clipped to the depth's range.

    Examples
    --------
    >>> import numpy as np
    >>> to_pixels(np.array([0.4, 127.5, 300.0]), 8).tolist()
    [0, 128, 255]
    >>> to_pixels(np.array([65535.0, 32767.5]), 8, max_value=65535.0).tolist()
    [255, 128]
    """
    if depth not in (8, 16):
        msg = f"pixel depth must be 8 or 16, got {depth!r}"
        raise OutputError(msg)
    top = float(2**depth - 1)
    # float32 is exact for every 8- and 16-bit value and halves the memory of float64
    values = np.asarray(mapped, dtype=np.float32)
    if max_value is not None and max_value != top:
        values = values * np.float32(top / max_value)
    # floor(x + 0.5) rounds halves up, as image tools do (np.rint would go to even);
    # after the clip x + 0.5 > 0, where the integer cast truncates: that is the floor
    rounded = np.clip(values, np.float32(0), np.float32(top))
    rounded += np.float32(0.5)
    return rounded.astype(np.uint8 if depth == 8 else np.uint16)


# --------------------------------------------------------------------------- writing


def format_for_path(path: str | os.PathLike[str]) -> str:
    """The output format (Pillow name) for a file name, from its suffix.

    Raises
    ------
    OutputError
        For a suffix convcli cannot write, listing the valid ones.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        valid = ", ".join(sorted({*OUTPUT_FORMATS, ".npy"}))
        msg = f"{os.fspath(path)}: unknown output format {suffix or '(no suffix)'!r}; "
        msg += f"expected one of {valid}"
        raise OutputError(msg)
    return OUTPUT_FORMATS[suffix]


def supported_depths(format: str) -> tuple[int, ...]:
    """Bit depths a format holds: 8, 16, and 32 for a one-channel float32 TIFF."""
    return _FORMAT_DEPTHS.get(_canonical_format(format), ())


def _canonical_format(format: str) -> str:
    """Pillow's format name for a user's format word (``jpg`` -> ``JPEG``)."""
    word = format.upper().lstrip(".")
    aliases = {"JPG": "JPEG", "TIF": "TIFF"}
    name = aliases.get(word, word)
    if name not in _FORMAT_DEPTHS:
        valid = ", ".join(sorted(f.lower() for f in _FORMAT_DEPTHS))
        msg = f"unknown image format {format!r}; expected one of {valid}"
        raise OutputError(msg)
    return name


@functools.cache
def _new_file_mode() -> int:
    """The mode a plain ``open()`` would give a new file (mkstemp's is 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _check_parents(target: Path) -> None:
    """Name a file that stands where a folder of ``target``'s path should be."""
    for parent in reversed(target.parents):
        if parent.exists() and not parent.is_dir():
            msg = f"{target}: cannot write: {parent} is a file, not a folder"
            raise OutputError(msg)


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> None:
    """Write a file atomically: a temporary file in the same folder, then ``os.replace``.

    On any failure the temporary file is removed and ``path`` is left as it was.
    Missing parent folders are created.

    Parameters
    ----------
    path : path-like
        The file to create or replace.
    write : callable
        Called with the open binary temporary file; writes the content.

    Raises
    ------
    OutputError
        When the folder or file cannot be written.
    """
    target = Path(path)
    _check_parents(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        msg = f"{target}: cannot write: {_reason(exc)}"
        raise OutputError(msg) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.chmod(tmp, _new_file_mode())
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            msg = f"{target}: cannot write: {_reason(exc)}"
            raise OutputError(msg) from exc
        raise


def write_image(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    format: str | None = None,
) -> None:
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
        dropped there, silently; callers that care check ``format in ("JPEG", "BMP")``.
    format : str, optional
        ``png``, ``jpeg``, ``tiff``, ``webp`` or ``bmp``.

    Raises
    ------
    OutputError
        Unknown format, or pixels the format cannot hold (16-bit JPEG, colour float).
    """
    name = _canonical_format(format) if format else format_for_path(path)
    data = encode_image(pixels, alpha=alpha, format=name)

    def write(handle: BinaryIO) -> None:
        handle.write(data)

    atomic_write(path, write)


def encode_image(pixels: np.ndarray, *, alpha: np.ndarray | None = None, format: str) -> bytes:
    """Encode pixels (and alpha) to image bytes, e.g. for ``-o -``.

    See :func:`write_image` for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> encode_image(np.zeros((2, 2), np.uint8), format="png")[:4]
    b'\\x89PNG'
    """
    name = _canonical_format(format)
    array = np.asarray(pixels)
    depth = _depth_of(array)
    _check_depth(name, array, depth)
    alpha_px = None if alpha is None or name in NO_ALPHA_FORMATS else _alpha_like(alpha, array)
    if depth == 16 and (array.ndim == 3 or alpha_px is not None):
        if name != "PNG":
            msg = f"{name} output cannot hold 16-bit colour or alpha here; use .png or --depth 8"
            raise OutputError(msg)
        return _encode_png16(array, alpha_px)
    return _encode_pillow(array, alpha_px, name)


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


def _check_depth(name: str, array: np.ndarray, depth: int) -> None:
    """Refuse depths the format cannot hold."""
    if depth not in _FORMAT_DEPTHS[name]:
        kind = "float32" if depth == 32 else f"{depth}-bit"
        hint = "use .tif (one channel) or .npy" if depth == 32 else "use .png/.tif or --depth 8"
        msg = f"{name} output cannot hold {kind} pixels; {hint}"
        raise OutputError(msg)
    if depth == 32 and array.ndim == 3 and array.shape[2] != 1:
        msg = "float32 TIFF output holds one channel only; use .npy for colour raw values"
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


def _encode_pillow(pixels: np.ndarray, alpha: np.ndarray | None, name: str) -> bytes:
    """Encode 8-bit images, 16-bit gray and float32 gray with Pillow."""
    from PIL import Image

    array = pixels[..., 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels
    if alpha is not None:
        array = np.dstack([array, alpha])
    image = Image.fromarray(np.ascontiguousarray(array))
    if name == "WEBP" and image.mode == "LA":
        image = image.convert("RGBA")
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=name, **_SAVE_OPTIONS.get(name, {}))
    except (OSError, ValueError, KeyError) as exc:
        msg = f"cannot encode {image.mode} pixels as {name}: {_reason(exc)}"
        raise OutputError(msg) from None
    return buffer.getvalue()


_SAVE_OPTIONS: dict[str, dict[str, object]] = {
    "JPEG": {"quality": 95},
    "WEBP": {"quality": 95},
    # zlib level 3 writes photos ~2.7x faster than 6 for files ~8% larger
    "PNG": {"compress_level": 3},
    # uncompressed, as libvips and ImageMagick write TIFF by default (deflate is 12x slower)
    "TIFF": {"compression": None},
}


def _encode_png16(pixels: np.ndarray, alpha: np.ndarray | None) -> bytes:
    """A 16-bit PNG (gray+alpha, RGB or RGBA) written directly; Pillow cannot."""
    import struct
    import zlib

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
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def write_npy(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Save an array as ``.npy``, atomically (no pickles)."""
    values = np.asarray(array)

    def write(handle: BinaryIO) -> None:
        np.save(handle, values, allow_pickle=False)

    atomic_write(path, write)
