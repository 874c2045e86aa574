"""Validation, padding and a plain tap-by-tap direct method (a first, correct engine)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from convcli.errors import EngineError
from convcli.geometry import (
    Geometry,
    PaddingSpec,
    Pair,
    normalize_padding_mode,
    resolve_geometry,
)

_NUMPY_PAD_MODE = {
    "reflect": "reflect",
    "symmetric": "symmetric",
    "replicate": "edge",
    "circular": "wrap",
}


@dataclass(frozen=True)
class ConvResult:
    """A feature map with the geometry and method that produced it."""

    output: np.ndarray
    geometry: Geometry
    method: str
    flip: bool


def _as_image(image: ArrayLike) -> np.ndarray:
    arr = np.asarray(image)
    if arr.dtype.kind not in "biuf":
        msg = f"image dtype must be bool, integer or float; got {arr.dtype}"
        raise EngineError(msg)
    if arr.ndim not in (2, 3):
        msg = f"image must be 2-D (H, W) or 3-D (H, W, C); got {arr.ndim}-D shape {arr.shape}"
        raise EngineError(msg)
    if arr.size == 0:
        msg = f"image is empty (shape {arr.shape})"
        raise EngineError(msg)
    return arr


def _as_kernel(kernel: ArrayLike, ndim: int = 2) -> np.ndarray:
    arr = np.asarray(kernel)
    if arr.dtype.kind not in "biuf":
        msg = f"kernel dtype must be bool, integer or float; got {arr.dtype}"
        raise EngineError(msg)
    if arr.ndim != ndim:
        msg = f"kernel must be {ndim}-D; got {arr.ndim}-D shape {arr.shape}"
        raise EngineError(msg)
    if arr.size == 0:
        msg = f"kernel is empty (shape {arr.shape})"
        raise EngineError(msg)
    if not np.all(np.isfinite(arr)):
        msg = "kernel has NaN or infinite values"
        raise EngineError(msg)
    return arr


def _work_dtype(image: np.ndarray, dtype: DTypeLike | None) -> np.dtype[Any]:
    if dtype is not None:
        out = np.dtype(dtype)
        if out.kind != "f":
            msg = f"dtype must be a float type; got {out}"
            raise EngineError(msg)
        return out
    return np.dtype(np.float64 if image.dtype == np.float64 else np.float32)


def pad_image(image: np.ndarray, geometry: Geometry, padding_mode: str, cval: float) -> np.ndarray:
    """Pad an (H, W) or (H, W, C) array by ``geometry.pads`` in ``padding_mode``."""
    mode = normalize_padding_mode(padding_mode)
    pads = [geometry.pads[0], geometry.pads[1]] + [(0, 0)] * (image.ndim - 2)
    if mode == "zeros":
        return np.pad(image, pads, mode="constant", constant_values=cval)
    return np.pad(image, pads, mode=_NUMPY_PAD_MODE[mode])  # type: ignore[call-overload]


def _direct(xpad: np.ndarray, kernel: np.ndarray, geometry: Geometry) -> np.ndarray:
    (oh, ow), (sy, sx), (dy, dx) = geometry.output_hw, geometry.stride, geometry.dilation
    out = np.zeros((oh, ow, *xpad.shape[2:]), dtype=xpad.dtype)
    for m in range(kernel.shape[0]):
        for n in range(kernel.shape[1]):
            w = kernel[m, n]
            if w == 0:
                continue
            y0, x0 = m * dy, n * dx
            window = xpad[y0 : y0 + (oh - 1) * sy + 1 : sy, x0 : x0 + (ow - 1) * sx + 1 : sx]
            out += w * window
    return out


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
) -> ConvResult:
    """Run :func:`conv2d` and return the feature map with its geometry and method."""
    x = _as_image(image)
    k = _as_kernel(kernel)
    geometry = resolve_geometry(
        x.shape[:2], k.shape, stride=stride, padding=padding, dilation=dilation
    )
    normalize_padding_mode(padding_mode)
    work = _work_dtype(x, dtype)
    kw = k.astype(np.float64)[::-1, ::-1] if flip else k.astype(np.float64)
    xpad = pad_image(x.astype(work), geometry, padding_mode, cval)
    return ConvResult(_direct(xpad, kw.astype(work), geometry), geometry, "direct", flip)


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
) -> np.ndarray:
    """Cross-correlate (or, with ``flip=True``, convolve) an image with a 2-D kernel.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Any real dtype; each channel is filtered separately.
    kernel : array_like, shape (kh, kw)
    stride, dilation : int or (int, int)
    padding : int, (ph, pw), ((top, bottom), (left, right)) or {'valid', 'same', 'full'}
    padding_mode : {'zeros', 'reflect', 'symmetric', 'replicate', 'circular'}
        Aliases ``constant``, ``edge`` and ``wrap`` are accepted.
    cval : float
        The constant for ``zeros`` padding.
    flip : bool
        True convolution (kernel rotated 180°) instead of cross-correlation.
    method : {'auto', 'direct', 'separable', 'fft'}
    dtype : float dtype, optional
        Defaults to float32, or float64 for float64 input.

    Returns
    -------
    numpy.ndarray
        Shape ``output_shape(...)`` (plus the channel axis).

    Examples
    --------
    >>> import numpy as np
    >>> conv2d(np.arange(9.0).reshape(3, 3), np.ones((2, 2))).tolist()
    [[8.0, 12.0], [20.0, 24.0]]
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
    ).output


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
    """One-dimensional :func:`conv2d`: ``conv1d(x, k, padding="full", flip=True)`` is ``np.convolve``.

    Examples
    --------
    >>> conv1d([1, 2, 3], [0, 1, 0.5], padding="full", flip=True).tolist()
    [0.0, 1.0, 2.5, 4.0, 1.5]
    """
    x = np.asarray(signal)
    k = _as_kernel(kernel, ndim=1)
    if x.ndim != 1:
        msg = f"signal must be 1-D; got {x.ndim}-D shape {x.shape}"
        raise EngineError(msg)
    pad2d: PaddingSpec
    if isinstance(padding, str):
        pad2d = padding
    elif isinstance(padding, tuple | list):
        pad2d = ((0, 0), (int(padding[0]), int(padding[1])))
    else:
        pad2d = ((0, 0), (int(padding), int(padding)))
    out = conv2d(
        x[None, :],
        k[None, :],
        stride=(1, stride),
        padding=pad2d,
        padding_mode=padding_mode,
        cval=cval,
        dilation=(1, dilation),
        flip=flip,
        method=method,
        dtype=dtype,
    )
    return out[0]
