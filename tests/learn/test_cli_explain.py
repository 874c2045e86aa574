"""``convcli explain`` through the CLI, and the inputs it shares with ``convcli shape``.

Every bad input must give one line on stderr, a non-zero exit and no traceback, and must
not leave output behind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from convcli.cli import cli
from convcli.engine import conv2d


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def error_line(result: Result) -> str:
    """The one line a failure prints on stderr (after click's usage lines, if any)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()[-1]


@pytest.fixture
def junk(tmp_path: Path) -> Path:
    path = tmp_path / "junk"
    path.write_bytes(bytes(range(128, 256)) * 2)
    return path


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
    assert "cross-correlation (kernel not flipped) of a 7×7 input with sobel_x (3×3)" in (
        result.output
    )
    assert "output 7×7:" in result.output.splitlines()


def test_explain_flip_says_so(grid: Path) -> None:
    result = run("explain", str(grid), "-k", "sobel_x", "--at", "0,0", "--flip")
    assert "convolution (kernel flipped 180°, --flip)" in result.output
    assert "kernel, flipped 180° for convolution:" in result.output


def test_explain_notes_an_anchor_and_an_offset(grid: Path) -> None:
    result = run("explain", str(grid), "-k", "roberts_x", "--at", "0,0")
    assert result.exit_code == 0, result.output
    assert (
        "note: these pads are apply's 'same' placed by roberts_x's anchor (0, 0) "
        "(explicit pads ignore the anchor)"
    ) in result.output.splitlines()
    assert "padding same" not in result.output  # the anchor's pads are not the plain word


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
        f"convcli: error: {photo} is 30×40; whole grids and --steps are shown up to 12×12: "
        "give --at" in (result.output)
    )
    result = run("explain", str(photo), "-k", "sobel_x", "--at", "15,20")
    assert result.exit_code == 0, result.output
    assert "(colour turned gray (BT.601 luma))" in result.output
    header = result.output.splitlines()[7]
    assert header.split() == [str(c) for c in range(17, 24)]


def test_explain_errors(grid: Path) -> None:
    result = run("explain", str(grid), "-k", "sobel_x", "--at", "9,0")
    assert result.exit_code == 2  # a position the user gave: a usage error
    assert result.output.endswith(
        "convcli: error: position 9,0 is outside the output 7×7; expected ROW in 0..6 and COL "
        "in 0..6\n"
    )
    result = run("explain", str(grid), "-k", "sobel")
    assert result.exit_code == 2
    assert "explain takes one kernel; sobel is a bank of sobel_x, sobel_y: give one" in (
        result.output
    )
    result = run("explain", str(grid), "-k", "sobel_x", "--at", "1")
    assert result.exit_code == 2
    assert "'1' is not ROW,COL" in result.output


def test_explain_gif(grid: Path, tmp_path: Path) -> None:
    gif = tmp_path / "out" / "s.gif"
    result = run("explain", str(grid), "-k", "sobel_x", "-s", "2", "--gif", str(gif))
    assert result.exit_code == 0, result.output
    with Image.open(gif) as image:
        assert image.n_frames == 4 * 4 + 2
        assert f"wrote {gif}: 18 frames, {image.height}×{image.width}" in result.output


def test_explain_gif_too_long_is_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    big = tmp_path / "big.npy"
    np.save(big, np.zeros((30, 30)))
    result = run("explain", str(big), "-k", "box:3", "--gif", str(tmp_path / "a.gif"))
    assert result.exit_code == 2
    assert "30×30 = 900 positions is more than 400" in result.output
    assert not (tmp_path / "a.gif").exists()


@pytest.mark.parametrize("command", ["shape", "explain"])
@pytest.mark.parametrize(
    ("suffix", "reason"),
    [
        (".txt", "not UTF-8 text; expected rows of numbers"),
        (
            ".npy",
            "cannot read as .npy: it has no NumPy header; expected a file written by numpy.save",
        ),
    ],
)
def test_an_unreadable_text_matrix_or_npy_is_one_error(
    command: str, suffix: str, reason: str, junk: Path, tmp_path: Path
) -> None:
    path = junk.rename(tmp_path / f"junk{suffix}")
    result = run(command, str(path), "-k", "3")
    assert result.exit_code == 1
    assert error_line(result) == f"convcli: error: {path}: {reason}"


