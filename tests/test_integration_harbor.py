"""Harbor task export: folders Harbor 0.25.0's own loader accepts, with no ground truth in the agent's environment.

Harbor needs Python >= 3.12, so its package lives in ``.venv-harbor`` (``make harbor-venv``) and is
called through a subprocess. Harbor's trial runner cannot run on this machine (see
docs/training/harbor.md): the Docker test replays its trial steps on the real engine instead.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from asibench_env.agents.oracle import OracleAgent
from asibench_env.cli.export_harbor import harbor
from asibench_env.integrations.harbor import (
    HarborExportError,
    HarborExportOptions,
    HarborExportSpec,
    HarborTaskConfig,
    export_harbor_tasks,
)
from asibench_env.integrations.harbor.verifier import rewards_of, score_workspace
from asibench_env.runs.runner import EpisodeSpec, run_episode
from asibench_env.sandbox.container.images import default_image
from asibench_env.tasks.instances import InstanceCache
from asibench_env.tasks.registry import TaskRegistry

ROOT = Path(__file__).resolve().parents[1]
HARBOR_PYTHON = ROOT / ".venv-harbor" / "bin" / "python"
HARBOR_CLI = ROOT / ".venv-harbor" / "bin" / "harbor"
CUSTOM_SCORER_TASK = "chemistry.consecutive_reaction_kinetics"
SMALL_SPECS = [
    HarborExportSpec("physics.damped_oscillator_fit", "B3", 0),
    HarborExportSpec(CUSTOM_SCORER_TASK, "B1", 1),
]

LOAD_SCRIPT = """
import json, sys, warnings
from pathlib import Path
from harbor.models.task.task import Task
from harbor.models.task.paths import TaskPaths
warnings.simplefilter("error")  # a deprecated field would warn: refuse it
out = []
for path in sys.argv[1:]:
    task = Task(path)
    paths = TaskPaths(path)
    out.append({
        "path": path,
        "name": task.name,
        "valid": Task.is_valid_dir(path),
        "instruction": task.instruction,
        "config": task.config.model_dump(mode="json"),
        "test": str(paths.discovered_test_path.relative_to(paths.task_dir)),
        "solve": str(paths.discovered_solve_path.relative_to(paths.task_dir)),
        "dockerfile": (paths.environment_dir / "Dockerfile").is_file(),
    })
