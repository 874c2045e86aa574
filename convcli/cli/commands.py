"""The list of commands the ``convcli`` group offers, one module each."""

from __future__ import annotations

import click

from convcli.cli.kernels_cmd import kernels

COMMANDS: list[click.Command] = []

from convcli.cli.apply import apply_command  # noqa: E402

COMMANDS.append(apply_command)
COMMANDS.append(kernels)

from convcli.cli.learn import explain, gallery, shape  # noqa: E402

COMMANDS.extend([shape, explain, gallery])
