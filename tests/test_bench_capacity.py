"""Smoke test of the capacity benchmark (benchmarks/bench_capacity.py) at a tiny scale: its output structure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import cli_env

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_capacity.py"


@pytest.mark.slow
def test_quick_capacity_run_reports_every_number(tmp_path: Path, docker_client):
    out = tmp_path / "capacity.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path),
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["machine"]["cores"] >= 1 and report["machine"]["memory_bytes"] > 0
    assert [row["concurrency"] for row in report["oracle"]] == [1, 2, 4]
    for row in report["oracle"]:
        assert row["episodes"] == row["scored"] == 2 and row["episodes_per_hour"] > 0
    calls = [call for task_calls in report["corpus"].values() for call in task_calls]
    assert {call["tool"] for call in calls} == {"write_file", "bash"}  # the oracle's calls, solver runs replaced
    assert [result["backend"] for result in report["capacity"]] == ["local", "docker"]
    for result in report["capacity"]:
        assert result["levels"] and result["step_errors"] == 0
        level = result["levels"][0]
        assert level["episodes"] == 8 and level["steps"] > 0 and level["p50_ms"] <= level["p99_ms"]
        assert level["sandbox_bytes"] > 0 and result["bytes_per_idle_episode"] > 0
        assert result["max_episodes_within_bound"] in (0, 8)
        assert result["episodes_per_core"] == result["max_episodes_within_bound"] / report["machine"]["cores"]
    assert "concurrent episodes within p99" in proc.stdout and "episodes/hour" in proc.stdout
