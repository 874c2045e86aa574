"""strip_pixels gives to_pixels(map_range(...)) to the bit, with the same clipped count."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from convcli.pipeline.strip_pixels import strip_pixels
from convcli.values import map_range, to_pixels


def reference(
    values: np.ndarray, mapping: str, max_value: float, low: float, high: float,
    scale: float, bias: float, depth: int,
) -> tuple[np.ndarray, int]:  # fmt: skip
    """The general path, as the strip pipeline took it before (map, NaN to 0, round)."""
    mapped, clipped = map_range(values, mapping, max_value=max_value, low=low, high=high,
                                scale=scale, bias=bias)  # fmt: skip
    if math.isnan(low):
        mapped = np.nan_to_num(mapped, nan=0.0)
    return to_pixels(mapped, depth, max_value=max_value), clipped


def check(values: np.ndarray, mapping: str, max_value: float, scale: float, bias: float,
          depth: int, widen: float = 0.0) -> None:  # fmt: skip
    low = float(values.min()) - widen if values.size else 0.0
    high = float(values.max()) + widen if values.size else 0.0
    expected = reference(values, mapping, max_value, low, high, scale, bias, depth)
    scratch = values.copy()
    got = strip_pixels(scratch, mapping, max_value=max_value, low=low, high=high, scale=scale,
                       bias=bias, depth=depth)  # fmt: skip
    assert got[0].dtype == expected[0].dtype
    np.testing.assert_array_equal(got[0], expected[0])
    assert got[1] == expected[1]


ELEMENTS = st.one_of(
    st.floats(-1e6, 1e6, width=32),
    st.sampled_from([0.0, -0.0, 0.5, 254.5, 255.0, 255.5, -0.5, 127.5, 65534.5, 65535.0,
                     255.00002, -1e-7, 1e-45]),
)  # fmt: skip
VALUES = hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=12),
                    elements=ELEMENTS)  # fmt: skip


@settings(max_examples=800, deadline=None)
@given(
    values=VALUES,
    mapping=st.sampled_from(["clip", "abs", "offset", "normalize"]),
    max_value=st.sampled_from([255.0, 65535.0]),
    depth=st.sampled_from([8, 16]),
    scale=st.one_of(st.just(1.0), st.floats(-50, 50), st.sampled_from([0.5, 2.0, 255 / 1020])),
    bias=st.one_of(st.just(0.0), st.floats(-300, 300)),
    widen=st.sampled_from([0.0, 0.0, 3.0]),
)
def test_same_pixels_and_count_as_the_general_functions(
    values: np.ndarray, mapping: str, max_value: float, depth: int, scale: float, bias: float,
    widen: float,
) -> None:  # fmt: skip
    check(values, mapping, max_value, scale, bias, depth, widen)


@pytest.mark.parametrize("mapping", ["clip", "abs", "offset"])
@pytest.mark.parametrize(("max_value", "depth"), [(255.0, 8), (65535.0, 16), (65535.0, 8)])
@pytest.mark.parametrize(("scale", "bias"), [(1.0, 0.0), (0.25, 0.0), (3.0, -20.0)])
def test_every_half_and_edge_of_the_range(
    mapping: str, max_value: float, depth: int, scale: float, bias: float
) -> None:
    grid = np.arange(-2 * max_value, 2 * max_value, 0.25 if max_value < 300 else 7.25)
    values = np.concatenate([grid, [-0.0, 0.0, max_value, max_value + 1e-3]]).astype(np.float32)
    check(values.reshape(-1, 1), mapping, max_value, scale, bias, depth)


def test_nan_strips_take_the_general_path() -> None:
    values = np.array([[1.0, np.nan, 300.0]], np.float32)
    check(values, "clip", 255.0, 1.0, 0.0, 8)
    pixels, _ = strip_pixels(values.copy(), "abs", max_value=255.0, low=math.nan, high=math.nan,
                             scale=1.0, bias=0.0, depth=8)  # fmt: skip
    assert pixels.tolist() == [[1, 0, 255]]


def test_blur_of_an_8bit_image_rounds_halves_up_without_a_clip() -> None:
    values = np.array([[0.0, 0.5, 1.49, 254.5, 255.0]], np.float32)
    pixels, clipped = strip_pixels(values, "clip", max_value=255.0, low=0.0, high=255.0,
                                   scale=1.0, bias=0.0, depth=8)  # fmt: skip
    assert (pixels.tolist(), clipped) == ([[0, 1, 1, 255, 255]], 0)
