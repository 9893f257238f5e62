"""Grouped rollouts: the group statistics, the policy agent's token data, and runs end to end through the
real env and local sandbox against a scripted OpenAI-compatible policy on 127.0.0.1 (Python API and CLI),
with injected 5xx and dropped connections, a killed run resumed, and the new columns read by other readers.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import pickle
import signal
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_model_server import ScriptedPolicyServer
from helpers import CLI, cli_env

from asibench_env.agents.oracle import OracleAgent
from asibench_env.rollouts import (
    PolicyConfig,
    RolloutRecord,
    RolloutSpec,
    collect_rollouts,
    group_record,
    group_stats,
    plan_rollouts,
    run_rollout,
)
from asibench_env.runs.reports import rebuild_from_parquet
from asibench_env.runs.runner import EpisodeSpec
from asibench_env.trajectories import EPISODES_SCHEMA, GROUPS_SCHEMA, STEPS_SCHEMA, agent_messages, load

TASK = "computer_science.queue_service_rates"
ACTIONS = OracleAgent().solve_actions(TASK)
TOKEN_COLUMNS = ("prompt_token_ids", "completion_token_ids", "completion_logprobs")


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "local")


def _policy(server: ScriptedPolicyServer, **kw: Any) -> PolicyConfig:
    return PolicyConfig(model="scripted", base_url=server.base_url, **kw)


def _docs(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))]


def scripted_policy(messages: list[dict], tools: list[dict]) -> dict:
    """A Python policy: the oracle's tool calls one a turn, then submit; token data like vLLM's."""
    turn = sum(1 for m in messages if m["role"] == "assistant")
    action = ACTIONS[turn] if turn < len(ACTIONS) else {"tool": "submit", "arguments": {}}
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": f"py_{turn}", "function": {"name": action["tool"], "arguments": action["arguments"]}}],
        "token_ids": [11, 12, turn],
        "prompt_token_ids": list(range(4 * len(messages))),
        "logprobs": [-0.5, -0.25, -0.125],
    }


# ----------------------------------------------------------------------------------- group statistics


def test_group_stats_mean_sample_std_and_both_advantages():
    stats = group_stats([1.0, 0.0, 0.5, 0.5], eps=1e-6)
    std = math.sqrt((0.25 + 0.25) / 3)  # the sample std (n - 1), as torch.std in the GRPO trainers
    assert stats.mean == pytest.approx(0.5) and stats.std == pytest.approx(std)
    assert stats.centered == pytest.approx([0.5, -0.5, 0.0, 0.0])
    assert stats.advantages == pytest.approx([0.5 / (std + 1e-6), -0.5 / (std + 1e-6), 0.0, 0.0])
    same = group_stats([1.0, 1.0, 1.0])
    assert same.std == 0.0 and same.advantages == [0.0, 0.0, 0.0]  # eps keeps a flat group finite
    assert group_stats([0.7]).std == 0.0
    with pytest.raises(ValueError, match="at least one scored rollout"):
        group_stats([])


def test_group_record_leaves_out_infra_errors_and_says_why_it_is_incomplete():
    spec = RolloutSpec(TASK, "B3", 0, 0, 4)
    records = [
        RolloutRecord(rollout_index=0, status="scored", final_score=100.0, episode_id="a"),
        RolloutRecord(rollout_index=1, status="infra_error", final_score=None, episode_id="b"),
        RolloutRecord(rollout_index=2, status="agent_error", final_score=0.0, episode_id="c"),
    ]
    group = group_record(spec, records)
    assert not group.complete and group.completed == 2 and group.infra_errors == 1
    assert group.rewards == [1.0, 0.0] and group.episode_ids == ["a", "c"] and group.mean == pytest.approx(0.5)
    assert "1 of 4 rollouts ended in infra_error after retries" in (group.reason or "")
    assert "1 of 4 rollouts not run" in (group.reason or "")
    full = group_record(
        spec, [*records[:1], *[RolloutRecord(rollout_index=i, status="scored", final_score=50.0) for i in (1, 2, 3)]]
    )
    assert full.complete and full.reason is None and full.mean == pytest.approx(0.625)


def test_plans_are_group_major_and_the_unit_of_work_pickles():
    specs = plan_rollouts([EpisodeSpec(TASK, "b3", 0), EpisodeSpec(TASK, "B3", 1)], 3)
    assert [(s.seed, s.rollout_index) for s in specs] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert specs[0].group_id == f"{TASK}__b3__seed0" and specs[0].suffix == "__r000" and specs[0].level == "B3"
    policy = PolicyConfig(model="m", base_url="http://127.0.0.1:1/v1", extra_body={"top_k": 20})
    assert pickle.loads(pickle.dumps((specs[0], policy, scripted_policy))) == (specs[0], policy, scripted_policy)
    with pytest.raises(ValueError, match="at least 1"):
        plan_rollouts([EpisodeSpec(TASK, "B3", 0)], 0)


# ----------------------------------------------------------------------------------- schema version 2


def test_version_1_files_still_read_with_the_new_columns_null(tmp_path: Path):
    """Files written by the version 1 schema (no token or group columns) read back through load() and pandas."""
    old = {"steps": STEPS_SCHEMA, "episodes": EPISODES_SCHEMA}
    new_columns = {
        "steps": set(TOKEN_COLUMNS),
        "episodes": {f.name for f in EPISODES_SCHEMA if f.name.startswith(("group", "advantage"))}
        | {"rollout_index", "reward"},
    }
    rows = {
        "steps": {
            "run_id": "r",
            "episode_id": "e1",
            "instance_id": "i",
            "seed": 0,
            "step_index": 0,
            "tool": "submit",
            "reward": 1.0,
            "terminated": True,
            "truncated": False,
        },
        "episodes": {
            "run_id": "r",
            "episode_id": "e1",
            "instance_id": "i",
            "seed": 0,
            "status": "scored",
            "final_score": 100.0,
        },
    }
    for table, schema in old.items():
        v1 = pa.schema(
            [f for f in schema if f.name not in new_columns[table] and f.name not in ("task_id", "prompt_level")],
            metadata={b"asibench_env.schema_version": b"1"},
        )
        folder = tmp_path / "trajectories" / table / f"task_id={TASK}" / "prompt_level=B3"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist([rows[table]], schema=v1), folder / "e1.parquet", compression="zstd")
    steps = load(tmp_path, "steps").to_table().to_pylist()
    episodes = load(tmp_path, "episodes").to_table().to_pylist()
    assert steps[0]["tool"] == "submit" and all(steps[0][c] is None for c in TOKEN_COLUMNS)
    assert episodes[0]["final_score"] == 100.0 and episodes[0]["group_id"] is None and episodes[0]["advantage"] is None
    assert episodes[0]["task_id"] == TASK
    frame = pd.read_parquet(tmp_path / "trajectories" / "episodes")
    assert frame["final_score"].tolist() == [100.0]


# ----------------------------------------------------------------------------------- end to end


def test_a_python_callable_policy_plays_one_rollout(tmp_path: Path):
    spec = RolloutSpec(TASK, "B3", 0, 1, 2)
    result = run_rollout(spec, scripted_policy, tmp_path)
    assert result.status == "scored" and result.reward == 1.0 and result.attempts == 1
    assert [s.tool for s in result.steps] == ["write_file", "bash", "submit"]
    assert [s.reward for s in result.steps] == [0.0, 0.0, 1.0]
    assert result.turns[0]["completion_token_ids"] == [11, 12, 0]
    assert result.turns[0]["completion_logprobs"] == [-0.5, -0.25, -0.125]
    assert (
        result.messages[0]["role"] == "system" and result.messages[-1]["tool_calls"][0]["function"]["name"] == "submit"
    )
    doc = json.loads(Path(result.result_path or "").read_text())
    assert Path(result.result_path or "").name.endswith("__b3__r001.json")
    assert doc["rollout"]["group_id"] == spec.group_id and doc["rollout"]["episode_id"] == result.episode_id
    steps = load(tmp_path).to_table().to_pylist()
    assert steps[0]["prompt_token_ids"] == list(range(8)) and steps[0]["completion_token_ids"] == [11, 12, 0]
    assert json.loads(steps[0]["request_messages_json"])[0]["role"] == "system"


def test_a_served_policy_rollout_asks_for_and_keeps_token_ids_and_logprobs(tmp_path: Path, api_key: None):
    with ScriptedPolicyServer(ACTIONS) as server:
        policy = _policy(server, top_p=0.9, max_tokens=256, extra_body={"top_k": 20})
        result = run_rollout(RolloutSpec(TASK, "B3", 0, 0, 1), policy, tmp_path)
        body = server.requests[0]
    assert result.status == "scored" and result.reward == 1.0 and len(result.turns) == 3
    assert body["logprobs"] is True and body["return_token_ids"] is True and "top_logprobs" not in body
    assert body["top_p"] == 0.9 and body["max_tokens"] == 256 and body["top_k"] == 20
    turn = result.turns[1]
    assert turn["completion_token_ids"] == [1000, 1, 7, 8, 9] and len(turn["prompt_token_ids"]) == 40
    assert turn["completion_logprobs"] == pytest.approx([-0.125, -0.25, -0.375, -0.5, -0.625])
    steps = sorted(load(tmp_path).to_table().to_pylist(), key=lambda r: r["step_index"])
    assert [s["completion_token_ids"][1] for s in steps] == [0, 1, 2] and steps[0]["logprobs_json"] is None
    conversation = agent_messages(steps)
    assert [m["role"] for m in conversation] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    assert conversation == result.messages
    config = json.loads(load(tmp_path, "episodes").to_table().to_pylist()[0]["agent_config_json"])
    assert config["model"] == "scripted" and config["extra_body"] == {"top_k": 20} and "api_key" not in config
    assert os.environ["OPENAI_API_KEY"] not in json.dumps(config)  # the key's name is kept, never its value


@pytest.mark.slow
def test_rollouts_run_on_a_process_pool_executor(tmp_path: Path, api_key: None):
    """run_rollout's inputs and result pickle, so another executor (here processes) can run the rollouts."""
    context = multiprocessing.get_context("spawn")
    with ScriptedPolicyServer(ACTIONS) as server, ProcessPoolExecutor(2, mp_context=context) as pool:
        outcome = collect_rollouts(
            [EpisodeSpec(TASK, "B3", 0)], _policy(server), tmp_path, group_size=2, concurrency=2, executor=pool
        )
    assert [r.status for r in outcome.results] == ["scored", "scored"] and outcome.groups[0].complete
    assert len({r.episode_id for r in outcome.results}) == 2 and load(tmp_path, "episodes").count_rows() == 2


