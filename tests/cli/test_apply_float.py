"""Float images are values: their white level, float in -> float out, `.npy` inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from click.testing import CliRunner, Result
from PIL import Image

from convcli.cli import cli

RNG = np.random.default_rng(29)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["apply", *args], catch_exceptions=False)


def _box3(x: np.ndarray) -> np.ndarray:
    """3x3 mean with reflect padding, by hand (per channel)."""
    pad = np.pad(x, ((1, 1), (1, 1)) + ((0, 0),) * (x.ndim - 2), mode="reflect")
    h, w = x.shape[:2]
    return sum(pad[i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9.0


def test_float_tiff_of_values_comes_out_as_float_tiff(tmp_path: Path) -> None:
    values = np.linspace(3.8, 194, 48, dtype=np.float32).reshape(6, 8)
    Image.fromarray(values).save(tmp_path / "f.tif")
    result = run(str(tmp_path / "f.tif"), "-k", "box:3", "-o", str(tmp_path / "o.tif"))
    assert result.exit_code == 0, result.output
    assert "TIFF float32" in result.stderr
    assert "warning" not in result.stderr
    with Image.open(tmp_path / "o.tif") as written:
        assert written.mode == "F"
        np.testing.assert_allclose(np.asarray(written), _box3(values.astype(float)), rtol=1e-5)


def test_float_values_to_png_use_their_white_level_and_say_so(tmp_path: Path) -> None:
    values = np.linspace(3.8, 194, 48, dtype=np.float32).reshape(6, 8)
    Image.fromarray(values).save(tmp_path / "f.tif")
    result = run(str(tmp_path / "f.tif"), "-k", "box:3", "-o", str(tmp_path / "o.png"))
    assert result.exit_code == 0
    assert "0.00% clipped" in result.stderr  # not "100.00% clipped" at 65535
    assert "float input written as 16-bit integers (PNG); .npy keeps floats" in result.stderr
    with Image.open(tmp_path / "o.png") as written:
        expected = np.floor(_box3(values.astype(float)) * (65535 / 255) + 0.5)
        np.testing.assert_allclose(np.asarray(written), expected, atol=1)


def test_colour_float_npy_in_npy_out(tmp_path: Path) -> None:
    values = RNG.uniform(-50, 500, (5, 7, 3)).astype(np.float32)
    np.save(tmp_path / "c.npy", values)
    result = run(str(tmp_path / "c.npy"), "-k", "box:3", "-o", str(tmp_path / "o.npy"))
    assert result.exit_code == 0, result.output
    assert "5×7×3  npy float32 float" in result.stderr
    np.testing.assert_allclose(np.load(tmp_path / "o.npy"), _box3(values.astype(float)), rtol=1e-5)


def test_uint8_npy_with_alpha_is_an_rgba_image(tmp_path: Path) -> None:
    rgba = RNG.integers(0, 256, (4, 6, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    np.save(tmp_path / "a.npy", rgba)
    result = run(str(tmp_path / "a.npy"), "-k", "identity", "-o", str(tmp_path / "o.png"))
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "o.png") as written:
        assert written.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(written), rgba)


def test_npy_that_is_not_an_image(tmp_path: Path) -> None:
    np.save(tmp_path / "v.npy", np.zeros((2, 3, 5)))
    result = run(str(tmp_path / "v.npy"), "-k", "box:3", "-o", str(tmp_path / "o.png"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"convcli: error: {tmp_path / 'v.npy'}: expected an image array of numbers shaped "
        "(H, W) or (H, W, 1..4); got shape (2, 3, 5) (float64)\n"
    )
    (tmp_path / "t.npy").write_text("not numpy")
    result = run(str(tmp_path / "t.npy"), "-k", "box:3", "-o", str(tmp_path / "o.png"))
    assert result.exit_code == 1
    assert "cannot read as .npy: it has no NumPy header" in result.stderr


def test_npy_has_one_frame(tmp_path: Path) -> None:
    np.save(tmp_path / "g.npy", np.zeros((3, 3), np.float32))
    result = run(
        str(tmp_path / "g.npy"), "-k", "box:3", "--frame", "1", "-o", str(tmp_path / "o.npy")
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"convcli: error: {tmp_path / 'g.npy'}: has no frame 1; a .npy image has one frame, 0\n"
    )


def test_colour_float_tiff_in_colour_float_tiff_out_with_its_dpi_and_profile(
    tmp_path: Path,
) -> None:
    values = RNG.uniform(3.8, 194, (6, 8, 3)).astype(np.float32)
    profile = b"\x00\x00\x00\x10not a real profile"
    tifffile.imwrite(tmp_path / "c.tif", values, photometric="rgb", resolution=(300, 300),
                     resolutionunit="INCH", iccprofile=profile)  # fmt: skip
    result = run(str(tmp_path / "c.tif"), "-k", "box:3", "-o", str(tmp_path / "o.tif"))
    assert result.exit_code == 0, result.output
    assert "6×8×3 → " in result.stderr
    assert "TIFF float32" in result.stderr
    with tifffile.TiffFile(tmp_path / "o.tif") as written:
        page = written.pages.first
        assert page.dtype == np.float32
        assert page.tags.valueof("XResolution") == (300, 1)
        assert page.tags.valueof("InterColorProfile") == profile
        np.testing.assert_allclose(written.asarray(), _box3(values.astype(float)), rtol=1e-5)


def test_a_float_colour_tiff_of_several_pages_is_refused_in_one_line(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "p.tif", np.zeros((2, 4, 5, 3), np.float32), photometric="rgb")
    result = run(str(tmp_path / "p.tif"), "-k", "box:3", "-o", str(tmp_path / "o.tif"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"convcli: error: {tmp_path / 'p.tif'}: a float colour TIFF of 2 pages; "
        "convcli reads one page\n"
    )
    assert not (tmp_path / "o.tif").exists()
