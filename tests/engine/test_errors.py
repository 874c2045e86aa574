"""Every bad input gives a ConvcliError subclass with a clear one-line message."""

from __future__ import annotations

import re

import numpy as np
import pytest

from convcli.engine import METHODS, conv1d, conv2d, convolve_rows, tile_quantum
from convcli.errors import ConvcliError, EngineError, GeometryError
from convcli.geometry import resolve_geometry

IMG = np.ones((5, 5), np.float32)
K3 = np.ones((3, 3))


@pytest.mark.parametrize(
    ("image", "kernel", "kwargs", "error", "message"),
    [
        (
            IMG,
            np.ones((7, 7)),
            {},
            GeometryError,
            "kernel (dilated 7×7) is larger than the padded input 5×5: "
            "out_h = floor((5 + 0 + 0 - 1·(7-1) - 1) / 1) + 1 = -1",
        ),
        (
            IMG,
            K3,
            {"dilation": 3},
            GeometryError,
            "kernel (dilated 7×7) is larger than the padded input 5×5: "
            "out_h = floor((5 + 0 + 0 - 3·(3-1) - 1) / 1) + 1 = -1",
        ),
        (IMG, K3, {"stride": 0}, GeometryError, "stride must be >= 1; got 0"),
        (IMG, K3, {"stride": (1, -2)}, GeometryError, "stride must be >= 1; got (1, -2)"),
        (IMG, K3, {"dilation": 0}, GeometryError, "dilation must be >= 1; got 0"),
        (
            IMG,
            K3,
            {"stride": 1.5},
            GeometryError,
            "stride must be an int or a pair of ints; got 1.5",
        ),
        (IMG, K3, {"padding": -1}, GeometryError, "padding must not be negative; got -1"),
        (
            IMG,
            K3,
            {"padding": ((0, 1), (-1, 0))},
            GeometryError,
            "padding must not be negative; got ((0, 1), (-1, 0))",
        ),
        (
            IMG,
            K3,
            {"padding": "sam"},
            GeometryError,
            "unknown padding 'sam'; expected an int or one of: valid, same, full "
            "(did you mean 'same'?)",
        ),
        (
            IMG,
            K3,
            {"padding_mode": "mirror"},
            GeometryError,
            "unknown padding mode 'mirror'; expected one of: zeros, reflect, symmetric, "
            "replicate, circular, constant, edge, wrap",
        ),
        (
            IMG,
            np.array([[1.0, np.nan]]),
            {},
            EngineError,
            "kernel has NaN or infinite values; expected finite numbers",
        ),
        (
            IMG,
            np.array([[1.0, np.inf]]),
            {},
            EngineError,
            "kernel has NaN or infinite values; expected finite numbers",
        ),
        (np.ones((0, 4)), K3, {}, EngineError, "image is empty (shape (0, 4))"),
        (IMG, np.ones((0, 3)), {}, EngineError, "kernel is empty (shape (0, 3))"),
        (
            np.ones(5),
            K3,
            {},
            EngineError,
            "image must be 2-D (H, W) or 3-D (H, W, C); got 1-D shape (5,)",
        ),
        (
            np.ones((2, 2, 2, 2)),
            K3,
            {},
            EngineError,
            "image must be 2-D (H, W) or 3-D (H, W, C); got 4-D shape (2, 2, 2, 2)",
        ),
        (IMG, np.ones(3), {}, EngineError, "kernel must be 2-D; got 1-D shape (3,)"),
        (
            np.array([["a", "b"]]),
            K3,
            {},
            EngineError,
            "image dtype must be bool, integer or float; got <U1",
        ),
        (
            IMG.astype(complex),
            K3,
            {},
            EngineError,
            "image dtype must be bool, integer or float; got complex128",
        ),
        (
            IMG,
            K3.astype(complex),
            {},
            EngineError,
            "kernel dtype must be bool, integer or float; got complex128",
        ),
        (
            IMG,
            K3,
            {"method": "winograd"},
            EngineError,
            f"unknown method 'winograd'; expected one of: {', '.join(METHODS)}",
        ),
        (
            IMG,
            K3,
            {"dtype": "int32"},
            EngineError,
            "dtype must be a float type (float16, float32, float64); got 'int32'",
        ),
        (IMG, K3, {"threads": 0}, EngineError, "threads must be None or an int >= 1; got 0"),
    ],
)
def test_conv2d_errors(image, kernel, kwargs, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$") as info:
        conv2d(image, kernel, **kwargs)
    assert isinstance(info.value, ConvcliError)
    assert "\n" not in str(info.value)


def test_ragged_image_is_an_engine_error():
    with pytest.raises(EngineError, match=r"^image is not a rectangular numeric array"):
        conv2d([[1, 2], [3]], K3)


@pytest.mark.parametrize(
    ("signal", "kernel", "kwargs", "message"),
    [
        (np.ones((2, 2)), [1.0], {}, "signal must be 1-D; got 2-D shape (2, 2)"),
        ([], [1.0], {}, "signal is empty (shape (0,))"),
        ([1.0, 2.0], np.ones((2, 2)), {}, "kernel must be 1-D; got 2-D shape (2, 2)"),
        ([1.0, 2.0], [1.0], {"stride": (1, 2)}, "stride must be an int for conv1d; got (1, 2)"),
        (
            [1.0, 2.0],
            [1.0],
            {"padding": 1.5},
            "padding must be an int, (before, after) or one of valid, same, full; got 1.5",
        ),
    ],
)
def test_conv1d_errors(signal, kernel, kwargs, message):
    with pytest.raises(ConvcliError, match=f"^{re.escape(message)}$"):
        conv1d(signal, kernel, **kwargs)


def test_conv1d_kernel_too_long_names_the_formula():
    with pytest.raises(
        GeometryError, match=r"out_w = floor\(\(3 \+ 0 \+ 0 - 1·\(5-1\) - 1\) / 1\) \+ 1 = -1"
    ):
        conv1d([1.0, 2.0, 3.0], np.ones(5))


G5 = resolve_geometry((5, 5), (3, 3), padding="same")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: convolve_rows(IMG, K3, G5, (2, 6)),
            "out_rows must be (start, stop) with 0 <= start <= stop <= 5; got (2, 6)",
        ),
        (
            lambda: convolve_rows(IMG, K3, G5, (3, 2)),
            "out_rows must be (start, stop) with 0 <= start <= stop <= 5; got (3, 2)",
        ),
        (
            lambda: convolve_rows(IMG, K3, G5, (0.0, 2)),
            "out_rows must be (start, stop) with 0 <= start <= stop <= 5; got (0.0, 2)",
        ),
        (
            lambda: convolve_rows(np.ones((6, 5)), K3, G5, (0, 1)),
            "geometry (input 5x5, kernel 3x3) was not resolved for image 6x5 and kernel 3x3",
        ),
        (
            lambda: convolve_rows(IMG, np.ones((3, 2)), G5, (0, 1)),
            "geometry (input 5x5, kernel 3x3) was not resolved for image 5x5 and kernel 3x2",
        ),
        (
            lambda: convolve_rows(IMG, K3, "same", (0, 1)),
            "geometry must be a convcli.geometry.Geometry; got str",
        ),
        (
            lambda: convolve_rows(IMG, K3, G5, (0, 1), method="winograd"),
            f"unknown method 'winograd'; expected one of: {', '.join(METHODS)}",
        ),
        (lambda: tile_quantum(K3, G5, channels=0), "channels must be an int >= 1; got 0"),
        (
            lambda: tile_quantum(np.ones((2, 2)), G5),
            "geometry (input 5x5, kernel 3x3) was not resolved for image 5x5 and kernel 2x2",
        ),
        (
            lambda: tile_quantum(K3, G5, dtype="int8"),
            "dtype must be a float type (float16, float32, float64); got 'int8'",
        ),
    ],
)
def test_strip_errors(call, message):
    with pytest.raises(EngineError, match=f"^{re.escape(message)}$"):
        call()