@pytest.mark.slow
def test_grouped_rollouts_end_to_end_with_stats_tokens_and_readers(tmp_path: Path, api_key: None):
    out = tmp_path / "run"
    # a 503 (retried by the SDK itself), then rollouts that solve the task twice for each one that submits at once
    with ScriptedPolicyServer(ACTIONS, plans=("solve", "solve", "submit"), faults=[("error", 503)]) as server:
        policy = _policy(server, temperature=0.7, top_logprobs=2, extra_body={"top_k": 20}, max_retries=2)
        episodes = [EpisodeSpec(TASK, "B3", 0), EpisodeSpec(TASK, "B3", 1)]
        outcome = collect_rollouts(episodes, policy, out, group_size=3, concurrency=2)
        requests = server.requests
    assert len(outcome.results) == 6 and outcome.retried == 0
    assert all(g.complete and g.completed == 3 and g.reason is None for g in outcome.groups)
    body = requests[-1]
    assert body["logprobs"] is True and body["top_logprobs"] == 2 and body["return_token_ids"] is True
    assert body["top_k"] == 20 and body["temperature"] == 0.7  # extra_body is merged into the request body

    episodes_rows = load(out, "episodes").to_table().to_pylist()
    assert len(episodes_rows) == 6 and {r["status"] for r in episodes_rows} == {"scored"}
    by_group: dict[str, list[dict]] = {}
    for row in episodes_rows:
        by_group.setdefault(row["group_id"], []).append(row)
    assert sorted(by_group) == sorted(g.group_id for g in outcome.groups)
    for rows in by_group.values():
        rewards = [r["reward"] for r in rows]
        assert sorted(r["rollout_index"] for r in rows) == [0, 1, 2] and {r["group_size"] for r in rows} == {3}
        mean = sum(rewards) / 3
        std = math.sqrt(sum((x - mean) ** 2 for x in rewards) / 2)
        for row in rows:
            assert row["group_complete"] and row["group_scored"] == 3
            assert row["group_mean"] == pytest.approx(mean) and row["group_std"] == pytest.approx(std)
            assert row["advantage_centered"] == pytest.approx(row["reward"] - mean)
            assert row["advantage"] == pytest.approx((row["reward"] - mean) / (std + 1e-6))
    total = [r["reward"] for r in episodes_rows]
    assert sorted(total) == [0.0, 0.0, 1.0, 1.0, 1.0, 1.0]  # 2 solved : 1 submitted, over 6 conversations

    steps = load(out).to_table().to_pylist()
    model_steps = [s for s in steps if s["completion_token_ids"] is not None]
    assert len(model_steps) == len(steps) == 4 * 3 + 2 * 1  # one model turn per step here
    first = model_steps[0]
    assert len(first["completion_logprobs"]) == 5 and first["completion_logprobs"][0] == pytest.approx(-0.125)
    assert json.loads(first["logprobs_json"])[0]["top_logprobs"][1] == {"token": "a1", "logprob": -2.0}
    assert first["prompt_token_ids"] and all(isinstance(t, int) for t in first["prompt_token_ids"])
    assert load(out).schema.field("completion_logprobs").type == pa.list_(pa.float32())
    assert load(out).schema.field("completion_token_ids").type == pa.list_(pa.int32())

    groups = load(out, "groups").to_table()
    assert set(GROUPS_SCHEMA.names) == set(groups.schema.names) and groups.num_rows == 2
    frame = pd.read_parquet(out / "trajectories" / "groups")
    assert frame["complete"].all() and sorted(frame["completed"]) == [3, 3]
    pattern = str(out / "trajectories" / "steps" / "**" / "*.parquet")
    tokens = duckdb.sql(
        f"SELECT sum(len(completion_token_ids)) AS n, min(list_min(completion_logprobs)) AS lp "
        f"FROM read_parquet('{pattern}', hive_partitioning=true)"
    ).fetchall()[0]
    assert tokens == (5 * len(steps), pytest.approx(-0.625))
    adv = duckdb.sql(
        f"SELECT group_id, sum(advantage_centered) FROM read_parquet('{out}/trajectories/episodes/**/*.parquet', "
        "hive_partitioning=true) GROUP BY group_id"
    ).fetchall()
    assert all(abs(total) < 1e-9 for _, total in adv)
    report = json.loads((out / "batch_records" / "batch_overview.json").read_text())
    assert report  # the run's batch records cover the rollouts' result files


