"""Bad input, table-driven: one line on stderr, the right exit code, no traceback, no file.

Each case runs the real ``convcli`` in a subprocess inside a folder of prepared files;
afterwards the folder must hold exactly what it held before (no output, no temporary
file). Exit 2 is a usage mistake (an option, a kernel, a size the user typed); exit 1 a
failure of the data (a file that is not an image, a geometry that does not fit it).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SAMPLE = Path(__file__).parents[2] / "sample_images"
DEEP_JSON = "[" * 1000 + "1" + "]" * 1000
HUGE_INT = "9" * 5000
U = "convcli: error: Invalid value for"

CASES: list[tuple[str, tuple[str, ...], bytes | None, int, str]] = [
    # --- kernels ------------------------------------------------------------------------
    (
        "unknown-kernel",
        ("-k", "sobel_q"),
        None,
        2,
        f"{U} '-k' / '--kernel': unknown kernel 'sobel_q'",
    ),
    ("ragged-inline", ("-k", "1 2; 3"), None, 2, f"{U} '-k' / '--kernel': "),
    ("deep-json", ("-k", DEEP_JSON), None, 2, "nested too deeply"),
    ("deep-toml", ("-k", "deep.toml"), None, 2, "deep.toml: nested too deeply"),
    ("5000-digits", ("-k", HUGE_INT), None, 2, f"{U} '-k' / '--kernel': "),
    ("5000-digit-stride", ("-k", "3", "-s", HUGE_INT), None, 2, f"{U} '-s' / '--stride'"),
    ("empty-kernel", ("-k", ""), None, 2, f"{U} '-k' / '--kernel': "),
    ("nan-kernel", ("-k", "[[1, NaN]]"), None, 2, f"{U} '-k' / '--kernel': "),
    (
        "beyond-float32",
        ("-k", "1e200 1e200"),
        None,
        1,
        "small.png: kernel value 1e+200 is beyond float32's range",
    ),
    ("overflowing-result", ("-k", "3e38 3e38 3e38"), None, 1, "small.png: the result has "),
    ("bad-parameter", ("-k", "gaussian:sigma=-1"), None, 2, f"{U} '-k' / '--kernel': "),
    ("unknown-parameter", ("-k", "gaussian:bogus=1"), None, 2, f"{U} '-k' / '--kernel': "),
    ("box-0", ("-k", "box:0"), None, 2, f"{U} '-k' / '--kernel': "),
    ("bad-toml", ("-k", "bad.toml"), None, 2, "bad.toml: not valid TOML"),
    ("text-kernel", ("-k", "notes.txt"), None, 2, f"{U} '-k' / '--kernel': notes.txt"),
    ("ragged-file", ("-k", "ragged.txt"), None, 2, f"{U} '-k' / '--kernel': ragged.txt"),
    ("self-bank", ("-k", "selfbank.toml"), None, 2, f"{U} '-k' / '--kernel': "),
    ("unknown-combine", ("-k", "sobel", "--combine", "bogus"), None, 2, f"{U} '--combine'"),
    ("no-kernel", (), None, 2, "convcli: error: Missing option '-k' / '--kernel'."),
    # --- geometry -----------------------------------------------------------------------
    ("stride-0", ("-k", "3", "-s", "0"), None, 2, f"{U} '-s' / '--stride'"),
    ("stride-word", ("-k", "3", "-s", "a"), None, 2, f"{U} '-s' / '--stride'"),
    ("stride-3-values", ("-k", "3", "-s", "1,2,3"), None, 2, f"{U} '-s' / '--stride'"),
    ("dilation-0", ("-k", "3", "-d", "0"), None, 2, f"{U} '-d' / '--dilation'"),
    ("padding-negative", ("-k", "3", "-p", "-1"), None, 2, f"{U} '-p' / '--padding'"),
    ("padding-3-values", ("-k", "3", "-p", "1,2,3"), None, 2, f"{U} '-p' / '--padding'"),
    ("padding-word", ("-k", "3", "-p", "bogus"), None, 2, f"{U} '-p' / '--padding'"),
    ("padding-mode", ("-k", "3", "-m", "bogus"), None, 2, f"{U} '-m' / '--padding-mode'"),
    (
        "huge-dilation",
        ("-k", "box:3", "-d", "2147483648"),
        None,
        1,
        "small.png: the padded input would be ",
    ),
    (
        "huge-padding",
        ("-k", "box:3", "-p", "99999999999999999999"),
        None,
        1,
        "small.png: the padded input would be ",
    ),
    (
        "big-padding",
        ("-k", "box:3", "-p", "99999999"),
        None,
        1,
        "small.png: the padded input would be 200000006×200000006",
    ),
    (
        "big-dilation",
        ("-k", "box:3", "-d", "10000"),
        None,
        1,
        "small.png: the padded input would be 20008×20008",
    ),
    (
        "kernel-too-big",
        ("-k", "box:15", "-p", "valid"),
        None,
        1,
        "small.png: kernel (dilated 15×15) is larger than the padded input 8×8",
    ),
    (
        "huge-stride-3-values",
        ("-k", "3", "-s", "9223372036854775808,1,1"),
        None,
        2,
        f"{U} '-s' / '--stride'",
    ),
    # --- options ------------------------------------------------------------------------
    ("map", ("-k", "3", "--map", "bogus"), None, 2, f"{U} '--map'"),
    ("depth-12", ("-k", "3", "--depth", "12"), None, 2, f"{U} '--depth'"),
    (
        "depth-16-jpeg",
        ("-k", "3", "--depth", "16", "-o", "x.jpg"),
        None,
        2,
        "convcli: error: --depth 16 needs png or tiff output; got jpeg",
    ),
    (
        "raw-png",
        ("-k", "3", "--map", "raw", "-o", "x.png"),
        None,
        2,
        "convcli: error: --map raw keeps float values",
    ),
    (
        "overwrite-and-skip",
        ("-k", "3", "--overwrite", "--skip-existing"),
        None,
        2,
        "convcli: error: give --overwrite or --skip-existing, not both",
    ),
    (
        "o-and-output-dir",
        ("-k", "3", "-o", "x.png", "--output-dir", "d"),
        None,
        2,
        "convcli: error: give -o/--output or --output-dir, not both",
    ),
    (
        "stdout-and-json",
        ("-k", "3", "-o", "-", "--json"),
        None,
        2,
        "convcli: error: --json and -o - both want stdout",
    ),
    ("jobs-0", ("-k", "3", "-j", "0"), None, 2, f"{U} '-j' / '--jobs'"),
    ("max-pixels-0", ("-k", "3", "--max-pixels", "0"), None, 2, f"{U} '--max-pixels'"),
    ("format", ("-k", "3", "-f", "bogus"), None, 2, f"{U} '-f' / '--format'"),
    ("color", ("-k", "3", "--color", "bogus"), None, 2, f"{U} '--color'"),
    ("alpha", ("-k", "3", "--alpha", "bogus"), None, 2, f"{U} '--alpha'"),
    (
        "unknown-option",
        ("-k", "3", "--bogus"),
        None,
        2,
        "convcli: error: No such option '--bogus'",
    ),
    ("unknown-extension", ("-k", "3", "-o", "x.xyz"), None, 2, "convcli: error: "),
    (
        "output-is-input",
        ("-k", "3", "-o", "small.png"),
        None,
        1,
        "convcli: error: small.png is an input",
    ),
    (
        "output-exists",
        ("-k", "3", "-o", "rgb.png"),
        None,
        1,
        "convcli: error: rgb.png already exists",
    ),
    ("max-pixels", ("-k", "3", "--max-pixels", "10"), None, 1, "convcli: error: small.png: "),
    (
        "stack-to-stdout",
        ("-k", "sobel_x", "-k", "sobel_y", "-o", "-"),
        None,
        2,
        "convcli: error: -o - writes one image",
    ),
    # --- files --------------------------------------------------------------------------
    (
        "missing-file",
        ("missing.png", "-k", "3"),
        None,
        1,
        "convcli: error: missing.png: no such file or folder",
    ),
    ("empty-file", ("empty.png", "-k", "3"), None, 1, "convcli: error: empty.png: "),
    ("truncated-file", ("trunc.png", "-k", "3"), None, 1, "convcli: error: trunc.png: "),
    (
        "npy-damaged-header",
        ("tok.npy", "-k", "3"),
        None,
        1,
        "convcli: error: tok.npy: cannot read as .npy: its header is damaged",
    ),
    (
        "gif-gigapixel-second-frame",
        ("huge2.gif", "-k", "3"),
        None,
        1,
        "convcli: error: huge2.gif: 65543x65541 = 4295753763 pixels is over the limit of "
        "89478485 pixels (a guard against decompression bombs)",
    ),
    ("gif-second-frame-cut", ("cut2.gif", "-k", "3"), None, 1, "cut2.gif: cannot decode image: "),
    (
        "tiff-250-samples",
        ("samples.tif", "-k", "3"),
        None,
        1,
        "convcli: error: samples.tif: not an image Pillow can read (unknown or corrupt format)",
    ),
    # damaged TIFFs (found by mutating files): each was a traceback or libtiff's own lines
    (
        "tiff-no-first-ifd",
        ("no-ifd.tif", "-k", "3"),
        None,
        1,
        "convcli: error: no-ifd.tif: not an image Pillow can read (unknown or corrupt format)",
    ),
    (
        "tiff-two-widths",
        ("two-widths.tif", "-k", "3"),
        None,
        1,
        "convcli: error: two-widths.tif: 16777229x8 = 134217832 pixels is over the limit",
    ),
    (
        "tiff-bad-deflate",
        ("bad-deflate.tif", "-k", "3"),
        None,
        1,
        "convcli: error: bad-deflate.tif: cannot decode TIFF strip 0 (ADOBE_DEFLATE): Error -3 "
        "while decompressing data: incorrect data check",
    ),
    (
        "bigtiff-bad-offset-size",
        ("bad-bigtiff.tif", "-k", "3"),
        None,
        1,
        "convcli: error: bad-bigtiff.tif: cannot read BigTIFF: invalid BigTIFF offset size "
        "(56, 0)",
    ),
    (
        "tiff-pages-127-lengths",
        ("lengths.tif", "-k", "3"),
        None,
        1,
        "convcli: error: lengths.tif: ",
    ),
    (
        "tiff-second-page-damaged",
        ("second-page.tif", "-k", "3"),
        None,
        1,
        "convcli: error: second-page.tif: cannot decode image: Missing dimensions",
    ),
    ("text-as-png", ("notimg.png", "-k", "3"), None, 1, "convcli: error: notimg.png: "),
    (
        "nan-tiff",
        ("nan.tif", "-k", "3"),
        None,
        1,
        "convcli: error: nan.tif: image has 2 NaN or infinite values",
    ),
    ("empty-folder", ("empty", "-k", "3"), None, 2, "convcli: error: no images found in empty"),
    (
        "images-in-sub-folders",
        ("nested", "-k", "3"),
        None,
        2,
        "convcli: error: no images found in nested; images are in sub-folders: add -r",
    ),
    (
        "two-inputs-one-file",
        ("small.png", "rgb.png", "-k", "3", "-o", "x.png"),
        None,
        2,
        "convcli: error: -o x.png names one output, but there are 2 inputs",
    ),
    (
        "dry-run-empty",
        ("empty.png", "-k", "3", "-n"),
        None,
        1,
        "convcli: error: empty.png: not an image",
    ),
    (
        "dry-run-text",
        ("notimg.png", "-k", "3", "-n"),
        None,
        1,
        "convcli: error: notimg.png: not an image",
    ),
    # --- stdin --------------------------------------------------------------------------
    (
        "stdin-twice",
        ("-", "-", "-k", "3"),
        b"",
        2,
        "convcli: error: standard input '-' can be given only once",
    ),
    ("stdin-empty", ("-", "-k", "3", "-o", "x.png"), b"", 1, "convcli: error: <stdin>: "),
    (
        "stdin-garbage",
        ("-", "-k", "3", "-o", "x.png"),
        b"not an image",
        1,
        "convcli: error: <stdin>: ",
    ),
    (
        "stdin-zeros",
        ("-", "-k", "3", "-o", "x.png"),
        bytes(1 << 20),
        1,
        "convcli: error: <stdin>: ",
    ),
    (
        "stdin-truncated-png",
        ("-", "-k", "3", "-o", "x.png"),
        (SAMPLE / "camera.png").read_bytes()[:200],
        1,
        "convcli: error: <stdin>: ",
    ),
]

OTHER: list[tuple[str, tuple[str, ...], bytes | None, int, str]] = [
    (  # Pillow logged its reason on stderr first
        "shape-tiff-250-samples",
        ("shape", "samples.tif", "-k", "3"),
        None,
        1,
        "convcli: error: samples.tif: not an image Pillow can read (unknown or corrupt format)",
    ),
    (
        "shape-4-numbers",
        ("shape", "224x224x3x2", "-k", "3"),
        None,
        2,
        "convcli: error: size '224x224x3x2' is not HxW or HxWxC",
    ),
    ("shape-1-number", ("shape", "224", "-k", "3"), None, 2, "convcli: error: 224: no such file"),
    (
        "shape-empty-output",
        ("shape", "5x5", "-k", "7", "-p", "valid"),
        None,
        2,
        "convcli: error: kernel (dilated 7×7) is larger than the padded input 5×5",
    ),
    (
        "shape-two-kernels",
        ("shape", "224x224", "-k", "3", "-k", "5"),
        None,
        2,
        "convcli: error: give -k/--kernel once (or a --layer chain); got 2",
    ),
    ("shape-no-kernel", ("shape", "224x224"), None, 2, "convcli: error: give -k/--kernel"),
    (
        "shape-method",
        ("shape", "224x224", "-k", "3", "--method", "direct"),
        None,
        2,
        "convcli: error: No such option '--method'.",
    ),
    (
        "shape-cval",
        ("shape", "224x224", "-k", "3", "--cval", "1"),
        None,
        2,
        "convcli: error: No such option '--cval'.",
    ),
    ("shape-bad-layer", ("shape", "224x224", "-l", "q3"), None, 2, f"{U} '--layer': layer 'q3'"),
    (
        "explain-outside",
        ("explain", "small.png", "-k", "3", "--at", "9,0"),
        None,
        2,
        "convcli: error: position 9,0 is outside the output 8×8",
    ),
    (
        "explain-gif-name",
        ("explain", "small.png", "-k", "3", "--gif", "x.png"),
        None,
        2,
        f"{U} '--gif'",
    ),
    (
        "explain-gif-too-long",
        ("explain", "big.png", "-k", "3", "--at", "1,1", "--gif", "x.gif"),
        None,
        2,
        "convcli: error: --gif draws one frame per output position",
    ),
    (
        "explain-nan-tiff",
        ("explain", "nan.tif", "-k", "3", "--at", "1,1"),
        None,
        1,
        "convcli: error: the input has ",
    ),
    (
        "explain-beyond-float32",
        ("explain", "small.png", "-k", "1e200 1e200", "--at", "1,1"),
        None,
        1,
        "convcli: error: kernel value 1e+200 is beyond float32's range",
    ),
    ("unknown-command", ("bogus",), None, 2, "convcli: error: No such command 'bogus'."),
    (
        "kernels-option",
        ("kernels", "--bogus"),
        None,
        2,
        "convcli: error: No such option '--bogus'",
    ),
]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder of good and bad files the cases refer to by name."""
    rng = np.random.default_rng(5)
    Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / "small.png")
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / "rgb.png")
    Image.fromarray(rng.integers(0, 256, (40, 40), dtype=np.uint8)).save(tmp_path / "big.png")
    nan = np.ones((4, 4), np.float32)
    nan[1, 1], nan[2, 2] = np.nan, np.inf
    Image.fromarray(nan).save(tmp_path / "nan.tif")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "trunc.png").write_bytes((tmp_path / "rgb.png").read_bytes()[:60])
    (tmp_path / "notimg.png").write_text("hello\n")
    (tmp_path / "deep.toml").write_text("weights = " + "[" * 10000 + "1" + "]" * 10000 + "\n")
    (tmp_path / "bad.toml").write_text("weights = [[1, 2]\n")
    (tmp_path / "notes.txt").write_text("one two\nthree four\n")
    (tmp_path / "ragged.txt").write_text("1 2 3\n4 5\n")
    (tmp_path / "selfbank.toml").write_text('name = "selfbank"\nkernels = ["selfbank.toml"]\n')
    _damaged_tiffs(tmp_path)
    _damaged_gifs(tmp_path)
    header = io.BytesIO()
    np.save(header, np.zeros((2, 3), np.float32))
    (tmp_path / "tok.npy").write_bytes(header.getvalue().replace(b"}", b" ", 1))  # unclosed
    (tmp_path / "empty").mkdir()
    (tmp_path / "nested" / "sub").mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "nested" / "sub" / "a.png")
    return tmp_path


