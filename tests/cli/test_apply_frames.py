"""Files of several frames: every frame filtered where the output holds frames; otherwise a
clear refusal naming `--frame`, and `--frame N` picks one."""

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
        f"convcli: error: {animated}: has 4 frames and PNG holds one; "
        "pass --frame N (0..3) to filter one, or write .gif, .webp or .tif\n"
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


def _box3(x: np.ndarray) -> np.ndarray:
    """3x3 mean with reflect padding, by hand (per channel)."""
    pad = np.pad(x, ((1, 1), (1, 1), (0, 0)), mode="reflect")
    h, w = x.shape[:2]
    return sum(pad[i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9.0


def _read_frames(path: Path) -> tuple[list[np.ndarray], list[dict[str, object]]]:
    frames, infos = [], []
    with Image.open(path) as im:
        for index in range(im.n_frames):
            im.seek(index)
            frames.append(np.asarray(im.convert("RGB")).astype(np.float64))
            infos.append({**im.info, "disposal": getattr(im, "disposal_method", None)})
    return frames, infos


WRITERS = [(".tif", [], 1), (".webp", ["--lossless"], 1), (".gif", [], 12)]


@pytest.mark.parametrize(("suffix", "extra", "tolerance"), WRITERS)
def test_every_frame_is_filtered(
    suffix: str, extra: list[str], tolerance: int, tmp_path: Path
) -> None:
    source = tmp_path / "in.gif"
    frames = _frames()
    frames[0].save(source, save_all=True, append_images=frames[1:], duration=[100, 200, 300, 400],
                   loop=3, disposal=2)  # fmt: skip
    out = tmp_path / f"out{suffix}"
    result = run(str(source), "-k", "box:3", *extra, "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert (record["frames"], record["frame"]) == (4, None)
    assert "every frame of 4" in result.stderr
    inputs, _ = _read_frames(source)
    written, infos = _read_frames(out)
    assert len(written) == 4
    for got, frame in zip(written, inputs, strict=True):
        np.testing.assert_allclose(got, np.floor(_box3(frame) + 0.5), atol=tolerance)
    if suffix != ".tif":
        assert [i["duration"] for i in infos] == [100, 200, 300, 400]
        assert infos[0]["loop"] == 3
    if suffix == ".gif":
        assert [i["disposal"] for i in infos] == [2, 2, 2, 2]


def test_frames_share_one_auto_scale(tmp_path: Path) -> None:
    source = tmp_path / "in.tif"
    frames = _frames()
    frames[0].save(source, save_all=True, append_images=frames[1:])
    result = run(str(source), "-k", "laplacian", "-o", str(tmp_path / "o.tif"), "--json")
    inputs, _ = _read_frames(source)
    laplacian = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)
    responses = []
    for frame in inputs:
        pad = np.pad(frame, ((1, 1), (1, 1), (0, 0)), mode="reflect")
        h, w = frame.shape[:2]
        responses.append(sum(laplacian[i, j] * pad[i : i + h, j : j + w]
                             for i in range(3) for j in range(3)))  # fmt: skip
    top = np.percentile(np.abs(np.stack(responses)), 99.5)
    assert json.loads(result.stdout)["scale"] == pytest.approx(255 / top, rel=1e-5)


def test_raw_values_of_several_frames_are_refused(tmp_path: Path) -> None:
    source = tmp_path / "in.tif"
    frames = _frames()
    frames[0].save(source, save_all=True, append_images=frames[1:])
    result = run(str(source), "-k", "box:3", "--map", "raw", "-o", str(tmp_path / "o.tif"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"convcli: error: {source}: --map raw writes the float values of one frame; "
        "pass --frame N\n"
    )


def test_pages_of_different_sizes_are_refused(tmp_path: Path) -> None:
    source = tmp_path / "in.tif"
    small = Image.fromarray(np.zeros((3, 4), np.uint8))
    Image.fromarray(np.zeros((5, 4), np.uint8)).save(source, save_all=True, append_images=[small])
    out = tmp_path / "o.tif"
    result = run(str(source), "-k", "box:3", "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr == (
        f"convcli: error: {source}: its frames differ in size (3×4, 5×4); pass --frame N\n"
    )
    assert not out.exists()


def test_gray_and_colour_frames_are_written_alike(tmp_path: Path) -> None:
    source = tmp_path / "in.tif"
    gray = Image.fromarray(np.full((4, 4), 90, np.uint8))
    colour = Image.fromarray(np.full((4, 4, 3), (10, 20, 30), np.uint8))
    gray.save(source, save_all=True, append_images=[colour])
    out = tmp_path / "o.tif"
    assert run(str(source), "-k", "identity", "-o", str(out)).exit_code == 0
    written, _ = _read_frames(out)
    np.testing.assert_array_equal(written[0], np.full((4, 4, 3), 90.0))
    np.testing.assert_array_equal(written[1], np.full((4, 4, 3), (10.0, 20.0, 30.0)))
