"""The verifiers harness that plays one ASI-Bench episode per rollout (built on verifiers 0.4.0).

verifiers 0.4 runs every rollout through a harness whose model calls go to the rollout's
interception endpoint. This harness runs its loop in-process (the contract the verifiers
``Harness.launch`` docstring allows): its :class:`AsiBenchSession` owns one
:class:`~asibench_env.envs.task_env.AsiBenchEnv`, resets it from the row, sends the reset
observation as the user turn with the env's tools as native function calls, runs every tool call
through ``step_async`` (a tool's error text goes back as that call's tool message) and stops when the
env ends the episode (``submit``, or truncation when the step or wall-time budget runs out). The
episode's result goes into the trace's state (:class:`AsiBenchState`) and ``trace.info["asibench"]``;
the env is closed when the session closes, whether the rollout finished, failed or was cancelled.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import openai
import verifiers.v1 as vf
from pydantic import Field

from asibench_env.envs.episode import EpisodeResult
from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.errors import InfraError

PLUGIN_ID = "asibench_verifiers"
"""The id verifiers imports the taskset, harness and env by (the top-level ``asibench_verifiers`` module)."""


class AsiBenchTaskData(vf.TaskData):
    """One row: which task instance a rollout plays. No reference or scoring detail is ever in it.

    ``prompt`` is a short stand-in that verifiers requires; the model never sees it: the harness
    opens the conversation with the env's reset observation (the instance's prompt and the
    workspace listing), which only exists once the instance is generated and the sandbox started.
    """

    task_id: str
    """The ASI-Bench task id, e.g. ``physics.damped_oscillator_fit``."""
    level: str
    """The prompt's guidance level, B1 (full method) ... B4 (minimal guidance plus distractors)."""
    seed: int
    """The instance seed: a generator task draws its parameters from it (same seed, same instance)."""
    tasks_dir: list[str] = Field(default_factory=list)
    """Task folders in the official layout the task is found in, besides the built-in tasks."""
    instances_dir: list[str] = Field(default_factory=list)
    """Folders of downloaded instances."""


class AsiBenchState(vf.State):
    """What the rollout's episode ended with (``trace.state``; also copied to ``trace.info["asibench"]``)."""

    status: Literal["unfinished", "scored", "produced", "agent_error", "infra_error"] = "unfinished"
    """``scored``; ``produced`` (outputs kept, not scorable here); ``infra_error`` (never a score);
    ``unfinished`` until the episode ends (it stays so when the rollout stops or fails first)."""
    final_score: float | None = None
    """The task scorer's final score, 0-100 (None unless scored)."""
    end_reason: str | None = None
    """``submit``, ``max_steps``, ``wall_time`` or ``infra_error``."""
    steps: int = 0
    """Tool calls (and text replies) the env ran."""
    instance_id: str | None = None
    error: str | None = None
    """Why the episode was not scored, or the scorer's message."""


class AsiBenchHarnessConfig(vf.HarnessConfig):
    """How each rollout's env is made (``--env.agent.harness.*`` on the verifiers command line)."""

    id: str = PLUGIN_ID
    sandbox: str = "local"
    """The sandbox backend: ``local`` (namespaces) or ``docker``."""
    sandbox_options: dict[str, Any] = Field(default_factory=dict)
    """Backend options, as ``AsiBenchEnv(sandbox_options=...)``."""
    max_turns: int = Field(50, ge=1)
    """The env's step budget (one step per tool call or text reply): the episode is truncated and the
    workspace scored when it is used up, as in every ASI-Bench run."""
    max_wall_time_s: float = Field(3600.0, gt=0)
    """The env's wall-time budget per episode (truncation, scored, when used up)."""
    model_retries: int = Field(2, ge=0)
    """Retries of a model call that failed with a 429, a 5xx or a timeout (the status verifiers' interception
    relays); then the rollout fails with verifiers' ``ProviderError``."""


class AsiBenchHarness(vf.Harness[AsiBenchHarnessConfig]):
    """Plays the row's ASI-Bench episode in-process; each rollout's :class:`AsiBenchSession` owns the env."""

    APPENDS_SYSTEM_PROMPT = True
    EXECUTES_CODE = False  # the model's code runs in the episode's own ASI-Bench sandbox, not in the runtime
    NEEDS_CONTAINER = False

    async def session(
        self,
        ctx: Any,
        trace: Any,
        runtime: Any,
        endpoint: str,
        secret: str,
        mcp_urls: dict[str, str],
        data: Any,
        tool_interception_url: str | None = None,
    ) -> AsiBenchSession:
        """The rollout's handle: it owns the episode's env until :meth:`AsiBenchSession.close`."""
        return AsiBenchSession(self, ctx, trace, runtime, endpoint, secret, mcp_urls, data, tool_interception_url)

    async def launch(
        self,
        ctx: Any,
        trace: Any,
        runtime: Any,
        endpoint: str,
        secret: str,
        mcp_urls: dict[str, str],
        data: Any,
        tool_interception_url: str | None = None,
    ) -> Any:
        """Play one episode in a session of its own (verifiers calls :meth:`session` instead)."""
        session = await self.session(ctx, trace, runtime, endpoint, secret, mcp_urls, data)
        try:
            return await session.play()
        finally:
            await session.close()