def _damaged_tiffs(folder: Path) -> None:
    """TIFFs damaged in the ways a mutation search found convcli failing on."""
    import struct

    import tifffile

    px = np.random.default_rng(5).integers(0, 256, (8, 8, 3), dtype=np.uint8)

    def tiff(**kw: object) -> bytearray:
        buf = io.BytesIO()
        tifffile.imwrite(buf, px, photometric="rgb", **kw)  # type: ignore[arg-type]
        return bytearray(buf.getvalue())

    data = tiff()
    struct.pack_into("<I", data, 4, len(data) + 1000)  # the first IFD beyond the end
    (folder / "no-ifd.tif").write_bytes(data)
    data = tiff(software=False, description=None, metadata=None)
    width = tifffile.TiffFile(io.BytesIO(bytes(data))).pages.first.tags[256]
    struct.pack_into("<I", data, width.offset + 4, 2)  # ImageWidth: two values
    (folder / "two-widths.tif").write_bytes(data)
    data = tiff(compression="zlib")
    page = tifffile.TiffFile(io.BytesIO(bytes(data))).pages.first
    data[page.dataoffsets[0] + page.databytecounts[0] - 2] ^= 0xFF  # deflate's checksum
    (folder / "bad-deflate.tif").write_bytes(data)
    data = tiff(bigtiff=True, compression="zlib")
    struct.pack_into("<H", data, 4, 56)  # BigTIFF's offset size
    (folder / "bad-bigtiff.tif").write_bytes(data)
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as two:
        two.write(px, photometric="rgb")
        two.write(px, photometric="rgb")
    data = bytearray(buf.getvalue())
    width = tifffile.TiffFile(io.BytesIO(bytes(data))).pages[1].tags[256]
    struct.pack_into("<H", data, width.offset, 999)  # the second page loses its width
    (folder / "second-page.tif").write_bytes(data)
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as three:
        for _ in range(3):
            three.write(px, photometric="rgb")
    data = bytearray(buf.getvalue())
    length = tifffile.TiffFile(io.BytesIO(bytes(data))).pages.first.tags[257]
    struct.pack_into("<I", data, length.offset + 4, 127)  # ImageLength: 127 values (tifffile's
    (folder / "lengths.tif").write_bytes(data)  # parser raised a TypeError opening it)


