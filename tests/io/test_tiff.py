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
