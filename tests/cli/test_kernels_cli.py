"""``convcli kernels`` and ``convcli kernels show`` through CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from convcli.cli import cli
from convcli.cli.params import KERNEL_SPEC
from convcli.kernels import kernel_dir, load_library


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_listing_shows_every_kernel_and_the_parametric_families() -> None:
    code, out, _ = _run("kernels")
    assert code == 0
    for entry in load_library():
        assert entry.name in out
    for header in ("name", "size", "sum", "separable", "kind", "description"):
        assert header in out
    assert "gaussian:sigma=S[,size=N]" in out
    assert "bank" in out


def test_listing_json_is_a_list_of_every_file() -> None:
    code, out, _ = _run("kernels", "--json")
    assert code == 0
    items = json.loads(out)
    assert [item["name"] for item in items] == sorted(p.stem for p in kernel_dir().glob("*.toml"))
    for item in items:
        assert {"name", "kind", "shape", "sum", "rank", "description"} <= set(item)
        assert "weights" not in item
    by_name = {item["name"]: item for item in items}
    assert by_name["sobel_x"] == {**by_name["sobel_x"], "kind": "edge", "shape": [3, 3],
                                  "sum": 0.0, "rank": 1, "separable": True}  # fmt: skip
    assert by_name["sobel"]["kind"] == "bank"
    assert by_name["sobel"]["kernels"] == ["sobel_x", "sobel_y"]
    assert by_name["sobel"]["combine"] == "magnitude"
    assert by_name["gaussian_blur_3x3"]["aliases"] == ["blur"]


def test_show_prints_matrix_sum_rank_factors_and_flipped() -> None:
    code, out, _ = _run("kernels", "show", "sobel_x")
    assert code == 0
    assert "sobel_x" in out
    assert "sum: 0" in out
    assert "rank: 1" in out
    assert "separable: yes = column [1 2 1]ᵀ × row [-1 0 1]" in out
    assert "flipped (true convolution" in out
    lines = [line.split() for line in out.splitlines()]
    assert lines.index(["-1", "0", "1"]) < lines.index(["1", "0", "-1"])


def test_show_non_separable_and_anchor() -> None:
    code, out, _ = _run("kernels", "show", "roberts_x")
    assert code == 0
    assert "separable: no (rank 2)" in out
    assert "anchor: row 0, col 0" in out


def test_show_a_bank_shows_each_member() -> None:
    code, out, _ = _run("kernels", "show", "kirsch")
    assert code == 0
    assert "bank of 8 kernels, combined by max" in out
    assert out.count("rank:") == 8


@pytest.mark.parametrize("spec", ["-1 0 1", "-1,0,1", "=-1,0,1"])
def test_show_negative_inline_values(spec: str) -> None:
    code, out, err = _run("kernels", "show", spec)
    assert (code, err) == (0, "")
    assert "sum: 0" in out
    assert "-1  0  1" in out


def test_show_after_double_dash() -> None:
    code, out, _ = _run("kernels", "show", "--", "-1 0 1")
    assert code == 0
    assert "rank: 1" in out


def test_show_parametric_and_large_kernels() -> None:
    code, out, _ = _run("kernels", "show", "gaussian:sigma=4")
    assert code == 0
    assert "gaussian:sigma=4,size=25" in out
    assert "25×25, too large to print (use --json)" in " ".join(out.split())
    assert "sum: 1" in out


def test_show_json(tmp_path: Path) -> None:
    path = tmp_path / "k.txt"
    path.write_text("1 2 1\n2 4 2\n1 2 1\n")
    code, out, _ = _run("kernels", "show", "--json", str(path))
    assert code == 0
    info = json.loads(out)
    assert info["name"] == "k"
    assert info["weights"] == [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    assert (info["sum"], info["rank"], info["kind"]) == (16.0, 1, "smoothing")


def test_show_json_of_a_bank_has_the_members() -> None:
    code, out, _ = _run("kernels", "show", "sobel", "--json")
    assert code == 0
    info = json.loads(out)
    assert [k["name"] for k in info["kernels"]] == ["sobel_x", "sobel_y"]
    assert info["kernels"][1]["weights"][0] == [-1, -2, -1]


@pytest.mark.parametrize(
    ("spec", "message"),
    [("sobelx", "unknown kernel 'sobelx'; did you mean sobel_x, sobel, sobel_y?"),
     ("gaussian:sgma=1", "gaussian: unknown parameter 'sgma'; valid parameters: sigma, size"),
     ("1 2; 3", "inline kernel '1 2; 3': row 2 has 1 value; expected 2"),
     ("nothere.txt", "nothere.txt: kernel file not found")],
)  # fmt: skip
def test_show_bad_spec_is_a_usage_error(spec: str, message: str) -> None:
    code, out, err = _run("kernels", "show", spec)
    assert code == 2
    assert out == ""
    assert "Invalid value for 'SPEC'" in err
    assert message in " ".join(err.split())


def test_show_needs_a_spec() -> None:
    code, _, err = _run("kernels", "show")
    assert code == 2
    assert "Missing argument 'SPEC'" in err


def test_help() -> None:
    for args in (["kernels", "--help"], ["kernels", "show", "--help"]):
        code, out, _ = _run(*args)
        assert code == 0
        assert "Usage:" in out


@click.command()
@click.option("-k", "--kernel", "kernel", type=KERNEL_SPEC, required=True)
def _echo_kernel(kernel: object) -> None:
    click.echo(kernel.weights.tolist())  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "args",
    [["-k", "-1 0 1"], ["-k", "-1,0,1"], ["--kernel=-1,0,1"], ["--kernel", "-1 0 1"],
     ["-k=-1,0,1"], ["-k-1,0,1"], ["-k", "=-1,0,1"]],
)  # fmt: skip
def test_negative_inline_values_with_click_options(args: list[str]) -> None:
    """The README's promises: every one of these spellings gives [-1, 0, 1]."""
    result = CliRunner().invoke(_echo_kernel, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "[[-1.0, 0.0, 1.0]]"
