"""Validate a task directory in the official layout: the checks behind ``asibench-env tasks validate``.

1. files: every task file parses (task_meta.yaml, task_eval.yaml or task.yaml); says whether a generator
   and a reference solver exist;
   custom scorer: custom_scorer.py (when there is one) imports and registers every scorer name the
   evaluation uses that is not native (a missing package is named);
2. prompts: the four prompt templates exist, are non-empty and differ, and render without leftovers;
3. determinism: two generator runs with the same parameters and seed give the same bytes;
4. leaks: no reference file, reference array or reference value appears in data/ or the prompts;
5. oracle: the reference solver scores >= 95 at every level on N seeds (default and random parameters);
6. null: an empty submission scores <= 10;
7. naive: the oracle's outputs filled with zeros, or with the data's mean, score <= 10;
8. scoring determinism: the same outputs scored twice give the same breakdown;
9. figures: every output declared with ``type: figure`` that the oracle writes is a real image.

Every check runs the real environment, sandbox and scorer, as an agent would meet the task. A check
that needs what the task folder lacks is reported ``n/a``, not failed: without a generator, 3, 4 and 6
(and 2 when there are no prompt templates); without ``solution/solve.py``, 5, 7, 8 and 9. With
``schema_only`` only the files and custom scorer checks run.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, get_args

import numpy as np

from asibench_env.agents import NaiveAgent, NullAgent, OracleAgent
from asibench_env.agents.naive import NaiveMode
from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.rewards import score_outputs
from asibench_env.rewards.custom import CUSTOM_SCORER_FILE, task_scorers
from asibench_env.rewards.scorers import JUDGE_SCORERS, NATIVE_SCORERS
from asibench_env.runs.runner import EpisodeSpec, run_episode
from asibench_env.tasks.figures import NotAFigureError, describe_figure
from asibench_env.tasks.instances import InstanceCache, InstanceGenerationError, ParamMode, sample_params
from asibench_env.tasks.loading import Task, TaskFileError, load_task
from asibench_env.tasks.models import LEVELS, TaskStatus
from asibench_env.tasks.registry import InstanceRef, TaskRegistry

ORACLE_MIN = 95.0
NAIVE_MAX = 10.0
TEXT_SUFFIXES = {".csv", ".json", ".txt", ".md", ".tsv", ".dat", ".yaml", ".yml"}
Progress = Callable[[str], None]


@dataclass
class CheckResult:
    """One check of one task."""

    name: str
    ok: bool
    detail: str
    seconds: float = 0.0
    values: dict[str, float] = field(default_factory=dict)
    """Numbers behind the check (e.g. the oracle's min and mean score), for reports and benchmarks."""
    applicable: bool = True
    """False when the check could not apply (no generator, no reference solver): ``n/a``, not a failure."""

    @property
    def status(self) -> str:
        """``pass``, ``FAIL`` or ``n/a``."""
        return "n/a" if not self.applicable else "pass" if self.ok else "FAIL"


@dataclass
class ValidationReport:
    """Every check of one task directory."""

    path: Path
    task_id: str | None = None
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every applicable check passed (``n/a`` checks do not fail a task)."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def not_applicable(self) -> list[str]:
        """The checks that could not apply to this task folder."""
        return [c.name for c in self.checks if not c.applicable]


@dataclass(frozen=True)
class ValidationOptions:
    """How hard to check: seeds per level for the oracle, the sandbox backend, the thresholds."""

    seeds: int = 2
    """Oracle seeds per level: even seeds use default parameters, odd seeds random draws."""
    levels: tuple[str, ...] = LEVELS
    sandbox: str = "local"
    naive_seeds: int = 1
    oracle_min: float = ORACLE_MIN
    naive_max: float = NAIVE_MAX
    schema_only: bool = False
    """Only the file and schema checks and the custom scorer check: no generator, sandbox or episode."""


class _Abort(Exception):
    """A check failed in a way that makes the later checks meaningless."""


def validate_task(
    path: Path, options: ValidationOptions | None = None, progress: Progress | None = None
) -> ValidationReport:
    """Run every check on the task directory ``path`` (see the module docstring)."""
    options = options or ValidationOptions()
    report = ValidationReport(path=Path(path).resolve())
    say = progress or (lambda _message: None)
    work = Path(tempfile.mkdtemp(prefix="asibench-validate-"))
    try:
        task = _run(report, "files", lambda: _check_files(report.path))
        report.task_id = task.id
        _run(report, "custom scorer", lambda: check_custom_scorer(task))
        if options.schema_only:
            return report
        context = _Context(task=task, options=options, work=work, say=say)
        no_generator = None if task.has_generator else f"no generator ({task.generator_path.name})"
        no_solver = None if task.solution_path.is_file() else "no reference solver (solution/solve.py)"
        has_prompts = any(task.prompt_template(level).is_file() for level in LEVELS)
        _run(report, "prompts", context.check_prompts, no_generator if not has_prompts else None)
        instance = _run(report, "determinism", context.check_determinism, no_generator)
        _run(report, "leaks", lambda: context.check_leaks(instance), no_generator)
        _run(report, "oracle", context.check_oracle, no_solver)
        _run(report, "null", context.check_null, no_generator)
        _run(report, "naive", context.check_naive, no_solver)
        _run(report, "scoring determinism", context.check_scoring_determinism, no_solver)
        _run(report, "figures", context.check_figures, no_solver)
    except _Abort:
        pass
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report


def _run(
    report: ValidationReport, name: str, check: Callable[[], str | tuple[str, Any]], missing: str | None = None
) -> Any:
    """Run one check (it returns its detail, or (detail, value)); record it; return the value.

    A failing check is recorded with its reason, and aborts the rest when later ones depend on it. With
    ``missing`` (what the task folder lacks for it) the check is recorded as ``n/a`` and not run.
    """
    if missing:
        report.checks.append(CheckResult(name, True, f"n/a: {missing}", applicable=False))
        return None
    started = time.monotonic()
    try:
        outcome = check()
    except _CheckFailed as exc:
        report.checks.append(CheckResult(name, False, str(exc), time.monotonic() - started))
        if exc.fatal:
            raise _Abort from exc
        return None
    detail, value = outcome if isinstance(outcome, tuple) else (outcome, None)
    numbers: dict[str, float] = dict(value) if isinstance(value, _Values) else {}
    report.checks.append(CheckResult(name, True, str(detail), time.monotonic() - started, dict(numbers)))
    return value


NAIVE_MODES: tuple[NaiveMode, ...] = ("zeros", "mean")


def _naive_agent(mode: NaiveMode, registry: TaskRegistry) -> NaiveAgent:
    return NaiveAgent(mode, registry=registry)


class _Values(dict[str, float]):
    """A check's numbers, returned as its value."""


class _CheckFailed(Exception):
    def __init__(self, message: str, fatal: bool = False):
        super().__init__(message)
        self.fatal = fatal


def _check_files(path: Path) -> tuple[str, Task]:
    if not path.is_dir():
        raise _CheckFailed(f"{path} is not a directory", fatal=True)
    try:
        task = load_task(path)
    except TaskFileError as exc:
        raise _CheckFailed(str(exc), fatal=True) from exc
    absent = []
    if not task.has_generator:
        absent.append(f"no {task.generator_path.name}")
    if not task.solution_path.is_file():
        absent.append(f"no {task.solution_path.relative_to(task.task_dir).as_posix()}")
    note = f" ({', '.join(absent)}: the checks that need them are n/a)" if absent else ""
    return (
        f"{task.id} v{task.version}: {len(task.outputs)} outputs, "
        f"{len(task.evaluation.get('scoring', []))} scorers{note}",
        task,
    )


def _contract_scorers(entries: Any) -> list[str]:
    """Scorer names of gate or scoring entries, with the sub-scorers of composites."""
    names: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("scorer"), str):
            continue
        names.append(entry["scorer"])
        if entry["scorer"] == "composite":
            names += _contract_scorers((entry.get("config") or {}).get("sub_scorers"))
    return names


