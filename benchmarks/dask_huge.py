"""The ``huge`` case of ``bench_dask.py``: one N x N RGB TIFF as strip tasks on ``--dask local:2``.

Writes the TIFF strip by strip (never whole in memory), then runs, each as one process
tree watched for peak RSS (``VmHWM`` of every process, polled; the client process holds
the scheduler and the nannies, the worker processes are its children):

- ``convcli apply huge.tif -o ref.tif`` (the single-machine streaming path),
- ``convcli apply huge.tif -o out.zarr --dask local:2``,
- ``convcli apply huge.tif -o out.tif --dask local:2``,

and checks that the Zarr array holds the reference's pixels (compared strip by strip) and
that the TIFF is the same bytes.
"""

from __future__ import annotations

import datetime
import filecmp
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import tifffile
from bench_huge_tiff import write_source
from results import cpu

BIN = Path(sys.executable).parent
CONVCLI = str(BIN / "convcli") if (BIN / "convcli").exists() else "convcli"
SPEC = "gaussian:sigma=3"
LIMIT_MIB = 1024


def _peak_kib(pid: int) -> int | None:
    """The process's peak RSS so far (``VmHWM``), or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((x for x in text.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1])


def _role(proc: psutil.Process, root: int, dask: bool) -> str:
    if proc.pid == root:
        return "client (+ scheduler, nannies)" if dask else "main process"
    try:
        line = " ".join(proc.cmdline())
    except psutil.Error:
        return "gone"
    if "resource_tracker" in line:
        return "resource tracker"
    return "worker" if dask else "strip helper"  # a process sharing the image's strips


def watched(command: list[str]) -> tuple[float, dict[str, float]]:
    """Wall seconds and the peak RSS (MiB) of every process of the tree, by role."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peaks: dict[int, tuple[str, int]] = {}
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            tree = []
        for member in tree:
            kib = _peak_kib(member.pid)
            if kib is not None:
                role = peaks.get(member.pid, (_role(member, root.pid, "--dask" in command), 0))[0]
                peaks[member.pid] = (role, max(kib, peaks.get(member.pid, (role, 0))[1]))
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    _, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{err.decode()}")
    by_role: dict[str, float] = {}
    count: dict[str, int] = {}
    for role, kib in sorted(peaks.values()):
        count[role] = count.get(role, 0) + 1
        name = f"{role} {count[role]}" if role == "worker" else role
        by_role[name] = kib / 1024
    return seconds, by_role


def same_pixels(zarr_path: Path, tiff: Path, rows: int = 512) -> bool:
    """The Zarr array holds the TIFF's pixels (compared ``rows`` at a time)."""
    import zarr  # the dask extra

    array = zarr.open_array(str(zarr_path), mode="r")
    with tifffile.TiffFile(tiff) as tif:
        reference = tif.pages[0].asarray(out="memmap")
        if array.shape != reference.shape or array.dtype != reference.dtype:
            return False
        return all(
            np.array_equal(array[top : top + rows], reference[top : top + rows])
            for top in range(0, array.shape[0], rows)
        )


def run_huge(size: int, work_dir: str | None = None) -> str:
    """Run the case; return its Markdown block."""
    tmp = Path(work_dir or "/var/tmp") / f"bench_dask_huge_{os.getpid()}"
    tmp.mkdir()
    try:
        need = 4 * size * size * 3
        if shutil.disk_usage(tmp).free < need * 1.2:
            sys.exit(f"needs {need / 2**30:.1f} GiB free in {tmp}")
        source = tmp / "huge.tif"
        start = time.perf_counter()
        write_source(source, size)
        print(f"wrote {size}x{size} RGB TIFF in {time.perf_counter() - start:.0f} s", flush=True)
        base = [CONVCLI, "apply", str(source), "-k", SPEC, "-q", "--max-pixels", str(size * size)]
        dask = ["--dask", "local:2"]
        runs = {
            "streaming (no Dask)": [*base, "-o", str(tmp / "ref.tif")],
            "`-o out.zarr --dask local:2`": [*base, "-o", str(tmp / "out.zarr"), *dask],
            "`-o out.tif --dask local:2`": [*base, "-o", str(tmp / "out.tif"), *dask],
        }
        measured = {}
        for name, command in runs.items():
            measured[name] = watched(command)
            print(name, measured[name], flush=True)
        zarr_same = same_pixels(tmp / "out.zarr", tmp / "ref.tif")
        tiff_same = filecmp.cmp(tmp / "out.tif", tmp / "ref.tif", shallow=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _report(size, measured, zarr_same, tiff_same)


def _report(
    size: int, measured: dict[str, tuple[float, dict[str, float]]], zarr_same: bool,
    tiff_same: bool,
) -> str:  # fmt: skip
    stream = measured["streaming (no Dask)"][0]
    rows = []
    for name, (seconds, peaks) in measured.items():
        top = max(peaks.values())
        each = ", ".join(f"{role} {mib:.0f}" for role, mib in peaks.items())
        verdict = "yes" if top < LIMIT_MIB else "**no**"
        rows.append(f"| {name} | {seconds:.1f} s | {seconds / stream:.2f}× | {each} | {verdict} |")
    load = os.getloadavg()[0]
    return (
        f"### One {size}×{size} RGB TIFF on `--dask local:2` ({datetime.date.today()})\n\n"
        f"`python benchmarks/bench_dask.py --case huge --size {size}` — `-k {SPEC}`; "
        f"{cpu()}, Python {platform.python_version()}; "
        f"load average {load:.2f} at the end. Peak RSS of every process (MiB).\n\n"
        "| run | wall | / streaming | peak RSS by process (MiB) | every process < 1 GiB |\n"
        "|---|---:|---:|---|---|\n" + "\n".join(rows) + "\n\n"
        f"Zarr array bit-identical to the streaming TIFF: {'yes' if zarr_same else '**no**'}; "
        f"`--dask` TIFF byte-identical: {'yes' if tiff_same else '**no**'}."
    )
