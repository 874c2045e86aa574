"""The one table of image formats: names, extensions, depths, alpha.

Nothing heavier than :mod:`dataclasses` is imported, so option parsing can use it.
Depth 32 means float32 samples.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from convcli.errors import OutputError


@dataclass(frozen=True)
class Format:
    """What one output format holds.

    Attributes
    ----------
    name : str
        The word ``--format`` takes (``png``).
    pillow : str or None
        Pillow's format name (``PNG``); None for ``.npy``.
    extensions : tuple of str
        Suffixes that select it; the first is the one convcli gives new files.
    depths : tuple of int
        Bits per sample it holds: 8, 16, 32 (float32).
    alpha : bool
        Whether it keeps an alpha channel.
    deep_colour : bool
        Whether it holds 16 bits per sample for colour and alpha, not for gray only.
    float_colour : bool
        Whether it holds float samples for colour, not for gray only.
    frames : bool
        Whether it holds several frames (animations, pages).
    """

    name: str
    pillow: str | None
    extensions: tuple[str, ...]
    depths: tuple[int, ...]
    alpha: bool
    deep_colour: bool = False
    float_colour: bool = False
    frames: bool = False

    @property
    def extension(self) -> str:
        """The suffix convcli gives the files it names (``.jpg``)."""
        return self.extensions[0]


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("png", "PNG", (".png",), (8, 16), alpha=True, deep_colour=True),
        Format("jpeg", "JPEG", (".jpg", ".jpeg"), (8,), alpha=False),
        Format("tiff", "TIFF", (".tif", ".tiff"), (8, 16, 32), alpha=True, deep_colour=True,
               frames=True, float_colour=True),
        Format("webp", "WEBP", (".webp",), (8,), alpha=True, frames=True),
        # 256 colours per frame and 1-bit transparency; Pillow picks each frame's palette
        Format("gif", "GIF", (".gif",), (8,), alpha=True, frames=True),
        # Pillow reads 32-bit BMPs back as RGB, so BMP keeps no alpha
        Format("bmp", "BMP", (".bmp",), (8,), alpha=False),
        Format("npy", None, (".npy",), (8, 16, 32), alpha=False, deep_colour=True,
               float_colour=True),
    )
}  # fmt: skip
"""Every format convcli writes, by ``--format`` name."""

OUTPUT_FORMATS: tuple[str, ...] = tuple(FORMATS)
"""The ``--format`` choices."""

EXTENSION_FORMATS: dict[str, str] = {ext: f.name for f in FORMATS.values() for ext in f.extensions}
"""Output suffix -> format name."""

READ_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".ppm",
     ".pgm", ".pbm", ".pnm", ".tga", ".jp2", ".j2k"}
)  # fmt: skip
"""Lowercase suffixes that folder scanning treats as images."""

_ALIASES = {"jpg": "jpeg", "tif": "tiff"}


def format_named(word: str) -> Format:
    """The format for a user's or Pillow's word (``jpg``, ``JPEG``, ``.tif``).

    Examples
    --------
    >>> format_named("JPG").name, format_named(".tif").pillow
    ('jpeg', 'TIFF')
    """
    key = word.lower().lstrip(".")
    key = _ALIASES.get(key, key)
    if key not in FORMATS or key == "npy":
        valid = ", ".join(name for name in sorted(FORMATS) if name != "npy")
        msg = f"unknown image format {word!r}; expected one of {valid}"
        raise OutputError(msg)
    return FORMATS[key]


def format_for_path(path: str | os.PathLike[str]) -> Format:
    """The output format of a file name, from its suffix.

    Raises
    ------
    OutputError
        For a suffix convcli cannot write, listing the valid ones.

    Examples
    --------
    >>> format_for_path("a/b.JPEG").name
    'jpeg'
    """
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSION_FORMATS:
        known = ", ".join(sorted(EXTENSION_FORMATS))
        shown = suffix or "(no extension)"
        msg = f"{os.fspath(path)}: unknown output format {shown!r}; expected one of {known}"
        raise OutputError(msg)
    return FORMATS[EXTENSION_FORMATS[suffix]]


def holds_16bit(fmt: Format, planes: int) -> bool:
    """Whether ``fmt`` holds 16-bit samples for pixels of ``planes`` samples (alpha included)."""
    return 16 in fmt.depths and (fmt.deep_colour or planes == 1)
