"""The public entry points: validate, resolve the geometry, plan, and run tiles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from convcli.engine import planner
from convcli.engine.banded import BLOCK, band_plan, banded_phases
from convcli.engine.direct import direct_tile
from convcli.engine.fft import FFTPlan, fft_tile, fft_tile_rows
from convcli.engine.padding import PaddedSource, pad_image
from convcli.engine.separable import plan_passes, separable_tile
from convcli.engine.tiling import cpu_count, run_tiles, scratch
from convcli.engine.validate import (
    as_image,
    as_kernel,
    as_signal,
    check_method,
    check_threads,
    compute_dtype,
    output_dtype,
)
from convcli.errors import GeometryError
from convcli.geometry import (
    Geometry,
    PaddingMode,
    PaddingSpec,
    Pair,
    normalize_padding_mode,
    resolve_geometry,
)

# bytes of padded input per tile: big enough for threads to pay, small enough for L2
TILE_BYTES = 1024 * 1024

# fills one output row tile from the padded source rows p0:p1
TileWork = Callable[[PaddedSource, int, int, np.ndarray], None]


@dataclass(frozen=True)
class ConvResult:
    """A feature map with the geometry and the method that produced it.

    Attributes
    ----------
    output : numpy.ndarray
        The feature map, (H', W') or (H', W', C).
    geometry : Geometry
        Pads, stride, dilation and output shape actually used.
    method : str
        The method that ran: ``direct``, ``separable`` or ``fft``.
    flip : bool
        True for convolution (kernel rotated 180°), False for cross-correlation.
    """

    output: np.ndarray
    geometry: Geometry
    method: str
    flip: bool


def _rows(source: PaddedSource, p0: int, p1: int, out: np.ndarray) -> np.ndarray:
    buf = scratch("source", (p1 - p0, source.width, *out.shape[2:]), source.dtype)
    return source.block(p0, p1, buf)


def _phases(source: PaddedSource, p0: int, p1: int, out: np.ndarray, sx: int) -> list[np.ndarray]:
    return source.phases(p0, p1, sx) if sx > 1 else [_rows(source, p0, p1, out)]


def _tile_work(
    method: str, kernel: np.ndarray, geometry: Geometry, dtype: Any, channels: int
) -> TileWork:
    """What one tile does, for the method chosen."""
    if method == "separable":
        passes = plan_passes(kernel, geometry, dtype, channels)
        return lambda s, p0, p1, out: separable_tile(_rows(s, p0, p1, out), passes, geometry, out)
    if method == "fft":
        plan = FFTPlan.create(kernel, geometry, dtype)
        return lambda s, p0, p1, out: fft_tile(_rows(s, p0, p1, out), plan, geometry, out)
    if planner.use_banded(kernel, geometry):
        bands, sx = band_plan(kernel, geometry, np.dtype(dtype)), geometry.stride[1]
        return lambda s, p0, p1, out: banded_phases(_phases(s, p0, p1, out, sx), bands, out)
    weights = kernel.astype(dtype)
    return lambda s, p0, p1, out: direct_tile(_rows(s, p0, p1, out), weights, geometry, out)


def _tile_rows(method: str, geometry: Geometry, row_bytes: int) -> int:
    """Output rows per tile: a row of FFT blocks, or about TILE_BYTES of padded input."""
    if method == "fft":
        return fft_tile_rows(geometry)
    input_rows = max(1, TILE_BYTES // max(1, row_bytes))
    # whole band blocks in every row phase (dilated rows run phase by phase)
    unit = BLOCK * (geometry.dilation[0] if geometry.stride[0] == 1 else 1)
    rows = max(unit, input_rows // geometry.stride[0])
    return rows - rows % unit


def _execute(
    source: PaddedSource, kernel: np.ndarray, geometry: Geometry, method: str, threads: int
) -> np.ndarray:
    """Allocate the feature map and fill it tile by tile with ``method``."""
    channels = int(np.prod(source.image.shape[2:], dtype=int))
    out = np.empty((*geometry.output_hw, *source.image.shape[2:]), source.dtype)
    work = _tile_work(method, kernel, geometry, source.dtype, channels)
    sy, ekh = geometry.stride[0], geometry.effective_kernel_hw[0]

    def tile(i0: int, i1: int) -> None:
        work(source, i0 * sy, (i1 - 1) * sy + ekh, out[i0:i1])

    row_bytes = source.width * channels * source.dtype.itemsize
    run_tiles(tile, out.shape[0], _tile_rows(method, geometry, row_bytes), threads)
    return out


def _run(
    x: np.ndarray,
    k: np.ndarray,
    mode: PaddingMode,
    cval: float,
    flip: bool,
    method: str,
    dtype: DTypeLike | None,
    threads: int | None,
    **geometry_args: Any,
) -> ConvResult:
    """Convolve a validated 2-D image and kernel with checked options."""
    if flip:
        k = k[::-1, ::-1]
    geometry = resolve_geometry(x.shape[:2], k.shape, **geometry_args)
    k = np.ascontiguousarray(k)
    out_dtype = output_dtype(x, dtype)
    compute = compute_dtype(out_dtype)
    if method == "auto":
        method = planner.choose(k, geometry, compute).method
    source = PaddedSource.create(x, geometry, mode, cval, compute)
    out = _execute(source, k, geometry, method, threads or cpu_count())
    return ConvResult(out.astype(out_dtype, copy=False), geometry, method, flip)


def _options(method: str, threads: int | None, padding_mode: str) -> PaddingMode:
    """Check ``method`` and ``threads``; return the canonical padding mode."""
    check_method(method)
    check_threads(threads)
    return normalize_padding_mode(padding_mode)


def convolve(
    image: ArrayLike,
    kernel: ArrayLike,
    *,
    stride: int | Pair = 1,
    padding: PaddingSpec = 0,
    padding_mode: str = "zeros",
    cval: float = 0.0,
    dilation: int | Pair = 1,
    flip: bool = False,
    method: str = "auto",
    dtype: DTypeLike | None = None,
    threads: int | None = None,
) -> ConvResult:
    """Run :func:`conv2d` and return the feature map with its geometry and method.

    Parameters are those of :func:`conv2d`.

    Returns
    -------
    ConvResult
        ``output``, the resolved ``geometry``, the ``method`` that ran and ``flip``.

    Examples
    --------
    >>> import numpy as np
    >>> result = convolve(np.ones((6, 6)), np.ones((3, 3)), method="direct")
    >>> result.output.shape, result.method, result.geometry.pads
    ((4, 4), 'direct', ((0, 0), (0, 0)))
    """
    mode = _options(method, threads, padding_mode)
    x, k = as_image(image), as_kernel(kernel)
    return _run(
        x,
        k,
        mode,
        cval,
        flip,
        method,
        dtype,
        threads,
        stride=stride,
        padding=padding,
        dilation=dilation,
    )


def conv2d(
    image: ArrayLike,
    kernel: ArrayLike,
    *,
    stride: int | Pair = 1,
    padding: PaddingSpec = 0,
    padding_mode: str = "zeros",
    cval: float = 0.0,
    dilation: int | Pair = 1,
    flip: bool = False,
    method: str = "auto",
    dtype: DTypeLike | None = None,
    threads: int | None = None,
) -> np.ndarray:
    r"""Cross-correlate (or, with ``flip=True``, convolve) an image with a 2-D kernel.

    ``out[i, j] = sum_m sum_n xpad[i*sy + m*dy, j*sx + n*dx] * k[m, n]`` where ``xpad``
    is the image padded by ``padding`` in ``padding_mode``.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Any real dtype (bool, integer, float); each channel is filtered separately.
    kernel : array_like, shape (kh, kw)
        Finite real weights, any size (odd or even).
    stride, dilation : int or (int, int)
        ``>= 1``, as ``(y, x)`` when a pair.
    padding : int, (ph, pw), ((top, bottom), (left, right)) or {'valid', 'same', 'full'}
        ``same`` gives ``ceil(n / stride)`` outputs, the odd pad at the bottom/right.
    padding_mode : {'zeros', 'reflect', 'symmetric', 'replicate', 'circular'}
        Aliases ``constant``, ``edge`` and ``wrap`` are accepted; pads wider than the
        image repeat as in :func:`numpy.pad`.
    cval : float
        The constant for ``zeros`` padding.
    flip : bool
        True convolution (kernel rotated 180°) instead of cross-correlation.
    method : {'auto', 'direct', 'separable', 'fft'}
        ``auto`` picks the cheapest by a cost model; the others force one.
    dtype : float dtype, optional
        Output dtype; defaults to float32, or float64 for float64 input.
    threads : int, optional
        Threads to use; all cores by default.

    Returns
    -------
    numpy.ndarray
        Shape ``output_shape(...)`` (plus the channel axis).

    Raises
    ------
    GeometryError
        Bad stride, dilation or padding, or a kernel larger than the padded input.
    EngineError
        A bad array (dimensions, dtype, empty, non-finite kernel) or option.

    Examples
    --------
    >>> import numpy as np
    >>> conv2d(np.arange(9.0).reshape(3, 3), np.ones((2, 2))).tolist()
    [[8.0, 12.0], [20.0, 24.0]]
    >>> conv2d(np.ones((5, 5), np.uint8), np.ones((3, 3)), stride=2, padding="same").shape
    (3, 3)
    """
    return convolve(
        image,
        kernel,
        stride=stride,
        padding=padding,
        padding_mode=padding_mode,
        cval=cval,
        dilation=dilation,
        flip=flip,
        method=method,
        dtype=dtype,
        threads=threads,
    ).output


def _one_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        msg = f"{name} must be an int for conv1d; got {value!r}"
        raise GeometryError(msg)
    return int(value)


def _padding_1d(padding: int | tuple[int, int] | str) -> PaddingSpec:
    if isinstance(padding, str):
        return padding
    if isinstance(padding, tuple | list) and len(padding) == 2:
        return ((0, 0), (_one_int(padding[0], "padding"), _one_int(padding[1], "padding")))
    if isinstance(padding, int | np.integer) and not isinstance(padding, bool):
        return ((0, 0), (int(padding), int(padding)))
    msg = f"padding must be an int, (before, after) or one of valid, same, full; got {padding!r}"
    raise GeometryError(msg)


def conv1d(
    signal: ArrayLike,
    kernel: ArrayLike,
    *,
    stride: int = 1,
    padding: int | tuple[int, int] | str = 0,
    padding_mode: str = "zeros",
    cval: float = 0.0,
    dilation: int = 1,
    flip: bool = False,
    method: str = "auto",
    dtype: DTypeLike | None = None,
) -> np.ndarray:
    """One-dimensional :func:`conv2d`; ``padding="full", flip=True`` is ``numpy.convolve``.

    Parameters
    ----------
    signal : array_like, shape (N,)
    kernel : array_like, shape (k,)
    stride, dilation : int
    padding : int, (before, after) or {'valid', 'same', 'full'}
    padding_mode, cval, flip, method, dtype
        As for :func:`conv2d`.

    Returns
    -------
    numpy.ndarray
        Shape ``(N',)``.

    Examples
    --------
    >>> conv1d([1, 2, 3], [0, 1, 0.5], padding="full", flip=True).tolist()
    [0.0, 1.0, 2.5, 4.0, 1.5]
    """
    x, k = as_signal(signal), as_kernel(kernel, ndim=1)
    stride_yx = (1, _one_int(stride, "stride"))
    padding_2d = _padding_1d(padding)
    dilation_yx = (1, _one_int(dilation, "dilation"))
    mode = _options(method, None, padding_mode)
    result = _run(
        x[None, :],
        k[None, :],
        mode,
        cval,
        flip,
        method,
        dtype,
        None,
        stride=stride_yx,
        padding=padding_2d,
        dilation=dilation_yx,
    )
    return result.output[0]


__all__ = ["ConvResult", "conv1d", "conv2d", "convolve", "pad_image"]
