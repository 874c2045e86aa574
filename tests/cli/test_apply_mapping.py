"""`convcli apply`: --scale, --bias, --normalize, the inline divisor, the hint, honest outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from convcli.cli import cli

RNG = np.random.default_rng(17)
PHOTO = Path(__file__).parents[2] / "sample_images" / "coffee.png"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["apply", *args], catch_exceptions=False)


def _gray(path: Path, h: int = 8, w: int = 9) -> np.ndarray:
    pixels = RNG.integers(0, 256, (h, w), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return pixels.astype(np.float64)


def _correlate(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Same-size cross-correlation with reflect padding, by hand."""
    kh, kw = weights.shape
    pad = np.pad(x, ((kh // 2, kh // 2), (kw // 2, kw // 2)), mode="reflect")
    h, w = x.shape
    return sum(weights[i, j] * pad[i : i + h, j : j + w] for i in range(kh) for j in range(kw))


def _pixels(response: np.ndarray) -> np.ndarray:
    return np.floor(np.clip(response, 0, 255) + 0.5)


def _read(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im).astype(np.float64)


BINOMIAL = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], float)


def test_scale_and_bias(tmp_path: Path) -> None:
    image = _gray(tmp_path / "a.png")
    out = tmp_path / "o.png"
    result = run(str(tmp_path / "a.png"), "-k", "sobel_x", "--scale", "0.25", "--bias", "128",
                 "--map", "clip", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    expected = _pixels(_correlate(image, sobel) * 0.25 + 128)
    np.testing.assert_allclose(_read(out), expected, atol=1)  # float32 rounding at .5
    assert np.mean(_read(out) == expected) > 0.95
    assert "mapping clip × 0.25 + 128" in result.stderr


@pytest.mark.parametrize("how", [["-k", "1 2 1; 2 4 2; 1 2 1", "--normalize"],
                                 ["-k", "1 2 1; 2 4 2; 1 2 1 | 16"]])  # fmt: skip
def test_normalize_and_the_inline_divisor_divide_by_the_sum(
    how: list[str], tmp_path: Path
) -> None:
    image = _gray(tmp_path / "a.png")
    out = tmp_path / "o.png"
    result = run(str(tmp_path / "a.png"), *how, "-o", str(out))
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(_read(out), _pixels(_correlate(image, BINOMIAL / 16)))
    assert "--normalize" not in result.stderr


def test_normalize_refuses_a_zero_sum_kernel(tmp_path: Path) -> None:
    _gray(tmp_path / "a.png")
    result = run(str(tmp_path / "a.png"), "-k", "sobel_x", "--normalize")
    assert result.exit_code == 2
    message = (
        "convcli: error: kernel 'sobel_x': the weights sum to 0, "
        "so --normalize cannot divide by their sum; use --scale or --map instead\n"
    )
    assert result.stderr.endswith(message)


def test_a_kernel_that_clips_most_of_the_image_gets_a_hint(tmp_path: Path) -> None:
    Image.fromarray(np.full((6, 6), 100, np.uint8)).save(tmp_path / "a.png")
    out = tmp_path / "o.png"
    result = run(str(tmp_path / "a.png"), "-k", "1 2 1; 2 4 2; 1 2 1", "-o", str(out), "--json")
    assert result.exit_code == 0
    hint = (
        "kernel sums to 16 and 100.00% of values were clipped; --normalize divides it by its sum"
    )
    assert f"convcli: warning: {tmp_path / 'a.png'}: {out}: {hint}" in result.stderr
    assert json.loads(result.stdout)["warnings"] == [hint]
    assert (_read(out) == 255).all()


def test_auto_gain_is_reported_and_reproducible(tmp_path: Path) -> None:
    auto, again = tmp_path / "auto.png", tmp_path / "again.png"
    result = run(str(PHOTO), "-k", "log:sigma=2", "-o", str(auto), "--json", "-q")
    record = json.loads(result.stdout)
    assert (record["mapping"], record["bias"]) == ("abs", 0.0)
    scale = record["scale"]
    run(str(PHOTO), "-k", "log:sigma=2", "--map", "abs", "--scale", repr(scale), "-o", str(again))
    np.testing.assert_array_equal(_read(auto), _read(again))


@pytest.mark.parametrize("kernel", ["log:sigma=2", "dog:sigma1=1,sigma2=2", "laplacian",
                                    "scharr", "kirsch", "sobel"])  # fmt: skip
def test_auto_gives_a_visible_picture_of_zero_sum_kernels(kernel: str, tmp_path: Path) -> None:
    out = tmp_path / "o.png"
    assert run(str(PHOTO), "-k", kernel, "-o", str(out), "-q").exit_code == 0
    pixels = _read(out)
    low, high = np.percentile(pixels, [1, 99])
    assert high - low >= 64
    assert np.mean(pixels == 255) <= 0.02
    assert pixels.mean() > 15


def test_alpha_dropped_by_jpeg_is_said(tmp_path: Path) -> None:
    rgba = RNG.integers(0, 256, (6, 5, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = tmp_path / "o.jpg"
    result = run(str(tmp_path / "a.png"), "-k", "box:3", "-o", str(out), "--json")
    assert result.exit_code == 0
    assert "+ alpha" not in result.stderr
    assert "JPEG 8-bit\n" in result.stderr
    line = f"convcli: warning: {tmp_path / 'a.png'}: {out}: JPEG holds no alpha: alpha dropped"
    assert line in result.stderr
    record = json.loads(result.stdout)
    assert record["maps"][0]["alpha"] is False
    assert record["warnings"] == ["JPEG holds no alpha: alpha dropped"]


def test_alpha_kept_by_png_is_said_without_warning(tmp_path: Path) -> None:
    rgba = RNG.integers(0, 256, (6, 5, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    result = run(str(tmp_path / "a.png"), "-k", "box:3", "-o", str(tmp_path / "o.png"))
    assert "PNG 8-bit + alpha" in result.stderr
    assert "warning" not in result.stderr


def test_16_bit_written_as_8_bit_is_said(tmp_path: Path) -> None:
    Image.fromarray(RNG.integers(0, 65536, (5, 5), dtype=np.uint16)).save(tmp_path / "d.png")
    result = run(str(tmp_path / "d.png"), "-k", "box:3", "-o", str(tmp_path / "o.jpg"))
    assert "16-bit input written as 8-bit (JPEG)" in result.stderr
    quiet = run(str(tmp_path / "d.png"), "-k", "box:3", "-o", str(tmp_path / "p.jpg"), "-q")
    assert quiet.stderr == ""


@pytest.mark.parametrize(("option", "value"), [("--scale", "nan"), ("--bias", "inf")])
def test_scale_and_bias_must_be_finite(option: str, value: str, tmp_path: Path) -> None:
    _gray(tmp_path / "a.png")
    result = run(str(tmp_path / "a.png"), "-k", "blur", option, value)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}': {float(value)} is not a finite number" in result.stderr


def test_gif_says_it_keeps_one_bit_of_alpha(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 128
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    result = run(str(tmp_path / "a.png"), "-k", "identity", "-o", str(tmp_path / "o.gif"))
    assert result.exit_code == 0
    line = "GIF holds 1-bit transparency: partly transparent pixels made opaque or clear"
    assert line in result.stderr
    rgba[..., 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "b.png")
    result = run(str(tmp_path / "b.png"), "-k", "identity", "-o", str(tmp_path / "p.gif"))
    assert "warning" not in result.stderr
