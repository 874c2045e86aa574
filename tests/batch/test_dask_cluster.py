"""``apply --dask`` on real Dask processes: a scheduler and workers on 127.0.0.1, a local cluster.

Outputs are compared byte for byte with a local run of the same batch.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
Proc = Any  # the conftest's Proc: a process whose output lines are read on threads

KERNEL = ["-k", "gaussian:sigma=3", "--method", "direct"]  # ~0.1 s an image: a batch lasts
PHOTOS = 40
LOCALHOST = ["--host", "127.0.0.1", "--no-dashboard"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 small real photographs (the astronaut, turned and cropped)."""
    folder = tmp_path_factory.mktemp("photos")
    with Image.open(Path(__file__).parents[2] / "sample_images/astronaut.png") as im:
        photo = im.convert("RGB")
    for i in range(PHOTOS):
        turned = photo.rotate(i * 9, resample=Image.Resampling.BILINEAR)
        turned.crop((i, i, 200 + i, 200 + i)).save(folder / f"p{i:02d}.png")
    return folder


@pytest.fixture(scope="module")
def reference(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The outputs of a local run: file name -> bytes."""
    out = tmp_path_factory.mktemp("reference")
    args = [BIN / "convcli", "apply", photos, "-o", f"{out}/", *KERNEL, "-q"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return {p.name: p.read_bytes() for p in out.iterdir()}


def records(proc: Proc) -> dict[str, dict[str, object]]:
    """The --json records by input file name; each input must appear once."""
    parsed = [json.loads(line) for line in proc.lines]
    by_name = {Path(str(r["input"])).name: r for r in parsed}
    assert len(by_name) == len(parsed), "an input was reported twice"
    return by_name


def assert_same_files(out: Path, reference: dict[str, bytes]) -> None:
    """Every output written, byte-identical, and nothing else in the folder (no temp files)."""
    written = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(written) == sorted(reference)
    different = [name for name in written if written[name] != reference[name]]
    assert different == []


def test_scheduler_and_workers_survive_a_killed_worker(
    photos: Path, reference: dict[str, bytes], tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    scheduler = procs([BIN / "dask", "scheduler", *LOCALHOST, "--port", "0"])
    address = scheduler.wait_for(r"Scheduler at:\s+(tcp://\S+)").group(1)
    worker = [BIN / "dask", "worker", address, *LOCALHOST, "--nthreads", "1", "--no-nanny"]
    workers = [procs([*worker, "--name", name]) for name in ("doomed", "survivor")]
    for worker in workers:
        worker.wait_for("Registered to:")
    out = tmp_path / "out"
    run = procs([BIN / "convcli", "apply", photos, "-o", f"{out}/", *KERNEL, "--json",
                 "--dask", address], read="stdout")  # fmt: skip
    run.wait_for('"status": "ok"')
    workers[0].signal(signal.SIGKILL)
    done_before_the_kill = len(run.lines)
    assert run.wait() == 0, "".join(run.other)
    assert done_before_the_kill < PHOTOS
    found = records(run)
    assert sorted(found) == sorted(p.name for p in photos.iterdir())
    assert {r["status"] for r in found.values()} == {"ok"}
    assert_same_files(out, reference)
    assert "Traceback" not in "".join(run.other)


def test_local_cluster_same_bytes_skip_existing_and_a_broken_file(
    photos: Path, reference: dict[str, bytes], tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    names = sorted(p.name for p in photos.iterdir())[:6]
    for name in names:
        (folder / name).write_bytes((photos / name).read_bytes())
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    out = tmp_path / "out"
    out.mkdir()
    kept = next(n for n in reference if n.startswith("p00_"))
    (out / kept).write_bytes(b"kept")
    run = procs([BIN / "convcli", "apply", folder, "-o", f"{out}/", *KERNEL, "--json",
                 "--skip-existing", "--dask", "local:2"], read="stdout")  # fmt: skip
    assert run.wait() == 1
    found = records(run)
    assert found["broken.png"]["status"] == "failed"
    assert found["p00.png"]["status"] == "skipped"
    assert [found[n]["status"] for n in names[1:]] == ["ok"] * 5
    stderr = "".join(run.other)
    assert stderr.count("convcli: error: ") == 1
    assert f"convcli: error: {folder / 'broken.png'}: " in stderr
    assert "Traceback" not in stderr
    assert (out / kept).read_bytes() == b"kept"
    expected = {n: b for n, b in reference.items() if n.split("_")[0] + ".png" in names[1:]}
    assert_same_files(out, {**expected, kept: b"kept"})


def test_ctrl_c_cancels_the_rest_and_stops_the_local_cluster(
    photos: Path, reference: dict[str, bytes], tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    out = tmp_path / "out"
    run = procs([BIN / "convcli", "apply", photos, "-o", f"{out}/", *KERNEL, "--json",
                 "--dask", "local:2"], read="stdout")  # fmt: skip
    run.wait_for('"status": "ok"')
    run.signal(signal.SIGINT)
    code = run.wait()
    stderr = "".join(run.other)
    assert code == 130, stderr
    assert stderr.splitlines()[-1] == "convcli: interrupted", stderr
    assert "Traceback" not in stderr, stderr
    written = {p.name: p.read_bytes() for p in out.iterdir()}
    assert 0 < len(written) < PHOTOS, sorted(written)
    assert all(reference[name] == data for name, data in written.items())
    assert run.running_in_group() == []


POISON_RUN = """
import os
from pathlib import Path

import dask
from convcli.batch import InputFile, Job, Outcome
from convcli.batch.cluster import DaskTarget
from convcli.batch.dask import run_on_dask

def worker(job):  # defined in __main__: sent to the workers by value
    if job.source.display == "poison":
        os._exit(3)  # the file kills the worker process running it, every time
    return Outcome(job, error="fine")

if __name__ == "__main__":
    names = [f"f{i:02d}" for i in range(40)]
    names[13] = "poison"
    jobs = [Job(InputFile(Path(n)), (), ()) for n in names]
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        for job, outcome in run_on_dask(jobs, worker, DaskTarget(workers=2)):
            print(job.source.display, outcome.error, flush=True)
"""


def test_a_file_that_kills_its_workers_fails_alone(tmp_path: Path) -> None:
    script = tmp_path / "poison.py"
    script.write_text(POISON_RUN)
    done = subprocess.run([sys.executable, script], capture_output=True, text=True,
                          timeout=240, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 40, done.stdout
    assert sorted(lines) == sorted(
        [f"f{i:02d} fine" for i in range(40) if i != 13]
        + ["poison poison: its Dask worker died on each of 1 tries"]
    )


EARLY = """
import os, signal, sys
import convcli.batch.early as early
mode = sys.argv[1]
real_serve = early._serve
def serve(parent, jobs, worker, claims, results):
    made = []
    def first_files(job):  # the early process's worker
        made.append(job)
        print("early", job.source.display, file=sys.stderr, flush=True)
        if mode == "die" and len(made) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "wait":
            signal.pause()  # Ctrl-C ends the pause; the file is then given up
        return worker(job)
    real_serve(parent, jobs, first_files, claims, results)
early._serve = serve
sys.argv = ["convcli", *sys.argv[2:]]
from convcli.cli import main
main()
"""


def test_first_files_are_filtered_while_the_cluster_starts(
    photos: Path, reference: dict[str, bytes], tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    """The process forked before Dask loads takes the first files; the cluster the rest;
    each file once, the bytes of a local run. One that dies: its file goes to the cluster."""
    for mode in ("none", "die"):
        out = tmp_path / mode
        run = procs([sys.executable, "-c", EARLY, mode, "apply", photos, "-o", f"{out}/",
                     *KERNEL, "--json", "--dask", "local:2"], read="stdout")  # fmt: skip
        assert run.wait() == 0, "".join(run.other)
        early = [line.split()[1] for line in run.other if line.startswith("early ")]
        assert 1 <= len(early) < PHOTOS, early
        assert early == [f"{photos / f'p{i:02d}.png'}" for i in range(len(early))]
        found = records(run)
        assert len(found) == PHOTOS
        assert {r["status"] for r in found.values()} == {"ok"}
        assert_same_files(out, reference)
        assert "Traceback" not in "".join(run.other)
        if mode == "die":
            assert len(early) >= 2  # the second file killed it: the cluster made it


def test_ctrl_c_while_dask_loads_stops_the_first_files(
    photos: Path, tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    out = tmp_path / "out"
    run = procs([sys.executable, "-c", EARLY, "wait", "apply", photos, "-o", f"{out}/",
                 *KERNEL, "--json", "--dask", "local:2"], read="stderr")  # fmt: skip
    run.wait_for("early ")
    run.signal(signal.SIGINT)
    assert run.wait() == 130
    assert run.lines[-1].strip() == "convcli: interrupted", run.lines
    assert "Traceback" not in "".join(run.lines)
    assert not out.exists() or list(out.iterdir()) == []
    assert run.running_in_group() == []
