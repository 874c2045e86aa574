"""TIFF written with tifffile: strips as they are produced, or a whole array.

:func:`write_tiff` writes strips from an iterator, so an image larger than memory can be
written; :func:`encode_tiff` encodes a whole array (16-bit colour and alpha, which Pillow
cannot write). Uncompressed, as libvips and ImageMagick write TIFF by default. tifffile is
imported when a TIFF is written (a run without one saves its import).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, BinaryIO

import numpy as np

from convcli.choices import Existing
from convcli.errors import OutputError, reason
from convcli.io.atomic import atomic_write, start_writeback

ROWS_PER_STRIP = 64
"""Rows per strip in the TIFF files convcli writes (a few MiB per strip at most)."""


_COMPRESSION = {None: None, "tiff_adobe_deflate": "adobe_deflate", "tiff_lzw": "lzw"}
"""Pillow's TIFF compression names -> tifffile's (LZW needs imagecodecs)."""


def _tiff_args(
    shape: tuple[int, ...], alpha: bool, save: Mapping[str, object] | None = None
) -> dict[str, Any]:
    """tifffile's ``write`` keywords; ``save`` holds Pillow's save keywords to honour
    (``compression``, ``icc_profile``, ``dpi``; see :func:`convcli.io.meta.save_arguments`)."""
    save = save or {}
    samples = 1 if len(shape) == 2 else shape[2]
    photometric = "minisblack" if samples - alpha == 1 else "rgb"
    extra = ("unassalpha",) if alpha else ()
    args: dict[str, Any] = {
        "photometric": photometric,
        "extrasamples": extra,
        "rowsperstrip": ROWS_PER_STRIP,
        "compression": _COMPRESSION[save.get("compression")],  # type: ignore[index]
        "metadata": None,
        "software": False,  # as Pillow writes: no Software tag
    }
    if isinstance(profile := save.get("icc_profile"), bytes):
        args["iccprofile"] = profile
    if isinstance(exif := save.get("exif"), bytes):
        args["extratags"] = exif_tags(exif)
    dpi = save.get("dpi")
    if isinstance(dpi, tuple):
        args["resolution"] = (float(dpi[0]), float(dpi[1]))
        args["resolutionunit"] = "INCH"
    return args


_TEXT_TAGS = (270, 271, 272, 305, 306, 315, 316, 33432)
"""ImageDescription, Make, Model, Software, DateTime, Artist, HostComputer, Copyright."""
_ORIENTATION = 0x0112


def exif_tags(exif: bytes) -> list[tuple[int, str, int, Any, bool]] | None:
    """The EXIF block's tags as tifffile ``extratags``; None if it holds more than the text
    tags and the orientation (EXIF or GPS sub-IFDs, which only Pillow writes here).

    Examples
    --------
    >>> from PIL import Image
    >>> tags = Image.Exif()
    >>> tags[305] = "me"
    >>> exif_tags(tags.tobytes())
    [(305, 's', 0, 'me', True)]
    """
    from PIL import Image

    tags = Image.Exif()
    tags.load(exif)
    if any(tag not in (*_TEXT_TAGS, _ORIENTATION) for tag in tags):
        return None
    extra: list[tuple[int, str, int, Any, bool]] = []
    for tag in sorted(tags):
        value = tags[tag]
        if tag == _ORIENTATION:
            extra.append((tag, "H", 1, int(value), True))
        elif isinstance(value, str):
            extra.append((tag, "s", 0, value, True))
        else:
            return None
    return extra


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
    save: Mapping[str, object] | None = None,
    existing: Existing = "overwrite",
    on_open: Callable[[str], None] | None = None,
) -> bool:
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
    save : mapping, optional
        Pillow's save keywords to honour: ``compression``, ``icc_profile``, ``dpi``.
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
        The file cannot be written (disk full, no permission).
    """
    import tifffile

    args = _tiff_args(shape, alpha, save)

    def write(handle: BinaryIO) -> None:
        if on_open is not None:
            on_open(str(handle.name))
        try:
            with tifffile.TiffWriter(handle, bigtiff=_needs_bigtiff(shape, dtype)) as tif:
                if args["compression"] is not None:
                    tif.write(_rechunk(strips), shape=shape, dtype=dtype, **args)
                    return
                # the header, with the pixels' place left empty; they come after it
                offset, size = tif.write(None, shape=shape, dtype=dtype, returnoffset=True,
                                         **args)  # fmt: skip
            _write_pixels(handle, offset, size, strips, np.dtype(dtype))
        except OSError as exc:
            if exc.errno is not None:
                raise
            msg = f"short write ({exc}); is the disk full?"  # tifffile's check of a write
            raise OSError(msg) from None

    return atomic_write(path, write, existing=existing)


def _write_pixels(
    handle: BinaryIO, offset: int, size: int, strips: Iterable[np.ndarray], dtype: np.dtype
) -> None:
    """The pixels of an uncompressed TIFF, strip after strip, where its header put them (one
    contiguous run, as tifffile lays it out: no copying into TIFF strips)."""
    handle.seek(offset)
    written = 0
    for strip in strips:
        data = np.ascontiguousarray(strip, dtype.newbyteorder("="))
        handle.write(data.reshape(-1).view(np.uint8).data)
        written += data.nbytes
        start_writeback(handle, offset + written)
    if written != size:
        msg = f"{written} bytes of pixels for a TIFF of {size}"
        raise ValueError(msg)


def _needs_bigtiff(shape: tuple[int, ...], dtype: Any) -> bool:
    return int(np.prod(shape)) * np.dtype(dtype).itemsize > 2**32 - 2**25


def encode_tiff(
    pixels: np.ndarray, alpha: np.ndarray | None = None, save: Mapping[str, object] | None = None
) -> bytes:
    """Encode a whole image (16-bit colour and alpha included) as TIFF bytes.

    ``save`` holds Pillow's save keywords to honour (compression, ICC profile, DPI).

    Examples
    --------
    >>> import numpy as np
    >>> import io, tifffile
    >>> data = encode_tiff(np.full((2, 2, 3), 65535, np.uint16))
    >>> tifffile.imread(io.BytesIO(data)).dtype.name
    'uint16'
    """
    import tifffile

    array = pixels if alpha is None else np.dstack([pixels, alpha.astype(pixels.dtype)])
    buffer = io.BytesIO()
    try:
        tifffile.imwrite(buffer, array, **_tiff_args(array.shape, alpha is not None, save))
    except (ValueError, OSError, ImportError, KeyError) as exc:  # a codec tifffile lacks
        msg = f"cannot encode {array.dtype} pixels as TIFF: {reason(exc)}"
        raise OutputError(msg) from None
    return buffer.getvalue()
