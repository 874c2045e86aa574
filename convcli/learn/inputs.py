"""What ``convcli explain`` and ``convcli shape`` read: text matrices, ``.npy``, images, sizes.

A text matrix is rows of numbers separated by spaces or commas, with ``#`` comments, split
into lines and values by the project's one matrix reader (:mod:`convcli.kernels.files`).
A ``.npy`` holds a 2-D array of numbers (never pickles). Anything else is an image, turned
gray for ``explain`` and read from its header only for ``shape``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from convcli.errors import ImageError
from convcli.io import read_header, read_image
from convcli.io.arrays import open_npy
from convcli.kernels.files import content_lines
from convcli.learn.shapes import parse_size

InputKind = Literal["text", "npy", "image"]
TEXT_SUFFIXES = frozenset({".txt", ".csv", ".tsv", ".dat", ".mat"})
_SIZE_LIKE = re.compile(r"^\s*\d+\s*[xX×][\dxX×\s]*$")
"""Text meant as a size (``5x``, ``224x224x3x2``), valid or not."""


@dataclass(frozen=True)
class LearnInput:
    """A 2-D matrix to explain, with where it came from.

    Attributes
    ----------
    values : numpy.ndarray
        float64, shape (H, W).
    source : str
        The file name.
    kind : {'text', 'npy', 'image'}
        How it was read.
    note : str
        How it was turned into a matrix (e.g. ``'colour turned gray (BT.601 luma)'``), or ``''``.
    """

    values: np.ndarray
    source: str
    kind: InputKind
    note: str = ""


def load_input(source: str | Path) -> LearnInput:
    """Read a text matrix, a ``.npy`` or an image (turned gray) as a 2-D float64 matrix.

    Parameters
    ----------
    source : str or Path
        ``.txt``/``.csv``/``.tsv``/``.dat``/``.mat``: rows of numbers separated by spaces or
        commas, ``#`` comments; ``.npy``: a 2-D array; anything else: an image.

    Returns
    -------
    LearnInput

    Raises
    ------
    ImageError
        Missing or unreadable file, ragged rows, non-numbers, not 2-D.
    """
    path = _existing_file(source)
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return LearnInput(parse_matrix(_read_text(path), str(path)), str(path), "text")
    if suffix == ".npy":
        return LearnInput(_load_npy(path), str(path), "npy")
    return _load_image(path)


def _existing_file(source: str | Path) -> Path:
    """``source`` as a path to a file, or an :class:`ImageError` saying what it is instead."""
    path = Path(source)
    if path.is_dir():
        msg = f"{path}: is a folder; expected a file (a text matrix, a .npy or an image)"
        raise ImageError(msg)
    if not path.is_file():
        msg = f"{path}: no such file"
        raise ImageError(msg)
    return path


def _read_text(path: Path) -> str:
    """A text matrix file's content, or an :class:`ImageError` saying why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        msg = f"{path}: not UTF-8 text; expected rows of numbers"
        raise ImageError(msg) from None
    except OSError as exc:
        msg = f"{path}: cannot read: {exc.strerror or exc}"
        raise ImageError(msg) from None


def parse_matrix(text: str, name: str = "<matrix>") -> np.ndarray:
    """Parse rows of numbers (spaces or commas between values, ``#`` comments).

    Raises
    ------
    ImageError
        Empty text, a non-number, or rows of different lengths (the line is named).

    Examples
    --------
    >>> parse_matrix("1 2 3\\n4, 5, 6  # a comment").tolist()
    [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    """
    rows: list[list[float]] = []
    for number, words in content_lines(text):
        rows.append(_parse_row(words, name, number, rows))
    if not rows:
        msg = f"{name}: no numbers found; expected rows of numbers"
        raise ImageError(msg)
    return np.array(rows, dtype=np.float64)


def _parse_row(words: list[str], name: str, line: int, rows: list[list[float]]) -> list[float]:
    """One line's values: numbers, as many as on the first line, finite."""
    try:
        row = [float(word) for word in words]
    except ValueError:
        bad = next(w for w in words if not _is_number(w))
        msg = f"{name}: line {line}: {bad!r} is not a number"
        raise ImageError(msg) from None
    if rows and len(row) != len(rows[0]):
        msg = f"{name}: line {line} has {len(row)} values; expected {len(rows[0])} like line 1"
        raise ImageError(msg)
    if not all(np.isfinite(row)):
        msg = f"{name}: line {line} has NaN or infinite values"
        raise ImageError(msg)
    return row


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _load_npy(path: Path) -> np.ndarray:
    """A ``.npy``'s 2-D array of finite numbers, as float64."""
    array = open_npy(path)
    if array.ndim != 2 or array.dtype.kind not in "biuf":
        msg = f"{path}: expected a 2-D array of numbers; got shape {array.shape} ({array.dtype})"
        raise ImageError(msg)
    if array.size == 0:
        msg = f"{path}: the array is empty (shape {array.shape}); expected at least one value"
        raise ImageError(msg)
    values = np.array(array, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        row, col = np.argwhere(~np.isfinite(values))[0]
        msg = f"{path}: value [{row}, {col}] is {values[row, col]}; expected finite numbers"
        raise ImageError(msg)
    return values


def _load_image(path: Path) -> LearnInput:
    """An image as a gray float64 matrix, saying when colour was turned gray (or frames left)."""
    channels = read_header(path)[2]
    loaded = read_image(path, color="gray")
    notes = [f"frame 0 of {loaded.frames}"] if loaded.frames > 1 else []
    notes += ["colour turned gray (BT.601 luma)"] if channels > 1 else []
    note = "; ".join(notes)
    return LearnInput(loaded.pixels.astype(np.float64), str(path), "image", note)


def input_shape(source: str | Path) -> tuple[int, int, int]:
    """``(H, W, C)`` of an input; images are read from their header only.

    Raises
    ------
    ImageError
        Missing or unreadable file.
    """
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix == ".npy" and path.is_file():
        shape = tuple(int(n) for n in open_npy(path).shape)
        if len(shape) in (2, 3) and min(shape) > 0:
            return (shape[0], shape[1], shape[2] if len(shape) == 3 else 1)
        msg = f"{path}: expected a non-empty 2-D or 3-D array; got shape {shape}"
        raise ImageError(msg)
    if suffix in TEXT_SUFFIXES:
        h, w = load_input(path).values.shape
        return h, w, 1
    return read_header(path)


def shape_of(source: str) -> tuple[tuple[int, int, int], str]:
    """``(H, W, C)`` of a file (images: header only) or of a size like ``224x224x3``.

    A size may be written with ``x``, ``X`` or ``×`` between the numbers.

    Returns
    -------
    shape : (int, int, int)
    what : str
        ``'size'``, or the file name with how it was read.

    Raises
    ------
    ImageError
        Neither an existing file nor a size.
    GeometryError
        A size with a zero.

    Examples
    --------
    >>> shape_of("224x224x3")
    ((224, 224, 3), 'size')
    """
    if Path(source).is_file():
        how = "header only" if Path(source).suffix.lower() not in TEXT_SUFFIXES | {".npy"} else ""
        return input_shape(source), f"{source} ({how})" if how else source
    if _SIZE_LIKE.match(source):
        return parse_size(source), "size"  # a malformed size gets parse_size's message
    what = "is a folder" if Path(source).is_dir() else "no such file"
    msg = f"{source}: {what}; expected an image, .npy, text matrix or size like 224x224x3"
    raise ImageError(msg)