def check_custom_scorer(task: Task) -> str:
    """custom_scorer.py imports and registers every scorer the evaluation names that is not native.

    Raises :class:`_CheckFailed` naming a missing module, an import error or an unregistered scorer.
    """
    path = task.task_dir / CUSTOM_SCORER_FILE
    try:
        registered = task_scorers(task.task_dir)
    except ModuleNotFoundError as exc:
        raise _CheckFailed(
            f"{CUSTOM_SCORER_FILE} needs the module {exc.name!r}, which is not installed here "
            f"(add its package to the task runtime and install it)"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - a task's scorer module may raise anything on import
        raise _CheckFailed(f"{CUSTOM_SCORER_FILE} failed to load: {type(exc).__name__}: {exc}") from exc
    used = list(
        dict.fromkeys(
            _contract_scorers(task.evaluation.get("gates")) + _contract_scorers(task.evaluation.get("scoring"))
        )
    )
    builtin = {*NATIVE_SCORERS, "composite", *JUDGE_SCORERS}
    unknown = [name for name in used if name not in builtin and name not in registered]
    if unknown:
        where = f"{CUSTOM_SCORER_FILE} does not register" if path.is_file() else f"no {CUSTOM_SCORER_FILE} registers"
        raise _CheckFailed(f"{where} the scorer(s) the evaluation uses: {', '.join(unknown)}")
    if path.is_file():
        detail = f"{CUSTOM_SCORER_FILE} registers {len(registered)}: {', '.join(sorted(registered)) or '-'}"
    else:
        detail = f"no {CUSTOM_SCORER_FILE}; every scorer is native"
    judges = [name for name in used if name in JUDGE_SCORERS]
    return detail + (f"; model judge: {', '.join(judges)}" if judges else "")


VOLATILE_META_KEY = re.compile(r"(^|_)(time|elapsed|duration|timestamp)(_|$)|(^|_)(generated|created)_at$")
"""instance_meta.json keys that record how a generation went (``generation_time_seconds``,
``elapsed_seconds``, ``generated_at``), not what it produced: the determinism check ignores them."""


def _file_digest(path: Path, root: Path) -> str:
    if path.parent == root and path.name == "instance_meta.json":
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            meta = None
        if isinstance(meta, dict):
            kept = {k: v for k, v in meta.items() if not VOLATILE_META_KEY.search(str(k))}
            return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): _file_digest(p, root)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".complete"
    }


