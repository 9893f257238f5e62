"""Model judges through the official judge scorers, against a scripted OpenAI-compatible judge on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from fake_model_server import FakeModelServer, text_turn
from helpers import CLI, cli_env

from asibench_env.agents.pricing import Usage
from asibench_env.envs.episode import EpisodeResult
from asibench_env.rewards import JudgeConfigError, JudgeSettings, ScorerResult, judge_unavailable, needs_judge
from asibench_env.rewards.judge import judge_totals
from asibench_env.runs.runner import EpisodeSpec, run_episode

TASK = "demo.judged_note"
KEY_ENV = "ASIBENCH_TEST_JUDGE_KEY"
SECRET = "sk-judge-test-0123456789"
SOLVE = (Path(__file__).parent / "fixtures" / "tasks" / "demo" / "judged_note" / "solution" / "solve.py").read_text()
JUDGE_WEIGHT = 40.0


@pytest.fixture(autouse=True)
def no_judge_variables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The judge key lives in a test variable only; no ASIBENCH_JUDGE_* setting before or after a test."""
    assert not [k for k in os.environ if k.startswith("ASIBENCH_JUDGE_")]
    monkeypatch.setenv(KEY_ENV, SECRET)
    yield
    assert not [k for k in os.environ if k.startswith("ASIBENCH_JUDGE_")]


class SolverAgent:
    """Writes the judged note and its mean with one Python cell, then submits; reports a made-up agent cost."""

    name = "solver"

    def __init__(self) -> None:
        self.usage = Usage()
        self.cost_usd: float | None = None
        self._plan: list[dict] = []

    def reset(self, observation: str, info: dict) -> None:
        self.usage, self.cost_usd = Usage(input_tokens=42, output_tokens=7), 0.25
        self._plan = [{"tool": "python", "arguments": {"code": SOLVE}}, {"tool": "submit", "arguments": {}}]

    def act(self, observation: str, info: dict) -> dict:
        return self._plan.pop(0)

    def end(self, reward: float, info: dict) -> None:
        pass


def _episode(make_env, judge: JudgeSettings | None) -> EpisodeResult:
    env = make_env(TASK, judge=judge)
    return run_episode(env, SolverAgent(), EpisodeSpec(TASK, "B1", 0))


def _judge_entry(result: EpisodeResult) -> dict:
    (entry,) = [r for r in result.score_results if r["scorer_name"] == "llm_judge"]
    return entry


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _official_llm_judge(pred_dir: Path, ref_dir: Path, config: dict, reply: dict) -> dict:
    """The official llm_judge scorer itself, in this process, on the same outputs and the same scripted reply."""
    from ai4sci_bench.core.judge_api import JudgeAPIOverride, use_judge_api_override
    from ai4sci_bench.scorers.llm_judge import LLMJudgeScorer

    with FakeModelServer([reply]) as server:
        override = JudgeAPIOverride(api_base=server.base_url, api_key_env=KEY_ENV, api_protocol="openai")
        with use_judge_api_override(override):
            detail = LLMJudgeScorer().score(pred_dir, ref_dir, {**config, "model": "scripted-judge"})
    return {"score": detail.score, "max_score": detail.max_score, "passed": detail.passed, "message": detail.message}


