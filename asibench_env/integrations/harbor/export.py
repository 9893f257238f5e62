"""Export seeded instances of tasks as Harbor task folders (one per task, level and seed).

A folder holds, in Harbor 0.25.0's layout:

- ``task.toml``: :class:`~asibench_env.integrations.harbor.config.HarborTaskConfig`;
- ``instruction.md``: the task's prompt at the level, as ``AsiBenchEnv`` gives it;
- ``environment/``: a ``Dockerfile`` ``FROM`` the sandbox image and ``workspace/``, the agent's starting
  files (``data/``, ``prompt.md``, ``task_info.json``) copied to ``/workspace``: nothing else;
- ``tests/``: ``test.sh`` and ``verify.py`` (the scorer's entry), ``scoring.json`` (the evaluation
  contract, parameters, level, declared outputs), ``reference/`` (the ground truth), ``task/`` (the
  task's custom scorer, when it has one) and ``lib/`` (the scoring bundle, see
  :mod:`~asibench_env.integrations.harbor.bundle`). Harbor copies it in after the agent has finished;
- ``solution/``: ``solve.sh`` running the task's reference solver ``solve.py`` as the oracle agent does.

The export is a pure function of the task files, the instance and this installation: exporting again
writes the same bytes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from asibench_env._version import __version__
from asibench_env.envs.workspace import build_seed_dir
from asibench_env.integrations.harbor import bundle, scripts
from asibench_env.integrations.harbor.config import (
    HarborAgent,
    HarborEnvironment,
    HarborMetadata,
    HarborPackage,
    HarborTaskConfig,
    HarborVerifier,
)
from asibench_env.rewards.custom import CUSTOM_SCORER_FILE
from asibench_env.rewards.judge import needs_judge
from asibench_env.sandbox.container.images import default_image
from asibench_env.tasks.instances import InstanceCache, ParamMode, sample_params
from asibench_env.tasks.loading import Task
from asibench_env.tasks.models import normalize_level
from asibench_env.tasks.registry import InstanceRef, TaskRegistry, builtin_registry

VERIFIER_SOURCE = Path(__file__).resolve().with_name("verifier.py")
EXECUTABLE = 0o755


class HarborExportError(ValueError):
    """An instance cannot be exported as a Harbor task; the message says why and what to do."""


@dataclass(frozen=True)
class HarborExportSpec:
    """One instance to export: a task, a prompt level (B1-B4) and a seed."""

    task_id: str
    level: str
    seed: int


@dataclass(frozen=True)
class HarborExportOptions:
    """The limits written into every ``task.toml``."""

    image: str | None = None
    """The sandbox image the environment is built ``FROM`` (default: the built one for the built-in tasks)."""
    agent_timeout_s: float = 3600.0
    verifier_timeout_s: float = 600.0
    cpus: float = 2.0
    memory_mb: int = 8192
    param_mode: ParamMode = "default"


@dataclass(frozen=True)
class ExportedTask:
    """One written folder and the instance it holds."""

    spec: HarborExportSpec
    instance_id: str
    path: Path


def folder_name(instance_id: str, level: str) -> str:
    """``<instance_id>__<level>``, as the run's result files are named."""
    return f"{instance_id}__{level.lower()}"


def _check_exportable(task: Task) -> None:
    if not task.has_generator:
        raise HarborExportError(f"task {task.id} has no generator: only generated instances can be exported")
    if not task.solution_path.is_file():
        raise HarborExportError(
            f"task {task.id} has no reference solver ({task.solution_path}); solution/solve.sh needs one"
        )
    if needs_judge(task.evaluation):
        raise HarborExportError(
            f"task {task.id} is scored by a model judge, which the offline verifier cannot call; leave it out"
        )


