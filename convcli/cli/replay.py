"""``convcli replay``: recompute a recorded output and say whether it is byte-identical.

Wiring only: :mod:`convcli.pipeline.replay` reads the record and recomputes. Exit status:
0 identical, 1 the output differs (or the input is missing or changed), 2 not a record
this convcli can read.
"""

from __future__ import annotations

import click

from convcli.pipeline.replay import RecordError, load_record, replay


@click.command("replay")
@click.argument("record_file", metavar="RECORD.json", type=click.Path(dir_okay=False))
@click.option(
    "--input",
    "input_path",
    default=None,
    metavar="FILE",
    help="The recorded input, if it has moved (its SHA-256 must match).",
)
@click.pass_context
def replay_command(ctx: click.Context, record_file: str, input_path: str | None) -> None:
    """Recompute an output from its record (apply --record) and compare the bytes.

    \b
      convcli apply photo.png -k sobel -o edges.png --record
      convcli replay edges.png.json
      convcli replay edges.png.json --input moved/photo.png

    Exit status: 0 byte-identical, 1 it differs (or the input is missing or changed),
    2 not a convcli record, or one from a newer convcli.
    """
    try:
        result = replay(load_record(record_file), input_path)
    except RecordError as exc:
        if str(exc).startswith(f"{record_file}: "):
            raise
        msg = f"{record_file}: {exc}"
        raise RecordError(msg) from None
    if result.identical:
        click.echo(f"identical: {result.output} recomputed from {result.input} "
                   f"(sha256 {result.sha256[:12]}…)")  # fmt: skip
        return
    click.echo(f"convcli: error: {result.output} differs when recomputed from {result.input}: "
               f"{result.detail}", err=True)  # fmt: skip
    ctx.exit(1)
