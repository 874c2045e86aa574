"""Replay records: everything needed to recompute one output, resolved to numbers.

``apply --record`` writes ``<output>.json`` beside each output (atomically), and ``--json``
lines carry the same records. A record holds the convcli version, the kernels' weights and
names, the plan, every geometry choice (pads, stride, dilation, method), the value mapping
as requested and as resolved (the :class:`~convcli.values.MappingReport` fields), and the
SHA-256 and size of the input and of the output. :mod:`convcli.pipeline.replay` reads it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from convcli.io.atomic import write_bytes
from convcli.kernels import Kernel, KernelBank
from convcli.pipeline.filtering import Applied
from convcli.pipeline.plan import ConvOptions, FilterPlan, Spec
from convcli.pipeline.summary import ImageResult, MapResult

RECORD_FORMAT = "convcli-record"
RECORD_VERSION = 1
RECORD_SUFFIX = ".json"


def digest(data: bytes) -> dict[str, Any]:
    """``{"sha256": ..., "bytes": ...}`` of some bytes."""
    import hashlib  # only --record needs it: a run without one saves its import

    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def file_digest(path: str | Path) -> dict[str, Any]:
    """``{"sha256": ..., "bytes": ...}`` of a file, read in blocks."""
    import hashlib

    sha, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            sha.update(block)
            size += len(block)
    return {"sha256": sha.hexdigest(), "bytes": size}


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as None, tuples as lists (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _kernel(kernel: Kernel) -> dict[str, Any]:
    return {
        "name": kernel.name,
        "weights": kernel.weights.astype(float).tolist(),
        "anchor": None if kernel.anchor is None else list(kernel.anchor),
        "offset": float(kernel.offset),
    }


def _unit(unit: Spec) -> dict[str, Any]:
    if isinstance(unit, KernelBank):
        kernels = [_kernel(k) for k in unit.kernels]
        return {"name": unit.name, "combine": unit.combine, "kernels": kernels}
    return {"name": unit.name, "combine": None, "kernels": [_kernel(unit)]}


def plan_record(plan: FilterPlan) -> dict[str, Any]:
    """The plan: its units (kernels and banks with their weights), combine and chain."""
    return {
        "name": plan.name,
        "combine": plan.combine,
        "chain": plan.chain,
        "units": [_unit(u) for u in plan.units],
    }


def _applied(applied: Applied, options: ConvOptions) -> dict[str, Any]:
    g = applied.geometry
    return {
        "name": applied.name,
        "shape": list(applied.shape),
        "input_shape": list(g.input_hw),
        "pads": [list(p) for p in g.pads],
        "stride": list(g.stride),
        "dilation": list(g.dilation),
        "padding_mode": options.padding_mode,
        "cval": options.cval,
        "operation": "convolution" if applied.flip else "correlation",
        "method": applied.method,
        "tap": list(applied.tap),
        "output_shape": list(g.output_hw),
    }


def _options(options: ConvOptions) -> dict[str, Any]:
    return {
        "stride": options.stride,
        "padding": options.padding,
        "padding_mode": options.padding_mode,
        "cval": options.cval,
        "dilation": options.dilation,
        "flip": options.flip,
        "method": options.method,
    }


def build_record(
    result: ImageResult,
    index: int,
    settings: Any,
    input_digest: dict[str, Any],
    output_digest: dict[str, Any],
) -> dict[str, Any]:
    """The record of output ``index`` of ``result`` (``settings``: the ApplySettings)."""
    import convcli  # the version is read on demand

    m: MapResult = result.maps[index]
    return json_safe({
        "format": RECORD_FORMAT,
        "version": RECORD_VERSION,
        "convcli": convcli.__version__,
        "input": {"path": result.input, **input_digest, "shape": list(result.input_shape)},
        "output": {"path": m.output, **output_digest, "map": index, "name": m.name,
                   "format": m.format, "depth": m.depth, "shape": list(m.shape)},
        "outputs": [{"format": o.format} for o in result.maps],
        "plan": plan_record(settings.plan),
        "options": _options(settings.options),
        "image": {"color": settings.color, "alpha": settings.alpha_mode,
                  "max_pixels": settings.max_pixels, "frame": settings.frame,
                  "strip": settings.strip},
        "encoding": {"quality": settings.save.quality, "lossless": settings.save.lossless,
                     "compression": settings.save.compression},
        "kernels": [_applied(a, settings.options) for a in result.applied],
        "mapping": {"requested": settings.mapping, "depth": settings.depth,
                    "requested_scale": settings.scale, "requested_bias": settings.bias,
                    **m.report},
    })  # fmt: skip


def record_path(output: str) -> str:
    """Where the record of ``output`` is written: ``<output>.json``."""
    return output + RECORD_SUFFIX


def write_records(
    result: ImageResult, source: str | bytes, settings: Any
) -> tuple[dict[str, Any], ...]:
    """Write ``<output>.json`` beside each written output; return the records."""
    import json

    input_digest = digest(source) if isinstance(source, bytes) else file_digest(source)
    records = []
    for index, m in enumerate(result.maps):
        if m.output == "-":
            continue
        record = build_record(result, index, settings, input_digest, file_digest(m.output))
        text = (json.dumps(record) + "\n").encode("utf-8")
        write_bytes(record_path(m.output), text)
        records.append(record)
    return tuple(records)


def existing_records(outputs: Sequence[str]) -> list[str]:
    """The record files of ``outputs`` that already exist."""
    return [record_path(o) for o in outputs if o != "-" and Path(record_path(o)).exists()]
