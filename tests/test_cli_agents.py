"""The CLI with model agents and baseline files, against a scripted server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fake_model_server import FakeModelServer, tool_turn
from helpers import CLI, cli_env

from asibench_env.runs.baselines import load_baseline

REPO = Path(__file__).resolve().parents[1]


def test_openai_agent_from_the_cli(tmp_path: Path, fixture_tasks_dir: Path):
    out = tmp_path / "run"
    with FakeModelServer([tool_turn("submit", {}, tokens=(2000, 10))]) as server:
        proc = subprocess.run(
            [
                *CLI,
                "run",
                "--agent",
                "openai",
                "--model",
                "my-local-model",
                "--base-url",
                server.base_url,
                "--price",
                "my-local-model=0.5,1.5",
                "--temperature",
                "0",
                "--model-seed",
                "3",
                "--tasks",
                "demo.line_fit",
                "--tasks-dir",
                str(fixture_tasks_dir),
                "--levels",
                "B3",
                "--seeds",
                "0",
                "--out",
                str(out),
                "--quiet",
            ],
            env=cli_env(tmp_path, OPENAI_API_KEY="sk-test-secret"),
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 0, proc.stderr
    assert "Cost: $0.0010" in proc.stdout
    meta = json.loads((out / "run_metadata.json").read_text())
    assert meta["agent"]["model"] == "my-local-model" and meta["agent"]["temperature"] == 0.0
    assert meta["agent"]["seed"] == 3 and meta["agent"]["base_url"].startswith("http://127.0.0.1")
    everything = "".join(p.read_text(errors="replace") for p in out.rglob("*.json"))
    assert "sk-test-secret" not in everything  # the key is never written


@pytest.mark.slow
def test_clear_errors_for_missing_key_and_unknown_price(tmp_path: Path, fixture_tasks_dir: Path):
    args = [
        *CLI,
        "run",
        "--agent",
        "openai",
        "--model",
        "unknown-model",
        "--tasks",
        "demo.line_fit",
        "--tasks-dir",
        str(fixture_tasks_dir),
        "--out",
        str(tmp_path / "x"),
    ]
    proc = subprocess.run(args, env=cli_env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 2 and "OPENAI_API_KEY" in proc.stderr
    proc = subprocess.run(args, env=cli_env(tmp_path, OPENAI_API_KEY="k"), capture_output=True, text=True)
    assert proc.returncode == 2 and "no price for model" in proc.stderr
    proc = subprocess.run(
        [*CLI, "run", "--agent", "openai", "--out", str(tmp_path / "y")],
        env=cli_env(tmp_path, OPENAI_API_KEY="k"),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "needs --model" in proc.stderr


def test_shipped_baselines_are_valid():
    files = sorted((REPO / "baselines").glob("*.yaml"))
    assert len(files) >= 3
    for path in files:
        config = load_baseline(path)
        assert config.agent in ("oracle", "openai", "anthropic")
        assert config.agent == "oracle" or config.model


def test_config_file_runs_and_cli_overrides(tmp_path: Path, fixture_tasks_dir: Path):
    config = tmp_path / "mine.yaml"
    config.write_text("name: mine\nagent: oracle\ntasks: demo.line_fit\nlevels: B1,B2\nseeds: 0-3\n")
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            *CLI,
            "run",
            "--config",
            str(config),
            "--seeds",
            "0",
            "--tasks-dir",
            str(fixture_tasks_dir),
            "--out",
            str(out),
            "--quiet",
        ],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(list((out / "results").glob("*.json"))) == 2  # 2 levels x the overriding single seed
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nagent: oracle\ntemperature: hot\n")
    proc = subprocess.run(
        [*CLI, "run", "--config", str(bad), "--out", str(tmp_path / "z")],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "temperature" in proc.stderr
