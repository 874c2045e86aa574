"""The sliding window's arithmetic: the multiply-adds behind each output value.

Everything here works on a 2-D matrix of numbers and a 2-D kernel, with the engine's own
geometry and padding, and checks every sum it computes against the engine's output at the
same position. :mod:`convcli.learn.text` and :mod:`convcli.learn.animation` show the
results.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from convcli.engine import check_finite, conv2d, convolve, pad_image, pad_indices
from convcli.errors import EngineError, GeometryError
from convcli.geometry import (
    Geometry,
    PaddingSpec,
    Pair,
    anchored_padding,
    normalize_padding_mode,
    resolve_geometry,
)
from convcli.kernels import Kernel, KernelBank
from convcli.learn.shapes import dims


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
        The input padded by the engine's own :func:`~convcli.engine.pad_image`.
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

    Examples
    --------
    >>> roberts = Kernel("r", np.eye(2), anchor=(0, 0))
    >>> apply_padding(roberts, (5, 5)), apply_padding(roberts, (5, 5), flip=True)
    (((0, 1), (0, 1)), ((1, 0), (1, 0)))
    >>> apply_padding((2, 2), (5, 5))
    'same'
    """
    if isinstance(kernel, KernelBank):
        kernel = kernel.kernels[0]
    if not isinstance(kernel, Kernel):
        return padding
    kernel_hw = (kernel.shape[0], kernel.shape[1])
    anchor = kernel.anchor_as_run(flip)
    return anchored_padding(padding, input_hw, kernel_hw, anchor, stride=stride, dilation=dilation)


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
    EngineError
        If the input or the kernel is not 2-D.
    GeometryError
        If the geometry is invalid or the output would be empty.
    """
    x = np.asarray(values, dtype=np.float64)
    check_finite(x, "the input")
    k = np.asarray(kernel, dtype=np.float64)
    if x.ndim != 2 or k.ndim != 2:
        msg = f"explain needs a 2-D input and a 2-D kernel; got shapes {x.shape} and {k.shape}"
        raise EngineError(msg)
    g = resolve_geometry(x.shape, k.shape, stride=stride, padding=padding, dilation=dilation)
    mode = normalize_padding_mode(padding_mode)
    padded = pad_image(x, g, mode, cval)
    return Setup(x, k, kernel_name, g, mode, float(cval), flip, padded)


def explain_at(
    setup: Setup, at: Pair, *, engine_value: float | None = None
) -> PositionExplanation:
    """Compute the multiply-adds for output ``at`` and check them against the engine.

    Parameters
    ----------
    setup : Setup
        The problem, from :func:`prepare`.
    at : (int, int)
        Output row and column.
    engine_value : float, optional
        The engine's output at ``at`` when already at hand (from :attr:`Setup.output`, for
        many positions); by default the engine runs on the window's patch.

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
    if engine_value is None:
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
            f"position {at[0]},{at[1]} is outside the output {dims((oh, ow))}; "
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

    These are the engine's own index maps (:func:`convcli.engine.pad_indices`).

    Examples
    --------
    >>> s = prepare(np.zeros((4, 4)), np.ones((3, 3)), padding=2, padding_mode="reflect")
    >>> pad_sources(s)[0].tolist()
    [2, 1, 0, 1, 2, 3, 2, 1]
    """
    if setup.padding_mode == "zeros":
        return None
    (h, w), (rows, cols) = setup.geometry.input_hw, setup.geometry.pads
    return (
        pad_indices(h, rows[0], rows[1], setup.padding_mode),
        pad_indices(w, cols[0], cols[1], setup.padding_mode),
    )
