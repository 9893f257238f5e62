"""AsiBenchEnv: one ASI-Bench task as a multi-turn Gymnasium environment."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
from pydantic import BaseModel

from asibench_env.envs.action_scan import safe_repr
from asibench_env.envs.actions import ActionParseError, ActionParser, ToolCall, make_parser
from asibench_env.envs.episode import ArtifactRecord, EndReason, EpisodeResult
from asibench_env.envs.spaces import FreeText
from asibench_env.envs.tools import (
    Tool,
    ToolContext,
    ToolFormat,
    ToolRegistry,
    as_registry,
    run_tool,
    run_tool_async,
)
from asibench_env.envs.tools._format import format_listing
from asibench_env.envs.tools.specs import render_specs
from asibench_env.envs.workspace import build_seed_dir, make_seed_dir
from asibench_env.rewards import JudgeSettings, needs_judge, score_outputs
from asibench_env.sandbox.base import Sandbox, SandboxError, SandboxLimits
from asibench_env.sandbox.factory import open_sandbox
from asibench_env.tasks.hashing import file_sha256
from asibench_env.tasks.instances import InstanceCache, InstanceLease, ParamMode, planned_params
from asibench_env.tasks.loading import Task
from asibench_env.tasks.models import normalize_level
from asibench_env.tasks.registry import InstanceRef, TaskRegistry, builtin_registry

logger = logging.getLogger(__name__)

MAX_TEXT = 1_000_000


class AsiBenchEnv(gym.Env[str, str]):
    """An ASI-Bench task instance as a multi-turn tool-use environment.

    Actions are tool calls (see :mod:`asibench_env.envs.actions`) of the env's tools (``tools``: a
    :class:`~asibench_env.envs.tools.ToolRegistry`, used as is, or a sequence of
    :class:`~asibench_env.envs.tools.Tool`; None gives the six built-ins); observations are the tools'
    text output. Every step but the last gives reward 0; the last gives ``final_score / 100`` from the
    task's scorer. ``terminated`` is set by a tool that ends the episode (``submit``); ``truncated``
    when the step or wall-time budget runs out (the outputs are still scored). A custom
    ``action_parser`` replaces the parsing; its calls are still checked against the tools.
    ``judge`` (a :class:`~asibench_env.rewards.JudgeSettings`) serves the task's model-judge scorers
    through the official ones; without it they score 0 with a message. An unreachable judge makes the
    episode an ``infra_error``.

    ``prefetch=K`` (RL training on consecutive seeds): after ``reset(seed=s)`` on a generated task, the
    instances of seeds ``s+1 .. s+K`` (same ``params``/``param_mode`` options) are generated in the
    background by the process's bounded prefetch pool, so the next resets find them cached; a reset
    on a seed still in flight waits for it instead of generating it twice, and a failed prefetch
    raises its :class:`~asibench_env.tasks.instances.InstanceGenerationError` at that reset. Resets
    with no seed (random seeds) and downloaded instances prefetch nothing. :meth:`prefetch` does the
    same for any seeds. The instance is held under a lease of the cache (never evicted) from reset
    until the episode is scored.

    Raises ``ValueError`` for a missing ``task_id``, a bad ``render_mode`` or duplicate tool names, and
    ``TypeError`` when ``tools`` holds something that is not a :class:`~asibench_env.envs.tools.Tool`.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        task_id: str | None = None,
        *,
        level: str = "B3",
        sandbox: str = "local",
        tasks_dir: str | Path | Sequence[str | Path] | None = None,
        instances_dir: str | Path | Sequence[str | Path] | None = None,
        registry: TaskRegistry | None = None,
        max_steps: int = 100,
        max_wall_time_s: float = 3600.0,
        param_mode: ParamMode = "default",
        limits: SandboxLimits | None = None,
        sandbox_options: dict[str, Any] | None = None,
        action_parser: ActionParser | None = None,
        tools: Sequence[Tool] | ToolRegistry | None = None,
        scoring_timeout_s: float = 120.0,
        instance_cache: InstanceCache | None = None,
        render_mode: str | None = None,
        judge: JudgeSettings | None = None,
        prefetch: int = 0,
    ):
        if task_id is None:
            raise ValueError("task_id is required, e.g. gymnasium.make('asibench/Task-v0', task_id='physics.x')")
        self.registry = registry or _registry_for(tasks_dir, instances_dir)
        self.task: Task = self.registry.get(task_id)
        self.level = normalize_level(level)
        self.sandbox_backend = sandbox
        self.max_steps = int(max_steps)
        self.max_wall_time_s = float(max_wall_time_s)
        self.param_mode: ParamMode = param_mode
        self.limits = limits or SandboxLimits()
        self.sandbox_options = dict(sandbox_options or {})
        self.tools: ToolRegistry = as_registry(tools)
        self._tool_parser = make_parser(self.tools)
        self.parse_action: ActionParser = action_parser or self._tool_parser
        self.scoring_timeout_s = scoring_timeout_s
        self.judge = judge
        self.instance_cache = instance_cache or InstanceCache()
        if prefetch < 0:
            raise ValueError(f"prefetch must be 0 (off) or a number of seeds to generate ahead, got {prefetch}")
        self.prefetch_ahead = int(prefetch)
        self._lease: InstanceLease | None = None
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        self.action_space = FreeText(MAX_TEXT)
        self.observation_space = FreeText(MAX_TEXT)

        self._sandbox: Sandbox | None = None
        self._instance: InstanceRef | None = None
        self._episode_level = self.level
        self._seed: int | None = None
        self._steps = 0
        self._started = 0.0
        self._done = True
        self._transcript: list[str] = []
        self._last_result: EpisodeResult | None = None
        self._reset_time_s = 0.0
        self._instance_was_cached = False
        self._outputs_dir: Path | None = None
        self._outputs_finalizer: weakref.finalize | None = None

    # ----------------------------------------------------------------- public helpers
    def tool_specs(self, fmt: ToolFormat = "openai") -> list[dict[str, Any]]:
        """The env's tool definitions in a model API's function-calling format; ``ValueError`` for an unknown one."""
        return render_specs(self.tools, fmt)

    @property
    def sandbox(self) -> Sandbox | None:
        """The current episode's sandbox (None between episodes)."""
        return self._sandbox

    @property
    def instance(self) -> InstanceRef | None:
        """The current (or last) episode's task instance; None before the first reset."""
        return self._instance

    @property
    def outputs_dir(self) -> Path | None:
        """The host folder with the last episode's collected outputs (None before an episode ends).

        It is kept after the episode ends and after :meth:`close`, so a runner can persist the files;
        the next :meth:`reset` (or the env's garbage collection) removes it.
        """
        return self._outputs_dir

    @property
    def last_result(self) -> EpisodeResult | None:
        """The result of the most recently finished episode."""
        return self._last_result

    # ----------------------------------------------------------------- gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Start an episode on a fresh sandbox seeded with the instance's data and prompt.

        Args:
            seed: picks the instance: a generator task draws its parameters from it (the same seed gives
                the same instance), a task with downloaded instances only takes instance ``seed % N``
                (``options["instance_id"]`` names one instead; a run plans them that way). None draws a
                seed from the env's generator, except with ``instance_id``: then the episode has no seed.
            options: ``level`` (B1-B4, default the env's), ``params`` (generator parameters to set),
                ``param_mode`` (``"default"`` or ``"random"``), ``instance_id`` (a downloaded instance).

        Returns:
            The prompt followed by a listing of the workspace, and the info dict (task and instance
            ids, level, seed, parameters, expected outputs, budgets, tools in the ``json_schema``
            form, the sandbox's real isolation, timings).

        Raises:
            ValueError: an unknown level, or a task with neither a generator nor downloaded instances.
            InfraError: the instance could not be generated
                (:class:`~asibench_env.tasks.instances.InstanceGenerationError`) or the sandbox could
                not start (:class:`~asibench_env.sandbox.base.SandboxError`).
        """
        super().reset(seed=seed)
        started = time.perf_counter()
        options = dict(options or {})
        self._close_sandbox()
        self._discard_outputs()
        self._episode_level = normalize_level(options.get("level", self.level))
        instance_seed = int(seed) if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        self._instance, self._instance_was_cached = self._choose_instance(instance_seed, options)
        # A downloaded instance named by id is not picked by a seed: the episode has none unless given.
        self._seed = None if options.get("instance_id") and seed is None else instance_seed

        seed_dir = make_seed_dir(self._instance)
        try:
            prompt = build_seed_dir(self.task, self._instance, self._episode_level, seed_dir, int(self.max_wall_time_s))
            self._sandbox = open_sandbox(
                self.sandbox_backend,
                seed_dir,
                runtime_packages=self.task.runtime_packages,
                limits=self.limits,
                **self.sandbox_options,
            )
        finally:
            shutil.rmtree(seed_dir, ignore_errors=True)

        self._steps = 0
        self._done = False
        self._last_result = None
        self._started = time.monotonic()
        listing = format_listing(self._sandbox, ".")
        observation = f"{prompt.rstrip()}\n\n# Workspace\n{listing}\n"
        self._transcript = [f"=== {self.task.id} [{self._episode_level}] {self._instance.instance_id}", observation]
        self._reset_time_s = time.perf_counter() - started
        info = self._reset_info()
        if self.prefetch_ahead and seed is not None and not options.get("instance_id"):
            self.prefetch(range(int(seed) + 1, int(seed) + 1 + self.prefetch_ahead), options)
        return observation, info

    def prefetch(self, seeds: Iterable[int], options: dict[str, Any] | None = None) -> list[Future[Any]]:
        """Generate the instances of ``seeds`` in the background, ahead of the resets that will use them.

        Args:
            seeds: the seeds of upcoming resets.
            options: the reset options those resets will use (``params``, ``param_mode``).

        Returns:
            One future per seed that needs a generated instance (its result is the
            :class:`~asibench_env.tasks.registry.InstanceRef`); none for a task whose resets take
            downloaded instances. Waiting on them is optional: the reset waits by itself.
        """
        options = dict(options or {})
        futures = []
        for seed in seeds:
            params = planned_params(
                self.registry,
                self.task,
                int(seed),
                options.get("param_mode", self.param_mode),
                options.get("params"),
            )
            if params is not None:
                futures.append(self.instance_cache.prefetch(self.task, params))
        return futures

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Run one tool call.

        Args:
            action: a dict, a JSON string, a :class:`~asibench_env.envs.actions.ToolCall` or completion
                text holding one call. A malformed action or an unknown tool is not an error: the
                observation explains it and the step counts.

        Returns:
            ``(observation, reward, terminated, truncated, info)``. The reward is 0.0 but on the last
            step, where it is ``final_score / 100``; ``terminated`` when a tool ends the episode
            (``submit``), ``truncated`` when the step or wall-time budget runs out. The last step's info
            holds the whole :class:`~asibench_env.envs.episode.EpisodeResult` (also as ``info["episode"]``);
            an infrastructure failure ends the episode with status ``infra_error`` and no score; an
            instance without reference files (private split) ends ``produced``, unscored, its outputs
            kept in ``info["outputs_dir"]`` until the next reset.

        Raises:
            RuntimeError: the episode is over, or :meth:`reset` was never called.
        """
        plan = self._begin_step(action)
        if plan.tool is not None and plan.args is not None:
            try:
                plan.observation = run_tool(plan.tool, self._tool_context(plan.info), plan.args)
            except SandboxError as exc:
                plan.sandbox_error = exc
        reason, observation, infra_error = self._conclude_step(plan, action)
        if reason is None:
            return observation, 0.0, False, False, plan.info
        return self._finish(reason, observation, plan.info, infra_error)

    async def reset_async(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """:meth:`reset` for an event loop: the same episode, observation and info.

        The reset runs in a worker thread (:func:`asyncio.to_thread`): choosing or generating the
        instance and starting the sandbox are process-bound. Raises what :meth:`reset` raises.
        """
        return await asyncio.to_thread(self.reset, seed=seed, options=options)

    async def step_async(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """:meth:`step` for an event loop: the same observation, reward, flags, info and transcript.

        The tool runs through :meth:`~asibench_env.envs.tools.Tool.run_async` and the sandbox's async
        methods, so a step waiting for its command holds no thread (a tool without ``run_async`` runs
        in a worker thread); the end of the episode (collecting and scoring the outputs) runs in a
        worker thread. One episode's steps must not overlap (await each before the next). Raises what
        :meth:`step` raises.
        """
        plan = self._begin_step(action)
        if plan.tool is not None and plan.args is not None:
            try:
                plan.observation = await run_tool_async(plan.tool, self._tool_context(plan.info), plan.args)
            except SandboxError as exc:
                plan.sandbox_error = exc
        reason, observation, infra_error = self._conclude_step(plan, action)
        if reason is None:
            return observation, 0.0, False, False, plan.info
        return await asyncio.to_thread(self._finish, reason, observation, plan.info, infra_error)

    def render(self) -> str | None:
        """With ``render_mode="ansi"``, the episode's transcript so far as text; otherwise None."""
        if self.render_mode != "ansi":
            return None
        return "\n\n".join(self._transcript)

    def close(self) -> None:
        """Close the sandbox (an unfinished episode is abandoned, unscored); the env may be reset again.

        The last episode's collected outputs (:attr:`outputs_dir`) stay until the next reset or until the
        env is garbage collected, so a runner that closes the env can still persist them.
        """
        self._close_sandbox()
        self._done = True
        super().close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # never raise from a finalizer
            self._close_sandbox()

    # ----------------------------------------------------------------- internals
    def _choose_instance(self, seed: int, options: dict[str, Any]) -> tuple[InstanceRef, bool]:
        if options.get("instance_id"):
            ref = self.registry.instance(str(options["instance_id"]))
            if ref.task_id != self.task.id:
                raise ValueError(f"instance {ref.instance_id} is of task {ref.task_id}, not of {self.task.id}")
            return ref, True
        params = planned_params(
            self.registry, self.task, seed, options.get("param_mode", self.param_mode), options.get("params")
        )
        if params is not None:
            self._lease = self.instance_cache.acquire(self.task, params)  # held until the episode is scored
            return self._lease.ref, self._lease.cached
        downloaded = self.registry.instances(self.task.id)
        if downloaded:
            return downloaded[seed % len(downloaded)], True
        raise ValueError(
            f"task {self.task.id} has no generator and no downloaded instances; "
            "pass instances_dir=... pointing at instances downloaded with `asibench task pull`"
        )

    def _reset_info(self) -> dict[str, Any]:
        assert self._instance is not None and self._sandbox is not None
        return {
            "task_id": self.task.id,
            "task_version": self.task.version,
            "instance_id": self._instance.instance_id,
            "level": self._episode_level,
            "seed": self._seed,
            "parameters": dict(self._instance.params),
            "expected_outputs": self.task.expected_outputs(),
            "budgets": {"max_steps": self.max_steps, "max_wall_time_s": self.max_wall_time_s},
            "tools": self.tool_specs("json_schema"),
            "sandbox": asdict(self._sandbox.isolation),
            "instance_cached": self._instance_was_cached,
            "reset_time_s": self._reset_time_s,
        }

    def _begin_step(self, action: Any) -> _StepPlan:
        """Count the step and parse the action into the tool to run (or an invalid-action observation)."""
        if self._done or self._sandbox is None:
            raise RuntimeError("the episode is over (or reset() was never called); call reset() to start a new one")
        self._steps += 1
        plan = _StepPlan(info={"step": self._steps})
        try:
            plan.call = self.parse_action(action)
            plan.tool, plan.args = self._tool_parser.resolve(plan.call)  # a custom parser's call is checked too
        except ActionParseError as exc:
            plan.call = None
            plan.observation = f"[invalid action] {exc}"
            plan.info.update(tool=None, action_error=str(exc))
        else:
            plan.info["tool"] = plan.call.tool
            plan.info["arguments"] = plan.call.arguments
        return plan

    def _conclude_step(self, plan: _StepPlan, action: Any) -> tuple[EndReason | None, str, str | None]:
        """After the tool ran: whether the episode ends (and why), the observation, an infra error."""
        if plan.sandbox_error is not None:
            logger.error("sandbox failure in %s: %s", self.task.id, plan.sandbox_error)
            error = str(plan.sandbox_error)
            return "infra_error", f"[infrastructure error] {error}", error
        if plan.tool is not None and plan.tool.ends_episode:
            return "submit", plan.observation, None
        self._transcript.append(f">>> {_action_text(plan.call, action)}\n{plan.observation}")
        if self._steps >= self.max_steps:
            return "max_steps", plan.observation + "\n[step budget used up: outputs submitted]", None
        if time.monotonic() - self._started >= self.max_wall_time_s:
            return "wall_time", plan.observation + "\n[wall-time budget used up: outputs submitted]", None
        return None, plan.observation, None

    def _tool_context(self, info: dict[str, Any]) -> ToolContext:
        assert self._sandbox is not None
        return ToolContext(
            sandbox=self._sandbox,
            default_timeout_s=self.limits.default_timeout_s,
            remaining_s=max(1.0, self.max_wall_time_s - (time.monotonic() - self._started)),
            info=info,
        )

    def _finish(
        self, reason: EndReason, observation: str, info: dict[str, Any], infra_error: str | None = None
    ) -> tuple[str, float, bool, bool, dict[str, Any]]:
        result = self._score(reason, infra_error)
        self._done = True
        self._last_result = result
        self._close_sandbox()
        self._transcript.append(f"=== end: {reason}; score {result.final_score}")
        info.update(result.model_dump())
        info["episode"] = result
        terminated = reason == "submit"
        return observation, result.reward, terminated, not terminated, info

    def _score(self, reason: EndReason, infra_error: str | None) -> EpisodeResult:
        assert self._instance is not None
        base = {
            "task_id": self.task.id,
            "task_version": self.task.version,
            "instance_id": self._instance.instance_id,
            "prompt_level": self._episode_level,
            "seed": self._seed,
            "parameters": dict(self._instance.params),
            "steps": self._steps,
            "sandbox": asdict(self._sandbox.isolation) if self._sandbox else {},
        }
        if infra_error is not None:
            return EpisodeResult(
                **base,
                status="infra_error",
                end_reason="infra_error",
                final_score=None,
                error=infra_error,
                wall_time_s=time.monotonic() - self._started,
            )
        self._discard_outputs()
        assert self._sandbox is not None
        try:  # an OSError here is the host's (a full temp disk): the agent's files are refused, not raised
            pred_dir = Path(tempfile.mkdtemp(prefix="asibench-outputs-"))
            self._outputs_dir = pred_dir
            self._outputs_finalizer = weakref.finalize(self, shutil.rmtree, str(pred_dir), True)
            report = self._sandbox.collect([spec.name for spec in self.task.outputs], pred_dir)
            hashes = {f.path: file_sha256(pred_dir / f.path) for f in report.collected}
        except (SandboxError, OSError) as exc:
            self._discard_outputs()
            return EpisodeResult(
                **base,
                status="infra_error",
                end_reason="infra_error",
                final_score=None,
                error=f"collecting outputs failed: {exc}",
                wall_time_s=time.monotonic() - self._started,
            )
        collected = {
            "artifacts": [ArtifactRecord(path=f.path, size=f.size, sha256=hashes[f.path]) for f in report.collected],
            "refused_outputs": dict(report.refused),
            "missing_outputs": list(report.missing),
            "outputs_dir": str(pred_dir),
        }
        wall = time.monotonic() - self._started
        if not self._instance.has_reference:
            return EpisodeResult(
                **base,
                **collected,
                status="produced",
                end_reason=reason,
                final_score=None,
                error=f"instance {self._instance.instance_id} has no reference/ folder (private split): "
                "its outputs are kept for official scoring, not scored here",
                wall_time_s=wall,
            )
        if self.judge is None and needs_judge(self.task.evaluation):
            return EpisodeResult(
                **base,
                **collected,
                status="produced",
                end_reason=reason,
                final_score=None,
                error="this task's scorers call a model judge and none is configured: the outputs are kept; "
                "score them with `asibench-env score RUN_DIR --judge-base-url URL --judge-api-key-env VAR`",
                wall_time_s=wall,
            )
        score = score_outputs(
            self.task.evaluation,
            pred_dir,
            self._instance.reference_dir,
            dict(self._instance.params),
            prompt_level=self._episode_level,
            task_dir=self.task.task_dir,
            timeout_s=self.scoring_timeout_s,
            judge=self.judge,
            runtime_packages=self.task.runtime_packages,
        )
        judge_usage = score.model_dump(
            include={"judge_calls", "judge_input_tokens", "judge_output_tokens", "judge_cost_usd"}
        )
        if score.infra_error is not None:  # the judge was unreachable: not a score of the outputs
            return EpisodeResult(
                **base,
                **collected,
                **judge_usage,
                status="infra_error",
                end_reason=reason,
                final_score=None,
                error=f"scoring failed: {score.infra_error}",
                score_results=[r.model_dump() for r in score.score_results],
                wall_time_s=wall,
                scoring_time_s=score.duration_s,
            )
        return EpisodeResult(
            **base,
            **collected,
            status="scored",
            end_reason=reason,
            final_score=float(score.final_score),
            max_possible_score=float(score.max_possible_score),
            gates_passed=score.gates_passed,
            hard_gates_passed=score.hard_gates_passed,
            soft_gate_failures=score.soft_gate_failures,
            gate_results=[r.model_dump() for r in score.gate_results],
            score_results=[r.model_dump() for r in score.score_results],
            score_error=score.error,
            wall_time_s=wall,
            scoring_time_s=score.duration_s,
            **judge_usage,
        )

    def _discard_outputs(self) -> None:
        finalizer, self._outputs_finalizer = getattr(self, "_outputs_finalizer", None), None
        self._outputs_dir = None
        if finalizer is not None:
            finalizer()  # removes the folder now (once)

    def _close_sandbox(self) -> None:
        sandbox, self._sandbox = getattr(self, "_sandbox", None), None
        if sandbox is not None:
            sandbox.close()
        lease, self._lease = getattr(self, "_lease", None), None
        if lease is not None:  # the episode is scored or abandoned: the cache may evict the instance
            lease.release()


@dataclass
class _StepPlan:
    """One step on its way through :meth:`AsiBenchEnv.step`: parsed, then run, then concluded."""

    info: dict[str, Any]
    call: ToolCall | None = None
    tool: Tool | None = None
    args: BaseModel | None = None
    observation: str = ""
    sandbox_error: SandboxError | None = None


def _as_list(value: str | Path | Sequence[str | Path] | None) -> list[str | Path]:
    if value is None:
        return []
    if isinstance(value, str | Path):
        return [value]
    return list(value)


def _registry_for(tasks_dir: Any, instances_dir: Any) -> TaskRegistry:
    if tasks_dir is None and instances_dir is None:
        return builtin_registry()
    return TaskRegistry(_as_list(tasks_dir), _as_list(instances_dir))


def _action_text(call: ToolCall | None, raw: Any) -> str:
    if call is None:
        return safe_repr(raw, 500)  # any object: never raises (a huge int or a deep list has no repr)
    return f"{call.tool} {call.args_json()[:2000]}"
