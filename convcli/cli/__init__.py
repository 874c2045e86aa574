"""The ``convcli`` command: click wiring over the library.

Only this package imports click and rich. Each command lives in its own module, imported
only when that command runs, so ``convcli --help`` and ``--version`` load neither NumPy
nor Pillow; :data:`COMMANDS` names the modules and their one-line help.
"""

from __future__ import annotations

import importlib

import click

import convcli
from convcli.errors import ConvcliError, ExitCode

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
    """Commands loaded on demand; every :class:`ConvcliError` becomes one line on stderr."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The command names: :data:`COMMANDS`, then any added with ``add_command``."""
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the command's module and return the command (None if unknown)."""
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return self.commands.get(cmd_name)
        module, attribute, _ = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

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
        except KeyboardInterrupt:
            # click would print "Aborted!" and exit 1; scripts expect 130 for Ctrl-C
            click.echo("convcli: interrupted", err=True)
            ctx.exit(ExitCode.INTERRUPTED)


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
    """Console-script entry point."""
    cli.main(prog_name="convcli")