# ---------------------------------------------------------------------- settings
def test_settings_from_options_and_their_one_line_errors(monkeypatch: pytest.MonkeyPatch):
    assert JudgeSettings.from_options(None, None) is None
    settings = JudgeSettings.from_options("http://127.0.0.1:9/v1/", KEY_ENV, "judge-x")
    assert settings is not None and settings.base_url == "http://127.0.0.1:9/v1"
    assert settings.public() == {
        "base_url": "http://127.0.0.1:9/v1",
        "api_key_env": KEY_ENV,
        "model": "judge-x",
        "protocol": "openai",
    }
    assert SECRET not in repr(settings) and SECRET not in json.dumps(settings.public())
    override = settings.override()
    assert (override.api_base, override.api_key_env, override.api_protocol) == (settings.base_url, KEY_ENV, "openai")

    cases = [
        (("http://127.0.0.1:9/v1", None), "--judge-api-key-env", "needs --judge-api-key-env"),
        ((None, KEY_ENV), "--judge-base-url", "needs --judge-base-url"),
        ((None, None, "judge-x"), "--judge-base-url", "--judge-model needs --judge-base-url"),
        (("ftp://example/v1", KEY_ENV), "--judge-base-url", "HTTP(S)"),
        (("http://127.0.0.1:9/v1", "sk-not-a-name!"), "--judge-api-key-env", "never the key itself"),
        (("http://127.0.0.1:9/v1", "JUDGE_KEY_UNSET_HERE"), "--judge-api-key-env", "is unset or empty"),
    ]
    monkeypatch.delenv("JUDGE_KEY_UNSET_HERE", raising=False)
    for args, option, text in cases:
        with pytest.raises(JudgeConfigError) as info:
            JudgeSettings.from_options(*args)
        assert info.value.option == option and text in str(info.value) and "\n" not in str(info.value)


def test_needs_judge_finds_judges_in_gates_scoring_and_composites():
    assert not needs_judge({"scoring": [{"scorer": "numerical"}]})
    assert needs_judge({"gates": [{"scorer": "multimodal"}]})
    composite = {"scorer": "composite", "config": {"sub_scorers": [{"scorer": "llm_judge"}]}}
    assert needs_judge({"scoring": [{"scorer": "numerical"}, composite]})


def test_which_official_results_mean_the_judge_was_unavailable():
    unavailable = {"failure_kind": "evaluator_unavailable", "evaluator_unavailable": True, "error": "refused"}
    down = ScorerResult(scorer_name="llm_judge", score=0, max_score=5, passed=False, details=unavailable)
    assert judge_unavailable(down) == "llm_judge: refused"
    parsed = {"individual_scores": ["PARSE_FAILED"], "parse_failures": 1}
    assert (
        judge_unavailable(ScorerResult(scorer_name="llm_judge", score=0, max_score=5, passed=False, details=parsed))
        is None
    )
    nested = {"sub_results": [{"scorer": "multimodal", "details": unavailable}]}
    assert judge_unavailable(ScorerResult(scorer_name="composite", score=0, max_score=5, passed=False, details=nested))
    cli = {"score_sources": ["error"], "raw_responses": ["(agent error: no codex)"]}
    agent = ScorerResult(scorer_name="agent_judge", score=0, max_score=5, passed=False, details=cli)
    assert judge_unavailable(agent) == "agent_judge: its agent CLI could not run: (agent error: no codex)"
    ran = {**cli, "score_sources": ["error", "score.json"]}
    assert judge_unavailable(agent.model_copy(update={"details": ran})) is None

    usage = {"calls": 2, "input_tokens": 10, "output_tokens": 4, "cost_usd": 0.5}
    results = [
        ScorerResult(scorer_name="llm_judge", score=1, max_score=5, passed=True, details={"judge_usage": usage}),
        ScorerResult(
            scorer_name="composite",
            score=1,
            max_score=5,
            passed=True,
            details={"sub_results": [{"scorer": "llm_judge", "details": {"judge_usage": {**usage, "cost_usd": None}}}]},
        ),
    ]
    assert judge_totals(results) == {
        "judge_calls": 4,
        "judge_input_tokens": 20,
        "judge_output_tokens": 8,
        "judge_cost_usd": 0.5,
    }
    assert judge_totals(results[:0])["judge_calls"] is None


