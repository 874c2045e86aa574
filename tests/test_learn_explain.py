"""The learning views: multiply-adds at one position, text views, input loading, GIFs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from convcli.engine import conv2d
from convcli.errors import GeometryError, ImageError
from convcli.explain import (
    MAX_GIF_POSITIONS,
    animation_frames,
    explain_at,
    format_grid,
    format_overview,
    format_position,
    format_step,
    load_input,
    output_grid,
    pad_sources,
    parse_matrix,
    prepare,
    shape_of,
    write_gif,
)

GRID = np.array([[5, 7, 9], [3, 5, 7], [1, 3, 5], [0, 1, 3]], dtype=float)
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 2)),
    padding=st.sampled_from(["same", "valid", "full", 0, 2, (1, 0)]),
    mode=st.sampled_from(["zeros", "reflect", "symmetric", "replicate", "circular"]),
    flip=st.booleans(),
)
def test_sum_at_a_position_equals_conv2d_there(
    data: st.DataObject,
    h: int,
    w: int,
    kh: int,
    kw: int,
    stride: tuple[int, int],
    dilation: tuple[int, int],
    padding: object,
    mode: str,
    flip: bool,
) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-9, 10, size=(h, w)).astype(float)
    k = rng.integers(-3, 4, size=(kh, kw)).astype(float)
    kwargs = dict(stride=stride, padding=padding, padding_mode=mode, cval=1.5, dilation=dilation)
    try:
        setup = prepare(x, k, flip=flip, **kwargs)  # type: ignore[arg-type]
    except GeometryError:
        return
    expected = conv2d(x, k, flip=flip, **kwargs)  # type: ignore[arg-type]
    oh, ow = setup.geometry.output_hw
    at = (data.draw(st.integers(0, oh - 1)), data.draw(st.integers(0, ow - 1)))
    explanation = explain_at(setup, at)
    assert explanation.total == pytest.approx(float(expected[at]), abs=1e-9)
    assert float(explanation.products.sum()) == pytest.approx(explanation.total)
    assert explanation.engine_value == pytest.approx(explanation.total, abs=1e-9)


def test_padded_cells_are_marked_with_the_padding_values() -> None:
    setup = prepare(GRID, SOBEL_X, padding="same", padding_mode="reflect")
    e = explain_at(setup, (0, 0))
    assert e.rows.tolist() == [-1, 0, 1]
    assert e.cols.tolist() == [-1, 0, 1]
    assert e.padded.tolist() == [[True, True, True], [True, False, False], [True, False, False]]
    assert e.values.tolist() == [[5, 3, 5], [7, 5, 7], [5, 3, 5]]  # reflect: row -1 = row 1
    assert e.total == 0.0


def test_flip_lays_the_rotated_kernel() -> None:
    setup = prepare(GRID, SOBEL_X, padding="valid", flip=True)
    e = explain_at(setup, (0, 0))
    assert e.weights.tolist() == SOBEL_X[::-1, ::-1].tolist()
    assert e.total == -explain_at(prepare(GRID, SOBEL_X, padding="valid"), (0, 0)).total


def test_position_outside_the_output_is_an_error() -> None:
    setup = prepare(GRID, SOBEL_X, padding="valid")
    with pytest.raises(GeometryError) as info:
        explain_at(setup, (2, 0))
    assert str(info.value) == (
        "position 2,0 is outside the output 2x1; expected ROW in 0..1 and COL in 0..0"
    )


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("reflect", [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]),
        ("symmetric", [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]),
        ("replicate", [0, 0, 0, 0, 1, 2, 3, 3, 3, 3]),
        ("circular", [1, 2, 3, 0, 1, 2, 3, 0, 1, 2]),
    ],
)
def test_pad_sources_per_mode(mode: str, expected: list[int]) -> None:
    x = np.arange(4.0)[None, :]
    setup = prepare(x, np.ones((1, 3)), padding=((0, 0), (3, 3)), padding_mode=mode)
    sources = pad_sources(setup)
    assert sources is not None
    assert sources[1].tolist() == expected
    assert setup.padded[0].tolist() == [float(v) for v in expected]  # the engine agrees


def test_pad_sources_none_for_zeros() -> None:
    assert pad_sources(prepare(np.zeros((1, 4)), np.ones((1, 3)), padding_mode="zeros")) is None


def test_format_position_text() -> None:
    setup = prepare(GRID, SOBEL_X, kernel_name="sobel_x", padding_mode="zeros", cval=0)
    text = format_position(setup, explain_at(setup, (1, 0)))
    assert "padding mode zeros: pads hold 0" in text
    assert "kernel (not flipped):" in text
    assert "sum = 0×(-1) + 5×0 + 7×1 + 0×(-2) + 3×0 + 5×2 + 0×(-1) + 1×0 + 3×1 = 20" in text
    assert "engine output[1, 0] = 20  (matches the sum)" in text
    assert "[0*]" in text


def test_format_position_says_when_flipped_and_where_pads_come_from() -> None:
    setup = prepare(GRID, SOBEL_X, flip=True, padding_mode="replicate")
    text = format_position(setup, explain_at(setup, (0, 0)))
    assert "kernel, flipped 180° for convolution:" in text
    assert "padding cells (replicate): (-1,-1) copies (0,0), (-1,0) copies (0,0)" in text


def test_format_step_and_overview() -> None:
    setup = prepare(GRID, np.ones((2, 2)), padding="valid", stride=2)
    steps = [format_step(explain_at(setup, at)) for at in setup.positions()]
    assert steps == [
        "out[0, 0] = 5×1 + 7×1 + 3×1 + 5×1 = 20",
        "out[1, 0] = 1×1 + 3×1 + 0×1 + 1×1 = 5",
    ]
    assert output_grid(setup).tolist() == [[20.0], [5.0]]
    assert format_overview(setup).splitlines()[-4:] == ["output:", "    0", "0  20", "1   5"]


def test_format_grid_marks() -> None:
    text = format_grid(
        np.array([[1.0, 2.5]]),
        pads=np.array([[True, False]]),
        taps=np.array([[False, True]]),
    )
    assert text == "   1* [2.5 ]"


def test_parse_matrix_errors() -> None:
    assert parse_matrix("1,2\n3 4\n# note\n").tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ImageError, match=r"^m.txt: line 2 has 1 values; expected 2 like line 1$"):
        parse_matrix("1 2\n3", "m.txt")
    with pytest.raises(ImageError, match=r"^m.txt: line 1: 'x' is not a number$"):
        parse_matrix("1 x", "m.txt")
    with pytest.raises(ImageError, match=r"^m.txt: no numbers found"):
        parse_matrix("# nothing", "m.txt")
    with pytest.raises(ImageError, match="NaN or infinite"):
        parse_matrix("1 nan", "m.txt")


def test_load_input_kinds(tmp_path: Path) -> None:
    text = tmp_path / "m.txt"
    text.write_text("1 2\n3 4\n")
    npy = tmp_path / "m.npy"
    np.save(npy, np.arange(6).reshape(2, 3))
    png = tmp_path / "m.png"
    Image.fromarray(np.full((3, 5, 3), 200, dtype=np.uint8)).save(png)
    assert load_input(text).values.tolist() == [[1, 2], [3, 4]]
    assert load_input(npy).values.shape == (2, 3)
    image = load_input(png)
    assert image.values.shape == (3, 5)
    assert image.note == "colour turned gray (BT.601 luma)"
    assert shape_of(str(png)) == ((3, 5, 3), f"{png} (header only)")
    assert shape_of(str(npy))[0] == (2, 3, 1)
    with pytest.raises(ImageError, match="no such file"):
        load_input(tmp_path / "missing.txt")
    np.save(tmp_path / "c.npy", np.zeros((2, 2, 3)))
    with pytest.raises(
        ImageError, match=r"expected a 2-D array of numbers; got shape \(2, 2, 3\)"
    ):
        load_input(tmp_path / "c.npy")


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
        assert gif.size == info.size
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
        f"--gif draws one frame per output position; 25x25 = 625 positions is more than "
        f"{MAX_GIF_POSITIONS}: use a smaller input or a larger --stride"
    )