@pytest.mark.slow
def test_a_dropped_connection_retries_the_rollout(tmp_path: Path, api_key: None):
    out = tmp_path / "run"
    with ScriptedPolicyServer(ACTIONS, faults=["drop"]) as server:  # no SDK retries: the rollout itself is re-run
        outcome = collect_rollouts(
            [EpisodeSpec(TASK, "B3", 0)], _policy(server, max_retries=0), out, group_size=2, max_retries=1
        )
    assert outcome.retried == 1 and [r.attempts for r in outcome.results] == [2, 1]
    assert outcome.groups[0].complete and outcome.groups[0].rewards == [1.0, 1.0]
    assert [d["attempt"] for d in _docs(out)] == [2, 1]
    rows = load(out, "episodes").to_table().to_pylist()
    failed = [r for r in rows if r["status"] == "infra_error"]
    assert len(failed) == 1 and failed[0]["rollout_index"] == 0 and failed[0]["advantage"] is None
    assert "APIConnectionError" in failed[0]["error"]
    before = {d["rollout"]["episode_id"] for d in _docs(out)}
    rebuild_from_parquet(out)  # `asibench-env report DIR`: one result file per rollout again, the last attempt's
    docs = _docs(out)
    assert len(docs) == 2 and {d["rollout"]["episode_id"] for d in docs} == before
    assert [d["episode_status"] for d in docs] == ["scored", "scored"]


