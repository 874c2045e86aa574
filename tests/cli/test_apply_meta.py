"""`convcli apply` keeps ICC, EXIF and DPI; --strip, --quality, --lossless, --compression.

Every written file is read back with Pillow and compared with what Pillow itself writes or
with the input's own metadata.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image, ImageCms

from convcli.cli import cli
from convcli.io import encode_image
from convcli.io.meta import ImageMeta, SaveOptions

RNG = np.random.default_rng(31)
PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["apply", *args], catch_exceptions=False)


def _exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0131] = "convcli test"  # Software
    exif[0x0112] = orientation
    return exif


def _source(path: Path, *, mode: str = "RGB", orientation: int = 1) -> np.ndarray:
    shape = (6, 8, 3) if mode == "RGB" else (6, 8)
    pixels = RNG.integers(0, 256, shape, dtype=np.uint8)
    Image.fromarray(pixels).save(path, icc_profile=PROFILE, exif=_exif(orientation).tobytes(),
                                 dpi=(300, 150))  # fmt: skip
    return pixels


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".webp"])
def test_icc_exif_and_dpi_are_kept(suffix: str, tmp_path: Path) -> None:
    _source(tmp_path / f"in{suffix}")
    out = tmp_path / f"out{suffix}"
    assert run(str(tmp_path / f"in{suffix}"), "-k", "blur", "-o", str(out)).exit_code == 0
    with Image.open(out) as written:
        assert written.info.get("icc_profile") == PROFILE
        exif = written.getexif()
        assert (exif.get(0x010F), exif.get(0x0131)) == ("Canon", "convcli test")
        if suffix == ".webp":  # WebP holds no DPI
            assert "dpi" not in written.info
        else:
            assert tuple(round(float(d)) for d in written.info["dpi"]) == (300, 150)


def test_orientation_is_applied_and_reset_to_1(tmp_path: Path) -> None:
    pixels = _source(tmp_path / "in.jpg", orientation=6)  # rotate 90° clockwise to view
    with Image.open(tmp_path / "in.jpg") as im:
        upright = np.asarray(im.transpose(Image.Transpose.ROTATE_270))
    out = tmp_path / "out.png"
    assert run(str(tmp_path / "in.jpg"), "-k", "identity", "-o", str(out)).exit_code == 0
    with Image.open(out) as written:
        assert written.getexif()[0x0112] == 1
        assert written.size == (pixels.shape[0], pixels.shape[1])
        np.testing.assert_array_equal(np.asarray(written), upright)


def test_16_bit_png_keeps_metadata(tmp_path: Path) -> None:
    rgb = RNG.integers(0, 65536, (5, 4, 3), dtype=np.uint16)
    source = tmp_path / "in.png"
    source.write_bytes(_png16(rgb))
    out = tmp_path / "out.png"
    result = run(str(source), "-k", "identity", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "PNG 16-bit" in result.stderr
    with Image.open(out) as written:
        assert written.info.get("icc_profile") == PROFILE
        assert tuple(round(float(d)) for d in written.info["dpi"]) == (300, 150)
        assert written.getexif().get(0x010F) == "Canon"


def _png16(rgb: np.ndarray) -> bytes:
    """A 16-bit RGB PNG with ICC, EXIF and DPI, written by convcli's own encoder."""
    meta = ImageMeta(PROFILE, _exif().tobytes(), (300.0, 150.0))
    return encode_image(rgb, format="png", options=SaveOptions(meta))


def test_strip_drops_metadata(tmp_path: Path) -> None:
    _source(tmp_path / "in.jpg")
    out = tmp_path / "out.jpg"
    assert run(str(tmp_path / "in.jpg"), "-k", "blur", "--strip", "-o", str(out)).exit_code == 0
    with Image.open(out) as written:
        assert "icc_profile" not in written.info
        assert len(written.getexif()) == 0
        assert written.info.get("dpi") in (None, (1, 1), (72, 72))


def test_gray_output_of_colour_drops_the_colour_profile(tmp_path: Path) -> None:
    _source(tmp_path / "in.png")
    out = tmp_path / "out.png"
    assert (
        run(str(tmp_path / "in.png"), "-k", "blur", "--color", "gray", "-o", str(out)).exit_code
        == 0
    )
    with Image.open(out) as written:
        assert written.mode == "L"
        assert "icc_profile" not in written.info
        assert written.getexif().get(0x010F) == "Canon"


