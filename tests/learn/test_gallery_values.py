"""The gallery maps values as `apply --map auto` does (one mapping for both)."""

from __future__ import annotations

import numpy as np
import pytest

from convcli.kernels import parse_kernel_spec
from convcli.learn.gallery import build_gallery, filter_tile

RNG = np.random.default_rng(23)
IMAGE = RNG.uniform(0, 255, (24, 30))


@pytest.mark.parametrize("spec", ["sobel", "gaussian:sigma=1", "2 2; 2 2"])
def test_grey_tiles_are_applys_auto_mapping(spec: str) -> None:
    kernel = parse_kernel_spec(spec)
    gallery = build_gallery(IMAGE, [kernel], tile_size=30, columns=2)
    tile = gallery.tiles[1]
    left, top, right, bottom = tile.box
    shown = np.asarray(gallery.image)[top:bottom, left:right, 0].astype(float)
    values, kernel_sum = filter_tile(IMAGE, kernel)
    if kernel_sum == 0.0:  # by hand: |x| scaled so the 99.5th percentile of |x| is 255
        top_value = np.percentile(np.abs(values), 99.5)
        expected = np.clip(np.abs(values) * (255 / top_value), 0, 255)
        assert tile.high == pytest.approx(top_value, rel=1e-5)
    else:  # clip, exactly as apply
        expected = np.clip(values, 0, 255)
        assert tile.high == 255.0
    assert not tile.signed
    np.testing.assert_allclose(shown, np.floor(expected + 0.5), atol=1)


def test_signed_tiles_use_the_same_robust_top() -> None:
    gallery = build_gallery(IMAGE, [parse_kernel_spec("laplacian")], tile_size=30, columns=2)
    values, _ = filter_tile(IMAGE, parse_kernel_spec("laplacian"))
    tile = gallery.tiles[1]
    assert tile.signed
    assert tile.high == pytest.approx(np.percentile(np.abs(values), 99.5), rel=1e-5)