@pytest.mark.slow
def test_a_rollout_failing_after_its_retries_leaves_its_group_incomplete_then_resume_completes_it(
    tmp_path: Path, api_key: None
):
    out = tmp_path / "run"
    with ScriptedPolicyServer(ACTIONS, faults=["drop", ("error", 502)]) as server:
        outcome = collect_rollouts(
            [EpisodeSpec(TASK, "B3", 0)], _policy(server, max_retries=0), out, group_size=3, max_retries=1
        )
        group = outcome.groups[0]
        assert [r.status for r in outcome.results] == ["infra_error", "scored", "scored"]
        assert not group.complete and group.completed == 2 and group.infra_errors == 1
        assert group.reason == "1 of 3 rollouts ended in infra_error after retries"
        assert group.rewards == [1.0, 1.0] and group.mean == 1.0
        row = load(out, "groups").to_table().to_pylist()[0]
        assert row["complete"] is False and row["completed"] == 2 and "infra_error" in row["reason"]
        episodes = load(out, "episodes").to_table().to_pylist()
        counted = [r for r in episodes if r["status"] == "scored"]
        assert all(r["group_complete"] is False and r["group_scored"] == 2 for r in counted)

        again = collect_rollouts(
            [EpisodeSpec(TASK, "B3", 0)], _policy(server, max_retries=0), out, group_size=3, resume=True
        )
    assert again.skipped == 2 and [r.rollout_index for r in again.results] == [0]
    assert again.groups[0].complete and again.groups[0].rewards == [1.0, 1.0, 1.0]
    episodes = load(out, "episodes").to_table().to_pylist()
    counted = [r for r in episodes if r["status"] == "scored"]
    assert len(counted) == 3 and all(r["group_complete"] and r["group_scored"] == 3 for r in counted)
    assert len(load(out, "groups").to_table()) == 1


