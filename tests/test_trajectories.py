"""Trajectory logging: the wrapper, the Parquet files, and reading them back with other readers."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from helpers import DEMO_SOLVE

from asibench_env.trajectories import EPISODES_SCHEMA, SCHEMA_VERSION, STEPS_SCHEMA, TrajectoryLogger, load


@pytest.fixture
def logged_run(make_env, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    env = TrajectoryLogger(
        make_env(), out, run_id="run1", agent="scripted", model="test-model", max_observation_chars=2000
    )
    env.reset(seed=0)
    env.annotate(input_tokens=100, output_tokens=20, cost_usd=0.001, model_messages=[{"role": "user", "content": "x"}])
    env.step({"tool": "python", "arguments": {"code": DEMO_SOLVE}})
    env.step("not a tool call")
    env.step(
        {
            "tool": "bash",
            "arguments": {"command": "printf '\\xff\\xfe bad bytes'; head -c 50000 /dev/zero | tr '\\0' a"},
        }
    )
    env.annotate(input_tokens=50, output_tokens=5, cost_usd=0.0005)
    env.step({"tool": "submit"})
    env.reset(seed=1, options={"level": "B1"})
    env.step('{"tool": "submit"}')
    env.reset(seed=2)  # an unfinished episode is not written
    env.step({"tool": "bash", "arguments": {"command": "true"}})
    env.close()
    return out


def test_steps_and_episodes_read_back_with_pyarrow(logged_run: Path):
    steps = load(logged_run).to_table()
    episodes = load(logged_run, "episodes").to_table()
    assert steps.num_rows == 5 and episodes.num_rows == 2
    assert set(STEPS_SCHEMA.names) == set(steps.schema.names)
    assert set(EPISODES_SCHEMA.names) == set(episodes.schema.names)
    rows = sorted(steps.to_pylist(), key=lambda r: (r["prompt_level"], r["step_index"]))
    first = [r for r in rows if r["prompt_level"] == "B3"]
    assert [r["tool"] for r in first] == ["python", None, "bash", "submit"]
    assert first[0]["input_tokens"] == 100 and json.loads(first[0]["model_messages_json"])[0]["role"] == "user"
    assert first[1]["action_error"] and first[1]["observation"].startswith("[invalid action]")
    assert first[2]["observation_truncated"] and first[2]["observation_chars"] > 50000
    assert "characters cut by the trajectory logger" in first[2]["observation"]
    assert "\ufffd" in first[2]["observation"]  # non-UTF-8 bytes survive as replacement characters
    assert first[3]["terminated"] and first[3]["reward"] > 0.99
    scored = {r["prompt_level"]: r for r in episodes.to_pylist()}
    assert scored["B3"]["final_score"] > 99 and scored["B1"]["final_score"] == 0
    assert scored["B3"]["input_tokens"] == 150 and scored["B3"]["cost_usd"] == pytest.approx(0.0015)
    assert {a["path"] for a in scored["B3"]["artifacts"]} == {"coef.npy", "results/fit.py"}
    assert scored["B3"]["sandbox_isolation"] == "namespaces" and scored["B3"]["agent"] == "scripted"
    assert len({r["episode_id"] for r in rows}) == 2


def test_files_are_hive_partitioned_zstd_and_versioned(logged_run: Path):
    files = sorted((logged_run / "trajectories").rglob("*.parquet"))
    assert len(files) == 4
    assert all("task_id=demo.line_fit" in str(f) and "prompt_level=B" in str(f) for f in files)
    meta = pq.ParquetFile(files[0])
    assert meta.metadata.row_group(0).column(0).compression == "ZSTD"
    assert meta.schema_arrow.metadata[b"asibench_env.schema_version"] == SCHEMA_VERSION.encode()
    assert not list((logged_run / "trajectories").rglob("*.tmp"))


def test_pandas_and_duckdb_read_the_files(logged_run: Path):
    frame = pd.read_parquet(logged_run / "trajectories" / "steps")
    assert len(frame) == 5 and set(frame["prompt_level"].astype(str)) == {"B1", "B3"}
    pattern = str(logged_run / "trajectories" / "episodes" / "**" / "*.parquet")
    scores = duckdb.sql(
        f"SELECT prompt_level, final_score FROM read_parquet('{pattern}', hive_partitioning=true) ORDER BY 1"
    ).fetchall()
    assert [level for level, _ in scores] == ["B1", "B3"] and scores[1][1] > 99


def test_a_corrupt_file_from_a_killed_run_is_skipped(logged_run: Path, caplog: pytest.LogCaptureFixture):
    folder = logged_run / "trajectories" / "steps" / "task_id=demo.line_fit" / "prompt_level=B3"
    good = next(folder.glob("*.parquet"))
    (folder / "broken.parquet").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with caplog.at_level("WARNING"):
        table = load(logged_run).to_table()
    assert table.num_rows == 5 and "broken.parquet" in caplog.text


def test_load_without_trajectories_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="no steps table"):
        load(tmp_path)


def test_annotate_rejects_unknown_fields(make_env, tmp_path: Path):
    env = TrajectoryLogger(make_env(), tmp_path)
    with pytest.raises(ValueError, match="unknown step fields"):
        env.annotate(temperature=0.3)


class RaisingAgent:
    """Takes one step, then fails like a buggy agent."""

    name = "raising"

    def reset(self, observation, info):
        self.calls = 0

    def act(self, observation, info):
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("agent bug")
        return {"tool": "bash", "arguments": {"command": "echo one step"}}

    def end(self, reward, info):
        pass


def test_run_batch_logs_every_episode_including_failures(registry, instance_cache, tmp_path: Path):
    from asibench_env.agents import OracleAgent
    from asibench_env.runs.batch import run_batch
    from asibench_env.runs.runner import plan_episodes

    out = tmp_path / "batch"
    specs = plan_episodes(["demo.line_fit"], ["B3"], [0, 1])
    agents = iter([OracleAgent(registry), RaisingAgent()])
    outcome = run_batch(
        specs,
        lambda: next(agents),
        out,
        registry=registry,
        show_progress=False,
        env_kwargs={"instance_cache": instance_cache},
        agent_config={"name": "mixed"},
    )
    assert [r.status for r in outcome.results] == ["scored", "agent_error"]
    episodes = load(out, "episodes").to_table().to_pylist()
    assert sorted(e["status"] for e in episodes) == ["agent_error", "scored"]
    failed = next(e for e in episodes if e["status"] == "agent_error")
    assert "agent bug" in failed["error"] and failed["final_score"] == 0.0
    steps = load(out).to_table().to_pylist()
    assert sum(s["episode_id"] == failed["episode_id"] for s in steps) == 1
    assert {e["run_id"] for e in episodes} == {s["run_id"] for s in steps}


def test_hostile_actions_are_logged_without_raising(tmp_path):
    """Deep nesting and huge integers, which make json.dumps and repr raise, are still logged as text."""
    from asibench_env.trajectories.logger import _raw_action

    deep: list = []
    for _ in range(5000):
        deep = [deep]
    huge = 10**5000
    for action in ({"tool": "bash", "arguments": {"command": deep}}, {"tool": "bash", "n": huge}, [huge]):
        text = _raw_action(action)
        assert isinstance(text, str) and text