print(json.dumps(out))
"""


def harbor_python() -> Path:
    assert HARBOR_PYTHON.is_file(), (
        f"{HARBOR_PYTHON} is missing: run `make harbor-venv` (Harbor 0.25.0, Python >= 3.12)"
    )
    return HARBOR_PYTHON


def harbor_load(folders: list[Path]) -> list[dict[str, Any]]:
    """Load task folders with Harbor's own ``Task`` (its task loader) in .venv-harbor."""
    done = subprocess.run(
        [str(harbor_python()), "-c", LOAD_SCRIPT, *map(str, folders)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"Harbor refused a task folder:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout)


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root``: relative path -> (bytes, permission bits)."""
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mode & 0o777)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def digests(root: Path) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def small_export(tmp_path_factory: pytest.TempPathFactory, registry: TaskRegistry, instance_cache: InstanceCache):
    out = tmp_path_factory.mktemp("harbor")
    return export_harbor_tasks(SMALL_SPECS, out, registry=registry, instance_cache=instance_cache)


def test_harbor_loader_accepts_exported_folders(small_export, registry: TaskRegistry) -> None:
    loaded = harbor_load([item.path for item in small_export])
    assert [entry["path"] for entry in loaded] == [str(item.path) for item in small_export]
    for item, entry in zip(small_export, loaded, strict=True):
        task = registry.get(item.spec.task_id)
        assert entry["valid"] is True
        assert (entry["test"], entry["solve"], entry["dockerfile"]) == ("tests/test.sh", "solution/solve.sh", True)
        assert entry["instruction"] == (item.path / "environment" / "workspace" / "prompt.md").read_text()
        assert entry["name"] == f"asibench/{item.path.name}"
        config = entry["config"]
        assert config["environment"]["network_mode"] == "no-network"
        assert config["agent"]["network_mode"] == config["verifier"]["network_mode"] == "no-network"
        assert (config["agent"]["user"], config["verifier"]["user"]) == (1000, "root")
        assert config["environment"]["workdir"] == "/workspace"
        meta = config["metadata"]
        assert (meta["task_id"], meta["level"], meta["seed"]) == (task.id, item.spec.level, item.spec.seed)
        assert meta["params"]["seed"] == item.spec.seed
        assert meta["instance_id"] == item.instance_id
        ours = HarborTaskConfig.model_validate(tomllib.loads((item.path / "task.toml").read_text()))
        assert ours.metadata.model_dump() == meta | {"params": ours.metadata.params}


def test_harbor_lint_finds_only_the_shared_verifier(small_export) -> None:
    """Harbor's own linter (default rules): the one finding is the documented shared-verifier choice."""
    done = subprocess.run(
        [str(HARBOR_CLI), "lint", "--json", *(str(item.path) for item in small_export)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    findings = json.loads(done.stdout)
    assert {finding["rule"] for finding in findings} == {"shared-verifier"}, findings


def test_no_ground_truth_in_the_environment(
    small_export, registry: TaskRegistry, instance_cache: InstanceCache
) -> None:
    for item in small_export:
        task = registry.get(item.spec.task_id)
        environment = item.path / "environment"
        files = sorted(p.relative_to(environment).as_posix() for p in environment.rglob("*") if p.is_file())
        assert "Dockerfile" in files
        assert all(
            f == "Dockerfile" or f.startswith(("workspace/data/",))
            for f in files
            if f
            not in (
                "workspace/prompt.md",
                "workspace/task_info.json",
            )
        ), files
        secrets = digests(item.path / "tests" / "reference") | {
            hashlib.sha256(task.solution_path.read_bytes()).hexdigest()
        }
        assert secrets, "the reference folder is empty"
        assert not digests(environment) & secrets, "a reference or solver file is in environment/"
        assert not digests(item.path / "environment") & digests(item.path / "tests" / "lib")
        text = " ".join(p.read_text(errors="replace") for p in environment.rglob("*") if p.suffix in {".md", ".json"})
        assert "reference" not in (environment / "workspace" / "task_info.json").read_text()
        assert task.id not in text, "the real task id leaked into the agent's files"
        # what the verifier needs is under tests/
        tests = item.path / "tests"
        assert (tests / "scoring.json").is_file() and (tests / "verify.py").is_file()
        assert (tests / "lib" / "asibench_env" / "rewards" / "engine.py").is_file()
        assert not (tests / "lib" / "asibench_env" / "__init__.py").exists()
        assert (tests / "task" / "custom_scorer.py").is_file() == (task.id == CUSTOM_SCORER_TASK)
        assert (tests / "lib" / "ai4sci_bench").is_dir() == (task.id == CUSTOM_SCORER_TASK)
        assert not list((tests / "lib").rglob("builtin"))


def test_reexport_is_byte_identical(
    small_export, tmp_path: Path, registry: TaskRegistry, instance_cache: InstanceCache
) -> None:
    again = export_harbor_tasks(SMALL_SPECS, tmp_path / "a", registry=registry, instance_cache=instance_cache)
    for first, second in zip(small_export, again, strict=True):
        assert first.path.name == second.path.name
        assert tree(first.path) == tree(second.path)
    # exporting over an existing folder replaces it with the same bytes
    before = tree(again[0].path)
    (again[0].path / "stray.txt").write_text("left over")
    export_harbor_tasks(SMALL_SPECS[:1], tmp_path / "a", registry=registry, instance_cache=instance_cache)
    assert tree(again[0].path) == before
    assert [p.name for p in (tmp_path / "a").iterdir() if p.name.startswith(".")] == []


def test_verifier_scores_an_empty_workspace_zero(small_export, tmp_path: Path) -> None:
    """The verify.py logic in-process: no outputs is a scored 0 with every scorer listed, not an error."""
    item = small_export[0]
    scoring = json.loads((item.path / "tests" / "scoring.json").read_text())
    report, outputs = score_workspace(scoring, tmp_path, item.path / "tests")
    assert report.infra_error is None
    assert report.final_score == 0.0
    assert sorted(outputs["missing"]) == sorted(scoring["outputs"])
    rewards = rewards_of(report)
    assert rewards["reward"] == 0.0
    assert all(isinstance(value, float) for value in rewards.values())


def test_export_refuses_unknown_levels_and_tasks(tmp_path: Path, registry: TaskRegistry) -> None:
    with pytest.raises(ValueError, match="level"):
        export_harbor_tasks([HarborExportSpec("physics.damped_oscillator_fit", "B9", 0)], tmp_path, registry=registry)
    with pytest.raises(KeyError, match="unknown task"):
        export_harbor_tasks([HarborExportSpec("physics.nope", "B1", 0)], tmp_path, registry=registry)
    assert HarborExportError.__mro__[1] is ValueError


def test_cli_command(tmp_path: Path, private_cache: Path) -> None:
    app = typer.Typer()
    export = typer.Typer()
    export.command()(harbor)
    app.add_typer(export, name="export")
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "export",
            "harbor",
            "--tasks",
            "physics.damped_oscillator_fit",
            "--levels",
            "b2,B4",
            "--seeds",
            "3",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and names[0].endswith("seed3__b2") and names[1].endswith("seed3__b4")
    assert "2 Harbor task folders" in result.output
    bad = runner.invoke(app, ["export", "harbor", "--levels", "B7", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "--levels" in bad.output


@pytest.mark.slow
def test_every_builtin_task_exports_and_loads(
    tmp_path: Path, registry: TaskRegistry, instance_cache: InstanceCache
) -> None:
    builtin = [task.id for task in TaskRegistry()]
    specs = [HarborExportSpec(task_id, level, 0) for task_id in builtin for level in ("B1", "B4")]
    written = export_harbor_tasks(specs, tmp_path, registry=registry, instance_cache=instance_cache)
    assert len(written) == len(specs) == 2 * len(builtin)
    loaded = harbor_load([item.path for item in written])
    assert all(entry["valid"] for entry in loaded)
    assert {entry["config"]["metadata"]["task_id"] for entry in loaded} == set(builtin)


# ---------------------------------------------------------------------- a Harbor trial on the real engine
def _put_dir(container: Any, source: Path, target: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(source, arcname=target.strip("/"))
    container.put_archive("/", buffer.getvalue())


def _exec(container: Any, command: list[str], user: str) -> str:
    code, output = container.exec_run(command, user=user)
    text = output.decode(errors="replace")
    assert code == 0, f"{command} exited {code}:\n{text[-4000:]}"
    return text


AGENT_PROCESSES = (  # live processes of uid 1000 outside the container command's session (1)
    "import os; print(sum(1 for p in os.listdir('/proc') if p.isdigit() and "
    "open(f'/proc/{p}/status').read().split('Uid:')[1].split()[0] == '1000' and "
    "open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[0] not in 'ZX' and "
    "open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[3] != '1'))"
)


def _harbor_trial(docker_client: Any, folder: Path) -> tuple[dict[str, float], str]:
    """Harbor's trial steps with its oracle agent: build environment/, start it offline, upload and run
    solution/solve.sh as the agent's user, then upload tests/ and run tests/test.sh as the verifier's.

    The agent leaves a process running (as an agent may): the verifier must stop it before scoring.
    Returns the rewards and test.sh's output.
    """
    config = tomllib.loads((folder / "task.toml").read_text())
    agent_user = str(config["agent"]["user"])
    tag = f"asibench-env-harbor-test:{hashlib.sha256(folder.name.encode()).hexdigest()[:12]}"
    docker_client.images.build(path=str(folder / "environment"), tag=tag, rm=True, network_mode="none")
    container = None
    try:
        container = docker_client.containers.run(tag, ["sh", "-c", "sleep infinity"], detach=True, network_mode="none")
        _exec(container, ["mkdir", "-p", "/logs/verifier", "/logs/agent"], "root")
        _exec(container, ["chmod", "777", "/logs/verifier", "/logs/agent"], "root")
        _put_dir(container, folder / "solution", "/solution")
        _exec(container, ["bash", "/solution/solve.sh"], agent_user)
        container.exec_run(["sh", "-c", "while true; do sleep 0.1; done"], user=agent_user, detach=True)
        container.exec_run(["sh", "-c", "(setsid sh -c 'while true; do sleep 0.1; done' &)"], user=agent_user)
        assert int(_exec(container, ["python3", "-c", AGENT_PROCESSES], "root")) >= 2
        _put_dir(container, folder / "tests", "/tests")  # only after the agent has finished
        output = _exec(container, ["bash", "/tests/test.sh"], config["verifier"]["user"])
        assert int(_exec(container, ["python3", "-c", AGENT_PROCESSES], "root")) == 0
        bits, _ = container.get_archive("/logs/verifier/reward.json")
        with tarfile.open(fileobj=io.BytesIO(b"".join(bits))) as archive:
            member = archive.extractfile("reward.json")
            assert member is not None
            return json.loads(member.read()), output
    finally:
        if container is not None:
            container.remove(force=True)
        docker_client.images.remove(tag, force=True)


def _parsed_by_harbor(rewards: dict[str, float]) -> dict[str, float]:
    script = "import json, sys; from harbor.models.verifier.result import VerifierResult; "
    script += "print(VerifierResult(rewards=json.loads(sys.argv[1])).model_dump_json())"
    done = subprocess.run([str(harbor_python()), "-c", script, json.dumps(rewards)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["rewards"]


@pytest.mark.slow
@pytest.mark.parametrize("spec", SMALL_SPECS, ids=lambda s: s.task_id)
def test_oracle_trial_earns_our_oracle_score(
    spec: HarborExportSpec,
    tmp_path: Path,
    docker_client: Any,
    registry: TaskRegistry,
    instance_cache: InstanceCache,
    make_env,
) -> None:
    (item,) = export_harbor_tasks(
        [spec],
        tmp_path,
        registry=registry,
        instance_cache=instance_cache,
        options=HarborExportOptions(image=default_image()),
    )
    rewards, output = _harbor_trial(docker_client, item.path)
    assert "killed" in output and "final score" in output
    env = make_env(spec.task_id, level=spec.level)
    ours = run_episode(env, OracleAgent(registry), EpisodeSpec(spec.task_id, spec.level, spec.seed))
    assert ours.status == "scored" and ours.final_score is not None
    assert rewards["reward"] == pytest.approx(ours.final_score / 100, abs=1e-9)
    assert _parsed_by_harbor(rewards) == rewards
    scorer_keys = [key for key in rewards if key.startswith("scorer.")]
    assert len(scorer_keys) == len(ours.score_results)
    for key, result in zip(scorer_keys, ours.score_results, strict=True):
        assert rewards[key] == pytest.approx(result["score"] / result["max_score"])


def test_toml_writer_round_trips_through_tomllib() -> None:
    from asibench_env.integrations.harbor import toml_text

    document = {
        "schema_version": "1.4",
        "flag": True,
        "task": {
            "name": "asibench/x",
            "description": 'quotes " and \\ and\nnew line, ünïcode, 🚀',
            "keywords": ["a", "b"],
        },
        "metadata": {"seed": 3, "noise": 0.03, "params": {"n": 1, "weird key": "v", "mode": "a.b"}},
        "empty": {},
    }
    text = toml_text.dumps(document)
    assert tomllib.loads(text) == document
    assert toml_text.dumps(document) == text
    with pytest.raises(ValueError, match="finite"):
        toml_text.dumps({"x": float("nan")})
