"""Files of several frames: a clear refusal by default, `--frame N` picks one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from convcli.cli import cli

LEVELS = (0, 100, 200, 250)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["apply", *args], catch_exceptions=False)


def _frames() -> list[Image.Image]:
    frames = []
    for level in LEVELS:
        pixels = np.full((6, 5, 3), level, np.uint8)
        pixels[2, 2] = (255, 0, 0)
        frames.append(Image.fromarray(pixels))
    return frames


@pytest.fixture(params=[".gif", ".tif", ".webp"])
def animated(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / f"anim{request.param}"
    frames = _frames()
    extra = {"lossless": True} if request.param == ".webp" else {}
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, **extra)
    return path


def test_several_frames_are_refused_naming_frame(animated: Path, tmp_path: Path) -> None:
    result = run(str(animated), "-k", "identity", "-o", str(tmp_path / "o.png"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"convcli: error: {animated}: has 4 frames and each output holds one; "
        "pass --frame N (0..3) to filter one of them\n"
    )
    assert not (tmp_path / "o.png").exists()


def test_frame_picks_one(animated: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.png"
    result = run(str(animated), "-k", "identity", "--frame", "2", "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    with Image.open(animated) as im:
        im.seek(2)
        expected = np.asarray(im.convert("RGB"))
    with Image.open(out) as written:
        np.testing.assert_array_equal(np.asarray(written.convert("RGB")), expected)
    assert int(expected[0, 0, 0]) in range(195, 206)  # the third frame (GIF palettes round)
    record = json.loads(result.stdout)
    assert (record["frames"], record["frame"]) == (4, 2)
    assert "· frame 2 of 4" in result.stderr


def test_frame_out_of_range(animated: Path, tmp_path: Path) -> None:
    result = run(str(animated), "-k", "identity", "--frame", "4", "-o", str(tmp_path / "o.png"))
    assert result.exit_code == 1
    assert result.stderr == f"convcli: error: {animated}: has no frame 4; its frames are 0..3\n"


def test_single_frame_files_need_no_frame(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(tmp_path / "one.gif")
    result = run(
        str(tmp_path / "one.gif"), "-k", "identity", "-o", str(tmp_path / "o.png"), "--json"
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["frames"] == 1
