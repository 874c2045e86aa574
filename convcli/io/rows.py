"""Images as stored (integers stay integers), read a range of rows at a time.

:func:`open_rows` gives a :class:`RowImage` for the images the strip pipeline streams:
a TIFF that :mod:`convcli.io.tiff` reads is decoded strip by strip as rows are asked
for; any other format Pillow decodes to 8-bit gray or RGB (or 16-bit gray) is decoded
once, as integers, with no float copy. When the caller takes alpha, 8-bit gray or RGB with
alpha, and a TIFF's straight alpha, come too (rows carry it as their last sample).
Everything else (a TIFF's premultiplied alpha, 16-bit colour PNG, 32-bit integer or float
data from Pillow) returns None: the whole-image path reads it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from convcli.errors import ImageError
from convcli.io.meta import ImageMeta, read_meta
from convcli.io.pillow import DEFAULT_MAX_PIXELS, check_pixels, decoding, open_image
from convcli.io.read import png16_rawmode, target_mode
from convcli.io.tiff import TiffLayout, TiffRows, is_tiff, probe

Source = str | os.PathLike[str] | bytes


@dataclass
class RowImage:
    """An image whose colour rows are read on demand, as stored.

    Attributes
    ----------
    name : str
        For messages.
    shape : tuple of int
        ``(H, W)`` or ``(H, W, 3)``: colour samples only.
    max_value : float
        Full intensity: 255, 65535, or 1.0 for float data.
    bit_depth : int
        8, 16 or 32 (float).
    mode : str
        The mode word the summary shows (``RGB``, ``I;16``, ``RGB;16``).
    streamed : bool
        Whether rows are decoded as they are read (a TIFF), not held decoded.
    frames : int
        Frames (pages) in the file; only the first is read.
    meta : ImageMeta
        What the whole-image path keeps of the file (ICC, EXIF, DPI), read by Pillow.
    upright : bool
        Whether the rows are upright as read (False: a TIFF whose EXIF orientation is not 1).
    alpha : bool
        Whether rows carry alpha as their last sample (after the colour of ``shape``).
    """

    name: str
    shape: tuple[int, ...]
    max_value: float
    bit_depth: int
    mode: str
    streamed: bool
    _read: Callable[[int, int], np.ndarray] = field(repr=False)
    _close: Callable[[], None] = field(repr=False, default=lambda: None)
    frames: int = 1
    meta: ImageMeta = field(default_factory=ImageMeta)
    upright: bool = True
    alpha: bool = False
    _alpha_low: Callable[[], float] = field(repr=False, default=lambda: 0.0)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as stored (uint8, uint16, float32 or float64), alpha last
        when :attr:`alpha`."""
        return self._read(start, stop)

    def lowest_alpha(self) -> float:
        """The lowest alpha of the image (:attr:`max_value` where every pixel is opaque)."""
        return self._alpha_low() if self.alpha else self.max_value

    def rows(self, held: np.ndarray) -> np.ndarray:
        """The rows numbered ``held`` (ascending), reading each run of consecutive rows once."""
        if held.size and int(held[-1]) - int(held[0]) == held.size - 1:
            return self._read(int(held[0]), int(held[-1]) + 1)
        breaks = np.flatnonzero(np.diff(held) > 1) + 1
        runs = np.split(held, breaks)
        return np.concatenate([self._read(int(r[0]), int(r[-1]) + 1) for r in runs])

    def close(self) -> None:
        """Release the file."""
        self._close()


