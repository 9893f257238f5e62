"""``asibench-env rollouts`` through the real CLI and a scripted policy on 127.0.0.1: exit 3 for infra errors,
exit 4 and a clean stop on a full ``--out`` disk (then ``--resume`` completes), and no silent mixing of runs."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from fake_model_server import ScriptedPolicyServer
from helpers import CLI, cli_env
from test_exit_codes import _fill, small_disk  # noqa: F401 - small_disk is a fixture

from asibench_env.agents.oracle import OracleAgent
from asibench_env.cli import exit_codes
from asibench_env.trajectories import load

pytestmark = pytest.mark.fault  # part of the fault battery (docs/security.md)

TASK = "computer_science.queue_service_rates"
ACTIONS = OracleAgent().solve_actions(TASK)


def _args(base_url: str, out: Path, *extra: str, model: str = "scripted") -> list[str]:
    return [
        *CLI, "rollouts", "--base-url", base_url, "--model", model, "--group-size", "2", "--tasks", TASK,
        "--levels", "B3", "--seeds", "0-2", "--out", str(out), "--quiet", *extra,
    ]  # fmt: skip


def _docs(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))]


def test_rollouts_that_all_end_in_infra_errors_exit_3(tmp_path: Path) -> None:
    out = tmp_path / "run"
    faults = [("error", 503)] * 100  # every request of every attempt
    with ScriptedPolicyServer(ACTIONS, faults=faults) as server:
        args = _args(server.base_url, out, "--seeds", "0", "--request-retries", "0", "--max-retries", "0")
        done = subprocess.run(args, env=cli_env(tmp_path, OPENAI_API_KEY="local"), capture_output=True, text=True)
    assert done.returncode == exit_codes.INFRA_ERROR == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    docs = _docs(out)
    assert len(docs) == 2 and all(d["episode_status"] == "infra_error" for d in docs)
    (group,) = load(out, "groups").to_table().to_pylist()
    assert not group["complete"] and group["infra_errors"] == 2 and "infra_error" in group["reason"]


def test_resume_with_another_model_is_refused_unless_allow_mixed(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = cli_env(tmp_path, OPENAI_API_KEY="local")
    with ScriptedPolicyServer(ACTIONS) as server:
        first = subprocess.run(_args(server.base_url, out, "--seeds", "0"), env=env, capture_output=True, text=True)
        assert first.returncode == 0, first.stdout + first.stderr
        args = _args(server.base_url, out, "--seeds", "0-1", "--resume", model="other-model")
        refused = subprocess.run(args, env=env, capture_output=True, text=True)
        assert refused.returncode == exit_codes.USAGE == 2
        message = " ".join(refused.stderr.split())
        assert "model" in message and "other-model" in message and "--allow-mixed" in message
        assert len(_docs(out)) == 2  # nothing was added
        mixed = subprocess.run([*args, "--allow-mixed"], env=env, capture_output=True, text=True)
    assert mixed.returncode == 0, mixed.stdout + mixed.stderr
    assert len(_docs(out)) == 4
    invocations = json.loads((out / "run_metadata.json").read_text())["invocations"]
    assert [i["agent"]["model"] for i in invocations] == ["scripted", "other-model"]


@pytest.mark.slow
def test_a_full_out_disk_stops_rollouts_cleanly_and_resume_completes(tmp_path: Path, small_disk: Path) -> None:  # noqa: F811
    out = small_disk / "run"
    env = cli_env(tmp_path, OPENAI_API_KEY="local")
    with ScriptedPolicyServer(ACTIONS, delay_s=0.2) as server:
        proc = subprocess.Popen(
            _args(server.base_url, out), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not list((out / "results").glob("*.json")):
            time.sleep(0.05)
        filler = _fill(small_disk)
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == exit_codes.WRITE_FAILED == 4, stdout + stderr
        message = " ".join(stderr.split())
        assert "cannot write" in message and "No space left on device" in message and "--resume" in message
        assert "Traceback" not in stderr
        assert 1 <= len(_docs(out)) < 6

        filler.unlink()
        again = subprocess.run([*_args(server.base_url, out), "--resume"], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr
    docs = _docs(out)
    assert len(docs) == 6 and all(d["episode_status"] == "scored" for d in docs)
    keys = sorted((d["seed"], d["rollout"]["rollout_index"]) for d in docs)
    assert keys == [(s, i) for s in range(3) for i in range(2)]
    groups = load(out, "groups").to_table().to_pylist()
    assert len(groups) == 3 and all(g["complete"] for g in groups)
