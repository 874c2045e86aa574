"""The learning views: the multiply-adds behind one output value, whole small grids.

Everything here works on a 2-D matrix of numbers (a text file, a ``.npy`` or an image
turned gray) and a 2-D kernel, with the engine's own geometry and padding, and checks
every sum it shows against the engine's output at the same position.

The animation of the sliding window (:func:`animation_frames`, :func:`write_gif`) draws
the same numbers with Pillow.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from convcli._kernel_matrix import NPY_MAGIC, NPY_NO_HEADER, content_lines
from convcli.engine import conv2d, convolve, pad_image
from convcli.errors import EngineError, GeometryError, ImageError
from convcli.geometry import Geometry, PaddingSpec, Pair, normalize_padding_mode, resolve_geometry

InputKind = Literal["text", "npy", "image"]
TEXT_SUFFIXES = frozenset({".txt", ".csv", ".tsv", ".dat", ".mat"})
SMALL_GRID = 12
"""Inputs up to this many rows and columns are shown whole."""
_NUMPY_MODES = {"reflect": "reflect", "symmetric": "symmetric", "replicate": "edge"}
_SIZE_LIKE = re.compile(r"^\s*\d+\s*[xX][\dxX\s]*$")
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


@dataclass(frozen=True)
class Setup:
    """One explain problem: a matrix, a kernel and the resolved geometry.

    Attributes
    ----------
    values : numpy.ndarray
        The input, float64 (H, W).
    kernel : numpy.ndarray
        The kernel as written, float64 (kh, kw).
    kernel_name : str
        Its name, for the headings.
    geometry : Geometry
        Stride, dilation, the pads actually used and the output shape.
    padding_mode : str
        Canonical padding-mode name.
    cval : float
        The constant of ``zeros`` padding.
    flip : bool
        True convolution (kernel rotated 180°) instead of cross-correlation.
    padded : numpy.ndarray
        The input padded by the engine's own :func:`~convcli.engine.core.pad_image`.
    """

    values: np.ndarray
    kernel: np.ndarray
    kernel_name: str
    geometry: Geometry
    padding_mode: str
    cval: float
    flip: bool
    padded: np.ndarray

    @property
    def kernel_used(self) -> np.ndarray:
        """The weights laid on the window: the kernel, rotated 180° when ``flip``."""
        return self.kernel[::-1, ::-1] if self.flip else self.kernel

    @property
    def operation(self) -> str:
        """``'convolution'`` or ``'cross-correlation'``."""
        return "convolution" if self.flip else "cross-correlation"

    @functools.cached_property
    def output(self) -> np.ndarray:
        """The engine's whole output (float64, read-only), computed once."""
        out = convolve(
            self.values,
            self.kernel,
            stride=self.geometry.stride,
            padding=self.geometry.pads,
            padding_mode=self.padding_mode,
            cval=self.cval,
            dilation=self.geometry.dilation,
            flip=self.flip,
            dtype=np.float64,
        ).output
        out.setflags(write=False)
        return out

    def pad_mask(self) -> np.ndarray:
        """Boolean mask over :attr:`padded`: True for padding cells."""
        (top, _), (left, _) = self.geometry.pads
        mask = np.ones(self.padded.shape, dtype=bool)
        h, w = self.geometry.input_hw
        mask[top : top + h, left : left + w] = False
        return mask

    def positions(self) -> Iterator[Pair]:
        """Every output position, row by row."""
        oh, ow = self.geometry.output_hw
        for row in range(oh):
            for col in range(ow):
                yield row, col

    def window_origin(self, at: Pair) -> Pair:
        """Top-left cell, in padded coordinates, of the window for output ``at``."""
        return at[0] * self.geometry.stride[0], at[1] * self.geometry.stride[1]

    def tap_indices(self, at: Pair) -> tuple[np.ndarray, np.ndarray]:
        """Padded row and column indices of the kernel taps for output ``at``."""
        (r0, c0), (dy, dx) = self.window_origin(at), self.geometry.dilation
        kh, kw = self.geometry.kernel_hw
        return r0 + dy * np.arange(kh), c0 + dx * np.arange(kw)