def _damaged_gifs(folder: Path) -> None:
    """Two-frame GIFs whose second frame is damaged: placed 65535 pixels away (a canvas of 4.3
    gigapixels, which the guard met only after decoding it: the process ran out of memory), and
    cut off in its header."""
    import struct

    rng = np.random.default_rng(2)
    frames = [Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)) for _ in range(2)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=40)
    data = bytearray(buf.getvalue())
    # each frame: a graphic control extension (21 F9 04, 4 bytes, 00), then its descriptor (2C)
    second = [i for i in range(len(data) - 8) if data[i : i + 3] == b"\x21\xf9\x04"][1] + 8
    assert data[second] == 0x2C
    cut = bytes(data[: second + 5])
    struct.pack_into("<HH", data, second + 1, 65535, 65535)  # the frame's left and top
    (folder / "huge2.gif").write_bytes(data)
    (folder / "cut2.gif").write_bytes(cut)
    samples = io.BytesIO()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(samples, format="TIFF")
    tiff = bytearray(samples.getvalue())
    count = struct.unpack_from("<H", tiff, struct.unpack_from("<I", tiff, 4)[0])[0]
    entries = struct.unpack_from("<I", tiff, 4)[0] + 2
    for k in range(count):  # SamplesPerPixel (277) made 250
        if struct.unpack_from("<H", tiff, entries + 12 * k)[0] == 277:
            struct.pack_into("<H", tiff, entries + 12 * k + 8, 250)
    (folder / "samples.tif").write_bytes(tiff)


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _run(runner, workdir: Path, args: tuple[str, ...], stdin: bytes | None):
    env = {**os.environ, "COLUMNS": "200"}
    return runner.run(
        *args,
        cwd=workdir,
        input=stdin if stdin is not None else b"",
        env=env,
        capture_output=True,
    )


