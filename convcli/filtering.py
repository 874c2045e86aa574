"""One image through a kernel, a bank or a chain: channels, alpha, combine, values out.

Two layers:

- :func:`apply_plan` works on arrays: pixels (and alpha) in, feature maps out. Every
  colour channel is filtered separately (depthwise). Alpha is kept as it was, sampled on
  the output grid (``keep``), filtered like a colour channel (``filter``), or dropped.
- :func:`filter_image` works on files: read, :func:`apply_plan`, map the values to
  pixels and write each feature map, returning an :class:`ImageResult` for the summary
  and ``--json``.

Which kernels run is a :class:`FilterPlan` (see :func:`build_plan`): one kernel; a bank
whose responses are combined (``stack`` keeps one feature map per kernel); or a chain,
each kernel filtering the previous one's raw (float) feature map.

A kernel's ``anchor`` places an even (or off-centre) kernel under ``padding="same"``:
the anchor tap sits over the output pixel. A kernel's ``offset`` is added to its
response (as Pillow's ``ImageFilter.Kernel`` does).
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np

from convcli.errors import GeometryError, KernelError, OutputError
from convcli.geometry import Geometry, PaddingSpec, Pair, normalize_pair
from convcli.kernels import Kernel, KernelBank, combine_responses

Spec = Kernel | KernelBank
AlphaMode = Literal["keep", "filter", "drop"]
ALPHA_MODES: tuple[AlphaMode, ...] = ("keep", "filter", "drop")
_ZERO_SUM = 1e-6


@dataclass(frozen=True)
class ConvOptions:
    """The engine options shared by every kernel of a plan (``apply``'s defaults)."""

    stride: int | Pair = 1
    padding: PaddingSpec = "same"
    padding_mode: str = "reflect"
    cval: float = 0.0
    dilation: int | Pair = 1
    flip: bool = False
    method: str = "auto"
    threads: int | None = None  # engine threads; None: one per core


@dataclass(frozen=True)
class FilterPlan:
    """Which kernels run and how their responses become feature maps.

    Attributes
    ----------
    units : tuple of Kernel or KernelBank
        Each unit gives one response (a bank unit is combined with its own mode).
    combine : str or None
        How the units' responses are combined; ``"stack"`` keeps one map per unit;
        None for a single unit or a chain.
    chain : bool
        Apply the units one after another.
    name : str
        The name used in output file names for a single feature map.
    """

    units: tuple[Spec, ...]
    combine: str | None
    chain: bool
    name: str

    @property
    def map_names(self) -> tuple[str, ...]:
        """One name per feature map this plan produces."""
        if self.combine == "stack":
            return _unique(tuple(unit.name for unit in self.units))
        return (self.name,)

    @property
    def label(self) -> str:
        """A short human description: ``sobel (magnitude of sobel_x, sobel_y)``."""
        names = ", ".join(unit.name for unit in self.units)
        if self.chain:
            return " → ".join(unit.name for unit in self.units)
        if self.combine is None:
            return self.units[0].name
        return f"{self.name} ({self.combine} of {names})"


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(names)) == len(names):
        return names
    return tuple(f"{name}-{i + 1}" for i, name in enumerate(names))


def build_plan(
    specs: Sequence[Spec], *, combine: str | None = None, chain: bool = False
) -> FilterPlan:
    """Turn the ``-k`` specs and ``--combine``/``--chain`` into a :class:`FilterPlan`.

    One bank alone uses its own combine mode unless ``combine`` is given; several
    ``-k`` default to ``stack``. A bank among several ``-k`` is combined with its own
    mode first (a stacking bank contributes each of its kernels).

    Raises
    ------
    KernelError
        No kernel, ``chain`` with ``combine``, or a stacking bank in a chain.
    """
    if not specs:
        msg = "no kernel given; pass one with -k/--kernel"
        raise KernelError(msg)
    if chain:
        return _chain_plan(specs, combine)
    if len(specs) == 1 and isinstance(specs[0], Kernel):
        return FilterPlan((specs[0],), None, False, specs[0].name)
    if len(specs) == 1:
        bank = cast(KernelBank, specs[0])
        return FilterPlan(tuple(bank.kernels), combine or bank.combine, False, bank.name)
    units = tuple(_flatten_stacks(specs))
    return FilterPlan(units, combine or "stack", False, "+".join(s.name for s in specs))


