"""`convcli apply` end to end against ImageMagick and libvips, and `convcli --help` start-up.

Whole-process wall times (best of ``--repeat``), every tool reading and writing the same
files with the same integer Gaussian weights:

- one 4096x4096 RGB image, as PNG and as (uncompressed) TIFF, with 3x3, 7x7 and 15x15
  kernels: convcli (``-k file.txt``), ImageMagick (``convert -morphology Convolve``),
  libvips (``vips conv``, 2-D, and ``vips convsep``, the separable form);
- a folder of 100 JPEG photos of about 1 MP: ``convcli apply DIR --jobs 2`` against
  ImageMagick and libvips run two at a time (``xargs -P 2``);
- ``convcli --help`` against ``python -c "import numpy"``.

The strip pipeline's goals (times with peak RSS) are ``bench_cli_goals.py``.

Peers that are not installed are skipped. Results are printed as a Markdown table;
``--write`` replaces the ``cli`` block of ``benchmarks/RESULTS.md``.

    python benchmarks/bench_cli.py            # full run (several minutes)
    python benchmarks/bench_cli.py --quick    # 1024x1024, 10 photos: a smoke test
"""

from __future__ import annotations

import argparse
import datetime
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from results import cpu, replace_block

BIN = Path(sys.executable).parent
CONVCLI = str(BIN / "convcli") if (BIN / "convcli").exists() else "convcli"


def imagemagick() -> list[str] | None:
    """The ImageMagick command (``magick`` or ``convert``) if a real one is installed."""
    for name in ("magick", "convert"):
        path = shutil.which(name)
        if path is None:
            continue
        try:
            out = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if "ImageMagick" in out.stdout.splitlines()[0] if out.stdout else False:
            return [path]
    return None


def vips() -> str | None:
    """The ``vips`` command if installed."""
    return shutil.which("vips")


def gaussian_weights(size: int) -> np.ndarray:
    """Integer 1-D Gaussian weights (sigma = size / 6), so every tool gets exact weights."""
    x = np.arange(size) - (size - 1) / 2
    weights = np.exp(-(x**2) / (2 * (size / 6) ** 2))
    return np.maximum(np.round(weights / weights.min() * 1).astype(int), 1)


def write_kernels(folder: Path, size: int) -> dict[str, str]:
    """The same kernel for every tool: convcli .txt, vips .mat (2-D and 1-D), IM string."""
    w = gaussian_weights(size)
    w2 = np.outer(w, w)
    txt = folder / f"g{size}.txt"
    txt.write_text(
        "\n".join(" ".join(repr(float(v / w2.sum())) for v in row) for row in w2) + "\n"
    )
    mat2 = folder / f"g{size}.mat"
    rows = "\n".join(" ".join(str(v) for v in row) for row in w2)
    mat2.write_text(f"{size} {size} {w2.sum()} 0\n{rows}\n")
    mat1 = folder / f"g{size}_1d.mat"
    mat1.write_text(f"{size} 1 {w.sum()} 0\n{' '.join(str(v) for v in w)}\n")
    im = f"{size}x{size}: " + " ".join(",".join(str(v) for v in row) for row in w2)
    return {"txt": str(txt), "mat2": str(mat2), "mat1": str(mat1), "im": im}


def photo(height: int, width: int, seed: int) -> np.ndarray:
    """A photo-like RGB image: smooth shapes plus a little grain (compresses like a photo)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.empty((height, width, 3), np.float32)
    for c in range(3):
        fy, fx, phase = rng.uniform(2, 9, 3)
        image[..., c] = 128 + 90 * np.sin(fy * y / height + phase) * np.cos(fx * x / width)
    image += rng.normal(0, 6, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def best_of(repeat: int, command: Sequence[str] | str, *, shell: bool = False) -> float:
    """The best wall time of ``repeat`` runs of a whole process, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, shell=shell, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def one_image_rows(work: Path, size: int, repeat: int) -> list[tuple[str, dict[str, float]]]:
    """Rows ``(case, {tool: seconds})`` for the single large image."""
    pixels = photo(size, size, seed=0)
    sources = {"png": work / "big.png", "tif": work / "big.tif"}
    Image.fromarray(pixels).save(sources["png"], compress_level=6)
    Image.fromarray(pixels).save(sources["tif"])
    rows = []
    for k in (3, 7, 15):
        kernels = write_kernels(work, k)
        for ext, source in sources.items():
            tools = _one_image_tools(source, work / f"out_{k}.{ext}", kernels)
            times = {name: best_of(repeat, cmd) for name, cmd in tools.items()}
            rows.append((f"{size}² RGB {ext.upper()} {k}×{k}", times))
            print(rows[-1], flush=True)
    return rows


def _one_image_tools(source: Path, out: Path, kernels: dict[str, str]) -> dict[str, list[str]]:
    tools = {"convcli": [CONVCLI, "apply", str(source), "-k", kernels["txt"], "-o", str(out),
                         "--overwrite", "-q"]}  # fmt: skip
    magick = imagemagick()
    if magick:
        tools["ImageMagick"] = [*magick, str(source), "-define", "convolve:scale=!",
                                "-morphology", "Convolve", kernels["im"], str(out)]  # fmt: skip
    if vips():
        tools["vips conv"] = ["vips", "conv", str(source), str(out), kernels["mat2"],
                              "--precision", "integer"]  # fmt: skip
        tools["vips convsep"] = ["vips", "convsep", str(source), str(out), kernels["mat1"],
                                 "--precision", "integer"]  # fmt: skip
    return tools


