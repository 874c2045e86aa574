"""The kernels/ folder: every file loads, and the sign conventions hold on step images."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convcli import conv2d
from convcli.choices import COMBINE_MODES
from convcli.errors import KernelError
from convcli.kernels import (
    Kernel,
    KernelBank,
    kernel_dir,
    load_library,
    parse_kernel_spec,
)
from convcli.pipeline import combine_responses

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

KERNEL_FILES = sorted(kernel_dir().glob("*.toml"))
REQUIRED = """identity box_blur gaussian_blur_3x3 gaussian_blur_5x5 sharpen unsharp laplacian_4
    laplacian_8 sobel_x sobel_y scharr_x scharr_y prewitt_x prewitt_y roberts_x roberts_y emboss
    outline motion_blur kirsch_n kirsch_ne kirsch_e kirsch_se kirsch_s kirsch_sw kirsch_w
    kirsch_nw sobel scharr prewitt roberts kirsch""".split()


def _library_names() -> set[str]:
    return {entry.name for entry in load_library()}


def _kernel(spec: str) -> Kernel:
    kernel = parse_kernel_spec(spec)
    assert isinstance(kernel, Kernel)
    return kernel


def _respond(spec: str, image: np.ndarray) -> np.ndarray:
    """The valid-padding response of a kernel or bank (banks combined)."""
    entry = parse_kernel_spec(spec)
    kernels = entry.kernels if isinstance(entry, KernelBank) else (entry,)
    responses = [conv2d(image, k.weights, dtype=np.float64) for k in kernels]
    if isinstance(entry, KernelBank):
        return combine_responses(responses, entry.combine)
    return responses[0]


def _step(direction: str, size: int = 8) -> np.ndarray:
    """0 on one side, 1 on the other: brightness increases towards ``direction``."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) - (size - 1) / 2
    towards = {"right": x, "down": y, "left": -x, "up": -y, "down-right": x + y,
               "down-left": y - x, "up-right": x - y, "up-left": -x - y}[direction]  # fmt: skip
    return (towards > 0).astype(np.float64)


def test_kernel_dir_is_the_checkout_folder() -> None:
    assert kernel_dir() == Path(__file__).parents[2] / "kernels"
    assert (kernel_dir() / "README.md").is_file()


def test_library_has_every_required_name() -> None:
    assert set(REQUIRED) <= _library_names()


def test_library_is_sorted_and_one_entry_per_file() -> None:
    names = [entry.name for entry in load_library()]
    assert names == sorted(names)
    assert names == sorted(path.stem for path in KERNEL_FILES)


@pytest.mark.parametrize("path", KERNEL_FILES, ids=lambda p: p.stem)
def test_every_file_loads_named_like_its_file(path: Path) -> None:
    entry = parse_kernel_spec(path.stem)
    assert entry.name == path.stem
    assert entry.description.strip()
    assert entry.source == f"kernels/{path.name}"
    assert path.stem in _library_names()


