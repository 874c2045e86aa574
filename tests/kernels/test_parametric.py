"""Parametric kernels against their formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcli import conv2d
from convcli.kernels import Kernel, parse_kernel_spec


def _weights(spec: str) -> np.ndarray:
    kernel = parse_kernel_spec(spec)
    assert isinstance(kernel, Kernel)
    return np.asarray(kernel.weights)


def _is_symmetric(w: np.ndarray) -> bool:
    return bool(np.allclose(w, w[::-1, :]) and np.allclose(w, w[:, ::-1]) and np.allclose(w, w.T))


@settings(max_examples=25, deadline=None)
@given(sigma=st.floats(min_value=0.3, max_value=6.0))
def test_gaussian_sums_to_one_symmetric_peak_at_centre(sigma: float) -> None:
    w = _weights(f"gaussian:sigma={sigma}")
    side = 2 * math.ceil(3 * sigma) + 1
    assert w.shape == (side, side)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert _is_symmetric(w)
    assert np.unravel_index(np.argmax(w), w.shape) == (side // 2, side // 2)
    assert w.min() > 0


def test_gaussian_follows_the_formula() -> None:
    w = _weights("gaussian:sigma=1.5,size=7")
    y, x = np.mgrid[-3:4, -3:4]
    expected = np.exp(-(x**2 + y**2) / (2 * 1.5**2))
    np.testing.assert_allclose(w, expected / expected.sum())


def test_gaussian_positional_and_keyword_agree() -> None:
    np.testing.assert_array_equal(_weights("gaussian:2"), _weights("gaussian:sigma=2"))
    np.testing.assert_array_equal(_weights("gaussian:2,9"), _weights("gaussian:size=9,sigma=2"))
    assert parse_kernel_spec("gaussian:2").name == "gaussian:sigma=2,size=13"


def test_gaussian_matches_scipy() -> None:
    ndimage = pytest.importorskip("scipy.ndimage")
    impulse = np.zeros((13, 13))
    impulse[6, 6] = 1.0
    expected = ndimage.gaussian_filter(impulse, sigma=2.0, mode="constant", truncate=3.0)
    np.testing.assert_allclose(_weights("gaussian:sigma=2"), expected, atol=1e-12)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_box_is_a_mean(size: int) -> None:
    for spec in (f"box:{size}", f"box:size={size}"):
        w = _weights(spec)
        assert w.shape == (size, size)
        np.testing.assert_allclose(w, 1 / size**2)


def test_disk_is_a_normalised_disc() -> None:
    w = _weights("disk:radius=2")
    assert w.shape == (5, 5)
    assert w.sum() == pytest.approx(1.0)
    assert w[0, 0] == 0
    assert w[0, 2] > 0
    assert w[2, 2] == w[0, 2]
    assert np.count_nonzero(w) == 13
    assert _is_symmetric(w)


@pytest.mark.parametrize(
    ("spec", "cells"),
    [("motion:5", [(2, c) for c in range(5)]),
     ("motion:5,90", [(r, 2) for r in range(5)]),
     ("motion:length=3,angle=45", [(2, 0), (1, 1), (0, 2)]),
     ("motion:3,-45", [(0, 0), (1, 1), (2, 2)])],
)  # fmt: skip
def test_motion_is_a_line_through_the_centre(spec: str, cells: list[tuple[int, int]]) -> None:
    w = _weights(spec)
    expected = np.zeros_like(w)
    for cell in cells:
        expected[cell] = 1 / len(cells)
    np.testing.assert_allclose(w, expected)


def test_motion_even_length_gets_an_odd_kernel() -> None:
    w = _weights("motion:4")
    assert w.shape == (5, 5)
    assert w.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("sigma", [0.01, 0.3, 0.8, 1.4, 3.0])
def test_log_sums_to_zero_negative_centre(sigma: float) -> None:
    w = _weights(f"log:sigma={sigma}")
    assert w.shape[0] == 2 * math.ceil(4 * sigma) + 1
    assert abs(w.sum()) < 1e-12 * np.abs(w).sum()
    assert parse_kernel_spec(f"log:{sigma}").sum == 0.0  # type: ignore[union-attr]
    assert np.argmin(w) == w.size // 2
    assert _is_symmetric(w)


def test_log_follows_the_formula_up_to_its_mean() -> None:
    w = _weights("log:sigma=1,size=9")
    y, x = np.mgrid[-4:5, -4:5]
    r2 = (x**2 + y**2) / 2.0
    expected = -(1 - r2) * np.exp(-r2) / math.pi
    np.testing.assert_allclose(w, expected - expected.mean())


def test_dog_is_the_difference_of_two_gaussians() -> None:
    w = _weights("dog:sigma1=1,sigma2=2")
    assert w.shape == (13, 13)
    assert abs(w.sum()) < 1e-12
    expected = _weights("gaussian:1,size=13") - _weights("gaussian:2,size=13")
    np.testing.assert_allclose(w, expected)
    assert w[6, 6] > 0


def test_unsharp_sums_to_one_and_sharpens() -> None:
    w = _weights("unsharp:sigma=1,amount=2")
    assert w.sum() == pytest.approx(1.0)
    centre = w.shape[0] // 2
    expected = -2 * _weights("gaussian:1")
    expected[centre, centre] += 3
    np.testing.assert_allclose(w, expected)
    assert parse_kernel_spec("unsharp:sigma=1").name == "unsharp:sigma=1,amount=1,size=7"


@pytest.mark.parametrize(("spec", "name"), [("laplacian:4", "laplacian_4"),
                                            ("laplacian:8", "laplacian_8")])  # fmt: skip
def test_parametric_laplacian_equals_the_library_file(spec: str, name: str) -> None:
    np.testing.assert_array_equal(_weights(spec), _weights(name))


@pytest.mark.parametrize("axis", ["x", "y"])
def test_sobel_size_3_equals_the_library_file(axis: str) -> None:
    np.testing.assert_array_equal(_weights(f"sobel_{axis}:size=3"), _weights(f"sobel_{axis}"))


def test_sobel_5_is_opencvs_extended_sobel() -> None:
    smooth = np.array([1, 4, 6, 4, 1.0])
    derivative = np.array([-1, -2, 0, 2, 1.0])
    np.testing.assert_array_equal(_weights("sobel_x:5"), np.outer(smooth, derivative))
    np.testing.assert_array_equal(_weights("sobel_y:size=5"), np.outer(derivative, smooth))
    assert _weights("sobel_x:7")[3].tolist() == [-20, -80, -100, 0, 100, 80, 20]


@pytest.mark.parametrize(
    "spec",
    ["gaussian:1", "box:3", "disk:2", "motion:5,30", "log:1", "dog:1,2", "unsharp:1",
     "laplacian:8", "sobel_x:5", "sobel_y:7"],
)  # fmt: skip
def test_parametric_kernels_are_named_by_their_canonical_spec(spec: str) -> None:
    kernel = parse_kernel_spec(spec)
    assert isinstance(kernel, Kernel)
    assert kernel.source == "parametric"
    again = parse_kernel_spec(kernel.name)
    np.testing.assert_array_equal(again.weights, kernel.weights)  # type: ignore[union-attr]


def test_blur_keeps_a_flat_image_and_log_zeroes_it() -> None:
    flat = np.full((20, 20), 7.0)
    blurred = conv2d(flat, _weights("gaussian:1.5"), dtype=np.float64)
    np.testing.assert_allclose(blurred, 7.0)
    np.testing.assert_allclose(conv2d(flat, _weights("log:1"), dtype=np.float64), 0.0, atol=1e-12)


@pytest.mark.parametrize(
    "spec", ["gaussian:0.01", "unsharp:0.01", "dog:0.01,5", "log:0.01,size=99"]
)
def test_smallest_sigmas_give_finite_kernels(spec: str) -> None:
    assert np.all(np.isfinite(_weights(spec)))
