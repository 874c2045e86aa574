"""`--color luma`: the luma filtered, the chroma kept (checked with JPEG's YCbCr by hand)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner, Result
from PIL import Image

from convcli.cli import cli

RNG = np.random.default_rng(37)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["apply", *args], catch_exceptions=False)


def _box3(x: np.ndarray) -> np.ndarray:
    pad = np.pad(x, 1, mode="reflect")
    h, w = x.shape
    return sum(pad[i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9.0


def test_luma_is_filtered_and_chroma_kept(tmp_path: Path) -> None:
    rgb = RNG.integers(40, 216, (7, 9, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "in.png")
    out = tmp_path / "out.png"
    result = run(str(tmp_path / "in.png"), "-k", "box:3", "--color", "luma", "-o", str(out))
    assert result.exit_code == 0, result.output
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    # JPEG's YCbCr (ITU-R T.871) without the 128 offset
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b
    y = _box3(y)
    expected = np.dstack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb])
    with Image.open(out) as written:
        assert written.mode == "RGB"
        got = np.asarray(written).astype(np.float64)
    np.testing.assert_allclose(got, np.clip(np.floor(expected + 0.5), 0, 255), atol=1)


def test_identity_under_luma_changes_nothing(tmp_path: Path) -> None:
    rgb = RNG.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "in.png")
    out = tmp_path / "out.png"
    assert (
        run(
            str(tmp_path / "in.png"), "-k", "identity", "--color", "luma", "-o", str(out)
        ).exit_code
        == 0
    )
    with Image.open(out) as written:
        np.testing.assert_array_equal(np.asarray(written), rgb)


def test_zero_sum_kernel_under_luma_is_the_gray_map(tmp_path: Path) -> None:
    rgb = RNG.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "in.png")
    luma, gray = tmp_path / "luma.png", tmp_path / "gray.png"
    assert (
        run(
            str(tmp_path / "in.png"), "-k", "sobel_x", "--color", "luma", "-o", str(luma)
        ).exit_code
        == 0
    )
    assert (
        run(
            str(tmp_path / "in.png"), "-k", "sobel_x", "--color", "gray", "-o", str(gray)
        ).exit_code
        == 0
    )
    # the gray map is written in strips (its own PNG encoder): the pixels are what match
    with Image.open(luma) as a, Image.open(gray) as b:
        assert a.mode == b.mode
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_gray_input_under_luma_is_filtered_as_it_is(tmp_path: Path) -> None:
    pixels = RNG.integers(0, 256, (5, 6), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "in.png")
    out = tmp_path / "out.png"
    assert (
        run(str(tmp_path / "in.png"), "-k", "box:3", "--color", "luma", "-o", str(out)).exit_code
        == 0
    )
    with Image.open(out) as written:
        expected = np.floor(_box3(pixels.astype(np.float64)) + 0.5)
        np.testing.assert_allclose(np.asarray(written), expected, atol=1)
