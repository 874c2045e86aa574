"""convcli.filtering: kernels, banks, chains, anchors, offsets and alpha on arrays."""

from __future__ import annotations

import numpy as np
import pytest

from convcli import conv2d
from convcli.errors import GeometryError, KernelError
from convcli.kernels import Kernel, KernelBank, parse_kernel_spec
from convcli.pipeline import ConvOptions, apply_plan, build_plan

RNG = np.random.default_rng(7)
IMAGE = RNG.uniform(0, 255, (9, 11, 3)).astype(np.float32)
ALPHA = RNG.uniform(0, 255, (9, 11)).astype(np.float32)
SAME = {"padding": "same", "padding_mode": "reflect"}


def _kernel(weights: list[list[float]], **kw: object) -> Kernel:
    return Kernel(kw.pop("name", "k"), np.array(weights, dtype=float), **kw)  # type: ignore[arg-type]


def test_one_kernel_is_conv2d_per_channel() -> None:
    sobel_x = parse_kernel_spec("sobel_x")
    [fmap] = apply_plan(IMAGE, build_plan([sobel_x]))
    np.testing.assert_allclose(fmap.values, conv2d(IMAGE, sobel_x.weights, **SAME), atol=1e-3)
    assert fmap.values.shape == IMAGE.shape
    assert fmap.kernel_sum == 0.0
    assert fmap.alpha is None


def test_bank_combines_with_its_own_mode() -> None:
    bank = parse_kernel_spec("sobel")
    assert isinstance(bank, KernelBank)
    [fmap] = apply_plan(IMAGE, build_plan([bank]))
    gx, gy = (conv2d(IMAGE, k.weights, **SAME) for k in bank.kernels)
    np.testing.assert_allclose(fmap.values, np.hypot(gx, gy), rtol=1e-4, atol=1e-2)
    assert fmap.name == bank.name


def test_repeated_kernels_stack_one_map_each_unless_combined() -> None:
    a, b = parse_kernel_spec("sobel_x"), parse_kernel_spec("sobel_y")
    plan = build_plan([a, b])
    assert plan.map_names == ("sobel_x", "sobel_y")
    maps = apply_plan(IMAGE, plan)
    np.testing.assert_allclose(maps[1].values, conv2d(IMAGE, b.weights, **SAME), atol=1e-3)
    [fmap] = apply_plan(IMAGE, build_plan([a, b], combine="max"))
    np.testing.assert_allclose(fmap.values, np.maximum(maps[0].values, maps[1].values))


def test_chain_equals_two_successive_conv2d() -> None:
    blur, edge = parse_kernel_spec("box:3"), parse_kernel_spec("sobel_x")
    options = ConvOptions(stride=2)
    [fmap] = apply_plan(IMAGE, build_plan([blur, edge], chain=True), options)
    once = conv2d(IMAGE, blur.weights, stride=2, **SAME)
    np.testing.assert_allclose(
        fmap.values, conv2d(once, edge.weights, stride=2, **SAME), atol=1e-3
    )
    assert [a.name for a in fmap.applied] == [blur.name, "sobel_x"]


def test_plan_errors() -> None:
    k = parse_kernel_spec("sobel_x")
    with pytest.raises(KernelError, match="--combine"):
        build_plan([k, k], combine="max", chain=True)
    with pytest.raises(KernelError, match="no kernel"):
        build_plan([])


def test_even_kernel_anchor_places_the_window_under_same() -> None:
    image = np.arange(20.0).reshape(4, 5)
    ones = np.ones((2, 2))
    [fmap] = apply_plan(image, build_plan([_kernel(ones.tolist(), anchor=(1, 1))]))
    padded = np.pad(image, ((1, 0), (1, 0)), mode="reflect")
    expected = padded[:-1, :-1] + padded[1:, :-1] + padded[:-1, 1:] + padded[1:, 1:]
    np.testing.assert_allclose(fmap.values, expected)
    [default] = apply_plan(image, build_plan([_kernel(ones.tolist())]))
    np.testing.assert_allclose(default.values, conv2d(image, ones, **SAME))


def test_offset_is_added() -> None:
    [fmap] = apply_plan(IMAGE[..., 0], build_plan([_kernel([[1.0]], offset=10.0)]))
    np.testing.assert_allclose(fmap.values, IMAGE[..., 0] + 10)


def test_alpha_kept_is_sampled_on_the_strided_grid() -> None:
    k = parse_kernel_spec("box:3")
    [fmap] = apply_plan(IMAGE, build_plan([k]), ConvOptions(stride=2), alpha=ALPHA)
    # same with stride 2 on 9 rows: pads (1, 1), windows centred on rows 0, 2, ...
    np.testing.assert_array_equal(fmap.alpha, ALPHA[::2, ::2])
    [valid] = apply_plan(IMAGE, build_plan([k]), ConvOptions(padding="valid"), alpha=ALPHA)
    np.testing.assert_array_equal(valid.alpha, ALPHA[1:-1, 1:-1])


def test_alpha_filter_and_drop() -> None:
    k = parse_kernel_spec("box:3")
    [fmap] = apply_plan(IMAGE, build_plan([k]), alpha=ALPHA, alpha_mode="filter")
    np.testing.assert_allclose(fmap.alpha, conv2d(ALPHA, k.weights, **SAME), rtol=1e-5)
    assert fmap.values.shape == IMAGE.shape
    [gray] = apply_plan(IMAGE[..., 0], build_plan([k]), alpha=ALPHA, alpha_mode="filter")
    assert gray.values.shape == ALPHA.shape
    [dropped] = apply_plan(IMAGE, build_plan([k]), alpha=ALPHA, alpha_mode="drop")
    assert dropped.alpha is None


def test_different_shapes_cannot_combine() -> None:
    a, b = parse_kernel_spec("box:3"), parse_kernel_spec("box:5")
    with pytest.raises(GeometryError, match="different shapes"):
        apply_plan(IMAGE, build_plan([a, b], combine="sum"), ConvOptions(padding="valid"))
