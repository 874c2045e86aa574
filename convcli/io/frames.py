"""Animated GIF/WebP and multi-page TIFF: every frame read, every frame written.

:func:`read_animation` decodes each frame (as :func:`convcli.io.read_image` decodes one)
with its duration, and the file's loop count and each frame's disposal method (GIF);
:func:`encode_animation` writes frames back with them. GIF output is quantised frame by
frame (Pillow gives each frame its own adaptive palette of 256 colours).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from convcli.errors import OutputError, reason
from convcli.io.formats import Format
from convcli.io.meta import SaveOptions, read_meta, save_arguments
from convcli.io.pillow import check_pixels, decoding, open_image, source_name
from convcli.io.read import ColorMode, LoadedImage, decode_image, luma

if TYPE_CHECKING:
    from PIL import Image


@dataclass(frozen=True)
class Animation:
    """The frames of a file and how they play.

    Attributes
    ----------
    frames : tuple of LoadedImage
        Every frame, decoded as :func:`convcli.io.read_image` decodes one.
    durations : tuple of int
        Milliseconds each frame shows (0 where the file says nothing).
    loop : int or None
        Times the animation repeats (0: for ever), None where the file says nothing.
    disposal : tuple of int or None
        GIF disposal method of each frame; None for other formats.
    """

    frames: tuple[LoadedImage, ...]
    durations: tuple[int, ...]
    loop: int | None
    disposal: tuple[int, ...] | None


def read_animation(
    source: str | os.PathLike[str] | bytes,
    *,
    color: ColorMode = "keep",
    max_pixels: int | None = None,
) -> Animation:
    """Decode every frame of an animated or multi-page image, in one pass over the file.

    Raises
    ------
    ImageError
        As :func:`convcli.io.read_image`.
    """
    name = source_name(source)
    frames, durations, disposal = [], [], []
    with open_image(source) as im:
        with decoding(name):  # counting the frames reads every frame's header
            count = int(getattr(im, "n_frames", 1))
        loop, gif = im.info.get("loop"), im.format == "GIF"
        for index in range(count):
            with decoding(name):
                im.seek(index)
            # before the frame is decoded: a later frame may declare a canvas of gigapixels
            check_pixels(name, im.size, max_pixels)
            with decoding(name):
                frame = im.copy()
            durations.append(int(im.info.get("duration") or 0))
            disposal.append(int(getattr(im, "disposal_method", 0) or 0))
            loaded = decode_image(frame, name)
            if color == "gray" and loaded.pixels.ndim == 3:
                loaded = replace(loaded, pixels=luma(loaded.pixels), color="gray")
            frames.append(replace(loaded, frames=count, frame=index))
        with decoding(name):
            im.seek(0)
            meta = read_meta(im, frames[0].color)
    frames = _alike(frames)
    frames[0] = replace(frames[0], meta=meta)
    return Animation(tuple(frames), tuple(durations), loop, tuple(disposal) if gif else None)


def _alike(frames: list[LoadedImage]) -> list[LoadedImage]:
    """Frames of one kind: gray frames made RGB if any is colour, alpha given to all if any has it.

    (A GIF's first frame may be gray palette entries and later ones colour.)
    """
    rgb = any(f.pixels.ndim == 3 for f in frames)
    alpha = any(f.alpha is not None for f in frames)
    out = []
    for f in frames:
        pixels = (
            np.repeat(f.pixels[..., None], 3, axis=2) if rgb and f.pixels.ndim == 2 else f.pixels
        )
        kept = f.alpha
        if alpha and kept is None:
            kept = np.full(f.pixels.shape[:2], f.max_value, np.float32)
        out.append(replace(f, pixels=pixels, color="rgb" if rgb else f.color, alpha=kept))
    return out


def encode_animation(
    frames: Sequence[np.ndarray],
    alphas: Sequence[np.ndarray] | None,
    fmt: Format,
    animation: Animation,
    options: SaveOptions | None = None,
) -> bytes:
    """Encode uint8/uint16 frames (and alpha) as one animated or multi-page file.

    Raises
    ------
    OutputError
        A format that holds one frame, or frames Pillow cannot encode in it.
    """
    if not fmt.frames or fmt.pillow is None:
        msg = f"{fmt.name} holds one frame; write .gif, .webp or .tif for {len(frames)} frames"
        raise OutputError(msg)
    images = [_image(f, None if alphas is None else alphas[i]) for i, f in enumerate(frames)]
    colour = "gray" if frames[0].ndim == 2 else "rgb"
    args = save_arguments(fmt.pillow, options or SaveOptions(), colour)
    args.update(save_all=True, append_images=images[1:], **_timing(fmt.pillow, animation))
    buffer = io.BytesIO()
    try:
        images[0].save(buffer, format=fmt.pillow, **args)
    except (OSError, ValueError, KeyError) as exc:
        msg = f"cannot encode {len(images)} {images[0].mode} frames as {fmt.pillow}: {reason(exc)}"
        raise OutputError(msg) from None
    return buffer.getvalue()


def _image(pixels: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    array = pixels if alpha is None else np.dstack([pixels, alpha])
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(array))
    return image.convert("RGBA") if image.mode == "LA" else image


def _timing(pillow: str, animation: Animation) -> dict[str, object]:
    """Durations, loop and disposal, as far as the format holds them."""
    if pillow == "TIFF":
        return {}
    timing: dict[str, object] = {"duration": list(animation.durations)}
    if animation.loop is not None:
        timing["loop"] = animation.loop
    if pillow == "GIF" and animation.disposal is not None:
        timing["disposal"] = list(animation.disposal)
    return timing