@dataclass(frozen=True)
class PositionExplanation:
    """The multiply-adds behind one output value.

    Attributes
    ----------
    at : (int, int)
        Output row and column.
    rows, cols : numpy.ndarray
        Input coordinates of the taps' rows and columns (outside ``0..H-1`` / ``0..W-1``:
        padding).
    values : numpy.ndarray
        The input values under the taps, (kh, kw).
    padded : numpy.ndarray
        Boolean (kh, kw): True where the tap lies on a padding cell.
    weights : numpy.ndarray
        The kernel as laid on the window (flipped when ``flip``).
    products : numpy.ndarray
        ``values * weights``.
    total : float
        The sum of the products.
    engine_value : float
        The engine's output at ``at``; equal to ``total``.
    """

    at: Pair
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    padded: np.ndarray
    weights: np.ndarray
    products: np.ndarray
    total: float
    engine_value: float


# ---------------------------------------------------------------- reading inputs


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


def _open_npy(path: Path) -> np.ndarray:
    """The array of a ``.npy`` file, memory-mapped (no pickles)."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(NPY_MAGIC))
        if magic != NPY_MAGIC:
            msg = f"{path}: cannot read as .npy: {NPY_NO_HEADER}"
            raise ImageError(msg)
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        text = str(exc).strip()
        objects = "pickle" in text or "Python objects" in text
        reason = "it holds Python objects; expected an array of numbers" if objects else text
        msg = f"{path}: cannot read as .npy: {reason}"
        raise ImageError(msg) from None


def _load_npy(path: Path) -> np.ndarray:
    array = _open_npy(path)
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
    from convcli.images import read_header, read_image

    channels = read_header(path)[2]
    loaded = read_image(path, color="gray")
    note = "colour turned gray (BT.601 luma)" if channels > 1 else ""
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
        shape = tuple(int(n) for n in _open_npy(path).shape)
        if len(shape) in (2, 3) and min(shape) > 0:
            return (shape[0], shape[1], shape[2] if len(shape) == 3 else 1)
        msg = f"{path}: expected a non-empty 2-D or 3-D array; got shape {shape}"
        raise ImageError(msg)
    if suffix in TEXT_SUFFIXES:
        h, w = load_input(path).values.shape
        return h, w, 1
    from convcli.images import read_header

    return read_header(path)


# ---------------------------------------------------------------- the arithmetic


def shape_of(source: str) -> tuple[tuple[int, int, int], str]:
    """``(H, W, C)`` of a file (images: header only) or of a size like ``224x224x3``.

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
    from convcli.layers import parse_size

    if Path(source).is_file():
        how = "header only" if Path(source).suffix.lower() not in TEXT_SUFFIXES | {".npy"} else ""
        return input_shape(source), f"{source} ({how})" if how else source
    if _SIZE_LIKE.match(source):
        return parse_size(source), "size"  # a malformed size gets parse_size's message
    what = "is a folder" if Path(source).is_dir() else "no such file"
    msg = f"{source}: {what}; expected an image, .npy, text matrix or size like 224x224x3"
    raise ImageError(msg)


def apply_padding(
    kernel: object,
    input_hw: Pair,
    *,
    stride: int | Pair = 1,
    padding: PaddingSpec = "same",
    dilation: int | Pair = 1,
    flip: bool = False,
) -> PaddingSpec:
    """The padding ``convcli apply`` really uses: ``same`` follows a kernel's anchor.

    ``kernel`` is a :class:`~convcli.kernels.Kernel`, a bank (its first kernel counts) or
    anything else (a plain size), for which ``padding`` is returned unchanged.
    """
    from convcli.filtering import ConvOptions, anchored_padding
    from convcli.kernels import Kernel, KernelBank

    if isinstance(kernel, KernelBank):
        kernel = kernel.kernels[0]
    if not isinstance(kernel, Kernel):
        return padding
    options = ConvOptions(stride=stride, padding=padding, dilation=dilation, flip=flip)
    return anchored_padding(kernel, input_hw, options)


