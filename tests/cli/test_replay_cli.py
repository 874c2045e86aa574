"""`apply --record` writes replay records; `convcli replay` recomputes and compares bytes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from scipy import ndimage

import convcli
from convcli.cli import cli


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rgb = np.random.default_rng(11).integers(0, 256, (14, 9, 3), dtype=np.uint8)
    Image.fromarray(rgb).save("photo.png")
    return Path("photo.png")


def test_record_holds_digests_and_resolved_numbers(photo: Path) -> None:
    result = invoke("apply", "photo.png", "-k", "sobel", "-s", "2", "-o", "e.png", "--record")
    assert result.exit_code == 0, result.output
    record = json.loads(Path("e.png.json").read_text())
    assert record["format"] == "convcli-record"
    assert record["version"] == 1
    assert record["convcli"] == convcli.__version__
    assert record["input"] == {"path": "photo.png", "sha256": sha(photo),
                               "bytes": photo.stat().st_size, "shape": [14, 9, 3]}  # fmt: skip
    assert record["output"]["sha256"] == sha(Path("e.png"))
    assert record["output"]["bytes"] == Path("e.png").stat().st_size
    assert [k["pads"] for k in record["kernels"]] == [[[0, 1], [1, 1]]] * 2
    assert [k["output_shape"] for k in record["kernels"]] == [[7, 5]] * 2
    assert record["plan"]["combine"] == "magnitude"
    assert record["plan"]["units"][0]["kernels"][0]["weights"] == [[-1, 0, 1], [-2, 0, 2],
                                                                   [-1, 0, 1]]  # fmt: skip
    mapping = record["mapping"]
    assert (mapping["requested"], mapping["mapping"]) == ("auto", "abs")
    assert set(mapping) >= {"min", "max", "clipped", "clipped_share", "depth"}


def test_replay_identical(photo: Path) -> None:
    invoke("apply", "photo.png", "-k", "sobel", "-o", "e.png", "--record")
    result = invoke("replay", "e.png.json")
    assert result.exit_code == 0
    assert (
        result.output
        == f"identical: e.png recomputed from photo.png (sha256 {sha(Path('e.png'))[:12]}…)\n"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["-k", "sobel_x", "-k", "box:4", "--chain", "-m", "zeros", "--cval", "3", "-o", "o.tif",
         "--map", "raw", "--color", "gray"],
        ["-k", "roberts", "--combine", "stack", "-d", "2", "--flip", "-o", "out/"],
        ["-k", "emboss", "-p", "1,2", "-m", "circular", "--map", "normalize", "-o", "o.npy"],
        ["-k", "gaussian:sigma=1.5", "--color", "gray", "--depth", "16", "-o", "o.png"],
    ],
)  # fmt: skip
def test_every_record_replays_identical(photo: Path, args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["apply", "photo.png", *args, "--record", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    records = lines[0]["records"]
    assert len(records) == len(lines[0]["outputs"])
    for record in records:
        path = record["output"]["path"] + ".json"
        assert json.loads(Path(path).read_text()) == record
        assert invoke("replay", path).exit_code == 0


def test_replay_moved_input(photo: Path, tmp_path: Path) -> None:
    invoke("apply", "photo.png", "-k", "sharpen", "-o", "s.png", "--record")
    (tmp_path / "moved").mkdir()
    photo.rename(tmp_path / "moved" / "photo.png")
    result = invoke("replay", "s.png.json")
    assert result.exit_code == 1
    assert (
        result.output
        == "convcli: error: photo.png: no such file; give the recorded input with --input\n"
    )
    assert invoke("replay", "s.png.json", "--input", "moved/photo.png").exit_code == 0


def test_replay_refuses_a_changed_input(photo: Path) -> None:
    invoke("apply", "photo.png", "-k", "sharpen", "-o", "s.png", "--record")
    recorded = sha(photo)
    Image.new("RGB", (3, 3)).save("photo.png")
    result = invoke("replay", "s.png.json")
    assert result.exit_code == 1
    assert result.output.startswith("convcli: error: photo.png: not the recorded input (")
    assert recorded[:12] in result.output


def test_replay_says_how_it_differs(photo: Path) -> None:
    invoke("apply", "photo.png", "-k", "box:3", "-o", "b.png", "--record")
    record = json.loads(Path("b.png.json").read_text())
    record["plan"]["units"][0]["kernels"][0]["weights"][1][1] = 2.0  # as if convcli changed
    Path("b.png.json").write_text(json.dumps(record))
    result = invoke("replay", "b.png.json")
    assert result.exit_code == 1
    old = np.asarray(Image.open("b.png"), dtype=np.float64)
    x = np.asarray(Image.open("photo.png"), dtype=np.float64)
    weights = np.full((3, 3), 1 / 9)
    weights[1, 1] = 2.0
    raw = ndimage.correlate(x, weights[:, :, None], mode="mirror")
    changed = int(np.count_nonzero(np.clip(np.rint(raw), 0, 255) != old))
    assert result.output.startswith(
        f"convcli: error: b.png differs when recomputed from photo.png: {changed} of {old.size} "
        "samples differ (largest difference "
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"a": 1}', "not a convcli replay record (written by apply --record)"),
        ("not json", "not a convcli replay record (written by apply --record)"),
        ('{"format": "convcli-record", "version": 2, "convcli": "9.0"}',
         "record version 2 from convcli 9.0; this convcli reads version 1: upgrade convcli "
         "to replay it"),
    ],
)  # fmt: skip
def test_replay_refuses_other_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(content)
    result = invoke("replay", str(path))
    assert result.exit_code == 2
    assert result.output == f"convcli: error: {path}: {message}\n"


def test_record_refuses_stdout_and_existing_records(photo: Path) -> None:
    result = invoke("apply", "photo.png", "-k", "sobel_x", "-o", "-", "--record")
    assert result.exit_code == 2
    assert "--record writes <output>.json beside each output; -o - has no name" in result.output
    Path("e.png.json").write_text("mine")
    result = invoke("apply", "photo.png", "-k", "sobel_x", "-o", "e.png", "--record")
    assert result.exit_code == 2
    assert "convcli: error: e.png.json exists; --overwrite replaces it" in result.output
    assert Path("e.png.json").read_text() == "mine"
    assert not Path("e.png").exists()


def test_replay_refuses_an_incomplete_record(photo: Path) -> None:
    invoke("apply", "photo.png", "-k", "sobel_x", "-o", "e.png", "--record")
    record = json.loads(Path("e.png.json").read_text())
    del record["output"]["sha256"]
    Path("cut.json").write_text(json.dumps(record))
    record["output"]["sha256"], record["options"]["stride"] = "0", "two"
    Path("odd.json").write_text(json.dumps(record))
    cut, odd = invoke("replay", "cut.json"), invoke("replay", "odd.json")
    assert (cut.exit_code, odd.exit_code) == (2, 2)
    assert (
        cut.output == "convcli: error: cut.json: not a complete replay record: no field 'sha256'\n"
    )
    assert odd.output.startswith("convcli: error: odd.json: a replay record field is malformed: ")
    assert len(odd.output.splitlines()) == 1
