"""Kernel files: .toml (kernels and banks), .txt/.csv, .npy and libvips .mat."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convcli.errors import KernelError
from convcli.kernels import Kernel, KernelBank, load_kernel_file, parse_kernel_spec

SHARPEN = [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _kernel(spec: str) -> Kernel:
    kernel = parse_kernel_spec(spec)
    assert isinstance(kernel, Kernel)
    return kernel


GOOD_FILES = [
    ("k.txt", "0 -1 0\n-1 5 -1\n0 -1 0\n", SHARPEN),
    ("k.txt", "# sharpen\n\n0 -1 0   # top\n-1 5 -1\n\n0 -1 0\n", SHARPEN),
    ("k.csv", "0,-1,0\n-1,5,-1\n0,-1,0\n", SHARPEN),
    ("k.csv", "0, -1, 0\r\n-1, 5, -1\r\n0, -1, 0\r\n", SHARPEN),
    ("K.TXT", "1 2 1", [[1, 2, 1]]),
    ("k.mat", "3 3\n0 -1 0\n-1 5 -1\n0 -1 0\n", SHARPEN),
    ("k.mat", "3 1 4\n1 2 1\n", [[0.25, 0.5, 0.25]]),
    ("k.mat", "2 2 -2 128\n2 0\n0 -2\n", [[-1, 0], [0, 1]]),
    ("k.toml", 'weights = [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]\n', SHARPEN),
    ("k.toml", 'weights = [[1, 2, 1]]\nnormalize = true\n', [[0.25, 0.5, 0.25]]),
    ("k.toml", 'weights = [[1, 1], [1, 1]]\nscale = 4\nanchor = [0, 0]\n', [[0.25] * 2] * 2),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "weights"), GOOD_FILES)
def test_good_files(tmp_path: Path, name: str, text: str, weights: list[list[float]]) -> None:
    kernel = _kernel(_write(tmp_path, name, text))
    np.testing.assert_allclose(kernel.weights, weights)
    assert kernel.name == Path(name).stem
    assert kernel.source == str(tmp_path / name)


def test_mat_offset_is_kept(tmp_path: Path) -> None:
    assert _kernel(_write(tmp_path, "e.mat", "2 2 -2 128\n2 0\n0 -2\n")).offset == 128.0


def test_npy_files(tmp_path: Path) -> None:
    np.save(tmp_path / "two.npy", np.array(SHARPEN, dtype=np.int16))
    np.save(tmp_path / "one.npy", np.array([1.0, 2.0, 1.0], dtype=np.float32))
    np.testing.assert_array_equal(_kernel(str(tmp_path / "two.npy")).weights, SHARPEN)
    assert _kernel(str(tmp_path / "one.npy")).weights.tolist() == [[1, 2, 1]]


def test_toml_with_every_field(tmp_path: Path) -> None:
    text = """
name = "mine"
description = "my kernel"
kind = "edge"
weights = [[-1, 0, 1]]
offset = 0.5
tags = ["a"]
"""
    kernel = _kernel(_write(tmp_path, "file.toml", text))
    assert (kernel.name, kernel.description, kind := kernel.kind) == ("mine", "my kernel", "edge")
    assert kernel.offset == 0.5
    assert kernel.tags == ("a",)
    assert kind == "edge"


def test_toml_bank_with_names_specs_and_tables(tmp_path: Path) -> None:
    text = """
