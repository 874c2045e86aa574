"""Regression tests for bugs found by trying ``convcli kernels`` and kernel files as a user."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from convcli.cli import cli
from convcli.errors import KernelError
from convcli.kernels import parse_kernel_spec


def _message(spec: str) -> str:
    with pytest.raises(KernelError) as info:
        parse_kernel_spec(spec)
    return str(info.value)


def test_a_npy_file_without_a_numpy_header_gets_no_advice_to_unpickle(tmp_path: Path) -> None:
    path = tmp_path / "junk.npy"
    path.write_bytes(bytes(range(200)))
    assert _message(str(path)) == (
        f"{path}: cannot read the kernel file as .npy: "
        "it has no NumPy header; expected a file written by numpy.save"
    )


def test_a_folder_given_with_a_trailing_slash_is_named_as_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "kernels"
    folder.mkdir()
    assert _message(f"{folder}/") == f"{folder}: is a folder; expected a kernel file"


def test_a_missing_path_without_a_suffix_is_not_found(tmp_path: Path) -> None:
    path = tmp_path / "nothing"
    assert _message(str(path)) == f"{path}: kernel file not found"


def test_show_prints_every_value_of_a_matrix_wider_than_the_terminal() -> None:
    result = CliRunner().invoke(cli, ["kernels", "show", "gaussian:2"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    first_row = result.stdout.splitlines()[3].split()
    assert len(first_row) == 13
    assert first_row[0] == first_row[-1] == "4.92e-06"
