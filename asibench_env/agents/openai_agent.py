"""A tool-calling agent on the OpenAI Chat Completions API (or any OpenAI-compatible server: vLLM, SGLang, Ollama).

The SDK retries 429, 5xx, timeouts and dropped connections with exponential backoff and jitter,
honouring Retry-After; when its tries run out the episode ends as ``infra_error``, never as a 0.
"""

from __future__ import annotations

from typing import Any

import openai

from asibench_env.agents.api_errors import translate_api_error
from asibench_env.agents.model_agent import ModelAgent, ModelCall
from asibench_env.agents.pricing import Usage
from asibench_env.agents.prompts import SYSTEM_PROMPT, text_protocol_prompt


class OpenAIChatAgent(ModelAgent):
    """Plays an episode through ``client.chat.completions.create`` with native function calls.

    With ``native_tools=False`` it uses the ReAct text protocol instead, for models without function calling.
    """

    agent_name = "openai"
    default_api_key_env = "OPENAI_API_KEY"
    settings_supported = frozenset({"temperature", "seed", "max_tokens", "reasoning_effort", "native_tools"})

    def _connect(self, *, api_key: str, base_url: str | None, max_retries: int, timeout_s: float) -> openai.OpenAI:
        self.messages: list[dict[str, Any]] = []
        return openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout_s)

    def _request_params(
        self, *, temperature: float | None, seed: int | None, max_tokens: int | None, reasoning_effort: str | None
    ) -> dict[str, Any]:
        return {
            "temperature": temperature,
            "seed": seed,
            "max_tokens": max_tokens,
            "reasoning_effort": reasoning_effort,
        }

    def _start(self, prompt: str) -> None:
        system = SYSTEM_PROMPT if self.native_tools else text_protocol_prompt(self.tools)
        self.messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]

    def _add_tool_results(self, results: list[tuple[str, str]]) -> None:
        self.messages += [{"role": "tool", "tool_call_id": call_id, "content": text} for call_id, text in results]

    def _add_user(self, text: str) -> None:
        self.messages.append({"role": "user", "content": text})

    def _tool_outputs(self) -> list[tuple[Any, str]]:
        return [(i, m["content"]) for i, m in enumerate(self.messages) if m.get("role") == "tool"]

    def _replace_tool_output(self, handle: Any, text: str) -> None:
        self.messages[handle]["content"] = text

    def _conversation_chars(self) -> int:
        return sum(len(str(m.get("content") or "")) + len(str(m.get("tool_calls") or "")) for m in self.messages)

    def _request(self) -> tuple[list[ModelCall], str | None, Usage]:
        errors = openai
        try:
            tools = {"tools": self.tool_definitions("openai")} if self.native_tools else {}
            response = self.client.chat.completions.create(
                model=self.model, messages=self.messages, **tools, **self.params
            )
        except errors.APIError as exc:
            raise translate_api_error(errors, exc) from exc
        choice = response.choices[0]
        message = choice.message
        self.messages.append(message.model_dump(exclude_none=True))
        usage = response.usage
        turn = Usage(
            input_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            output_tokens=getattr(usage, "completion_tokens", 0) or 0,
            cached_tokens=getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", 0) or 0,
        )
        calls = [ModelCall(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]
        if not calls:
            text = message.content or ""
            if choice.finish_reason == "length":
                text += "\n[the reply was cut off by max_tokens]"
            calls = [ModelCall(None, text=text)]
        return calls, choice.finish_reason, turn