def _write(path: Path, text: str, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if mode is not None:
        path.chmod(mode)


def _config(
    task: Task, spec: HarborExportSpec, instance: InstanceRef, image: str, options: HarborExportOptions
) -> HarborTaskConfig:
    cpus = int(options.cpus) if float(options.cpus).is_integer() else options.cpus
    return HarborTaskConfig(
        task=HarborPackage(
            name=f"asibench/{folder_name(instance.instance_id, spec.level)}",
            description=f"{task.summary} (ASI-Bench task {task.id}, level {spec.level}, seed {spec.seed})",
            keywords=["asibench", task.meta.domain, spec.level.lower()],
        ),
        metadata=HarborMetadata(
            asibench_env_version=__version__,
            task_id=task.id,
            task_version=task.version,
            domain=task.meta.domain,
            level=spec.level,
            seed=spec.seed,
            instance_id=instance.instance_id,
            params=dict(instance.params),
            sandbox_image=image,
        ),
        verifier=HarborVerifier(timeout_sec=options.verifier_timeout_s),
        agent=HarborAgent(timeout_sec=options.agent_timeout_s),
        environment=HarborEnvironment(cpus=cpus, memory_mb=options.memory_mb),
    )


def _scoring(task: Task, spec: HarborExportSpec, instance: InstanceRef) -> str:
    data = {
        "task_id": task.id,
        "level": spec.level,
        "params": dict(instance.params),
        "evaluation": task.evaluation,
        "outputs": [output.name for output in task.outputs],
    }
    return json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"


def write_task_folder(
    task: Task, spec: HarborExportSpec, instance: InstanceRef, dest: Path, image: str, options: HarborExportOptions
) -> None:
    """Write the Harbor folder of one instance into ``dest`` (a new, empty folder)."""
    if not instance.has_reference:
        raise HarborExportError(f"instance {instance.instance_id} has no reference/: its verifier could not score")
    workspace = dest / "environment" / "workspace"
    prompt = build_seed_dir(task, instance, spec.level, workspace, int(options.agent_timeout_s))
    _write(dest / "instruction.md", prompt)
    _write(dest / "environment" / "Dockerfile", scripts.dockerfile(image, task.id, spec.level, spec.seed))
    _write(dest / "task.toml", _config(task, spec, instance, image, options).to_toml())
    tests = dest / "tests"
    _write(tests / "test.sh", scripts.TEST_SH, EXECUTABLE)
    _write(tests / "verify.py", VERIFIER_SOURCE.read_text(encoding="utf-8"))
    _write(tests / "scoring.json", _scoring(task, spec, instance))
    shutil.copytree(instance.reference_dir, tests / "reference", symlinks=False)
    custom = task.task_dir / CUSTOM_SCORER_FILE
    if custom.is_file():
        (tests / "task").mkdir()
        shutil.copyfile(custom, tests / "task" / CUSTOM_SCORER_FILE)
    bundle.write_bundle(tests / "lib", with_official=custom.is_file())
    _write(dest / "solution" / "solve.sh", scripts.SOLVE_SH, EXECUTABLE)
    _write(dest / "solution" / "solve.py", task.solution_path.read_text(encoding="utf-8"))


def export_harbor_tasks(
    specs: Iterable[HarborExportSpec],
    out_dir: Path,
    *,
    registry: TaskRegistry | None = None,
    instance_cache: InstanceCache | None = None,
    options: HarborExportOptions | None = None,
    progress: Callable[[ExportedTask], None] | None = None,
) -> list[ExportedTask]:
    """Write one Harbor task folder per spec into ``out_dir``; return what was written.

    Instances are generated (or taken from ``instance_cache``) as ``AsiBenchEnv.reset(seed=...)``
    would. An existing folder of the same instance and level is replaced. Raises
    :class:`HarborExportError` for a task that cannot be exported (no generator, no reference
    solver, a model judge) before anything is written for it.
    """
    registry = registry or builtin_registry()
    cache = instance_cache or InstanceCache()
    options = options or HarborExportOptions()
    image = options.image or default_image()
    bundle.check_compatible()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[ExportedTask] = []
    for raw in specs:
        spec = HarborExportSpec(raw.task_id, normalize_level(raw.level), int(raw.seed))
        task = registry.get(spec.task_id)
        _check_exportable(task)
        params = sample_params(task, spec.seed, options.param_mode)
        with cache.acquire(task, params) as lease:
            target = out_dir / folder_name(lease.ref.instance_id, spec.level)
            staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
            try:
                write_task_folder(task, spec, lease.ref, staging / "task", image, options)
                if target.exists():
                    shutil.rmtree(target)
                (staging / "task").rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        item = ExportedTask(spec=spec, instance_id=lease.ref.instance_id, path=target)
        written.append(item)
        if progress is not None:
            progress(item)
    return written