# ---------------------------------------------------------------------- episodes
def test_scripted_judge_rating_gets_the_official_score_and_usage_apart_from_the_agent_cost(make_env, tmp_path):
    reply = text_turn('{"score": 8, "reasoning": "states n and the mean"}')
    with FakeModelServer([reply]) as server:
        env = make_env(TASK, judge=JudgeSettings(base_url=server.base_url, api_key_env=KEY_ENV, model="scripted-judge"))
        result = run_episode(env, SolverAgent(), EpisodeSpec(TASK, "B1", 0))
    assert result.status == "scored", result.error
    entry = _judge_entry(result)
    assert entry["score"] == pytest.approx(0.8 * JUDGE_WEIGHT) and entry["max_score"] == JUDGE_WEIGHT
    assert entry["details"]["individual_scores"] == [8.0] and entry["details"]["model"] == "openai/scripted-judge"
    assert entry["details"]["judge_usage"] == {"calls": 1, "input_tokens": 50, "output_tokens": 10, "cost_usd": None}
    assert result.final_score == pytest.approx(60.0 + 0.8 * JUDGE_WEIGHT)
    assert (result.judge_calls, result.judge_input_tokens, result.judge_output_tokens) == (1, 50, 10)
    assert result.judge_cost_usd is None  # the official scorer reports tokens, not dollars
    assert result.cost_usd == 0.25 and result.input_tokens == 42  # the agent's own cost, untouched
    (request,) = server.requests
    assert request["model"] == "scripted-judge"  # the judge model replaced the task's gpt-5.5
    prompt = request["messages"][-1]["content"]
    assert "The sample holds 50 measurements" in prompt and "Rate the note from 0 to 10" in prompt
    assert SECRET not in result.model_dump_json()


@pytest.mark.slow  # imports the official judge scorers (litellm) into the test process
def test_the_entry_equals_the_official_llm_judge_scorer_run_here(make_env, tmp_path):
    reply = text_turn('{"score": 8, "reasoning": "states n and the mean"}')
    with FakeModelServer([reply]) as server:
        env = make_env(TASK, judge=JudgeSettings(base_url=server.base_url, api_key_env=KEY_ENV, model="scripted-judge"))
        result = run_episode(env, SolverAgent(), EpisodeSpec(TASK, "B1", 0))
    entry = _judge_entry(result)
    instance = env.unwrapped.instance
    sample = np.load(instance.path / "data" / "sample.npy")
    pred = tmp_path / "pred"
    (pred / "results").mkdir(parents=True)
    note = f"The sample holds {sample.size} measurements; their mean is {sample.mean():.4f}.\n"
    (pred / "results" / "summary.md").write_text(note)
    config = {**env.unwrapped.task.evaluation["scoring"][1]["config"], "weight": JUDGE_WEIGHT, "prompt_level": "b1"}
    official = _official_llm_judge(pred, instance.reference_dir, config, reply)
    assert {k: entry[k] for k in official} == official


@pytest.mark.parametrize("failure", ["down", pytest.param("5xx", marks=pytest.mark.slow)])
def test_unreachable_judge_is_an_infra_error_never_a_zero(make_env, failure: str):
    if failure == "down":
        judge = JudgeSettings(base_url=f"http://127.0.0.1:{_free_port()}/v1", api_key_env=KEY_ENV)
        result = _episode(make_env, judge)
    else:
        with FakeModelServer([]) as server:  # every request answers 500
            judge = JudgeSettings(base_url=server.base_url, api_key_env=KEY_ENV)
            result = _episode(make_env, judge)
        assert len(server.requests) >= 3  # the official retries happened
    assert result.status == "infra_error" and result.final_score is None and result.reward == 0.0
    assert result.error is not None and "llm_judge" in result.error and SECRET not in result.error
    entry = _judge_entry(result)
    assert entry["details"]["failure_kind"] == "evaluator_unavailable" and entry["details"]["evaluator_unavailable"]
    assert result.cost_usd == 0.25


def test_garbage_judge_reply_gets_the_official_parsers_verdict(make_env):
    with FakeModelServer([text_turn("I would rather not grade this note.")]) as server:
        judge = JudgeSettings(base_url=server.base_url, api_key_env=KEY_ENV, model="scripted-judge")
        result = _episode(make_env, judge)
    assert result.status == "scored"
    entry = _judge_entry(result)
    details = entry["details"]
    assert details["individual_scores"] == ["PARSE_FAILED"] and details["parse_failures"] == 1
    assert details["raw_responses"] == ["I would rather not grade this note."]
    assert entry["score"] == 0.0 and entry["message"] == "Judge median: 0.0/10"
    assert result.final_score == pytest.approx(60.0) and result.judge_calls == 1