def _chain_plan(specs: Sequence[Spec], combine: str | None) -> FilterPlan:
    if combine is not None:
        msg = "--chain applies kernels one after another; it cannot be used with --combine"
        raise KernelError(msg)
    for spec in specs:
        if isinstance(spec, KernelBank) and spec.combine == "stack":
            msg = f"bank {spec.name!r} stacks its maps; a --chain step must give one map"
            raise KernelError(msg)
    return FilterPlan(tuple(specs), None, True, "+".join(s.name for s in specs))


def _flatten_stacks(specs: Sequence[Spec]) -> list[Spec]:
    units: list[Spec] = []
    for spec in specs:
        if isinstance(spec, KernelBank) and spec.combine == "stack":
            units.extend(spec.kernels)
        else:
            units.append(spec)
    return units


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


def _same(padding: PaddingSpec) -> bool:
    return isinstance(padding, str) and padding.strip().lower() == "same"


def _anchor(kernel: Kernel, flip: bool) -> Pair | None:
    if kernel.anchor is None:
        return None
    ay, ax = kernel.anchor
    kh, kw = kernel.weights.shape
    return (kh - 1 - ay, kw - 1 - ax) if flip else (ay, ax)


def anchored_padding(kernel: Kernel, input_hw: Pair, options: ConvOptions) -> PaddingSpec:
    """The padding for ``kernel``: ``same`` with the kernel's anchor over each output pixel.

    Without an anchor, or for any padding but ``same``, ``options.padding`` is returned.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.kernels import Kernel
    >>> k = Kernel("d", np.ones((2, 2)), "", "other", (1, 1), 0.0, "", ())
    >>> anchored_padding(k, (5, 5), ConvOptions())
    ((1, 0), (1, 0))
    """
    anchor = _anchor(kernel, options.flip)
    if anchor is None or not _same(options.padding):
        return options.padding
    stride = normalize_pair(options.stride, "stride")
    dilation = normalize_pair(options.dilation, "dilation")
    kh, kw = kernel.weights.shape
    pads = [
        _anchored_pads(n, k, s, d, a)
        for n, k, s, d, a in zip(input_hw, (kh, kw), stride, dilation, anchor, strict=True)
    ]
    return (pads[0], pads[1])


def _anchored_pads(n: int, k: int, s: int, d: int, a: int) -> Pair:
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    before = min(a * d, total)
    return (before, total - before)


