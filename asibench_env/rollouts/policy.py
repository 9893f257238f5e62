"""The policy a rollout samples from: an OpenAI-compatible chat endpoint, or a Python callable.

Both are played by the package's OpenAI chat agent (:class:`~asibench_env.agents.openai_agent.OpenAIChatAgent`),
so the conversation, tool calls and per-turn token data are handled in one place. A callable takes the
conversation and the tools (both in the OpenAI Chat Completions format) and returns the assistant message
as a dict: ``role``, ``content``, ``tool_calls`` (``[{"id", "function": {"name", "arguments"}}]``,
arguments as a JSON string or a dict), and optionally ``token_ids``, ``prompt_token_ids`` and
``logprobs`` (a list of floats, one per completion token). A callable that cannot reach its model raises
:class:`~asibench_env.errors.InfraError` (the rollout is retried, never scored as a failure).
"""

from __future__ import annotations

import importlib
import itertools
import json
from collections.abc import Callable
from typing import Any

from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, Field

from asibench_env.agents.openai_agent import OpenAIChatAgent

ChatPolicy = Callable[[list[dict[str, Any]], list[dict[str, Any]]], dict[str, Any]]
"""A policy as a function: (messages, tools) -> the assistant message."""


class PolicyConfig(BaseModel):
    """An OpenAI-compatible chat endpoint (vLLM, SGLang, any server) and its sampling settings.

    ``callable`` names a :data:`ChatPolicy` as ``package.module:function`` instead of an endpoint
    (then ``base_url`` is unused). Token ids are a vLLM extension (``return_token_ids``); logprobs are
    standard. ``extra_body`` is merged into every request body (e.g. ``{"top_k": 20}`` for vLLM).
    """

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="The served model's name.")
    base_url: str | None = Field(default=None, description="The server's URL, e.g. http://127.0.0.1:8000/v1.")
    api_key_env: str = Field(default="OPENAI_API_KEY", description="The variable holding the API key.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, gt=0, description="Maximum output tokens per model call.")
    seed: int | None = Field(default=None, description="The server's sampling seed, where it has one.")
    logprobs: bool = Field(default=True, description="Ask for each completion token's logprob.")
    top_logprobs: int | None = Field(default=None, ge=0, le=20, description="Also this many alternatives per token.")
    return_token_ids: bool = Field(default=True, description="Ask vLLM for the prompt and completion token ids.")
    extra_body: dict[str, Any] = Field(default_factory=dict, description="Merged into every request body.")
    native_tools: bool = Field(default=True, description="False: the text (ReAct) tool protocol instead.")
    max_retries: int = Field(default=2, ge=0, description="The SDK's own retries of a failed request.")
    timeout_s: float = Field(default=300.0, gt=0, description="Time limit of one request.")
    callable: str | None = Field(default=None, description="A ChatPolicy as package.module:function instead.")

    def public(self) -> dict[str, Any]:
        """The settings for run metadata and result files (there is never a key in them)."""
        return {"agent": "rollouts", **self.model_dump()}


def load_callable(path: str) -> ChatPolicy:
    """The function ``package.module:function`` names. Raises :class:`ValueError` saying what did not load."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"policy callable {path!r} must look like package.module:function")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"policy callable {path!r} does not load: {exc}") from exc
    if not callable(target):
        raise ValueError(f"policy callable {path!r} is a {type(target).__name__}, not a function")
    return target


def make_policy_agent(policy: PolicyConfig | ChatPolicy) -> OpenAIChatAgent:
    """A fresh agent playing ``policy`` (one per rollout), recording each turn's messages and token data.

    Raises :class:`~asibench_env.agents.api_errors.MissingAPIKeyError` when the endpoint's key variable is
    unset, :class:`ValueError` for a callable that does not load.
    """
    if not isinstance(policy, PolicyConfig):
        return CallablePolicyAgent(policy, model=getattr(policy, "__name__", "callable"))
    settings: dict[str, Any] = dict(
        top_p=policy.top_p,
        logprobs=policy.logprobs,
        top_logprobs=policy.top_logprobs if policy.logprobs else None,
        return_token_ids=policy.return_token_ids,
        extra_body=policy.extra_body,
        temperature=policy.temperature,
        seed=policy.seed,
        max_tokens=policy.max_tokens,
        native_tools=policy.native_tools,
        require_price=False,
    )
    if policy.callable is not None:
        return CallablePolicyAgent(load_callable(policy.callable), model=policy.model, **settings)
    return OpenAIChatAgent(
        policy.model,
        base_url=policy.base_url,
        api_key_env=policy.api_key_env,
        max_retries=policy.max_retries,
        timeout_s=policy.timeout_s,
        **settings,
    )


class CallablePolicyAgent(OpenAIChatAgent):
    """The OpenAI chat agent with a Python function in place of the HTTP client."""

    def __init__(self, function: ChatPolicy, *, model: str, **settings: Any):
        self.function = function
        settings.setdefault("require_price", False)
        super().__init__(model, api_key="unused", **settings)

    def _connect(self, *, api_key: str, base_url: str | None, max_retries: int, timeout_s: float) -> Any:
        self.messages = []
        return _CallableClient(self.function, self.model)


class _Completions:
    def __init__(self, function: ChatPolicy, model: str):
        self.function = function
        self.model = model
        self.ids = itertools.count()

    def create(self, *, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, **_: Any) -> Any:
        reply = dict(self.function([dict(m) for m in messages], list(tools or [])))
        calls = []
        for call in reply.get("tool_calls") or []:
            function = call.get("function") or {}
            arguments = function.get("arguments", "{}")
            calls.append(
                {
                    "id": call.get("id") or f"call_{next(self.ids)}",
                    "type": "function",
                    "function": {
                        "name": function.get("name", ""),
                        "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                    },
                }
            )
        message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
        if calls:
            message["tool_calls"] = calls
        choice: dict[str, Any] = {
            "index": 0,
            "finish_reason": reply.get("finish_reason") or ("tool_calls" if calls else "stop"),
            "message": message,
        }
        if reply.get("logprobs") is not None:
            lps = [float(x) for x in reply["logprobs"]]
            choice["logprobs"] = {"content": [{"token": "", "logprob": x, "top_logprobs": []} for x in lps]}
        if reply.get("token_ids") is not None:
            choice["token_ids"] = list(reply["token_ids"])
        completion_tokens = len(reply.get("token_ids") or [])
        prompt_tokens = len(reply.get("prompt_token_ids") or [])
        body: dict[str, Any] = {
            "id": f"callable-{next(self.ids)}",
            "object": "chat.completion",
            "created": 0,
            "model": self.model,
            "choices": [choice],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        if reply.get("prompt_token_ids") is not None:
            body["prompt_token_ids"] = list(reply["prompt_token_ids"])
        return ChatCompletion.model_validate(body)


class _Chat:
    def __init__(self, completions: _Completions):
        self.completions = completions


class _CallableClient:
    """What the OpenAI agent uses of ``openai.OpenAI``: ``chat.completions.create`` and ``base_url``."""

    def __init__(self, function: ChatPolicy, model: str):
        name = f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', type(function).__name__)}"
        self.base_url = f"callable:{name}"
        self.chat = _Chat(_Completions(function, model))


__all__ = ["CallablePolicyAgent", "ChatPolicy", "PolicyConfig", "load_callable", "make_policy_agent"]
