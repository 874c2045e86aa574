"""Reading images: every Pillow mode, EXIF orientation, 16-bit, alpha, errors, headers."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convcli.errors import ImageError
from convcli.io import encode_image, read_header, read_image


def encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    """An image's encoded bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def save(tmp_path: Path, name: str, data: bytes) -> Path:
    """Write bytes to a file under tmp_path."""
    path = tmp_path / name
    path.write_bytes(data)
    return path


GRAY = np.array([[0, 1, 2], [127, 128, 255]], dtype=np.uint8)
RGB = np.arange(18, dtype=np.uint8).reshape(2, 3, 3) * 13
ALPHA = np.array([[0, 64, 128], [192, 254, 255]], dtype=np.uint8)


# ---------------------------------------------------------------------- 8-bit modes


def test_l() -> None:
    img = read_image(encode(Image.fromarray(GRAY)))
    assert img.pixels.dtype == np.float32
    np.testing.assert_array_equal(img.pixels, GRAY)
    assert (img.alpha, img.max_value, img.bit_depth, img.mode, img.color) == (
        None,
        255.0,
        8,
        "L",
        "gray",
    )
    assert img.source == "<stdin>"
    assert img.format == "PNG"


def test_la() -> None:
    img = read_image(encode(Image.fromarray(np.dstack([GRAY, ALPHA]))))
    np.testing.assert_array_equal(img.pixels, GRAY)
    assert img.alpha is not None
    np.testing.assert_array_equal(img.alpha, ALPHA)
    assert (img.mode, img.color, img.channels) == ("LA", "gray", 1)


def test_rgb() -> None:
    img = read_image(encode(Image.fromarray(RGB)))
    np.testing.assert_array_equal(img.pixels, RGB)
    assert (img.alpha, img.color, img.shape, img.channels) == (None, "rgb", (2, 3, 3), 3)


def test_rgba() -> None:
    img = read_image(encode(Image.fromarray(np.dstack([RGB, ALPHA]))))
    np.testing.assert_array_equal(img.pixels, RGB)
    assert img.alpha is not None
    np.testing.assert_array_equal(img.alpha, ALPHA)
    assert img.mode == "RGBA"


COLOUR_PALETTE = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
GRAY_PALETTE = [(10, 10, 10), (20, 20, 20), (30, 30, 30)]


def palette_image(transparency: int | None = None, *, gray: bool = False) -> Image.Image:
    """A 3x1 palette image using entries 0, 1, 2."""
    image = Image.new("P", (3, 1))
    image.putpalette([c for colour in (GRAY_PALETTE if gray else COLOUR_PALETTE) for c in colour])
    image.putdata([0, 1, 2])
    if transparency is not None:
        image.info["transparency"] = transparency
    return image


def test_palette_becomes_rgb() -> None:
    img = read_image(encode(palette_image()))
    np.testing.assert_array_equal(img.pixels[0], [[255, 0, 0], [0, 255, 0], [0, 0, 255]])
    assert (img.alpha, img.mode, img.color) == (None, "P", "rgb")


def test_palette_with_transparency_becomes_rgba() -> None:
    img = read_image(encode(palette_image(transparency=1)))
    np.testing.assert_array_equal(img.pixels[0], [[255, 0, 0], [0, 255, 0], [0, 0, 255]])
    assert img.alpha is not None
    np.testing.assert_array_equal(img.alpha, [[255, 0, 255]])


def test_gray_palette_with_transparency_becomes_gray_and_alpha() -> None:
    img = read_image(encode(palette_image(transparency=2, gray=True)))
    np.testing.assert_array_equal(img.pixels, [[10, 20, 30]])
    assert img.alpha is not None
    np.testing.assert_array_equal(img.alpha, [[255, 255, 0]])


def test_gray_palette_becomes_gray() -> None:
    img = read_image(encode(palette_image(gray=True), "GIF"))
    np.testing.assert_array_equal(img.pixels, [[10, 20, 30]])
    assert (img.color, img.format) == ("gray", "GIF")