@pytest.mark.parametrize(("suffix", "pillow"), [(".jpg", "JPEG"), (".webp", "WEBP")])
@pytest.mark.parametrize("quality", [None, "40"])
def test_quality_is_pillows_quality(suffix: str, pillow: str, quality: str | None,
                                    tmp_path: Path) -> None:  # fmt: skip
    pixels = RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "in.png")
    out = tmp_path / f"out{suffix}"
    extra = [] if quality is None else ["--quality", quality]
    assert run(str(tmp_path / "in.png"), "-k", "identity", *extra, "-o", str(out)).exit_code == 0
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=pillow, quality=int(quality or 95))
    assert out.read_bytes() == buffer.getvalue()


def test_lossless_webp_round_trips(tmp_path: Path) -> None:
    pixels = RNG.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "in.png")
    out = tmp_path / "out.webp"
    args = [str(tmp_path / "in.png"), "-k", "identity", "--lossless", "-o", str(out)]
    assert run(*args).exit_code == 0
    with Image.open(out) as written:
        np.testing.assert_array_equal(np.asarray(written.convert("RGB")), pixels)


@pytest.mark.parametrize(("word", "pillow"), [("none", "raw"), ("deflate", "tiff_adobe_deflate"),
                                              ("lzw", "tiff_lzw")])  # fmt: skip
def test_tiff_compression(word: str, pillow: str, tmp_path: Path) -> None:
    pixels = RNG.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "in.png")
    out = tmp_path / "out.tif"
    args = [str(tmp_path / "in.png"), "-k", "identity", "--compression", word, "-o", str(out)]
    assert run(*args).exit_code == 0
    with Image.open(out) as written:
        assert written.info["compression"] == pillow
        np.testing.assert_array_equal(np.asarray(written), pixels)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--quality", "50"], "--quality acts on jpeg or webp output; the outputs are png"),
        (["--lossless"], "--lossless acts on webp output; the outputs are png"),
        (["--compression", "lzw"], "--compression acts on tiff output; the outputs are png"),
    ],
)
def test_encoding_options_need_their_format(option: list[str], message: str,
                                            tmp_path: Path) -> None:  # fmt: skip
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(tmp_path / "in.png")
    result = run(str(tmp_path / "in.png"), "-k", "blur", *option, "-o", str(tmp_path / "o.png"))
    assert result.exit_code == 2
    assert result.stderr == f"convcli: error: {message}\n"
    assert not (tmp_path / "o.png").exists()


def test_quality_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(tmp_path / "in.png")
    result = run(str(tmp_path / "in.png"), "-k", "blur", "--quality", "0", "-o", "x.jpg")
    assert result.exit_code == 2
    assert "Invalid value for '--quality': 0 is not in the range 1<=x<=100." in result.stderr


def test_tiff_keeps_its_descriptive_tags_not_its_layout(tmp_path: Path) -> None:
    source = tmp_path / "in.tif"
    exif = _exif()
    exif[0x8769] = {0x9003: "2020:01:02 03:04:05"}  # DateTimeOriginal in the EXIF IFD
    pixels = RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(source, exif=exif.tobytes(), dpi=(300, 150))
    for out in (tmp_path / "o.tif", tmp_path / "o.jpg"):
        assert run(str(source), "-k", "identity", "-o", str(out)).exit_code == 0
        with Image.open(out) as written:
            tags = written.getexif()
            assert (tags.get(0x010F), tags.get(0x0131)) == ("Canon", "convcli test")
            assert tags.get_ifd(0x8769).get(0x9003) == "2020:01:02 03:04:05"
            assert written.size == (8, 6)
            if out.suffix == ".tif":
                np.testing.assert_array_equal(np.asarray(written), pixels)


def test_stride_divides_the_dpi(tmp_path: Path) -> None:
    _source(tmp_path / "in.png")  # 300 x 150 dpi
    out = tmp_path / "out.tif"
    args = [str(tmp_path / "in.png"), "-k", "blur", "-s", "3,2", "-o", str(out)]
    assert run(*args).exit_code == 0
    with Image.open(out) as written:
        assert tuple(round(float(d)) for d in written.info["dpi"]) == (150, 50)


