"""The emitted programs, run in a fresh namespace, give convcli's raw feature maps.

NumPy and SciPy always; OpenCV and PyTorch where installed (``pip install torch==2.13.0``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcli.choices import EMIT_LIBRARIES
from convcli.emit import emit_program, libraries
from convcli.errors import GeometryError
from convcli.kernels import Kernel, parse_kernel_spec
from convcli.pipeline import ConvOptions, build_plan
from convcli.pipeline.filtering import apply_plan

ANCHORED = Kernel("corner", np.array([[1.0, 2.0], [3.0, 5.0]]), anchor=(1, 1), offset=0.5)

# (specs, ConvOptions keywords, build_plan keywords)
CASES: list[tuple[list[Any], dict[str, Any], dict[str, Any]]] = [
    (["sobel_x"], {}, {}),
    (["sobel_x"], {"flip": True, "padding_mode": "zeros"}, {}),
    (["2"], {"flip": True, "stride": (1, 2), "dilation": 3}, {}),
    (["sobel"], {"stride": 2}, {}),
    (["sobel"], {"stride": (2, 3), "padding_mode": "symmetric"}, {}),
    (["prewitt_x", "prewitt_y"], {"padding_mode": "replicate"}, {}),
    (["kirsch"], {"padding_mode": "circular"}, {}),
    (["roberts"], {"stride": 2}, {}),
    (["roberts_x"], {"flip": True, "padding_mode": "symmetric"}, {}),
    ([ANCHORED], {"stride": 2, "dilation": 2}, {}),
    ([ANCHORED], {"flip": True, "padding_mode": "replicate"}, {}),
    (["1 2; 3 4"], {}, {}),
    (["1 2; 3 4"], {"stride": 2, "padding_mode": "circular"}, {}),
    (["box:4"], {"dilation": (2, 1), "padding_mode": "reflect"}, {}),
    (["gaussian:sigma=1"], {"dilation": 2, "stride": 2, "padding_mode": "symmetric"}, {}),
    (["laplacian_8"], {"padding": "valid"}, {}),
    (["laplacian_8"], {"padding": "full", "padding_mode": "reflect"}, {}),
    (["sharpen"], {"padding": ((0, 2), (3, 1)), "padding_mode": "replicate"}, {}),
    (["sharpen"], {"padding": 2, "padding_mode": "zeros", "cval": 7.5}, {}),
    (["sharpen"], {"padding": 12, "padding_mode": "reflect"}, {}),
    (["motion_blur"], {"padding_mode": "circular", "stride": 3}, {}),
    (["sobel_x", "box:3"], {"padding_mode": "zeros"}, {"chain": True}),
    (["sobel_x", "sobel_y"], {}, {"combine": "max"}),
    (["scharr"], {"padding_mode": "symmetric"}, {"combine": "abs-sum"}),
    (["emboss", "outline"], {"stride": 2, "padding_mode": "zeros"}, {"combine": "stack"}),
]
LIBRARIES = ["numpy", "scipy", "opencv", "torch"]


def test_emit_names_are_the_libraries_programs_are_written_for() -> None:
    # `--emit`'s choices live in convcli.choices, so `apply` builds them without convcli.emit
    assert EMIT_LIBRARIES == tuple(libraries.LIBRARIES) == tuple(LIBRARIES)


def _spec(spec: Any) -> Any:
    return parse_kernel_spec(spec) if isinstance(spec, str) else spec


def _maps(result: Any) -> list[np.ndarray]:
    return [np.asarray(m) for m in (result if isinstance(result, tuple) else (result,))]


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize(("specs", "options", "plan_kw"), CASES)
@pytest.mark.parametrize("shape", [(9, 11, 2), (8, 10)])
def test_emitted_program_gives_convcli_raw_map(
    library: str,
    specs: list[Any],
    options: dict[str, Any],
    plan_kw: dict[str, Any],
    shape: tuple[int, ...],
) -> None:
    if library in ("opencv", "torch"):
        pytest.importorskip("cv2" if library == "opencv" else "torch")
    plan = build_plan([_spec(s) for s in specs], **plan_kw)
    conv = ConvOptions(**options)
    x = np.random.default_rng(7).uniform(0, 255, shape).astype(np.float32)
    program = emit_program(plan, conv, (shape[0], shape[1]), library, command="c", source="x.png")
    namespace: dict[str, Any] = {"__name__": "emitted"}
    exec(compile(program, "emitted", "exec"), namespace)
    got = _maps(namespace["feature_map"](x.copy()))
    want = [m.values for m in apply_plan(x, plan, conv)]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-3 * max(1.0, float(np.abs(w).max())))


MODES = ["zeros", "reflect", "symmetric", "replicate", "circular"]
pads = st.one_of(
    st.sampled_from(["same", "valid", "full"]),
    st.integers(0, 4),
    st.tuples(st.tuples(st.integers(0, 6), st.integers(0, 2)),
              st.tuples(st.integers(0, 2), st.integers(0, 6))),
)  # fmt: skip


@st.composite
def requests(draw: st.DrawFn) -> tuple[Kernel, ConvOptions, np.ndarray]:
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**16))
    anchor = draw(st.one_of(st.none(), st.tuples(st.integers(0, kh - 1), st.integers(0, kw - 1))))
    weights = np.random.default_rng(seed).normal(size=(kh, kw))
    kernel = Kernel("k", weights, anchor=anchor, offset=draw(st.sampled_from([0.0, 1.5])))
    options = ConvOptions(
        stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        padding=draw(pads),
        padding_mode=draw(st.sampled_from(MODES)),
        cval=draw(st.sampled_from([0.0, 2.0])),
        dilation=(draw(st.integers(1, 3)), draw(st.integers(1, 2))),
        flip=draw(st.booleans()),
    )
    shape = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    x = np.random.default_rng(seed + 1).uniform(0, 9, shape).astype(np.float32)
    return kernel, options, x


@pytest.mark.parametrize("library", LIBRARIES)
@settings(max_examples=60)
@given(request=requests())
def test_any_single_kernel_request(library: str, request: Any) -> None:
    if library in ("opencv", "torch"):
        pytest.importorskip("cv2" if library == "opencv" else "torch")
    kernel, options, x = request
    plan = build_plan([kernel])
    try:
        [want] = apply_plan(x, plan, options)
    except GeometryError:
        return  # the kernel does not fit: convcli refuses, and so does --emit
    program = emit_program(plan, options, x.shape, library, command="c", source="x.png")
    namespace: dict[str, Any] = {"__name__": "emitted"}
    exec(compile(program, "emitted", "exec"), namespace)
    got = namespace["feature_map"](x)
    assert got.shape == want.values.shape
    np.testing.assert_allclose(got, want.values, rtol=1e-4, atol=1e-3)
