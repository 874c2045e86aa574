"""`convcli apply` against libvips and ImageMagick for the strip pipeline's goals, with peak RSS.

Whole-process wall time and peak RSS (``/usr/bin/time``), median of ``--repeat`` runs,
peers measured in the same run: 4096x4096 RGB TIFF and PNG with a 3x3 Gaussian
(``vips conv``, ImageMagick on TIFF), a 15x15 Gaussian (``vips convsep``), a random
15x15 (``vips conv --precision float``), ``-k sobel`` on PNG (``vips sobel``), and the
peak RSS of an 8192x8192 RGB TIFF Sobel. ``--write`` replaces the ``cli-goals`` block of
``benchmarks/RESULTS.md``.

    python benchmarks/bench_cli_goals.py --repeat 3 [--write]
    python benchmarks/bench_cli_goals.py --quick --repeat 1     # 1024x1024: a smoke test
    python benchmarks/bench_cli_goals.py --only sobel           # the cases whose name has it

convcli's modules are compiled to bytecode first, as pip does when it installs the wheel
(an editable install run with ``PYTHONDONTWRITEBYTECODE`` would compile every module on
every run, about 0.2 s of start-up that no installed copy pays).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from bench_cli import CONVCLI, imagemagick, peer_versions, photo, vips, write_kernels
from PIL import Image
from results import cpu, replace_block


def timed(repeat: int, command: Sequence[str], work: Path) -> tuple[float, float]:
    """Median wall seconds and median peak RSS (MiB) of ``repeat`` runs of one process."""
    report = work / "time.txt"
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(report), *command],
                       check=True, capture_output=True)  # fmt: skip
        runs.append((time.perf_counter() - start, int(report.read_text().split()[-1]) / 1024))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def random_kernel(work: Path, size: int) -> dict[str, str]:
    """One random kernel for convcli (.txt) and vips (.mat, float)."""
    weights = np.random.default_rng(15).normal(size=(size, size)) / size
    txt, mat = work / "r15.txt", work / "r15.mat"
    txt.write_text("\n".join(" ".join(repr(float(v)) for v in row) for row in weights) + "\n")
    body = "\n".join(" ".join(repr(float(v)) for v in row) for row in weights)
    mat.write_text(f"{size} {size} 1 0\n{body}\n")
    return {"txt": str(txt), "mat": str(mat)}


def with_alpha(pixels: np.ndarray) -> np.ndarray:
    """``pixels`` with an alpha plane: opaque in the middle, fading to clear at the corners."""
    h, w = pixels.shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    fade = 1.5 - np.hypot(y - h / 2, x - w / 2) / (w / 3)
    return np.dstack([pixels, np.clip(255 * fade, 0, 255).astype(np.uint8)])


def goal_rows(
    work: Path, size: int, repeat: int, only: str = ""
) -> list[tuple[str, dict[str, tuple[float, float]]]]:
    """Rows ``(case, {tool: (seconds, MiB)})`` for the strip pipeline's goals."""
    pixels = photo(size, size, seed=0)
    src = {"PNG": work / "g.png", "TIFF": work / "g.tif"}
    Image.fromarray(pixels).save(src["PNG"], compress_level=6)
    Image.fromarray(pixels).save(src["TIFF"])
    g3, g15, r15 = write_kernels(work, 3), write_kernels(work, 15), random_kernel(work, 15)
    out = {kind: str(work / f"out.{path.suffix[1:]}") for kind, path in src.items()}
    cases: list[tuple[str, str, dict[str, list[str]]]] = []
    for kind in ("TIFF", "PNG"):
        s, o = str(src[kind]), out[kind]
        cases.append(
            (
                kind,
                "3×3 Gaussian",
                {
                    "convcli": [
                        CONVCLI,
                        "apply",
                        s,
                        "-k",
                        g3["txt"],
                        "-o",
                        o,
                        "--overwrite",
                        "-q",
                    ],
                    "vips": ["vips", "conv", s, o, g3["mat2"], "--precision", "integer"],
                    **(
                        {
                            "ImageMagick": [
                                *imagemagick(),
                                s,
                                "-define",
                                "convolve:scale=!",
                                "-morphology",
                                "Convolve",
                                g3["im"],
                                o,
                            ]
                        }
                        if imagemagick() and kind == "TIFF"
                        else {}
                    ),
                },
            )
        )
        cases.append(
            (
                kind,
                "15×15 Gaussian",
                {
                    "convcli": [
                        CONVCLI,
                        "apply",
                        s,
                        "-k",
                        g15["txt"],
                        "-o",
                        o,
                        "--overwrite",
                        "-q",
                    ],
                    "vips": ["vips", "convsep", s, o, g15["mat1"], "--precision", "integer"],
                },
            )
        )
        cases.append(
            (
                kind,
                "random 15×15",
                {
                    "convcli": [
                        CONVCLI,
                        "apply",
                        s,
                        "-k",
                        r15["txt"],
                        "-o",
                        o,
                        "--overwrite",
                        "-q",
                        "--map",
                        "clip",
                    ],
                    "vips": ["vips", "conv", s, o, r15["mat"], "--precision", "float"],
                },
            )
        )
    cases.append(("PNG", "-k sobel", {
        "convcli": [CONVCLI, "apply", str(src["PNG"]), "-k", "sobel", "-o", out["PNG"],
                    "--overwrite", "-q"],
        "vips": ["vips", "sobel", str(src["PNG"]), out["PNG"]],
    }))  # fmt: skip
    # alpha-weighted colour has no libvips or ImageMagick twin: convcli's time and RSS only
    rgba = work / "ga.png"
    Image.fromarray(with_alpha(pixels), "RGBA").save(rgba, compress_level=6)
    cases.append(("PNG with alpha", "3×3 Gaussian", {
        "convcli": [CONVCLI, "apply", str(rgba), "-k", g3["txt"], "-o", out["PNG"],
                    "--overwrite", "-q"],
    }))  # fmt: skip
    rows = []
    for kind, what, tools in cases:
        if only.lower() not in f"{kind}, {what}".lower():
            continue
        if not vips():
            tools.pop("vips", None)
        times = {name: timed(repeat, cmd, work) for name, cmd in tools.items()}
        rows.append((f"{size}² RGB {kind}, {what}", times))
        print(rows[-1], flush=True)
    return rows


