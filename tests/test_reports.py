"""Run reports: our result files and batch records, read by the official ASI-Bench reporting code."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from ai4sci_bench.reporting.batch_records import write_batch_records as official_batch_records  # noqa: E402
from ai4sci_bench.reporting.result_loader import load_grouped_results  # noqa: E402

from asibench_env.agents import NullAgent, OracleAgent  # noqa: E402
from asibench_env.runs.batch import run_batch  # noqa: E402
from asibench_env.runs.reports import EpisodeSummary, build_tables, summaries_from_parquet  # noqa: E402
from asibench_env.runs.runner import EpisodeSpec, plan_episodes  # noqa: E402
from asibench_env.tasks.registry import TaskRegistry  # noqa: E402


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory, fixture_tasks_dir) -> Path:
    """Oracle and null episodes on two levels, an episode whose generator crashes (infra_error) and one on a
    downloaded private instance without reference files (produced)."""
    from asibench_env.tasks.instances import InstanceCache, sample_params

    root = tmp_path_factory.mktemp("mixed")
    tasks = root / "tasks"
    shutil.copytree(fixture_tasks_dir, tasks)
    broken = tasks / "demo" / "broken_fit"
    shutil.copytree(tasks / "demo" / "line_fit", broken)
    for name in ("task_meta.yaml", "task_eval.yaml"):
        text = (broken / name).read_text().replace("demo.line_fit", "demo.broken_fit")
        (broken / name).write_text(text)
    (broken / "generate_gt.py").write_text("raise SystemExit('generator failure')\n")
    hidden = tasks / "demo" / "hidden_fit"
    shutil.copytree(tasks / "demo" / "line_fit", hidden)
    for name in ("task_meta.yaml", "task_eval.yaml", "generate_gt.py"):
        (hidden / name).write_text((hidden / name).read_text().replace("demo.line_fit", "demo.hidden_fit"))
    cache = InstanceCache(root / "cache")
    hidden_task = TaskRegistry([tasks], include_builtin=False).get("demo.hidden_fit")
    generated, _ = cache.get(hidden_task, sample_params(hidden_task, 0))
    private = root / "instances" / "demo.hidden_fit__seed42"
    shutil.copytree(generated.path, private, ignore=shutil.ignore_patterns("reference"))
    registry = TaskRegistry([tasks], [root / "instances"], include_builtin=False)
    specs = plan_episodes(["demo.line_fit"], ["B1", "B3"], [0, 1]) + [
        EpisodeSpec("demo.broken_fit", "B3", 0),
        EpisodeSpec("demo.hidden_fit", "B3", 0),
    ]
    agents = iter([OracleAgent(registry), NullAgent()] + [OracleAgent(registry) for _ in range(5)])  # one retry
    run_batch(
        specs,
        lambda: next(agents),
        root / "run",
        registry=registry,
        show_progress=False,
        env_kwargs={"instance_cache": cache},
        agent_config={"name": "oracle"},
    )
    return root / "run"


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_layout(mixed_run: Path):
    assert (mixed_run / "run_metadata.json").is_file()
    assert len(list((mixed_run / "results").glob("*.json"))) == 6
    # every episode that wrote outputs keeps them beside its result (not the null agent nor the infra error)
    assert len(list((mixed_run / "results").glob("*.outputs"))) == 4
    null = next(
        doc
        for doc in (json.loads(p.read_text()) for p in (mixed_run / "results").glob("*.json"))
        if doc["agent_name"] == "null"
    )
    assert null["agent_output"]["persisted_outputs"]["dir"] is None  # the official "no outputs" record
    for name in ("batch_overview", "task_scoreboard", "task_level_long"):
        for suffix in ("json", "csv", "md"):
            assert (mixed_run / "batch_records" / f"{name}.{suffix}").is_file()
    assert (mixed_run / "trajectories" / "episodes").is_dir()


def test_official_loader_reads_every_result(mixed_run: Path):
    groups = load_grouped_results(mixed_run / "results")
    results = [r for group in groups for r in group.results]
    assert len(results) == 6
    assert {r.task_id for r in results} == {"demo.line_fit", "demo.broken_fit", "demo.hidden_fit"}


def test_means_match_the_official_batch_records(mixed_run: Path, tmp_path: Path):
    official_root = tmp_path / "official"
    shutil.copytree(mixed_run / "results", official_root)
    official_batch_records(official_root)
    theirs = {
        (row["agent_name"], row["task_id"]): row
        for row in _csv(official_root / "batch_records" / "task_scoreboard.csv")
    }
    ours = {
        (row["agent_name"], row["task_id"]): row for row in _csv(mixed_run / "batch_records" / "task_scoreboard.csv")
    }
    assert set(ours) == set(theirs)
    for key in ours:
        for column in ("mean_score", "min_score", "max_score", "std_score", "gates_pass_rate", "b1", "b3"):
            assert ours[key][column] == theirs[key][column], (key, column)

    def long_means(path: Path) -> dict:
        return {(r["agent_name"], r["task_id"], r["prompt_level"]): r["mean_score"] for r in _csv(path)}

    assert long_means(mixed_run / "batch_records" / "task_level_long.csv") == long_means(
        official_root / "batch_records" / "task_level_long.csv"
    )

    def overall(path: Path) -> dict:
        return {r["agent_name"]: r["overall_mean_score"] for r in _csv(path)}

    assert overall(mixed_run / "batch_records" / "batch_overview.csv") == overall(
        official_root / "batch_records" / "batch_overview.csv"
    )


def test_infra_errors_are_counted_not_averaged(mixed_run: Path):
    ours = {
        row["task_id"]: row
        for row in _csv(mixed_run / "batch_records" / "task_scoreboard.csv")
        if row["agent_name"] == "oracle"
    }
    assert ours["demo.broken_fit"]["infra_errors"] == "1"
    assert ours["demo.broken_fit"]["mean_score"] == ""  # no scored episode: empty, never 0.0
    overview = {
        r["agent_name"]: r for r in json.loads((mixed_run / "batch_records" / "batch_overview.json").read_text())
    }
    assert overview["oracle"]["infra_errors"] == 1 and overview["oracle"]["n_scored"] == 3
    assert overview["oracle"]["produced"] == 1 and overview["null"]["produced"] == 0
    assert ours["demo.hidden_fit"]["produced"] == "1" and ours["demo.hidden_fit"]["infra_errors"] == "0"
    assert ours["demo.hidden_fit"]["mean_score"] == ""  # produced, not scored: never in a mean
    assert overview["null"]["overall_mean_score"] == "0.0"
    assert ours["demo.line_fit"]["mean_score"] == "100.0"


def test_reports_rebuild_from_parquet_alone(mixed_run: Path, tmp_path: Path):
    rebuilt = build_tables(summaries_from_parquet(mixed_run), generated_at="x")
    original = json.loads((mixed_run / "batch_records" / "task_scoreboard.json").read_text())
    strip = lambda rows: [{k: v for k, v in r.items() if k != "generated_at"} for r in rows]  # noqa: E731
    assert strip(rebuilt["task_scoreboard"]) == strip(original)


def test_empty_levels_are_empty_strings():
    tables = build_tables([EpisodeSummary(task_id="a.b", prompt_level="B2", status="infra_error", final_score=None)])
    row = tables["task_scoreboard"][0]
    assert row["b2"] == "" and row["mean_score"] == "" and row["infra_errors"] == 1
