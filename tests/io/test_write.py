"""Writing images: formats, depths, alpha, atomic replacement, .npy."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest
from PIL import Image

import convcli.io.atomic
from convcli.errors import OutputError
from convcli.io import (
    atomic_write,
    encode_image,
    format_for_path,
    format_named,
    read_image,
    write_image,
    write_npy,
)

RNG = np.random.default_rng(7)
GRAY8 = RNG.integers(0, 256, (6, 5)).astype(np.uint8)
RGB8 = RNG.integers(0, 256, (6, 5, 3)).astype(np.uint8)
ALPHA8 = RNG.integers(0, 256, (6, 5)).astype(np.uint8)
GRAY16 = RNG.integers(0, 65536, (6, 5)).astype(np.uint16)
RGB16 = RNG.integers(0, 65536, (6, 5, 3)).astype(np.uint16)
ALPHA16 = RNG.integers(0, 65536, (6, 5)).astype(np.uint16)


def leftovers(folder: Path) -> list[str]:
    """Names in a folder other than the expected outputs (temporary files)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ---------------------------------------------------------------------- lossless round trips


@pytest.mark.parametrize("suffix", [".png", ".tif", ".tiff", ".bmp"])
@pytest.mark.parametrize("pixels", [GRAY8, RGB8], ids=["gray", "rgb"])
def test_8_bit_lossless_round_trip(tmp_path: Path, suffix: str, pixels: np.ndarray) -> None:
    path = tmp_path / f"out{suffix}"
    write_image(path, pixels)
    img = read_image(path)
    np.testing.assert_array_equal(img.pixels, pixels)
    assert img.alpha is None


@pytest.mark.parametrize("suffix", [".png", ".tif", ".webp"])
@pytest.mark.parametrize("pixels", [GRAY8, RGB8], ids=["gray", "rgb"])
def test_alpha_kept(tmp_path: Path, suffix: str, pixels: np.ndarray) -> None:
    path = tmp_path / f"out{suffix}"
    write_image(path, pixels, alpha=ALPHA8)
    img = read_image(path)
    assert img.alpha is not None
    np.testing.assert_array_equal(img.alpha, ALPHA8)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_gray_round_trip_exact(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    write_image(path, GRAY16)
    img = read_image(path)
    np.testing.assert_array_equal(img.pixels, GRAY16)
    assert (img.bit_depth, img.max_value) == (16, 65535.0)


@pytest.mark.parametrize("alpha", [None, ALPHA16], ids=["rgb", "rgba"])
def test_16_bit_colour_png_round_trip_exact(tmp_path: Path, alpha: np.ndarray | None) -> None:
    path = tmp_path / "out.png"
    write_image(path, RGB16, alpha=alpha)
    img = read_image(path)
    np.testing.assert_array_equal(img.pixels, RGB16)
    assert img.bit_depth == 16
    assert (img.alpha is None) == (alpha is None)
    if alpha is not None and img.alpha is not None:
        np.testing.assert_array_equal(img.alpha, alpha)


def test_16_bit_gray_alpha_png_round_trip_exact(tmp_path: Path) -> None:
    path = tmp_path / "out.png"
    write_image(path, GRAY16, alpha=ALPHA16)
    img = read_image(path)
    np.testing.assert_array_equal(img.pixels, GRAY16)
    assert img.alpha is not None
    np.testing.assert_array_equal(img.alpha, ALPHA16)


def test_one_channel_3d_array_is_gray(tmp_path: Path) -> None:
    write_image(tmp_path / "out.png", GRAY8[..., np.newaxis])
    np.testing.assert_array_equal(read_image(tmp_path / "out.png").pixels, GRAY8)


def test_float32_tiff_holds_raw_values(tmp_path: Path) -> None:
    raw = np.array([[-3.5, 0.0], [1e6, 0.125]], dtype=np.float32)
    write_image(tmp_path / "raw.tif", raw)
    img = read_image(tmp_path / "raw.tif")
    np.testing.assert_array_equal(img.pixels, raw)
    assert img.mode == "F"


def test_float32_colour_tiff_holds_raw_values(tmp_path: Path) -> None:
    raw = np.array([[[-3.5, 0.0, 7.0], [1e6, 0.125, -1e-3]]], dtype=np.float32)
    write_image(tmp_path / "raw.tif", raw)
    img = read_image(tmp_path / "raw.tif")
    np.testing.assert_array_equal(img.pixels, raw)
    assert (img.bit_depth, img.color, img.max_value) == (32, "rgb", 1e6)


def test_float_alpha_is_rounded_to_pixel_dtype(tmp_path: Path) -> None:
    write_image(tmp_path / "out.png", GRAY8, alpha=ALPHA8.astype(np.float32) + 0.4)
    img = read_image(tmp_path / "out.png")
    assert img.alpha is not None
    np.testing.assert_array_equal(img.alpha, ALPHA8)


# ---------------------------------------------------------------------- lossy and dropped alpha


def test_jpeg_is_close_and_drops_alpha(tmp_path: Path) -> None:
    smooth = np.tile(np.linspace(0, 255, 32), (32, 1)).astype(np.uint8)
    pixels = np.dstack([smooth, smooth, smooth])
    write_image(tmp_path / "out.jpg", pixels, alpha=np.zeros((32, 32), np.uint8))
    img = read_image(tmp_path / "out.jpg")
    assert img.alpha is None
    assert np.abs(img.pixels - pixels).max() <= 8


def test_bmp_drops_alpha(tmp_path: Path) -> None:
    write_image(tmp_path / "out.bmp", RGB8, alpha=ALPHA8)
    img = read_image(tmp_path / "out.bmp")
    assert img.alpha is None
    np.testing.assert_array_equal(img.pixels, RGB8)


def test_webp_is_close(tmp_path: Path) -> None:
    smooth = np.tile(np.linspace(0, 255, 32), (32, 1)).astype(np.uint8)
    write_image(tmp_path / "out.webp", smooth)
    assert np.abs(read_image(tmp_path / "out.webp", color="gray").pixels - smooth).max() <= 8


# ---------------------------------------------------------------------- formats and refusals


def test_format_for_path() -> None:
    assert format_for_path("a/b.PNG").pillow == "PNG"
    assert format_for_path("x.jpeg").pillow == "JPEG"
    assert format_for_path("x.tif").pillow == "TIFF"


@pytest.mark.parametrize("name", ["out.pcx", "out", "out.txt"])
def test_unknown_extension_lists_valid_ones(tmp_path: Path, name: str) -> None:
    with pytest.raises(OutputError, match=r"unknown output format .*\.bmp, \.gif, \.jpeg, \.jpg"):
        write_image(tmp_path / name, GRAY8)
    assert list(tmp_path.iterdir()) == []


def test_explicit_format_wins_over_suffix(tmp_path: Path) -> None:
    write_image(tmp_path / "out.dat", GRAY8, format="png")
    assert (tmp_path / "out.dat").read_bytes()[:4] == b"\x89PNG"


def test_format_depths() -> None:
    assert format_named("png").depths == (8, 16)
    assert format_named("JPG").depths == (8,)
    assert format_named("tiff").depths == (8, 16, 32)


@pytest.mark.parametrize(
    ("name", "pixels", "alpha", "message"),
    [
        ("out.jpg", GRAY16, None, "JPEG output cannot hold 16-bit"),
        ("out.webp", RGB16, None, "WEBP output cannot hold 16-bit"),
        ("out.png", GRAY8.astype(np.float32), None, "PNG output cannot hold float32"),
        ("out.bmp", RGB8.astype(np.float32), None, "BMP output cannot hold float32"),
        ("out.tif", GRAY8.astype(np.float32), ALPHA8, "cannot carry alpha"),
        ("out.png", GRAY8.astype(np.int64), None, "dtype int64"),
        ("out.png", np.zeros((4, 4, 2), np.uint8), None, "2 channels"),
        ("out.png", GRAY8, np.zeros((2, 2), np.uint8), "alpha has shape"),
    ],
)
def test_refused_pixels_write_nothing(
    tmp_path: Path, name: str, pixels: np.ndarray, alpha: np.ndarray | None, message: str
) -> None:
    with pytest.raises(OutputError, match=message):
        write_image(tmp_path / name, pixels, alpha=alpha)
    assert list(tmp_path.iterdir()) == []


def test_encode_image_for_stdout() -> None:
    data = encode_image(RGB8, alpha=ALPHA8, format="png")
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(image)[..., :3], RGB8)


