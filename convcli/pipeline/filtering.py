"""Arrays through a plan: pixels (and alpha) in, float feature maps out.

Every colour channel is filtered separately (depthwise). With alpha, colour is filtered
alpha-weighted (premultiplied): fully transparent pixels contribute nothing. For a kernel
whose sum is not 0 (smoothing, sharpening) the result is un-premultiplied after, so a red
disc stays red up to its edge; for a zero-sum kernel (an edge detector) the response is
that of the image composited over black, since a difference has no colour to recover.
Alpha itself is kept as it was, sampled on the output grid (``keep``), filtered like a
colour channel (``filter``), or dropped with the weighting (``drop``); a plan with a
kernel offset is filtered without the weighting (the offset is not a colour).

A kernel's ``anchor`` places an even (or off-centre) kernel under ``padding="same"``: the
anchor tap sits over the output pixel. A kernel's ``offset`` is added to its response (as
Pillow's ``ImageFilter.Kernel`` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np

from convcli.engine import ConvResult, convolve_rows, convolve_strip
from convcli.geometry import (
    Geometry,
    PaddingSpec,
    Pair,
    anchor_tap,
    anchored_padding,
    resolve_geometry,
)
from convcli.kernels import Kernel
from convcli.pipeline.plan import ConvOptions, FilterPlan, Spec, combine_maps, combined_sum

AlphaMode = Literal["keep", "filter", "drop"]
ALPHA_MODES: tuple[AlphaMode, ...] = ("keep", "filter", "drop")


@dataclass(frozen=True)
class Applied:
    """One kernel as it ran: its geometry, the method the engine chose, the alpha tap."""

    name: str
    shape: Pair
    geometry: Geometry
    method: str
    flip: bool
    tap: Pair


@dataclass(frozen=True)
class FeatureMap:
    """One feature map (float32) with its alpha on the same grid and its provenance."""

    name: str
    values: np.ndarray
    alpha: np.ndarray | None
    kernel_sum: float | None
    applied: tuple[Applied, ...]


@dataclass(frozen=True)
class Window:
    """Output rows ``out_rows`` computed from a strip holding image rows ``held``."""

    image_hw: Pair
    held: np.ndarray
    out_rows: Pair


def correlate(
    x: np.ndarray, kernel: Kernel, options: ConvOptions, window: Window | None = None
) -> tuple[np.ndarray, Applied]:
    """Run one kernel over ``x`` (each channel separately), adding the kernel's offset.

    With a ``window``, ``x`` holds the image rows ``window.held`` and only the output
    rows ``window.out_rows`` are computed, the same bits as those rows of the whole.

    Returns
    -------
    (numpy.ndarray, Applied)
        The float feature map and how it was made.
    """
    # NaN or huge values in float images give NaN/inf out: data, not a warning per tile
    with np.errstate(invalid="ignore", over="ignore"):
        result = _convolve(x, kernel, options, window)
    out = result.output
    if kernel.offset:
        out = out + out.dtype.type(kernel.offset)
    shape = cast(Pair, tuple(kernel.weights.shape))
    tap = anchor_tap(kernel.shape, kernel.anchor_as_run(options.flip), options.dilation)
    applied = Applied(kernel.name, shape, result.geometry, result.method, result.flip, tap)
    return out, applied


def _convolve(
    x: np.ndarray, kernel: Kernel, options: ConvOptions, window: Window | None
) -> ConvResult:
    """The whole image, or (with ``window``) a strip of it from the rows it holds."""
    hw = (x.shape[0], x.shape[1]) if window is None else window.image_hw
    geometry = kernel_geometry(kernel, hw, options)
    engine: dict[str, Any] = {
        "padding_mode": options.padding_mode,
        "cval": options.cval,
        "flip": options.flip,
        "method": options.method,
        "threads": options.threads,
    }
    if window is None:
        return convolve_rows(x, kernel.weights, geometry, (0, geometry.output_hw[0]), **engine)
    return convolve_strip(x, window.held, kernel.weights, geometry, window.out_rows, **engine)


def kernel_geometry(kernel: Kernel, image_hw: Pair, options: ConvOptions) -> Geometry:
    """The geometry ``kernel`` runs with on an image of ``image_hw`` (its anchor placed)."""
    return resolve_geometry(
        image_hw,
        cast(Pair, tuple(kernel.weights.shape)),
        stride=options.stride,
        padding=_padding(kernel, image_hw, options),
        dilation=options.dilation,
    )


def _padding(kernel: Kernel, input_hw: Pair, options: ConvOptions) -> PaddingSpec:
    anchor = kernel.anchor_as_run(options.flip)
    return anchored_padding(
        options.padding,
        input_hw,
        kernel.shape,
        anchor,
        stride=options.stride,
        dilation=options.dilation,
    )


def _unit(
    x: np.ndarray, unit: Spec, options: ConvOptions, window: Window | None = None
) -> tuple[np.ndarray, tuple[Applied, ...], float]:
    if isinstance(unit, Kernel):
        out, applied = correlate(x, unit, options, window)
        return out, (applied,), float(unit.sum)
    runs = [correlate(x, kernel, options, window) for kernel in unit.kernels]
    combined = combine_maps([r for r, _ in runs], unit.combine, unit.name)
    sums = [float(k.sum) for k in unit.kernels]
    return combined, tuple(a for _, a in runs), combined_sum(sums, unit.combine)


def evaluate(
    x: np.ndarray, plan: FilterPlan, options: ConvOptions, window: Window | None = None
) -> list[tuple[np.ndarray, tuple[Applied, ...], float]]:
    """Each feature map of ``plan`` on ``x`` with the kernels that made it and its kernel sum.

    With a ``window`` (not for chains), the rows of a strip: see :func:`correlate`.
    """
    if plan.chain:
        applied: tuple[Applied, ...] = ()
        total = 1.0
        for unit in plan.units:
            x, ran, s = _unit(x, unit, options)
            applied, total = applied + ran, total * s
        return [(x, applied, total)]
    runs = [_unit(x, unit, options, window) for unit in plan.units]
    if plan.combine in (None, "stack"):
        return runs
    combine = str(plan.combine)
    values = combine_maps([r for r, _, _ in runs], combine, plan.name)
    applied = tuple(a for _, ran, _ in runs for a in ran)
    return [(values, applied, combined_sum([s for _, _, s in runs], combine))]


def alpha_on_grid(
    alpha: np.ndarray, applied: Sequence[Applied], chain: bool, window: Window | None = None
) -> np.ndarray:
    """Sample ``alpha`` at the input pixel under each output pixel's anchor tap.

    Beyond the border the edge value is repeated. For a chain every step is followed;
    otherwise the first kernel's grid is used (every kernel of a combined bank has it).
    With a ``window`` (not for chains), ``alpha`` holds the image rows ``window.held``,
    which include :func:`alpha_rows`, and the output rows ``window.out_rows`` are sampled.
    """
    if window is not None:
        step = applied[0]
        rows = np.searchsorted(window.held, _grid(step.geometry, step.tap, 0, window.out_rows))
        cols = _grid(step.geometry, step.tap, 1, (0, step.geometry.output_hw[1]))
        return alpha[np.ix_(rows, cols)]
    steps = applied if chain else applied[:1]
    for step in steps:
        out_hw = step.geometry.output_hw
        index = [_grid(step.geometry, step.tap, a, (0, out_hw[a])) for a in (0, 1)]
        alpha = alpha[np.ix_(index[0], index[1])]
    return alpha


def alpha_rows(
    kernel: Kernel, geometry: Geometry, options: ConvOptions, out_rows: Pair
) -> np.ndarray:
    """The image rows :func:`alpha_on_grid` samples for output rows ``out_rows`` of ``kernel``."""
    tap = anchor_tap(kernel.shape, kernel.anchor_as_run(options.flip), options.dilation)
    return _grid(geometry, tap, 0, out_rows)


def _grid(geometry: Geometry, tap: Pair, axis: int, out: Pair) -> np.ndarray:
    """Input positions under the anchor tap of outputs ``out[0]:out[1]`` along ``axis``."""
    first = np.arange(*out) * geometry.stride[axis] - geometry.pads[axis][0] + tap[axis]
    return np.clip(first, 0, geometry.input_hw[axis] - 1)


def apply_plan(
    pixels: np.ndarray,
    plan: FilterPlan,
    options: ConvOptions | None = None,
    *,
    alpha: np.ndarray | None = None,
    alpha_mode: AlphaMode = "keep",
    alpha_max: float = 255.0,
    window: Window | None = None,
    weigh: bool | None = None,
) -> list[FeatureMap]:
    """Filter an image array with a plan; return its feature map(s).

    Parameters
    ----------
    pixels : numpy.ndarray
        ``(H, W)`` or ``(H, W, C)``; every channel is filtered separately.
    plan : FilterPlan
    options : ConvOptions, optional
        Engine options; ``apply``'s defaults (``same``, ``reflect``) when omitted.
    alpha : numpy.ndarray, optional
        ``(H, W)``, on the scale ``0..alpha_max``.
    alpha_mode : {"keep", "filter", "drop"}
        ``keep``: colour filtered alpha-weighted, alpha sampled on the output grid;
        ``filter``: the same colour, alpha filtered like a colour channel; ``drop``: no
        weighting and no alpha out (colour under transparent pixels counts as it is).
    alpha_max : float
        The alpha of an opaque pixel (255 for 8-bit images, 65535 for 16-bit).
    window : Window, optional
        ``pixels`` (and ``alpha``) hold the image rows ``window.held``: the maps are the
        output rows ``window.out_rows``, the same bits as those rows of the whole (see
        :func:`correlate`; not for chains).
    weigh : bool, optional
        Whether colour is alpha-weighted; by default where some pixel is not opaque and
        no kernel adds an offset (a strip is told what the whole image decides).

    Returns
    -------
    list of FeatureMap
        One per ``plan.map_names``.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.kernels import Kernel, KernelBank
    >>> box = Kernel("box", np.full((1, 2), 0.5), "", "smoothing", None, 0.0, "", ())
    >>> from convcli.pipeline import build_plan
    >>> plan = build_plan([box])
    >>> [fm] = apply_plan(np.array([[0.0, 2.0, 4.0]]), plan, ConvOptions(padding="valid"))
    >>> fm.values.tolist()
    [[1.0, 3.0]]
    """
    options = options or ConvOptions()
    if alpha_mode not in ALPHA_MODES:
        msg = f"alpha mode {alpha_mode!r} is not one of {', '.join(ALPHA_MODES)}"
        raise ValueError(msg)
    if alpha is None or alpha_mode == "drop":
        return _maps(evaluate(pixels, plan, options, window), plan, None, None)
    if weigh is None:
        weigh = alpha_weighted(plan, float(alpha.min()), alpha_max)
    if weigh:
        keep = alpha_mode == "keep"
        return _premultiplied(pixels, alpha, plan, options, keep, alpha_max, window)
    if alpha_mode == "filter":  # opaque: nothing to weight, the colour as without alpha
        stacked = np.dstack([pixels, alpha])
        return _maps(evaluate(stacked, plan, options, window), plan, None, pixels.ndim)
    return _maps(evaluate(pixels, plan, options, window), plan, alpha, None, window)


def alpha_weighted(plan: FilterPlan, lowest_alpha: float, alpha_max: float) -> bool:
    """Whether colour is filtered alpha-weighted: some pixel is not opaque (its alpha is
    below ``alpha_max``) and no kernel adds an offset."""
    return lowest_alpha < alpha_max and not _offsets(plan)


def _offsets(plan: FilterPlan) -> bool:
    """Whether a kernel adds an offset (such plans are filtered without alpha weighting)."""
    return any(k.offset for k in plan.kernels)


def _premultiplied(
    pixels: np.ndarray,
    alpha: np.ndarray,
    plan: FilterPlan,
    options: ConvOptions,
    keep: bool,
    alpha_max: float,
    window: Window | None = None,
) -> list[FeatureMap]:
    """Filter colour x coverage and the coverage itself; divide back where the sum is not 0."""
    runs = evaluate(_weighted(pixels, alpha, alpha_max), plan, options, window)
    straight: list[np.ndarray] = []
    maps = []
    for index, (name, (values, applied, ksum)) in enumerate(
        zip(plan.map_names, runs, strict=True)
    ):
        colour, filtered = _split_alpha(values, pixels.ndim)
        colour, unseen = _unpremultiply(colour, filtered, ksum)
        if unseen is not None:  # nothing visible in the window: the colour as stored
            straight = straight or [r for r, _, _ in evaluate(pixels, plan, options, window)]
            colour[unseen] = straight[index][unseen]
        out_alpha = alpha_on_grid(alpha, applied, plan.chain, window) if keep else None
        if out_alpha is None:
            out_alpha = filtered * filtered.dtype.type(alpha_max)
        maps.append(FeatureMap(name, colour, out_alpha, ksum, applied))
    return maps


def _weighted(pixels: np.ndarray, alpha: np.ndarray, alpha_max: float) -> np.ndarray:
    """``(H, W, C + 1)`` float32: colour x coverage, then the coverage (alpha / alpha_max)."""
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    out = np.empty((*alpha.shape, channels + 1), np.float32)
    np.multiply(alpha, np.float32(1 / alpha_max), out=out[..., -1])
    coverage = out[..., -1]
    colour = out[..., :channels] if pixels.ndim == 3 else out[..., 0]
    np.multiply(pixels, coverage if pixels.ndim == 2 else coverage[..., None], out=colour)
    return out


def _unpremultiply(
    colour: np.ndarray, coverage: np.ndarray, kernel_sum: float
) -> tuple[np.ndarray, np.ndarray | None]:
    """Colour / (coverage / kernel_sum), and the mask where that is not positive (or None).

    Dividing by the coverage relative to the kernel's sum keeps the kernel's gain (a kernel
    summing to 16 still multiplies by 16). A zero-sum kernel's response is left as it is.
    """
    if kernel_sum == 0.0:
        return colour, None
    seen = coverage * coverage.dtype.type(1 / kernel_sum)
    visible = seen > _MIN_COVERAGE
    factor = np.zeros(seen.shape, colour.dtype)
    np.divide(1, seen, out=factor, where=visible)
    colour *= factor if colour.ndim == 2 else factor[..., None]
    return colour, None if visible.all() else ~visible


_MIN_COVERAGE = 1e-6
"""Coverage below which a pixel has no colour to recover (it comes out 0)."""


def _maps(
    runs: list[tuple[np.ndarray, tuple[Applied, ...], float]],
    plan: FilterPlan,
    keep_alpha: np.ndarray | None,
    split_ndim: int | None,
    window: Window | None = None,
) -> list[FeatureMap]:
    maps = []
    for name, (values, applied, ksum) in zip(plan.map_names, runs, strict=True):
        alpha = None
        if keep_alpha is not None:
            alpha = alpha_on_grid(keep_alpha, applied, plan.chain, window)
        if split_ndim is not None:
            values, alpha = _split_alpha(values, split_ndim)
        maps.append(FeatureMap(name, values, alpha, ksum, applied))
    return maps


def _split_alpha(values: np.ndarray, pixel_ndim: int) -> tuple[np.ndarray, np.ndarray]:
    colour = values[..., 0] if pixel_ndim == 2 else values[..., :-1]
    return colour, values[..., -1]
