"""The HTML page's data and file: every number from the engine, the crop, the limits."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from convcli.errors import GeometryError, OutputError
from convcli.learn.page import (
    MAX_KERNEL_TAPS,
    MAX_REGION,
    choose_view,
    mode_picture,
    page_data,
    render_page,
    write_page,
)
from convcli.learn.text import fmt
from convcli.learn.window import prepare

GRID = np.arange(35, dtype=float).reshape(5, 7) % 9 - 3
KERNEL = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])


def reference(values: np.ndarray, kernel: np.ndarray, pads, mode, stride, dilation, flip):
    """Products and sums by plain loops over numpy.pad, the formula written out."""
    padded = np.pad(values, pads, mode=mode)
    k = kernel[::-1, ::-1] if flip else kernel
    (sy, sx), (dy, dx) = stride, dilation
    kh, kw = k.shape
    out_h = (padded.shape[0] - dy * (kh - 1) - 1) // sy + 1
    out_w = (padded.shape[1] - dx * (kw - 1) - 1) // sx + 1
    products, sums = [], []
    for r in range(out_h):
        for c in range(out_w):
            terms = [
                padded[r * sy + i * dy, c * sx + j * dx] * k[i, j]
                for i in range(kh)
                for j in range(kw)
            ]
            products.append(terms)
            sums.append(sum(terms))
    return (out_h, out_w), products, sums


@pytest.mark.parametrize(
    ("mode", "numpy_mode", "flip"),
    [("circular", "wrap", True), ("reflect", "reflect", False), ("symmetric", "symmetric", True)],
)
def test_products_and_sums_match_plain_loops(mode: str, numpy_mode: str, flip: bool) -> None:
    pads = ((2, 1), (3, 2))
    setup = prepare(
        GRID, KERNEL, padding=pads, padding_mode=mode, stride=(1, 2), dilation=(2, 1), flip=flip
    )
    data = page_data(setup, choose_view(setup), title="t", lines=[])
    shape, products, sums = reference(GRID, KERNEL, pads, numpy_mode, (1, 2), (2, 1), flip)
    strings = data["strings"]
    assert (len(data["output"]["rows"]), len(data["output"]["cols"])) == shape
    taps = KERNEL.size
    for pos, (terms, total) in enumerate(zip(products, sums, strict=True)):
        shown = [strings[i] for i in data["products"][pos * taps : (pos + 1) * taps]]
        assert shown == [fmt(t) for t in terms]
        assert strings[data["totals"][pos]] == strings[data["engine"][pos]] == fmt(total)
    kernel = KERNEL[::-1, ::-1] if flip else KERNEL
    assert [strings[i] for i in data["kernel"]["values"]] == [fmt(v) for v in kernel.ravel()]


def test_padding_sources_are_the_engines_index_maps() -> None:
    setup = prepare(np.zeros((4, 4)), np.ones((3, 3)), padding=2, padding_mode="reflect")
    rows = page_data(setup, choose_view(setup), title="t", lines=[])["region"]["rows"]
    assert rows["labels"] == [-2, -1, 0, 1, 2, 3, 4, 5]
    assert rows["source"] == [2, 1, 0, 1, 2, 3, 2, 1]  # d c b | a b c d | c b (reflect)
    assert rows["pad"] == [1, 1, 0, 0, 0, 0, 1, 1]
    assert rows["sourceAt"] == [4, 3, 2, 3, 4, 5, 4, 3]  # the copied cell, in page rows
    zeros = prepare(np.zeros((2, 2)), np.ones((3, 3)), padding=1, padding_mode="zeros")
    cols = page_data(zeros, choose_view(zeros), title="t", lines=[])["region"]["cols"]
    assert cols["source"] == [-1, 0, 1, -1]
    assert cols["sourceAt"] == [-1, 1, 2, -1]


def test_a_large_output_is_cropped_around_at_and_says_so() -> None:
    setup = prepare(np.zeros((300, 500)), np.ones((3, 3)))
    view = choose_view(setup, at=(150, 499))
    assert (view.rows, view.cols) == (range(118, 182), range(436, 500))
    assert (view.region_rows, view.region_cols) == (range(118, 184), range(436, 502))
    view = choose_view(setup)
    assert (view.rows, view.cols) == (range(118, 182), range(218, 282))
    text = page_data(setup, view, title="t", lines=[])["view"]
    assert text == (
        "showing a crop: output rows 118..181, cols 218..281 (64×64 of the 300×500 output), "
        "and the 66×66 padded input under them (input rows 117..182, cols 217..282); "
        "--at ROW,COL centres the crop elsewhere"
    )


def test_large_kernels_and_strides_get_a_smaller_crop() -> None:
    view = choose_view(prepare(np.zeros((200, 200)), np.ones((13, 13))))
    assert view.hw == (24, 24)  # 24² positions × 169 taps stay within the products budget
    view = choose_view(prepare(np.zeros((900, 900)), np.ones((3, 3)), stride=4))
    assert view.hw == (48, 48)
    assert len(view.region_rows) <= MAX_REGION


def test_too_large_kernels_and_windows_are_refused() -> None:
    with pytest.raises(GeometryError) as info:
        choose_view(prepare(np.zeros((40, 40)), np.ones((33, 33)), kernel_name="box_33x33"))
    assert str(info.value) == (
        f"--html lays out every product of the kernel; box_33x33 is 33×33 = 1089 taps, "
        f"more than {MAX_KERNEL_TAPS}: use --at ROW,COL without --html"
    )
    with pytest.raises(GeometryError) as info:
        choose_view(prepare(np.zeros((500, 500)), np.ones((3, 3)), dilation=100))
    assert str(info.value) == (
        "--html shows the padded input under each window; one window spans 201×201 cells, "
        "more than 192 a side: use a smaller kernel or dilation"
    )


def test_page_is_self_contained_and_small(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    setup = prepare(rng.uniform(0, 255, (200, 200)), rng.normal(size=(3, 3)))
    info = write_page(tmp_path / "p.html", setup, at=(5, 5))
    assert info.view.hw == (64, 64)
    html = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert info.size == len(html.encode()) < 1_000_000
    assert not re.search(r"https?:|<link|<script[^>]*\bsrc=|@import|url\(", html)
    assert re.findall(r"<img|src=\"(?!data:)", html) == []
    assert list(tmp_path.iterdir()) == [tmp_path / "p.html"]


def test_the_data_cannot_close_its_script_element() -> None:
    setup = prepare(np.ones((3, 3)), np.ones((1, 1)))
    title = "</script><script>alert(1)</script> & <!--"
    html = render_page(page_data(setup, choose_view(setup), title=title, lines=[title]))
    assert html.count("</script>") == 2
    payload = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    assert payload is not None
    assert json.loads(payload.group(1))["title"] == title


def test_an_unwritable_page_leaves_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    setup = prepare(np.ones((3, 3)), np.ones((1, 1)))
    with pytest.raises(OutputError) as info:
        write_page(blocker / "p.html", setup)
    assert (
        str(info.value) == f"{blocker / 'p.html'}: cannot write: {blocker} is a file, not a folder"
    )
    assert list(tmp_path.iterdir()) == [blocker]


def test_at_outside_the_output_is_refused_before_writing(tmp_path: Path) -> None:
    setup = prepare(np.ones((3, 3)), np.ones((1, 1)))
    with pytest.raises(GeometryError, match="position 3,0 is outside the output 3×3"):
        write_page(tmp_path / "p.html", setup, at=(3, 0))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("mode", "picture"),
    [  # the pictures of the README's padding-mode table
        ("zeros", "0 0 0 | a b c d"),
        ("reflect", "d c b | a b c d"),
        ("symmetric", "c b a | a b c d"),
        ("replicate", "a a a | a b c d"),
        ("circular", "b c d | a b c d"),
    ],
)
def test_the_legend_draws_the_padding_mode(mode: str, picture: str) -> None:
    setup = prepare(np.ones((2, 2)), np.ones((1, 1)), padding_mode=mode)
    assert mode_picture(setup) == picture
    legend = page_data(setup, choose_view(setup), title="t", lines=[])["region"]["legend"]
    assert f", like {picture})" in legend