def folder_row(work: Path, count: int, repeat: int) -> tuple[str, dict[str, float]]:
    """Row for a folder of ``count`` ~1 MP JPEG photos, two jobs at a time."""
    folder = work / "photos"
    folder.mkdir(exist_ok=True)
    for i in range(count):
        Image.fromarray(photo(864, 1152, seed=i)).save(folder / f"p{i:03d}.jpg", quality=90)
    kernels = write_kernels(work, 3)
    out = work / "photos_out"
    times = {
        "convcli": best_of(repeat, [CONVCLI, "apply", str(folder), "-k", kernels["txt"],
                                    "-o", f"{out}/", "--jobs", "2", "--overwrite", "-q"])
    }  # fmt: skip
    out.mkdir(exist_ok=True)
    magick = imagemagick()
    if magick:
        script = work / "im.sh"
        script.write_text(
            f'{magick[0]} "$1" -define convolve:scale=! -morphology Convolve '
            f'"{kernels["im"]}" "{out}/$(basename "$1")"\n'
        )
        times["ImageMagick"] = best_of(repeat, _two_at_a_time(folder, script), shell=True)
    if vips():
        script = work / "vips.sh"
        script.write_text(
            f'vips convsep "$1" "{out}/$(basename "$1")" {kernels["mat1"]} --precision integer\n'
        )
        times["vips convsep"] = best_of(repeat, _two_at_a_time(folder, script), shell=True)
    row = (f"{count} photos ~1 MP JPEG 3×3, 2 jobs", times)
    print(row, flush=True)
    return row


def _two_at_a_time(folder: Path, script: Path) -> str:
    return f"ls {folder}/*.jpg | xargs -P 2 -n 1 sh {script}"


def startup_row(repeat: int) -> tuple[str, dict[str, float]]:
    """``convcli --help`` against a bare ``import numpy``."""
    numpy = best_of(repeat, [sys.executable, "-c", "import numpy"])
    helps = best_of(repeat, [CONVCLI, "--help"])
    return ("start-up: convcli --help vs import numpy", {"convcli": helps, "numpy": numpy})


def _ratio(times: dict[str, float], peer: str) -> str:
    if peer not in times:
        return "—"
    return f"{times[peer] / times['convcli']:.2f}×"


def table(rows: list[tuple[str, dict[str, float]]], startup: tuple[str, dict[str, float]]) -> str:
    """The results as Markdown (ratios > 1 mean convcli is faster)."""
    lines = [
        "| case | convcli | ImageMagick | vips conv | vips convsep | IM / convcli | "
        "convsep / convcli |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for case, t in rows:
        cells = [f"{t[n]:.2f} s" if n in t else "—" for n in
                 ("convcli", "ImageMagick", "vips conv", "vips convsep")]  # fmt: skip
        ratios = [_ratio(t, "ImageMagick"), _ratio(t, "vips convsep")]
        lines.append(f"| {case} | {' | '.join(cells)} | {' | '.join(ratios)} |")
    _, s = startup
    lines += [
        "",
        f'Start-up: `convcli --help` {s["convcli"] * 1000:.0f} ms, `python -c "import numpy"` '
        f"{s['numpy'] * 1000:.0f} ms: overhead {(s['convcli'] - s['numpy']) * 1000:.0f} ms "
        "(goal ≤ 150 ms).",
    ]
    return "\n".join(lines)


def peer_versions() -> str:
    """The installed peers' versions, for the results' header."""
    versions = []
    magick = imagemagick()
    if magick:
        out = subprocess.run([*magick, "-version"], capture_output=True, text=True).stdout
        versions.append(out.splitlines()[0].split("https")[0].replace("Version: ", "").strip())
    if vips():
        versions.append(subprocess.run(["vips", "--version"], capture_output=True,
                                       text=True).stdout.strip())  # fmt: skip
    return "; ".join(versions) or "no peers installed"


def header(repeat: int) -> str:
    """Date, machine and versions."""
    peers = peer_versions()
    return (
        f"### `convcli apply` end to end ({datetime.date.today()})\n\n"
        f"`python benchmarks/bench_cli.py` — whole-process wall time, best of {repeat}; "
        f"{cpu()}, Python {platform.python_version()}; "
        f"peers: {peers}. Same integer Gaussian weights for every tool; ratios above 1 mean "
        "convcli is faster."
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    size, count = (1024, 10) if args.quick else (4096, 100)
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp:
        work = Path(tmp)
        rows = one_image_rows(work, size, args.repeat)
        rows.append(folder_row(work, count, args.repeat))
    startup = startup_row(max(args.repeat, 10))
    text = header(args.repeat) + "\n\n" + table(rows, startup)
    print(text)
    if args.write:
        replace_block("cli", text)


if __name__ == "__main__":
    main()
