"""``run --resume`` refuses to mix runs (another agent, model, endpoint or sandbox) unless ``--allow-mixed``;
run_metadata.json keeps every invocation."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from helpers import CLI, cli_env

from asibench_env.runs.metadata import RunMetadata, load_run_metadata

pytestmark = pytest.mark.fault  # part of the fault battery (docs/security.md)


def _run(tasks_dir: Path, out: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    args = [*CLI, "run", "--tasks", "demo.line_fit", "--tasks-dir", str(tasks_dir), "--levels", "B1"]
    args += ["--seeds", "0", "--out", str(out), "--quiet", *extra]
    return subprocess.run(args, env=cli_env(tmp_path), capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_resume_with_another_agent_is_refused_unless_allow_mixed(tmp_path: Path, fixture_tasks_dir: Path) -> None:
    out = tmp_path / "run"
    first = _run(fixture_tasks_dir, out, tmp_path, "--agent", "oracle")
    assert first.returncode == 0, first.stderr
    before = (out / "run_metadata.json").read_text()

    mixed = _run(fixture_tasks_dir, out, tmp_path, "--agent", "null", "--resume")
    assert mixed.returncode == 2
    message = " ".join(mixed.stderr.split())
    assert "agent 'oracle'" in message and "'null'" in message
    assert "another --out" in message and "--allow-mixed" in message
    assert (out / "run_metadata.json").read_text() == before  # nothing written

    allowed = _run(fixture_tasks_dir, out, tmp_path, "--agent", "null", "--resume", "--allow-mixed")
    assert allowed.returncode == 0, allowed.stderr
    meta = load_run_metadata(out)
    assert meta is not None
    assert [i.agent["name"] for i in meta.invocations] == ["oracle", "null"]
    assert meta.invocations[0].sandbox.requested_mode == "local"
    assert meta.invocations[0].executor == "ThreadExecutor"
    assert [(p.task_id, p.level, p.seed) for p in meta.invocations[0].planned] == [("demo.line_fit", "B1", 0)]


@pytest.mark.slow
def test_old_single_invocation_metadata_is_upgraded_and_kept(tmp_path: Path, fixture_tasks_dir: Path) -> None:
    out = tmp_path / "old"
    assert _run(fixture_tasks_dir, out, tmp_path, "--agent", "oracle").returncode == 0
    path = out / "run_metadata.json"
    doc = json.loads(path.read_text())
    del doc["invocations"]  # as written before invocations were kept
    path.write_text(json.dumps(doc))
    upgraded = RunMetadata.model_validate(doc)
    assert len(upgraded.invocations) == 1 and upgraded.invocations[0].timestamp == doc["timestamp"]

    refused = _run(fixture_tasks_dir, out, tmp_path, "--agent", "null", "--resume")
    assert refused.returncode == 2 and "agent 'oracle'" in " ".join(refused.stderr.split())
    again = _run(fixture_tasks_dir, out, tmp_path, "--agent", "oracle", "--resume")
    assert again.returncode == 0, again.stderr
    meta = load_run_metadata(out)
    assert meta is not None and [i.timestamp for i in meta.invocations][0] == doc["timestamp"]
    assert [i.agent["name"] for i in meta.invocations] == ["oracle", "oracle"]
