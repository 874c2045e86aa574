"""The strip pipeline holds strips, not maps: auto's robust gain and normalize included."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convcli.kernels import parse_kernel_spec
from convcli.pipeline import ApplySettings, ConvOptions, build_plan, filter_image, stream

SHAPE = (2400, 1000, 3)
MAP_BYTES = SHAPE[0] * SHAPE[1] * SHAPE[2] * 4  # one float32 feature map


def _peak(tmp: Path, spec: str, mapping: str, scale: float | None = None) -> int:
    """Peak traced bytes of one image filtered in strips (one engine thread)."""
    source = tmp / "in.png"
    if not source.exists():
        pixels = np.random.default_rng(3).integers(0, 256, SHAPE, dtype=np.uint8)
        Image.fromarray(pixels).save(source, compress_level=1)
    plan = build_plan([parse_kernel_spec(spec)])
    settings = ApplySettings(plan, ConvOptions(threads=1), mapping=mapping, scale=scale)
    tracemalloc.start()
    try:
        result = filter_image(str(source), [str(tmp / "o.png")], ["png"], settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.maps[0].mapping == ("abs" if mapping == "auto" else mapping)
    return peak


@pytest.mark.parametrize(
    ("spec", "image_wide", "pointwise"),
    [("sobel", ("auto", None), ("abs", 1.0)), ("sobel_x", ("normalize", None), ("clip", None))],
)
def test_image_wide_mappings_hold_no_more_than_pointwise_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str,
    image_wide: tuple[str, float | None], pointwise: tuple[str, float | None],
) -> None:  # fmt: skip
    monkeypatch.setattr(stream, "STRIP_BYTES", 2**19)
    _peak(tmp_path, spec, *pointwise)  # the engine's per-thread scratch, made once
    strips = _peak(tmp_path, spec, *pointwise)
    statistics = _peak(tmp_path, spec, *image_wide)
    assert strips < MAP_BYTES / 2, f"{strips / 2**20:.1f} MiB"
    # the statistics pass keeps 0.5 % of |map| for the percentile, not the map;
    # normalize maps a strip in float64
    assert statistics - strips < MAP_BYTES / 10, f"{(statistics - strips) / 2**20:.1f} MiB"
