"""The command group itself: help, version, unknown commands, error mapping."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

import convcli
from convcli.cli import ConvcliGroup, cli
from convcli.errors import ConvcliError, ExitCode


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
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
    command = cli
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    assert command.help, f"{' '.join(path)} has no help text"


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
