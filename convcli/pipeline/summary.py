"""What happened to one image: the results, the ``--json`` record, the summary rows.

Every command that reports a filtered image prints these rows; the CLI only styles them.
Sizes are written height first, as NumPy's shape and the shape formula are: ``384×384×3``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from convcli.geometry import Pads, dims
from convcli.pipeline.filtering import Applied, FeatureMap
from convcli.values import MappingReport


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
    scale: float = 1.0
    bias: float = 0.0
    reason: str = ""
    warnings: tuple[str, ...] = ()
    report: dict[str, Any] = field(default_factory=dict)  # the MappingReport's fields


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
    frames: int = 1
    frame: int | None = 0
    """The frame filtered, None when every frame was."""
    records: tuple[dict[str, Any], ...] = ()  # replay records (apply --record)

    def record(self) -> dict[str, Any]:
        """The ``--json`` object: top-level values describe the first map and kernel."""
        first, kernel = self.maps[0], self.applied[0]
        geometry = kernel.geometry
        replay = {"records": list(self.records)} if self.records else {}
        return {
            "input": self.input,
            "status": "ok",
            "output": first.output,
            "outputs": [m.output for m in self.maps],
            "input_shape": list(self.input_shape),
            "frames": self.frames,
            "frame": self.frame,
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
            "scale": first.scale,
            "bias": first.bias,
            "warnings": [w for m in self.maps for w in m.warnings],
            "ms": round(self.milliseconds, 3),
            "kernels": [_applied_record(a) for a in self.applied],
            "maps": [_map_record(m) for m in self.maps],
        } | replay


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
        "scale": result.scale,
        "bias": result.bias,
        "format": result.format,
        "depth": result.depth,
        "alpha": result.alpha,
        "warnings": list(result.warnings),
    }


def map_result(
    fmap: FeatureMap,
    output: str,
    fmt: str,
    report: MappingReport,
    depth: int | None,
    *,
    alpha: bool | None = None,
    warnings: Sequence[str] = (),
) -> MapResult:
    """How ``fmap`` was written to ``output`` (``alpha``: whether alpha was written)."""
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
        fmap.alpha is not None if alpha is None else alpha,
        report.scale,
        report.bias,
        report.reason,
        tuple(warnings),
        dataclasses.asdict(report),
    )


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else float("nan")


def _pair(pair: Sequence[int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]},{pair[1]}"


def _pads(pads: Pads) -> str:
    (top, bottom), (left, right) = pads
    return f"t{top} b{bottom} l{left} r{right}"


def _value_line(m: MapResult) -> str:
    gain = f" × {m.scale:.6g}" if m.scale != 1.0 else ""
    gain += f" {'+' if m.bias >= 0 else '-'} {abs(m.bias):.6g}" if m.bias else ""
    why = f" ({m.reason})" if m.reason else ""
    clipped = f" · {m.clipped_share:.2%} clipped" if m.mapping != "raw" else ""
    return f"min {m.min:.4g}, max {m.max:.4g} · mapping {m.mapping}{gain}{why}{clipped}"


def one_line(result: ImageResult) -> str:
    """The line a batch prints per image: input → outputs, shapes, mapping, time."""
    outputs = ", ".join(m.output for m in result.maps)
    first = result.maps[0]
    return (
        f"{result.input} → {outputs}  {dims(result.input_shape)} → {dims(first.shape)}"
        f" · {first.mapping} · {result.milliseconds:.0f} ms"
    )


def summary_rows(result: ImageResult) -> list[tuple[str, str]]:
    """The (label, text) rows of one image's summary: input, kernel, geometry, output, values."""
    depth = "float" if result.bit_depth == 32 else f"{result.bit_depth}-bit"
    frames = ""
    if result.frames > 1:
        which = "every frame" if result.frame is None else f"frame {result.frame}"
        frames = f" · {which} of {result.frames}"
    shape = dims(result.input_shape)
    rows = [("input", f"{result.input}  {shape}  {result.mode} {depth}{frames}")]
    steps = result.applied if " → " in result.kernel else result.applied[:1]
    for a in steps:
        name = a.name if len(steps) > 1 else result.kernel
        rows.append(("kernel", f"{name}  {dims(a.shape)}"))
        rows.append(("geometry", _geometry_line(a, result.padding_mode)))
    methods = dict.fromkeys(a.method for a in result.applied)
    rows.append(("method", ", ".join(methods)))
    for m in result.maps:
        bits = "float32" if m.depth is None else f"{m.depth}-bit"
        alpha = " + alpha" if m.alpha else ""
        rows.append(("output", f"{dims(m.shape)} → {m.output}  {m.format.upper()} {bits}{alpha}"))
        rows.append(("values", _value_line(m)))
    rows.append(("time", f"{result.milliseconds:.0f} ms"))
    return rows


def _geometry_line(a: Applied, padding_mode: str) -> str:
    g = a.geometry
    how = ", ".join(w for w in (g.padding_word, padding_mode) if w and sum(map(sum, g.pads)))
    op = "convolution (kernel flipped)" if a.flip else "cross-correlation"
    return (
        f"pads {_pads(g.pads)}{f' ({how})' if how else ''} · stride {_pair(g.stride)} · "
        f"dilation {_pair(g.dilation)} · {op}"
    )
