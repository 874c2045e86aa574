"""Regression tests for bugs found by trying ``shape``, ``explain`` and ``gallery`` as a user.

Every bad input must give one line on stderr, a non-zero exit and no traceback, and must
not leave output behind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from convcli.cli import cli
from convcli.errors import GeometryError
from convcli.gallery import build_gallery
from convcli.kernels import parse_kernel_spec
from convcli.layers import parse_layer


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def error_line(result: Result) -> str:
    """The one line a failure prints on stderr (after click's usage lines, if any)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()[-1]


@pytest.fixture
def junk(tmp_path: Path) -> Path:
    path = tmp_path / "junk"
    path.write_bytes(bytes(range(128, 256)) * 2)
    return path


# ---------------------------------------------------------------- unreadable inputs


@pytest.mark.parametrize("command", ["shape", "explain"])
@pytest.mark.parametrize(
    ("suffix", "reason"),
    [
        (".txt", "not UTF-8 text; expected rows of numbers"),
        (
            ".npy",
            "cannot read as .npy: it has no NumPy header; expected a file written by numpy.save",
        ),
    ],
)
def test_an_unreadable_text_matrix_or_npy_is_one_error(
    command: str, suffix: str, reason: str, junk: Path, tmp_path: Path
) -> None:
    path = junk.rename(tmp_path / f"junk{suffix}")
    result = run(command, str(path), "-k", "3")
    assert result.exit_code == 1
    assert error_line(result) == f"convcli: error: {path}: {reason}"


def test_explain_refuses_a_npy_with_nan_like_a_text_matrix(tmp_path: Path) -> None:
    path = tmp_path / "nan.npy"
    np.save(path, np.array([[1.0, np.nan], [0.0, 0.0]]))
    result = run("explain", str(path), "-k", "3")
    assert result.exit_code == 1
    assert (
        error_line(result)
        == f"convcli: error: {path}: value [0, 1] is nan; expected finite numbers"
    )
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["shape", "explain"])
def test_an_empty_npy_is_named(command: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.npy"
    np.save(path, np.zeros((0, 4)))
    result = run(command, str(path), "-k", "3")
    assert result.exit_code == 1
    assert str(path) in error_line(result)
    assert "(0, 4)" in error_line(result)


@pytest.mark.parametrize("command", ["shape", "explain"])
def test_a_folder_is_called_a_folder(command: str, tmp_path: Path) -> None:
    result = run(command, str(tmp_path), "-k", "3")
    assert result.exit_code == 1
    assert error_line(result).startswith(f"convcli: error: {tmp_path}: is a folder; expected ")


@pytest.mark.parametrize("size", ["5x", "224x224x3x2", "7 x 7"])
def test_a_malformed_size_is_called_a_size(size: str) -> None:
    result = run("shape", size, "-k", "3")
    assert result.exit_code == 1
    assert error_line(result) == (
        f"convcli: error: size {size!r} is not HxW or HxWxC (e.g. 224x224x3)"
    )


# ---------------------------------------------------------------- explain --at and --gif


def test_at_outside_the_output_fails_before_printing_or_writing(
    grid: Path, tmp_path: Path
) -> None:
    gif = tmp_path / "slide.gif"
    result = run("explain", str(grid), "-k", "sobel_x", "--at", "9,9", "--gif", str(gif))
    assert result.exit_code == 1
    assert error_line(result) == (
        "convcli: error: position 9,9 is outside the output 7x7; "
        "expected ROW in 0..6 and COL in 0..6"
    )
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == [grid]


@pytest.mark.parametrize("at", ["²,1", "١,1"])
def test_at_with_non_ascii_digits_is_a_usage_error(grid: Path, at: str) -> None:
    result = run("explain", str(grid), "-k", "sobel_x", "--at", at)
    assert result.exit_code == 2
    assert error_line(result) == (
        f"Error: Invalid value for '--at': {at!r} is not ROW,COL "
        "(two whole numbers >= 0, e.g. 2,3)"
    )


@pytest.mark.parametrize("name", ["-", "slide.png", "slide"])
def test_gif_must_be_named_gif(grid: Path, tmp_path: Path, name: str) -> None:
    result = CliRunner().invoke(
        cli, ["explain", str(grid), "-k", "sobel_x", "--gif", str(tmp_path / name)]
    )
    assert result.exit_code == 2
    assert error_line(result).startswith("Error: Invalid value for '--gif': ")
    assert error_line(result).endswith(
        "does not end in .gif; expected the name of the GIF file to write"
    )
    assert list(tmp_path.iterdir()) == [grid]


# ---------------------------------------------------------------- layers


@pytest.mark.parametrize(("text", "twice"), [("k3s2s2", "s"), ("k3p1p2", "p"), ("k3d2d2p1", "d")])
def test_a_layer_part_given_twice_is_an_error(text: str, twice: str) -> None:
    with pytest.raises(GeometryError, match=rf"^layer '{text}' gives {twice} more than once; "):
        parse_layer(text)


# ---------------------------------------------------------------- gallery


@pytest.mark.parametrize("side", [1, 2])
def test_tiny_images_are_drawn_big_enough_to_see(side: int) -> None:
    image = np.zeros((side, side))
    image[0, 0] = 255.0
    gallery = build_gallery(image, [parse_kernel_spec("sobel_x")], tile_size=64)
    assert gallery.tile_size == (64, 64)
    left, top, right, bottom = gallery.tiles[0].box
    assert (right - left, bottom - top) == (64, 64)
    pixels = np.asarray(gallery.image)
    block = 64 // side
    assert np.all(pixels[top : top + block, left : left + block] == 255)  # one pixel, one block


def test_images_near_the_tile_size_are_not_enlarged() -> None:
    gallery = build_gallery(np.zeros((20, 30)), [parse_kernel_spec("blur")], tile_size=40)
    assert gallery.tile_size == (30, 20)


def test_a_narrow_sheet_is_still_wide_enough_for_the_legend() -> None:
    gallery = build_gallery(np.zeros((16, 16)), [parse_kernel_spec("sobel_x")], tile_size=16)
    legend = np.asarray(gallery.image)[-44:]
    assert np.all(legend[:, -4:] == 255)  # the text ends before the right margin


def test_gallery_of_a_one_pixel_image_through_the_cli(tmp_path: Path) -> None:
    source, sheet = tmp_path / "dot.png", tmp_path / "sheet.png"
    Image.new("L", (1, 1), 200).save(source)
    result = run("gallery", str(source), "-o", str(sheet), "-k", "sobel_x", "--tile-size", "32")
    assert result.exit_code == 0, result.output
    assert "(2 columns, 32x32 each)" in result.stdout
