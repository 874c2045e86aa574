"""``--dask`` without a cluster: the value, the extra, usage errors, versions, lost workers."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from convcli.batch import InputFile, Job
from convcli.batch.cluster import DaskTarget, parse_dask_target
from convcli.cli import cli
from convcli.errors import ClusterError

MINE = version("convcli")


def apply(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, ["apply", *args], env=env, catch_exceptions=False)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "a.png"
    Image.fromarray(np.zeros((4, 5, 3), dtype=np.uint8)).save(path)
    return path


def job(name: str, *outputs: str) -> Job:
    return Job(InputFile(Path(name)), tuple(outputs), tuple("png" for _ in outputs))


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("local", DaskTarget()),
        ("local:3", DaskTarget(workers=3)),
        (" tcp://10.0.0.5:8786 ", DaskTarget(address="tcp://10.0.0.5:8786")),
        ("tls://scheduler.example:8786", DaskTarget(address="tls://scheduler.example:8786")),
    ],
)
def test_dask_values(text: str, target: DaskTarget) -> None:
    assert parse_dask_target(text) == target


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("local:0", "local:0 has no workers; give local:N with N >= 1"),
        ("local:x", "'local:x' is not local, local:N or a scheduler address like tcp://host:8786"),
        ("10.0.0.5:8786", "'10.0.0.5:8786' is not local, local:N or a scheduler address"),
    ],
)
def test_bad_dask_values(text: str, message: str) -> None:
    with pytest.raises(ClusterError, match="^" + message.replace("(", r"\(")):
        parse_dask_target(text)


def test_bad_dask_value_is_a_usage_error(photo: Path) -> None:
    done = apply(str(photo), "-k", "sobel", "--dask", "nowhere")
    assert done.exit_code == 2
    assert "Invalid value for '--dask': 'nowhere' is not local, local:N" in done.output


def test_dask_value_from_the_environment(photo: Path) -> None:
    done = apply(str(photo), "-k", "sobel", env={"CONVCLI_DASK": "local:0"})
    assert done.exit_code == 2
    assert "Invalid value for '--dask': local:0 has no workers" in done.output


def test_jobs_and_dask_together_are_a_usage_error(photo: Path) -> None:
    done = apply(str(photo), "-k", "sobel", "--jobs", "2", "--dask", "local:2")
    assert done.exit_code == 2
    assert "--jobs is for local processes; with --dask give local:N for N workers" in done.output


def test_without_the_extra_one_line_names_it(photo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name)
    )
    done = apply(str(photo), "-k", "sobel", "--dask", "local:2")
    assert done.exit_code == 2
    assert done.output == (
        'convcli: error: --dask needs Dask, which is not installed: pip install "convcli[dask]"\n'
    )


def test_dry_run_starts_no_cluster(photo: Path, tmp_path: Path) -> None:
    done = apply(str(photo), "-k", "sobel", "-o", f"{tmp_path}/out/", "-n", "--dask", "local:2")
    assert done.exit_code == 0
    assert done.output == f"would write {tmp_path}/out/a_sobel.png <- {photo}\n"


def test_nothing_to_do_reaches_no_scheduler(photo: Path, tmp_path: Path) -> None:
    (tmp_path / "o.png").write_bytes(b"kept")
    done = apply(str(photo), "-k", "sobel", "-o", f"{tmp_path}/o.png", "--skip-existing",
                 "--json", "--dask", "tcp://127.0.0.1:9")  # fmt: skip
    assert done.exit_code == 0
    assert json.loads(done.output)["status"] == "skipped"
    assert (tmp_path / "o.png").read_bytes() == b"kept"


class FakeClient:
    """What check_versions uses of a Dask client: ``run`` on every worker."""

    def __init__(self, found: dict[str, object]) -> None:
        self.found = found

    def run(self, function: Any, *args: Any, on_error: str) -> dict[str, object]:
        assert (function, args, on_error) == (version, ("convcli",), "return")
        return self.found


def test_workers_with_this_version_pass() -> None:
    dask = pytest.importorskip("convcli.batch.dask")
    dask.check_versions(FakeClient({"tcp://a:1": MINE, "tcp://b:1": MINE}))


@pytest.mark.parametrize(
    ("found", "message"),
    [
        ("0.0.1", f"Dask worker tcp://b:1 runs convcli 0.0.1 but this client runs {MINE}; "
                  "install the same version on every worker"),
        (PackageNotFoundError("convcli"),
         f"Dask worker tcp://b:1 has no convcli installed; install convcli {MINE} there"),
        (OSError("gone"), "Dask worker tcp://b:1 cannot report its convcli version: gone"),
    ],
)  # fmt: skip
def test_workers_with_another_version_are_named(found: object, message: str) -> None:
    dask = pytest.importorskip("convcli.batch.dask")
    with pytest.raises(ClusterError) as raised:
        dask.check_versions(FakeClient({"tcp://a:1": MINE, "tcp://b:1": found}))
    assert str(raised.value) == message


def test_a_file_whose_workers_all_died_is_one_failure() -> None:
    dask = pytest.importorskip("convcli.batch.dask")
    killed = dask.KilledWorker("key", SimpleNamespace(address="tcp://w:1"), allowed_failures=3)
    outcome = dask._killed(job("in/a.png", "out/a.png"), killed)
    assert outcome.result is None
    assert outcome.error == "in/a.png: its Dask worker died on each of 4 tries"


def test_leftover_temporary_files_are_removed(tmp_path: Path) -> None:
    dask = pytest.importorskip("convcli.batch.dask")
    # atomic_write's temporaries are .NAME.PID.TOKEN.tmp; other hidden files are not touched
    names = [
        ".a_sobel.png.4242.0a1b2c3d.tmp",
        ".b.png.4242.0a1b2c3d.tmp",
        "a_sobel.png",
        ".c.png.17.deadbeef.tmp",
        ".c.png.x.tmp",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    jobs = [job("a.png", str(tmp_path / "a_sobel.png")), job("c.png", str(tmp_path / "c.png"))]
    removed = dask.remove_leftovers([*jobs, job("-", "-")])
    assert sorted(p.name for p in removed) == [
        ".a_sobel.png.4242.0a1b2c3d.tmp",
        ".c.png.17.deadbeef.tmp",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".b.png.4242.0a1b2c3d.tmp",
        ".c.png.x.tmp",
        "a_sobel.png",
    ]


def test_unreachable_scheduler_is_one_line(photo: Path, tmp_path: Path) -> None:
    # in a process of its own: Dask's client is not for a test process's warning filters
    pytest.importorskip("distributed")
    code = (
        "import sys, convcli.batch.dask as d; from convcli.cli import main\n"
        "d.CONNECT_TIMEOUT = 0.5\n"
        f"sys.argv[1:] = ['apply', {str(photo)!r}, '-k', 'sobel',"
        f" '-o', {str(tmp_path / 'o.png')!r}, '--dask', 'tcp://127.0.0.1:9']\n"
        "main()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith(
        "convcli: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9: "
    )
    assert done.stderr.count("\n") == 1
    assert not (tmp_path / "o.png").exists()


def test_apply_without_dask_imports_no_dask(photo: Path, tmp_path: Path) -> None:
    code = (
        "import atexit, sys; from convcli.cli import main; sys.argv[1:] = "
        f"['apply', {str(photo)!r}, '-k', 'sobel', '-o', {str(tmp_path / 'o.png')!r}, '-q']\n"
        "dask = {'dask', 'distributed', 'zarr'}\n"
        "atexit.register(lambda: print(sorted(dask & set(sys.modules))))\n"
        "main()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.stdout, done.returncode) == ("[]\n", 0), done.stderr


def test_dask_modules_leave_zarr_unloaded() -> None:
    # a --dask run of one image file loads convcli.batch.huge to see whether it splits: Zarr
    # (0.1 s to import) is loaded only once an output is a Zarr array
    pytest.importorskip("distributed")
    code = "import sys, convcli.batch.huge; print('zarr' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.stdout, done.returncode) == ("False\n", 0), done.stderr


def test_an_interrupt_swallowed_during_a_dask_run_is_raised_again() -> None:
    # Dask's scheduler hooks a garbage-collector callback into the client; a Ctrl-C raised
    # inside it was printed as "Exception ignored" and lost, and the run ended with exit 0
    dask = pytest.importorskip("convcli.batch.dask")
    before = signal.getsignal(signal.SIGINT)
    with dask.kept_interrupts() as check:
        check()  # nothing caught: nothing raised
        handler = signal.getsignal(signal.SIGINT)
        assert handler is not before
        with pytest.raises(KeyboardInterrupt):
            handler(signal.SIGINT, None)  # raised where it lands, as before
        with pytest.raises(KeyboardInterrupt):
            check()  # and again by the run's next check, in case that one was swallowed
        check()  # once
    assert signal.getsignal(signal.SIGINT) is before


def test_an_interrupt_inside_dasks_gc_callback_waits_for_the_check() -> None:
    dask = pytest.importorskip("convcli.batch.dask")
    import distributed.gc

    callback = SimpleNamespace(f_code=distributed.gc.GCDiagnosis._gc_callback.__code__,
                               f_back=None)  # fmt: skip
    inner = SimpleNamespace(f_code=test_dask_values.__code__, f_back=callback)
    with dask.kept_interrupts() as check:
        handler = signal.getsignal(signal.SIGINT)
        assert callable(handler)
        assert handler(signal.SIGINT, inner) is None  # not raised inside the callback
        with pytest.raises(KeyboardInterrupt):
            check()  # but by the run's next check
