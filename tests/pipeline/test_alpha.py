"""Alpha-weighted (premultiplied) filtering: no colour bleeds from transparent pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from convcli.cli import cli
from convcli.kernels import parse_kernel_spec
from convcli.pipeline import apply_plan, build_plan

RNG = np.random.default_rng(11)


def red_disc(size: int = 96, radius: int = 30) -> np.ndarray:
    """RGBA uint8: an opaque red disc on transparent black."""
    yy, xx = np.mgrid[:size, :size]
    disc = (yy - size // 2) ** 2 + (xx - size // 2) ** 2 < radius**2
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[disc] = (255, 0, 0, 255)
    return rgba


@pytest.mark.parametrize(
    "kernel", ["blur", "gaussian:sigma=6", "box:9", "motion:length=15,angle=30"]
)
@pytest.mark.parametrize("mode", ["keep", "filter"])
def test_red_disc_stays_red_up_to_its_edge(kernel: str, mode: str, tmp_path: Path) -> None:
    source, out = tmp_path / "disc.png", tmp_path / "out.png"
    Image.fromarray(red_disc(), "RGBA").save(source)
    args = ["apply", str(source), "-k", kernel, "--alpha", mode, "-o", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with Image.open(out) as written:
        assert written.mode == "RGBA"
        rgba = np.asarray(written).astype(int)
    seen = rgba[..., 3] >= 8
    assert seen.sum() > 2000
    assert np.abs(rgba[seen][:, :3] - (255, 0, 0)).max() <= 2
    if mode == "keep":
        np.testing.assert_array_equal(rgba[..., 3], red_disc()[..., 3])
    else:  # the filtered alpha reaches beyond the disc
        assert (rgba[..., 3] > 0).sum() > (red_disc()[..., 3] > 0).sum()


def _box3(x: np.ndarray) -> np.ndarray:
    """3x3 mean with reflect padding, by hand."""
    pad = np.pad(x, ((1, 1), (1, 1)) + ((0, 0),) * (x.ndim - 2), mode="reflect")
    h, w = x.shape[:2]
    return sum(pad[i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9.0


def test_colour_is_the_alpha_weighted_mean() -> None:
    pixels = RNG.uniform(0, 255, (7, 8, 3)).astype(np.float32)
    alpha = RNG.uniform(0, 255, (7, 8)).astype(np.float32)
    alpha[2:4, 3:6] = 0  # holes whose colour must not count
    [fmap] = apply_plan(pixels, build_plan([parse_kernel_spec("box:3")]), alpha=alpha)
    a = alpha.astype(np.float64)
    expected = _box3(pixels * a[..., None]) / _box3(a)[..., None]
    np.testing.assert_allclose(fmap.values, expected, rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(fmap.alpha, alpha)


def test_kernel_gain_is_kept_and_16_bit_alpha_scale_is_used() -> None:
    pixels = RNG.uniform(0, 1000, (5, 6)).astype(np.float32)
    alpha = RNG.uniform(1, 65535, (5, 6)).astype(np.float32)
    plan = build_plan([parse_kernel_spec("1 2 1; 2 4 2; 1 2 1")])
    [fmap] = apply_plan(pixels, plan, alpha=alpha, alpha_mode="filter", alpha_max=65535.0)
    weights = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], float)
    pad = np.pad(pixels * alpha.astype(np.float64), 1, mode="reflect")
    pad_a = np.pad(alpha.astype(np.float64), 1, mode="reflect")
    num = sum(weights[i, j] * pad[i : i + 5, j : j + 6] for i in range(3) for j in range(3))
    den = sum(weights[i, j] * pad_a[i : i + 5, j : j + 6] for i in range(3) for j in range(3))
    np.testing.assert_allclose(fmap.values, 16 * num / den, rtol=1e-4)
    np.testing.assert_allclose(fmap.alpha, den, rtol=1e-5)


def test_zero_sum_kernel_sees_the_image_over_black() -> None:
    pixels = RNG.uniform(0, 255, (6, 6)).astype(np.float32)
    alpha = np.full((6, 6), 255.0, np.float32)
    alpha[:, :3] = 0  # the left half hidden: its colour must not make edges
    kernel = parse_kernel_spec("sobel_x")
    [fmap] = apply_plan(pixels, build_plan([kernel]), alpha=alpha)
    over_black = pixels * (alpha / 255)
    [plain] = apply_plan(over_black, build_plan([kernel]))
    np.testing.assert_allclose(fmap.values, plain.values, atol=1e-3)


def test_transparent_everywhere_keeps_the_stored_colour() -> None:
    pixels = RNG.uniform(0, 255, (4, 5, 3)).astype(np.float32)
    [fmap] = apply_plan(
        pixels, build_plan([parse_kernel_spec("identity")]), alpha=np.zeros((4, 5))
    )
    np.testing.assert_allclose(fmap.values, pixels)
