"""Shape arithmetic for learners: shape reports, layer parsing, receptive-field chains."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcli.engine import conv2d
from convcli.errors import GeometryError
from convcli.learn.shapes import (
    LayerSpec,
    chain_dict,
    dims,
    fmt_pair,
    layer_chain,
    parse_layer,
    parse_size,
    report_dict,
    shape_report,
    shape_warnings,
)


def test_classic_6x6_with_3x3_stride_1_gives_4x4() -> None:
    report = shape_report((6, 6, 1), (3, 3), padding="valid")
    assert report.output_hwc == (4, 4, 1)
    assert report.formulas[0] == "out_h = floor((6 + 0 + 0 - 1·(3-1) - 1) / 1) + 1 = 4"
    assert report.warnings == ()


def test_resnet_stem_224_k7s2p3_gives_112() -> None:
    report = shape_report((224, 224, 3), (7, 7), stride=2, padding=3)
    assert report.output_hwc == (112, 112, 3)
    assert report.geometry.pads == ((3, 3), (3, 3))
    assert report.formulas[1] == "out_w = floor((224 + 3 + 3 - 1·(7-1) - 1) / 2) + 1 = 112"


def test_same_with_stride_2_on_even_size_pads_asymmetrically() -> None:
    report = shape_report((224, 224, 3), (3, 3), stride=2)  # apply's default: same
    assert report.geometry.pads == ((0, 1), (0, 1))
    assert report.output_hwc == (112, 112, 3)
    assert report.warnings == (
        "'same' padding is asymmetric here (top 0, bottom 1, left 0, right 1): the odd pixel "
        "goes to the bottom/right, as TensorFlow does",
    )


def test_same_with_stride_2_on_odd_size_and_even_kernel_is_asymmetric() -> None:
    report = shape_report((7, 9, 1), (4, 4), stride=2)
    assert report.output_hwc == (4, 5, 1)
    assert report.geometry.pads == ((1, 2), (1, 2))
    assert "asymmetric" in report.warnings[0]


def test_symmetric_same_has_no_warning() -> None:
    assert shape_report((225, 225, 3), (3, 3), stride=2).warnings == ()


@pytest.mark.parametrize(
    ("hw", "stride", "expected"),
    [
        ((8, 7), 2, "stride 2 does not divide evenly: the last row of the input is never used"),
        ((7, 8), 2, "stride 2 does not divide evenly: the last column of the input is never used"),
        (
            (10, 10),
            4,
            "stride 4 does not divide evenly: the last 3 rows and 3 columns of the input are "
            "never used",
        ),
        (
            (8, 8),
            (2, 3),
            "stride 2,3 does not divide evenly: the last row and 2 columns of the input are "
            "never used",
        ),
    ],
)
def test_stride_remainder_warning(hw: tuple[int, int], stride: object, expected: str) -> None:
    report = shape_report((*hw, 1), (3, 3), stride=stride, padding=0)  # type: ignore[arg-type]
    assert report.warnings == (expected,)


def test_empty_output_is_an_error_with_the_formula() -> None:
    with pytest.raises(GeometryError, match=r"out_h = floor\(\(5 \+ 0 \+ 0 - 1·\(7-1\) - 1\)"):
        shape_report((5, 5, 1), (7, 7), padding="valid")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("k7s2p3", LayerSpec("k7s2p3", (7, 7), (2, 2), (1, 1), (3, 3))),
        ("k3s1d2p2", LayerSpec("k3s1d2p2", (3, 3), (1, 1), (2, 2), (2, 2))),
        ("k3", LayerSpec("k3", (3, 3), (1, 1), (1, 1), 0)),
        ("k3x5s2psame", LayerSpec("k3x5s2psame", (3, 5), (2, 2), (1, 1), "same")),
        ("k3p1s2", LayerSpec("k3p1s2", (3, 3), (2, 2), (1, 1), (1, 1))),
        ("k3s2,1p1,0", LayerSpec("k3s2,1p1,0", (3, 3), (2, 1), (1, 1), (1, 0))),
        ("K2S2", LayerSpec("K2S2", (2, 2), (2, 2), (1, 1), 0)),
        ("k3×5s2", LayerSpec("k3×5s2", (3, 5), (2, 2), (1, 1), 0)),
    ],
)
def test_parse_layer(text: str, expected: LayerSpec) -> None:
    assert parse_layer(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "7s2",
            "layer '7s2' is not understood; expected k<K>[x<K>] then optional s<N>, d<N>, "
            "p<N|same|valid|full>, e.g. k7s2p3",
        ),
        ("k3q1", "layer 'k3q1' is not understood"),
        ("k3s0", "layer 'k3s0': kernel size, stride and dilation must be >= 1"),
        ("k0", "layer 'k0': kernel size, stride and dilation must be >= 1"),
    ],
)
def test_parse_layer_errors(text: str, message: str) -> None:
    with pytest.raises(GeometryError) as info:
        parse_layer(text)
    assert str(info.value).startswith(message)


def test_chain_by_hand() -> None:
    layers = [parse_layer(t) for t in ("k7s2p3", "k3s2p1", "k3s1d2p2", "k3s2")]
    rows = layer_chain((224, 224), layers)
    assert [r.geometry.output_hw for r in rows] == [(112, 112), (56, 56), (56, 56), (27, 27)]
    assert [r.receptive_field for r in rows] == [(7, 7), (11, 11), (27, 27), (35, 35)]
    assert [r.jump for r in rows] == [(2, 2), (4, 4), (4, 4), (8, 8)]
    assert [r.start for r in rows] == [(-3, -3), (-5, -5), (-13, -13), (-13, -13)]
    assert [r.dropped for r in rows] == [(0, 0), (0, 0), (0, 0), (1, 1)]


def _recurrence(layers: list[LayerSpec]) -> list[tuple[int, int]]:
    r, j, out = 1, 1, []
    for layer in layers:
        r = r + (layer.kernel_hw[0] - 1) * layer.dilation[0] * j
        j = j * layer.stride[0]
        out.append((r, j))
    return out


def _brute_receptive_field(n: int, layers: list[LayerSpec]) -> int:
    """Input pixels that influence output 0 of the last layer, found by tracing indices."""
    reach = {0}
    for layer in reversed(layers):
        k, s, d = layer.kernel_hw[0], layer.stride[0], layer.dilation[0]
        pad = layer.padding[0] if isinstance(layer.padding, tuple) else int(layer.padding)  # type: ignore[arg-type]
        reach = {o * s - pad + t * d for o in reach for t in range(k)}
    return max(reach) - min(reach) + 1


layer_strategy = st.builds(
    lambda k, s, d, p: parse_layer(f"k{k}s{s}d{d}p{p}"),
    st.integers(1, 5),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 2),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(layer_strategy, min_size=1, max_size=4))
def test_chain_matches_the_recurrence_and_index_tracing(layers: list[LayerSpec]) -> None:
    try:
        rows = layer_chain((200, 200), layers)
    except GeometryError:
        return
    assert [(r.receptive_field[0], r.jump[0]) for r in rows] == _recurrence(layers)
    assert rows[-1].receptive_field[0] == _brute_receptive_field(200, layers)


def test_chain_error_names_the_layer() -> None:
    with pytest.raises(GeometryError, match=r"^layer 2 \(k7\) on 2×2: kernel \(dilated "):
        layer_chain((6, 6), [parse_layer("k3s2p0"), parse_layer("k7")])


@settings(max_examples=30, deadline=None)
@given(
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
    padding=st.sampled_from(["same", "valid", "full", 0, 1, 2]),
)
def test_reported_shape_is_the_array_conv2d_returns(
    h: int, w: int, kh: int, kw: int, stride: int, dilation: int, padding: object
) -> None:
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation}
    try:
        report = shape_report((h, w, 3), (kh, kw), **kwargs)  # type: ignore[arg-type]
    except GeometryError:
        with pytest.raises(GeometryError):
            conv2d(np.zeros((h, w, 3)), np.ones((kh, kw)), **kwargs)  # type: ignore[arg-type]
        return
    out = conv2d(np.zeros((h, w, 3)), np.ones((kh, kw)), **kwargs)  # type: ignore[arg-type]
    assert out.shape == report.output_hwc


def test_parse_size() -> None:
    assert parse_size("224x224x3") == (224, 224, 3)
    assert parse_size("480X640") == (480, 640, 1)
    assert parse_size("480×640×3") == (480, 640, 3)
    with pytest.raises(GeometryError, match="size '0x3' has a zero"):
        parse_size("0x3")
    with pytest.raises(GeometryError, match=r"size '3' is not HxW or HxWxC"):
        parse_size("3")


@pytest.mark.parametrize(("text", "twice"), [("k3s2s2", "s"), ("k3p1p2", "p"), ("k3d2d2p1", "d")])
def test_a_layer_part_given_twice_is_an_error(text: str, twice: str) -> None:
    with pytest.raises(GeometryError, match=rf"^layer '{text}' gives {twice} more than once; "):
        parse_layer(text)


def test_sizes_are_written_height_first_with_a_times_sign() -> None:
    assert dims((480, 640, 3)) == "480×640×3"
    assert dims(shape_report((480, 640, 1), (3, 5), padding="valid").geometry.output_hw) == (
        "478×636"
    )
    assert (fmt_pair((2, 2)), fmt_pair((2, 3))) == ("2", "2,3")


def test_json_dicts() -> None:
    report = shape_report((5, 6, 1), (3, 3), stride=2, padding="same")
    info = report_dict(report)
    assert info["output"] == [3, 3, 1]
    assert info["pads"] == {"top": 1, "bottom": 1, "left": 0, "right": 1}
    rows = layer_chain((224, 224), [parse_layer("k7s2p3")])
    chain = chain_dict((224, 224, 3), rows)
    assert chain["layers"][0]["receptive_field"] == [7, 7]  # type: ignore[index]
    assert shape_warnings(report.geometry)[0].startswith("'same' padding is asymmetric")