def prepare(
    values: np.ndarray,
    kernel: np.ndarray,
    *,
    kernel_name: str = "kernel",
    stride: int | Pair = 1,
    padding: PaddingSpec = "same",
    padding_mode: str = "reflect",
    cval: float = 0.0,
    dilation: int | Pair = 1,
    flip: bool = False,
) -> Setup:
    """Resolve the geometry and pad the input as the engine does.

    Parameters
    ----------
    values : numpy.ndarray
        The input, (H, W).
    kernel : numpy.ndarray
        The kernel as written, (kh, kw).
    kernel_name : str
        Its name, for headings.
    stride, padding, padding_mode, cval, dilation, flip
        As :func:`convcli.engine.conv2d`; the defaults are those of ``convcli apply``.

    Returns
    -------
    Setup

    Raises
    ------
    GeometryError
        If the geometry is invalid or the output would be empty.
    """
    x = np.asarray(values, dtype=np.float64)
    k = np.asarray(kernel, dtype=np.float64)
    if x.ndim != 2 or k.ndim != 2:
        msg = f"explain needs a 2-D input and a 2-D kernel; got shapes {x.shape} and {k.shape}"
        raise EngineError(msg)
    g = resolve_geometry(x.shape, k.shape, stride=stride, padding=padding, dilation=dilation)
    mode = normalize_padding_mode(padding_mode)
    padded = pad_image(x, g, mode, cval)
    return Setup(x, k, kernel_name, g, mode, float(cval), flip, padded)


def explain_at(setup: Setup, at: Pair) -> PositionExplanation:
    """Compute the multiply-adds for output ``at`` and check them against the engine.

    Parameters
    ----------
    setup : Setup
        The problem, from :func:`prepare`.
    at : (int, int)
        Output row and column.

    Returns
    -------
    PositionExplanation

    Raises
    ------
    GeometryError
        If ``at`` lies outside the output.
    EngineError
        If the sum differs from the engine's value (a bug, never expected).

    Examples
    --------
    >>> s = prepare(np.arange(16.0).reshape(4, 4), np.ones((2, 2)), padding="valid")
    >>> e = explain_at(s, (1, 2))
    >>> e.values.tolist(), e.total
    ([[6.0, 7.0], [10.0, 11.0]], 34.0)
    """
    check_position(setup.geometry, at)
    rows, cols = setup.tap_indices(at)
    values = setup.padded[np.ix_(rows, cols)]
    products = values * setup.kernel_used
    total = float(products.sum())
    engine_value = _engine_value(setup, at)
    _check_equal(total, engine_value, products, at)
    (top, _), (left, _) = setup.geometry.pads
    padded = setup.pad_mask()[np.ix_(rows, cols)]
    weights = setup.kernel_used
    return PositionExplanation(
        at, rows - top, cols - left, values, padded, weights, products, total, engine_value
    )


def check_position(geometry: Geometry, at: Pair) -> None:
    """Raise :class:`GeometryError` unless ``at`` is a position of the output."""
    oh, ow = geometry.output_hw
    if not (0 <= at[0] < oh and 0 <= at[1] < ow):
        msg = (
            f"position {at[0]},{at[1]} is outside the output {oh}x{ow}; "
            f"expected ROW in 0..{oh - 1} and COL in 0..{ow - 1}"
        )
        raise GeometryError(msg)


def _engine_value(setup: Setup, at: Pair) -> float:
    """The engine's own output at ``at``, computed on the window's patch of the padded input."""
    (r0, c0), (eh, ew) = setup.window_origin(at), setup.geometry.effective_kernel_hw
    patch = setup.padded[r0 : r0 + eh, c0 : c0 + ew]
    out = conv2d(
        patch, setup.kernel, dilation=setup.geometry.dilation, flip=setup.flip, dtype=np.float64
    )
    return float(out[0, 0])


