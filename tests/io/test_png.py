"""The strip PNG writer: segments made anywhere join into one valid PNG, the same bytes."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from convcli.io.png import adler_joined, png_segment, write_png

RNG = np.random.default_rng(3)


@given(st.binary(max_size=300), st.binary(max_size=70000))
def test_joined_checksums_are_zlibs(first: bytes, second: bytes) -> None:
    joined = adler_joined(zlib.adler32(first), zlib.adler32(second), len(second))
    assert joined == zlib.adler32(first + second)


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every chunk (kind, body), checking each CRC."""
    found, at = [], 8
    while at < len(data):
        (size,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + size]
        assert struct.unpack(">I", data[at + 8 + size : at + 12 + size])[0] == zlib.crc32(
            kind + body
        )
        found.append((kind, body))
        at += 12 + size
    return found


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((50, 7), np.uint8), ((50, 7, 3), np.uint8), ((33, 5, 3), np.uint16), ((9, 4, 4), np.uint8)],
)
def test_segments_made_elsewhere_give_the_same_file(
    tmp_path: Path, shape: tuple[int, ...], dtype: type
) -> None:
    top = np.iinfo(dtype).max
    pixels = RNG.integers(0, top, shape, endpoint=True).astype(dtype)
    h = shape[0]
    cuts = [(0, 1), (1, h // 2), (h // 2, h - 1), (h - 1, h)]
    strips = [pixels[a:b] for a, b in cuts]
    write_png(tmp_path / "a.png", strips, shape, dtype)
    mixed = [png_segment(s) if i % 2 else s for i, s in enumerate(strips)]
    write_png(tmp_path / "b.png", mixed, shape, dtype)
    data = (tmp_path / "a.png").read_bytes()
    assert (tmp_path / "b.png").read_bytes() == data
    idat = b"".join(body for kind, body in _chunks(data) if kind == b"IDAT")
    rows = zlib.decompress(idat)  # checks the joined Adler-32 too
    assert len(rows) == shape[0] * (1 + int(np.prod(shape[1:])) * np.dtype(dtype).itemsize)
    with Image.open(io.BytesIO(data)) as image:
        decoded = np.asarray(image)
    if dtype == np.uint16:  # Pillow reads 16-bit RGB as 8-bit; check the stored samples
        stored = np.frombuffer(rows, np.uint8).reshape(shape[0], -1)
        row = stored[0, 1:].view(">u2").reshape(shape[1:])  # the first row is unfiltered
        np.testing.assert_array_equal(row, pixels[0])
    else:
        np.testing.assert_array_equal(decoded, pixels)


def test_each_segment_starts_unfiltered_and_carries_nothing_over() -> None:
    """A segment decodes alone: its first row stands as it is, the others are "Up"."""
    rows = RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    body = zlib.decompressobj(-15).decompress(png_segment(rows).data)
    lines = np.frombuffer(body, np.uint8).reshape(6, 16)
    assert lines[:, 0].tolist() == [0, 2, 2, 2, 2, 2]
    flat = rows.reshape(6, 15)
    np.testing.assert_array_equal(lines[0, 1:], flat[0])
    np.testing.assert_array_equal(lines[1:, 1:], (flat[1:] - flat[:-1]).astype(np.uint8))
