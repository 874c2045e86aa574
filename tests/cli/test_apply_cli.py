"""`convcli apply` through CliRunner: modes, values, outputs, batches, safety."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import convcli
from convcli.cli import cli
from convcli.engine import METHODS
from convcli.kernels import parse_kernel_spec

RNG = np.random.default_rng(3)


def run(*args: str, input: bytes | None = None) -> object:
    return CliRunner().invoke(cli, ["apply", *args], input=input, catch_exceptions=False)


def _rgb(h: int = 6, w: int = 5) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def make_image(mode: str, path: Path) -> Image.Image:
    """A tiny image of ``mode`` saved at ``path``; returns the image as saved."""
    arrays = {
        "L": lambda: Image.fromarray(_rgb()[..., 0]),
        "LA": lambda: Image.fromarray(_rgb()[..., :2].copy(), "LA"),
        "RGB": lambda: Image.fromarray(_rgb()),
        "RGBA": lambda: Image.fromarray(np.dstack([_rgb(), _rgb()[..., 0]]), "RGBA"),
        "P": lambda: Image.fromarray(_rgb()).convert("P"),
        "I;16": lambda: Image.fromarray(RNG.integers(0, 65536, (6, 5), dtype=np.uint16)),
        "I": lambda: Image.fromarray(RNG.integers(0, 65536, (6, 5)).astype(np.int32)),
        "F": lambda: Image.fromarray(RNG.uniform(0, 1, (6, 5)).astype(np.float32)),
        "CMYK": lambda: Image.fromarray(np.dstack([_rgb(), _rgb()[..., 0]]), "CMYK"),
        "1": lambda: Image.fromarray(_rgb()[..., 0] > 127),
    }
    image = arrays[mode]()
    assert image.mode == mode
    image.save(path)
    return image


EXPECTED = {  # mode -> (output mode, expected pixels from the input image)
    "L": ("L", np.asarray),
    "LA": ("LA", np.asarray),
    "RGB": ("RGB", np.asarray),
    "RGBA": ("RGBA", np.asarray),
    "P": ("RGB", lambda im: np.asarray(im.convert("RGB"))),
    "I;16": ("I;16", np.asarray),
    "I": ("I;16", lambda im: np.asarray(im).astype(np.uint16)),
    "F": ("I;16", lambda im: np.floor(np.asarray(im) * 65535.0 + 0.5).astype(np.uint16)),
    "CMYK": ("RGB", lambda im: np.asarray(im.convert("RGB"))),
    "1": ("L", lambda im: np.asarray(im.convert("L"))),
}


@pytest.mark.parametrize("mode", list(EXPECTED))
def test_every_mode_round_trips_through_identity(mode: str, tmp_path: Path) -> None:
    suffix = ".tif" if mode in ("I", "F", "CMYK") else ".png"
    source = tmp_path / f"in{suffix}"
    image = make_image(mode, source)
    out = tmp_path / "out.png"
    result = run(str(source), "-k", "identity", "-o", str(out))
    assert result.exit_code == 0, result.output
    out_mode, expected = EXPECTED[mode]
    with Image.open(out) as written:
        pixels = np.asarray(written)
        assert written.mode == out_mode
    np.testing.assert_array_equal(pixels, expected(image))


def test_exif_rotated_jpeg_is_filtered_upright(tmp_path: Path) -> None:
    source = tmp_path / "r.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    Image.fromarray(_rgb(4, 10)).save(source, exif=exif)
    result = run(str(source), "-k", "identity", "-o", str(tmp_path / "o.png"))
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "o.png") as written:
        assert written.size == (4, 10)


def test_16bit_png_round_trip_and_depth_8(tmp_path: Path) -> None:
    source = tmp_path / "deep.png"
    image = make_image("I;16", source)
    assert run(str(source), "-k", "identity").exit_code == 0
    with Image.open(tmp_path / "deep_identity.png") as written:
        np.testing.assert_array_equal(np.asarray(written), np.asarray(image))
    assert (
        run(str(source), "-k", "identity", "--depth", "8", "-o", str(tmp_path / "8.png")).exit_code
        == 0
    )
    with Image.open(tmp_path / "8.png") as written:
        assert written.mode == "L"
        expected = np.floor(np.asarray(image) * (255 / 65535) + 0.5)
        np.testing.assert_array_equal(np.asarray(written), expected)


def test_alpha_is_kept_on_the_output_grid(tmp_path: Path) -> None:
    source = tmp_path / "a.png"
    image = make_image("RGBA", source)
    assert run(str(source), "-k", "box:3", "-s", "2", "-o", str(tmp_path / "o.png")).exit_code == 0
    with Image.open(tmp_path / "o.png") as written:
        assert written.mode == "RGBA"
        # 6x5, same, stride 2: rows pad (0, 1) so windows centre on rows 1, 3, 5;
        # columns pad (1, 1) so on columns 0, 2, 4
        kept = np.asarray(image)[1::2, ::2, 3]
        np.testing.assert_array_equal(np.asarray(written)[..., 3], kept)
    assert (
        run(str(source), "-k", "box:3", "--alpha", "drop", "-o", str(tmp_path / "d.png")).exit_code
        == 0
    )
    with Image.open(tmp_path / "d.png") as written:
        assert written.mode == "RGB"


ROW = np.array([[0, 100, 200]], dtype=np.uint8)


@pytest.mark.parametrize(
    ("kernel", "mapping", "expected"),
    [
        ("2", "auto", [0, 200, 255]),  # sums to 2: clip
        ("-1", "auto", [0, 0, 0]),  # sums to -1: clip
        ("-1", "clip", [0, 0, 0]),
        ("-1", "abs", [0, 100, 200]),
        ("-1", "offset", [128, 28, 0]),  # x + 127.5, halves round up
        ("-1", "normalize", [255, 128, 0]),
        # sums to 0: abs (reflect pads 100 | 0 100 200 | 100), 200 (p99.5 of |x|) to white
        ("1 0 -1", "auto", [0, 255, 0]),
        ("1 0 -1", "abs", [0, 200, 0]),
    ],
)
def test_each_map_gives_exact_values(
    kernel: str, mapping: str, expected: list[int], tmp_path: Path
) -> None:
    source = tmp_path / "row.png"
    Image.fromarray(ROW).save(source)
    result = run(str(source), "-k", kernel, "--map", mapping, "-o", str(tmp_path / "o.png"))
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "o.png") as written:
        assert np.asarray(written).tolist() == [expected]


def test_raw_map_writes_float_tiff(tmp_path: Path) -> None:
    source = tmp_path / "row.png"
    Image.fromarray(ROW).save(source)
    result = run(str(source), "-k", "1 0 -1", "--map", "raw", "-o", str(tmp_path / "o.tif"))
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "o.tif") as written:
        assert written.mode == "F"
        assert np.asarray(written).tolist() == [[0.0, -200.0, 0.0]]
    assert (
        run(str(source), "-k", "1", "--map", "raw", "-o", str(tmp_path / "o.png")).exit_code == 2
    )


def test_npy_equals_conv2d_on_the_same_array(tmp_path: Path) -> None:
    source = tmp_path / "c.png"
    image = make_image("RGB", source)
    assert (
        run(str(source), "-k", "sobel_x", "-s", "2", "-o", str(tmp_path / "o.npy")).exit_code == 0
    )
    expected = convcli.conv2d(
        np.asarray(image), parse_kernel_spec("sobel_x").weights, stride=2, padding="same",
        padding_mode="reflect",
    )  # fmt: skip
    np.testing.assert_allclose(np.load(tmp_path / "o.npy"), expected, atol=1e-4)


def test_chain_equals_two_successive_conv2d(tmp_path: Path) -> None:
    source = tmp_path / "g.png"
    image = np.asarray(make_image("L", source))
    args = [str(source), "-k", "box:3", "-k", "sobel_y", "--chain", "-o", str(tmp_path / "o.npy")]
    assert run(*args).exit_code == 0
    same = {"padding": "same", "padding_mode": "reflect"}
    once = convcli.conv2d(image, parse_kernel_spec("box:3").weights, **same)
    twice = convcli.conv2d(once, parse_kernel_spec("sobel_y").weights, **same)
    np.testing.assert_allclose(np.load(tmp_path / "o.npy"), twice, atol=1e-3)


def test_stack_writes_one_map_per_kernel(tmp_path: Path) -> None:
    source = tmp_path / "s.png"
    make_image("RGB", source)
    result = run(str(source), "-k", "sobel_x", "-k", "sobel_y", "--combine", "stack")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "s.png",
        "s_sobel_x.png",
        "s_sobel_y.png",
    ]


def test_batch_goes_on_past_a_corrupt_file(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "c.png"):
        make_image("RGB", folder / name)
    (folder / "b.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (folder / "readme.txt").write_text("hi")
    result = run(str(folder), "-k", "box:3", "-o", str(tmp_path / "out/"), "--jobs", "1")
    assert result.exit_code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a_box_size_3.png",
        "c_box_size_3.png",
    ]
    errors = [line for line in result.stderr.splitlines() if line.startswith("convcli: error:")]
    assert len(errors) == 1
    assert errors[0].startswith(f"convcli: error: {folder / 'b.png'}: ")


def test_stdin_to_stdout(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(ROW).save(buffer, format="PNG")
    result = run("-", "-k", "-1", "--map", "abs", "-o", "-", input=buffer.getvalue())
    assert result.exit_code == 0, result.stderr
    with Image.open(io.BytesIO(result.stdout_bytes)) as written:
        assert np.asarray(written).tolist() == [[0, 100, 200]]
    npy = run("-", "-k", "identity", "-o", "-", "--format", "npy", input=buffer.getvalue())
    assert np.load(io.BytesIO(npy.stdout_bytes)).tolist() == [[0.0, 100.0, 200.0]]


@pytest.mark.parametrize(
    ("word", "magic"), [("jpg", b"\xff\xd8\xff"), ("tif", b"II*\x00"), ("PNG", b"\x89PNG")]
)
def test_format_takes_the_extensions_users_type(word: str, magic: bytes) -> None:
    """``-f jpg`` as ``-o out.jpg`` says it: the extension names its format, in any case."""
    buffer = io.BytesIO()
    Image.fromarray(ROW).save(buffer, format="PNG")
    result = run("-", "-k", "identity", "-o", "-", "-f", word, input=buffer.getvalue())
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.startswith(magic)


def test_an_unknown_format_lists_the_words_taken() -> None:
    result = CliRunner().invoke(cli, ["apply", "x.png", "-k", "blur", "-f", "jpg2"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "convcli: error: Invalid value for '-f' / '--format': 'jpg2' is not one of 'png', "
        "'jpeg', 'tiff', 'webp', 'gif', 'bmp', 'npy', 'jpg', 'tif'."
    )


def test_failed_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "a.png"
    make_image("RGB", source)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", disk_full)
    result = run(str(source), "-k", "identity", "-o", str(tmp_path / "out/o.npy"))
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr
    assert list((tmp_path / "out").iterdir()) == []


def test_an_input_is_never_overwritten(tmp_path: Path) -> None:
    source = tmp_path / "a.png"
    make_image("RGB", source)
    before = source.read_bytes()
    result = run(str(source), "-k", "box:3", "-o", str(source), "--overwrite")
    assert result.exit_code == 1
    assert "never overwrites an input" in result.stderr
    assert source.read_bytes() == before


def test_two_inputs_colliding_is_an_error_before_any_work(tmp_path: Path) -> None:
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        make_image("L", tmp_path / sub / "p.png")
    result = run(
        str(tmp_path / "x"), str(tmp_path / "y"), "-k", "box:3", "-o", str(tmp_path / "o/")
    )
    assert result.exit_code == 1
    assert "would both write" in result.stderr
    assert not (tmp_path / "o").exists()


def test_existing_output_needs_overwrite_or_skip(tmp_path: Path) -> None:
    source = tmp_path / "a.png"
    make_image("L", source)
    assert run(str(source), "-k", "box:3").exit_code == 0
    again = run(str(source), "-k", "box:3")
    assert again.exit_code == 1
    assert "already exists; pass --overwrite" in again.stderr
    assert run(str(source), "-k", "box:3", "--overwrite").exit_code == 0
    skipped = run(str(source), "-k", "box:3", "--skip-existing", "--json")
    assert json.loads(skipped.stdout)["status"] == "skipped"


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "a.png"
    make_image("L", source)
    result = run(str(source), "-k", "sobel_x", "-k", "sobel_y", "-o", str(tmp_path / "new/"), "-n")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"would write {tmp_path / 'new/a_sobel_x.png'} <- {source}",
        f"would write {tmp_path / 'new/a_sobel_y.png'} <- {source}",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_json_fields(tmp_path: Path) -> None:
    source = tmp_path / "a.png"
    make_image("RGB", source)
    result = run(str(source), "-k", "sobel_x", "-s", "2", "--json", "-q")
    assert result.exit_code == 0
    assert result.stderr == ""
    record = json.loads(result.stdout)
    assert record["input"] == str(source)
    assert record["output"] == str(tmp_path / "a_sobel_x.png")
    assert record["input_shape"] == [6, 5, 3]
    assert record["kernel_shape"] == [3, 3]
    assert record["output_shape"] == [3, 3, 3]
    assert record["pads"] == [[0, 1], [1, 1]]  # same, stride 2: the odd pad goes last
    assert (record["stride"], record["dilation"]) == ([2, 2], [1, 1])
    assert record["mapping"] == "abs"
    assert record["method"] in METHODS[1:]  # the method that ran, never "auto"
    assert record["min"] <= record["max"]
    assert 0 <= record["clipped_share"] <= 1
    assert record["ms"] > 0


def test_summary_says_what_happened(tmp_path: Path) -> None:
    source = tmp_path / "a.png"
    make_image("RGB", source)
    result = run(str(source), "-k", "sobel", "--flip")
    assert result.exit_code == 0
    assert result.stdout == ""
    text = result.stderr
    assert "6×5×3" in text
    assert "sobel (magnitude of sobel_x, sobel_y)" in text
    assert "pads t1 b1 l1 r1 (same, reflect)" in text
    assert "convolution (kernel flipped)" in text
    assert "mapping abs × " in text
    assert "(auto: kernel sums to 0; p99.5 of |response| → white)" in text


def test_output_into_a_new_folder_is_created(tmp_path: Path) -> None:
    source = tmp_path / "a.png"
    make_image("RGB", source)
    assert run(str(source), "-k", "sobel", "-o", str(tmp_path / "out/a.png")).exit_code == 0
    assert (tmp_path / "out/a.png").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a.png", "b.png", "-o", "x.png"], "2 inputs; use -o DIR/"),
        (["a.png", "-o", "x.jpg", "--depth", "16"], "--depth 16 needs png or tiff"),
        (["a.png", "--chain", "--combine", "max"], "--combine"),
        (["a.png", "--overwrite", "--skip-existing"], "not both"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    for name in ("a.png", "b.png"):
        make_image("L", tmp_path / name)
    full = [str(tmp_path / a) if a.endswith(".png") else a for a in args]
    result = run(*full, "-k", "box:3", "-k", "sobel_x")
    assert result.exit_code == 2
    assert message in result.stderr


def test_unknown_kernel_is_a_usage_error(tmp_path: Path) -> None:
    result = run(str(tmp_path / "a.png"), "-k", "sobelx")
    assert result.exit_code == 2
    assert "unknown kernel 'sobelx'" in result.stderr


def test_missing_input_fails_but_others_go_on(tmp_path: Path) -> None:
    make_image("L", tmp_path / "a.png")
    result = run(str(tmp_path / "a.png"), str(tmp_path / "nope.png"), "-k", "box:3")
    assert result.exit_code == 1
    assert f"convcli: error: {tmp_path / 'nope.png'}: no such file" in result.stderr
    assert (tmp_path / "a_box_size_3.png").is_file()


def test_max_pixels_guard(tmp_path: Path) -> None:
    make_image("L", tmp_path / "a.png")
    result = run(str(tmp_path / "a.png"), "-k", "box:3", "--max-pixels", "10")
    assert result.exit_code == 1
    assert "--max-pixels" in result.stderr