@dataclass
class _Context:
    task: Task
    options: ValidationOptions
    work: Path
    say: Progress
    _counter: Iterator[int] = field(default_factory=itertools.count)

    # ------------------------------------------------------------------ helpers
    def registry(self) -> TaskRegistry:
        return TaskRegistry([self.task.task_dir], include_builtin=False, statuses=get_args(TaskStatus))

    def cache(self) -> InstanceCache:
        return InstanceCache(self.work / f"instances-{next(self._counter)}", progress=lambda s: self.say(s.text))

    def env(self, level: str, param_mode: ParamMode = "default", cache: InstanceCache | None = None) -> AsiBenchEnv:
        return AsiBenchEnv(
            self.task.id,
            level=level,
            registry=self.registry(),
            sandbox=self.options.sandbox,
            param_mode=param_mode,
            instance_cache=cache or self.shared_cache,
        )

    @cached_property
    def shared_cache(self) -> InstanceCache:
        return self.cache()

    @property
    def oracle_outputs(self) -> Path:
        """Where the scoring determinism check collects the oracle's outputs; the figures check reads them."""
        return self.work / "oracle-outputs"

    # ------------------------------------------------------------------ checks
    def check_prompts(self) -> str:
        texts = {}
        for level in LEVELS:
            template = self.task.prompt_template(level)
            if not template.is_file():
                raise _CheckFailed(f"{template.name} is missing")
            text = template.read_text(encoding="utf-8").strip()
            if not text:
                raise _CheckFailed(f"{template.name} is empty")
            texts[level] = text
        same = [f"{a} = {b}" for a, b in itertools.combinations(LEVELS, 2) if texts[a] == texts[b]]
        if same:
            raise _CheckFailed("prompts that should differ are identical: " + ", ".join(same))
        return f"4 prompts, {min(len(t) for t in texts.values())}-{max(len(t) for t in texts.values())} characters"

    def check_determinism(self) -> tuple[str, InstanceRef]:
        draws = [sample_params(self.task, 0, "default"), sample_params(self.task, 1, "random")]
        first_cache, second_cache = self.cache(), self.cache()
        instance = None
        for params in draws:
            try:
                first, _ = first_cache.get(self.task, params)
                second, _ = second_cache.get(self.task, params)
            except InstanceGenerationError as exc:
                raise _CheckFailed(f"the generator failed: {exc}", fatal=True) from exc
            one, two = _tree_digest(first.path), _tree_digest(second.path)
            if one != two:
                differing = sorted(k for k in one.keys() | two.keys() if one.get(k) != two.get(k))
                raise _CheckFailed(f"two runs with {params} differ in: {', '.join(differing[:10])}")
            if not any(k.startswith("data/") for k in one) or not any(k.startswith("reference/") for k in one):
                raise _CheckFailed("an instance must hold data/ and reference/ files", fatal=True)
            leftovers = [
                p.name for p in first.path.glob("prompt_b*.md") if re.search(r"\{\{.*?\}\}", p.read_text("utf-8"))
            ]
            if leftovers:
                raise _CheckFailed(f"placeholders left unrendered in {', '.join(sorted(leftovers))}")
            instance = instance or first
        assert instance is not None
        return f"2 parameter draws x 2 runs: {len(_tree_digest(instance.path))} identical files each", instance

    def check_leaks(self, instance: InstanceRef | None) -> str:
        if instance is None:
            raise _CheckFailed("no instance to inspect (the determinism check failed)")
        found = find_leaks(instance.path)
        if found:
            raise _CheckFailed("; ".join(found[:8]))
        return "no reference file, array or value in data/ or the prompts"

    def _episodes(self, agent_factory: Callable[[TaskRegistry], Any], specs: list[tuple[str, int]]) -> list[Any]:
        results = []
        envs: dict[tuple[str, str], Any] = {}
        registry = self.registry()
        try:
            for level, seed in specs:
                mode: ParamMode = "default" if seed % 2 == 0 else "random"
                env = envs.get((level, mode))
                if env is None:
                    env = envs[(level, mode)] = self.env(level, mode)
                results.append(run_episode(env, agent_factory(registry), EpisodeSpec(self.task.id, level, seed)))
        finally:
            for env in envs.values():
                env.close()
        return results

    def check_oracle(self) -> tuple[str, _Values]:

        specs = [(level, seed) for level in self.options.levels for seed in range(self.options.seeds)]
        self.say(f"{self.task.id}: oracle, {len(specs)} episodes")
        results = self._episodes(lambda registry: OracleAgent(registry=registry), specs)
        bad = []
        for (level, seed), result in zip(specs, results, strict=True):
            if result.status != "scored":
                bad.append(f"{level} seed {seed}: {result.status} ({(result.error or '')[:200]})")
            elif result.final_score < self.options.oracle_min:
                bad.append(f"{level} seed {seed}: {result.final_score:.1f}{_worst(result)}")
        if bad:
            raise _CheckFailed(f"the reference solver scored under {self.options.oracle_min:g}: " + "; ".join(bad))
        scores = [r.final_score for r in results]
        summary = f"min {min(scores):.1f}, mean {np.mean(scores):.1f} over {len(specs)} episodes"
        return summary, _Values(min=min(scores), mean=float(np.mean(scores)), episodes=len(specs))

    def check_null(self) -> tuple[str, _Values]:

        result = self._episodes(lambda _registry: NullAgent(), [("B3", 0)])[0]
        if result.status != "scored" or result.final_score > self.options.naive_max:
            raise _CheckFailed(f"an empty submission got {result.final_score} ({result.status})")
        return f"empty submission: {result.final_score:.1f}", _Values(score=result.final_score)

    def check_naive(self) -> tuple[str, _Values]:

        scores = {}
        for mode in NAIVE_MODES:
            specs = [("B3", seed) for seed in range(self.options.naive_seeds)]
            results = self._episodes(functools.partial(_naive_agent, mode), specs)
            for (_, seed), result in zip(specs, results, strict=True):
                if result.status != "scored":
                    raise _CheckFailed(f"naive {mode} seed {seed}: {result.status} ({result.error})")
                scores[(mode, seed)] = result.final_score
        over = {k: v for k, v in scores.items() if v > self.options.naive_max}
        if over:
            listed = ", ".join(f"{mode} seed {seed}: {score:.1f}" for (mode, seed), score in over.items())
            raise _CheckFailed(f"naive answers scored over {self.options.naive_max:g}: {listed}")
        worst = {mode: max(v for (m, _), v in scores.items() if m == mode) for mode in ("zeros", "mean")}
        return f"max zeros {worst['zeros']:.1f}, mean {worst['mean']:.1f}", _Values(worst)

    def check_scoring_determinism(self) -> str:
        env = self.env("B3")
        try:
            observation, info = env.reset(seed=0)
            for action in OracleAgent(registry=self.registry()).solve_actions(self.task.id):
                observation, *_ = env.step(action)
            outputs = self.oracle_outputs
            assert env.sandbox is not None
            env.sandbox.collect([spec.name for spec in self.task.outputs], outputs)
            instance = env.instance
            assert instance is not None
            scores = [
                score_outputs(
                    self.task.evaluation,
                    outputs,
                    instance.reference_dir,
                    dict(instance.params),
                    prompt_level="B3",
                    task_dir=self.task.task_dir,
                )
                for _ in range(2)
            ]
            _, _, _, _, final = env.step({"tool": "submit"})
        finally:
            env.close()
        breakdowns = [_breakdown(s.final_score, s.score_results) for s in scores]
        breakdowns.append(_breakdown(final["final_score"], final["score_results"]))
        if len({json.dumps(b, sort_keys=True) for b in breakdowns}) != 1:
            raise _CheckFailed(f"the same outputs scored differently: {[b['final'] for b in breakdowns]}")
        return f"3 scorings of the same outputs: {breakdowns[0]['final']:.4f} each"

    def check_figures(self) -> str:
        figures = [spec.name for spec in self.task.outputs if spec.type == "figure"]
        if not figures:
            return "no figure outputs declared"
        outputs = self.oracle_outputs
        if not outputs.is_dir():
            raise _CheckFailed("no oracle outputs to inspect (the scoring determinism check failed)")
        found, bad = [], []
        for name in figures:
            path = outputs / name
            if not path.is_file():
                bad.append(f"the oracle wrote no {name}")
                continue
            try:
                found.append(f"{name}: {describe_figure(path)}")
            except NotAFigureError as exc:
                bad.append(str(exc))
        if bad:
            raise _CheckFailed("; ".join(bad))
        return ", ".join(found)


