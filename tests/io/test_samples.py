"""The sample images: photographs within limits, patterns regenerated exactly."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from convcli.io import READ_EXTENSIONS, read_header, read_image

SAMPLES = Path(__file__).resolve().parents[2] / "sample_images"
PHOTOS = {"astronaut.png": "rgb", "coffee.png": "rgb", "camera.png": "gray"}
PATTERNS = [
    "step_edge.png",
    "checkerboard.png",
    "impulse.png",
    "gradient.png",
    "gradient16.png",
    "red_disc.png",
]


def load_make_patterns() -> ModuleType:
    """Import sample_images/make_patterns.py (not a package) by path."""
    spec = importlib.util.spec_from_file_location("make_patterns", SAMPLES / "make_patterns.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("name", "color"), sorted(PHOTOS.items()))
def test_photo_is_small_and_readable(name: str, color: str) -> None:
    path = SAMPLES / name
    assert path.stat().st_size <= 400 * 1024
    img = read_image(path)
    assert img.color == color
    assert (img.bit_depth, img.alpha) == (8, None)
    assert read_header(path) == (*img.pixels.shape[:2], img.channels)


def test_readme_names_every_file_with_a_licence() -> None:
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for name in [*PHOTOS, *PATTERNS, "grid.txt", "make_patterns.py"]:
        assert f"`{name}`" in readme or f"({name})" in readme, name
    for licence in ["Public domain", "CC0"]:
        assert licence in readme


def test_every_image_in_the_folder_is_known(sample_files: list[Path]) -> None:
    images = {p.name for p in sample_files if p.suffix.lower() in READ_EXTENSIONS}
    assert images == {*PHOTOS, *PATTERNS}


def test_make_patterns_reproduces_the_committed_files(tmp_path: Path) -> None:
    written = load_make_patterns().write_all(tmp_path)
    assert sorted(p.name for p in written) == sorted([*PATTERNS, "grid.txt"])
    for name in PATTERNS:
        fresh, committed = read_image(tmp_path / name), read_image(SAMPLES / name)
        np.testing.assert_array_equal(fresh.pixels, committed.pixels, err_msg=name)
        assert (fresh.mode, fresh.bit_depth) == (committed.mode, committed.bit_depth)
    assert (tmp_path / "grid.txt").read_bytes() == (SAMPLES / "grid.txt").read_bytes()


def test_patterns_have_their_documented_values() -> None:
    step = read_image(SAMPLES / "step_edge.png").pixels
    assert step.shape == (64, 64)
    assert (step[:, :32] == 0).all()
    assert (step[:, 32:] == 255).all()
    impulse = read_image(SAMPLES / "impulse.png").pixels
    assert impulse.sum() == 255
    assert impulse[32, 32] == 255
    board = read_image(SAMPLES / "checkerboard.png").pixels
    assert (board[0, 0], board[0, 8], board[8, 8]) == (0, 255, 0)
    ramp = read_image(SAMPLES / "gradient.png").pixels
    assert (ramp[:, 0] == 0).all()
    assert (ramp[:, -1] == 255).all()
    assert (np.diff(ramp, axis=1) > 0).all()
    ramp16 = read_image(SAMPLES / "gradient16.png")
    assert (ramp16.max_value, ramp16.pixels.max()) == (65535.0, 65535.0)


def test_grid_is_7x7_integers() -> None:
    rows = (SAMPLES / "grid.txt").read_text(encoding="utf-8").splitlines()
    matrix = np.array([[int(v) for v in row.split()] for row in rows])
    assert matrix.shape == (7, 7)
    assert matrix.min() == 0
    assert matrix.max() == 9