def colour_and_alpha(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Colour and alpha of rows whose last sample is alpha (:attr:`RowImage.alpha`): two
    samples are gray + alpha, four RGB + alpha. Views, not copies.

    Examples
    --------
    >>> import numpy as np
    >>> [a.shape for a in colour_and_alpha(np.zeros((2, 5, 2)))]
    [(2, 5), (2, 5)]
    >>> [a.shape for a in colour_and_alpha(np.zeros((2, 5, 4)))]
    [(2, 5, 3), (2, 5)]
    """
    colour = samples[..., 0] if samples.shape[-1] == 2 else samples[..., :-1]
    return colour, samples[..., -1]


def open_rows(
    source: Source, *, max_pixels: int | None, drop_alpha: bool, keep_alpha: bool = False
) -> RowImage | None:
    """Open ``source`` for the strip pipeline, or None for the whole-image path.

    Parameters
    ----------
    source : str, path-like or bytes
        An image file or its bytes.
    max_pixels : int or None
        The ``--max-pixels`` guard (None: the default).
    drop_alpha : bool
        Whether alpha is not wanted (``--alpha drop``): images with alpha stream then.
    keep_alpha : bool
        Whether the caller takes rows with alpha (:attr:`RowImage.alpha`): 8-bit gray or
        RGB with alpha that Pillow decodes stream then too.

    A TIFF is opened, not decoded: the caller checks the pixels it will hold at once
    with :func:`check_held` (the guard for a streamed file), the others are checked here.

    Raises
    ------
    ImageError
        As :func:`convcli.io.read_image`.
    """
    layout = probe(source) if is_tiff(source) else None
    if layout is not None and layout.bit_depth == 32:
        return None  # float values: the whole-image path (Pillow cannot open float colour)
    if layout is not None and (drop_alpha or not layout.alpha):
        return _tiff_rows(source)
    if layout is not None and keep_alpha and _alpha_as_read(layout):
        return _tiff_rows(source, alpha=True)
    if layout is not None:
        return None
    return _pillow_rows(source, max_pixels, drop_alpha, keep_alpha and not drop_alpha)


def _alpha_as_read(layout: TiffLayout) -> bool:
    """Whether the whole-image path reads this TIFF's alpha as stored (straight alpha: 8-bit
    through Pillow, 16-bit colour through tifffile), so strips may carry it."""
    return layout.straight_alpha and (layout.bit_depth == 8 or layout.color == "rgb")


def _tiff_rows(source: Source, *, alpha: bool = False) -> RowImage:
    tif = TiffRows(source)
    lay = tif.layout
    colour = 1 if lay.color == "gray" else 3

    def read(start: int, stop: int) -> np.ndarray:
        rows = tif.read(start, stop)
        if lay.samples == colour or alpha:
            return rows
        return rows[..., 0] if colour == 1 else rows[..., :colour]

    def lowest() -> float:
        step = max(1, 2**22 // max(1, lay.width * lay.samples))  # a few MiB of rows at a time
        lows = [read(r, r + step)[..., -1].min() for r in range(0, lay.height, step)]
        return float(min(lows, default=lay.max_value))

    shape = (lay.height, lay.width) if colour == 1 else (lay.height, lay.width, 3)
    mode = lay.mode
    frames, upright, meta = tif.pages, True, tif.plain_meta("gray" if colour == 1 else "rgb")
    if meta is None:  # tags to read as Pillow reads them
        with open_image(source) as im, decoding(tif.name):  # tags only: nothing decoded
            frames = int(getattr(im, "n_frames", 1))
            upright = im.getexif().get(0x0112, 1) == 1
            meta = read_meta(im, "gray" if colour == 1 else "rgb")
    return RowImage(tif.name, shape, lay.max_value, lay.bit_depth, mode, True, read, tif.close,
                    frames, meta, upright, alpha, lowest)  # fmt: skip


def check_held(name: str, held: int, max_pixels: int | None) -> None:
    """The ``--max-pixels`` guard for a file read in strips: the pixels held at once.

    Raises
    ------
    ImageError
        ``held`` is over ``max_pixels`` (default 89,478,485).
    """
    limit = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    if held > limit:
        msg = (
            f"{name}: filtering it in strips holds {held} pixels at once, over the limit of "
            f"{limit} pixels (a guard against decompression bombs); "
            f"pass --max-pixels {held} or more if you trust this file"
        )
        raise ImageError(msg)


def _pillow_rows(
    source: Source, max_pixels: int | None, drop_alpha: bool, keep_alpha: bool
) -> RowImage | None:
    """8-bit gray/RGB (or 16-bit gray) decoded by Pillow as integers, with alpha if
    ``keep_alpha``; None for other data."""
    from PIL import ImageOps

    with open_image(source) as im:
        target = target_mode(im)
        colour = {"L": "L", "RGB": "RGB", "LA": "L", "RGBA": "RGB"}.get(target)
        sixteen = target.startswith("I;16")
        if (
            (colour is None and not sixteen)
            or (target in ("LA", "RGBA") and not (drop_alpha or keep_alpha))
            or png16_rawmode(im) is not None
        ):
            return None
        name = "<stdin>" if isinstance(source, bytes | bytearray) else os.fspath(source)
        check_pixels(name, im.size, max_pixels)
        mode = im.mode
        with decoding(name):
            frames = int(getattr(im, "n_frames", 1))
            ImageOps.exif_transpose(im, in_place=True)
            decoded = im if im.mode == target else im.convert(target)
            decoded.load()
            meta = read_meta(im, "gray" if colour == "L" or colour is None else "rgb")
    # Pillow's loaded pixels outlive the file: each strip is cut from them, so no second
    # whole copy of the image is made (close() frees them before the output is encoded)
    width, height = decoded.size
    depth = 16 if sixteen else 8
    shape = (height, width) if colour == "L" or colour is None else (height, width, 3)
    alpha = keep_alpha and target in ("LA", "RGBA")

    def read(start: int, stop: int) -> np.ndarray:
        with decoding(name):
            block = np.asarray(decoded.crop((0, start, width, stop)))
        return block if alpha else _colour_samples(block, target, colour)

    def lowest() -> float:
        return float(np.asarray(decoded.getchannel("A")).min())

    return RowImage(name, shape, float(2**depth - 1), depth, mode, False, read, decoded.close,
                    frames, meta, alpha=alpha, _alpha_low=lowest)  # fmt: skip


def _colour_samples(block: np.ndarray, target: str, colour: str | None) -> np.ndarray:
    """Rows from Pillow as uint8 gray or RGB (alpha dropped), or native-order uint16."""
    if colour is None:
        return block.astype(np.uint16)
    if target == "LA":
        return block[..., 0]
    if target == "RGBA":
        return block[..., :3]
    return block
