"""Checks on the arrays and options the engine is given; every failure is an EngineError."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from convcli.errors import EngineError

METHODS = ("auto", "direct", "separable", "fft")


def _asarray(value: ArrayLike, what: str) -> np.ndarray:
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        msg = f"{what} is not a rectangular numeric array ({exc})"
        raise EngineError(msg) from None


def _check_dtype(arr: np.ndarray, what: str) -> None:
    if arr.dtype.kind not in "biuf":
        msg = f"{what} dtype must be bool, integer or float; got {arr.dtype}"
        raise EngineError(msg)


def as_image(image: ArrayLike) -> np.ndarray:
    """Return ``image`` as an (H, W) or (H, W, C) array of a real dtype."""
    arr = _asarray(image, "image")
    _check_dtype(arr, "image")
    if arr.ndim not in (2, 3):
        msg = f"image must be 2-D (H, W) or 3-D (H, W, C); got {arr.ndim}-D shape {arr.shape}"
        raise EngineError(msg)
    if arr.size == 0:
        msg = f"image is empty (shape {arr.shape})"
        raise EngineError(msg)
    return arr


def as_signal(signal: ArrayLike) -> np.ndarray:
    """Return ``signal`` as a non-empty 1-D array of a real dtype."""
    arr = _asarray(signal, "signal")
    _check_dtype(arr, "signal")
    if arr.ndim != 1:
        msg = f"signal must be 1-D; got {arr.ndim}-D shape {arr.shape}"
        raise EngineError(msg)
    if arr.size == 0:
        msg = f"signal is empty (shape {arr.shape})"
        raise EngineError(msg)
    return arr


def as_kernel(kernel: ArrayLike, ndim: int = 2) -> np.ndarray:
    """Return ``kernel`` as a finite float64 array with ``ndim`` dimensions."""
    arr = _asarray(kernel, "kernel")
    _check_dtype(arr, "kernel")
    if arr.ndim != ndim:
        msg = f"kernel must be {ndim}-D; got {arr.ndim}-D shape {arr.shape}"
        raise EngineError(msg)
    if arr.size == 0:
        msg = f"kernel is empty (shape {arr.shape})"
        raise EngineError(msg)
    weights = arr.astype(np.float64)
    if not np.all(np.isfinite(weights)):
        msg = "kernel has NaN or infinite values; expected finite numbers"
        raise EngineError(msg)
    return weights


def output_dtype(image: np.ndarray, dtype: DTypeLike | None) -> np.dtype[Any]:
    """The dtype of the feature map: ``dtype``, else float64 for float64 input, else float32."""
    if dtype is None:
        return np.dtype(np.float64 if image.dtype == np.float64 else np.float32)
    try:
        out = np.dtype(dtype)
    except TypeError:
        out = None
    if out is None or out.kind != "f":
        msg = f"dtype must be a float type (float16, float32, float64); got {dtype!r}"
        raise EngineError(msg)
    return out


def compute_dtype(out: np.dtype[Any]) -> np.dtype[Any]:
    """The dtype the arithmetic runs in: float64 for 64-bit or wider, else float32."""
    return np.dtype(np.float64 if out.itemsize >= 8 else np.float32)


def check_method(method: str) -> str:
    """Return ``method`` if it is one of :data:`METHODS`."""
    if method not in METHODS:
        msg = f"unknown method {method!r}; expected one of: {', '.join(METHODS)}"
        raise EngineError(msg)
    return method


def check_threads(threads: int | None) -> None:
    """``threads`` must be None (all cores) or an int >= 1."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1:
        msg = f"threads must be None or an int >= 1; got {threads!r}"
        raise EngineError(msg)
