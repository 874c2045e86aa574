"""``convcli shape``, ``convcli explain`` and ``convcli gallery`` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from convcli.cli import cli
from convcli.engine import conv2d


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(path)
    return path


def test_shape_from_sizes() -> None:
    result = run("shape", "480x640x3", "-k", "3", "--stride", "2", "--padding", "1")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "input    480x640x3  [size]",
        "kernel   3x3",
        "stride   2",
        "dilation 1",
        "padding  top 1, bottom 1, left 1, right 1 (reflect)",
        "output   240x320x3",
        "  out_h = floor((480 + 1 + 1 - 1·(3-1) - 1) / 2) + 1 = 240",
        "  out_w = floor((640 + 1 + 1 - 1·(3-1) - 1) / 2) + 1 = 320",
    ]


def test_shape_warns_about_asymmetric_same() -> None:
    result = run("shape", "224x224x3", "-k", "3", "--stride", "2")
    assert result.exit_code == 0
    assert "padding  same -> top 0, bottom 1, left 0, right 1 (reflect)" in result.output
    assert "warning: 'same' padding is asymmetric here" in result.output


def test_shape_kernel_HxW_and_spec(photo: Path) -> None:
    result = run("shape", str(photo), "-k", "7x3", "-p", "valid", "--json")
    info = json.loads(result.output)
    assert info["output"] == [24, 38, 3]
    assert info["kernel"] == "7x3"
    assert info["source"] == f"{photo} (header only)"
    result = run("shape", str(photo), "-k", "sobel_x")
    assert "kernel   3x3 (sobel_x)" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("-k", "3", "--stride", "2"),
        ("-k", "7", "-s", "3", "-p", "valid", "-d", "2"),
        ("-k", "roberts_x"),
        ("-k", "roberts_x", "--flip", "-s", "2"),
        ("-k", "4x2", "-p", "full", "-s", "2,3"),
    ],
)
def test_shape_predicts_the_array_apply_makes(photo: Path, args: tuple[str, ...]) -> None:
    from convcli.filtering import ConvOptions, apply_plan, build_plan
    from convcli.images import read_image
    from convcli.kernels import Kernel, parse_kernel_spec

    info = json.loads(run("shape", str(photo), *args, "--json").output)
    spec = args[1]
    if spec[0].isdigit():
        kh, _, kw = spec.partition("x")
        kernel = Kernel("k", np.ones((int(kh), int(kw or kh))))
    else:
        kernel = parse_kernel_spec(spec)  # type: ignore[assignment]
    stride = tuple(int(v) for v in info["stride"])
    dilation = tuple(int(v) for v in info["dilation"])
    padding = "same" if "-p" not in args else args[args.index("-p") + 1]
    options = ConvOptions(stride=stride, padding=padding, dilation=dilation, flip="--flip" in args)
    pixels = read_image(photo).pixels
    [fmap] = apply_plan(pixels, build_plan([kernel]), options)
    assert list(fmap.values.shape) == info["output"]
    pads = info["pads"]
    direct = conv2d(
        pixels,
        kernel.weights,
        stride=stride,
        dilation=dilation,
        padding=((pads["top"], pads["bottom"]), (pads["left"], pads["right"])),
    )
    assert list(direct.shape) == info["output"]


def test_shape_empty_output_is_exit_1_with_the_formula() -> None:
    result = run("shape", "5x5", "-k", "7", "-p", "valid")
    assert result.exit_code == 1
    assert result.output == (
        "convcli: error: kernel (dilated 7x7) is larger than the padded input 5x5: "
        "out_h = floor((5 + 0 + 0 - 1·(7-1) - 1) / 1) + 1 = -1\n"
    )


def test_shape_layer_chain_table() -> None:
    result = run("shape", "224x224x3", "--layer", "k7s2p3", "-l", "k3s2p1", "-l", "k3s2")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "input 224x224x3  [size]"
    assert lines[-4].split() == ["1", "k7s2p3", "224x224", "3,3,3,3", "112x112", "7x7", "2", "0,0"]
    assert lines[-3].split() == ["2", "k3s2p1", "112x112", "1,1,1,1", "56x56", "11x11", "4", "0,0"]
    assert lines[-2].split() == ["3", "k3s2", "56x56", "0,0,0,0", "27x27", "19x19", "8", "1,1"]
    assert lines[-1] == (
        "warning: layer 3 (k3s2): stride 2 does not divide evenly: the last row and column "
        "of the input are never used"
    )


def test_shape_layer_chain_json() -> None:
    result = run("shape", "32x32", "-l", "k3s1d2p2", "--json")
    layer = json.loads(result.output)["layers"][0]
    assert layer["output_hw"] == [32, 32]
    assert layer["receptive_field"] == [5, 5]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("shape", "224x224"), "Error: give -k/--kernel (a size like 7 or any spec) or --layer"),
        (
            ("shape", "224x224", "-k", "3", "-l", "k3"),
            "Error: give -k/--kernel or --layer, not both",
        ),
        (
            ("shape", "224x224", "-l", "k3", "-s", "2"),
            "Error: --stride applies to -k; with --layer write it in each layer (e.g. k3s2d2p1)",
        ),
        (
            ("shape", "224x224", "-l", "q3"),
            "Error: Invalid value for '--layer': layer 'q3' is not",
        ),
        (
            ("shape", "224x224", "-k", "0"),
            "Error: Invalid value for '-k' / '--kernel': kernel size",
        ),
        (("explain", "x.txt", "-k", "sobel_x", "--at", "1"), "'1' is not ROW,COL"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_shape_missing_file_is_exit_1() -> None:
    result = run("shape", "nope.png", "-k", "3")
    assert result.exit_code == 1
    assert result.output == (
        "convcli: error: nope.png: no such file; expected an image, .npy, text matrix or size "
        "like 224x224x3\n"
    )


def test_explain_at_matches_conv2d(grid: Path) -> None:
    result = run("explain", str(grid), "-k", "sobel_x", "--at", "2,3", "-s", "1", "-d", "2")
    assert result.exit_code == 0, result.output
    values = np.loadtxt(grid)
    expected = conv2d(
        values,
        np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
        padding="same",
        padding_mode="reflect",
        dilation=2,
    )[2, 3]
    assert f"engine output[2, 3] = {expected:g}  (matches the sum)" in result.output
    assert (
        "padding same -> top 2, bottom 2, left 2, right 2; padding mode reflect" in result.output
    )
    assert "cross-correlation (kernel not flipped)" in result.output


def test_explain_flip_says_so(grid: Path) -> None:
    result = run("explain", str(grid), "-k", "sobel_x", "--at", "0,0", "--flip")
    assert "convolution (kernel flipped 180°, --flip)" in result.output
    assert "kernel, flipped 180° for convolution:" in result.output


def test_explain_whole_grid_and_steps(grid: Path) -> None:
    result = run("explain", str(grid), "-k", "box:2", "-p", "valid", "-s", "3", "--steps")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "output:" in lines
    assert lines[lines.index("steps:") + 1] == "out[0, 0] = 0×0.25 + 1×0.25 + 7×0.25 + 8×0.25 = 4"
    assert len(lines) - lines.index("steps:") - 1 == 4


def test_explain_image_needs_at_and_shows_a_crop(photo: Path) -> None:
    result = run("explain", str(photo), "-k", "sobel_x")
    assert result.exit_code == 2
    assert (
        f"Error: {photo} is 30x40; whole grids and --steps are shown up to 12x12: give --at"
        in (result.output)
    )
    result = run("explain", str(photo), "-k", "sobel_x", "--at", "15,20")
    assert result.exit_code == 0, result.output
    assert "(colour turned gray (BT.601 luma))" in result.output
    header = result.output.splitlines()[7]
    assert header.split() == [str(c) for c in range(17, 24)]


def test_explain_errors(grid: Path) -> None:
    result = run("explain", str(grid), "-k", "sobel_x", "--at", "9,0")
    assert result.exit_code == 1
    assert result.output.endswith(
        "convcli: error: position 9,0 is outside the output 7x7; expected ROW in 0..6 and COL "
        "in 0..6\n"
    )
    result = run("explain", str(grid), "-k", "sobel")
    assert result.exit_code == 2
    assert "explain takes one kernel; sobel is a bank of sobel_x, sobel_y: give one" in (
        result.output
    )


def test_explain_gif(grid: Path, tmp_path: Path) -> None:
    gif = tmp_path / "out" / "s.gif"
    result = run("explain", str(grid), "-k", "sobel_x", "-s", "2", "--gif", str(gif))
    assert result.exit_code == 0, result.output
    with Image.open(gif) as image:
        assert image.n_frames == 4 * 4 + 2
        assert f"wrote {gif}: 18 frames, {image.size[0]}x{image.size[1]}" in result.output


def test_explain_gif_too_long_is_exit_1_and_writes_nothing(tmp_path: Path) -> None:
    big = tmp_path / "big.npy"
    np.save(big, np.zeros((30, 30)))
    result = run("explain", str(big), "-k", "box:3", "--gif", str(tmp_path / "a.gif"))
    assert result.exit_code == 1
    assert "30x30 = 900 positions is more than 400" in result.output
    assert not (tmp_path / "a.gif").exists()


def test_gallery(photo: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.png"
    result = run(
        "gallery",
        str(photo),
        "-o",
        str(sheet),
        "-k",
        "sobel_x",
        "-k",
        "gaussian:1",
        "--tile-size",
        "20",
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {sheet}: 3 tiles (2 columns, 20x15 each), ")
    with Image.open(sheet) as image:
        assert image.size[0] >= 20


def test_gallery_whole_library(photo: Path, tmp_path: Path) -> None:
    from convcli.kernels import load_library

    result = run("gallery", str(photo), "-o", str(tmp_path / "s.png"), "--tile-size", "16")
    assert result.exit_code == 0, result.output
    assert f": {len(load_library()) + 1} tiles (6 columns" in result.output
