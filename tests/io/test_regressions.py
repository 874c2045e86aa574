"""Regression tests for bugs found by writing outputs where a user might."""

from __future__ import annotations

from pathlib import Path

import pytest

from convcli.errors import OutputError
from convcli.io import atomic_write


@pytest.mark.parametrize("inside", ["out.png", "sub/out.png"])
def test_a_file_where_a_folder_should_be_is_named(tmp_path: Path, inside: str) -> None:
    blocker = tmp_path / "k.txt"
    blocker.write_text("1 2 1\n")
    target = blocker / inside
    with pytest.raises(OutputError) as info:
        atomic_write(target, lambda handle: handle.write(b"data"))
    assert str(info.value) == f"{target}: cannot write: {blocker} is a file, not a folder"
    assert blocker.read_text() == "1 2 1\n"