def _wait_for_results(out: Path, at_least: int, proc: subprocess.Popen, timeout_s: float = 120) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = len(list((out / "results").glob("*.json"))) if (out / "results").is_dir() else 0
        if done >= at_least or proc.poll() is not None:
            return done
        time.sleep(0.05)
    raise AssertionError(f"no {at_least} result files in {out} after {timeout_s} s")


@pytest.mark.slow
def test_cli_killed_mid_run_resumes_with_nothing_lost_or_counted_twice(tmp_path: Path):
    out = tmp_path / "run"
    env = cli_env(tmp_path, OPENAI_API_KEY="local")
    with ScriptedPolicyServer(ACTIONS, plans=("solve", "submit"), delay_s=0.4) as server:
        args = [
            *CLI, "rollouts", "--base-url", server.base_url, "--model", "scripted", "--group-size", "3",
            "--tasks", TASK, "--levels", "B3", "--seeds", "0-1", "--concurrency", "2", "--out", str(out),
        ]  # fmt: skip
        proc = subprocess.Popen([*args, "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        done_at_kill = _wait_for_results(out, 2, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL and 2 <= done_at_kill < 6  # killed mid-run
        refused = subprocess.run(args, env=env, capture_output=True, text=True)
        assert refused.returncode == 2 and "pass --resume" in refused.stderr
        resumed = subprocess.run([*args, "--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Groups: 2 complete, 0 incomplete" in resumed.stdout and "Skipped" in resumed.stdout
    docs = _docs(out)
    keys = [(d["seed"], d["rollout"]["rollout_index"]) for d in docs]
    assert sorted(keys) == [(s, i) for s in (0, 1) for i in range(3)]  # each rollout once
    episodes = load(out, "episodes").to_table().to_pylist()
    finished = [r for r in episodes if r["status"] != "infra_error"]
    assert sorted((r["seed"], r["rollout_index"]) for r in finished) == sorted(keys)  # no duplicate rows
    assert {r["episode_id"] for r in finished} == {d["rollout"]["episode_id"] for d in docs}
    steps = load(out).to_table(columns=["episode_id"]).column("episode_id").to_pylist()
    assert set(steps) <= {r["episode_id"] for r in episodes}  # the killed episode's steps went with it
    groups = load(out, "groups").to_table().to_pylist()
    assert len(groups) == 2 and all(g["complete"] and g["completed"] == 3 for g in groups)
    for group in groups:
        rewards = sorted(r["reward"] for r in finished if r["group_id"] == group["group_id"])
        assert sorted(group["rewards"]) == rewards and group["mean"] == pytest.approx(sum(rewards) / 3)
