"""convcli.batch: inputs, output names, safety checks before any work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from convcli.batch import (
    InputFile,
    check_jobs,
    drop_own_outputs,
    error_line,
    expand_inputs,
    is_directory_target,
    output_format,
    plan_jobs,
    run_jobs,
    safe_name,
)
from convcli.errors import OutputError


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ("b.png", "a.jpg", "notes.txt", ".hidden.png", "sub/c.tif", "sub/.d/e.png"):
        _touch(tmp_path / "in" / name)
    return tmp_path / "in"


def test_folder_gives_its_images_sorted_and_counts_the_rest(tree: Path) -> None:
    found = expand_inputs([str(tree)])
    assert [f.path.name for f in found.files if f.path] == ["a.jpg", "b.png"]
    assert found.non_images == 1
    assert all(f.root == tree and f.from_folder for f in found.files)


def test_recursive_descends_but_skips_hidden(tree: Path) -> None:
    found = expand_inputs([str(tree)], recursive=True)
    names = [str(f.path.relative_to(tree)) for f in found.files if f.path]
    assert names == ["a.jpg", "b.png", "sub/c.tif"]


def test_missing_inputs_are_reported_not_fatal(tree: Path) -> None:
    found = expand_inputs([str(tree / "b.png"), "nope.png", "-"])
    assert [f.display for f in found.files] == [str(tree / "b.png"), "-"]
    assert found.missing == [("nope.png", "no such file or folder")]


def test_stdin_only_once() -> None:
    with pytest.raises(OutputError, match="only once"):
        expand_inputs(["-", "-"])


def test_default_names_go_beside_the_input(tree: Path) -> None:
    files = expand_inputs([str(tree)], recursive=True).files
    jobs = plan_jobs(files, ["gaussian:sigma=2,size=13"])
    assert [j.outputs for j in jobs] == [
        (str(tree / "a_gaussian_sigma_2_size_13.jpg"),),
        (str(tree / "b_gaussian_sigma_2_size_13.png"),),
        (str(tree / "sub/c_gaussian_sigma_2_size_13.tif"),),
    ]
    assert [j.formats for j in jobs] == [("jpeg",), ("png",), ("tiff",)]


def test_output_dir_mirrors_sub_folders_and_format_sets_the_extension(
    tree: Path, tmp_path: Path
) -> None:
    files = expand_inputs([str(tree)], recursive=True).files
    jobs = plan_jobs(files, ["sobel"], output=str(tmp_path / "out") + "/", fmt="npy")
    assert [j.outputs[0] for j in jobs] == [
        str(tmp_path / "out/a_sobel.npy"),
        str(tmp_path / "out/b_sobel.npy"),
        str(tmp_path / "out/sub/c_sobel.npy"),
    ]


def test_stack_gives_one_name_per_kernel(tmp_path: Path) -> None:
    [job] = plan_jobs([InputFile(tmp_path / "p.tga")], ["sobel_x", "sobel_y"])
    assert job.outputs == (str(tmp_path / "p_sobel_x.png"), str(tmp_path / "p_sobel_y.png"))
    [job] = plan_jobs([InputFile(tmp_path / "p.png")], ["x", "y"], output="o/r.tif")
    assert job.outputs == ("o/r_x.tif", "o/r_y.tif")


def test_output_file_takes_one_input(tmp_path: Path) -> None:
    files = [InputFile(tmp_path / "a.png"), InputFile(tmp_path / "b.png")]
    with pytest.raises(OutputError, match="2 inputs; use -o DIR/"):
        plan_jobs(files, ["k"], output="x.png")


def test_stdout_takes_one_map() -> None:
    with pytest.raises(OutputError, match="2 feature maps"):
        plan_jobs([InputFile(None)], ["a", "b"], output="-")
    [job] = plan_jobs([InputFile(None)], ["a"])
    assert job.outputs == ("-",)
    assert job.formats == ("png",)


def test_unknown_output_extension() -> None:
    with pytest.raises(OutputError, match=r"unknown output format '\.pcx'"):
        output_format("x.pcx", None)


@pytest.mark.parametrize(
    ("target", "expected"), [("out/", True), ("out", True), ("o.png", False), ("-", False)]
)
def test_directory_targets(target: str, expected: bool) -> None:
    assert is_directory_target(target) is expected


def test_collision_is_found_before_any_work(tmp_path: Path) -> None:
    files = [InputFile(_touch(tmp_path / d / "x.png"), root=tmp_path / d) for d in ("a", "b")]
    jobs = plan_jobs(files, ["k"], output_dir=str(tmp_path / "out"))
    with pytest.raises(OutputError, match="would both write"):
        check_jobs(jobs)


def test_an_input_is_never_an_output(tmp_path: Path) -> None:
    source = _touch(tmp_path / "a.png")
    jobs = plan_jobs([InputFile(source)], ["k"], output=str(source))
    with pytest.raises(OutputError, match="never overwrites an input"):
        check_jobs(jobs, existing="overwrite")


def test_existing_outputs_need_a_decision(tmp_path: Path) -> None:
    files = [InputFile(_touch(tmp_path / n)) for n in ("a.png", "b.png")]
    jobs = plan_jobs(files, ["k"])
    _touch(tmp_path / "a_k.png")
    with pytest.raises(OutputError, match=r"a_k\.png already exists; pass --overwrite"):
        check_jobs(jobs)
    run, skipped = check_jobs(jobs, existing="skip")
    assert [j.source.path for j in run] == [tmp_path / "b.png"]
    assert [j.source.path for j in skipped] == [tmp_path / "a.png"]
    assert len(check_jobs(jobs, existing="overwrite")[0]) == 2


def test_rerun_on_a_folder_drops_its_own_outputs(tmp_path: Path) -> None:
    _touch(tmp_path / "a.png")
    _touch(tmp_path / "a_k.png")
    jobs = plan_jobs(expand_inputs([str(tmp_path)]).files, ["k"])
    kept, dropped = drop_own_outputs(jobs)
    assert [j.source.path for j in kept] == [tmp_path / "a.png"]
    assert dropped == 1


def test_safe_name_and_error_line() -> None:
    assert safe_name("gaussian:sigma=2") == "gaussian_sigma_2"
    assert safe_name("::") == "kernel"
    assert error_line("a.png", OSError("a.png: bad")) == "a.png: bad"
    assert error_line("a.png", OSError("bad\nmore")) == "a.png: bad"


def test_run_jobs_in_one_process_keeps_order(tmp_path: Path) -> None:
    jobs = plan_jobs([InputFile(tmp_path / f"{i}.png") for i in range(3)], ["k"])
    results = [r for _, r in run_jobs(jobs, lambda job: job.source.stem, processes=1)]
    assert results == ["0", "1", "2"]


def test_an_unreadable_sub_folder_is_reported_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # root reads any folder, so the refusal is injected where the walk lists folders
    (tmp_path / "in" / "locked").mkdir(parents=True)
    (tmp_path / "in" / "a.png").write_bytes(b"")
    real = os.scandir

    def scandir(path: object = ".") -> object:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    found = expand_inputs([str(tmp_path / "in")], recursive=True)
    assert [f.path for f in found.files] == [tmp_path / "in" / "a.png"]
    assert found.missing == [
        (str(tmp_path / "in" / "locked"), "cannot read folder: Permission denied")
    ]
