"""auto's robust gain for zero-sum kernels, --scale and --bias, and the clip slack."""

from __future__ import annotations

import numpy as np
import pytest

from convcli.values import AUTO_PERCENTILE, map_values, robust_scale

RNG = np.random.default_rng(5)


def test_auto_scales_a_zero_sum_map_by_a_high_percentile_of_its_magnitude() -> None:
    fmap = RNG.normal(0, 30, (50, 40)).astype(np.float32)
    out, report = map_values(fmap, "auto", max_value=255.0, kernel_sum=0.0)
    gain = 255.0 / np.percentile(np.abs(fmap.astype(np.float64)), 99.5)
    assert AUTO_PERCENTILE == 99.5
    assert report.scale == pytest.approx(gain, rel=1e-5)
    np.testing.assert_allclose(out, np.clip(np.abs(fmap) * gain, 0, 255), rtol=1e-5, atol=1e-3)
    assert report.mapping == "abs"
    assert report.clipped == np.count_nonzero(np.abs(fmap) * gain > 255 * (1 + 1e-5))
    assert report.clipped_share == pytest.approx(0.005, abs=0.001)
    assert (report.min, report.max) == (float(fmap.min()), float(fmap.max()))


def test_auto_keeps_clip_exactly_for_kernels_whose_sum_is_not_zero() -> None:
    fmap = RNG.uniform(-20, 300, (6, 7)).astype(np.float32)
    out, report = map_values(fmap, "auto", max_value=255.0, kernel_sum=16.0)
    clipped, _ = map_values(fmap, "clip", max_value=255.0, kernel_sum=16.0)
    np.testing.assert_array_equal(out, clipped)
    assert (report.mapping, report.scale, report.bias, report.reason) == ("clip", 1.0, 0.0, "auto")


def test_scale_and_bias_apply_before_the_mapping() -> None:
    fmap = np.array([-10.0, 0.0, 10.0, 100.0], np.float32)
    out, report = map_values(fmap, "clip", max_value=255.0, kernel_sum=1.0, scale=2.0, bias=50)
    np.testing.assert_array_equal(out, [30.0, 50.0, 70.0, 250.0])
    assert (report.scale, report.bias, report.clipped) == (2.0, 50.0, 0)
    assert (report.min, report.max) == (-10.0, 100.0)  # the response's own range


def test_a_given_scale_replaces_autos_gain() -> None:
    fmap = np.array([-4.0, 1.0, 2.0], np.float32)
    out, report = map_values(fmap, "auto", max_value=255.0, kernel_sum=0.0, scale=10.0)
    np.testing.assert_array_equal(out, [40.0, 10.0, 20.0])
    assert report.reason == "auto: kernel sums to 0, --scale"


def test_negative_scale_flips_the_range() -> None:
    out, report = map_values(np.array([1.0, 3.0]), "offset", max_value=255.0, kernel_sum=0.0,
                             scale=-10.0)  # fmt: skip
    np.testing.assert_allclose(out, [117.5, 97.5])
    assert report.clipped == 0


@pytest.mark.parametrize(
    ("values", "expected"),
    [([0.0, 0.0, 0.0], 1.0), ([0.0, 0.0, 0.0, 5.0], 255.0 / np.percentile([0, 0, 0, 5], 99.5)),
     ([np.nan, 2.0, -2.0], 255.0 / 2.0), ([], 1.0)],
)  # fmt: skip
def test_robust_scale_edge_cases(values: list[float], expected: float) -> None:
    assert robust_scale(np.array(values), 255.0) == pytest.approx(expected)


def test_float_rounding_past_the_top_is_not_clipping() -> None:
    fmap = np.array([255.00002, 255.0, 256.0], np.float32)
    out, report = map_values(fmap, "clip", max_value=255.0, kernel_sum=1.0)
    np.testing.assert_array_equal(out, [255.0, 255.0, 255.0])
    assert report.clipped == 1
