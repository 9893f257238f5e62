"""A tool-calling agent on the OpenAI Chat Completions API (or any OpenAI-compatible server).

The env's tools become native function calls; each tool result goes back as a ``tool`` message. The
SDK retries 429, 5xx, timeouts and dropped connections with exponential backoff, honouring
Retry-After; when its tries run out the episode ends as ``infra_error``, never as a score of 0.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any

from asibench_env.agents.pricing import PriceTable, Usage, default_prices
from asibench_env.errors import InfraError
from asibench_env.tools import tool_specs

SYSTEM_PROMPT = (
    "You are a careful research engineer. Solve the task in the workspace with the tools: inspect the data, "
    "choose a method, implement and check it, write every required output file, then call submit."
)


class MissingAPIKeyError(ValueError):
    """The API key variable is not set."""


class OpenAIChatAgent:
    """Plays an episode through ``client.chat.completions.create`` with tool calling."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        temperature: float | None = None,
        seed: int | None = None,
        max_tokens: int | None = None,
        max_retries: int = 4,
        timeout_s: float = 300.0,
        prices: PriceTable | None = None,
        require_price: bool = True,
    ):
        import openai

        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise MissingAPIKeyError(f"set {api_key_env} to your API key (for a local server any value will do)")
        self.name = f"openai:{model}"
        self.model = model
        self.params = {
            k: v
            for k, v in {"temperature": temperature, "seed": seed, "max_tokens": max_tokens}.items()
            if v is not None
        }
        self.prices = prices or default_prices()
        if require_price:
            self.prices.price(model)  # fail before the run, not after it
        self.client = openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout_s)
        self._openai = openai
        self.messages: list[dict[str, Any]] = []
        self._pending: deque[dict[str, Any]] = deque()
        self._awaiting: str | None = None
        self.usage = Usage()
        self.cost_usd = 0.0
        self.last_turn: dict[str, Any] = {}

    def config(self) -> dict[str, Any]:
        """Request parameters for run metadata (never the API key)."""
        return {"agent": "openai", "model": self.model, "base_url": str(self.client.base_url), **self.params}

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self.messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": observation}]
        self._pending.clear()
        self._awaiting = None
        self.usage = Usage()
        self.cost_usd = 0.0

    def act(self, observation: str, info: dict[str, Any]) -> Any:
        if self._awaiting is not None:
            self.messages.append({"role": "tool", "tool_call_id": self._awaiting, "content": observation})
            self._awaiting = None
        elif len(self.messages) > 2:
            self.messages.append({"role": "user", "content": observation})
        if not self._pending:
            self._call_model()
        call = self._pending.popleft()
        if call.get("id") is None:  # a text reply: the env's parser reads it, and answers as a user turn
            return call["text"]
        self._awaiting = call["id"]
        return {"name": call["name"], "arguments": call["arguments"]}

    def _call_model(self) -> None:
        openai = self._openai
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=self.messages, tools=tool_specs("openai"), **self.params
            )
        except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError) as exc:
            raise InfraError(f"model API unavailable after retries: {type(exc).__name__}: {exc}") from exc
        except openai.APIStatusError as exc:
            raise InfraError(f"model API refused the request ({exc.status_code}): {exc.message}") from exc
        choice = response.choices[0]
        message = choice.message
        self.messages.append(message.model_dump(exclude_none=True))
        usage = response.usage
        turn = Usage(
            input_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            output_tokens=getattr(usage, "completion_tokens", 0) or 0,
            cached_tokens=getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", 0) or 0,
        )
        self.usage = self.usage + turn
        turn_cost = self.prices.cost(self.model, turn) if self.model in self.prices.models else None
        if turn_cost is not None:
            self.cost_usd += turn_cost
        self.last_turn = {
            "model": self.model,
            "input_tokens": turn.input_tokens,
            "output_tokens": turn.output_tokens,
            "cached_tokens": turn.cached_tokens,
            "cost_usd": turn_cost,
            "finish_reason": choice.finish_reason,
        }
        for tool_call in message.tool_calls or []:
            self._pending.append(
                {"id": tool_call.id, "name": tool_call.function.name, "arguments": tool_call.function.arguments}
            )
        if not self._pending:
            text = message.content or ""
            if choice.finish_reason == "length":
                text += "\n[the reply was cut off by max_tokens]"
            self._pending.append({"id": None, "text": text})

    def end(self, reward: float, info: dict[str, Any]) -> None:
        self._pending.clear()