def _check_equal(total: float, engine_value: float, products: np.ndarray, at: Pair) -> None:
    scale = float(np.abs(products).sum()) or 1.0
    if abs(total - engine_value) > 1e-9 * scale:
        msg = f"explain at {at}: sum {total!r} differs from the engine's {engine_value!r}"
        raise EngineError(msg)


def output_grid(setup: Setup) -> np.ndarray:
    """The whole output of the engine for ``setup`` (float64, computed once per setup).

    Examples
    --------
    >>> output_grid(prepare(np.eye(3), np.ones((2, 2)), padding="valid")).tolist()
    [[2.0, 1.0], [1.0, 2.0]]
    """
    return setup.output


def pad_sources(setup: Setup) -> tuple[np.ndarray, np.ndarray] | None:
    """Input row and column each padded row/column copies (None for ``zeros``).

    Examples
    --------
    >>> s = prepare(np.zeros((4, 4)), np.ones((3, 3)), padding=2, padding_mode="reflect")
    >>> pad_sources(s)[0].tolist()
    [2, 1, 0, 1, 2, 3, 2, 1]
    """
    if setup.padding_mode == "zeros":
        return None
    mode = _NUMPY_MODES.get(setup.padding_mode, "wrap")
    (h, w), pads = setup.geometry.input_hw, setup.geometry.pads
    rows = np.pad(np.arange(h), pads[0], mode=mode)  # type: ignore[call-overload]
    cols = np.pad(np.arange(w), pads[1], mode=mode)  # type: ignore[call-overload]
    return rows, cols


# ---------------------------------------------------------------- text views


def fmt(value: float) -> str:
    """A short, exact-looking number: integers without a decimal point.

    Examples
    --------
    >>> fmt(3.0), fmt(-0.0), fmt(0.125), fmt(1 / 3)
    ('3', '0', '0.125', '0.3333')
    """
    if value == 0:
        return "0"
    if float(value).is_integer() and abs(value) < 1e12:
        return str(int(value))
    return f"{value:.4g}"


def format_grid(
    values: np.ndarray,
    *,
    row_labels: list[int] | None = None,
    col_labels: list[int] | None = None,
    pads: np.ndarray | None = None,
    taps: np.ndarray | None = None,
    hidden: np.ndarray | None = None,
) -> str:
    """Lay out a matrix as text: ``*`` after padding cells, ``[ ]`` around taps, ``·`` hidden.

    Examples
    --------
    >>> print(format_grid(np.array([[1, -2], [3, 4]]), row_labels=[0, 1], col_labels=[5, 6]))
        5    6
    0   1   -2
    1   3    4
    """
    h, w = values.shape
    cells = [[_cell(values, pads, taps, hidden, r, c) for c in range(w)] for r in range(h)]
    width = max(len(cell) for row in cells for cell in row)
    width = max(width, *(len(str(label)) + 2 for label in col_labels or [0]))
    lines = []
    label_w = max((len(str(label)) for label in row_labels or []), default=-1)
    if col_labels is not None:
        lines.append(" " * (label_w + 1) + "".join(f"{lab:>{width - 2}}  " for lab in col_labels))
    for r, row in enumerate(cells):
        head = f"{row_labels[r]:>{label_w}} " if row_labels is not None else ""
        lines.append(head + "".join(f"{cell:>{width}}" for cell in row).rstrip())
    return "\n".join(line.rstrip() for line in lines)


def _cell(
    values: np.ndarray,
    pads: np.ndarray | None,
    taps: np.ndarray | None,
    hidden: np.ndarray | None,
    r: int,
    c: int,
) -> str:
    if hidden is not None and hidden[r, c]:
        return "·  "
    mark = "*" if pads is not None and pads[r, c] else " "
    text = fmt(float(values[r, c])) + mark
    return f"[{text}]" if taps is not None and taps[r, c] else f" {text} "


