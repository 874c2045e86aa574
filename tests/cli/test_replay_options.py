"""Records and programs of issue 11's options: scale, bias, luma, encoding, frames, normalize."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from convcli.cli import cli


@pytest.fixture
def photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rgb = np.random.default_rng(13).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    Image.fromarray(rgb).save("photo.png")
    frames = [Image.fromarray(np.full((6, 5, 3), v, np.uint8)) for v in (10, 120, 240)]
    frames[0].save("anim.tif", save_all=True, append_images=frames[1:])
    return Path("photo.png")


@pytest.mark.parametrize(
    "args",
    [
        ["photo.png", "-k", "log:sigma=1", "-o", "a.png"],
        ["photo.png", "-k", "sobel_x", "--scale", "0.5", "--bias", "100", "--map", "clip",
         "-o", "b.png"],
        ["photo.png", "-k", "sharpen", "--color", "luma", "--quality", "60", "-o", "c.jpg"],
        ["photo.png", "-k", "1 2 1; 2 4 2; 1 2 1", "--normalize", "--compression", "deflate",
         "-o", "d.tif"],
        ["anim.tif", "-k", "box:3", "--frame", "1", "-o", "e.png"],
        ["anim.tif", "-k", "box:3", "-o", "f.tif"],
    ],
)  # fmt: skip
def test_records_of_new_options_replay_identical(photo: Path, args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["apply", *args, "--record", "--json"])
    assert result.exit_code == 0, result.output
    [line] = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    [record] = line["records"]
    replayed = CliRunner().invoke(cli, ["replay", record["output"]["path"] + ".json"])
    assert replayed.exit_code == 0, replayed.output
    assert replayed.output.startswith("identical: ")


def test_emit_refuses_luma_and_names_normalize(photo: Path) -> None:
    result = CliRunner().invoke(cli, ["apply", "photo.png", "-k", "sharpen", "--color", "luma",
                                      "--emit", "numpy"])  # fmt: skip
    assert result.exit_code == 2
    assert (
        "convcli: error: --emit writes programs for --color keep or gray, not luma"
        in result.output
    )
    result = CliRunner().invoke(cli, ["apply", "photo.png", "-k", "1 2 1", "--normalize",
                                      "--emit", "numpy"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "--normalize" in result.output
    assert "0.25" in result.output
