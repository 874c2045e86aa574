"""The list of commands the ``convcli`` group offers, one module each."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
