"""Produce-only episodes (private seed42 instances), persisted outputs, official bundles and re-scoring.

The instances folders are built in the official downloaded layout (``<instances>/<instance_id>/`` with
prompts, data/, instance_meta.json and, for the public seed31415 split only, reference/) from the demo
fixture task's generator. The official ``ai4sci_bench`` code reads what we write.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import CLI, cli_env

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from ai4sci_bench.local_scoring import score_seed31415_results  # noqa: E402
from ai4sci_bench.reporting.batch_records import write_batch_records as official_batch_records  # noqa: E402
from ai4sci_bench.reporting.result_loader import load_grouped_results  # noqa: E402
from ai4sci_bench.submission.bundle import build_submission as official_build_submission  # noqa: E402

from asibench_env.agents import OracleAgent  # noqa: E402
from asibench_env.runs.batch import finished_specs, run_batch  # noqa: E402
from asibench_env.runs.reports import rebuild_from_parquet  # noqa: E402
from asibench_env.runs.rescore import rescore_run  # noqa: E402
from asibench_env.runs.results import outputs_dirname  # noqa: E402
from asibench_env.runs.runner import plan_episodes  # noqa: E402
from asibench_env.runs.submission import SubmissionError, build_bundle, check_run  # noqa: E402
from asibench_env.tasks.instances import InstanceCache, sample_params  # noqa: E402
from asibench_env.tasks.registry import TaskRegistry  # noqa: E402
from asibench_env.trajectories import load  # noqa: E402

TASK = "demo.line_fit"
LEVELS = ["B1", "B3"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def splits(tmp_path_factory, fixture_tasks_dir) -> dict[str, Path]:
    """``tasks``, ``private`` (seed42, no reference/) and ``public`` (seed31415, with reference/) folders."""
    root = tmp_path_factory.mktemp("splits")
    tasks = root / "tasks"
    shutil.copytree(fixture_tasks_dir, tasks)
    task = TaskRegistry([tasks], include_builtin=False).get(TASK)
    generated, _ = InstanceCache(root / "cache").get(task, sample_params(task, 0))
    private, public = root / "private" / f"{TASK}__seed42", root / "public" / f"{TASK}__seed31415"
    shutil.copytree(generated.path, public)
    shutil.copytree(generated.path, private)
    shutil.rmtree(private / "reference")
    assert (public / "reference").is_dir() and not (private / "reference").exists()
    return {"tasks": tasks, "private": private.parent, "public": public.parent, "root": root}


def _registry(splits: dict[str, Path], split: str) -> TaskRegistry:
    return TaskRegistry([splits["tasks"]], [splits[split]], include_builtin=False)


def _run(splits: dict[str, Path], split: str, out: Path, **env_kwargs) -> Path:
    registry = _registry(splits, split)
    run_batch(
        plan_episodes([TASK], LEVELS, [0]),
        lambda: OracleAgent(registry),
        out,
        registry=registry,
        show_progress=False,
        env_kwargs=env_kwargs,
        agent_config={"name": "oracle"},
    )
    return out


@pytest.fixture(scope="module")
def private_run(splits) -> Path:
    return _run(splits, "private", splits["root"] / "private_run")


@pytest.fixture(scope="module")
def public_run(splits) -> Path:
    return _run(splits, "public", splits["root"] / "public_run")


def _docs(run: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((run / "results").glob("*.json"))}


def test_private_instances_give_produced_episodes_with_persisted_outputs(private_run: Path):
    docs = _docs(private_run)
    assert sorted(docs) == [f"{TASK}__seed42__b1.json", f"{TASK}__seed42__b3.json"]
    for name, doc in docs.items():
        assert doc["episode_status"] == "produced" and doc["final_score"] is None
        assert doc["status"] == "completed" and "private split" in doc["error"]
        assert doc["score_results"][0]["details"]["unscored_submission"] is True
        persisted = doc["agent_output"]["persisted_outputs"]
        base = name.removesuffix(".json")
        assert persisted["dir"] == f"{base}.outputs" == outputs_dirname(doc["instance_id"], doc["prompt_level"])
        assert sorted(f["path"] for f in persisted["files"]) == ["coef.npy", "results/fit.py"]
        for record in persisted["files"]:
            kept = private_run / "results" / persisted["dir"] / record["path"]
            assert kept.is_file() and not kept.is_symlink()
            assert record["bytes"] == kept.stat().st_size and record["sha256"] == _sha256(kept)
    assert not list((private_run / "results").glob(".*")), "no staging folders left behind"
    # produced episodes are finished for --resume, and counted apart in the batch records
    assert len(finished_specs(private_run)) == 2
    overview = json.loads((private_run / "batch_records" / "batch_overview.json").read_text())
    assert overview[0]["produced"] == 2 and overview[0]["infra_errors"] == 0 and overview[0]["n_scored"] == 0
    assert overview[0]["overall_mean_score"] == ""


def test_scored_episodes_persist_their_outputs_too(public_run: Path):
    for doc in _docs(public_run).values():
        assert doc["episode_status"] == "scored" and doc["final_score"] > 99
        persisted = doc["agent_output"]["persisted_outputs"]
        for record in persisted["files"]:
            assert _sha256(public_run / "results" / persisted["dir"] / record["path"]) == record["sha256"]


def test_official_reports_read_produced_results_and_keep_them_out_of_means(
    private_run: Path, public_run: Path, tmp_path: Path
):
    mixed = tmp_path / "mixed"
    shutil.copytree(public_run, mixed)
    for path in (private_run / "results").glob("*.json"):
        shutil.copy2(path, mixed / "results" / path.name)
    groups = load_grouped_results(mixed / "results")
    assert len([r for group in groups for r in group.results]) == 4
    official_root = tmp_path / "official"
    shutil.copytree(mixed / "results", official_root)
    official_batch_records(official_root)
    from asibench_env.runs.batch import rebuild_batch_records

    rebuild_batch_records(mixed)
    ours = json.loads((mixed / "batch_records" / "batch_overview.json").read_text())[0]
    with open(official_root / "batch_records" / "batch_overview.json") as handle:
        theirs = json.load(handle)
    theirs = theirs[0] if isinstance(theirs, list) else theirs
    assert ours["produced"] == 2 and ours["n_scored"] == 2
    assert float(ours["overall_mean_score"]) == pytest.approx(float(theirs["overall_mean_score"]), abs=0.05)


def test_official_local_scoring_agrees_with_ours(public_run: Path, splits, tmp_path: Path):
    report, _ = score_seed31415_results(
        public_run, splits["public"], splits["tasks"], output_path=tmp_path / "local_score.json"
    )
    theirs = {(r["instance_id"], r["prompt_level"]): r["final_score"] for r in report["results"]}
    ours = {(d["instance_id"], d["prompt_level"]): d["final_score"] for d in _docs(public_run).values()}
    assert set(theirs) == set(ours) and len(ours) == 2
    for key, score in ours.items():
        assert theirs[key] == pytest.approx(score, abs=1e-6), key


def test_score_turns_a_produced_run_into_the_scored_one(private_run: Path, public_run: Path, splits, tmp_path: Path):
    run = tmp_path / "run"
    shutil.copytree(private_run, run)
    # the same instance with its reference files now here (the split suffix aside)
    instances = tmp_path / "instances"
    shutil.copytree(splits["public"] / f"{TASK}__seed31415", instances / f"{TASK}__seed42")
    outcome = rescore_run(run, TaskRegistry([splits["tasks"]], [instances], include_builtin=False))
    assert outcome.rescored == 2 and outcome.still_produced == 0
    normal = {d["prompt_level"]: d for d in _docs(public_run).values()}
    for doc in _docs(run).values():
        assert doc["episode_status"] == "scored" and doc["status"] == "completed" and doc["error"] is None
        expected = normal[doc["prompt_level"]]
        assert doc["final_score"] == expected["final_score"]
        assert doc["score_results"] == expected["score_results"]
        assert doc["gate_results"] == expected["gate_results"]
        assert doc["agent_output"]["persisted_outputs"]["dir"] is not None
    overview = json.loads((run / "batch_records" / "batch_overview.json").read_text())[0]
    assert overview["produced"] == 0 and overview["n_scored"] == 2
    # the Parquet episodes were rescored too: a report rebuilt from them keeps the scores
    episodes = load(run, "episodes").to_table().to_pylist()
    assert {e["status"] for e in episodes} == {"scored"}
    assert sorted(e["final_score"] for e in episodes) == sorted(d["final_score"] for d in _docs(run).values())
    rebuild_from_parquet(run)
    assert {d["episode_status"] for d in _docs(run).values()} == {"scored"}


def test_score_leaves_results_without_references_produced(private_run: Path, splits, tmp_path: Path):
    run = tmp_path / "run"
    shutil.copytree(private_run, run)
    outcome = rescore_run(run, _registry(splits, "private"))
    assert outcome.rescored == 0 and outcome.still_produced == 2
    assert {d["episode_status"] for d in _docs(run).values()} == {"produced"}


def test_submission_refusals(private_run: Path, public_run: Path, tmp_path: Path):
    with pytest.raises(SubmissionError, match="seed31415 run"):
        check_run(public_run)
    mixed = tmp_path / "mixed"
    shutil.copytree(private_run, mixed)
    shutil.copy2(next((public_run / "results").glob("*.json")), mixed / "results")
    with pytest.raises(SubmissionError, match="mixes instance splits"):
        check_run(mixed)
    twice = tmp_path / "twice"
    shutil.copytree(private_run, twice)
    first = next((twice / "results").glob("*.json"))
    shutil.copy2(first, twice / "results" / f"copy-{first.name}")
    with pytest.raises(SubmissionError, match="same instance and level more than once"):
        check_run(twice)
    with pytest.raises(SubmissionError, match="--sandbox docker"):  # the local sandbox is not the official one
        build_bundle(private_run, tmp_path / "bundle.tar.gz")
    with pytest.raises(SubmissionError, match="no result files"):
        check_run(tmp_path)


def test_submission_cli_prints_one_error_line(public_run: Path, tmp_path: Path):
    proc = subprocess.run(
        [*CLI, "submission", "build", str(public_run)], capture_output=True, text=True, env=cli_env(tmp_path)
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "seed31415 run" in lines[0] and "asibench-env submission build" in lines[0]


@pytest.mark.slow
def test_official_bundle_of_a_docker_run(docker_client, splits, tmp_path: Path):
    from asibench_env.sandbox.container.pool import shutdown_pools

    try:
        run = _run(splits, "private", tmp_path / "run", sandbox="docker")
    finally:
        shutdown_pools()
    docs = _docs(run)
    assert {d["episode_status"] for d in docs.values()} == {"produced"}
    sandbox = next(iter(docs.values()))["provenance"]["sandbox"]
    assert sandbox["effective_mode"] == "os" and sandbox["image_identity"]
    bundle = build_bundle(run, tmp_path / "bundle.tar.gz")
    assert bundle.archive_path is not None and bundle.archive_path.is_file()
    assert bundle.instance_count == 2 and not bundle.instances_with_missing_outputs
    manifest = json.loads((bundle.bundle_dir / "manifest.json").read_text())
    for entry in manifest["instances"]:
        doc = docs[f"{entry['base_name']}.json"]
        recorded = {f["path"]: f["sha256"] for f in doc["agent_output"]["persisted_outputs"]["files"]}
        shipped = {f["path"].removeprefix("outputs/"): f["sha256"] for f in entry["output_files"]}
        assert shipped == recorded
    # the official function on its own accepts the run as well
    again = official_build_submission(run, output_path=tmp_path / "again", archive=False)
    assert again.instance_count == 2 and not again.instances_with_missing_outputs


def test_score_cli(private_run: Path, splits, tmp_path: Path):
    run = tmp_path / "run"
    shutil.copytree(private_run, run)
    instances = tmp_path / "instances"
    shutil.copytree(splits["public"] / f"{TASK}__seed31415", instances / f"{TASK}__seed42")
    args = [*CLI, "score", str(run), "--instances-dir", str(instances), "--tasks-dir", str(splits["tasks"])]
    proc = subprocess.run(args, capture_output=True, text=True, env=cli_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "Scored 2 produced episode(s)" in proc.stdout and TASK in proc.stdout
    assert {d["episode_status"] for d in _docs(run).values()} == {"scored"}
    proc = subprocess.run([*CLI, "score", str(run)], capture_output=True, text=True, env=cli_env(tmp_path))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "--instances-dir" in proc.stderr
