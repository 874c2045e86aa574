"""``convcli shape`` through the CLI: reports, layer chains, JSON, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

import convcli
from convcli.cli import cli


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_shape_from_sizes() -> None:
    result = run("shape", "480x640x3", "-k", "3", "--stride", "2", "--padding", "1")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "input    480×640×3  [size]",
        "kernel   3×3",
        "stride   2",
        "dilation 1",
        "padding  top 1, bottom 1, left 1, right 1 (reflect)",
        "output   240×320×3",
        "  out_h = floor((480 + 1 + 1 - 1·(3-1) - 1) / 2) + 1 = 240",
        "  out_w = floor((640 + 1 + 1 - 1·(3-1) - 1) / 2) + 1 = 320",
    ]


@pytest.mark.parametrize(("size", "kernel"), [("480X640X3", "3X5"), ("480×640×3", "3×5")])
def test_sizes_may_be_written_with_X_or_a_times_sign(size: str, kernel: str) -> None:
    result = run("shape", size, "-k", kernel, "-p", "valid")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == ["input    480×640×3  [size]", "kernel   3×5"]
    assert "output   478×636×3" in result.output


def test_shape_warns_about_asymmetric_same() -> None:
    result = run("shape", "224x224x3", "-k", "3", "--stride", "2")
    assert result.exit_code == 0
    assert "padding  same -> top 0, bottom 1, left 0, right 1 (reflect)" in result.output
    assert "warning: 'same' padding is asymmetric here" in result.output


def test_shape_kernel_HxW_and_spec(photo: Path) -> None:
    result = run("shape", str(photo), "-k", "7x3", "-p", "valid", "--json")
    info = json.loads(result.output)
    assert info["output"] == [24, 38, 3]
    assert info["kernel"] == "7×3"
    assert info["source"] == f"{photo} (header only)"
    result = run("shape", str(photo), "-k", "sobel_x")
    assert "kernel   3×3 (sobel_x)" in result.output


def test_an_anchored_kernel_says_where_same_put_the_pads(photo: Path) -> None:
    result = run("shape", str(photo), "-k", "roberts_x")
    assert (
        "padding  same (placed by the kernel's anchor) -> top 0, bottom 1, left 0, right 1 "
        "(reflect)"
    ) in result.output.splitlines()
    info = json.loads(run("shape", str(photo), "-k", "roberts_x", "--flip", "--json").output)
    assert (info["padding"], info["pads"]) == (
        "same",
        {"top": 1, "bottom": 0, "left": 1, "right": 0},
    )


@pytest.mark.parametrize(
    ("shape_kernel", "apply_kernel", "args"),
    [
        ("3", "box:3", ("--stride", "2")),
        ("7", "box:7", ("-s", "3", "-p", "valid", "-d", "2")),
        ("roberts_x", "roberts_x", ()),
        ("roberts_x", "roberts_x", ("--flip", "-s", "2")),
        ("4x2", "1 1; 1 1; 1 1; 1 1", ("-p", "full", "-s", "2,3")),
    ],
)
def test_shape_predicts_what_apply_writes(
    photo: Path, tmp_path: Path, shape_kernel: str, apply_kernel: str, args: tuple[str, ...]
) -> None:
    info = json.loads(run("shape", str(photo), "-k", shape_kernel, *args, "--json").output)
    out = tmp_path / "out.npy"
    applied = run("apply", str(photo), "-k", apply_kernel, *args, "-o", str(out), "--quiet")
    assert applied.exit_code == 0, applied.output
    written = np.load(out)
    assert list(written.shape) == info["output"]
    pads = info["pads"]
    with Image.open(photo) as image:
        pixels = np.asarray(image, dtype=np.float64)
    expected = convcli.conv2d(
        pixels,
        convcli.parse_kernel(apply_kernel).weights,
        stride=tuple(info["stride"]),
        dilation=tuple(info["dilation"]),
        padding=((pads["top"], pads["bottom"]), (pads["left"], pads["right"])),
        padding_mode=info["padding_mode"],
        flip="--flip" in args,
    )
    np.testing.assert_allclose(written, expected, rtol=1e-5, atol=1e-3)  # the pads apply used


def test_shape_empty_output_is_exit_2_with_the_formula() -> None:
    result = run("shape", "5x5", "-k", "7", "-p", "valid")
    assert result.exit_code == 2
    assert result.output.startswith("convcli: error: kernel (dilated 7")
    assert result.output.endswith("out_h = floor((5 + 0 + 0 - 1·(7-1) - 1) / 1) + 1 = -1\n")


def test_shape_layer_chain_table() -> None:
    result = run("shape", "224x224x3", "--layer", "k7s2p3", "-l", "k3s2p1", "-l", "k3s2")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "input 224×224×3  [size]"
    assert lines[-4].split() == ["1", "k7s2p3", "224×224", "3,3,3,3", "112×112", "7×7", "2", "0,0"]
    assert lines[-3].split() == ["2", "k3s2p1", "112×112", "1,1,1,1", "56×56", "11×11", "4", "0,0"]
    assert lines[-2].split() == ["3", "k3s2", "56×56", "0,0,0,0", "27×27", "19×19", "8", "1,1"]
    assert lines[-1] == (
        "warning: layer 3 (k3s2): stride 2 does not divide evenly: the last row and column "
        "of the input are never used"
    )


def test_shape_layer_chain_json() -> None:
    result = run("shape", "32x32", "-l", "k3s1d2p2", "--json")
    layer = json.loads(result.output)["layers"][0]
    assert layer["output_hw"] == [32, 32]
    assert layer["receptive_field"] == [5, 5]


def test_a_layer_that_empties_the_output_is_named() -> None:
    result = run("shape", "6x6", "-l", "k3s2p0", "-l", "k7")
    assert result.exit_code == 2
    assert result.output.startswith("convcli: error: layer 2 (k7) on 2×2: kernel (dilated ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("shape", "224x224"),
            "convcli: error: give -k/--kernel (a size like 7 or any spec) or --layer",
        ),
        (
            ("shape", "224x224", "-k", "3", "-l", "k3"),
            "convcli: error: give -k/--kernel or --layer, not both",
        ),
        (
            ("shape", "224x224", "-l", "k3", "-s", "2"),
            "convcli: error: --stride applies to -k; "
            "with --layer write it in each layer (e.g. k3s2d2p1)",
        ),
        (
            ("shape", "224x224", "-l", "q3"),
            "convcli: error: Invalid value for '--layer': layer 'q3' is not",
        ),
        (
            ("shape", "224x224", "-k", "0"),
            "convcli: error: Invalid value for '-k' / '--kernel': kernel size",
        ),
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


@pytest.mark.parametrize("size", ["5x", "224x224x3x2", "7 x 7"])
def test_a_malformed_size_is_called_a_size(size: str) -> None:
    result = run("shape", size, "-k", "3")
    assert result.exit_code == 2
    assert result.stderr == f"convcli: error: size {size!r} is not HxW or HxWxC (e.g. 224x224x3)\n"
