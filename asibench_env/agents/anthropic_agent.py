"""A tool-calling agent on the Anthropic Messages API.

Tool results of one assistant turn go back together, as ``tool_result`` blocks of the next user
message. The SDK retries 429, 529, 5xx, timeouts and dropped connections with backoff, honouring
Retry-After; when its tries run out the episode ends as ``infra_error``.
"""

from __future__ import annotations

from typing import Any

import anthropic

from asibench_env.agents.api_errors import translate_api_error
from asibench_env.agents.model_agent import ModelAgent, ModelCall
from asibench_env.agents.pricing import Usage
from asibench_env.agents.prompts import SYSTEM_PROMPT

DEFAULT_MAX_TOKENS = 8192


class AnthropicAgent(ModelAgent):
    """Plays an episode through ``client.messages.create`` with tool use (8192 output tokens unless told)."""

    agent_name = "anthropic"
    default_api_key_env = "ANTHROPIC_API_KEY"
    settings_supported = frozenset({"temperature", "max_tokens"})
    message_format = "anthropic_messages"
    tool_format = "anthropic"

    def _connect(
        self, *, api_key: str, base_url: str | None, max_retries: int, timeout_s: float
    ) -> anthropic.Anthropic:
        self.messages: list[dict[str, Any]] = []
        return anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout_s)

    def _request_params(
        self, *, temperature: float | None, seed: int | None, max_tokens: int | None, reasoning_effort: str | None
    ) -> dict[str, Any]:
        return {"temperature": temperature, "max_tokens": max_tokens or DEFAULT_MAX_TOKENS}

    def _system_prompt(self) -> str:
        return SYSTEM_PROMPT

    def _conversation(self) -> list[dict[str, Any]]:
        return self.messages

    def _assistant_parts(self, message: dict[str, Any]) -> tuple[str | None, str | None]:
        blocks = message["content"] if isinstance(message["content"], list) else []
        text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        thinking = "".join(b.get("thinking", "") for b in blocks if b.get("type") == "thinking")
        return text or None, thinking or None

    def _start(self, prompt: str) -> None:
        self.messages = [{"role": "user", "content": prompt}]

    def _add_tool_results(self, results: list[tuple[str, str]]) -> None:
        blocks = [
            {"type": "tool_result", "tool_use_id": call_id, "content": text or "(no output)"}
            for call_id, text in results
        ]
        self.messages.append({"role": "user", "content": blocks})

    def _add_user(self, text: str) -> None:
        self.messages.append({"role": "user", "content": text or "(empty)"})

    def _tool_outputs(self) -> list[tuple[Any, str]]:
        found = []
        for i, message in enumerate(self.messages):
            if message["role"] == "user" and isinstance(message["content"], list):
                found += [
                    ((i, j), b["content"]) for j, b in enumerate(message["content"]) if b["type"] == "tool_result"
                ]
        return found

    def _replace_tool_output(self, handle: Any, text: str) -> None:
        i, j = handle
        self.messages[i]["content"][j]["content"] = text

    def _conversation_chars(self) -> int:
        return sum(len(str(m["content"])) for m in self.messages)

    def _request(self) -> tuple[list[ModelCall], str | None, Usage]:
        errors = anthropic
        try:
            # Newer SDKs take sampling settings only through the request body.
            sampling = {k: v for k, v in self.params.items() if k != "max_tokens"}
            response = self.client.messages.create(
                model=self.model,
                system=self._system_prompt(),
                messages=self.messages,
                tools=self.tool_definitions("anthropic"),
                max_tokens=self.params["max_tokens"],
                extra_body=sampling or None,
            )
        except errors.APIError as exc:
            raise translate_api_error(errors, exc) from exc
        content = [block.model_dump(exclude_none=True) for block in response.content]
        self.messages.append({"role": "assistant", "content": content})
        usage = response.usage
        cached = getattr(usage, "cache_read_input_tokens", 0) or 0
        turn = Usage(
            input_tokens=(usage.input_tokens or 0) + cached,
            output_tokens=usage.output_tokens or 0,
            cached_tokens=cached,
        )
        calls = [ModelCall(b.id, b.name, b.input) for b in response.content if b.type == "tool_use"]
        if not calls:
            text = "".join(b.text for b in response.content if b.type == "text")
            if response.stop_reason == "max_tokens":
                text += "\n[the reply was cut off by max_tokens]"
            calls = [ModelCall(None, text=text)]
        return calls, response.stop_reason, turn
