"""The kernel gallery: one contact sheet of an image filtered by many kernels.

Each tile is the (downscaled, gray) image filtered with ``apply``'s defaults (``same``
padding, ``reflect``), labelled with the kernel's name and the value range shown.
Feature maps of zero-sum kernels (edge detectors) are signed: they use a diverging colour
map, blue negative, white zero, red positive, scaled per tile to ``±`` the robust top of
``|response|`` that ``apply``'s ``auto`` uses (:func:`convcli.values.response_top`). The
others are grey levels mapped exactly as ``apply --map auto`` maps them
(:func:`convcli.values.map_values`). A legend at the bottom explains both.

Sizes are ``(height, width)``, as NumPy's shapes are; boxes are Pillow's
``(left, top, right, bottom)``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from convcli.errors import KernelError, OutputError
from convcli.io import atomic_write, format_for_path, luma
from convcli.kernels import Kernel, KernelBank
from convcli.pipeline import apply_plan, build_plan
from convcli.values import map_values, response_top, to_pixels

Spec = Kernel | KernelBank
Box = tuple[int, int, int, int]

NEGATIVE = (33, 102, 172)
"""Colour of the most negative response (blue)."""
POSITIVE = (178, 24, 43)
"""Colour of the most positive response (red)."""
ZERO = (255, 255, 255)
_TEXT = (20, 20, 20)
_MUTED = (100, 100, 100)
_MARGIN = 8
_LABEL_H = 28
_TITLE_H = 24
_LEGEND_H = 44
_MAX_COLUMNS = 6


@dataclass(frozen=True)
class Tile:
    """One tile of the sheet.

    Attributes
    ----------
    name : str
        The kernel's (or bank's) name; ``'original'`` for the input itself.
    label : str
        The text under the tile: the name, and for banks how they combine.
    box : (int, int, int, int)
        ``(left, top, right, bottom)`` of the picture on the sheet.
    signed : bool
        True when drawn with the diverging colour map.
    low, high : float
        The response values at the ends of the tile's colour scale.
    """

    name: str
    label: str
    box: Box
    signed: bool
    low: float
    high: float


@dataclass(frozen=True)
class Gallery:
    """A rendered contact sheet and where each tile lies on it.

    Attributes
    ----------
    image : PIL.Image.Image
        The RGB sheet.
    tiles : tuple of Tile
        The tiles, the original first, in reading order.
    columns : int
        Tiles per row.
    tile_hw : (int, int)
        Height and width of each tile's picture.
    """

    image: Image.Image
    tiles: tuple[Tile, ...]
    columns: int
    tile_hw: tuple[int, int]

    @property
    def hw(self) -> tuple[int, int]:
        """Height and width of the whole sheet."""
        width, height = self.image.size
        return height, width


@dataclass(frozen=True)
class _Rendered:
    name: str
    label: str
    picture: Image.Image
    signed: bool
    low: float
    high: float


@functools.cache
def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default()


def thumbnail(pixels: np.ndarray, max_value: float, size: int) -> np.ndarray:
    """Scale values to 0..255 and shrink so the longer side is at most ``size`` pixels.

    Examples
    --------
    >>> thumbnail(np.full((600, 300), 65535.0), 65535.0, 256).shape
    (256, 128)
    """
    scaled = np.clip(np.asarray(pixels, dtype=np.float64) * (255.0 / max_value), 0, 255)
    h, w = scaled.shape[:2]
    factor = min(1.0, size / max(h, w))
    if factor == 1.0:
        return scaled
    new = (max(1, round(w * factor)), max(1, round(h * factor)))
    image = Image.fromarray(np.round(scaled).astype(np.uint8))
    return np.asarray(image.resize(new, Image.Resampling.LANCZOS), dtype=np.float64)


def diverging(values: np.ndarray, scale: float) -> np.ndarray:
    """Map values in ``[-scale, scale]`` to RGB: blue, white at zero, red (clipped).

    Examples
    --------
    >>> diverging(np.array([[-2.0, 0.0, 1.0]]), 1.0)[0].tolist()
    [[33, 102, 172], [255, 255, 255], [178, 24, 43]]
    """
    t = np.clip(values / (scale or 1.0), -1.0, 1.0)[..., None]
    end = np.where(t < 0, np.array(NEGATIVE, float), np.array(POSITIVE, float))
    rgb = np.array(ZERO, float) + np.abs(t) * (end - np.array(ZERO, float))
    return np.round(rgb).astype(np.uint8)


def _is_signed(values: np.ndarray, kernel_sum: float | None, single: bool) -> bool:
    """Zero-sum kernels (edge detectors) give signed maps worth a diverging colour map.

    A kernel's sum is exactly 0 when :func:`convcli.kernels.is_zero_sum` says so. A bank's
    combined map (magnitude, max, ...) counts only if it has negative values.
    """
    return kernel_sum == 0.0 and (single or float(values.min()) < 0)


def _render_map(spec: Spec, values: np.ndarray, kernel_sum: float | None) -> _Rendered:
    """Turn one feature map into a picture and its colour scale."""
    name, label = spec.name, _spec_label(spec)
    if _is_signed(values, kernel_sum, isinstance(spec, Kernel)):
        scale = response_top(values)
        picture = Image.fromarray(diverging(values, scale))
        return _Rendered(name, label, picture, True, -scale, scale)
    mapped, report = map_values(values, "auto", max_value=255.0, kernel_sum=kernel_sum)
    grey = to_pixels(np.nan_to_num(mapped), 8)
    high = 255.0 / report.scale  # the response shown as white
    return _Rendered(name, label, Image.fromarray(grey).convert("RGB"), False, 0.0, high)


def _spec_label(spec: Spec) -> str:
    if isinstance(spec, Kernel):
        return spec.name
    combine = "magnitude" if spec.combine == "stack" else spec.combine
    return f"{spec.name} ({combine})"


def filter_tile(gray: np.ndarray, spec: Spec) -> tuple[np.ndarray, float | None]:
    """The feature map a tile shows, and its kernel sum.

    ``apply``'s defaults are used; a bank is combined in its own way (``stack``: magnitude).

    Examples
    --------
    >>> from convcli.kernels import parse_kernel_spec
    >>> values, kernel_sum = filter_tile(np.zeros((4, 5)), parse_kernel_spec("sobel_x"))
    >>> values.shape, kernel_sum
    ((4, 5), 0.0)
    """
    combine = None
    if isinstance(spec, KernelBank) and spec.combine == "stack":
        combine = "magnitude"
    plan = build_plan([spec], combine=combine)
    feature_map = apply_plan(gray, plan)[0]
    return np.asarray(feature_map.values, dtype=np.float64), feature_map.kernel_sum


def build_gallery(
    pixels: np.ndarray,
    specs: Sequence[Spec],
    *,
    max_value: float = 255.0,
    tile_size: int = 256,
    columns: int | None = None,
    title: str = "",
) -> Gallery:
    """Filter a downscaled gray copy of ``pixels`` with each spec and lay out the sheet.

    Parameters
    ----------
    pixels : numpy.ndarray
        ``(H, W)`` or ``(H, W, 3)`` on the scale ``0..max_value``.
    specs : sequence of Kernel or KernelBank
        The kernels, one tile each (after a first tile with the image itself).
    max_value : float
        The white level of ``pixels`` (255 for 8-bit images).
    tile_size : int
        The longer side of each tile, in pixels.
    columns : int, optional
        Tiles per row; by default about a square sheet, at most 6.
    title : str
        A line at the top of the sheet.

    Returns
    -------
    Gallery

    Raises
    ------
    KernelError
        If ``specs`` is empty.
    """
    if not specs:
        msg = "gallery needs at least one kernel; got none"
        raise KernelError(msg)
    thumb = thumbnail(pixels, max_value, tile_size)
    gray = thumb if thumb.ndim == 2 else luma(thumb).astype(np.float64)
    original = Image.fromarray(np.round(thumb).astype(np.uint8)).convert("RGB")
    rendered = [_Rendered("original", "original", original, False, 0.0, 255.0)]
    rendered += [_render_map(s, *filter_tile(gray, s)) for s in specs]
    rendered = _enlarged(rendered, tile_size)
    columns = columns or min(_MAX_COLUMNS, math.ceil(math.sqrt(len(rendered))))
    return _compose(rendered, columns, title)


def _enlarged(rendered: list[_Rendered], tile_size: int) -> list[_Rendered]:
    """Small images drawn bigger, each pixel a square block, to fill about ``tile_size``.

    The filtering itself runs on the real pixels; only the pictures are enlarged.
    """
    width, height = rendered[0].picture.size
    factor = tile_size // max(width, height)
    if factor < 2:
        return rendered
    new_size = (width * factor, height * factor)
    return [
        replace(item, picture=item.picture.resize(new_size, Image.Resampling.NEAREST))
        for item in rendered
    ]


def _compose(rendered: list[_Rendered], columns: int, title: str) -> Gallery:
    tw, th = rendered[0].picture.size
    rows = math.ceil(len(rendered) / columns)
    cell_w, cell_h = tw + _MARGIN, th + _LABEL_H
    width = max(_MARGIN + columns * cell_w, _legend_width())
    height = _TITLE_H + rows * cell_h + _LEGEND_H
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((_MARGIN, 6), title, fill=_TEXT, font=_font())
    tiles = []
    for index, item in enumerate(rendered):
        x = _MARGIN + (index % columns) * cell_w
        y = _TITLE_H + (index // columns) * cell_h
        sheet.paste(item.picture, (x, y))
        _label(draw, item, (x, y + th + 2), tw)
        box = (x, y, x + tw, y + th)
        tiles.append(Tile(item.name, item.label, box, item.signed, item.low, item.high))
    _legend(draw, (_MARGIN, height - _LEGEND_H + 6))
    return Gallery(sheet, tuple(tiles), columns, (th, tw))


def _fit(draw: ImageDraw.ImageDraw, text: str, width: int) -> str:
    """``text`` shortened with an ellipsis to fit ``width`` pixels."""
    while len(text) > 1 and draw.textlength(text, font=_font()) > width:
        text = text[:-2] + "…"
    return text


def _label(draw: ImageDraw.ImageDraw, item: _Rendered, xy: tuple[int, int], width: int) -> None:
    draw.text(xy, _fit(draw, item.label, width), fill=_TEXT, font=_font())
    if item.name == "original":
        return
    scale = f"±{_short(item.high)}" if item.signed else f"0..{_short(item.high)}"
    draw.text((xy[0], xy[1] + 12), _fit(draw, scale, width), fill=_MUTED, font=_font())


def _short(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.3g}"


_LEGEND_TEXT = "signed maps: blue negative, white zero, red positive; ±s under each tile"
_LEGEND_TEXT_X = 172
"""Where the legend's text starts, right of its colour bar."""


