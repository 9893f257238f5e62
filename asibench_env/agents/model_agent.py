"""What every model-calling agent shares: the turn loop, usage and cost, budgets and context trimming.

A provider subclass only translates: how the conversation starts, how a tool result or a user message
is added, how the model is called, and how old tool outputs are shortened.
"""

from __future__ import annotations

import abc
import os
from collections import deque
from dataclasses import dataclass
from typing import Any

from asibench_env.agents.pricing import PriceTable, Usage, default_prices
from asibench_env.envs.tools import tool_specs
from asibench_env.errors import InfraError

SYSTEM_PROMPT = (
    "You are a careful research engineer. Solve the task in the workspace with the tools: inspect the data, "
    "choose a method, implement and check it, write every required output file, then call submit."
)
SUBMIT = {"tool": "submit", "arguments": {}}


def text_protocol_prompt() -> str:
    """The system prompt of the text-only (ReAct) mode, for models without function calling."""
    lines = [
        SYSTEM_PROMPT,
        "",
        "Think briefly, then act with exactly one tool call per reply, written as",
        '<tool_call>{"name": TOOL, "arguments": {...}}</tool_call>',
        "",
        "Tools:",
    ]
    for spec in tool_specs("json_schema"):
        params = ", ".join(spec["parameters"].get("properties", {}))
        lines.append(f"- {spec['name']}({params}): {spec['description']}")
    return "\n".join(lines)


TRIM_NOTE = "[older tool output shortened to save context: {chars} characters removed]"


class MissingAPIKeyError(ValueError):
    """The API key variable is not set."""


class ContextOverflowError(RuntimeError):
    """The provider refused the request because the conversation exceeds the model's context window."""


def translate_api_error(sdk: Any, exc: Exception) -> Exception:
    """The exception a provider SDK error becomes: an overflow to recover from, or an infrastructure error.

    ``sdk`` is the ``openai`` or ``anthropic`` module; both name their errors alike. Their own retries
    (429, 5xx, timeouts, dropped connections) have already run out when this is reached.
    """
    if isinstance(exc, sdk.APIConnectionError | sdk.RateLimitError | sdk.InternalServerError):
        return InfraError(f"model API unavailable after retries: {type(exc).__name__}: {exc}")
    status = getattr(exc, "status_code", 0)
    message = str(getattr(exc, "message", exc))
    if looks_like_context_overflow(status, message):
        return ContextOverflowError(message)
    return InfraError(f"model API refused the request ({status}): {message}")


def looks_like_context_overflow(status: int, message: str) -> bool:
    text = message.lower()
    return status in (400, 413) and ("context" in text or "too long" in text or ("maximum" in text and "token" in text))


