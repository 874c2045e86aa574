"""The whole-image entry points: validate, resolve the geometry, plan, and run tiles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from convcli.engine.run import ConvResult, Options, run
from convcli.engine.validate import as_image, as_kernel, as_signal
from convcli.errors import GeometryError
from convcli.geometry import PaddingSpec, Pair, resolve_geometry

if TYPE_CHECKING:  # annotations only: numpy.typing costs every run's start-up
    from numpy.typing import ArrayLike, DTypeLike


def _whole(x: np.ndarray, k: np.ndarray, options: Options, **geometry_args: Any) -> ConvResult:
    """Every output row of a validated 2-D image and kernel."""
    geometry = resolve_geometry(x.shape[:2], k.shape, **geometry_args)
    return run(x, k, geometry, (0, geometry.output_hw[0]), options)


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
    options = Options.checked(padding_mode, cval, flip, method, dtype, threads)
    x, k = as_image(image), as_kernel(kernel)
    return _whole(x, k, options, stride=stride, padding=padding, dilation=dilation)


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
    method : {'auto', 'direct', 'banded', 'separable', 'fft'}
        ``auto`` picks the cheapest by a cost model; the others (:data:`METHODS`) force
        one: ``direct`` tap by tap, ``banded`` as banded matrix products, ``separable``
        as 1-D passes of the kernel's rank-1 terms, ``fft`` by blocked FFTs. Every method
        gives the same numbers within float32 rounding.
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
    options = Options.checked(padding_mode, cval, flip, method, dtype, None)
    geometry_args = {"stride": stride_yx, "padding": padding_2d, "dilation": dilation_yx}
    result = _whole(x[None, :], k[None, :], options, **geometry_args)
    return result.output[0]
