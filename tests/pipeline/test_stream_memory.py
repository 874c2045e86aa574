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


@pytest.mark.parametrize("alpha_mode", ["keep", "filter"])
def test_alpha_weighting_holds_strips_not_maps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alpha_mode: str
) -> None:
    """Colour x coverage, its division and the clear windows' fallback are made per strip
    (the whole-image path held about six float maps of the image with alpha)."""
    monkeypatch.setattr(stream, "STRIP_BYTES", 2**19)
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (*SHAPE[:2], 4), dtype=np.uint8)
    pixels[:, :200, 3] = 0  # clear: the straight colour is filtered there too
    source = tmp_path / "rgba.png"
    Image.fromarray(pixels, "RGBA").save(source, compress_level=1)
    plan = build_plan([parse_kernel_spec("gaussian:sigma=2")])
    settings = ApplySettings(plan, ConvOptions(threads=1), alpha_mode=alpha_mode)  # type: ignore[arg-type]
    peaks = []
    for _ in range(2):  # the first run makes the engine's per-thread scratch
        tracemalloc.start()
        try:
            result = filter_image(str(source), [str(tmp_path / "o.png")], ["png"], settings)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert result.maps[0].alpha
    with Image.open(tmp_path / "o.png") as im:
        assert im.mode == "RGBA"
    assert peaks[-1] < MAP_BYTES / 2, f"{peaks[-1] / 2**20:.1f} MiB"
