"""The inline divisor (`"1 2 1 | 4"`) and normalized kernels (`--normalize`)."""

from __future__ import annotations

import numpy as np
import pytest

from convcli.errors import KernelError
from convcli.kernels import parse_kernel_spec
from convcli.kernels.kernel import normalized


def test_inline_matrix_with_divisor() -> None:
    kernel = parse_kernel_spec("1 2 1; 2 4 2; 1 2 1 | 16")
    np.testing.assert_array_equal(kernel.weights, np.outer([1, 2, 1], [1, 2, 1]) / 16)
    assert kernel.sum == 1.0
    assert kernel.kind == "smoothing"
    json = parse_kernel_spec("[[1, -1], [3, 1]] |-0.5")
    np.testing.assert_array_equal(json.weights, [[-2, 2], [-6, -2]])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("1 2 1 | 0", "inline kernel '1 2 1 | 0': the divisor is 0; expected a non-zero number"),
        ("1 2 1 | x", "inline kernel '1 2 1 | x': the divisor is 'x'; expected a number"),
        ("sobel_x | 2", "`| DIVISOR` follows an inline matrix"),
        ("k.txt | 2", "`| DIVISOR` follows an inline matrix"),
        ("1 | 2 | 3", "`| DIVISOR` follows an inline matrix"),
        (" | 3", "`| DIVISOR` follows an inline matrix"),
    ],
)
def test_bad_divisors(spec: str, message: str) -> None:
    with pytest.raises(KernelError, match=message.replace("|", r"\|").replace("'", "'")):
        parse_kernel_spec(spec)


def test_normalized_divides_every_kernel_of_a_bank() -> None:
    box = parse_kernel_spec("2 2")
    assert normalized(box).weights.tolist() == [[0.5, 0.5]]
    with pytest.raises(KernelError, match="kernel 'sobel_x': the weights sum to 0"):
        normalized(parse_kernel_spec("sobel"))
    with pytest.raises(KernelError, match="inline kernel '1 -1': the weights sum to 0"):
        normalized(parse_kernel_spec("1 -1"))
