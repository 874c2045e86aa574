"""Opening image files with Pillow: every failure one :class:`ImageError`, our own bomb guard.

Pillow is imported when first needed: a TIFF that tifffile reads never needs it (about
12 ms of start-up). Pillow's global decompression-bomb limit is switched off while
convcli opens and decodes (under a lock: it is process-wide) because
:func:`check_pixels` applies ``--max-pixels`` itself, with a message that says how to
pass a trusted file.
"""

from __future__ import annotations

import io
import logging
import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, BinaryIO

from convcli.errors import ImageError, reason

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own default for Image.MAX_IMAGE_PIXELS
DAMAGED = (OSError, ValueError, SyntaxError, EOFError, TypeError, IndexError, KeyError,
           ZeroDivisionError, struct.error)  # fmt: skip
"""What Pillow raises on a damaged file, beyond OSError: ``TypeError: Missing dimensions``
for a broken second IFD, ``struct.error`` for a short tag, and the like."""
_PIL_LIMIT_LOCK = threading.Lock()

# Pillow logs what it finds wrong in a file ("More samples per pixel than can be decoded")
# before raising, and Python prints such a record on stderr when nobody listens: convcli
# says it in its own one line
logging.getLogger("PIL").addHandler(logging.NullHandler())


def source_name(source: str | os.PathLike[str] | bytes) -> str:
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
def open_image(source: str | os.PathLike[str] | bytes) -> Iterator[Image.Image]:
    """Open an image lazily (header only), turning every failure into ImageError."""
    from PIL import Image, UnidentifiedImageError

    name = source_name(source)
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
    except DAMAGED as exc:
        msg = f"{name}: cannot read image: {reason(exc)}"
        raise ImageError(msg) from None
    with im:
        yield im


@contextmanager
def decoding(name: str) -> Iterator[None]:
    """Decode with Pillow's pixel limit off; a failure becomes ImageError naming the file."""
    try:
        with _pillow_limit_off():
            yield
    except DAMAGED as exc:
        msg = f"{name}: cannot decode image: {reason(exc)}"
        raise ImageError(msg) from None


def check_pixels(name: str, size: tuple[int, int], max_pixels: int | None) -> None:
    """Refuse images over the decompression-bomb limit, pointing at --max-pixels."""
    limit = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    width, height = size
    if width * height > limit:
        msg = (
            f"{name}: {width}x{height} = {width * height} pixels is over the limit of "
            f"{limit} pixels (a guard against decompression bombs); "
            f"pass --max-pixels {width * height} or more if you trust this file"
        )
        raise ImageError(msg)
