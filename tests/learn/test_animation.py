"""The sliding window as a GIF: one frame per output position, written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convcli.errors import GeometryError
from convcli.learn.animation import MAX_GIF_POSITIONS, MAX_GIF_SIDE, animation_frames, write_gif
from convcli.learn.window import prepare

GRID = np.array([[5, 7, 9], [3, 5, 7], [1, 3, 5], [0, 1, 3]], dtype=float)
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)


@pytest.mark.parametrize(
    ("kwargs", "positions"),
    [
        ({}, 4 * 3),
        ({"stride": 2, "dilation": 2, "padding": 2, "padding_mode": "zeros"}, 2 * 2),
    ],
)
def test_gif_has_one_frame_per_position_plus_two(
    tmp_path: Path, kwargs: dict[str, object], positions: int
) -> None:
    setup = prepare(GRID, SOBEL_X, kernel_name="sobel_x", **kwargs)  # type: ignore[arg-type]
    assert setup.geometry.output_hw[0] * setup.geometry.output_hw[1] == positions
    info = write_gif(tmp_path / "a.gif", setup)
    assert info.frames == positions + 2
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == positions + 2
        assert (gif.height, gif.width) == info.hw
        assert gif.info["loop"] == 0
    assert list(tmp_path.iterdir()) == [tmp_path / "a.gif"]  # no temporary file left


def test_gif_frames_show_the_window_moving() -> None:
    setup = prepare(GRID, SOBEL_X, padding="valid")
    frames, durations = animation_frames(setup)
    assert len(frames) == len(durations) == 2 + 2
    first, second = (np.asarray(f.convert("RGB")) for f in frames[1:3])
    assert not np.array_equal(first, second)


def test_gif_refuses_too_many_positions() -> None:
    setup = prepare(np.zeros((25, 25)), np.ones((3, 3)))
    with pytest.raises(GeometryError) as info:
        animation_frames(setup)
    assert str(info.value) == (
        f"--gif draws one frame per output position; 25×25 = 625 positions is more than "
        f"{MAX_GIF_POSITIONS}: use a smaller input or a larger --stride"
    )


def test_gif_refuses_cells_too_small_to_read() -> None:
    setup = prepare(np.zeros((1, 45)), np.ones((1, 1)), stride=(1, 5))
    with pytest.raises(GeometryError) as info:
        animation_frames(setup)
    assert str(info.value) == (
        f"--gif needs a padded input of at most {MAX_GIF_SIDE}×{MAX_GIF_SIDE} cells; "
        "got 1×45: use a smaller input"
    )