description = "three ways"
combine = "stack"
kernels = [
  "sobel_x", "laplacian:8", "1 1 1; 1 1 1; 1 1 1",
  { weights = [[0, 0, 0], [0, 1, 0], [0, 0, 0]] },
]
"""
    bank = parse_kernel_spec(_write(tmp_path, "b.toml", text))
    assert isinstance(bank, KernelBank)
    assert bank.name == "b"
    assert bank.combine == "stack"
    assert [k.name for k in bank.kernels] == ["sobel_x", "laplacian:neighbours=8", "inline", "b_4"]


def test_relative_path_with_slash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "k.txt", "1 2 3")
    monkeypatch.chdir(tmp_path)
    assert _kernel("sub/k.txt").weights.tolist() == [[1, 2, 3]]
    assert _kernel("./sub/k.txt").weights.tolist() == [[1, 2, 3]]


BAD_FILES = [
    ("k.txt", "", "{path}: the matrix is empty; expected at least one value"),
    ("k.txt", "# only a comment\n", "{path}: the matrix is empty; expected at least one value"),
    ("k.txt", "1 2 3\n\n4 5\n", "{path}: line 3 has 2 values; expected 3 (as on line 1)"),
    ("k.csv", "1,2\n3,x\n", "{path}: line 2, value 2 is 'x'; expected a number"),
    ("k.csv", "1,2\n3,nan\n", "{path}: line 2, value 2 is nan; expected a finite number"),
    ("k.mat", "",
     "{path}: the file is empty; expected a header line 'width height [scale [offset]]'"),
    ("k.mat", "3\n1 2 3\n",
     "{path}: line 1 is '3'; expected the header 'width height [scale [offset]]'"),
    ("k.mat", "3 2\n1 2 3\n", "{path}: the header says 2 rows but 1 follow"),
    ("k.mat", "3 1\n1 2\n", "{path}: line 2 has 2 values; expected 3 (the header width)"),
    ("k.mat", "3 1 0\n1 2 3\n",
     "{path}: header scale is 0; expected a non-zero number (it divides the sum)"),
    ("k.mat", "2.5 1\n1 2\n",
     "{path}: header width and height are 2.5 1; expected whole numbers >= 1"),
    ("k.toml", "weights = [[1, 2", "{path}: not valid TOML: "),
    ("k.toml", "wieghts = [[1]]", "{path}: unknown field `wieghts`; did you mean `weights`? "
     "expected fields: name, description, kind, weights, normalize, scale, offset, anchor, "
     "tags, aliases"),
    ("k.toml", 'name = "k"',
     "{path}: `weights` is missing; expected a list of rows, or `kernels` for a bank"),
    ("k.toml", "weights = [[1, 2], [3]]", "{path}: `weights` row 2 has 1 value; expected 2"),
    ("k.toml", "weights = []",
     "{path}: `weights` is []; expected a non-empty list of rows of numbers"),
    ("k.toml", 'weights = [[1, "a"]]',
     '{path}: `weights` row 1, value 2 is "a"; expected a number'),
    ("k.toml", "weights = [[1, nan]]",
     "{path}: `weights` row 1, value 2 is nan; expected a finite number"),
    ("k.toml", "weights = [[-1, 0, 1]]\nnormalize = true",
     "{path}: `normalize` is true but the weights sum to 0; "
     "a zero-sum kernel cannot be normalized"),
    ("k.toml", "weights = [[1]]\nnormalize = 1",
     "{path}: `normalize` is 1; expected true or false"),
    ("k.toml", "weights = [[1]]\nscale = 0",
     "{path}: `scale` is 0; expected a non-zero number (the weights are divided by it)"),
    ("k.toml", "weights = [[1, -1]]", "{path}: the kernel is 1×2 with an even side but has no "
     "`anchor`; expected anchor = [row, col]"),
    ("k.toml", "weights = [[1, -1]]\nanchor = [0, 2]",
     "{path}: anchor [0, 2] lies outside the 1×2 kernel; expected 0 <= row < 1 and 0 <= col < 2"),
    ("k.toml", "weights = [[1]]\nanchor = 0", "{path}: `anchor` is 0; expected [row, col]"),
    ("k.toml", 'weights = [[1]]\nkind = "blurry"',
     "{path}: kind 'blurry' is not one of smoothing, edge, sharpen, other"),
    ("k.toml", "weights = [[1]]\ntags = \"a\"",
     "{path}: `tags` is 'a'; expected a list of strings"),
    ("k.toml", "weights = [[1]]\noffset = \"a\"",
     "{path}: `offset` is 'a'; expected a finite number"),
    ("k.toml", "weights = [[1]]\nname = 3", "{path}: `name` is 3; expected a string"),
    ("k.toml", 'kernels = ["sobel_x"]\ncombine = "mean"',
     "{path}: `combine` is 'mean'; expected one of stack, magnitude, max, min, sum, abs-sum"),
    ("k.toml", 'kernels = []\ncombine = "max"',
     "{path}: `kernels` is []; expected a non-empty list of names or tables"),
    ("k.toml", 'kernels = ["sobel"]\ncombine = "max"',
     "{path}: `kernels` entry 1 is 'sobel', a bank; expected a single kernel"),
    ("k.toml", 'kernels = [3]\ncombine = "max"',
     "{path}: `kernels` entry 1 is 3; expected a kernel name or a table with `weights`"),
    ("k.toml", 'kernels = ["sobel_x", "sobelx"]\ncombine = "max"',
     "bank member 'sobelx' is not a kernel of the library"),
    ("k.toml", 'kernels = ["sobel_x", "box:5"]\ncombine = "max"',
     "{path}: the kernels of a bank must have one shape; got sobel_x 3×3, box:size=5 5×5"),
    ("k.toml", 'kernels = [{ weights = [[1, 2]] }]\ncombine = "max"',
     "{path}: `kernels` entry 1: the kernel is 1×2 with an even side but has no `anchor`; "
     "expected anchor = [row, col]"),
    ("k.toml", 'kernels = ["sobel_x"]\nweights = [[1]]\ncombine = "max"',
     "{path}: unknown field `weights`; expected fields: name, description, kernels, combine, "
     "tags, aliases"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "message"), BAD_FILES)
def test_bad_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(KernelError) as info:
        parse_kernel_spec(path)
    expected = message.format(path=path)
    if expected.endswith(": "):
        assert str(info.value).startswith(expected)
    else:
        assert str(info.value) == expected


def test_bad_npy_files(tmp_path: Path) -> None:
    np.save(tmp_path / "cube.npy", np.ones((2, 2, 2)))
    np.save(tmp_path / "text.npy", np.array(["a"]))
    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.inf]]))
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    np.save(tmp_path / "objects.npy", np.array([{}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "header.npy", np.ones((3, 3)))
    header = (tmp_path / "header.npy").read_bytes()
    (tmp_path / "header.npy").write_bytes(header.replace(b"}", b" ", 1))  # an unclosed dict
    messages = {}
    for name in ("cube", "text", "empty", "nan", "junk", "objects", "header"):
        with pytest.raises(KernelError) as info:
            parse_kernel_spec(str(tmp_path / f"{name}.npy"))
        messages[name] = str(info.value).removeprefix(f"{tmp_path / name}.npy: ")
    assert messages["cube"] == "array has 3 dimensions (2, 2, 2); expected 1 or 2"
    assert messages["text"] == "array dtype is <U1; expected real numbers"
    assert messages["empty"] == "the matrix is empty (shape (0, 3)); expected at least one value"
    assert messages["nan"] == "row 1, value 2 is inf; expected a finite number"
    npy = "cannot read the kernel file as .npy: "
    assert (
        messages["junk"] == npy + "it has no NumPy header; expected a file written by numpy.save"
    )
    assert messages["objects"] == (
        npy + "it holds Python objects (dtype object); expected an array of numbers"
    )
    assert messages["header"] == npy + "its header is damaged"  # was a TokenError traceback


def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00bad")
    (tmp_path / "folder.txt").mkdir()
    with pytest.raises(KernelError) as info:
        parse_kernel_spec(str(tmp_path / "bin.txt"))
    assert (
        str(info.value) == f"{tmp_path / 'bin.txt'}: cannot read the kernel file: not UTF-8 text"
    )
    with pytest.raises(KernelError) as info:
        parse_kernel_spec(str(tmp_path / "folder.txt"))
    assert str(info.value) == f"{tmp_path / 'folder.txt'}: is a folder; expected a kernel file"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "none.mat"
    with pytest.raises(KernelError) as info:
        load_kernel_file(path)
    assert str(info.value) == f"{path}: kernel file not found"
