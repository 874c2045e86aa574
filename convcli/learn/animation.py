"""The sliding window as an animated GIF: one frame per output position.

Each frame shows the padded input (padding cells grey), the kernel's taps on it, the
previous window's outline (the stride jump) and the output grid filling in, with the same
numbers as the text views of :mod:`convcli.learn.text`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from convcli.errors import GeometryError
from convcli.geometry import Pair
from convcli.io import atomic_write
from convcli.learn.shapes import dims, fmt_pair
from convcli.learn.text import fmt
from convcli.learn.window import Setup, output_grid

MAX_GIF_POSITIONS = 400
"""More output positions than this make a GIF too long to watch."""
MAX_GIF_SIDE = 40
"""Padded inputs larger than this many cells a side are too small to read."""
_PAD_FILL = (221, 221, 221)
_TAP_FILL = (255, 196, 92)
_TAP_EDGE = (214, 120, 0)
_PREV_EDGE = (110, 140, 230)
_DONE_FILL = (206, 236, 206)
_GRID = (150, 150, 150)
_TEXT = (20, 20, 20)
_MUTED = (110, 110, 110)
_HEADER = 44
_MARGIN = 12
_GAP = 36


@dataclass(frozen=True)
class GifInfo:
    """What :func:`write_gif` wrote.

    Attributes
    ----------
    path : Path
        The file.
    frames : int
        Number of frames: one per output position, plus a first and a last frame.
    hw : (int, int)
        Height and width of the frames, in pixels.
    """

    path: Path
    frames: int
    hw: tuple[int, int]


@dataclass(frozen=True)
class _Layout:
    cell: int
    input_xy: tuple[int, int]
    output_xy: tuple[int, int]
    size: tuple[int, int]
    values: bool


def check_animatable(setup: Setup) -> None:
    """Raise :class:`GeometryError` when the animation would be too long or too small.

    Examples
    --------
    >>> from convcli.learn.window import prepare
    >>> check_animatable(prepare(np.zeros((5, 5)), np.ones((3, 3))))
    """
    oh, ow = setup.geometry.output_hw
    ph, pw = setup.padded.shape
    if oh * ow > MAX_GIF_POSITIONS:
        msg = (
            f"--gif draws one frame per output position; {dims((oh, ow))} = {oh * ow} "
            f"positions is more than {MAX_GIF_POSITIONS}: use a smaller input or a larger --stride"
        )
        raise GeometryError(msg)
    if max(ph, pw) > MAX_GIF_SIDE:
        msg = (
            f"--gif needs a padded input of at most {dims((MAX_GIF_SIDE, MAX_GIF_SIDE))} cells; "
            f"got {dims((ph, pw))}: use a smaller input"
        )
        raise GeometryError(msg)


def _layout(setup: Setup) -> _Layout:
    ph, pw = setup.padded.shape
    oh, ow = setup.geometry.output_hw
    cell = int(np.clip(420 // max(ph, pw, oh, ow), 12, 44))
    input_xy = (_MARGIN, _HEADER + 16)
    output_xy = (_MARGIN + pw * cell + _GAP, _HEADER + 16)
    width = output_xy[0] + max(ow * cell, 90) + _MARGIN
    height = _HEADER + 16 + max(ph, oh) * cell + _MARGIN + 14
    return _Layout(cell, input_xy, output_xy, (max(width, 380), height), cell >= 26)


def animation_frames(setup: Setup) -> tuple[list[Image.Image], list[int]]:
    """Draw the sliding window: a first frame, one frame per output position, a last frame.

    Each frame shows the padded input (padding cells grey), the kernel's taps on it (gaps
    between taps when dilated), the previous window's outline (the stride jump) and the
    output grid filling in. Cell values are drawn when cells are large enough.

    Parameters
    ----------
    setup : Setup
        The problem, from :func:`prepare`.

    Returns
    -------
    frames : list of PIL.Image.Image
        RGB frames, all the same size.
    durations : list of int
        Milliseconds each frame is shown.

    Raises
    ------
    GeometryError
        If the animation would be too long or too small (:func:`check_animatable`).
    """
    check_animatable(setup)
    layout, output = _layout(setup), output_grid(setup)
    positions = list(setup.positions())
    frames = [_frame(setup, layout, output, None, None, 0)]
    for index, at in enumerate(positions):
        prev = positions[index - 1] if index else None
        frames.append(_frame(setup, layout, output, at, prev, index + 1))
    frames.append(_frame(setup, layout, output, None, None, len(positions)))
    durations = [1200] + [700] * len(positions) + [2500]
    return frames, durations


@functools.cache
def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default()


def _frame(
    setup: Setup,
    layout: _Layout,
    output: np.ndarray,
    at: Pair | None,
    prev: Pair | None,
    done: int,
) -> Image.Image:
    image = Image.new("P", layout.size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    _draw_header(draw, setup, output, at, done)
    _draw_input(draw, setup, layout, at)
    if prev is not None:
        _outline_window(draw, setup, layout, prev, _PREV_EDGE, 1)
    if at is not None:
        _outline_window(draw, setup, layout, at, _TAP_EDGE, 3)
    _draw_output(draw, setup, layout, output, at, done)
    return image


def _draw_header(
    draw: ImageDraw.ImageDraw, setup: Setup, output: np.ndarray, at: Pair | None, done: int
) -> None:
    g, font = setup.geometry, _font()
    (top, bottom), (left, right) = g.pads
    line1 = (
        f"{setup.operation} with {setup.kernel_name} {_drawn_size(g.kernel_hw)}"
        f"{' (flipped)' if setup.flip else ''} · stride {fmt_pair(g.stride)}"
        f" · dilation {fmt_pair(g.dilation)}"
    )
    line2 = f"pads {top},{bottom},{left},{right} ({setup.padding_mode})"
    if at is not None:
        line2 += f" · out[{at[0]}, {at[1]}] = sum(window x kernel) = {fmt(output[at])}"
    elif done:
        line2 += f" · output {_drawn_size(g.output_hw)} complete"
    draw.text((_MARGIN, 6), line1, fill=_TEXT, font=font)
    draw.text((_MARGIN, 22), line2, fill=_TEXT, font=font)


def _drawn_size(hw: Pair) -> str:
    """A size drawn on a frame: ``x``, as Pillow's built-in font has no ``×`` glyph."""
    return f"{hw[0]}x{hw[1]}"