def api_key_from(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        raise MissingAPIKeyError(f"set {variable} to your API key (for a local server any value will do)")
    return value


@dataclass
class ModelCall:
    """One tool call the model asked for, or (``call_id`` None) a text reply for the env's parser."""

    call_id: str | None
    name: str = ""
    arguments: Any = None
    text: str = ""


@dataclass
class Budgets:
    """Per-episode limits of a model agent; when one is reached the agent submits what it has."""

    max_total_tokens: int | None = None
    max_cost_usd: float | None = None
    context_chars: int = 400_000
    """When the conversation grows past this, older tool outputs are shortened (and say so)."""


class ModelAgent(abc.ABC):
    """The shared turn loop; subclasses speak one provider's API."""

    def __init__(
        self,
        model: str,
        *,
        prices: PriceTable | None,
        require_price: bool,
        budgets: Budgets | None,
        params: dict[str, Any],
    ):
        self.model = model
        self.prices = prices or default_prices()
        if require_price:
            self.prices.price(model)  # an unknown model fails before the run, not after it
        self.budgets = budgets or Budgets()
        self.params = {k: v for k, v in params.items() if v is not None}
        self._pending: deque[ModelCall] = deque()
        self._answered: list[tuple[str, str]] = []
        self.usage = Usage()
        self.cost_usd = 0.0
        self.last_turn: dict[str, Any] = {}
        self.stop_reason: str | None = None
        self._awaiting: str | None = None
        self._started = False
        self._context_limit = self.budgets.context_chars

    # --------------------------------------------------------------- provider hooks
    @abc.abstractmethod
    def _start(self, prompt: str) -> None:
        """Begin a conversation with the task prompt."""

    @abc.abstractmethod
    def _add_tool_results(self, results: list[tuple[str, str]]) -> None:
        """Answer the model's tool calls of the last turn: (call id, observation) pairs."""

    @abc.abstractmethod
    def _add_user(self, text: str) -> None:
        """Add a plain user message (the env's answer to a text reply)."""

    @abc.abstractmethod
    def _request(self) -> tuple[list[ModelCall], str | None, Usage]:
        """Call the model: its tool calls (or one text ModelCall), the finish reason and the usage."""

    @abc.abstractmethod
    def _tool_outputs(self) -> list[tuple[Any, str]]:
        """Older tool outputs as (handle, text), oldest first, for trimming."""

    @abc.abstractmethod
    def _replace_tool_output(self, handle: Any, text: str) -> None:
        """Replace one older tool output."""

    @abc.abstractmethod
    def _conversation_chars(self) -> int:
        """The size of the conversation so far."""

    # --------------------------------------------------------------- agent protocol
    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self._pending.clear()
        self._answered = []
        self._awaiting = None
        self.usage = Usage()
        self.cost_usd = 0.0
        self.stop_reason = None
        self._started = False
        self._context_limit = self.budgets.context_chars
        self._start(observation)

    def act(self, observation: str, info: dict[str, Any]) -> Any:
        if self._awaiting is not None:
            self._answered.append((self._awaiting, observation))
            self._awaiting = None
        if not self._pending:
            if self._answered:
                self._add_tool_results(self._answered)
                self._answered = []
            elif self._started:
                self._add_user(observation)
            self._started = True
            if (reason := self._over_budget()) is not None:
                self.stop_reason = reason
                return SUBMIT
            self._trim_context()
            try:
                self._call_model()
            except ContextOverflowError:
                # Shorten hard once; if the window is still exceeded, submit what the workspace holds.
                self._context_limit = max(self._conversation_chars() // 2, 20_000)
                self._trim_context()
                try:
                    self._call_model()
                except ContextOverflowError:
                    self.stop_reason = "context window exceeded even after shortening old tool outputs"
                    return SUBMIT
        call = self._pending.popleft()
        if call.call_id is None:
            return call.text
        self._awaiting = call.call_id
        return {"name": call.name, "arguments": call.arguments}

    def end(self, reward: float, info: dict[str, Any]) -> None:
        self._pending.clear()
        self._started = False

    # --------------------------------------------------------------- shared machinery
    def _call_model(self) -> None:
        calls, finish_reason, turn = self._request()
        self.usage = self.usage + turn
        cost = self.prices.cost(self.model, turn) if self.model in self.prices.models else None
        if cost is not None:
            self.cost_usd += cost
        self.last_turn = {
            "model": self.model,
            "input_tokens": turn.input_tokens,
            "output_tokens": turn.output_tokens,
            "cached_tokens": turn.cached_tokens,
            "cost_usd": cost,
            "finish_reason": finish_reason,
        }
        self._pending.extend(calls)

    def _over_budget(self) -> str | None:
        total = self.usage.input_tokens + self.usage.output_tokens
        if self.budgets.max_total_tokens is not None and total >= self.budgets.max_total_tokens:
            return f"token budget of {self.budgets.max_total_tokens} reached"
        if self.budgets.max_cost_usd is not None and self.cost_usd >= self.budgets.max_cost_usd:
            return f"cost budget of ${self.budgets.max_cost_usd} reached"
        return None

    def _trim_context(self) -> None:
        """Shorten the oldest tool outputs (keeping the last one whole) until the conversation fits."""
        if self._conversation_chars() <= self._context_limit:
            return
        for handle, text in self._tool_outputs()[:-1]:
            if len(text) <= 400:
                continue
            kept = text[:200] + "\n" + TRIM_NOTE.format(chars=len(text) - 200) + "\n"
            self._replace_tool_output(handle, kept)
            if self._conversation_chars() <= self._context_limit:
                return
