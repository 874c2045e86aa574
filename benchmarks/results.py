"""RESULTS.md holds one block per benchmark script; each script replaces only its own."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def replace_block(name: str, text: str) -> None:
    """Replace the ``<!-- name:start -->`` … ``<!-- name:end -->`` block (or append it)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text}\n{end}"
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if start in current and end in current:
        head, rest = current.split(start, 1)
        current = head + block + rest.split(end, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(current)
