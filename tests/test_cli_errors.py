"""Bad command lines: one line on stderr saying what was wrong and what to type instead, exit code 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import CLI, cli_env

from asibench_env.cli import main
from asibench_env.runs.runner import parse_seeds


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    captured = capsys.readouterr()
    return int(stopped.value.code or 0), captured.out, captured.err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "--seeds", "x"], "'x' is not a seed or a seed range"),
        (["run", "--seeds", "-1"], "write a range like 0-4"),
        (["run", "--seeds", "4-1"], "write it low-high, e.g. 1-4"),
        (["run", "--levels", "B9"], "levels must be among B1, B2, B3, B4"),
        (["run", "--seedz", "1"], "No such option: --seedz"),
        (["run", "--tasks", "no.such_task"], "unknown task 'no.such_task'"),
        (["tasks", "show", "no.such_task"], "unknown task 'no.such_task'"),
        (["tasks", "validate", "--levels", "B0", "--builtin"], "levels must be among"),
    ],
)
def test_each_usage_error_is_one_line(argv, expected, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code, _, err = _main([*argv, *(["--out", str(tmp_path / "run")] if argv[0] == "run" else [])], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert expected in lines[0] and "--help" in lines[0]
    assert not (tmp_path / "run").exists()  # nothing was started


def test_report_on_a_folder_without_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code, _, err = _main(["report", str(tmp_path)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "holds no Parquet episodes" in err and "asibench-env run --out" in err


def test_usage_errors_through_the_installed_command(tmp_path: Path):
    proc = subprocess.run(
        [*CLI, "run", "--seeds", "1-x", "--out", str(tmp_path / "x")],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "asibench-env run: error: Invalid value for --seeds: '1-x' is not a seed or a seed range (seeds are "
        "whole numbers >= 0); write a range like 0-4, a list like 1,2,3, or both (0-4,10) "
        "(see: asibench-env run --help)"
    ]


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]):
    code, out, _ = _main(["--help"], capsys)
    assert code == 0 and "run" in out and "tasks" in out


def test_tasks_show_prints_weights_as_weights(capsys: pytest.CaptureFixture[str]):
    code, out, _ = _main(["tasks", "show", "physics.damped_oscillator_fit"], capsys)
    assert code == 0
    scoring = " ".join(out.split()).split("scoring: ", 1)[1]
    assert "numerical (weight 36, 36%)" in scoring and " x36" not in scoring


@pytest.mark.parametrize(
    ("text", "seeds"),
    [("0-4", [0, 1, 2, 3, 4]), ("1, 5,9", [1, 5, 9]), ("0-2,7", [0, 1, 2, 7]), (" 3 - 4 ", [3, 4])],
)
def test_parse_seeds(text: str, seeds: list[int]):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", ",", "x", "-1", "1-", "2-1", "1.5", "٣"])
def test_parse_seeds_refuses(text: str):
    with pytest.raises(ValueError, match="seed"):
        parse_seeds(text)


def test_help_paragraphs_are_reflowed_for_the_terminal():
    """Docstring line breaks do not survive into --help, where they give ragged lines in a narrow terminal."""
    import os
    import subprocess
    import sys

    from asibench_env.cli.app import reflow_help

    assert reflow_help("One line.\n\n    Second paragraph\n    goes on.\n") == "One line.\n\nSecond paragraph goes on."
    assert reflow_help("A.\n\n\bkeep\nthese lines") == "A.\n\n\bkeep\nthese lines"
    shown = subprocess.run(
        [sys.executable, "-m", "asibench_env", "rollouts", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=True,
    ).stdout
    assert "status and, when the server returns them, token ids and logprobs" in shown