@pytest.mark.parametrize("out", ["out.png", "out.jpg", "out.tif", "-"])
@pytest.mark.parametrize("tags", [{}, {296: 2}])  # no resolution; a unit without one
def test_a_tiff_without_a_resolution_gives_outputs_none(tmp_path: Path, out: str, tags) -> None:  # type: ignore[no-untyped-def]
    """Pillow reads a TIFF with no XResolution and YResolution as 1 dpi; outputs must not
    claim it (a 4096-pixel photo 4096 inches wide in a layout program): in strips (files)
    and whole (standard output)."""
    from PIL.TiffImagePlugin import ImageFileDirectory_v2

    source = tmp_path / "in.tif"
    ifd = ImageFileDirectory_v2()
    for code, value in tags.items():
        ifd[code] = value
    Image.fromarray(RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8)).save(source, tiffinfo=ifd)
    with Image.open(source) as im:
        assert im.info["dpi"] == (1, 1)  # what Pillow makes of it
    target = "-" if out == "-" else str(tmp_path / out)
    result = run(str(source), "-k", "blur", "-o", target, *(["-f", "png"] if out == "-" else []))
    assert result.exit_code == 0, result.output
    data = result.stdout_bytes if out == "-" else (tmp_path / out).read_bytes()
    with Image.open(io.BytesIO(data)) as written:
        assert "dpi" not in written.info


@pytest.mark.parametrize(
    ("resolution", "kept"),
    [
        ((-72, 1), {}),  # negative (a signed rational): no format holds it
        ((2_000_000_000, 1), {".tif": 2e9}),  # beyond PNG's and JPEG's fields, not TIFF's
        ((100_000, 1), {".png": 1e5, ".tif": 1e5}),  # beyond JPEG's 16-bit density
    ],
)
@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif"])
def test_a_resolution_a_format_cannot_hold_is_not_written(
    tmp_path: Path, resolution: tuple[int, int], kept: dict[str, float], suffix: str
) -> None:
    """Such a resolution failed the output with a traceback (PNG, TIFF) or was cut to
    another number (JPEG keeps 16 bits: 100,000 dpi became 34,464)."""
    from PIL.TiffImagePlugin import IFDRational, ImageFileDirectory_v2

    source = tmp_path / "in.tif"
    ifd = ImageFileDirectory_v2()
    for tag in (282, 283):
        ifd[tag] = IFDRational(*resolution)
        ifd.tagtype[tag] = 10  # SRATIONAL
    ifd[296] = 2  # inches
    Image.fromarray(RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8)).save(source, tiffinfo=ifd)
    with Image.open(source) as im:
        assert im.info["dpi"][0] == resolution[0] / resolution[1]
    out = tmp_path / f"out{suffix}"
    result = run(str(source), "-k", "blur", "-o", str(out), "-q")
    assert result.exit_code == 0, result.output
    with Image.open(out) as written:
        dpi = written.info.get("dpi")
    assert (None if dpi is None else round(float(dpi[0]))) == kept.get(suffix)  # PNG: per metre


@pytest.mark.parametrize("out", ["out.jpg", "-"])
def test_exif_too_long_for_a_jpeg_is_left_out_with_a_warning(tmp_path: Path, out: str) -> None:
    """A TIFF with a long description (OME-TIFF's XML often passes 64 KB) made no JPEG at
    all: "EXIF data is too long". The JPEG is written without it, and the run says so; a
    PNG keeps it."""
    from PIL.TiffImagePlugin import ImageFileDirectory_v2

    source = tmp_path / "in.tif"
    ifd = ImageFileDirectory_v2()
    ifd[270] = "<OME>" + "x" * 70_000 + "</OME>"
    Image.fromarray(RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8)).save(source, tiffinfo=ifd)
    target = "-" if out == "-" else str(tmp_path / out)
    result = run(str(source), "-k", "blur", "-o", target, *(["-f", "jpeg"] if out == "-" else []))
    assert result.exit_code == 0, result.output
    # the block: "Exif\0\0", a TIFF header, the description and the orientation reset to 1
    warning = "EXIF of 70,056 bytes is over the 65,533 a JPEG holds: not written"
    assert warning in result.stderr
    data = result.stdout_bytes if out == "-" else (tmp_path / out).read_bytes()
    with Image.open(io.BytesIO(data)) as written:
        assert written.format == "JPEG"
        assert "exif" not in written.info
    assert run(str(source), "-k", "blur", "-o", str(tmp_path / "out.png")).exit_code == 0
    with Image.open(tmp_path / "out.png") as png:
        assert png.getexif()[270].startswith("<OME>")