def test_one_bit_becomes_0_and_255() -> None:
    image = Image.new("1", (3, 1))
    image.putpixel((1, 0), 1)
    img = read_image(encode(image))
    np.testing.assert_array_equal(img.pixels, [[0, 255, 0]])
    assert (img.max_value, img.bit_depth, img.mode) == (255.0, 8, "1")


def test_cmyk_becomes_rgb() -> None:
    image = Image.new("CMYK", (3, 1))
    for x, value in enumerate([(0, 0, 0, 0), (255, 0, 0, 0), (0, 0, 0, 255)]):
        image.putpixel((x, 0), value)
    img = read_image(encode(image, "TIFF"))
    np.testing.assert_array_equal(img.pixels[0], [[255, 255, 255], [0, 255, 255], [0, 0, 0]])
    assert (img.mode, img.color) == ("CMYK", "rgb")


# ---------------------------------------------------------------------- 16-bit, int, float


def test_i16_png() -> None:
    values = np.array([[0, 1, 256], [32768, 65534, 65535]], dtype=np.uint16)
    img = read_image(encode(Image.fromarray(values)))
    np.testing.assert_array_equal(img.pixels, values)
    assert (img.max_value, img.bit_depth, img.mode) == (65535.0, 16, "I;16")


def test_i16_big_endian_tiff() -> None:
    values = np.array([[0, 1, 256, 65535]], dtype=np.uint16)
    image = Image.frombytes("I;16B", (4, 1), values.astype(">u2").tobytes())
    img = read_image(encode(image, "TIFF"))
    np.testing.assert_array_equal(img.pixels, values)
    assert img.max_value == 65535.0


def test_i32_in_16_bit_range_is_16_bit() -> None:
    values = np.array([[0, 7, 65535]], dtype=np.int32)
    img = read_image(encode(Image.fromarray(values), "TIFF"))
    np.testing.assert_array_equal(img.pixels, values)
    assert (img.mode, img.max_value, img.bit_depth) == ("I", 65535.0, 16)


def test_i32_out_of_16_bit_range_is_float_scaled_by_its_peak() -> None:
    values = np.array([[-5, 0, 70000]], dtype=np.int32)
    img = read_image(encode(Image.fromarray(values), "TIFF"))
    np.testing.assert_array_equal(img.pixels, values)
    assert (img.max_value, img.bit_depth) == (70000.0, 32)


def test_float_tiff() -> None:
    values = np.array([[0.25, -1.5, 3.0]], dtype=np.float32)
    img = read_image(encode(Image.fromarray(values), "TIFF"))
    np.testing.assert_array_equal(img.pixels, values)
    assert (img.mode, img.max_value, img.bit_depth, img.color) == (
        "F",
        3.0,
        32,
        "gray",
    )  # white: the largest |value|


@pytest.mark.parametrize("with_alpha", [False, True])
def test_16_bit_colour_png_keeps_all_16_bits(with_alpha: bool) -> None:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 65536, (5, 7, 3)).astype(np.uint16)
    alpha = rng.integers(0, 65536, (5, 7)).astype(np.uint16) if with_alpha else None
    img = read_image(encode_image(pixels, alpha=alpha, format="png"))
    np.testing.assert_array_equal(img.pixels, pixels)
    assert (img.max_value, img.bit_depth, img.color) == (65535.0, 16, "rgb")
    if alpha is None:
        assert img.alpha is None
    else:
        assert img.alpha is not None
        np.testing.assert_array_equal(img.alpha, alpha)


def test_16_bit_gray_alpha_png_keeps_all_16_bits() -> None:
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 65536, (4, 3)).astype(np.uint16)
    alpha = rng.integers(0, 65536, (4, 3)).astype(np.uint16)
    img = read_image(encode_image(pixels, alpha=alpha, format="png"))
    np.testing.assert_array_equal(img.pixels, pixels)
    assert img.alpha is not None
    np.testing.assert_array_equal(img.alpha, alpha)
    assert (img.color, img.bit_depth) == ("gray", 16)


# ---------------------------------------------------------------------- colour policy


