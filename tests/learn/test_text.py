"""The text views: grids, headings, one position, sums, a whole small grid."""

from __future__ import annotations

import numpy as np

from convcli.learn.text import (
    describe_setup,
    fmt,
    format_grid,
    format_overview,
    format_position,
    format_step,
)
from convcli.learn.window import explain_at, prepare

GRID = np.array([[5, 7, 9], [3, 5, 7], [1, 3, 5], [0, 1, 3]], dtype=float)
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)


def test_numbers_are_short_and_exact_looking() -> None:
    assert [fmt(v) for v in (3.0, -0.0, 0.125, 1 / 3, -2.5e13)] == [
        "3",
        "0",
        "0.125",
        "0.3333",
        "-2.5e+13",
    ]


def test_describe_setup_writes_sizes_height_first() -> None:
    setup = prepare(GRID, np.ones((1, 3)), kernel_name="row", padding="valid", stride=(1, 2))
    assert describe_setup(setup).splitlines() == [
        "cross-correlation (kernel not flipped) of a 4×3 input with row (1×3)",
        "stride 1,2, dilation 1, padding valid -> top 0, bottom 0, left 0, right 0; "
        "padding mode reflect",
        "output 4×1:",
        "  out_h = floor((4 + 0 + 0 - 1·(1-1) - 1) / 1) + 1 = 4",
        "  out_w = floor((3 + 0 + 0 - 1·(3-1) - 1) / 2) + 1 = 1",
    ]


def test_describe_setup_names_the_constant_of_zeros() -> None:
    setup = prepare(GRID, SOBEL_X, padding_mode="zeros", cval=2.5, flip=True)
    lines = describe_setup(setup).splitlines()
    assert lines[0].startswith("convolution (kernel flipped 180°, --flip) of a 4×3 input")
    assert lines[1].endswith(
        "padding same -> top 1, bottom 1, left 1, right 1; padding mode zeros (cval 2.5)"
    )


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
    assert format_overview(setup).splitlines()[-4:] == ["output:", "    0", "0  20", "1   5"]


def test_a_long_sum_shows_only_its_total() -> None:
    setup = prepare(np.ones((6, 6)), np.ones((6, 6)), padding="valid")
    assert format_step(explain_at(setup, (0, 0))) == "out[0, 0] = sum of 36 products = 36"


def test_format_grid_marks() -> None:
    text = format_grid(
        np.array([[1.0, 2.5]]),
        pads=np.array([[True, False]]),
        taps=np.array([[False, True]]),
    )
    assert text == "   1* [2.5 ]"
