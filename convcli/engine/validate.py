"""Checks on the arrays and options the engine is given; every failure is an EngineError."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from convcli.errors import EngineError

if TYPE_CHECKING:  # annotations only: numpy.typing costs every run's start-up
    from numpy.typing import ArrayLike, DTypeLike


def _real_array(value: ArrayLike, what: str, ndims: tuple[int, ...], expected: str) -> np.ndarray:
    """``value`` as a non-empty real array with one of ``ndims`` dimensions (``expected``)."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        msg = f"{what} is not a rectangular numeric array ({exc})"
        raise EngineError(msg) from None
    if arr.dtype.kind not in "biuf":
        msg = f"{what} dtype must be bool, integer or float; got {arr.dtype}"
        raise EngineError(msg)
    if arr.ndim not in ndims:
        msg = f"{what} must be {expected}; got {arr.ndim}-D shape {arr.shape}"
        raise EngineError(msg)
    if arr.size == 0:
        msg = f"{what} is empty (shape {arr.shape})"
        raise EngineError(msg)
    return arr


def as_image(image: ArrayLike) -> np.ndarray:
    """Return ``image`` as an (H, W) or (H, W, C) array of a real dtype.

    NaN and infinities pass (IEEE arithmetic: they spread to the outputs they touch);
    the commands refuse them with :func:`check_finite` before calling the engine.
    """
    return _real_array(image, "image", (2, 3), "2-D (H, W) or 3-D (H, W, C)")


def check_finite(values: np.ndarray, what: str, hint: str = "expected finite numbers") -> None:
    """Refuse NaN and infinities: convcli computes with finite numbers only.

    Examples
    --------
    >>> check_finite(np.array([1.0, np.inf, np.nan]), "image")
    Traceback (most recent call last):
    ...
    convcli.errors.EngineError: image has 2 NaN or infinite values; expected finite numbers
    """
    if values.dtype.kind != "f" or np.isfinite(values).all():
        return
    bad = int(values.size - np.count_nonzero(np.isfinite(values)))
    msg = f"{what} has {bad:,} NaN or infinite values; {hint}"
    raise EngineError(msg)


def as_signal(signal: ArrayLike) -> np.ndarray:
    """Return ``signal`` as a non-empty 1-D array of a real dtype."""
    return _real_array(signal, "signal", (1,), "1-D")


def as_kernel(kernel: ArrayLike, ndim: int = 2) -> np.ndarray:
    """Return ``kernel`` as a finite float64 array with ``ndim`` dimensions."""
    weights = _real_array(kernel, "kernel", (ndim,), f"{ndim}-D").astype(np.float64)
    if not np.all(np.isfinite(weights)):
        msg = "kernel has NaN or infinite values; expected finite numbers"
        raise EngineError(msg)
    top = float(np.finfo(np.float32).max)
    if np.abs(weights).max() > top:
        msg = f"kernel value {np.abs(weights).max():.3g} is beyond float32's range (±{top:.3g})"
        raise EngineError(msg)
    return weights


def output_dtype(input_dtype: np.dtype[Any], dtype: DTypeLike | None) -> np.dtype[Any]:
    """The dtype of the feature map: ``dtype``, else float64 for float64 input, else float32."""
    if dtype is None:
        return np.dtype(np.float64 if input_dtype == np.float64 else np.float32)
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


def check_threads(threads: int | None) -> None:
    """``threads`` must be None (all cores) or an int >= 1."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1:
        msg = f"threads must be None or an int >= 1; got {threads!r}"
        raise EngineError(msg)