def _cell_box(origin: tuple[int, int], cell: int, r: int, c: int) -> tuple[int, int, int, int]:
    x, y = origin[0] + c * cell, origin[1] + r * cell
    return x, y, x + cell, y + cell


def _draw_input(draw: ImageDraw.ImageDraw, setup: Setup, layout: _Layout, at: Pair | None) -> None:
    font, pads = _font(), setup.pad_mask()
    taps = np.zeros(setup.padded.shape, dtype=bool)
    if at is not None:
        taps[np.ix_(*setup.tap_indices(at))] = True
    label = "padded input (grey = padding)"
    draw.text((layout.input_xy[0], layout.input_xy[1] - 14), label, fill=_MUTED, font=font)
    for r, c in np.ndindex(setup.padded.shape):
        fill = _TAP_FILL if taps[r, c] else _PAD_FILL if pads[r, c] else (255, 255, 255)
        box = _cell_box(layout.input_xy, layout.cell, r, c)
        draw.rectangle(box, fill=fill, outline=_GRID)
        if layout.values:
            _centered(draw, box, fmt(float(setup.padded[r, c])), _MUTED if pads[r, c] else _TEXT)


def _centered(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], text: str, fill: tuple[int, ...]
) -> None:
    font = _font()
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    if right - left > box[2] - box[0] - 3:
        text = text[: max(1, (box[2] - box[0] - 3) // 6)] + "…" if len(text) > 3 else text
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (box[0] + box[2] - (right - left)) // 2 - left
    y = (box[1] + box[3] - (bottom - top)) // 2 - top
    draw.text((x, y), text, fill=fill, font=font)


def _outline_window(
    draw: ImageDraw.ImageDraw,
    setup: Setup,
    layout: _Layout,
    at: Pair,
    colour: tuple[int, int, int],
    width: int,
) -> None:
    (r0, c0), (eh, ew) = setup.window_origin(at), setup.geometry.effective_kernel_hw
    x0, y0, _, _ = _cell_box(layout.input_xy, layout.cell, r0, c0)
    _, _, x1, y1 = _cell_box(layout.input_xy, layout.cell, r0 + eh - 1, c0 + ew - 1)
    draw.rectangle((x0, y0, x1, y1), outline=colour, width=width)


def _draw_output(
    draw: ImageDraw.ImageDraw,
    setup: Setup,
    layout: _Layout,
    output: np.ndarray,
    at: Pair | None,
    done: int,
) -> None:
    font, ow = _font(), setup.geometry.output_hw[1]
    draw.text((layout.output_xy[0], layout.output_xy[1] - 14), "output", fill=_MUTED, font=font)
    for r, c in np.ndindex(output.shape):
        filled = r * ow + c < done
        current = at == (r, c)
        fill = _TAP_FILL if current else _DONE_FILL if filled else (255, 255, 255)
        box = _cell_box(layout.output_xy, layout.cell, r, c)
        draw.rectangle(box, fill=fill, outline=_TAP_EDGE if current else _GRID)
        if layout.values and (filled or current):
            _centered(draw, box, fmt(float(output[r, c])), _TEXT)


def write_gif(path: str | Path, setup: Setup) -> GifInfo:
    """Render :func:`animation_frames` to an animated GIF, written atomically.

    Parameters
    ----------
    path : str or Path
        The GIF to write.
    setup : Setup
        The problem, from :func:`prepare`.

    Returns
    -------
    GifInfo

    Raises
    ------
    GeometryError
        If the animation would be too long or too small.
    OutputError
        If the file cannot be written.
    """
    frames, durations = animation_frames(setup)

    def save(handle: BinaryIO) -> None:
        frames[0].save(
            handle,
            format="GIF",
            save_all=True,
            append_images=frames[1:],
            duration=durations,
            loop=0,
        )

    atomic_write(path, save)
    width, height = frames[0].size
    return GifInfo(Path(path), len(frames), (height, width))