def test_no_judge_is_produced_not_zero_and_scores_later(make_env, tmp_path: Path):
    """Without a judge the outputs are kept (status produced, no score); `score --judge-*` scores them later."""
    from asibench_env.runs.batch import run_batch
    from asibench_env.runs.rescore import rescore_run

    env = make_env(TASK)
    result = run_episode(env, SolverAgent(), EpisodeSpec(TASK, "B1", 0))
    assert result.status == "produced" and result.final_score is None
    assert "--judge-base-url" in (result.error or "") and result.judge_calls is None

    registry, cache = env.unwrapped.registry, env.unwrapped.instance_cache
    out = tmp_path / "run"
    outcome = run_batch(
        [EpisodeSpec(TASK, "B1", 0)], SolverAgent, out, registry=registry, env_kwargs={"instance_cache": cache}
    )
    assert [r.status for r in outcome.results] == ["produced"]
    reply = text_turn('{"score": 8, "reasoning": "states n and the mean"}')
    with FakeModelServer([reply]) as server:
        judge = JudgeSettings(base_url=server.base_url, api_key_env=KEY_ENV, model="scripted-judge")
        rescored = rescore_run(out, registry, judge=judge, instance_cache=cache)
    assert rescored.rescored == 1 and rescored.still_produced == 0
    (scored,) = rescored.results
    assert scored.status == "scored" and scored.final_score == pytest.approx(60.0 + 0.8 * JUDGE_WEIGHT)
    assert scored.judge_calls == 1
    doc = json.loads(next((out / "results").glob("*.json")).read_text())
    assert doc["episode_status"] == "scored" and SECRET not in json.dumps(doc)


# ---------------------------------------------------------------------- the command line
@pytest.mark.slow  # a whole run in a subprocess, whose scoring worker imports the judge scorers afresh
def test_cli_judge_options_reach_the_scorer_and_the_run_files(tmp_path: Path, fixture_tasks_dir: Path):
    out = tmp_path / "run"
    env = cli_env(tmp_path, **{KEY_ENV: SECRET})
    base = [*CLI, "run", "--agent", "oracle", "--tasks", TASK, "--tasks-dir", str(fixture_tasks_dir)]
    base += ["--levels", "B1", "--seeds", "0", "--quiet", "--max-retries", "0"]

    incomplete = subprocess.run(
        [*base, "--out", str(out), "--judge-base-url", "http://127.0.0.1:9/v1"], env=env, capture_output=True, text=True
    )
    assert incomplete.returncode == 2 and "needs --judge-api-key-env" in incomplete.stderr
    unset = subprocess.run(
        [*base, "--out", str(out), "--judge-base-url", "http://127.0.0.1:9/v1", "--judge-api-key-env", "NOPE_UNSET"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert unset.returncode == 2 and "NOPE_UNSET is unset or empty" in unset.stderr
    assert not out.exists()

    with FakeModelServer([text_turn('{"score": 8, "reasoning": "ok"}')]) as server:
        judge = ["--judge-base-url", server.base_url, "--judge-model", "scripted-judge", "--judge-api-key-env", KEY_ENV]
        proc = subprocess.run([*base, "--out", str(out), *judge], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert [r["model"] for r in server.requests] == ["scripted-judge"]
    (doc,) = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert doc["episode_status"] == "scored" and doc["final_score"] == pytest.approx(60.0 + 0.8 * JUDGE_WEIGHT)
    assert doc["judge_usage"] == {"calls": 1, "input_tokens": 50, "output_tokens": 10, "estimated_cost_usd": None}
    assert doc["cost"] is None  # the oracle calls no model; judge usage is not the agent's cost
    meta = json.loads((out / "run_metadata.json").read_text())
    assert meta["judge"] == {
        "base_url": server.base_url,
        "api_key_env": KEY_ENV,
        "model": "scripted-judge",
        "protocol": "openai",
    }
    (episodes,) = list((out / "trajectories" / "episodes").rglob("*.parquet"))
    row = pq.read_table(episodes).to_pylist()[0]
    assert (row["judge_calls"], row["judge_input_tokens"], row["judge_cost_usd"]) == (1, 50, None)
    assert row["cost_usd"] is None
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