def test_gray_is_float_bt601_luma_not_pillows_rounded_convert() -> None:
    pixels = np.array([[[10, 20, 30], [255, 0, 0]]], dtype=np.uint8)
    img = read_image(encode(Image.fromarray(pixels)), color="gray")
    np.testing.assert_allclose(img.pixels, [[18.15, 76.245]], rtol=1e-6)
    assert (img.color, img.pixels.shape) == ("gray", (1, 2))


def test_gray_keeps_alpha_apart() -> None:
    img = read_image(encode(Image.fromarray(np.dstack([RGB, ALPHA]))), color="gray")
    assert img.pixels.shape == (2, 3)
    assert img.alpha is not None
    np.testing.assert_array_equal(img.alpha, ALPHA)


def test_gray_on_16_bit_stays_on_the_16_bit_scale() -> None:
    pixels = np.full((2, 2, 3), 65535, dtype=np.uint16)
    img = read_image(encode_image(pixels, format="png"), color="gray")
    np.testing.assert_allclose(img.pixels, 65535.0, rtol=1e-6)
    assert img.max_value == 65535.0


def test_gray_on_gray_changes_nothing() -> None:
    img = read_image(encode(Image.fromarray(GRAY)), color="gray")
    np.testing.assert_array_equal(img.pixels, GRAY)


def test_unknown_color_policy() -> None:
    with pytest.raises(ValueError, match="'keep' or 'gray'"):
        read_image(encode(Image.fromarray(GRAY)), color="grey")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- EXIF orientation


def rotated_jpeg(orientation: int) -> bytes:
    """A 32 wide x 16 high JPEG, left half black, right half white, with an EXIF tag."""
    pixels = np.zeros((16, 32, 3), dtype=np.uint8)
    pixels[:, 16:] = 255
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", exif=exif.tobytes(), quality=95)


def test_exif_orientation_6_is_applied(tmp_path: Path) -> None:
    path = save(tmp_path, "rotated.jpg", rotated_jpeg(6))
    img = read_image(path)
    # orientation 6 means "rotate 90° clockwise to view": the left half goes on top
    assert img.pixels.shape == (32, 16, 3)
    assert img.pixels[:16].mean() < 10
    assert img.pixels[16:].mean() > 245
    assert read_header(path) == (32, 16, 3)


def test_exif_orientation_1_changes_nothing(tmp_path: Path) -> None:
    path = save(tmp_path, "upright.jpg", rotated_jpeg(1))
    assert read_image(path).pixels.shape == (16, 32, 3)
    assert read_header(path) == (16, 32, 3)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_16_bit_png_orientation_matches_pillow(orientation: int) -> None:
    values = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    pixels = np.dstack([values, values, values])
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    expected = read_image(encode(image, exif=exif.tobytes())).pixels
    # Pillow cannot write 16-bit colour PNGs, so add the eXIf chunk to convcli's own
    data = _with_exif_chunk(encode_image(pixels.astype(np.uint16) * 257, format="png"), exif)
    np.testing.assert_array_equal(read_image(data).pixels, expected * 257)


def _with_exif_chunk(png: bytes, exif: Image.Exif) -> bytes:
    """Insert an eXIf chunk right after IHDR."""
    payload = exif.tobytes()[6:] if exif.tobytes().startswith(b"Exif\x00\x00") else exif.tobytes()
    crc = zlib.crc32(b"eXIf" + payload) & 0xFFFFFFFF
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload + struct.pack(">I", crc)
    end_of_ihdr = 8 + 8 + 13 + 4
    return png[:end_of_ihdr] + chunk + png[end_of_ihdr:]


# ---------------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.png"
    with pytest.raises(ImageError, match=r"nope\.png: no such file"):
        read_image(path)
    with pytest.raises(ImageError, match="no such file"):
        read_header(path)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="is a directory"):
        read_image(tmp_path)


def test_not_an_image(tmp_path: Path) -> None:
    path = save(tmp_path, "notes.png", b"hello, I am text\n")
    with pytest.raises(ImageError, match=r"notes\.png: not an image") as info:
        read_image(path)
    assert "\n" not in str(info.value)


