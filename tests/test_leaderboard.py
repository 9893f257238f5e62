"""asibench-env leaderboard: rows, coverage, intervals, refusals and trust labels, all from real run folders."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from asibench_env.agents import NaiveAgent, NullAgent, OracleAgent
from asibench_env.runs import metadata as run_metadata
from asibench_env.runs.baselines import REPO_BASELINES_DIR, baseline_provenance, load_baseline
from asibench_env.runs.batch import run_batch
from asibench_env.runs.leaderboard import LeaderboardError, build_leaderboard
from asibench_env.runs.leaderboard.render import render, to_table
from asibench_env.runs.runner import plan_episodes
from asibench_env.tasks.instances import InstanceCache
from asibench_env.tasks.registry import TaskRegistry
from tests.helpers import CLI, cli_env

TASK = "demo.line_fit"


def _run(out: Path, make_agent, name: str, seeds, registry, cache, **kwargs) -> Path:
    run_batch(
        plan_episodes([TASK], ["B1", "B2"], seeds),
        make_agent,
        out,
        registry=registry,
        show_progress=False,
        env_kwargs={"instance_cache": cache},
        agent_config={"name": name},
        **kwargs,
    )
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory, fixture_tasks_dir) -> dict[str, Path]:
    """Real runs of the demo task: oracle on seeds 0-1 (from the pinned oracle baseline, a clean checkout),
    oracle again on seeds 2-3, null and naive on seeds 0-1."""
    root = tmp_path_factory.mktemp("leaderboard")
    registry = TaskRegistry([fixture_tasks_dir])
    cache = InstanceCache(root / "cache")
    pinned = REPO_BASELINES_DIR / "oracle.yaml"
    baseline = baseline_provenance(pinned, load_baseline(pinned), [])
    with pytest.MonkeyPatch.context() as patch:  # a clean checkout at a known commit
        patch.setattr(run_metadata, "_git", lambda *args: "" if args[0] == "status" else "0123456789abcdef")
        official = _run(
            root / "official", lambda: OracleAgent(registry), "oracle", [0, 1], registry, cache, baseline=baseline
        )
    return {
        "official": official,
        "oracle_b": _run(root / "oracle_b", lambda: OracleAgent(registry), "oracle", [2, 3], registry, cache),
        "null_a": _run(root / "null_a", NullAgent, "null", [0, 1], registry, cache),
        "null_b": _run(root / "null_b", NullAgent, "null", [2, 3], registry, cache),
        "naive": _run(root / "naive", lambda: NaiveAgent("mean", registry), "naive", [0, 1], registry, cache),
    }


@pytest.fixture(scope="module")
def registry(fixture_tasks_dir) -> TaskRegistry:
    return TaskRegistry([fixture_tasks_dir])


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def _rows(board):
    return {row.configuration.agent: row for row in board.rows}


def test_rows_means_coverage_and_counts(runs, registry):
    board = build_leaderboard([runs["official"], runs["null_a"], runs["naive"]], registry=registry, seed=1)
    rows = _rows(board)
    assert set(rows) == {"oracle", "null", "naive-mean"}
    assert board.compared_on == "common" and board.common_episodes == 4
    oracle = rows["oracle"]
    assert oracle.rank == 1 and oracle.overall.mean is not None and oracle.overall.mean > 90
    assert rows["null"].overall.mean == 0.0 and rows["null"].rank == 3
    assert set(oracle.levels) == {"B1", "B2"} and set(oracle.domains) == {"demo"}
    assert (
        oracle.overall.ci95 is not None and oracle.overall.ci95.low <= oracle.overall.mean <= oracle.overall.ci95.high
    )
    assert oracle.coverage.episodes_counted == oracle.coverage.episodes_planned == 4
    assert oracle.coverage.tasks_counted == 1 and oracle.coverage.missing_episodes == []
    assert oracle.mean_steps is not None and oracle.mean_wall_time_s is not None
    assert oracle.task_set_sha256 and oracle.package_versions and oracle.evaluated_from
    assert oracle.infra_errors == 0 and oracle.produced == 0


def test_intervals_are_reproducible_with_the_seed(runs, registry):
    dirs = [runs["official"], runs["oracle_b"], runs["naive"]]
    one = build_leaderboard(dirs, registry=registry, seed=7, allow_partial=True)
    two = build_leaderboard(dirs, registry=registry, seed=7, allow_partial=True)
    assert [r.overall for r in one.rows] == [r.overall for r in two.rows]


def test_runs_of_one_configuration_merge_and_compare_on_common_coverage(runs, registry):
    board = build_leaderboard([runs["official"], runs["oracle_b"], runs["null_a"]], registry=registry)
    rows = _rows(board)
    assert len(rows["oracle"].runs) == 2
    assert rows["oracle"].coverage.episodes_counted == 8  # coverage is the row's own
    assert rows["oracle"].overall.episodes == 4  # the means use the common episodes only
    assert not rows["oracle"].partial
    partial = _rows(
        build_leaderboard([runs["official"], runs["oracle_b"], runs["null_a"]], registry=registry, allow_partial=True)
    )
    assert partial["oracle"].overall.episodes == 8 and not partial["oracle"].partial
    assert partial["null"].partial  # it lacks seeds 2-3 that the oracle row has


def test_no_common_coverage_is_refused(runs, registry):
    with pytest.raises(LeaderboardError, match="--allow-partial"):
        build_leaderboard([runs["oracle_b"], runs["null_a"]], registry=registry)


def test_duplicate_episodes_are_refused(runs, registry, tmp_path):
    again = _copy(runs["null_a"], tmp_path / "again")
    with pytest.raises(LeaderboardError, match=r"duplicate episode demo\.line_fit/B\d/seed=\d of null"):
        build_leaderboard([runs["null_a"], again], registry=registry)


def test_other_versions_are_refused_unless_allow_mixed(runs, registry, tmp_path):
    old = _copy(runs["null_a"], tmp_path / "old")
    meta = json.loads((old / "run_metadata.json").read_text())
    meta["framework_version"] = "0.0.1"
    (old / "run_metadata.json").write_text(json.dumps(meta))
    with pytest.raises(LeaderboardError, match="0.0.1.*--allow-mixed"):
        build_leaderboard([old, runs["official"]], registry=registry)
    board = build_leaderboard([old, runs["official"]], registry=registry, allow_mixed=True)
    assert _rows(board)["null"].mixed and not _rows(board)["oracle"].mixed
    assert any("0.0.1" in w for w in board.warnings)


def test_half_written_runs_are_read_with_a_warning(runs, registry, tmp_path):
    half = _copy(runs["null_a"], tmp_path / "half")
    gone = sorted((half / "results").glob("*__b1.json"))
    for path in gone:
        path.unlink()
    board = build_leaderboard([half], registry=registry)
    assert any("Parquet episode(s) without a result file" in w and "seed=0" in w for w in board.warnings)
    row = board.rows[0]
    assert row.overall.episodes == 4 and row.trust == "unverified"
    no_parquet = _copy(runs["null_a"], tmp_path / "noparquet")
    shutil.rmtree(no_parquet / "trajectories")
    board = build_leaderboard([no_parquet], registry=registry)
    assert any("no trajectories/episodes" in w for w in board.warnings)
    assert board.rows[0].overall.episodes == 4 and board.rows[0].trust == "unverified"


def test_label_official(runs, registry):
    row = build_leaderboard([runs["official"]], registry=registry).rows[0]
    assert row.trust == "official", row.trust_reasons
    assert any("pinned baseline baselines/oracle.yaml" in r for r in row.trust_reasons)
    meta = json.loads((runs["official"] / "run_metadata.json").read_text())
    assert meta["baseline"]["sha256"] and meta["task_hashes"][TASK] and len(meta["planned"]) == 4


def test_label_reproduced(runs, registry):
    row = build_leaderboard([runs["null_a"], runs["null_b"]], registry=registry).rows[0]
    assert row.trust == "reproduced", row.trust_reasons
    assert row.trust_reasons[0].startswith("reproduced:")


def test_label_community(runs, registry):
    row = build_leaderboard([runs["naive"]], registry=registry).rows[0]
    assert row.trust == "community", row.trust_reasons
    assert any("not run from a baseline file" in r for r in row.trust_reasons)


def test_label_unverified_when_an_output_was_changed(runs, registry, tmp_path):
    tampered = _copy(runs["official"], tmp_path / "tampered")
    output = next((tampered / "results").glob("*.outputs/coef.npy"))
    output.write_bytes(output.read_bytes() + b"x")
    row = build_leaderboard([tampered], registry=registry).rows[0]
    assert row.trust == "unverified"
    assert any("does not match its recorded sha256" in r for r in row.trust_reasons)


def test_label_unverified_when_the_task_files_changed(runs, copy_task, tmp_path):
    changed = copy_task()
    (changed / "prompt_b1.md").write_text((changed / "prompt_b1.md").read_text() + "\nchanged\n")
    row = build_leaderboard([runs["official"]], registry=TaskRegistry([changed.parent.parent])).rows[0]
    assert row.trust == "unverified"
    assert any(f"task {TASK}'s files differ" in r for r in row.trust_reasons)


def test_label_unverified_without_task_hashes(runs, registry, tmp_path):
    bare = _copy(runs["naive"], tmp_path / "bare")
    meta = json.loads((bare / "run_metadata.json").read_text())
    del meta["task_hashes"]
    (bare / "run_metadata.json").write_text(json.dumps(meta))
    row = build_leaderboard([bare], registry=registry).rows[0]
    assert row.trust == "unverified"
    assert any("records no task hashes" in r for r in row.trust_reasons)


def test_formats(runs, registry):
    board = build_leaderboard([runs["official"], runs["null_a"]], registry=registry)
    doc = json.loads(render(board, "json"))
    assert doc["schema_version"] == 1 and len(doc["rows"]) == 2
    csv_text = render(board, "csv")
    assert csv_text.splitlines()[0].startswith("rank,config_id,name") and len(csv_text.splitlines()) == 3
    assert render(board, "md").startswith("| # | configuration")
    assert "<table>" in render(board, "html")


def test_cli_table_at_80_columns_cuts_no_ids(runs, tmp_path, fixture_tasks_dir):
    env = cli_env(tmp_path, COLUMNS="80")
    args = [*CLI, "leaderboard", str(runs["official"]), str(runs["null_a"]), str(runs["naive"])]
    proc = subprocess.run(
        [*args, "--tasks-dir", str(fixture_tasks_dir), "--out", str(tmp_path / "board")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    board = json.loads((tmp_path / "board" / "leaderboard.json").read_text())
    for row in board["rows"]:
        assert row["config_id"] in proc.stdout
        assert any(row["name"] in line for line in lines)
    assert {p.name for p in (tmp_path / "board").iterdir()} >= {
        "leaderboard.json",
        "leaderboard.csv",
        "leaderboard.md",
        "leaderboard.html",
    }


def test_cli_refusal_is_one_line(runs, tmp_path, fixture_tasks_dir):
    proc = subprocess.run(
        [*CLI, "leaderboard", str(runs["oracle_b"]), str(runs["null_a"]), "--tasks-dir", str(fixture_tasks_dir)],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path),
        timeout=120,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "--allow-partial" in proc.stderr


def test_table_renders_in_rich(runs, registry):
    from rich.console import Console

    console = Console(width=80, record=True)
    console.print(to_table(build_leaderboard([runs["official"]], registry=registry)))
    assert "official" in console.export_text()