def test_encode_unknown_format() -> None:
    with pytest.raises(OutputError, match="unknown image format 'pcx'; expected one of bmp"):
        encode_image(GRAY8, format="pcx")


# ---------------------------------------------------------------------- atomic writing


def test_failed_encoder_leaves_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old contents")

    def broken_save(self: Image.Image, fp: BinaryIO, *args: object, **kwargs: object) -> None:
        fp.write(b"half an image")
        msg = "disk on fire"
        raise OSError(msg)

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OutputError, match="cannot encode"):
        write_image(target, GRAY8)
    assert target.read_bytes() == b"old contents"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_atomic_write_failure_mid_write(tmp_path: Path, error: BaseException) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old contents")

    def write(handle: BinaryIO) -> None:
        handle.write(b"partial")
        raise error

    with pytest.raises(type(error)):
        atomic_write(target, write)
    assert target.read_bytes() == b"old contents"
    assert leftovers(tmp_path) == []


def test_atomic_write_os_error_becomes_output_error(tmp_path: Path) -> None:
    def write(handle: BinaryIO) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match=r"out\.png: cannot write: No space left on device"):
        atomic_write(tmp_path / "out.png", write)
    assert list(tmp_path.iterdir()) == []


def test_failed_replace_removes_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(src: str, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(convcli.io.atomic.os, "replace", refuse)
    with pytest.raises(OutputError, match="Permission denied"):
        write_image(tmp_path / "out.png", GRAY8)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_and_creates_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.png"
    write_image(target, GRAY8)
    write_image(target, RGB8)
    assert read_image(target).pixels.shape == (6, 5, 3)
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.png"]


def test_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="cannot write"):
        write_image(tmp_path / "file" / "out.png", GRAY8)


# ---------------------------------------------------------------------- .npy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_write_npy_round_trip(tmp_path: Path, dtype: type) -> None:
    array = RNG.standard_normal((3, 4, 2)).astype(dtype)
    write_npy(tmp_path / "fmap.npy", array)
    loaded = np.load(tmp_path / "fmap.npy", allow_pickle=False)
    assert loaded.dtype == dtype
    np.testing.assert_array_equal(loaded, array)


def test_write_npy_refuses_objects_atomically(tmp_path: Path) -> None:
    target = tmp_path / "fmap.npy"
    write_npy(target, np.zeros(3))
    before = target.read_bytes()
    with pytest.raises(ValueError, match="allow_pickle"):
        write_npy(target, np.array([{}, None], dtype=object))
    assert target.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_atomic_write_gives_the_mode_open_would(tmp_path: Path) -> None:
    import os
    import stat

    target = tmp_path / "out.bin"
    atomic_write(target, lambda handle: handle.write(b"data"))
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"data")
    assert stat.S_IMODE(os.stat(target).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)
