"""Feature map -> pixel values: the value mappings and rounding to integer pixels.

The engine computes in floating point; only writing an image maps values back to the
pixel range, and :class:`MappingReport` says how and how many values were clipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from convcli.choices import VALUE_MAPPINGS, ValueMapping
from convcli.errors import OutputError
from convcli.percentile import MagnitudePercentile

__all__ = [
    "AUTO_PERCENTILE",
    "POINTWISE_MAPPINGS",
    "ROBUST",
    "ROBUST_REASON",
    "VALUE_MAPPINGS",
    "MappingReport",
    "ValueMapping",
    "count_clipped",
    "magnitude_percentile",
    "map_range",
    "map_values",
    "resolve_mapping",
    "response_top",
    "robust_gain",
    "robust_scale",
    "scaled_range",
    "to_pixels",
]

AUTO_PERCENTILE = 99.5
"""``auto`` maps this percentile of ``|response|`` of a zero-sum kernel to full intensity."""

POINTWISE_MAPPINGS = frozenset({"clip", "abs", "offset", "raw"})
"""Mappings of each value alone: a strip maps as the whole map would, in one pass.

Any other (``normalize``, and ``auto``'s robust scale of a zero-sum kernel) needs whole-map
statistics first: the strip pipeline gathers them in a first pass, then maps each strip
with :func:`map_range`.
"""


@dataclass(frozen=True)
class MappingReport:
    """How a feature map was mapped to pixel values.

    Attributes
    ----------
    mapping : str
        The mapping that ran (never ``"auto"``).
    min, max : float
        The feature map's range before mapping.
    clipped : int
        How many values fell outside ``[0, max_value]`` and were clipped.
    clipped_share : float
        ``clipped`` as a share of all values, 0..1.
    scale, bias : float
        The response was ``x * scale + bias`` before the mapping ran (``--scale``,
        ``--bias``, or the gain ``auto`` chose): ``--map MAPPING --scale S --bias B``
        reproduces it.
    reason : str
        Why ``auto`` chose this mapping and scale ("" for a mapping given by name).
    """

    mapping: str
    min: float
    max: float
    clipped: int
    clipped_share: float
    scale: float = 1.0
    bias: float = 0.0
    reason: str = ""


def map_values(
    fmap: np.ndarray,
    mapping: ValueMapping | str,
    *,
    max_value: float,
    kernel_sum: float | None,
    scale: float | None = None,
    bias: float = 0.0,
) -> tuple[np.ndarray, MappingReport]:
    """Map a feature map to ``[0, max_value]`` and report what happened.

    Parameters
    ----------
    fmap : numpy.ndarray
        The feature map (any shape), floating point.
    mapping : {"auto", "clip", "abs", "normalize", "offset", "raw"}
        ``clip``: clip to ``[0, max_value]``. ``abs``: ``|x|`` then clip.
        ``normalize``: min-max to the full range (a constant map gives zeros).
        ``offset``: ``x + max_value / 2`` then clip (mid-grey is zero).
        ``raw``: unchanged (only float outputs can hold it).
        ``auto``: ``clip`` for kernels whose sum is not 0 (and when ``kernel_sum`` is
        None); for zero-sum kernels (edge detectors; a kernel's sum is 0 when
        :func:`convcli.kernels.is_zero_sum` says so) ``abs`` with a gain that maps the
        :data:`AUTO_PERCENTILE` percentile of ``|x|`` to ``max_value``
        (:func:`robust_scale`), unless ``scale`` is given.
    max_value : float
        The value of full intensity on the output scale (255.0, 65535.0, 1.0).
    kernel_sum : float or None
        Sum of the kernel's weights, used by ``auto``.
    scale, bias : float, optional
        ``x * scale + bias`` before the mapping, as ImageMagick's ``convolve:scale`` and
        bias, libvips' scale/offset and OpenCV's scale/delta do. The range reported is
        the response's before them.

    Returns
    -------
    mapped : numpy.ndarray
        Floating point, same shape (float32 unless ``fmap`` is float64).
    report : MappingReport
        The mapping that ran, the range of ``fmap`` and how many values were clipped.

    Examples
    --------
    >>> import numpy as np
    >>> out, report = map_values(np.array([-10.0, 5.0, 300.0]), "abs",
    ...                          max_value=255.0, kernel_sum=0.0)
    >>> out.tolist(), report.mapping, report.clipped, report.scale
    ([10.0, 5.0, 255.0], 'abs', 1, 1.0)
    >>> out, report = map_values(np.array([-10.0, 5.0, 30.0]), "auto", max_value=255.0,
    ...                          kernel_sum=0.0)
    >>> report.mapping, round(report.scale, 4), report.reason
    ('abs', 8.557, 'auto: kernel sums to 0; p99.5 of |response| → white')
    """
    resolved, reason = resolve_mapping(mapping, kernel_sum, free_scale=scale is None)
    values = _as_float(fmap)
    response_range = low, high = _range(values)
    if reason == ROBUST:
        scale = robust_scale(values, max_value)
    gain = 1.0 if scale is None else float(scale)
    mapped, clipped = map_range(values, resolved, max_value=max_value, low=low, high=high,
                                scale=gain, bias=bias)  # fmt: skip
    if reason == ROBUST:
        reason = ROBUST_REASON
    share = clipped / values.size if values.size else 0.0
    report = MappingReport(resolved, *response_range, clipped, share, gain, bias, reason)
    return mapped, report


def robust_scale(values: np.ndarray, max_value: float) -> float:
    """The gain that maps :func:`response_top` of ``values`` to ``max_value`` (1 if it is 0).

    Examples
    --------
    >>> round(robust_scale(np.array([0.0, -1.0, 2.0, 4.0]), 255.0), 3)  # p99.5 is 3.97
    64.232
    """
    return robust_gain(_magnitudes(values), max_value)


def robust_gain(top: MagnitudePercentile, max_value: float) -> float:
    """:func:`robust_scale` of the values ``top`` was given (whole, or strip by strip)."""
    value = _top_of(top)
    return max_value / value if value > 0 else 1.0


def response_top(values: np.ndarray) -> float:
    """The :data:`AUTO_PERCENTILE` percentile of ``|values|``: where a robust scale ends.

    A map whose percentile is 0 (mostly flat) gives its largest ``|value|``; a map of
    zeros, or one without finite values, gives 0. NaN and infinities are left out. The
    value is ``np.percentile``'s, to the bit (:class:`~convcli.percentile.MagnitudePercentile`).

    Examples
    --------
    >>> round(response_top(np.array([0.0, 0.0, 0.0, -8.0])), 3), response_top(np.zeros(3))
    (7.88, 0.0)
    """
    return _top_of(_magnitudes(values))


def magnitude_percentile(size: int) -> MagnitudePercentile:
    """An empty :data:`AUTO_PERCENTILE` tracker for a map of ``size`` values."""
    return MagnitudePercentile(size, AUTO_PERCENTILE)


def _magnitudes(values: np.ndarray) -> MagnitudePercentile:
    top = magnitude_percentile(np.size(values))
    top.add(values)
    return top


def _top_of(top: MagnitudePercentile) -> float:
    """:func:`response_top` of the values ``top`` was given."""
    return top.value() or top.maximum


def map_range(
    values: np.ndarray,
    mapping: str,
    *,
    max_value: float,
    low: float,
    high: float,
    scale: float = 1.0,
    bias: float = 0.0,
) -> tuple[np.ndarray, int]:
    """Map ``values`` (a whole feature map or a strip of it) whose whole map spans ``low..high``.

    The strip pipeline's hook: ``mapping`` is resolved (not ``auto``), ``scale`` and
    ``bias`` the gain chosen for the whole map; for :data:`POINTWISE_MAPPINGS`
    ``low``/``high`` may be the strip's own range.

    Returns
    -------
    mapped : numpy.ndarray
        As :func:`map_values` gives for these values.
    clipped : int
        How many of ``values`` were clipped.

    Examples
    --------
    >>> import numpy as np
    >>> out, clipped = map_range(np.array([0.0, 5.0], np.float32), "normalize",
    ...                          max_value=255.0, low=-5.0, high=5.0)
    >>> out.tolist(), clipped
    ([127.5, 255.0], 0)
    """
    values = _as_float(values)
    if scale != 1.0 or bias:
        values = values * values.dtype.type(scale) + values.dtype.type(bias)
        low, high = scaled_range(low, high, scale, bias)
    if mapping == "clip" and 0 <= low and high <= max_value:
        return values, 0  # already in range (blurs of 8-bit images): no pass
    return _MAPPERS[mapping](values, float(max_value), low, high)


def scaled_range(low: float, high: float, scale: float, bias: float) -> tuple[float, float]:
    """The range of ``x * scale + bias`` for ``x`` in ``low..high``."""
    low, high = low * scale + bias, high * scale + bias
    return min(low, high), max(low, high)


ROBUST = "auto: kernel sums to 0"
"""The reason :func:`resolve_mapping` gives when ``auto`` takes a robust image-wide scale."""
ROBUST_REASON = f"{ROBUST}; p{AUTO_PERCENTILE:g} of |response| → white"
"""The reason reported for that scale."""


def resolve_mapping(
    mapping: str, kernel_sum: float | None, *, free_scale: bool = True
) -> tuple[str, str]:
    """The mapping ``mapping`` stands for (``auto`` resolved, the name checked) and why.

    ``free_scale``: no ``--scale`` was given, so ``auto`` on a zero-sum kernel picks its
    gain from the whole map (reason :data:`ROBUST`).

    Examples
    --------
    >>> resolve_mapping("auto", 0.0), resolve_mapping("raw", 0.0)
    (('abs', 'auto: kernel sums to 0'), ('raw', ''))
    """
    if mapping not in VALUE_MAPPINGS:
        msg = f"value mapping {mapping!r} is not one of {', '.join(VALUE_MAPPINGS)}"
        raise ValueError(msg)
    if mapping != "auto":
        return mapping, ""
    if kernel_sum == 0.0:
        return "abs", ROBUST if free_scale else f"{ROBUST}, --scale"
    return "clip", "auto"


def _as_float(fmap: np.ndarray) -> np.ndarray:
    """float64 stays float64; everything else becomes float32."""
    array = np.asarray(fmap)
    return array if array.dtype == np.float64 else array.astype(np.float32)


def _range(values: np.ndarray) -> tuple[float, float]:
    """Min and max, (0, 0) for an empty array."""
    if values.size == 0:
        return 0.0, 0.0
    return float(values.min()), float(values.max())


_CLIP_SLACK = 1e-5
"""Values this share of ``max_value`` beyond either end are not counted as clipped."""


def _clip(
    values: np.ndarray, max_value: float, low: float, high: float, *, in_place: bool = False
) -> tuple[np.ndarray, int]:
    """Clip to [0, max_value], counting the values that moved (in place on a scratch array)."""
    clipped = count_clipped(values, max_value, low, high)
    out = values if in_place else np.empty_like(values)
    top = values.dtype.type(max_value)
    return np.clip(values, values.dtype.type(0), top, out=out), clipped


def count_clipped(values: np.ndarray, max_value: float, low: float, high: float) -> int:
    """How many ``values`` a clip to [0, max_value] moves (past a slack for float rounding).

    ``low`` and ``high`` are the range of ``values``: a side they show in range (not NaN)
    is not counted, saving a pass over the array.
    """
    top = values.dtype.type(max_value)
    slack = max_value * _CLIP_SLACK  # float rounding past the ends is not clipping
    below = 0 if low >= -slack else int(np.count_nonzero(values < -slack))
    above = 0 if high <= max_value + slack else int(np.count_nonzero(values > top + slack))
    return below + above


def _abs(values: np.ndarray, max_value: float, low: float, high: float) -> tuple[np.ndarray, int]:
    """|x| then clip."""
    return _clip(np.abs(values), max_value, 0.0, max(abs(low), abs(high)), in_place=True)


def _offset(
    values: np.ndarray, max_value: float, low: float, high: float
) -> tuple[np.ndarray, int]:
    """x + max/2 then clip."""
    shift = max_value / 2
    shifted = values + values.dtype.type(shift)
    return _clip(shifted, max_value, low + shift, high + shift, in_place=True)


def _normalize(
    values: np.ndarray, max_value: float, low: float, high: float
) -> tuple[np.ndarray, int]:
    """Min-max to [0, max_value]; a constant map gives zeros."""
    if high - low <= 0 or not np.isfinite(high - low):
        return np.zeros_like(values), 0
    scaled = (values.astype(np.float64) - low) * (max_value / (high - low))
    return np.clip(scaled, 0, max_value).astype(values.dtype), 0


def _raw(values: np.ndarray, max_value: float, low: float, high: float) -> tuple[np.ndarray, int]:
    """Unchanged."""
    return values, 0


_MAPPERS: dict[str, Callable[[np.ndarray, float, float, float], tuple[np.ndarray, int]]] = {
    "clip": _clip,
    "abs": _abs,
    "normalize": _normalize,
    "offset": _offset,
    "raw": _raw,
}


def to_pixels(mapped: np.ndarray, depth: int, *, max_value: float | None = None) -> np.ndarray:
    """Round mapped values to unsigned integer pixels.

    Parameters
    ----------
    mapped : numpy.ndarray
        Values in ``[0, max_value]`` (from :func:`map_values`).
    depth : {8, 16}
        Output bit depth: uint8 or uint16.
    max_value : float, optional
        The scale of ``mapped``; when given and different from ``2**depth - 1``
        the values are rescaled (e.g. a 16-bit image written at 8 bits).
        By default ``mapped`` is taken to be on the output scale already.

    Returns
    -------
    numpy.ndarray
        uint8 or uint16, rounded to nearest and clipped to the depth's range.

    Examples
    --------
    >>> import numpy as np
    >>> to_pixels(np.array([0.4, 127.5, 300.0]), 8).tolist()
    [0, 128, 255]
    >>> to_pixels(np.array([65535.0, 32767.5]), 8, max_value=65535.0).tolist()
    [255, 128]
    """
    if depth not in (8, 16):
        msg = f"pixel depth must be 8 or 16, got {depth!r}"
        raise OutputError(msg)
    top = float(2**depth - 1)
    # float32 is exact for every 8- and 16-bit value and halves the memory of float64
    values = np.asarray(mapped, dtype=np.float32)
    if max_value is not None and max_value != top:
        values = values * np.float32(top / max_value)
    # floor(x + 0.5) rounds halves up, as image tools do (np.rint would go to even);
    # after the clip x + 0.5 > 0, where the integer cast truncates: that is the floor
    rounded = np.clip(values, np.float32(0), np.float32(top))
    rounded += np.float32(0.5)
    return rounded.astype(np.uint8 if depth == 8 else np.uint16)