def _tap(kernel: Kernel, options: ConvOptions) -> Pair:
    dilation = normalize_pair(options.dilation, "dilation")
    anchor = _anchor(kernel, options.flip)
    kh, kw = kernel.weights.shape
    if anchor is not None:
        return (anchor[0] * dilation[0], anchor[1] * dilation[1])
    return (dilation[0] * (kh - 1) // 2, dilation[1] * (kw - 1) // 2)


def correlate(x: np.ndarray, kernel: Kernel, options: ConvOptions) -> tuple[np.ndarray, Applied]:
    """Run one kernel over ``x`` (each channel separately), adding the kernel's offset.

    Returns
    -------
    (numpy.ndarray, Applied)
        The float feature map and how it was made.
    """
    from convcli.engine import convolve

    # NaN or huge values in float images give NaN/inf out: data, not a warning per tile
    with np.errstate(invalid="ignore", over="ignore"):
        result = convolve(
            x,
            kernel.weights,
            stride=options.stride,
            padding=anchored_padding(kernel, (x.shape[0], x.shape[1]), options),
            padding_mode=options.padding_mode,
            cval=options.cval,
            dilation=options.dilation,
            flip=options.flip,
            method=options.method,
            threads=options.threads,
        )
    out = result.output
    if kernel.offset:
        out = out + out.dtype.type(kernel.offset)
    shape = cast(Pair, tuple(kernel.weights.shape))
    applied = Applied(
        kernel.name, shape, result.geometry, result.method, result.flip, _tap(kernel, options)
    )
    return out, applied


def _combined_sum(sums: Sequence[float], combine: str) -> float:
    if combine == "sum":
        return float(sum(sums))
    if all(abs(s) < _ZERO_SUM for s in sums):
        return 0.0
    return float(max(abs(s) for s in sums))


def _combine(responses: Sequence[np.ndarray], combine: str, name: str) -> np.ndarray:
    shapes = {r.shape for r in responses}
    if len(shapes) > 1:
        listed = ", ".join("x".join(map(str, s)) for s in sorted(shapes))
        msg = (
            f"{name}: the kernels give feature maps of different shapes ({listed}); "
            "use --padding same or kernels of one size"
        )
        raise GeometryError(msg)
    return combine_responses(responses, combine)  # type: ignore[arg-type]


def _unit(
    x: np.ndarray, unit: Spec, options: ConvOptions
) -> tuple[np.ndarray, tuple[Applied, ...], float]:
    if isinstance(unit, Kernel):
        out, applied = correlate(x, unit, options)
        return out, (applied,), float(unit.sum)
    runs = [correlate(x, kernel, options) for kernel in unit.kernels]
    combined = _combine([r for r, _ in runs], unit.combine, unit.name)
    sums = [float(k.sum) for k in unit.kernels]
    return combined, tuple(a for _, a in runs), _combined_sum(sums, unit.combine)


def _evaluate(
    x: np.ndarray, plan: FilterPlan, options: ConvOptions
) -> list[tuple[np.ndarray, tuple[Applied, ...], float]]:
    if plan.chain:
        applied: tuple[Applied, ...] = ()
        total = 1.0
        for unit in plan.units:
            x, ran, s = _unit(x, unit, options)
            applied, total = applied + ran, total * s
        return [(x, applied, total)]
    runs = [_unit(x, unit, options) for unit in plan.units]
    if plan.combine in (None, "stack"):
        return runs
    combine = str(plan.combine)
    values = _combine([r for r, _, _ in runs], combine, plan.name)
    applied = tuple(a for _, ran, _ in runs for a in ran)
    return [(values, applied, _combined_sum([s for _, _, s in runs], combine))]


def alpha_on_grid(alpha: np.ndarray, applied: Sequence[Applied], chain: bool) -> np.ndarray:
    """Sample ``alpha`` at the input pixel under each output pixel's anchor tap.

    Beyond the border the edge value is repeated. For a chain every step is followed;
    otherwise the first kernel's grid is used (every kernel of a combined bank has it).
    """
    steps = applied if chain else applied[:1]
    for step in steps:
        alpha = _sample(alpha, step.geometry, step.tap)
    return alpha


def _sample(alpha: np.ndarray, geometry: Geometry, tap: Pair) -> np.ndarray:
    index = [
        np.clip(
            np.arange(geometry.output_hw[a]) * geometry.stride[a] - geometry.pads[a][0] + tap[a],
            0,
            geometry.input_hw[a] - 1,
        )
        for a in (0, 1)
    ]
    return alpha[np.ix_(index[0], index[1])]


def apply_plan(
    pixels: np.ndarray,
    plan: FilterPlan,
    options: ConvOptions | None = None,
    *,
    alpha: np.ndarray | None = None,
    alpha_mode: AlphaMode = "keep",
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
        ``(H, W)``.
    alpha_mode : {"keep", "filter", "drop"}
        ``keep``: alpha sampled on the output grid; ``filter``: filtered like a colour
        channel; ``drop``: no alpha out.

    Returns
    -------
    list of FeatureMap
        One per ``plan.map_names``.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.kernels import Kernel
    >>> box = Kernel("box", np.full((1, 2), 0.5), "", "smoothing", None, 0.0, "", ())
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
        return _maps(_evaluate(pixels, plan, options), plan, None, None)
    if alpha_mode == "filter":
        stacked = np.dstack([pixels, alpha])
        return _maps(_evaluate(stacked, plan, options), plan, None, pixels.ndim)
    return _maps(_evaluate(pixels, plan, options), plan, alpha, None)


def _maps(
    runs: list[tuple[np.ndarray, tuple[Applied, ...], float]],
    plan: FilterPlan,
    keep_alpha: np.ndarray | None,
    split_ndim: int | None,
) -> list[FeatureMap]:
    maps = []
    for name, (values, applied, ksum) in zip(plan.map_names, runs, strict=True):
        alpha = None
        if keep_alpha is not None:
            alpha = alpha_on_grid(keep_alpha, applied, plan.chain)
        if split_ndim is not None:
            values, alpha = _split_alpha(values, split_ndim)
        maps.append(FeatureMap(name, values, alpha, ksum, applied))
    return maps


def _split_alpha(values: np.ndarray, pixel_ndim: int) -> tuple[np.ndarray, np.ndarray]:
    colour = values[..., 0] if pixel_ndim == 2 else values[..., :-1]
    return colour, values[..., -1]


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class ApplySettings:
    """Everything ``apply`` does to each image (picklable, sent to worker processes)."""

    plan: FilterPlan
    options: ConvOptions = field(default_factory=ConvOptions)
    color: str = "keep"
    alpha_mode: AlphaMode = "keep"
    mapping: str = "auto"
    depth: int | None = None
    max_pixels: int | None = None


@dataclass(frozen=True)
class MapResult:
    """How one feature map was written."""

    output: str
    name: str
    shape: tuple[int, ...]
    mapping: str
    min: float
    max: float
    clipped: int
    clipped_share: float
    format: str
    depth: int | None
    alpha: bool


@dataclass(frozen=True)
class ImageResult:
    """What happened to one image: the summary and the ``--json`` record come from it."""

    input: str
    input_shape: tuple[int, ...]
    mode: str
    bit_depth: int
    maps: tuple[MapResult, ...]
    applied: tuple[Applied, ...]
    milliseconds: float
    data: bytes | None = None
    kernel: str = ""
    padding_mode: str = ""
    auto_mapping: bool = False

    def record(self) -> dict[str, Any]:
        """The ``--json`` object: top-level values describe the first map and kernel."""
        first, kernel = self.maps[0], self.applied[0]
        geometry = kernel.geometry
        return {
            "input": self.input,
            "status": "ok",
            "output": first.output,
            "outputs": [m.output for m in self.maps],
            "input_shape": list(self.input_shape),
            "kernel": first.name,
            "kernel_shape": list(kernel.shape),
            "output_shape": list(first.shape),
            "pads": [list(p) for p in geometry.pads],
            "stride": list(geometry.stride),
            "dilation": list(geometry.dilation),
            "operation": "convolution" if kernel.flip else "correlation",
            "method": kernel.method,
            "mapping": first.mapping,
            "min": _json_number(first.min),
            "max": _json_number(first.max),
            "clipped_share": first.clipped_share,
            "ms": round(self.milliseconds, 3),
            "kernels": [_applied_record(a) for a in self.applied],
            "maps": [_map_record(m) for m in self.maps],
        }


def _applied_record(applied: Applied) -> dict[str, Any]:
    return {
        "name": applied.name,
        "shape": list(applied.shape),
        "pads": [list(p) for p in applied.geometry.pads],
        "output_shape": list(applied.geometry.output_hw),
        "method": applied.method,
    }


def _json_number(value: float) -> float | None:
    """``value``, or None where JSON has no number (NaN, infinity)."""
    return value if math.isfinite(value) else None


def _map_record(result: MapResult) -> dict[str, Any]:
    return {
        "output": result.output,
        "kernel": result.name,
        "shape": list(result.shape),
        "mapping": result.mapping,
        "min": _json_number(result.min),
        "max": _json_number(result.max),
        "clipped": result.clipped,
        "clipped_share": result.clipped_share,
        "format": result.format,
        "depth": result.depth,
    }


def output_depth(requested: int | None, bit_depth: int, fmt: str, *, planes: int = 1) -> int:
    """The pixel depth to write: ``--depth``, else 16 for deeper inputs where it fits.

    Parameters
    ----------
    requested : int or None
        ``--depth``.
    bit_depth : int
        The input's bits per sample.
    fmt : str
        The output format.
    planes : int
        Samples per pixel written, alpha included: TIFF holds 16 bits for one only.

    Raises
    ------
    OutputError
        If ``requested`` is 16 and ``fmt`` holds 8-bit samples only.

    Examples
    --------
    >>> output_depth(None, 16, "png"), output_depth(None, 16, "jpeg"), output_depth(8, 16, "png")
    (16, 8, 8)
    >>> output_depth(None, 16, "tiff"), output_depth(None, 16, "tiff", planes=3)
    (16, 8)
    """
    from convcli.batch import FORMATS_16BIT

    if requested == 16 and fmt not in FORMATS_16BIT:
        msg = f"{fmt.upper()} holds 8-bit samples only; --depth 16 needs .png or .tif"
        raise OutputError(msg)
    if requested is not None:
        return requested
    fits = fmt == "png" or (fmt in FORMATS_16BIT and planes == 1)
    return 16 if bit_depth > 8 and fits else 8


def _planes(fmap: FeatureMap) -> int:
    colour = 1 if fmap.values.ndim == 2 else int(fmap.values.shape[-1])
    return colour + (fmap.alpha is not None)


def filter_image(
    source: str | bytes,
    outputs: Sequence[str],
    formats: Sequence[str],
    settings: ApplySettings,
) -> ImageResult:
    """Read one image, filter it, and write each feature map to its output.

    Parameters
    ----------
    source : str or bytes
        A file name, or the encoded image (standard input).
    outputs : sequence of str
        One path per feature map, or ``"-"``: the encoded bytes are returned in
        :attr:`ImageResult.data` instead of written.
    formats : sequence of str
        The format of each output (``png``, ``jpeg``, ``tiff``, ``webp``, ``bmp``, ``npy``).
    settings : ApplySettings

    Returns
    -------
    ImageResult

    Raises
    ------
    ConvcliError
        An image that cannot be read, a geometry that does not fit it, an output
        that cannot be written. Outputs already written stay; none is half-written.
    """
    from convcli.images import read_image

    start = time.perf_counter()
    loaded = read_image(source, color=settings.color, max_pixels=settings.max_pixels)  # type: ignore[arg-type]
    fmaps = apply_plan(
        loaded.pixels,
        settings.plan,
        settings.options,
        alpha=loaded.alpha,
        alpha_mode=settings.alpha_mode,
    )
    results, data = [], None
    for fmap, output, fmt in zip(fmaps, outputs, formats, strict=True):
        result, encoded = _write_map(fmap, output, fmt, loaded, settings)
        results.append(result)
        data = encoded if encoded is not None else data
    elapsed = (time.perf_counter() - start) * 1000
    applied = tuple(dict.fromkeys(a for fmap in fmaps for a in fmap.applied))
    name = loaded.source if isinstance(source, str) else "-"
    return ImageResult(
        name,
        _shape(loaded),
        loaded.mode,
        loaded.bit_depth,
        tuple(results),
        applied,
        elapsed,
        data,
        settings.plan.label,
        settings.options.padding_mode,
        settings.mapping == "auto",
    )


def _shape(loaded: Any) -> tuple[int, ...]:
    shape = tuple(int(n) for n in loaded.pixels.shape)
    return shape if len(shape) == 3 else (*shape, 1)


def _write_map(
    fmap: FeatureMap, output: str, fmt: str, loaded: Any, settings: ApplySettings
) -> tuple[MapResult, bytes | None]:
    from convcli.images import map_values

    floats = fmt == "npy" or settings.mapping == "raw"
    mapping = "raw" if floats and settings.mapping == "auto" else settings.mapping
    values, report = map_values(
        fmap.values, mapping, max_value=loaded.max_value, kernel_sum=fmap.kernel_sum
    )
    if floats:
        data = _emit_float(values, fmap.alpha, output, fmt)
        return _result(fmap, output, fmt, report, None), data
    if math.isnan(report.min):  # NaN has no pixel value; min is NaN only if one is there
        values = np.nan_to_num(values, nan=0.0)
    depth = output_depth(settings.depth, loaded.bit_depth, fmt, planes=_planes(fmap))
    data = _emit_pixels(values, fmap.alpha, depth, loaded.max_value, output, fmt)
    return _result(fmap, output, fmt, report, depth), data


def _result(fmap: FeatureMap, output: str, fmt: str, report: Any, depth: int | None) -> MapResult:
    return MapResult(
        output,
        fmap.name,
        tuple(int(n) for n in fmap.values.shape),
        report.mapping,
        _finite(report.min),
        _finite(report.max),
        int(report.clipped),
        float(report.clipped_share),
        fmt,
        depth,
        fmap.alpha is not None,
    )


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else float("nan")


def _emit_float(
    values: np.ndarray, alpha: np.ndarray | None, output: str, fmt: str
) -> bytes | None:
    from convcli.images import encode_image, write_image, write_npy

    array = values.astype(np.float32)
    if fmt == "npy":
        if output == "-":
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            return buffer.getvalue()
        write_npy(output, array)
        return None
    if fmt != "tiff":
        msg = f"{output}: --map raw keeps float values; only .tif and .npy can hold them"
        raise OutputError(msg)
    if output == "-":
        return encode_image(array, alpha=alpha, format=fmt)
    write_image(output, array, alpha=alpha, format=fmt)
    return None


def _emit_pixels(
    values: np.ndarray,
    alpha: np.ndarray | None,
    depth: int,
    max_value: float,
    output: str,
    fmt: str,
) -> bytes | None:
    from convcli.images import encode_image, to_pixels, write_image

    pixels = to_pixels(values, depth, max_value=max_value)
    alpha_px = None if alpha is None else to_pixels(alpha, depth, max_value=max_value)
    if output == "-":
        return encode_image(pixels, alpha=alpha_px, format=fmt)
    write_image(output, pixels, alpha=alpha_px, format=fmt)
    return None
