"""The ``--kernel`` spec parser: a table of good specs, a table of bad ones and their errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convcli.errors import ConvcliError, KernelError
from convcli.kernels import Kernel, KernelBank, parse_kernel_spec

GOOD = [
    ("sobel_x", "sobel_x", [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    ("  sobel_x  ", "sobel_x", [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    ("Sobel_X", "sobel_x", [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    ("identity", "identity", [[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    ("box:2", "box:size=2", [[0.25, 0.25], [0.25, 0.25]]),
    ("box:size=1", "box:size=1", [[1]]),
    ("laplacian:4", "laplacian:neighbours=4", [[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    ("laplacian:neighbours=8", "laplacian:neighbours=8", [[1, 1, 1], [1, -8, 1], [1, 1, 1]]),
    ("0 -1 0; -1 5 -1; 0 -1 0", "inline", [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    ("1,0,-1;2,0,-2;1,0,-1", "inline", [[1, 0, -1], [2, 0, -2], [1, 0, -1]]),
    ("1, 2 ,3 ; 4 ,5, 6;", "inline", [[1, 2, 3], [4, 5, 6]]),
    ("1 2\n3 4", "inline", [[1, 2], [3, 4]]),
    ("-1 0 1", "inline", [[-1, 0, 1]]),
    ("-1,0,1", "inline", [[-1, 0, 1]]),
    ("=-1,0,1", "inline", [[-1, 0, 1]]),
    ("-1; 0; 1", "inline", [[-1], [0], [1]]),
    ("+.5 -.5 1e-1", "inline", [[0.5, -0.5, 0.1]]),
    ("7", "inline", [[7]]),
    ("[[1, 0], [0, -1]]", "inline", [[1, 0], [0, -1]]),
    ("[1, 2.5, -3]", "inline", [[1, 2.5, -3]]),
    ("[[1e2]]", "inline", [[100]]),
]

BAD = [
    ("", "the kernel spec is empty; expected a name, NAME:ARGS, a matrix or a file"),
    ("   ", "the kernel spec is empty; expected a name, NAME:ARGS, a matrix or a file"),
    ("=", "the kernel spec is empty; expected a name, NAME:ARGS, a matrix or a file"),
    ("sobelx", "unknown kernel 'sobelx'; did you mean sobel_x, sobel, sobel_y? "
               "(`convcli kernels` lists them all)"),
    ("gausian:sigma=2", "unknown kernel 'gausian'; did you mean gaussian? "
                        "(`convcli kernels` lists them all)"),
    ("zzzzqq", "unknown kernel 'zzzzqq' (`convcli kernels` lists them all)"),
    ("sharpen:2", "kernel 'sharpen' takes no parameters (got 'sharpen:2'); parametric kernels: "
                  "box, disk, dog, gaussian, laplacian, log, motion, sobel_x, sobel_y, unsharp"),
    ("gaussian", "gaussian: missing parameter 'sigma'; usage: gaussian:sigma=S[,size=N]"),
    ("gaussian:", "gaussian: missing parameter 'sigma'; usage: gaussian:sigma=S[,size=N]"),
    ("gaussian:sgma=2", "gaussian: unknown parameter 'sgma'; valid parameters: sigma, size "
                        "(usage: gaussian:sigma=S[,size=N])"),
    ("gaussian:sigma=abc", "gaussian: sigma='abc' is not a number; expected a number >= 0.01"),
    ("gaussian:sigma=0", "gaussian: sigma=0 is out of range; expected a number >= 0.01"),
    ("gaussian:sigma=-1", "gaussian: sigma=-1 is out of range; expected a number >= 0.01"),
    ("gaussian:sigma=inf", "gaussian: sigma=inf is not valid; expected a number >= 0.01"),
    ("gaussian:sigma=nan", "gaussian: sigma=nan is not valid; expected a number >= 0.01"),
    ("log:0.001", "log: sigma=0.001 is out of range; expected a number >= 0.01"),
    ("dog:1,sigma2=0", "dog: sigma2=0 is out of range; expected a number >= 0.01"),
    ("gaussian:sigma=1,size=4",
     "gaussian: size=4 is out of range; expected an odd whole number >= 1"),
    ("gaussian:sigma=1,size=2.5",
     "gaussian: size=2.5 is not valid; expected an odd whole number >= 1"),
    ("gaussian:2,sigma=3",
     "gaussian: parameter 'sigma' is given twice; usage: gaussian:sigma=S[,size=N]"),
    ("gaussian:sigma=2,3",
     "gaussian: unexpected value '3' at position 2; usage: gaussian:sigma=S[,size=N]"),
    ("gaussian:1,2,3",
     "gaussian: unexpected value '3' at position 3; usage: gaussian:sigma=S[,size=N]"),
    ("gaussian:sigma=500",
     "gaussian: kernel side 3001 is larger than the limit 1025; expected a smaller size or sigma"),
    ("box", "box: missing parameter 'size'; usage: box:N"),
    ("box:0", "box: size=0 is out of range; expected a whole number >= 1"),
    ("box:3,", "box: value 2 is empty; usage: box:N"),
    ("laplacian:6", "laplacian: neighbours=6 is out of range; expected one of 4, 8"),
    ("sobel_x:size=4", "sobel_x: size=4 is out of range; expected one of 3, 5, 7"),
    ("dog:1,1", "dog: sigma1 and sigma2 are both 1; expected two different values"),
    ("dog:sigma1=1", "dog: missing parameter 'sigma2'; usage: dog:sigma1=A,sigma2=B[,size=N]"),
    ("motion:0", "motion: length=0 is out of range; expected a whole number >= 1"),
    ("motion:9,angle=x", "motion: angle='x' is not a number; expected a number"),
    ("disk:0", "disk: radius=0 is out of range; expected a number > 0"),
    ("unsharp:amount=-1", "unsharp: amount=-1 is out of range; expected a number >= 0"),
    ("1 2; 3", "inline kernel '1 2; 3': row 2 has 1 value; expected 2"),
    ("1 2;; 3 4", "inline kernel '1 2;; 3 4': row 2 is empty; "
                  "expected numbers separated by spaces or commas, rows by ';'"),
    ("1 x 3", "inline kernel '1 x 3': row 1, value 2 is 'x'; expected a number"),
    ("1 nan", "inline kernel '1 nan': row 1, value 2 is nan; expected a finite number"),
    ("1 inf; 2 3", "inline kernel '1 inf; 2 3': row 1, value 2 is inf; expected a finite number"),
    ("[[1,2],[3]]", "inline kernel '[[1,2],[3]]': row 2 has 1 value; expected 2"),
    ("[]", "inline kernel '[]' is []; expected a non-empty list of rows of numbers"),
    ("[[]]", "inline kernel '[[]]': the matrix is empty; expected at least one value"),
    ("[1, true]", "inline kernel '[1, true]': row 1, value 2 is True; expected a number"),
    ("[[1,2]", "inline kernel '[[1,2]': not valid JSON (Expecting ',' delimiter at column 7); "
               "expected [[1, 2], [3, 4]]"),
    ('["a"]', "inline kernel '[\"a\"]': row 1, value 1 is \"a\"; expected a number"),
    ("[[1,[2]]]", "inline kernel '[[1,[2]]]': row 1, value 2 is [2]; expected a number"),
    ("[1e999]", "inline kernel '[1e999]': row 1, value 1 is inf; expected a finite number"),
    ("missing.toml", "missing.toml: kernel file not found"),
    ("nofile.npy", "nofile.npy: kernel file not found"),
    ("dir/kernel.png",
     "dir/kernel.png: unsupported kernel file type '.png'; "
     "expected .toml, .txt, .csv, .npy, .mat"),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "name", "weights"), GOOD)
def test_good_specs(spec: str, name: str, weights: list[list[float]]) -> None:
    kernel = parse_kernel_spec(spec)
    assert isinstance(kernel, Kernel)
    assert kernel.name == name
    np.testing.assert_allclose(kernel.weights, weights)


@pytest.mark.parametrize(("spec", "message"), BAD)
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(KernelError) as info:
        parse_kernel_spec(spec)
    assert str(info.value) == message
    assert isinstance(info.value, ConvcliError)
    assert isinstance(info.value, ValueError)


def test_unknown_name_that_is_a_file_without_suffix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mykernel").write_text("1 2 3")
    with pytest.raises(KernelError, match="'mykernel' exists but is not a kernel file"):
        parse_kernel_spec("mykernel")


def test_long_inline_specs_are_shortened_in_messages() -> None:
    spec = "1 " * 30 + "x"
    with pytest.raises(KernelError) as info:
        parse_kernel_spec(spec)
    assert str(info.value).startswith("inline kernel '1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1...'")
    assert str(info.value).endswith("row 1, value 31 is 'x'; expected a number")


def test_inline_kernels_guess_their_kind() -> None:
    kinds = {spec: parse_kernel_spec(spec).kind for spec in
             ("1 1 1", "-1 0 1", "0 -1 0; -1 5 -1; 0 -1 0", "1 -3 1")}  # fmt: skip
    assert kinds == {"1 1 1": "smoothing", "-1 0 1": "edge",
                     "0 -1 0; -1 5 -1; 0 -1 0": "sharpen", "1 -3 1": "other"}  # fmt: skip


def test_names_win_over_parametric_families_without_arguments() -> None:
    assert parse_kernel_spec("unsharp").source == "kernels/unsharp.toml"
    assert parse_kernel_spec("unsharp:sigma=1").source == "parametric"
    assert parse_kernel_spec("sobel").kind == "bank"
    assert isinstance(parse_kernel_spec("kirsch"), KernelBank)


def test_parsing_returns_the_same_library_object() -> None:
    assert parse_kernel_spec("sobel_x") is parse_kernel_spec("sobel_x")


def test_kernel_constructor_validates() -> None:
    with pytest.raises(KernelError, match=r"x: kind 'blur' is not one of smoothing, edge"):
        Kernel(name="x", weights=np.ones((3, 3)), kind="blur")  # type: ignore[arg-type]
    with pytest.raises(KernelError, match=r"x: anchor \[2, 0\] lies outside the 2×2 kernel"):
        Kernel(name="x", weights=np.ones((2, 2)), anchor=(2, 0))
    with pytest.raises(
        KernelError, match=r"x: array has 3 dimensions \(1, 1, 1\); expected 1 or 2"
    ):
        Kernel(name="x", weights=np.ones((1, 1, 1)))
    with pytest.raises(KernelError, match=r"x: row 1, value 2 is nan; expected a finite number"):
        Kernel(name="x", weights=np.array([[1.0, np.nan]]))


def test_kernel_copies_and_freezes_its_weights() -> None:
    source = np.ones((3, 3))
    kernel = Kernel(name="x", weights=source)
    source[0, 0] = 5
    assert kernel.weights[0, 0] == 1
    assert not kernel.weights.flags.writeable
    assert kernel == Kernel(name="x", weights=np.ones((3, 3)))
    assert kernel != Kernel(name="x", weights=np.full((3, 3), 2.0))
    assert len({kernel, Kernel(name="x", weights=np.ones((3, 3)))}) == 1


@pytest.mark.parametrize(
    "spec",
    ["sobel_x", "gaussian_blur_5x5", "box:4", "1 2 3; 2 4 6", "-1; 2; -1", "gaussian:1.2",
     "sobel_y:7", "prewitt_x"],
)  # fmt: skip
def test_separable_factors_rebuild_the_kernel(spec: str) -> None:
    kernel = parse_kernel_spec(spec)
    assert isinstance(kernel, Kernel)
    assert kernel.rank == 1
    factors = kernel.separable_factors()
    assert factors is not None
    np.testing.assert_allclose(np.outer(*factors), kernel.weights, atol=1e-12)


def test_separable_factors_read_well() -> None:
    def factors(spec: str) -> list[list[float]]:
        kernel = parse_kernel_spec(spec)
        assert isinstance(kernel, Kernel)
        pair = kernel.separable_factors()
        assert pair is not None
        return [pair[0].tolist(), pair[1].tolist()]

    assert factors("sobel_x") == [[1, 2, 1], [-1, 0, 1]]
    assert factors("sobel_y") == [[-1, 0, 1], [1, 2, 1]]
    assert factors("scharr_x") == [[3, 10, 3], [-1, 0, 1]]
    assert factors("scharr_y") == [[-1, 0, 1], [3, 10, 3]]
    assert factors("1 2 3; 2 4 6") == [[1, 2], [1, 2, 3]]
    assert factors("-1 -2; -2 -4") == [[1, 2], [-1, -2]]
    np.testing.assert_allclose(factors("gaussian_blur_3x3"), [[0.25, 0.5, 0.25]] * 2)


@pytest.mark.parametrize("spec", ["sharpen", "emboss", "laplacian_4", "roberts_x", "0 0; 0 0"])
def test_non_separable_kernels_have_no_factors(spec: str) -> None:
    kernel = parse_kernel_spec(spec)
    assert isinstance(kernel, Kernel)
    assert kernel.rank != 1
    assert kernel.separable_factors() is None


def test_flipped_and_centered_anchor() -> None:
    roberts = parse_kernel_spec("roberts_x")
    assert isinstance(roberts, Kernel)
    flipped = roberts.flipped()
    assert flipped.name == "roberts_x (flipped)"
    assert flipped.anchor == (1, 1)
    assert flipped.flipped().weights.tolist() == roberts.weights.tolist()
    assert flipped.centered().weights.tolist() == [[1, 0, 0], [0, -1, 0], [0, 0, 0]]
    assert roberts.centered().center == (1, 1)
    assert parse_kernel_spec("1 2").centered().weights.tolist() == [[0, 1, 2]]  # type: ignore[union-attr]