def describe_setup(setup: Setup) -> str:
    """The heading lines: operation, kernel, stride, dilation, pads, mode and shapes."""
    g = setup.geometry
    (top, bottom), (left, right) = g.pads
    word = f"{g.padding_word} -> " if g.padding_word else ""
    mode = (
        f"{setup.padding_mode} (cval {fmt(setup.cval)})"
        if setup.padding_mode == "zeros"
        else (setup.padding_mode)
    )
    flipped = "kernel flipped 180°, --flip" if setup.flip else "kernel not flipped"
    return "\n".join(
        [
            f"{setup.operation} ({flipped}) of a {g.input_hw[0]}x{g.input_hw[1]} input "
            f"with {setup.kernel_name} ({g.kernel_hw[0]}x{g.kernel_hw[1]})",
            f"stride {_pair(g.stride)}, dilation {_pair(g.dilation)}, padding {word}"
            f"top {top}, bottom {bottom}, left {left}, right {right}; padding mode {mode}",
            f"output {g.output_hw[0]}x{g.output_hw[1]}:",
            f"  {g.formula(0)}",
            f"  {g.formula(1)}",
        ]
    )


def _pair(pair: Pair) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]},{pair[1]}"


def format_padded_input(setup: Setup, at: Pair | None = None, *, limit: int = 16) -> str:
    """The padded input (``*`` = padding cell), the window of ``at`` bracketed.

    Inputs larger than ``limit`` cells a side are cropped around the window.
    """
    rows, cols = _view_ranges(setup, at, limit)
    (top, _), (left, _) = setup.geometry.pads
    region = np.ix_(rows, cols)
    taps = None
    if at is not None:
        taps = np.zeros(setup.padded.shape, dtype=bool)
        taps[np.ix_(*setup.tap_indices(at))] = True
        taps = taps[region]
    return format_grid(
        setup.padded[region],
        row_labels=[int(r) - top for r in rows],
        col_labels=[int(c) - left for c in cols],
        pads=setup.pad_mask()[region],
        taps=taps,
    )


def _view_ranges(setup: Setup, at: Pair | None, limit: int) -> tuple[np.ndarray, np.ndarray]:
    ph, pw = setup.padded.shape
    if at is None or max(ph, pw) <= limit:
        return np.arange(ph), np.arange(pw)
    (r0, c0), (eh, ew) = setup.window_origin(at), setup.geometry.effective_kernel_hw
    margin = 2
    rows = np.arange(max(r0 - margin, 0), min(r0 + eh + margin, ph))
    cols = np.arange(max(c0 - margin, 0), min(c0 + ew + margin, pw))
    return rows, cols


def format_sum(explanation: PositionExplanation, *, max_terms: int = 25) -> str:
    """``v×w + v×w + ... = total`` (only the total beyond ``max_terms`` taps).

    Examples
    --------
    >>> s = prepare(np.arange(4.0).reshape(2, 2), np.array([[1.0, -1.0]]), padding="valid")
    >>> format_sum(explain_at(s, (1, 0)))
    '2×1 + 3×(-1) = -1'
    """
    terms = [
        f"{_paren(fmt(v))}×{_paren(fmt(w))}"
        for v, w in zip(explanation.values.ravel(), explanation.weights.ravel(), strict=True)
    ]
    if len(terms) > max_terms:
        return f"sum of {len(terms)} products = {fmt(explanation.total)}"
    return " + ".join(terms) + f" = {fmt(explanation.total)}"


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def format_position(setup: Setup, explanation: PositionExplanation) -> str:
    """The full text view of one output value: window, kernel, products, sum, check."""
    at = explanation.at
    kernel_title = "kernel, flipped 180° for convolution" if setup.flip else "kernel (not flipped)"
    labels = {"row_labels": explanation.rows.tolist(), "col_labels": explanation.cols.tolist()}
    parts = [
        f"input around output[{at[0]}, {at[1]}] ([ ] = window taps, * = padding, "
        f"{_mode_words(setup)}):",
        format_padded_input(setup, at),
        "window (the input under each kernel tap):",
        format_grid(explanation.values, pads=explanation.padded, **labels),
        f"{kernel_title}:",
        format_grid(explanation.weights),
        "products (window × kernel):",
        format_grid(explanation.products),
        f"sum = {format_sum(explanation)}",
        f"engine output[{at[0]}, {at[1]}] = {fmt(explanation.engine_value)}  (matches the sum)",
    ]
    notes = padding_notes(setup, explanation)
    if notes:
        parts.insert(4, notes)
    return "\n".join(parts)