def big_sobel_row(work: Path, size: int) -> tuple[str, dict[str, tuple[float, float]]]:
    """Peak RSS of one Sobel of a ``size``² RGB TIFF (one run)."""
    source = work / "big.tif"
    Image.fromarray(photo(size, size, seed=1)).save(source)
    command = [CONVCLI, "apply", str(source), "-k", "sobel", "-o", str(work / "bs.tif"),
               "--overwrite", "-q", "--max-pixels", str(size * size)]  # fmt: skip
    row = (f"{size}² RGB TIFF, -k sobel", {"convcli": timed(1, command, work)})
    print(row, flush=True)
    return row


def compile_convcli() -> None:
    """Compile the convcli package the benchmark runs, as installing the wheel does."""
    where = subprocess.run(
        [sys.executable, "-c", "import convcli, os; print(os.path.dirname(convcli.__file__))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    subprocess.run([sys.executable, "-m", "compileall", "-q", where], check=True)


def goals_table(rows: list[tuple[str, dict[str, tuple[float, float]]]]) -> str:
    """The goal rows as Markdown: times, peak RSS, ratio to libvips (below 1: convcli faster)."""
    lines = [
        "| case | convcli | convcli peak RSS | libvips | libvips peak RSS | ImageMagick "
        "| convcli / libvips | convcli / ImageMagick |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case, t in rows:
        c = t["convcli"]
        cells = [f"{c[0]:.2f} s", f"{c[1]:.0f} MiB"]
        cells += [f"{t['vips'][0]:.2f} s", f"{t['vips'][1]:.0f} MiB"] if "vips" in t else ["—"] * 2
        cells.append(f"{t['ImageMagick'][0]:.2f} s" if "ImageMagick" in t else "—")
        cells += [f"{c[0] / t[p][0]:.2f}×" if p in t else "—" for p in ("vips", "ImageMagick")]
        lines.append(f"| {case} | {' | '.join(cells)} |")
    return "\n".join(lines)


def goals_header(repeat: int) -> str:
    """Date, machine and the peers' versions."""
    return (
        f"### `convcli apply` in strips, with peak RSS ({datetime.date.today()})\n\n"
        f"`python benchmarks/bench_cli_goals.py` — whole process, median of {repeat}; "
        f"{cpu()}, Python {platform.python_version()}; "
        f"peers: {peer_versions()}; load average "
        f"{os.getloadavg()[0]:.1f} at the end. Ratios are convcli / peer: below 1 means "
        "convcli is faster."
    )


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1024x1024: a smoke test")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--only", default="", help="run only the cases whose name has this")
    args = parser.parse_args()
    size = 1024 if args.quick else 4096
    compile_convcli()
    with tempfile.TemporaryDirectory(prefix="bench_cli_", dir="/var/tmp") as tmp:
        rows = goal_rows(Path(tmp), size, args.repeat, args.only)
        if args.only.lower() in "tiff, -k sobel":
            rows.append(big_sobel_row(Path(tmp), 2 * size))
    text = goals_header(args.repeat) + "\n\n" + goals_table(rows)
    print(text)
    if args.write:
        replace_block("cli-goals", text)


if __name__ == "__main__":
    main()
