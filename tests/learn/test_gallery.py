"""The kernel gallery: tiles, labels, the diverging colour map, writing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convcli.errors import KernelError, OutputError
from convcli.kernels import load_library, parse_kernel_spec
from convcli.learn.gallery import (
    NEGATIVE,
    POSITIVE,
    ZERO,
    build_gallery,
    diverging,
    thumbnail,
    write_gallery,
)


def _step_image() -> np.ndarray:
    image = np.zeros((40, 60, 3))
    image[:, 30:] = 255.0
    return image


def test_one_tile_per_kernel_after_the_original() -> None:
    specs = [parse_kernel_spec(s) for s in ("sobel_x", "box_blur", "sobel", "kirsch")]
    gallery = build_gallery(_step_image(), specs, tile_size=32)
    assert [t.name for t in gallery.tiles] == [
        "original",
        "sobel_x",
        "box_blur",
        "sobel",
        "kirsch",
    ]
    assert [t.label for t in gallery.tiles] == [
        "original",
        "sobel_x",
        "box_blur",
        "sobel (magnitude)",
        "kirsch (max)",
    ]
    assert gallery.tile_hw == (21, 32)
    assert gallery.columns == 3
    assert [t.signed for t in gallery.tiles] == [False, True, False, False, False]


def test_tiles_do_not_overlap_and_lie_on_the_sheet() -> None:
    gallery = build_gallery(_step_image(), load_library(), tile_size=24)
    assert len(gallery.tiles) == len(load_library()) + 1
    width, height = gallery.image.size
    boxes = [t.box for t in gallery.tiles]
    for left, top, right, bottom in boxes:
        assert 0 <= left < right <= width
        assert 0 <= top < bottom <= height
    assert len({(b[0], b[1]) for b in boxes}) == len(boxes)


def test_signed_tile_is_blue_left_of_a_falling_edge_and_red_at_a_rising_one() -> None:
    image = np.zeros((30, 30))
    image[:, 10:20] = 255.0  # rises at column 10, falls at column 20
    gallery = build_gallery(image, [parse_kernel_spec("sobel_x")], tile_size=30, columns=2)
    tile = gallery.tiles[1]
    pixels = np.asarray(gallery.image)
    left, top = tile.box[0], tile.box[1]
    assert tuple(pixels[top + 15, left + 10]) == POSITIVE
    assert tuple(pixels[top + 15, left + 20]) == NEGATIVE
    assert tuple(pixels[top + 15, left + 4]) == ZERO
    assert tile.low == -tile.high


def test_diverging_map_ends_and_middle() -> None:
    rgb = diverging(np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 3.0]), 1.0)
    assert tuple(rgb[0]) == NEGATIVE
    assert tuple(rgb[2]) == ZERO
    assert tuple(rgb[4]) == tuple(rgb[5]) == POSITIVE
    assert rgb[1, 2] > rgb[1, 0]  # halfway to blue


def test_thumbnail_keeps_small_images_and_shrinks_large_ones() -> None:
    assert thumbnail(np.full((10, 20), 1.0), 1.0, 256).max() == 255.0
    assert thumbnail(np.zeros((300, 600, 3)), 255.0, 100).shape == (50, 100, 3)


def test_no_kernels_is_an_error() -> None:
    with pytest.raises(KernelError, match="gallery needs at least one kernel; got none"):
        build_gallery(_step_image(), [])


def test_write_gallery(tmp_path: Path) -> None:
    gallery = build_gallery(_step_image(), [parse_kernel_spec("sobel_y")], tile_size=20)
    write_gallery(tmp_path / "sheet.png", gallery)
    with Image.open(tmp_path / "sheet.png") as sheet:
        assert sheet.size == gallery.image.size
    with pytest.raises(OutputError, match="unknown output format"):
        write_gallery(tmp_path / "sheet.xyz", gallery)
    with pytest.raises(OutputError, match=r"sheet\.npy: a gallery is a picture; expected an "):
        write_gallery(tmp_path / "sheet.npy", gallery)
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.png"]


@pytest.mark.parametrize("side", [1, 2])
def test_tiny_images_are_drawn_big_enough_to_see(side: int) -> None:
    image = np.zeros((side, side))
    image[0, 0] = 255.0
    gallery = build_gallery(image, [parse_kernel_spec("sobel_x")], tile_size=64)
    assert gallery.tile_hw == (64, 64)
    left, top, right, bottom = gallery.tiles[0].box
    assert (bottom - top, right - left) == (64, 64)
    pixels = np.asarray(gallery.image)
    block = 64 // side
    assert np.all(pixels[top : top + block, left : left + block] == 255)  # one pixel, one block


def test_images_near_the_tile_size_are_not_enlarged() -> None:
    gallery = build_gallery(np.zeros((20, 30)), [parse_kernel_spec("blur")], tile_size=40)
    assert gallery.tile_hw == (20, 30)


def test_a_narrow_sheet_is_still_wide_enough_for_the_legend() -> None:
    gallery = build_gallery(np.zeros((16, 16)), [parse_kernel_spec("sobel_x")], tile_size=16)
    legend = np.asarray(gallery.image)[-44:]
    assert np.all(legend[:, -4:] == 255)  # the text ends before the right margin
    assert gallery.hw == (gallery.image.height, gallery.image.width)
