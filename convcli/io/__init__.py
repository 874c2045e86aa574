"""Image files in and out: the format table, reading, writing, atomic writes.

- :mod:`~convcli.io.formats`: THE table of formats (extensions, depths, alpha);
- :mod:`~convcli.io.read`: Pillow -> float32 arrays on the native scale, alpha apart;
- :mod:`~convcli.io.write`: pixels -> image bytes and files, ``.npy`` arrays;
- :mod:`~convcli.io.atomic`: temporary file then rename, so nothing is half-written;
- :mod:`~convcli.io.tiff`: TIFF through tifffile by row ranges (``read_tiff_rows``);
  :mod:`~convcli.io.tiff_write` and :mod:`~convcli.io.png`: files written in strips;
  :mod:`~convcli.io.rows`: an image as stored, read by rows, for the strip pipeline.
"""

from __future__ import annotations

from convcli.io.atomic import atomic_write, remove_stale_temps
from convcli.io.formats import (
    EXTENSION_FORMATS,
    FORMATS,
    OUTPUT_FORMATS,
    READ_EXTENSIONS,
    Format,
    format_for_path,
    format_named,
    holds_16bit,
)
from convcli.io.read import LUMA_WEIGHTS, ColorMode, LoadedImage, luma, read_header, read_image
from convcli.io.write import encode_image, write_image, write_npy

__all__ = [
    "EXTENSION_FORMATS",
    "FORMATS",
    "LUMA_WEIGHTS",
    "OUTPUT_FORMATS",
    "READ_EXTENSIONS",
    "ColorMode",
    "Format",
    "LoadedImage",
    "atomic_write",
    "encode_image",
    "format_for_path",
    "format_named",
    "holds_16bit",
    "luma",
    "read_header",
    "read_image",
    "remove_stale_temps",
    "write_image",
    "write_npy",
]