def truncated_png(mode: str = "RGB") -> bytes:
    """A PNG whose header is intact but whose pixel data is cut short."""
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3)).astype(np.uint8)
    image = Image.fromarray(noise)
    if mode == "P":
        image = image.quantize(colors=200)
    data = encode(image)
    return data[: len(data) // 2]


def test_corrupt_file_names_the_file(tmp_path: Path) -> None:
    path = save(tmp_path, "cut.png", truncated_png())
    with pytest.raises(ImageError, match=r"cut\.png: cannot decode image") as info:
        read_image(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("mode", ["RGB", "P"])
def test_header_does_not_decode(tmp_path: Path, mode: str) -> None:
    path = save(tmp_path, "cut.png", truncated_png(mode))
    with pytest.raises(ImageError, match="cannot decode"):
        read_image(path)
    assert read_header(path) == (64, 64, 3)


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims a huge size (the data would never decode)."""
    small = encode(Image.new("L", (1, 1)))
    ihdr = b"IHDR" + struct.pack(">II", width, height) + small[24:29]
    crc = struct.pack(">I", zlib.crc32(ihdr) & 0xFFFFFFFF)
    return small[:12] + ihdr + crc + small[33:]


def test_decompression_bomb_points_at_max_pixels() -> None:
    with pytest.raises(ImageError, match=r"--max-pixels 100000000") as info:
        read_image(png_claiming_size(10_000, 10_000))
    assert "<stdin>: 10000x10000" in str(info.value)


def test_between_pillow_warning_and_error_is_an_error_not_a_warning() -> None:
    with pytest.raises(ImageError, match="--max-pixels"):
        read_image(png_claiming_size(10_000, 9_000))


def test_max_pixels_lowers_and_raises_the_limit() -> None:
    data = encode(Image.fromarray(np.zeros((20, 30), np.uint8)))
    with pytest.raises(ImageError, match="600 pixels is over the limit of 599"):
        read_image(data, max_pixels=599)
    assert read_image(data, max_pixels=600).pixels.shape == (20, 30)


def test_max_pixels_leaves_pillow_global_alone() -> None:
    before = Image.MAX_IMAGE_PIXELS
    data = encode(Image.fromarray(np.zeros((2, 2), np.uint8)))
    read_image(data, max_pixels=10**12)
    with pytest.raises(ImageError):
        read_image(data, max_pixels=1)
    assert Image.MAX_IMAGE_PIXELS == before


def test_header_of_a_huge_image_needs_no_limit() -> None:
    assert read_header(png_claiming_size(10_000, 10_000)) == (10_000, 10_000, 1)


# ---------------------------------------------------------------------- read_header


HEADER_CASES = {
    "L": (encode(Image.fromarray(GRAY)), (2, 3, 1)),
    "LA": (encode(Image.fromarray(np.dstack([GRAY, ALPHA]))), (2, 3, 1)),
    "RGB": (encode(Image.fromarray(RGB)), (2, 3, 3)),
    "RGBA": (encode(Image.fromarray(np.dstack([RGB, ALPHA]))), (2, 3, 3)),
    "P": (encode(palette_image()), (1, 3, 3)),
    "P-gray": (encode(palette_image(gray=True), "GIF"), (1, 3, 1)),
    "1": (encode(Image.new("1", (5, 4))), (4, 5, 1)),
    "CMYK": (encode(Image.new("CMYK", (5, 4)), "TIFF"), (4, 5, 3)),
    "I;16": (encode(Image.fromarray(np.zeros((4, 5), np.uint16))), (4, 5, 1)),
    "I": (encode(Image.fromarray(np.zeros((4, 5), np.int32)), "TIFF"), (4, 5, 1)),
    "F": (encode(Image.fromarray(np.zeros((4, 5), np.float32)), "TIFF"), (4, 5, 1)),
    "RGB16": (encode_image(np.zeros((4, 5, 3), np.uint16), format="png"), (4, 5, 3)),
    "LA16": (
        encode_image(np.zeros((4, 5), np.uint16), alpha=np.zeros((4, 5), np.uint16), format="png"),
        (4, 5, 1),
    ),
}


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_header_agrees_with_read_image(case: str) -> None:
    data, expected = HEADER_CASES[case]
    assert read_header(data) == expected
    img = read_image(data)
    assert (*img.pixels.shape[:2], img.channels) == expected