def _breakdown(final: float, results: list[Any]) -> dict[str, Any]:
    rows = [r if isinstance(r, dict) else r.model_dump() for r in results]
    return {"final": round(float(final), 9), "scores": [round(float(r.get("score", 0.0)), 9) for r in rows]}


def _worst(result: Any) -> str:
    rows = [r for r in result.score_results if float(r.get("score", 1.0)) < float(r.get("max_score", 1.0) or 1.0)]
    if not result.hard_gates_passed:
        return " (hard gates failed)"
    names = [str(r.get("scorer_name") or r.get("scorer") or "?") for r in rows[:3]]
    return f" (lost on {', '.join(names)})" if rows else ""


# ---------------------------------------------------------------------- leaks
def _significant(value: float) -> bool:
    """Values worth searching for: not integers and not tiny, so a match is not a coincidence."""
    return abs(value) > 1e-9 and abs(value - round(value)) > 1e-6


def _renderings(value: float) -> set[str]:
    """How a value would be written into a text, with at least four significant digits (fewer match by chance)."""
    found = {f"{value:.4g}", f"{value:.6g}", repr(float(value)), f"{value:.2e}"}
    return {r for r in found if sum(ch.isdigit() for ch in r.split("e")[0].lstrip("0.-")) >= 4}


def _constant_columns(path: Path) -> dict[str, float]:
    """The CSV columns that hold one number throughout (where a generator could leak a parameter)."""
    try:
        table = np.genfromtxt(path, delimiter=",", names=True, dtype=float, max_rows=100_000)
    except (ValueError, OSError):
        return {}
    if table.dtype.names is None or table.size < 2:
        return {}
    found = {}
    for name in table.dtype.names:
        column = np.atleast_1d(table[name])
        if np.all(np.isfinite(column)) and np.ptp(column) == 0:
            found[name] = float(column[0])
    return found