class AsiBenchSession(vf.HarnessSession):
    """One rollout: one :class:`AsiBenchEnv`, reset from the row, closed by :meth:`close`."""

    env: AsiBenchEnv | None = None
    _reset: asyncio.Future[tuple[str, dict[str, Any]]] | None = None

    async def _run(self, messages: Any) -> Any:
        if messages is not None:
            raise ValueError("an ASI-Bench rollout takes no user turns: the environment answers every tool call")
        return await self.play()

    async def play(self) -> Any:
        """Reset the env, then call the model and run its tool calls until the episode ends.

        Raises ``verifiers.v1.SandboxError`` when the episode is an infrastructure error (the instance
        could not be generated, the sandbox failed, the outputs could not be collected): verifiers
        records it on the trace as an error, never as a reward of 0.
        """
        config: AsiBenchHarnessConfig = self.harness.config
        data: AsiBenchTaskData = self.data
        state: AsiBenchState = self.trace.state
        env = AsiBenchEnv(
            data.task_id,
            level=data.level,
            sandbox=config.sandbox,
            sandbox_options=config.sandbox_options,
            max_steps=config.max_turns,
            max_wall_time_s=config.max_wall_time_s,
            tasks_dir=data.tasks_dir or None,
            instances_dir=data.instances_dir or None,
        )
        self.env = env
        # The reset runs in a worker thread that a cancelled rollout cannot stop: keep it, so that
        # close() waits for it and then closes the sandbox it started.
        self._reset = asyncio.ensure_future(env.reset_async(seed=data.seed, options={"level": data.level}))
        try:
            observation, _info = await asyncio.shield(self._reset)
        except InfraError as exc:
            self._record(None, error=str(exc))
            raise vf.SandboxError(f"ASI-Bench reset of {data.task_id} seed {data.seed} failed: {exc}") from exc
        messages: list[dict[str, Any]] = [{"role": "user", "content": observation}]
        if data.system_prompt:
            messages.insert(0, {"role": "system", "content": data.system_prompt})
        client = openai.AsyncOpenAI(base_url=self.endpoint, api_key=self.secret, max_retries=config.model_retries)
        try:
            result = await self._loop(env, client, messages, env.tool_specs("openai"))
        finally:
            await client.close()
        self._record(result)
        if state.status == "infra_error":
            raise vf.SandboxError(f"ASI-Bench episode {state.instance_id} ended in infra_error: {state.error}")
        if result.end_reason == "max_steps":
            self.trace.stop("max_turns")  # verifiers' name for a turn budget used up: the trace is truncated
        elif result.end_reason == "wall_time":
            self.trace.stop("wall_time")
        return vf.ProgramResult(exit_code=0, stdout="", stderr="")

    async def _loop(
        self, env: AsiBenchEnv, client: openai.AsyncOpenAI, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> EpisodeResult:
        while True:
            try:
                completion = await client.chat.completions.create(
                    model=self.ctx.model,
                    messages=messages,  # type: ignore[arg-type]
                    tools=tools,  # type: ignore[arg-type]
                )
            except openai.OpenAIError:
                if self.trace.stop_condition is None:
                    raise  # the provider failed: verifiers records its ProviderError on the trace
                # verifiers refused the turn (its own max_turns, a token cap, a @stop): score the workspace as is
                _observation, result = await self._step(env, {"tool": "submit", "arguments": {}})
                assert result is not None  # submit always ends the episode
                return result
            message = completion.choices[0].message
            messages.append(message.model_dump(exclude_none=True))
            if not message.tool_calls:
                # a text reply: the env parses it (a <tool_call> or a fenced block) or explains the valid forms
                observation, result = await self._step(env, message.content or "")
                messages.append({"role": "user", "content": observation})
                if result is not None:
                    return result
                continue
            for call in message.tool_calls:
                function = getattr(call, "function", None)  # a custom (non-function) call is refused by the env
                action = {"name": function.name, "arguments": function.arguments} if function else str(call)
                observation, result = await self._step(env, action)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": observation})
                if result is not None:
                    return result

    async def _step(self, env: AsiBenchEnv, action: Any) -> tuple[str, EpisodeResult | None]:
        observation, _reward, terminated, truncated, info = await env.step_async(action)
        return observation, info["episode"] if terminated or truncated else None

    def _record(self, result: EpisodeResult | None, error: str | None = None) -> None:
        state: AsiBenchState = self.trace.state
        if result is None:
            state.status, state.end_reason, state.error = "infra_error", "infra_error", error
        else:
            state.status = result.status
            state.final_score = result.final_score
            state.end_reason = result.end_reason
            state.steps = result.steps
            state.instance_id = result.instance_id
            state.error = result.error or result.score_error
        self.trace.info["asibench"] = state.model_dump(mode="json", exclude={"artifacts"})

    async def close(self) -> None:
        """Close the episode's env (its sandbox); idempotent, also after a failure or a cancellation."""
        env, self.env = self.env, None
        reset, self._reset = self._reset, None
        if reset is not None and not reset.done():
            await asyncio.wait([reset])  # a rollout cut short during the reset: its sandbox is being started
        if env is not None:
            await asyncio.to_thread(env.close)
        await super().close()
