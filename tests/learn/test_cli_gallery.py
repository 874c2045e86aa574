"""``convcli gallery`` through the CLI."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from PIL import Image

from convcli.cli import cli
from convcli.kernels import load_library


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


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
    with Image.open(sheet) as image:
        assert image.size[0] >= 20
        assert result.output == (
            f"wrote {sheet}: 3 tiles (2 columns, 15×20 each), {image.height}×{image.width}\n"
        )


def test_gallery_whole_library(photo: Path, tmp_path: Path) -> None:
    result = run("gallery", str(photo), "-o", str(tmp_path / "s.png"), "--tile-size", "16")
    assert result.exit_code == 0, result.output
    assert f": {len(load_library()) + 1} tiles (6 columns" in result.output


def test_gallery_of_a_one_pixel_image(tmp_path: Path) -> None:
    source, sheet = tmp_path / "dot.png", tmp_path / "sheet.png"
    Image.new("L", (1, 1), 200).save(source)
    result = run("gallery", str(source), "-o", str(sheet), "-k", "sobel_x", "--tile-size", "32")
    assert result.exit_code == 0, result.output
    assert "(2 columns, 32×32 each)" in result.stdout


def test_a_sheet_is_never_written_as_npy(photo: Path, tmp_path: Path) -> None:
    result = run("gallery", str(photo), "-o", str(tmp_path / "s.npy"), "-k", "sobel_x")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"convcli: error: {tmp_path / 's.npy'}: a gallery is a picture"
    )
    assert not (tmp_path / "s.npy").exists()


def test_gallery_of_an_animated_image_says_which_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (20, 15), (60 * i, 90, 30)) for i in range(3)]
    gif, sheet = tmp_path / "a.gif", tmp_path / "sheet.png"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=50)
    result = run("gallery", str(gif), "-o", str(sheet), "-k", "sobel_x", "--tile-size", "20")
    assert result.exit_code == 0, result.output
    with Image.open(sheet) as image:
        assert result.output == (
            f"wrote {sheet}: 2 tiles (2 columns, 15×20 each), "
            f"{image.height}×{image.width} (frame 0 of 3)\n"
        )
