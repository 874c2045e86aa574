"""``convcli apply DIR --dask local:2`` against ``--jobs 2``: what the Dask scheduler costs.

Whole-process wall times (best of ``--repeat``, the two runs alternating) on a folder of
~1 MP JPEG photos made from ``sample_images/`` (turned, cropped, resized to 1152x864), with
the 3x3 Gaussian. A one-photo run of each gives the start-up cost of the local cluster.
From the Dask run come the figures of the throughput model for N machines written to
``benchmarks/RESULTS.md`` with ``--write``.

    python benchmarks/bench_dask.py             # 200 photos
    python benchmarks/bench_dask.py --count 20  # a smoke test
    python benchmarks/bench_dask.py --case huge               # one 20000x20000 RGB TIFF
    python benchmarks/bench_dask.py --case huge --size 4000   # the same, smaller

The ``huge`` case (:mod:`dask_huge`) runs one big TIFF as strip tasks and measures the peak
RSS of every process (client and scheduler, workers) against the streaming path.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from dask_huge import run_huge
from PIL import Image
from results import cpu, replace_block

BIN = Path(sys.executable).parent
CONVCLI = str(BIN / "convcli") if (BIN / "convcli").exists() else "convcli"
SAMPLES = Path(__file__).parents[1] / "sample_images"
KERNEL = "gaussian_blur_3x3"
RUNNERS = {"jobs": ["--jobs", "2"], "dask": ["--dask", "local:2"]}


def make_photos(folder: Path, count: int) -> None:
    """``count`` JPEG photos of 1152x864 from the sample photographs."""
    sources = []
    for name in ("astronaut.png", "coffee.png", "camera.png"):
        with Image.open(SAMPLES / name) as image:
            sources.append(image.convert("RGB"))
    for i in range(count):
        photo = sources[i % len(sources)].rotate(i * 7, resample=Image.Resampling.BILINEAR)
        side = min(photo.size) - (i % 40)
        photo = photo.crop((i % 40, i % 40, side, side * 3 // 4))
        photo.resize((1152, 864), Image.Resampling.BICUBIC).save(
            folder / f"p{i:03d}.jpg", quality=90
        )


def wall_time(folder: Path, out: Path, runner: Sequence[str]) -> float:
    """Seconds for one whole ``convcli apply`` process."""
    command = [CONVCLI, "apply", str(folder), "-k", KERNEL, "-o", f"{out}/", "--overwrite", "-q"]
    start = time.perf_counter()
    subprocess.run([*command, *runner], check=True, capture_output=True)
    return time.perf_counter() - start


def measure(work: Path, count: int, repeat: int) -> dict[str, float]:
    """Best wall times: ``jobs``/``dask`` on the folder, ``jobs1``/``dask1`` on one photo."""
    folder, single = work / "photos", work / "one"
    folder.mkdir()
    single.mkdir()
    make_photos(folder, count)
    (single / "p000.jpg").write_bytes((folder / "p000.jpg").read_bytes())
    times: dict[str, list[float]] = {}
    for _ in range(repeat):
        for name, runner in RUNNERS.items():
            times.setdefault(name, []).append(wall_time(folder, work / name, runner))
            times.setdefault(f"{name}1", []).append(wall_time(single, work / "one_out", runner))
    best = {name: min(values) for name, values in times.items()}
    best["bytes"] = sum(p.stat().st_size for d in (folder, work / "dask") for p in d.iterdir())
    print(best, flush=True)
    return best


def report(best: dict[str, float], count: int, repeat: int) -> str:
    """The Markdown block: the comparison, then the throughput model."""
    ratio = best["dask"] / best["jobs"]
    startup = best["dask1"] - best["jobs1"]
    rate = count / (best["dask"] - startup) / 2  # images/s of one worker, start-up excluded
    per_image = best["bytes"] / count
    extra_ms = ((best["dask"] - startup) - best["jobs"]) / count * 1000
    noise = f"no measurable time ({extra_ms:+.1f} ms, within the runs' noise)"
    extra = f"{extra_ms:.1f} ms" if extra_ms >= 0.05 else noise
    load = os.getloadavg()[0]
    return (
        f"### `--dask local:2` against `--jobs 2` ({datetime.date.today()})\n\n"
        f"`python benchmarks/bench_dask.py` — whole-process wall time, best of {repeat}; "
        f"{cpu()}, Python {platform.python_version()}; "
        f"load average {load:.2f} at the end. {count} JPEG photos of 1152×864, `-k {KERNEL}`.\n\n"
        "| run | `--jobs 2` | `--dask local:2` | dask / jobs |\n|---|---:|---:|---:|\n"
        f"| {count} photos | {best['jobs']:.2f} s | {best['dask']:.2f} s | {ratio:.2f}× |\n"
        f"| 1 photo (start-up) | {best['jobs1']:.2f} s | {best['dask1']:.2f} s | "
        f"{best['dask1'] / best['jobs1']:.2f}× |\n\n"
        f"Throughput model for N machines of c cores each (one single-threaded worker per "
        f"core): images/s ≈ N · c · r with r = {rate:.1f} images/s per worker measured here "
        f"(start-up of {startup:.1f} s excluded), until the shared storage is the limit: each "
        f"image moves {per_image / 1e6:.2f} MB (JPEG read + written), so storage serving B MB/s "
        f"caps the cluster at B / {per_image / 1e6:.2f} images/s (a 1 Gbit/s NFS server, "
        f"~110 MB/s: ~{110e6 / per_image:.0f} images/s, i.e. ~{110e6 / per_image / rate:.0f} "
        f"workers). Beyond its start-up, the cluster cost {extra} of wall time per "
        "image here against `--jobs 2` (scheduling, and the scheduler sharing the 2 cores)."
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="photos in the folder")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--case", choices=["batch", "huge"], default="batch")
    parser.add_argument("--size", type=int, default=20000, help="the huge case's image side")
    parser.add_argument("--dir", default=None, help="the huge case's work folder [/var/tmp]")
    args = parser.parse_args(argv)
    if args.case == "huge":
        text = run_huge(args.size, args.dir)
        print(text)
        if args.write:
            replace_block("dask-huge", text)
        return
    with tempfile.TemporaryDirectory(prefix="bench_dask_") as tmp:
        best = measure(Path(tmp), args.count, args.repeat)
    text = report(best, args.count, args.repeat)
    print(text)
    if args.write:
        replace_block("dask", text)


if __name__ == "__main__":
    main()
