"""`--emit` on `apply` and `explain`: the program printed runs and matches the raw output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from convcli.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    rgb = np.random.default_rng(5).integers(0, 256, (13, 10, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)
    return path


@pytest.mark.parametrize("library", ["numpy", "scipy"])
def test_apply_emit_program_matches_raw_npy_output(
    photo: Path, tmp_path: Path, library: str
) -> None:
    args = [str(photo), "-k", "sobel", "-s", "2", "-m", "symmetric"]
    result = invoke("apply", *args, "--emit", library)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]  # nothing written
    raw = tmp_path / "raw.npy"
    assert invoke("apply", *args, "-o", str(raw), "-q").exit_code == 0
    namespace: dict[str, object] = {"__name__": "emitted"}
    exec(compile(result.output, "emitted", "exec"), namespace)
    pixels = np.asarray(Image.open(photo), dtype=np.float32)
    got = namespace["feature_map"](pixels)  # type: ignore[operator]
    np.testing.assert_allclose(got, np.load(raw), rtol=1e-5, atol=1e-3)


def test_emitted_program_runs_as_a_script(photo: Path, tmp_path: Path) -> None:
    result = invoke("apply", str(photo), "-k", "box:4", "-d", "2", "--emit", "numpy")
    script = tmp_path / "box.py"
    script.write_text(result.output, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("(13, 10, 3) float32 ")


def test_emit_header_names_the_command_and_size(photo: Path) -> None:
    result = invoke("apply", str(photo), "-k", "sharpen", "-p", "1,2", "--flip", "--emit", "torch")
    lines = result.output.splitlines()
    assert lines[0] == (
        f'"""The raw feature map of `convcli apply {photo} -k sharpen -p 1,2 --flip`, '
        "with PyTorch."
    )
    assert "convcli's float32 map before value mapping, for a 13×10 input" in lines
    assert "# --flip: true convolution; PyTorch correlates: rotate the kernel 180°" in lines
    assert "W1 = W1[::-1, ::-1].copy()" in lines


def test_emit_says_why_numpy_pads_for_torch_symmetric(photo: Path) -> None:
    result = invoke("apply", str(photo), "-k", "sobel_x", "-m", "symmetric", "--emit", "torch")
    assert "    # PyTorch has no symmetric padding (b a | a b c d): NumPy pads first" in (
        result.output.splitlines()
    )


def test_emit_refuses_several_inputs(photo: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.png"
    other.write_bytes(photo.read_bytes())
    result = CliRunner().invoke(cli, ["apply", str(photo), str(other), "-k", "sobel_x",
                                      "--emit", "numpy"])  # fmt: skip
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "convcli: error: --emit writes a program for one input file "
        "(its size sets the pads); got 2 inputs"
    )


def test_emit_missing_input_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["apply", str(tmp_path / "nope.png"), "-k", "sobel_x", "--emit", "numpy"]
    )
    assert result.exit_code == 1
    assert result.output == f"convcli: error: {tmp_path / 'nope.png'}: no such file or folder\n"


def test_emit_unknown_library_is_a_usage_error(photo: Path) -> None:
    result = CliRunner().invoke(cli, ["apply", str(photo), "-k", "sobel_x", "--emit", "jax"])
    assert result.exit_code == 2
    assert "'jax' is not one of 'numpy', 'scipy', 'opencv', 'torch'" in result.output


def test_explain_emit_on_a_grid() -> None:
    grid = ROOT / "sample_images" / "grid.txt"
    result = invoke("explain", str(grid), "-k", "roberts_x", "-s", "2", "--emit", "scipy")
    assert result.exit_code == 0
    namespace: dict[str, object] = {"__name__": "emitted"}
    exec(compile(result.output, "emitted", "exec"), namespace)
    values = np.loadtxt(grid)
    got = namespace["feature_map"](values)  # type: ignore[operator]
    # roberts_x [[-1, 0], [0, 1]] anchored at (0, 0): x[i+1, j+1] - x[i, j], reflect at the end
    padded = np.pad(values, ((0, 1), (0, 1)), mode="reflect")
    want = (padded[1:, 1:] - padded[:-1, :-1])[::2, ::2]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_explain_emit_on_an_image_reads_it_gray(tmp_path: Path) -> None:
    image = ROOT / "sample_images" / "coffee.png"
    result = invoke("explain", str(image), "-k", "sobel_x", "--emit", "numpy")
    script = tmp_path / "explain.py"
    script.write_text(result.output, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("(320, 480) float32 ")
    assert "    # --color gray: BT.601 luma" in result.output.splitlines()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (("--html", "p.html"), "drop --html, or drop --emit (the page shows the programs too)"),
        (("--gif", "a.gif"), "drop --gif, or drop --emit"),
        (("--html", "p.html", "--gif", "a.gif"),
         "drop --html and --gif, or drop --emit (the page shows the programs too)"),
    ],
)  # fmt: skip
def test_explain_emit_with_files_to_write_is_a_usage_error(
    photo: Path, tmp_path: Path, files: tuple[str, ...], message: str
) -> None:
    paths = [str(tmp_path / a) if a.endswith((".html", ".gif")) else a for a in files]
    result = CliRunner().invoke(
        cli, ["explain", str(photo), "-k", "sobel_x", "--emit", "numpy", *paths]
    )
    assert result.exit_code == 2
    assert result.output == (
        f"convcli: error: --emit prints a program and writes no file: {message}\n"
    )
    assert list(tmp_path.iterdir()) == [photo]
