"""The ``convcli`` command: click wiring over the library.

Only this package imports click and rich. Each command lives in its own module, imported
only when that command runs, so ``convcli --help`` and ``--version`` load neither NumPy
nor Pillow; :data:`COMMANDS` names the modules and their one-line help.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import click

import convcli
from convcli.cli.stdout import WRITE_ERRNOS, flush_or_fail
from convcli.errors import ConvcliError, ExitCode, reason

COMMANDS: dict[str, tuple[str, str, str]] = {
    "apply": ("convcli.cli.apply", "apply_command",
              "Filter images with kernels and write the feature maps."),
    "explain": ("convcli.cli.explain", "explain",
                "Show the multiply-adds behind convolution outputs, number by number."),
    "gallery": ("convcli.cli.gallery", "gallery",
                "Write one picture of IMAGE filtered by every library kernel (or those given)."),
    "kernels": ("convcli.cli.kernels_cmd", "kernels",
                "List the kernel library: name, size, sum, rank, kind and description."),
    "replay": ("convcli.cli.replay", "replay_command",
               "Recompute an output from its record (apply --record) and compare the bytes."),
    "shape": ("convcli.cli.shape", "shape",
              "Show the output shape of a convolution, and why (the formula with your numbers)."),
}  # fmt: skip
"""Command name -> (module, attribute, the short help ``convcli --help`` shows)."""


class ConvcliGroup(click.Group):
    """Commands loaded on demand; every error, usage errors too, is one line on stderr.

    Usage errors (click's and ours) exit 2 as ``convcli: error: MESSAGE``; library
    errors exit 1 (or their own code); SIGINT exits 130 and SIGTERM 143, after temporary
    files are removed; a failed write to standard output exits 1.
    """

    owns_process = False
    """Whether the process is the command's own (set by the console script, :func:`main`),
    not a caller's: a command's modules then load with the cyclic garbage collector paused,
    all then alive being frozen (:func:`gc.freeze`), and one image's strips may be shared
    with forked helper processes (:mod:`convcli.pipeline.shared`)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; in standalone mode, exit with one line per error."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            _exit(f"convcli: error: {_usage_line(exc)}", exc.exit_code)
        except click.Abort as exc:  # Ctrl-C while parsing
            _exit(*_interrupted(exc.__cause__))
        failed = flush_or_fail()
        if failed is not None:
            _exit(f"convcli: error: {failed}", ExitCode.FAILURE)
        sys.exit(code if isinstance(code, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The command names: :data:`COMMANDS`, then any added with ``add_command``."""
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the command's module and return the command (None if unknown)."""
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return self.commands.get(cmd_name)
        module, attribute, _ = COMMANDS[cmd_name]
        with self._loading():
            command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    @contextmanager
    def _loading(self) -> Iterator[None]:
        """Imports build long-lived objects, not garbage: no search for cycles while they run,
        and none later among what they built (NumPy's, Pillow's, ...), about 5 ms a run."""
        if not self.owns_process:
            yield
            return
        gc.disable()
        try:
            yield
        finally:
            gc.freeze()
            gc.enable()

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands section of ``--help``, from the table: no command module is loaded."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, click.Command(name, help=short).get_short_help_str(limit))
            for name, (_, _, short) in sorted(COMMANDS.items())
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; map library errors to a message and an exit code."""
        try:
            return super().invoke(ctx)
        except ConvcliError as exc:
            click.echo(f"convcli: error: {exc}", err=True)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt as exc:
            # click would print "Aborted!" and exit 1; scripts expect 130 for Ctrl-C
            line, code = _interrupted(exc)
            click.echo(line, err=True)
            ctx.exit(code)
        except OSError as exc:
            if exc.errno not in WRITE_ERRNOS:
                raise
            click.echo(f"convcli: error: cannot write output: {reason(exc)}", err=True)
            ctx.exit(ExitCode.FAILURE)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so the same clean-up runs; exits 143."""


def _on_terminate(signum: int, frame: object) -> None:
    raise Terminated


def _usage_line(exc: click.ClickException) -> str:
    return " ".join(exc.format_message().split())


def _interrupted(exc: BaseException | None) -> tuple[str, ExitCode]:
    if isinstance(exc, Terminated):
        return "convcli: terminated", ExitCode.TERMINATED
    return "convcli: interrupted", ExitCode.INTERRUPTED


def _exit(line: str, code: int) -> NoReturn:
    click.echo(line, err=True)
    sys.exit(code)


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"convcli, version {convcli.__version__}")
        ctx.exit()


@click.group(cls=ConvcliGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-V",
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
def cli() -> None:
    """Filter images with convolution kernels, and see how convolution works.

    \b
      convcli apply img.png -k sobel_x        filter one image
      convcli apply photos/ -k blur -o out/   filter a folder
      convcli shape img.png -k 7 --stride 2   what shape comes out, and why
      convcli kernels                         the kernel library
    """


def main() -> None:
    """Console-script entry point (SIGTERM stops the run as Ctrl-C does, exit 143).

    The command's modules load with the cyclic garbage collector paused
    (:attr:`ConvcliGroup.owns_process`). At exit every object still alive is frozen
    (:func:`gc.freeze`): Python's shutdown would otherwise search them all (NumPy's,
    click's, Dask's) for reference cycles, about 20 ms of every run and 60-100 ms of a
    ``--dask`` run.
    """
    signal.signal(signal.SIGTERM, _on_terminate)
    # NumPy's OpenBLAS starts a thread per core when it loads, which spins for about 0.1 s:
    # the engine keeps every product below OpenBLAS's threading threshold (engine.banded),
    # so those threads only take a core from the process sharing an image's strips (10-15 ms
    # of a 4096x4096 TIFF run). Set before NumPy loads; a user's own setting stands.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Python warnings are for programmers: a library's (Pillow's "Truncated File Read" on a
    # damaged file) would print source lines around convcli's one-line messages; -W and
    # PYTHONWARNINGS still show them
    if not sys.warnoptions:
        warnings.simplefilter("ignore")
    cli.owns_process = True
    # the last exit handler to run (the first registered): garbage the run's own handlers
    # (Dask's cluster shutdown) leave is frozen too; every output is closed and renamed
    # before the command returns, so no finalizer left uncalled matters
    atexit.register(gc.freeze)
    try:
        cli.main(prog_name="convcli")
    except SystemExit as exc:
        _leave(exc)


def _leave(exc: SystemExit) -> NoReturn:
    """Exit with ``exc``'s code without the interpreter's shutdown, which only takes apart
    what the process is about to lose (NumPy's, Pillow's and click's modules: about 9 ms of
    every run): the exit handlers run and the standard streams are flushed first, as they
    would be. Where a thread other than the engine's idle workers still runs (Dask's
    client), the interpreter shuts down as usual, joining it.
    """
    code = exc.code
    tiling = sys.modules.get("convcli.engine.tiling")  # not loaded: no engine threads
    idle = (tiling.ENGINE_THREADS,) if tiling is not None else ()
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    if not (code is None or isinstance(code, int)) or not all(
        t.daemon or t.name.startswith(idle) for t in others
    ):
        raise exc
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # as the interpreter's own last flush fails
            code = code or 120
    os._exit(code or 0)
