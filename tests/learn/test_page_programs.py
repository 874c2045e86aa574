"""The ``--emit`` programs on the ``explain --html`` page: what ``--emit`` prints, and right."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import convcli
from convcli.cli import cli
from convcli.emit import EMIT_LIBRARIES
from convcli.learn.inputs import load_input
from convcli.learn.page import choose_view, page_data, render_page
from convcli.learn.window import prepare

ROOT = Path(__file__).resolve().parents[2]
ASTRONAUT = str(ROOT / "sample_images" / "astronaut.png")
GRID = str(ROOT / "sample_images" / "grid.txt")


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, ["explain", *args])
    assert result.exit_code == 0, result.output
    return result.output


def page_payload(html: Path) -> dict[str, Any]:
    text = html.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


CASES = [
    # (input, -k, conv2d keywords of the same geometry, the rest of the command line)
    (ASTRONAUT, "sobel_x", {"padding": "same", "padding_mode": "reflect"}, []),
    (
        ASTRONAUT,
        "gaussian:sigma=1",
        {"padding": 2, "padding_mode": "circular", "stride": (2, 3), "dilation": 2, "flip": True},
        ["-p", "2", "-m", "circular", "-s", "2,3", "-d", "2", "--flip"],
    ),
    (
        GRID,
        "sobel_y",
        {"padding": 1, "padding_mode": "zeros", "cval": 3.0, "stride": 2},
        ["-p", "1", "-m", "zeros", "--cval", "3", "-s", "2"],
    ),
]


@pytest.mark.parametrize(("source", "spec", "geometry", "args"), CASES,
                         ids=["photo-same", "photo-circular-strided-dilated-flipped",
                              "grid-zeros-cval"])  # fmt: skip
def test_the_page_holds_what_emit_prints_and_numpy_reproduces_the_engine(
    source: str, spec: str, geometry: dict[str, Any], args: list[str], tmp_path: Path
) -> None:
    html = tmp_path / "page.html"
    run(source, "-k", spec, *args, "--html", str(html))
    data = page_payload(html)
    labels = [p["label"] for p in data["programs"]]
    assert labels == [
        "plain NumPy (--emit numpy)",
        "SciPy (--emit scipy)",
        "OpenCV (--emit opencv)",
        "PyTorch (--emit torch)",
    ]
    for library, program in zip(EMIT_LIBRARIES, data["programs"], strict=True):
        assert program["text"] == run(source, "-k", spec, *args, "--emit", library)

    namespace: dict[str, Any] = {"__name__": "emitted"}
    exec(compile(data["programs"][0]["text"], "emitted.py", "exec"), namespace)
    x = load_input(source).values  # as explain reads it: gray for images
    got = namespace["feature_map"](x)
    engine = convcli.conv2d(x, convcli.parse_kernel(spec), **geometry)
    assert got.dtype == np.float32
    assert got.shape == engine.shape
    np.testing.assert_allclose(got, engine, rtol=1e-5, atol=1e-4)
    # ... and the numbers the page shows (4 significant digits) are that map's, at its crop
    out = data["output"]
    shown = np.array([float(data["strings"][i]) for i in data["engine"]])
    crop = got[out["rows"][0] : out["rows"][-1] + 1, out["cols"][0] : out["cols"][-1] + 1]
    assert crop.size == shown.size > 1
    np.testing.assert_allclose(shown, crop.ravel(), rtol=5.01e-4, atol=1e-3)


def test_programs_are_data_never_markup() -> None:
    setup = prepare(np.ones((3, 3)), np.ones((1, 1)))
    nasty = "x = '</script><script>alert(1)</script>' # <!-- & </pre>"
    html = render_page(
        page_data(setup, choose_view(setup), title="t", lines=[], programs=[("A <b>", nasty)])
    )
    assert html.count("</script>") == 2
    assert "<b>" not in html.split('id="data">', 1)[1]
    payload = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    assert payload is not None
    assert json.loads(payload.group(1))["programs"] == [{"label": "A <b>", "text": nasty}]


def test_a_page_without_programs_has_none() -> None:
    setup = prepare(np.ones((3, 3)), np.ones((1, 1)))
    assert page_data(setup, choose_view(setup), title="t", lines=[])["programs"] == []
