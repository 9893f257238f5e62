"""What every model-calling agent shares: the turn loop, usage and cost, budgets and context trimming.

A provider subclass only translates: how the conversation starts, how a tool result or a user message
is added, how the model is called, and how old tool outputs are shortened.
"""

from __future__ import annotations

import abc
import json
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from asibench_env.agents.api_errors import ContextOverflowError, MissingAPIKeyError, api_key_from, translate_api_error
from asibench_env.agents.pricing import PriceTable, Usage, default_prices
from asibench_env.agents.prompts import SUBMIT, SYSTEM_PROMPT, TRIM_NOTE, text_protocol_prompt
from asibench_env.agents.settings import AgentSettings, AgentSettingsError
from asibench_env.envs.tools import ToolFormat, convert_spec, tool_specs
from asibench_env.tasks.registry import TaskRegistry

__all__ = [  # the names model agents use; errors and prompts live in api_errors.py and prompts.py
    "SYSTEM_PROMPT",
    "Budgets",
    "ContextOverflowError",
    "MissingAPIKeyError",
    "ModelAgent",
    "ModelCall",
    "text_protocol_prompt",
    "translate_api_error",
]


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
    """The shared construction and turn loop; a subclass only speaks one provider's API.

    A subclass sets :attr:`agent_name`, :attr:`default_api_key_env` and :attr:`settings_supported`, and
    implements :meth:`_connect` and :meth:`_request_params` plus the conversation hooks below.
    """

    agent_name: ClassVar[str]
    """The registered name, e.g. ``"openai"``; also the prefix of :attr:`name`."""
    default_api_key_env: ClassVar[str]
    """The environment variable read for the API key unless ``api_key_env`` names another."""
    settings_supported: ClassVar[frozenset[str]]
    """Optional request settings the API has (of seed, reasoning_effort, native_tools, temperature, max_tokens)."""
    message_format: ClassVar[str]
    """The wire format of :meth:`_conversation`'s messages: ``openai_chat``, ``anthropic_messages``, ...."""
    tool_format: ClassVar[ToolFormat]
    """The function-calling format the tools are sent in (see :func:`~asibench_env.envs.tools.convert_spec`)."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        max_tokens: int | None = None,
        reasoning_effort: str | None = None,
        native_tools: bool = True,
        max_retries: int = 4,
        timeout_s: float = 300.0,
        prices: PriceTable | None = None,
        require_price: bool = True,
        budgets: Budgets | None = None,
        api_key: str | None = None,
    ):
        """Check the settings, read the API key, check the model's price and make the SDK client.

        ``api_key`` is used as given when set (e.g. for a client that needs none); otherwise it is read
        from ``api_key_env`` (or the provider's variable).

        Raises :class:`~asibench_env.agents.settings.AgentSettingsError` for a setting this API does not
        have, :class:`MissingAPIKeyError` when the key variable is unset and
        :class:`~asibench_env.agents.pricing.UnknownPriceError` for a model without a price (unless
        ``require_price`` is False).
        """
        given = {
            "temperature": temperature,
            "seed": seed,
            "max_tokens": max_tokens,
            "reasoning_effort": reasoning_effort,
            "native_tools": None if native_tools else False,
        }
        for setting, value in given.items():
            if value is not None and setting not in self.settings_supported:
                raise AgentSettingsError(
                    f"the {self.agent_name} agent has no {setting} setting; leave it out", field=setting
                )
        api_key = api_key if api_key is not None else api_key_from(api_key_env or self.default_api_key_env)
        self.model = model
        self.name = f"{self.agent_name}:{model}"
        self.prices = prices or default_prices()
        if require_price:
            self.prices.price(model)  # an unknown model fails before the run, not after it
        self.budgets = budgets or Budgets()
        self.native_tools = native_tools  # False: the ReAct text protocol, for models without function calling
        raw = self._request_params(
            temperature=temperature, seed=seed, max_tokens=max_tokens, reasoning_effort=reasoning_effort
        )
        self.params = {k: v for k, v in raw.items() if v is not None}
        self.client = self._connect(api_key=api_key, base_url=base_url, max_retries=max_retries, timeout_s=timeout_s)
        self._pending: deque[ModelCall] = deque()
        self._answered: list[tuple[str, str]] = []
        self.tools: list[dict[str, Any]] = tool_specs("json_schema")
        """The episode's tools in the json_schema form, from the env's reset info."""
        self.usage = Usage()
        self.cost_usd = 0.0
        self.last_turn: dict[str, Any] = {}
        self.stop_reason: str | None = None
        self._awaiting: str | None = None
        self._started = False
        self._context_limit = self.budgets.context_chars
        self._turns = 0  # model calls this episode: the next turn's id
        self._logged = 0  # messages of the conversation already in a logged request or reply
        self._rewritten = False  # an earlier message was changed (trimmed) since the last request

    @classmethod
    def from_settings(cls, settings: AgentSettings, *, registry: TaskRegistry | None = None) -> Self:
        """The agent the settings describe (``registry`` is unused: a model needs no task files).

        Raises :class:`~asibench_env.agents.settings.AgentSettingsError` when no model is given or for
        options or settings this API does not take, and what the constructor raises.
        """
        if not settings.model:
            raise AgentSettingsError(
                f"the {settings.agent} agent needs --model NAME (model: in a baseline file)", field="model"
            )
        settings.refuse_options()
        return cls(
            settings.model,
            base_url=settings.base_url,
            api_key_env=settings.api_key_env,
            temperature=settings.temperature,
            seed=settings.seed,
            max_tokens=settings.max_tokens,
            reasoning_effort=settings.reasoning_effort,
            native_tools=settings.native_tools,
            prices=settings.price_table(),
            budgets=Budgets(max_total_tokens=settings.max_total_tokens, max_cost_usd=settings.max_cost_usd),
        )

    def config(self) -> dict[str, Any]:
        """Request parameters for run metadata (never the API key)."""
        extra = {"native_tools": self.native_tools} if "native_tools" in self.settings_supported else {}
        return {
            "agent": self.agent_name,
            "model": self.model,
            "base_url": str(self.client.base_url),
            **extra,
            **self.params,
        }

    def pop_turn(self) -> dict[str, Any]:
        """The metadata of the step just chosen, cleared once returned.

        Every step chosen from a model turn has ``turn_id`` and ``tool_call_id``; the first step of the
        turn also has the model call's record: model, tokens, cost, finish reason, the request's new
        messages, the assistant message, its text and reasoning.
        """
        turn, self.last_turn = self.last_turn, {}
        return turn

    def conversation_setup(self) -> dict[str, Any]:
        """How this episode's conversation is framed: system prompt, tools as sent, and their formats."""
        if self.native_tools:
            tools, tool_format = self.tool_definitions(self.tool_format), str(self.tool_format)
        else:
            tools, tool_format = list(self.tools), "text"
        return {
            "system_prompt": self._system_prompt(),
            "tools": tools,
            "tool_format": tool_format,
            "message_format": self.message_format,
        }

    # --------------------------------------------------------------- provider construction
    @abc.abstractmethod
    def _connect(self, *, api_key: str, base_url: str | None, max_retries: int, timeout_s: float) -> Any:
        """Make the provider SDK's client, and the empty conversation it will carry."""

    @abc.abstractmethod
    def _request_params(
        self, *, temperature: float | None, seed: int | None, max_tokens: int | None, reasoning_effort: str | None
    ) -> dict[str, Any]:
        """The request's sampling parameters in this API's names (None values are dropped)."""

    # --------------------------------------------------------------- provider hooks
    @abc.abstractmethod
    def _system_prompt(self) -> str:
        """The system prompt (or instructions) every request of the episode carries."""

    @abc.abstractmethod
    def _conversation(self) -> list[dict[str, Any]]:
        """The conversation as the next request sends it, in :attr:`message_format` (the live list)."""

    @abc.abstractmethod
    def _assistant_parts(self, message: dict[str, Any]) -> tuple[str | None, str | None]:
        """The text and the reasoning of one assistant message of :meth:`_conversation` (None when absent)."""

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
        """Start a new conversation with the task prompt; usage, cost and budgets start from zero.

        The model is offered the tools the env announces in ``info["tools"]`` (custom tools included),
        else the six built-in ones.
        """
        self.tools = list(info.get("tools") or tool_specs("json_schema"))
        self._pending.clear()
        self.last_turn = {}
        self._answered = []
        self._awaiting = None
        self.usage = Usage()
        self.cost_usd = 0.0
        self.stop_reason = None
        self._started = False
        self._context_limit = self.budgets.context_chars
        self._turns = 0
        self._logged = 0
        self._rewritten = False
        self._start(observation)

    def tool_definitions(self, fmt: ToolFormat) -> list[dict[str, Any]]:
        """This episode's tools in a provider's function-calling format."""
        return [convert_spec(spec, fmt) for spec in self.tools]

    def act(self, observation: str, info: dict[str, Any]) -> Any:
        """The next tool call: a pending one of the last model turn, or one from a new model call.

        Raises :class:`~asibench_env.errors.InfraError` when the model API stays unavailable.
        """
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
        self.last_turn["turn_id"] = self._turns - 1
        self.last_turn["tool_call_id"] = call.call_id
        if call.call_id is None:
            return call.text
        self._awaiting = call.call_id
        return {"name": call.name, "arguments": call.arguments}

    def end(self, reward: float, info: dict[str, Any]) -> None:
        """Forget the unanswered calls of the episode."""
        self._pending.clear()
        self._started = False

    # --------------------------------------------------------------- shared machinery
    def _call_model(self) -> None:
        conversation = self._conversation()
        full = self._rewritten or self._logged > len(conversation)
        delta = list(conversation if full else conversation[self._logged :])
        sent = len(conversation)
        calls, finish_reason, turn = self._request()
        replies = conversation[sent:]  # what the provider appended: the assistant message (or output items)
        self._logged = len(conversation)
        self._rewritten = False
        turn_id, self._turns = self._turns, self._turns + 1
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
            "turn_id": turn_id,
            "request_messages_json": _dumps(delta),
            "request_full": full,
            # One message in the chat formats; the Responses API's output items as a list.
            "assistant_message_json": _dumps(replies if self.message_format == "openai_responses" else replies[0]),
            **self._reply_text(replies),
            **self._turn_extras(),
        }
        self._pending.extend(calls)

    def _reply_text(self, replies: list[dict[str, Any]]) -> dict[str, Any]:
        texts, thoughts = [], []
        for message in replies:
            text, reasoning = self._assistant_parts(message)
            texts += [text] if text else []
            thoughts += [reasoning] if reasoning else []
        return {
            "assistant_text": "\n".join(texts) if texts else None,
            "reasoning": "\n".join(thoughts) if thoughts else None,
        }

    def _turn_extras(self) -> dict[str, Any]:
        """More step columns of the last model call (e.g. token ids and logprobs); none by default."""
        return {}

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
            self._rewritten = True
            if self._conversation_chars() <= self._context_limit:
                return


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
