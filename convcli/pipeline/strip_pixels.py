"""One strip's float values to pixels in place: ``to_pixels(map_range(...))`` in fewer passes.

The strip pipeline owns each strip's float32 values (fresh from the engine), so ``clip``,
``abs`` and ``offset`` work on them in place: the gain, the mapping, one clip (none when
the range shows the values inside it), then ``+ 0.5`` cast straight into the pixel type
(the cast the rounding's ``astype`` makes), instead of a new array per step and a second
clip. The pixels and the clipped count are those of :func:`~convcli.values.map_range`
then :func:`~convcli.values.to_pixels`, bit for bit: a step is left out only where it
could change nothing but the sign of a zero, which ``+ 0.5`` erases.
"""

from __future__ import annotations

import math

import numpy as np

from convcli.values import count_clipped, map_range, scaled_range, to_pixels

IN_PLACE = frozenset({"clip", "abs", "offset", "normalize"})
"""Mappings :func:`strip_pixels` works in place; the others take the general functions."""


def strip_pixels(
    values: np.ndarray,
    mapping: str,
    *,
    max_value: float,
    low: float,
    high: float,
    scale: float,
    bias: float,
    depth: int,
) -> tuple[np.ndarray, int]:
    """Pixels of ``depth`` bits and the clipped count for one strip; ``values`` is overwritten.

    Parameters
    ----------
    values : numpy.ndarray
        float32, owned by the caller and not used after (it is scratch).
    mapping : str
        Resolved (not ``auto``).
    max_value : float
        Full intensity of the values (255, 65535).
    low, high : float
        A range holding every value: the strip's own, or the whole map's.
    scale, bias : float
        The gain before the mapping.
    depth : {8, 16}

    Returns
    -------
    (numpy.ndarray, int)
        As ``to_pixels(map_range(values, ...)[0], depth, max_value=max_value)`` and the count.
    """
    if mapping not in IN_PLACE or values.dtype != np.float32 or not _finite(low, high):
        mapped, clipped = map_range(values, mapping, max_value=max_value, low=low, high=high,
                                    scale=scale, bias=bias)  # fmt: skip
        if math.isnan(low):  # NaN has no pixel value
            mapped = np.nan_to_num(mapped, nan=0.0)
        return to_pixels(mapped, depth, max_value=max_value), clipped
    if mapping == "normalize":
        return _normalized(values, depth, max_value, *scaled_range(low, high, scale, bias),
                           scale, bias)  # fmt: skip
    exact = scale == 1.0 and not bias  # the float32 values lie in low..high exactly
    nonnegative = low >= 0 and scale > 0 and not bias
    if not exact:
        np.multiply(values, np.float32(scale), out=values)  # + 0.0 would change only -0.0
        if bias:
            np.add(values, np.float32(bias), out=values)
        low, high = scaled_range(low, high, scale, bias)
    low, high = _mapped(values, mapping, low, high, max_value, nonnegative)
    clipped = count_clipped(values, max_value, low, high)
    if not exact or low < 0 or high > max_value:
        np.clip(values, np.float32(0), np.float32(max_value), out=values)
    return _rounded(values, depth, max_value), clipped


def _finite(low: float, high: float) -> bool:
    return math.isfinite(low) and math.isfinite(high)


def _mapped(
    values: np.ndarray, mapping: str, low: float, high: float, max_value: float,
    nonnegative: bool,
) -> tuple[float, float]:  # fmt: skip
    """``abs`` or ``offset`` in place; the range after it (as the mapping's clip gets it)."""
    if mapping == "abs":
        if not nonnegative:  # |x| of x >= 0 is x (a -0.0 aside)
            np.abs(values, out=values)
        return 0.0, max(abs(low), abs(high))
    if mapping == "offset":
        shift = max_value / 2
        np.add(values, np.float32(shift), out=values)
        return low + shift, high + shift
    return low, high


def _normalized(
    values: np.ndarray, depth: int, max_value: float, low: float, high: float, scale: float,
    bias: float,
) -> tuple[np.ndarray, int]:  # fmt: skip
    """``normalize`` as :mod:`convcli.values` computes it (in float64), on one scratch array."""
    if high - low <= 0 or not np.isfinite(high - low):
        values.fill(0)
        return _rounded(values, depth, max_value), 0
    if scale != 1.0 or bias:  # the gain in float32 first, as map_range applies it
        np.multiply(values, np.float32(scale), out=values)
        np.add(values, np.float32(bias), out=values)
    wide = values.astype(np.float64)
    np.subtract(wide, low, out=wide)
    np.multiply(wide, max_value / (high - low), out=wide)
    np.clip(wide, 0, max_value, out=wide)
    values[...] = wide
    return _rounded(values, depth, max_value), 0


def _rounded(values: np.ndarray, depth: int, max_value: float) -> np.ndarray:
    """:func:`~convcli.values.to_pixels` of values already clipped to [0, max_value]."""
    top = float(2**depth - 1)
    if max_value != top:
        np.multiply(values, np.float32(top / max_value), out=values)
        np.clip(values, np.float32(0), np.float32(top), out=values)
    pixels = np.empty(values.shape, np.uint8 if depth == 8 else np.uint16)
    # x + 0.5 cast as astype casts it: floor, for x in [0, top] (halves round up)
    np.add(values, np.float32(0.5), out=pixels, casting="unsafe")
    return pixels
