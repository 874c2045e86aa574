"""The shape formula, the padding words and the formula text."""

from __future__ import annotations

import pytest

from convcli.errors import GeometryError
from convcli.geometry import (
    normalize_padding_mode,
    normalize_pair,
    output_shape,
    resolve_geometry,
)


def test_classic_6x6_with_3x3_gives_4x4():
    assert output_shape((6, 6), (3, 3)) == (4, 4)
    g = resolve_geometry((6, 6), (3, 3))
    assert g.pads == ((0, 0), (0, 0))
    assert g.formula(0) == "out_h = floor((6 + 0 + 0 - 1·(3-1) - 1) / 1) + 1 = 4"


@pytest.mark.parametrize(
    ("n", "k", "s", "d", "pads"),
    [
        (6, 3, 1, 1, (1, 1)),
        (6, 3, 2, 1, (0, 1)),  # out 3: total (3-1)*2+3-6 = 1, the odd pixel at the bottom
        (5, 3, 2, 1, (1, 1)),
        (7, 4, 1, 1, (1, 2)),
        (7, 4, 3, 1, (1, 2)),
        (10, 3, 1, 2, (2, 2)),
        (4, 1, 3, 1, (0, 0)),
        (9, 3, 4, 1, (1, 1)),
    ],
)
def test_same_pads_follow_tensorflow(n, k, s, d, pads):
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    g = resolve_geometry((n, n), (k, k), stride=s, padding="same", dilation=d)
    assert g.output_hw == (out, out)
    assert g.pads[0] == pads == (total // 2, total - total // 2)
    assert g.pads[0] == g.pads[1]
    assert g.padding_word == "same"


def test_same_examples_by_hand():
    assert resolve_geometry((6, 6), (3, 3), stride=2, padding="same").pads == ((0, 1), (0, 1))
    assert resolve_geometry((7, 8), (4, 4), padding="same").pads == ((1, 2), (1, 2))
    assert resolve_geometry((5, 5), (2, 2), stride=2, padding="same").output_hw == (3, 3)
    g = resolve_geometry((480, 640), (3, 3), stride=2, padding="same")
    assert g.output_hw == (240, 320)
    assert g.pads == ((0, 1), (0, 1))


def test_full_and_valid():
    g = resolve_geometry((6, 5), (3, 2), padding="full", dilation=(2, 1))
    assert g.pads == ((4, 4), (1, 1))
    assert g.output_hw == (10, 6)
    assert resolve_geometry((6, 5), (3, 2), padding="valid").output_hw == (4, 4)


def test_asymmetric_explicit_pads_and_stride():
    g = resolve_geometry((10, 10), (3, 3), stride=(2, 3), padding=((1, 0), (2, 3)))
    assert g.pads == ((1, 0), (2, 3))
    assert g.output_hw == ((10 + 1 - 3) // 2 + 1, (10 + 5 - 3) // 3 + 1)
    assert g.padded_hw == (11, 15)
    assert g.dropped(0) == 11 - ((g.output_hw[0] - 1) * 2 + 3)
    assert g.formula(1) == "out_w = floor((10 + 2 + 3 - 1·(3-1) - 1) / 3) + 1 = 5"


def test_pair_padding_and_dilation():
    g = resolve_geometry((8, 8), (3, 3), padding=(1, 2), dilation=2)
    assert g.pads == ((1, 1), (2, 2))
    assert g.effective_kernel_hw == (5, 5)
    assert g.output_hw == (6, 8)


def test_formula_text_of_contract():
    g = resolve_geometry((480, 640), (3, 3), stride=2, padding=1)
    assert g.formula(0) == "out_h = floor((480 + 1 + 1 - 1·(3-1) - 1) / 2) + 1 = 240"


def test_normalizers():
    assert normalize_pair(2, "stride") == (2, 2)
    assert normalize_pair([1, 3], "dilation") == (1, 3)
    assert normalize_padding_mode("wrap") == "circular"
    assert normalize_padding_mode("constant") == "zeros"
    with pytest.raises(GeometryError, match="must be an int or a pair"):
        normalize_pair(True, "stride")


def test_empty_output_message_shows_the_formula():
    with pytest.raises(GeometryError, match=r"= 0$"):
        output_shape((4, 4), (3, 3), stride=1, padding=0, dilation=2)