def find_leaks(instance_dir: Path, max_values: int = 64) -> list[str]:
    """Reference content that shows up in the agent's files: names, bytes, arrays or stated values."""
    reference, data = instance_dir / "reference", instance_dir / "data"
    agent_files = [p for p in data.rglob("*") if p.is_file()] + sorted(instance_dir.glob("prompt_b*.md"))
    digests = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in agent_files}
    # Tables are full of measured numbers, so a value can match one by chance: they are checked for
    # constant columns instead of by text search.
    texts = {
        p: p.read_text("utf-8", errors="replace")
        for p in agent_files
        if p.suffix in TEXT_SUFFIXES and p.suffix not in (".csv", ".tsv", ".dat")
    }
    constants = {(p, name): v for p in agent_files if p.suffix == ".csv" for name, v in _constant_columns(p).items()}
    data_arrays = {}
    for path in agent_files:
        if path.suffix == ".npy":
            try:
                data_arrays[path] = np.load(path, allow_pickle=False)
            except ValueError:
                continue
    found = []
    for ref in sorted(p for p in reference.rglob("*") if p.is_file()):
        rel = ref.relative_to(instance_dir).as_posix()
        if any(p.name == ref.name for p in agent_files):
            found.append(f"{rel}: a file of the same name is in the agent's files")
        same = digests.get(hashlib.sha256(ref.read_bytes()).hexdigest())
        if same is not None:
            found.append(f"{rel}: the same bytes are in {same.relative_to(instance_dir).as_posix()}")
        if ref.suffix == ".json":
            found += _value_leaks(rel, _json_numbers(ref, max_values), texts, constants, instance_dir)
        if ref.suffix != ".npy":
            continue
        try:
            values = np.load(ref, allow_pickle=False)
        except ValueError:
            continue
        if values.dtype.kind not in "fiu":
            continue
        for path, array in data_arrays.items():
            if array.shape == values.shape and array.dtype.kind in "fiu" and np.allclose(array, values, equal_nan=True):
                found.append(f"{rel}: equal to {path.relative_to(instance_dir).as_posix()}")
        flat = values.astype(float).ravel()
        if flat.size <= max_values:
            found += _value_leaks(rel, [float(v) for v in flat[np.isfinite(flat)]], texts, constants, instance_dir)
    return found


def _json_numbers(path: Path, max_list: int) -> list[float]:
    """The finite numbers of a JSON reference file, however nested, except inside lists longer than max_list."""
    try:
        document = json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return []
    numbers, stack = [], [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list) and len(item) <= max_list:
            stack.extend(item)
        elif isinstance(item, (int, float)) and not isinstance(item, bool) and np.isfinite(item):
            numbers.append(float(item))
    return numbers


def _value_leaks(
    rel: str,
    values: list[float],
    texts: dict[Path, str],
    constants: dict[tuple[Path, str], float],
    instance_dir: Path,
) -> list[str]:
    """Reference values stated in a prompt or text file, or held by a constant table column."""
    found = []
    for value in values:
        if not _significant(value):
            continue
        for (path, column), constant in constants.items():
            if np.isclose(constant, value, rtol=1e-6, atol=0):
                found.append(f"{rel}: column {column} of {path.relative_to(instance_dir).as_posix()} holds it")
        for path, text in texts.items():
            hit = next((r for r in _renderings(value) if re.search(rf"(?<![\d.]){re.escape(r)}(?!\d)", text)), None)
            if hit:
                found.append(f"{rel}: the value {hit} appears in {path.relative_to(instance_dir).as_posix()}")
    return found