@pytest.mark.parametrize("path", KERNEL_FILES, ids=lambda p: p.stem)
def test_every_file_says_where_it_comes_from(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# ")
    assert set(tomllib.loads(path.read_text(encoding="utf-8"))) >= {"name", "description"}


@pytest.mark.parametrize("path", KERNEL_FILES, ids=lambda p: p.stem)
def test_every_file_also_loads_as_a_user_file(path: Path) -> None:
    assert parse_kernel_spec(str(path)).name == path.stem


@pytest.mark.parametrize("path", KERNEL_FILES, ids=lambda p: p.stem)
def test_weights_are_read_only_float64(path: Path) -> None:
    entry = parse_kernel_spec(path.stem)
    for kernel in entry.kernels if isinstance(entry, KernelBank) else (entry,):
        assert kernel.weights.dtype == np.float64
        assert kernel.weights.ndim == 2
        with pytest.raises(ValueError, match="read-only"):
            kernel.weights[0, 0] = 1.0


@pytest.mark.parametrize(
    ("name", "total"),
    [("identity", 1), ("box_blur", 1), ("gaussian_blur_3x3", 1), ("gaussian_blur_5x5", 1),
     ("sharpen", 1), ("unsharp", 1), ("emboss", 1), ("motion_blur", 1), ("laplacian_4", 0),
     ("laplacian_8", 0), ("outline", 0), ("sobel_x", 0), ("scharr_y", 0), ("roberts_x", 0),
     ("kirsch_nw", 0)],
)  # fmt: skip
def test_sums(name: str, total: float) -> None:
    assert _kernel(name).sum == pytest.approx(total, abs=1e-12)


def test_scaled_files_hold_the_divided_weights() -> None:
    assert _kernel("gaussian_blur_3x3").weights[1, 1] == 4 / 16
    assert _kernel("unsharp").weights[2, 2] == pytest.approx(476 / 256)
    assert _kernel("box_blur").weights[0, 0] == pytest.approx(1 / 9)


def test_blur_alias_is_the_3x3_gaussian() -> None:
    blur = parse_kernel_spec("blur")
    assert blur is parse_kernel_spec("gaussian_blur_3x3")
    assert "blur" in blur.description
    assert blur.aliases == ("blur",)


def test_a_kernel_name_reads_its_own_file_and_name_args_reads_none() -> None:
    # start-up of `apply -k NAME`: one file parsed, not the library; `-k NAME:ARGS` no TOML
    code = (
        "import sys\n"
        "from convcli.kernels import library, parse_kernel_spec\n"
        "read, real = [], library.read_toml\n"
        "library.read_toml = lambda path, label: read.append(path.name) or real(path, label)\n"
        "parse_kernel_spec('box:3'); parse_kernel_spec('gaussian:sigma=2')\n"
        "print('tomllib' in sys.modules, read)\n"
        "parse_kernel_spec('sobel_x'); parse_kernel_spec('sobel_x')\n"
        "print(read)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["False []", "['sobel_x.toml']"]


def test_a_kernel_read_alone_is_the_librarys_own() -> None:
    library = {entry.name: entry for entry in load_library()}
    for name in ("sobel_x", "gaussian_blur_3x3", "identity", "sobel"):
        assert parse_kernel_spec(name) is library[name]


def test_laplacian_alias_is_the_4_neighbour_one() -> None:
    assert parse_kernel_spec("laplacian").name == "laplacian_4"


def test_roberts_has_an_anchor_and_2x2_shape() -> None:
    for name in ("roberts_x", "roberts_y"):
        kernel = _kernel(name)
        assert kernel.shape == (2, 2)
        assert kernel.anchor == (0, 0)


@pytest.mark.parametrize(
    ("spec", "direction"),
    [("sobel_x", "right"), ("sobel_y", "down"), ("scharr_x", "right"), ("scharr_y", "down"),
     ("prewitt_x", "right"), ("prewitt_y", "down"), ("roberts_x", "down-right"),
     ("roberts_y", "down-left"), ("kirsch_n", "up"), ("kirsch_ne", "up-right"),
     ("kirsch_e", "right"), ("kirsch_se", "down-right"), ("kirsch_s", "down"),
     ("kirsch_sw", "down-left"), ("kirsch_w", "left"), ("kirsch_nw", "up-left"),
     ("sobel_x:size=5", "right"), ("sobel_y:size=7", "down")],
)  # fmt: skip
def test_cross_correlation_sign_convention(spec: str, direction: str) -> None:
    """Each directional kernel is positive where brightness increases its way."""
    response = _respond(spec, _step(direction))
    assert response.max() > 0
    assert response.min() >= 0
    opposite = {
        "right": "left",
        "down": "up",
        "down-right": "up-left",
        "down-left": "up-right",
        "up": "down",
        "up-right": "down-left",
        "left": "right",
        "up-left": "down-right",
    }
    assert _respond(spec, _step(opposite[direction])).max() <= 1e-12


def test_sobel_x_on_a_left_dark_right_bright_step_is_positive() -> None:
    image = np.zeros((5, 6))
    image[:, 3:] = 255.0
    response = conv2d(image, _kernel("sobel_x").weights, padding="same", padding_mode="replicate")
    assert response[:, 2:4].min() > 0
    assert response[:, [0, 5]].max() == 0


def test_flip_gives_true_convolution() -> None:
    """Convolving with sobel_x (flip) is cross-correlating with its 180° rotation."""
    rng = np.random.default_rng(0)
    image = rng.random((7, 9))
    kernel = _kernel("emboss")
    flipped = conv2d(image, kernel.weights, flip=True, dtype=np.float64)
    rotated = conv2d(image, kernel.flipped().weights, dtype=np.float64)
    np.testing.assert_allclose(flipped, rotated)
    np.testing.assert_array_equal(kernel.flipped().weights, kernel.weights[::-1, ::-1])


@pytest.mark.parametrize("bank", ["sobel", "scharr", "prewitt", "roberts"])
def test_gradient_banks_are_magnitudes(bank: str) -> None:
    entry = parse_kernel_spec(bank)
    assert isinstance(entry, KernelBank)
    assert entry.combine == "magnitude"
    assert entry.kind == "bank"
    assert len(entry.kernels) == 2


def test_kirsch_is_the_max_over_eight_directions() -> None:
    entry = parse_kernel_spec("kirsch")
    assert isinstance(entry, KernelBank)
    assert entry.combine == "max"
    assert [k.name for k in entry.kernels] == [f"kirsch_{d}" for d in
                                               "n ne e se s sw w nw".split()]  # fmt: skip
    image = _step("up-right")
    each = [conv2d(image, k.weights, dtype=np.float64) for k in entry.kernels]
    np.testing.assert_allclose(_respond("kirsch", image), np.max(each, axis=0))


def test_kirsch_compass_kernels_are_one_mask_rotated() -> None:
    """Each Kirsch kernel's ring is the north one's ring moved 45° steps clockwise."""
    ring = [(0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0)]
    north = [_kernel("kirsch_n").weights[p] for p in ring]
    for step, direction in enumerate("n ne e se s sw w nw".split()):
        weights = _kernel(f"kirsch_{direction}").weights
        assert [weights[p] for p in ring] == list(np.roll(north, step))


def test_sobel_bank_gives_gradient_magnitude() -> None:
    image = _step("right")
    gx = conv2d(image, _kernel("sobel_x").weights, dtype=np.float64)
    gy = conv2d(image, _kernel("sobel_y").weights, dtype=np.float64)
    np.testing.assert_allclose(_respond("sobel", image), np.hypot(gx, gy))


@pytest.mark.parametrize(
    ("combine", "expected"),
    [("magnitude", [[5.0, 0.0]]), ("max", [[3.0, 0.0]]), ("min", [[-4.0, 0.0]]),
     ("sum", [[-1.0, 0.0]]), ("abs-sum", [[7.0, 0.0]])],
)  # fmt: skip
def test_combine_modes(combine: str, expected: list[list[float]]) -> None:
    responses = [np.array([[3.0, 0.0]]), np.array([[-4.0, 0.0]])]
    np.testing.assert_allclose(combine_responses(responses, combine), expected)  # type: ignore[arg-type]


def test_combine_stack_adds_a_last_axis() -> None:
    gray = [np.zeros((4, 5)), np.ones((4, 5)), np.ones((4, 5))]
    assert combine_responses(gray, "stack").shape == (4, 5, 3)
    colour = [np.zeros((4, 5, 3)), np.ones((4, 5, 3))]
    stacked = combine_responses(colour, "stack")
    assert stacked.shape == (4, 5, 3, 2)
    np.testing.assert_array_equal(stacked[..., 1], 1.0)


def test_combine_keeps_float32() -> None:
    responses = [np.ones((2, 2), np.float32), np.ones((2, 2), np.float32)]
    for mode in COMBINE_MODES:
        assert combine_responses(responses, mode).dtype == np.float32


@pytest.mark.parametrize(
    ("responses", "combine", "message"),
    [([], "max", "no responses to combine; expected one per kernel of the bank"),
     ([np.zeros((2, 2)), np.zeros((2, 3))], "max",
      "responses have shapes [(2, 2), (2, 3)]; expected one shape to combine them"),
     ([np.zeros((2, 2))], "mean",
      "combine mode 'mean' is not one of stack, magnitude, max, min, sum, abs-sum")],
)  # fmt: skip
def test_combine_errors(responses: list[np.ndarray], combine: str, message: str) -> None:
    with pytest.raises(KernelError) as info:
        combine_responses(responses, combine)  # type: ignore[arg-type]
    assert str(info.value) == message
