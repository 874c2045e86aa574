"""The ``convcli`` command: click wiring over the library.

Only this package imports click and rich. Heavy modules (rich, Pillow) are imported
inside the commands so that ``convcli --help`` starts fast.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import click

from convcli.errors import ConvcliError, ExitCode


def _version() -> str:
    try:
        return version("convcli")
    except PackageNotFoundError:
        return "0+unknown"


class ConvcliGroup(click.Group):
    """A group that turns every :class:`ConvcliError` into one line on stderr."""

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


@click.group(cls=ConvcliGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "-V", "--version", prog_name="convcli")
def cli() -> None:
    """Filter images with convolution kernels, and see how convolution works.

    \b
      convcli apply img.png -k sobel_x        filter one image
      convcli apply photos/ -k blur -o out/   filter a folder
      convcli shape img.png -k 7 --stride 2   what shape comes out, and why
      convcli kernels                         the kernel library
    """


def _register() -> None:
    from convcli.cli import commands

    for command in commands.COMMANDS:
        cli.add_command(command)


_register()


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="convcli")
