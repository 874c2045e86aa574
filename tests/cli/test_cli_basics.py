"""The command group itself: help, version, unknown commands, error mapping."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import convcli
from convcli.cli import COMMANDS, ConvcliGroup, cli
from convcli.errors import ConvcliError, ExitCode


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_all_commands(command, (*prefix, name)))
    return found


def test_version_is_the_package_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"convcli, version {convcli.__version__}\n"
    assert convcli.__version__ != "0+unknown"


def test_help_lists_the_everyday_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "convcli apply img.png -k sobel_x" in result.output


@pytest.mark.parametrize("path", _all_commands(cli))
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    command: click.Command | None = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.get_command(click.Context(command), name)
    assert command is not None
    assert command.help, f"{' '.join(path)} has no help text"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_top_level_help_shows_each_commands_own_short_help(name: str) -> None:
    # `convcli --help` prints COMMANDS' table without importing the commands: keep them equal
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert COMMANDS[name][2] == command.get_short_help_str(limit=1000)


def test_help_and_version_load_neither_numpy_nor_pillow() -> None:
    code = (
        "import sys; from convcli.cli import cli\n"
        "for args in (['--help'], ['--version']):\n"
        "    try: cli.main(args, prog_name='convcli')\n"
        "    except SystemExit: pass\n"
        "print(sorted(m for m in ('numpy', 'PIL', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


NOT_LOADED_BY_A_QUIET_APPLY = {
    "rich",  # prints nothing with -q
    "concurrent.futures.process",  # one image needs no process pool
    "numpy.ma",  # numpy.unique's lazy import is avoided (np.percentile still needs it)
    "secrets",  # temporary names come from os.urandom
    "shutil",  # only removing a stale Zarr temporary folder needs it
    "hashlib",  # only --record's digests
    "convcli.emit",  # only --emit writes programs
    "shlex",  # only --emit quotes a command line
    "convcli.batch.cluster",  # only --dask
    "importlib.util",  # only --dask checks that the extra is installed
    "numpy.typing",  # the engine's annotations only
    "convcli.io.frames",  # only files of several frames, filtered frame by frame
}
"""Modules a quiet one-image ``apply`` must not import: each costs every script run start-up."""


# tifffile is needed for a TIFF only, and it imports json itself
@pytest.mark.parametrize(("suffix", "unused"), [(".png", {"tifffile", "json"}), (".tif", set())])
def test_a_quiet_apply_loads_neither_rich_nor_a_process_pool(
    tmp_path: Path, suffix: str, unused: set[str]
) -> None:
    # script runs pay no start-up for what they do not use (auto's robust gain, as for
    # -k sobel, still needs np.percentile and so numpy.ma: -k blur avoids it)
    modules = sorted(NOT_LOADED_BY_A_QUIET_APPLY | unused)
    source = tmp_path / f"in{suffix}"
    Image.fromarray(np.arange(48 * 40 * 3, dtype=np.uint8).reshape(48, 40, 3)).save(source)
    code = (
        "import atexit, sys; from convcli.cli import main; sys.argv[1:] = "
        f"['apply', {str(source)!r}, '-k', 'blur', '-o', {str(tmp_path / 'o')!r} + {suffix!r}, "
        "'-q']\n"
        f"atexit.register(lambda: print(sorted(set({modules!r}) & set(sys.modules))))\n"
        "main()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.stdout, done.returncode) == ("[]\n", 0), done.stderr
    assert (tmp_path / f"o{suffix}").exists()


def test_the_console_script_loads_a_command_without_collecting_and_freezes_it() -> None:
    # imports make no garbage: no search for cycles while the command's modules load (the
    # collector runs again for the command), and what they built is frozen
    code = (
        "import atexit, gc, sys; from convcli.cli import main\n"
        "sys.argv[1:] = ['apply', '--help']\n"
        "loading = []\n"
        "def seen(phase, info):\n"
        "    module = sys.modules.get('convcli.cli.apply')\n"
        "    loading.append(module is not None and not hasattr(module, 'apply_command'))\n"
        "gc.callbacks.append(seen)\n"
        "frozen = gc.get_freeze_count\n"
        "atexit.register(lambda: print(any(loading), gc.isenabled(), frozen() > 1000))\n"
        "main()"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "False True True"


EXIT_CODE = (
    "import atexit, sys, threading; from convcli.cli import main\n"
    "sys.argv[1:] = {args!r}\n"
    "atexit.register(lambda: print('exit handler ran', end=''))\n"
    "if {thread}:\n"
    "    def after_main():\n"
    "        threading.main_thread().join()\n"
    "        print('joined', end='')\n"
    "    threading.Thread(target=after_main).start()\n"
    "main()"
)


@pytest.mark.parametrize(
    ("args", "code"), [(["kernels", "--json"], 0), (["shape", "nothere.png"], 1)]
)
def test_the_console_script_ends_without_the_interpreters_shutdown(
    args: list[str], code: int
) -> None:
    """Python's shutdown only takes apart what the process is losing: skipped, but the exit
    handlers run, standard output is flushed (unfinished lines too) and the code stands."""
    source = EXIT_CODE.format(args=args, thread=False)
    done = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == code, done.stderr
    assert done.stdout.endswith("exit handler ran")
    assert done.stderr.count("\n") == code  # the one error line, if any


def test_a_thread_still_running_gets_the_interpreters_shutdown() -> None:
    """A thread other than the engine's idle workers (Dask's client) is joined as usual."""
    source = EXIT_CODE.format(args=["kernels", "--json"], thread=True)
    done = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("joinedexit handler ran")  # joined, then the handlers


@pytest.mark.parametrize(("given", "threads"), [(None, "1 1"), ("2", "2 2")])
def test_the_console_script_keeps_openblas_to_one_thread(given: str | None, threads: str) -> None:
    """NumPy loads after main() starts, its OpenBLAS on one thread unless the user says."""
    code = (
        "import atexit, os, sys; from convcli.cli import main\n"
        "sys.argv[1:] = ['kernels', '--json']\n"
        "def threads():\n"
        "    import numpy\n"
        "    print(os.environ['OPENBLAS_NUM_THREADS'], len(os.listdir('/proc/self/task')),"
        " file=sys.stderr)\n"
        "atexit.register(threads)\n"
        "main()"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60, check=True)  # fmt: skip
    assert done.stderr.splitlines()[-1] == threads


def test_the_cli_run_in_process_leaves_the_garbage_collector_alone() -> None:
    frozen = gc.get_freeze_count()
    assert CliRunner().invoke(cli, ["kernels", "--json"]).exit_code == 0
    assert (gc.get_freeze_count(), gc.isenabled()) == (frozen, True)


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == ExitCode.USAGE == 2
    assert "No such command 'frobnicate'" in result.output


def test_convcli_error_becomes_one_line_and_exit_1() -> None:
    group = ConvcliGroup()

    @group.command()
    def boom() -> None:
        msg = "input.png: not an image"
        raise ConvcliError(msg)

    result = CliRunner().invoke(group, ["boom"])
    assert result.exit_code == 1
    assert result.stderr == "convcli: error: input.png: not an image\n"
    assert result.stdout == ""


def test_python_dash_m_runs_the_same_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "convcli", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"convcli, version {convcli.__version__}"


def test_ctrl_c_in_any_command_exits_130() -> None:
    group = ConvcliGroup()

    @group.command()
    def slow() -> None:
        raise KeyboardInterrupt

    result = CliRunner().invoke(group, ["slow"])
    assert result.exit_code == 130
    assert result.stderr == "convcli: interrupted\n"