def _apply(args: tuple[str, ...]) -> tuple[str, ...]:
    """``apply`` with the case's inputs, or with ``small.png`` when it starts with options."""
    names_inputs = bool(args) and (args[0] == "-" or not args[0].startswith("-"))
    return ("apply", *args) if names_inputs else ("apply", "small.png", *args)


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [pytest.param(_apply(a), s, c, m, id=i) for i, a, s, c, m in CASES]
    + [pytest.param(a, s, c, m, id=i) for i, a, s, c, m in OTHER],
)
def test_bad_input(runner, workdir, args, stdin, code, message) -> None:
    before = _tree(workdir)
    done = _run(runner, workdir, args, stdin)
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("convcli: error: ")
    assert message in lines[0]
    assert done.returncode == code, stderr
    assert _tree(workdir) == before


def test_the_table_is_large_enough() -> None:
    assert len(CASES) + len(OTHER) >= 60


def _odd_tiff(path: Path, odd: str) -> None:
    """A TIFF that reads, with something odd: an orientation outside 1-8, or a text tag whose
    value lies beyond the end of the file."""
    import struct

    import tifffile
    from PIL.TiffImagePlugin import ImageFileDirectory_v2

    ifd = ImageFileDirectory_v2()
    if odd.startswith("orientation"):
        ifd[274] = int(odd.split("-")[1])
    else:
        ifd[274] = 1  # an orientation (as ImageMagick writes): Pillow reads the tags
        ifd[305] = "x" * 40  # Software
    pixels = np.random.default_rng(3).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="TIFF", tiffinfo=ifd)
    data = bytearray(buf.getvalue())
    if odd == "far-tag":
        tag = tifffile.TiffFile(io.BytesIO(bytes(data))).pages.first.tags[305]
        struct.pack_into("<I", data, tag.offset + 8, len(data) + 500)
    path.write_bytes(data)


@pytest.mark.parametrize("odd", ["orientation-0", "orientation-9", "far-tag"])
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_an_odd_but_readable_tiff_leaves_stderr_empty(runner, tmp_path, odd, suffix) -> None:  # type: ignore[no-untyped-def]
    """tifffile logged what it found odd and Pillow warned ("Truncated File Read"), with
    source lines, on the stderr of a run that succeeded: scripts expect nothing there."""
    _odd_tiff(tmp_path / "odd.tif", odd)
    done = runner.run("apply", "odd.tif", "-k", "blur", "-o", f"out{suffix}", "-q", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, b"")
    with Image.open(tmp_path / f"out{suffix}") as written:
        assert written.size == (16, 16)
