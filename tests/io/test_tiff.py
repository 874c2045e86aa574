"""TIFF through tifffile: any range of rows of any layout, 16-bit colour kept, strips written."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from convcli.errors import ImageError
from convcli.io import read_image, write_image
from convcli.io.tiff import TiffRows, probe, read_tiff_rows
from convcli.io.tiff_write import write_tiff

RNG = np.random.default_rng(3)
LAYOUTS = [
    {"rowsperstrip": 16},
    {"rowsperstrip": 7, "compression": "zlib"},
    {"tile": (32, 48)},
    {"tile": (16, 16), "bigtiff": True, "compression": "zlib"},
    {"rowsperstrip": 1000},
    {"rowsperstrip": 16, "byteorder": ">"},
    {"tile": (16, 32), "byteorder": ">", "compression": "zlib"},
]
RANGES = [(0, 101), (5, 40), (33, 34), (90, 101), (100, 101), (64, 64)]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("samples", [1, 2, 3, 4])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_range_of_rows_is_the_stored_rows(tmp_path: Path, dtype, samples, layout) -> None:  # type: ignore[no-untyped-def]
    shape = (101, 77, samples) if samples > 1 else (101, 77)
    data = (RNG.random(shape) * 60000).astype(dtype)
    path = tmp_path / "a.tif"
    photometric = "rgb" if samples >= 3 else "minisblack"
    alpha = ["unassalpha"] if samples in (2, 4) else []
    tifffile.imwrite(path, data, photometric=photometric, extrasamples=alpha, **layout)
    found = probe(path)
    assert found is not None
    assert (found.samples, found.alpha, found.dtype) == (samples, samples in (2, 4), dtype)
    with TiffRows(path) as tif:
        for start, stop in RANGES:
            np.testing.assert_array_equal(tif.read(start, stop), data[start:stop])


@pytest.mark.parametrize("byteorder", ["<", ">"])  # read in place; read and swapped
def test_a_tiff_that_shrinks_while_read_is_one_clear_error(tmp_path: Path, byteorder: str) -> None:
    path = tmp_path / "a.tif"
    data = RNG.integers(0, 60000, (64, 50, 3), dtype=np.uint16)
    tifffile.imwrite(path, data, photometric="rgb", rowsperstrip=16, byteorder=byteorder)
    with TiffRows(path) as tif:
        np.testing.assert_array_equal(tif.read(0, 64), data)
        with open(path, "r+b") as f:  # another program cuts the file after it was opened
            f.truncate(path.stat().st_size - 3 * 16 * 50 * 2 * 3 // 2)
        np.testing.assert_array_equal(tif.read(0, 16), data[:16])
        with pytest.raises(ImageError, match=r"^.*a\.tif: truncated TIFF: strip 2 ends early "
                                             r"\(did the file change\?\)$"):  # fmt: skip
            tif.read(20, 64)


def test_layouts_for_pillow_are_not_probed(tmp_path: Path) -> None:
    palette = Image.new("P", (4, 4))
    palette.save(tmp_path / "p.tif")
    Image.new("CMYK", (4, 4)).save(tmp_path / "c.tif")
    assert probe(tmp_path / "p.tif") is None
    assert probe(tmp_path / "c.tif") is None


def test_16_bit_colour_tiff_round_trips_at_16_bits(tmp_path: Path) -> None:
    pixels = RNG.integers(0, 65536, (5, 6, 3)).astype(np.uint16)
    alpha = RNG.integers(0, 65536, (5, 6)).astype(np.uint16)
    write_image(tmp_path / "c.tif", pixels, alpha=alpha)
    loaded = read_image(str(tmp_path / "c.tif"))
    assert (loaded.bit_depth, loaded.max_value, loaded.mode) == (16, 65535.0, "RGBA;16")
    np.testing.assert_array_equal(loaded.pixels, pixels)
    assert loaded.alpha is not None
    np.testing.assert_array_equal(loaded.alpha, alpha)


def test_strips_of_any_height_make_one_tiff(tmp_path: Path) -> None:
    data = RNG.integers(0, 256, (150, 9, 3), dtype=np.uint8)
    cuts = [0, 10, 11, 100, 150]
    write_tiff(tmp_path / "s.tif", (data[a:b] for a, b in itertools.pairwise(cuts)), data.shape,
               np.uint8)  # fmt: skip
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "s.tif"), data)
    with Image.open(tmp_path / "s.tif") as im:
        np.testing.assert_array_equal(np.asarray(im), data)


def test_a_failed_strip_writer_leaves_nothing(tmp_path: Path) -> None:
    def strips():  # type: ignore[no-untyped-def]
        yield np.zeros((64, 4), np.uint8)
        msg = "boom"
        raise ImageError(msg)

    with pytest.raises(ImageError, match="boom"):
        write_tiff(tmp_path / "s.tif", strips(), (128, 4), np.uint8)
    assert list(tmp_path.iterdir()) == []


def test_rows_from_bytes_and_unsupported_layouts() -> None:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.arange(12, dtype=np.uint16).reshape(4, 3))
    assert read_tiff_rows(buffer.getvalue(), 2, 9).tolist() == [[6, 7, 8], [9, 10, 11]]
    buffer = io.BytesIO()
    Image.new("P", (2, 2)).save(buffer, format="TIFF")
    with pytest.raises(ImageError, match="<stdin>: a TIFF layout that cannot be read in strips"):
        read_tiff_rows(buffer.getvalue(), 0, 1)


def _meta_tiff(path: Path, tags: dict[int, object], samples: int = 3) -> None:
    """A TIFF whose first IFD holds exactly ``tags`` besides its layout (written by Pillow,
    which keeps every rational and byte type as given; checked with tifffile)."""
    from PIL.TiffImagePlugin import ImageFileDirectory_v2

    ifd = ImageFileDirectory_v2()
    for code, value in tags.items():
        ifd[code] = value
        if code == ICC_TAG:
            ifd.tagtype[code] = 7  # UNDEFINED: opaque bytes
    shape = (6, 5, samples) if samples > 1 else (6, 5)
    Image.fromarray(np.zeros(shape, np.uint8)).save(path, tiffinfo=ifd)
    with tifffile.TiffFile(path) as tif:
        written = {tag.code for tag in tif.pages.first.tags.values()}
    assert set(tags) <= written


ICC_TAG = 34675
ICC = bytes(range(256)) * 2


def _r(numerator: int, denominator: int) -> object:
    from PIL.TiffImagePlugin import IFDRational

    return IFDRational(numerator, denominator)


META_CASES: dict[str, dict[int, object]] = {
    "no tags": {},
    "dpi": {282: _r(300, 1), 283: _r(150, 1), 296: 2},
    "dots per cm": {282: _r(7200, 97), 283: _r(1, 3), 296: 3},
    "no unit": {282: _r(72, 1), 283: _r(96, 1)},
    "unit none": {282: _r(72, 1), 283: _r(72, 1), 296: 1},
    "unit only": {296: 3},
    "zero": {282: _r(0, 1), 283: _r(72, 1), 296: 2},
    "icc": {ICC_TAG: ICC},
    "icc and dpi": {ICC_TAG: ICC, 282: _r(600, 2), 283: _r(600, 2), 296: 2},
}


@pytest.mark.parametrize("samples", [1, 3])
@pytest.mark.parametrize("case", META_CASES)
def test_plain_tiff_metadata_is_what_pillow_reads(tmp_path: Path, case: str, samples: int) -> None:
    """The strip path reads a TIFF's profile and resolution without Pillow: the same
    ImageMeta as read_meta through Pillow (the whole-image path), for every tag layout."""
    from convcli.io.meta import read_meta
    from convcli.io.pillow import open_image

    path = tmp_path / "m.tif"
    _meta_tiff(path, META_CASES[case], samples)
    color = "gray" if samples == 1 else "rgb"
    with TiffRows(str(path)) as tif:
        plain = tif.plain_meta(color)
    with open_image(str(path)) as im:
        assert plain == read_meta(im, color)


@pytest.mark.parametrize(
    "tags",
    [
        {305: "a scanner"},  # descriptive text: an EXIF block to build
        {274: 1},  # the orientation (ImageMagick and libvips write it)
        {282: _r(72, 0), 283: _r(72, 1)},  # a resolution of x/0
    ],
)
def test_tiff_metadata_pillow_must_read_is_left_to_it(tmp_path: Path, tags) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "m.tif"
    _meta_tiff(path, tags)
    with TiffRows(str(path)) as tif:
        assert tif.plain_meta("rgb") is None


def test_a_strip_never_written_reads_as_zeros(tmp_path: Path) -> None:
    """A strip whose byte count is 0 (a sparse file: never written) is zeros; the others are
    read as stored, however a range of rows mixes them."""
    import struct

    pixels = np.arange(1, 8 * 5 * 3 + 1, dtype=np.uint8).reshape(8, 5, 3)
    path = tmp_path / "sparse.tif"
    tifffile.imwrite(path, pixels, photometric="rgb", rowsperstrip=2)
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        counts = tif.pages.first.tags["StripByteCounts"]
        assert (counts.count, counts.dtype) == (4, 3)  # four SHORT counts
        struct.pack_into("<H", data, counts.valueoffset + 2, 0)  # strip 1: rows 2 and 3
    path.write_bytes(data)
    expected = pixels.copy()
    expected[2:4] = 0
    with TiffRows(str(path)) as rows:
        for start, stop in [(0, 8), (1, 5), (2, 4), (3, 6), (4, 8)]:
            assert np.array_equal(rows.read(start, stop), expected[start:stop]), (start, stop)