def _legend_width() -> int:
    """The sheet width the legend needs, so its text is never cut off."""
    return _MARGIN + _LEGEND_TEXT_X + math.ceil(_font().getlength(_LEGEND_TEXT)) + _MARGIN


def _legend(draw: ImageDraw.ImageDraw, xy: tuple[int, int]) -> None:
    x, y = xy
    bar = np.linspace(-1.0, 1.0, 160)
    colours = diverging(bar, 1.0)
    for i, colour in enumerate(colours):
        draw.line((x + i, y, x + i, y + 10), fill=tuple(int(v) for v in colour))
    draw.rectangle((x, y, x + 159, y + 10), outline=_MUTED)
    font = _font()
    draw.text((x, y + 13), "-s", fill=_TEXT, font=font)
    draw.text((x + 77, y + 13), "0", fill=_TEXT, font=font)
    draw.text((x + 148, y + 13), "+s", fill=_TEXT, font=font)
    draw.text((x + _LEGEND_TEXT_X, y), _LEGEND_TEXT, fill=_TEXT, font=font)
    other = "other maps: grey levels 0..max"
    draw.text((x + _LEGEND_TEXT_X, y + 14), other, fill=_MUTED, font=font)


def write_gallery(path: str | Path, gallery: Gallery) -> None:
    """Write the sheet atomically; the format comes from the suffix (``.png``, ``.jpg`` ...).

    Raises
    ------
    OutputError
        Unknown suffix, a suffix that is not a picture (``.npy``), or the file cannot be
        written.
    """
    pillow = format_for_path(path).pillow
    if pillow is None:
        msg = f"{path}: a gallery is a picture; expected an image suffix like .png or .jpg"
        raise OutputError(msg)

    def save(handle: BinaryIO) -> None:
        gallery.image.save(handle, format=pillow)

    atomic_write(path, save)
