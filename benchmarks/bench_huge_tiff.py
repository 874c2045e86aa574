"""A TIFF bigger than the bomb guard through `convcli apply` in strips: peak memory and bytes.

Writes an N x N RGB 8-bit TIFF (default 30000: 2.7 GB decoded) strip by strip with
tifffile in a temporary folder, runs ``convcli apply`` on it with each kernel under
``/usr/bin/time -v`` (peak RSS), and checks crops of the output rows against the engine
run on the input (memory-mapped) with the same mapping and rounding. Everything is
deleted at the end. Needs about 3 x N*N*3 bytes of free disk.

    python benchmarks/bench_huge_tiff.py            # 30000x30000, -k blur, gaussian:sigma=5
    python benchmarks/bench_huge_tiff.py --size 8000 --kernel sobel
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

from convcli.engine import convolve_rows, tile_quantum
from convcli.kernels import Kernel, parse_kernel_spec
from convcli.pipeline.filtering import kernel_geometry
from convcli.pipeline.plan import ConvOptions
from convcli.values import map_values, to_pixels

BIN = Path(sys.executable).parent
CONVCLI = str(BIN / "convcli") if (BIN / "convcli").exists() else "convcli"


def write_source(path: Path, size: int) -> None:
    """A photo-like N x N RGB TIFF, written 256 rows at a time (never whole in memory)."""
    rng = np.random.default_rng(0)
    x = np.arange(size, dtype=np.float32)

    def strips():  # type: ignore[no-untyped-def]
        for top in range(0, size, 256):
            y = np.arange(top, min(top + 256, size), dtype=np.float32)[:, None]
            wave = 128 + 90 * np.sin(y / 700) * np.cos(x / 900)
            grain = rng.normal(0, 8, (y.shape[0], size, 3)).astype(np.float32)
            yield np.clip(wave[..., None] + grain, 0, 255).astype(np.uint8)

    tifffile.imwrite(path, strips(), shape=(size, size, 3), dtype=np.uint8, photometric="rgb",
                     rowsperstrip=256, bigtiff=size * size * 3 > 2**32 - 2**25)  # fmt: skip


def run(source: Path, out: Path, spec: str, size: int) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one ``convcli apply``."""
    command = ["/usr/bin/time", "-v", CONVCLI, "apply", str(source), "-k", spec, "-o", str(out),
               "--overwrite", "-q", "--max-pixels", str(size * size)]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    assert peak is not None, done.stderr
    return seconds, int(peak.group(1)) / 1024


def check_crops(source: Path, out: Path, spec: str) -> int:
    """Compare three crops of output rows with the engine on the memory-mapped input."""
    kernel = parse_kernel_spec(spec)
    assert isinstance(kernel, Kernel)
    image = tifffile.memmap(source)
    written = tifffile.memmap(out)
    options = ConvOptions()
    geometry = kernel_geometry(kernel, image.shape[:2], options)
    q = tile_quantum(kernel.weights, geometry, channels=3)
    height = geometry.output_hw[0]
    starts = [0, (height // 2) // q * q, (height - 1) // q * q]
    for start in starts:
        rows = (start, min(start + 2 * q, height))
        result = convolve_rows(image, kernel.weights, geometry, rows,
                               padding_mode=options.padding_mode)  # fmt: skip
        mapped, _ = map_values(result.output, "auto", max_value=255.0, kernel_sum=kernel.sum)
        expected = to_pixels(mapped, 8, max_value=255.0)
        np.testing.assert_array_equal(written[rows[0] : rows[1]], expected)
    return len(starts)


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=30000)
    parser.add_argument("--kernel", action="append", default=None)
    args = parser.parse_args()
    kernels = args.kernel or ["blur", "gaussian:sigma=5"]
    with tempfile.TemporaryDirectory(prefix="bench_huge_", dir="/var/tmp") as tmp:
        work = Path(tmp)
        need = 3 * args.size**2 * 3
        free = shutil.disk_usage(work).free
        if free < need * 1.2:
            sys.exit(f"needs {need / 2**30:.1f} GiB free in {work}; {free / 2**30:.1f} GiB free")
        source = work / "huge.tif"
        start = time.perf_counter()
        write_source(source, args.size)
        print(f"wrote {args.size}x{args.size} RGB TIFF in {time.perf_counter() - start:.0f} s")
        for spec in kernels:
            out = work / "out.tif"
            seconds, peak = run(source, out, spec, args.size)
            crops = check_crops(source, out, spec)
            print(f"| {args.size}² RGB TIFF `-k {spec}` | {seconds:.0f} s | {peak:.0f} MiB | "
                  f"{crops} crops bit-identical |", flush=True)  # fmt: skip
            out.unlink()


if __name__ == "__main__":
    main()