def test_explain_refuses_a_npy_with_nan_like_a_text_matrix(tmp_path: Path) -> None:
    path = tmp_path / "nan.npy"
    np.save(path, np.array([[1.0, np.nan], [0.0, 0.0]]))
    result = run("explain", str(path), "-k", "3")
    assert result.exit_code == 1
    assert (
        error_line(result)
        == f"convcli: error: {path}: value [0, 1] is nan; expected finite numbers"
    )
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["shape", "explain"])
def test_an_empty_npy_is_named(command: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.npy"
    np.save(path, np.zeros((0, 4)))
    result = run(command, str(path), "-k", "3")
    assert result.exit_code == 1
    assert str(path) in error_line(result)
    assert "(0, 4)" in error_line(result)


@pytest.mark.parametrize("command", ["shape", "explain"])
def test_a_folder_is_called_a_folder(command: str, tmp_path: Path) -> None:
    result = run(command, str(tmp_path), "-k", "3")
    assert result.exit_code == 1
    assert error_line(result).startswith(f"convcli: error: {tmp_path}: is a folder; expected ")


def test_at_outside_the_output_fails_before_printing_or_writing(
    grid: Path, tmp_path: Path
) -> None:
    gif = tmp_path / "slide.gif"
    result = run("explain", str(grid), "-k", "sobel_x", "--at", "9,9", "--gif", str(gif))
    assert result.exit_code == 2
    assert error_line(result) == (
        "convcli: error: position 9,9 is outside the output 7×7; "
        "expected ROW in 0..6 and COL in 0..6"
    )
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == [grid]


@pytest.mark.parametrize("at", ["²,1", "١,1"])
def test_at_with_non_ascii_digits_is_a_usage_error(grid: Path, at: str) -> None:
    result = run("explain", str(grid), "-k", "sobel_x", "--at", at)
    assert result.exit_code == 2
    assert error_line(result) == (
        f"convcli: error: Invalid value for '--at': {at!r} is not ROW,COL "
        "(two whole numbers >= 0, e.g. 2,3)"
    )


@pytest.mark.parametrize("name", ["-", "slide.png", "slide"])
def test_gif_must_be_named_gif(grid: Path, tmp_path: Path, name: str) -> None:
    result = run("explain", str(grid), "-k", "sobel_x", "--gif", str(tmp_path / name))
    assert result.exit_code == 2
    assert error_line(result).startswith("convcli: error: Invalid value for '--gif': ")
    assert error_line(result).endswith(
        "does not end in .gif; expected the name of the GIF file to write"
    )
    assert list(tmp_path.iterdir()) == [grid]


def test_html_writes_the_page_and_says_what_it_shows(photo: Path, tmp_path: Path) -> None:
    page = tmp_path / "out" / "page.html"
    result = run("explain", str(photo), "-k", "sobel_x", "--html", str(page))
    assert result.exit_code == 0, result.output
    size = -(-page.stat().st_size // 1024)
    assert f"wrote {page}: output rows 0..29, cols 0..39 of 30×40, {size} KB" in (
        result.output.splitlines()
    )
    assert "<!DOCTYPE html>" in page.read_text(encoding="utf-8")


def test_html_of_a_large_image_is_a_crop_around_at(tmp_path: Path) -> None:
    camera = Path(__file__).resolve().parents[2] / "sample_images" / "camera.png"
    page = tmp_path / "page.htm"
    result = run("explain", str(camera), "-k", "box:3", "--at", "500,2", "--html", str(page))
    assert result.exit_code == 0, result.output
    assert f"wrote {page}: output rows 448..511, cols 0..63 of 512×512," in result.output
    assert "engine output[500, 2] = " in result.output  # --at still prints the arithmetic
    assert page.stat().st_size < 1_000_000


@pytest.mark.parametrize(
    ("args", "code", "line"),
    [
        (["-k", "sobel"], 2, "explain takes one kernel; sobel is a bank of sobel_x, sobel_y"),
        (["-k", "box:33"], 1, "convcli: error: --html lays out every product of the kernel; "),
        (["-k", "3", "--at", "40,0"], 2, "convcli: error: position 40,0 is outside the output"),
        (
            ["-k", "box:3", "-d", "100"],
            1,
            "convcli: error: --html shows the padded input under each",
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    photo: Path, tmp_path: Path, args: list[str], code: int, line: str
) -> None:
    page = tmp_path / "page.html"
    result = run("explain", str(photo), *args, "--html", str(page))
    assert result.exit_code == code
    assert line in error_line(result)
    assert result.stdout == ""
    assert not page.exists()


@pytest.mark.parametrize("name", ["-", "page.gif", "page"])
def test_html_must_be_named_html(photo: Path, tmp_path: Path, name: str) -> None:
    result = run("explain", str(photo), "-k", "3", "--html", str(tmp_path / name))
    assert result.exit_code == 2
    assert error_line(result).endswith(
        "does not end in .html; expected the name of the HTML file to write"
    )


def test_html_and_gif_on_the_same_file_is_a_usage_error(grid: Path, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    (tmp_path / "slide.gif").symlink_to(page)
    result = run(
        "explain", str(grid), "-k", "3", "--html", str(page), "--gif", str(tmp_path / "slide.gif")
    )
    assert result.exit_code == 2
    assert error_line(result) == (
        f"convcli: error: --gif and --html name the same file {page}; give two files"
    )
    assert not page.exists()


def test_an_unwritable_page_is_exit_1_and_one_line(grid: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("kept")
    page = blocker / "page.html"
    result = run("explain", str(grid), "-k", "3", "--html", str(page))
    assert result.exit_code == 1
    assert error_line(result) == (
        f"convcli: error: {page}: cannot write: {blocker} is a file, not a folder"
    )
    assert result.stdout == ""
    assert blocker.read_text() == "kept"
