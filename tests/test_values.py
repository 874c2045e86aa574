"""Value mapping (map_values, MappingReport) and rounding to pixels (to_pixels)."""

from __future__ import annotations

import numpy as np
import pytest

from convcli.errors import OutputError
from convcli.values import VALUE_MAPPINGS, MappingReport, map_values, to_pixels

FMAP = np.array([[-100.0, -10.0, 0.0], [10.0, 255.0, 300.0]], dtype=np.float32)


def test_value_mappings() -> None:
    assert VALUE_MAPPINGS == ("auto", "clip", "abs", "normalize", "offset", "raw")


def test_clip() -> None:
    out, report = map_values(FMAP, "clip", max_value=255.0, kernel_sum=1.0)
    np.testing.assert_array_equal(out, [[0, 0, 0], [10, 255, 255]])
    assert report == MappingReport("clip", -100.0, 300.0, 3, 0.5)
    assert out.dtype == np.float32


def test_abs() -> None:
    out, report = map_values(FMAP, "abs", max_value=255.0, kernel_sum=0.0)
    np.testing.assert_array_equal(out, [[100, 10, 0], [10, 255, 255]])
    assert (report.mapping, report.clipped) == ("abs", 1)
    assert report.clipped_share == pytest.approx(1 / 6)


def test_normalize() -> None:
    out, report = map_values(FMAP, "normalize", max_value=255.0, kernel_sum=0.0)
    expected = (FMAP.astype(np.float64) + 100) * 255 / 400
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert (out.min(), out.max()) == (0.0, 255.0)
    assert (report.mapping, report.min, report.max, report.clipped) == ("normalize", -100, 300, 0)


def test_normalize_to_16_bit() -> None:
    out, _ = map_values(np.array([1.0, 2.0, 3.0]), "normalize", max_value=65535.0, kernel_sum=1)
    np.testing.assert_allclose(out, [0, 32767.5, 65535])


def test_normalize_constant_map_gives_zeros() -> None:
    out, report = map_values(np.full((2, 2), 7.0), "normalize", max_value=255.0, kernel_sum=1.0)
    np.testing.assert_array_equal(out, np.zeros((2, 2)))
    assert (report.min, report.max, report.clipped) == (7.0, 7.0, 0)


def test_offset() -> None:
    out, report = map_values(FMAP, "offset", max_value=255.0, kernel_sum=0.0)
    np.testing.assert_array_equal(out, [[27.5, 117.5, 127.5], [137.5, 255, 255]])
    assert (report.mapping, report.clipped) == ("offset", 2)


def test_offset_float_scale() -> None:
    out, _ = map_values(np.array([-0.25, 0.0, 0.75]), "offset", max_value=1.0, kernel_sum=0.0)
    np.testing.assert_allclose(out, [0.25, 0.5, 1.0])


def test_raw_changes_nothing() -> None:
    out, report = map_values(FMAP, "raw", max_value=255.0, kernel_sum=0.0)
    np.testing.assert_array_equal(out, FMAP)
    assert report == MappingReport("raw", -100.0, 300.0, 0, 0.0)


@pytest.mark.parametrize(
    ("kernel_sum", "expected"),
    [(0.0, "abs"), (-0.0, "abs"), (5e-7, "clip"), (1e-5, "clip"), (1.0, "clip"), (None, "clip")],
)
def test_auto(kernel_sum: float | None, expected: str) -> None:
    _, report = map_values(FMAP, "auto", max_value=255.0, kernel_sum=kernel_sum)
    assert report.mapping == expected


def test_float64_stays_float64() -> None:
    out, _ = map_values(FMAP.astype(np.float64), "clip", max_value=255.0, kernel_sum=1.0)
    assert out.dtype == np.float64


def test_integer_input_becomes_float() -> None:
    out, report = map_values(np.array([-3, 4]), "abs", max_value=255.0, kernel_sum=0.0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [3, 4])
    assert (report.min, report.max) == (-3.0, 4.0)


def test_empty_map() -> None:
    out, report = map_values(np.zeros((0, 3)), "normalize", max_value=255.0, kernel_sum=1.0)
    assert out.shape == (0, 3)
    assert report == MappingReport("normalize", 0.0, 0.0, 0, 0.0)


def test_colour_map_keeps_its_shape() -> None:
    fmap = np.linspace(-1, 1, 24).reshape(2, 4, 3)
    out, report = map_values(fmap, "abs", max_value=1.0, kernel_sum=0.0)
    assert out.shape == (2, 4, 3)
    assert report.clipped == 0


def test_unknown_mapping() -> None:
    with pytest.raises(ValueError, match="'squash' is not one of auto, clip"):
        map_values(FMAP, "squash", max_value=255.0, kernel_sum=0.0)


def test_mapping_does_not_modify_its_input() -> None:
    fmap = FMAP.copy()
    for mapping in VALUE_MAPPINGS:
        map_values(fmap, mapping, max_value=255.0, kernel_sum=0.0)
    np.testing.assert_array_equal(fmap, FMAP)


# ---------------------------------------------------------------------- to_pixels


def test_to_pixels_8_bit_rounds_halves_up_and_clips() -> None:
    out = to_pixels(np.array([-1.0, 0.49, 0.5, 1.5, 2.5, 254.5, 255.0, 300.0]), 8)
    assert out.dtype == np.uint8
    assert out.tolist() == [0, 0, 1, 2, 3, 255, 255, 255]


def test_to_pixels_16_bit() -> None:
    out = to_pixels(np.array([0.0, 1.4, 32767.5, 65535.0, 70000.0]), 16)
    assert out.dtype == np.uint16
    assert out.tolist() == [0, 1, 32768, 65535, 65535]


def test_to_pixels_rescales_from_another_scale() -> None:
    assert to_pixels(np.array([0.0, 0.5, 1.0]), 8, max_value=1.0).tolist() == [0, 128, 255]
    assert to_pixels(np.array([255.0, 1.0]), 16, max_value=255.0).tolist() == [65535, 257]
    assert to_pixels(np.array([65535.0, 257.0]), 8, max_value=65535.0).tolist() == [255, 1]


def test_to_pixels_keeps_shape() -> None:
    assert to_pixels(np.zeros((2, 3, 3)), 8).shape == (2, 3, 3)


@pytest.mark.parametrize("depth", [1, 12, 32])
def test_to_pixels_bad_depth(depth: int) -> None:
    with pytest.raises(OutputError, match=f"8 or 16, got {depth}"):
        to_pixels(np.zeros(2), depth)