def _mode_words(setup: Setup) -> str:
    if setup.padding_mode == "zeros":
        return f"padding mode zeros: pads hold {fmt(setup.cval)}"
    return f"padding mode {setup.padding_mode}"


def padding_notes(setup: Setup, explanation: PositionExplanation, *, limit: int = 6) -> str:
    """Where the padding cells under the window take their values from."""
    sources = pad_sources(setup)
    if sources is None or not explanation.padded.any():
        return ""
    (top, _), (left, _) = setup.geometry.pads
    notes = []
    for i, j in zip(*np.nonzero(explanation.padded), strict=True):
        r, c = int(explanation.rows[i]), int(explanation.cols[j])
        src = int(sources[0][r + top]), int(sources[1][c + left])
        notes.append(f"({r},{c}) copies ({src[0]},{src[1]})")
    more = f", … {len(notes) - limit} more" if len(notes) > limit else ""
    return f"padding cells ({setup.padding_mode}): " + ", ".join(notes[:limit]) + more


def format_step(explanation: PositionExplanation) -> str:
    """One line for ``--steps``: ``out[r, c] = v×w + ... = total``."""
    return f"out[{explanation.at[0]}, {explanation.at[1]}] = {format_sum(explanation)}"


def format_overview(setup: Setup) -> str:
    """The whole small problem: padded input, kernel and the output grid."""
    return "\n".join(
        [
            f"padded input (* = padding, {_mode_words(setup)}):",
            format_padded_input(setup),
            "kernel, flipped 180° for convolution:" if setup.flip else "kernel (not flipped):",
            format_grid(setup.kernel_used),
            "output:",
            format_grid(
                output_grid(setup),
                row_labels=list(range(setup.geometry.output_hw[0])),
                col_labels=list(range(setup.geometry.output_hw[1])),
            ),
        ]
    )


# ---------------------------------------------------------------- the animation

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
    size : (int, int)
        Width and height in pixels.
    """

    path: Path
    frames: int
    size: tuple[int, int]


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
    >>> check_animatable(prepare(np.zeros((5, 5)), np.ones((3, 3))))
    """
    oh, ow = setup.geometry.output_hw
    ph, pw = setup.padded.shape
    if oh * ow > MAX_GIF_POSITIONS:
        msg = (
            f"--gif draws one frame per output position; {oh}x{ow} = {oh * ow} positions is "
            f"more than {MAX_GIF_POSITIONS}: use a smaller input or a larger --stride"
        )
        raise GeometryError(msg)
    if max(ph, pw) > MAX_GIF_SIDE:
        msg = (
            f"--gif needs a padded input of at most {MAX_GIF_SIDE}x{MAX_GIF_SIDE} cells; "
            f"got {ph}x{pw}: use a smaller input"
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
        f"{setup.operation} with {setup.kernel_name} {g.kernel_hw[0]}x{g.kernel_hw[1]}"
        f"{' (flipped)' if setup.flip else ''} · stride {_pair(g.stride)}"
        f" · dilation {_pair(g.dilation)}"
    )
    line2 = f"pads {top},{bottom},{left},{right} ({setup.padding_mode})"
    if at is not None:
        line2 += f" · out[{at[0]}, {at[1]}] = sum(window x kernel) = {fmt(output[at])}"
    elif done:
        line2 += f" · output {g.output_hw[0]}x{g.output_hw[1]} complete"
    draw.text((_MARGIN, 6), line1, fill=_TEXT, font=font)
    draw.text((_MARGIN, 22), line2, fill=_TEXT, font=font)


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
    from convcli.images import atomic_write

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
    return GifInfo(Path(path), len(frames), frames[0].size)
