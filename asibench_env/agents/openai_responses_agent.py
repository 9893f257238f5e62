"""A tool-calling agent on the OpenAI Responses API (``client.responses.create``)."""

from __future__ import annotations

from typing import Any

import openai

from asibench_env.agents.api_errors import translate_api_error
from asibench_env.agents.model_agent import ModelAgent, ModelCall
from asibench_env.agents.pricing import Usage
from asibench_env.agents.prompts import SYSTEM_PROMPT


class OpenAIResponsesAgent(ModelAgent):
    """Plays an episode with function calls on the Responses API; the conversation is kept client-side."""

    agent_name = "openai-responses"
    default_api_key_env = "OPENAI_API_KEY"
    settings_supported = frozenset({"temperature", "max_tokens", "reasoning_effort"})
    message_format = "openai_responses"
    tool_format = "openai_responses"

    def _connect(self, *, api_key: str, base_url: str | None, max_retries: int, timeout_s: float) -> openai.OpenAI:
        self.items: list[dict[str, Any]] = []
        return openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout_s)

    def _request_params(
        self, *, temperature: float | None, seed: int | None, max_tokens: int | None, reasoning_effort: str | None
    ) -> dict[str, Any]:
        return {
            "temperature": temperature,
            "max_output_tokens": max_tokens,
            "reasoning": {"effort": reasoning_effort} if reasoning_effort else None,
        }

    def _system_prompt(self) -> str:
        return SYSTEM_PROMPT

    def _conversation(self) -> list[dict[str, Any]]:
        return self.items

    def _assistant_parts(self, message: dict[str, Any]) -> tuple[str | None, str | None]:
        if message.get("type") == "message":
            text = "".join(p.get("text", "") for p in message.get("content", []) if p.get("type") == "output_text")
            return text or None, None
        if message.get("type") == "reasoning":
            summary = "".join(p.get("text", "") for p in message.get("summary", []) or [])
            return None, summary or None
        return None, None

    def _start(self, prompt: str) -> None:
        self.items = [{"role": "user", "content": prompt}]

    def _add_tool_results(self, results: list[tuple[str, str]]) -> None:
        self.items += [
            {"type": "function_call_output", "call_id": call_id, "output": text} for call_id, text in results
        ]

    def _add_user(self, text: str) -> None:
        self.items.append({"role": "user", "content": text})

    def _tool_outputs(self) -> list[tuple[Any, str]]:
        return [(i, item["output"]) for i, item in enumerate(self.items) if item.get("type") == "function_call_output"]

    def _replace_tool_output(self, handle: Any, text: str) -> None:
        self.items[handle]["output"] = text

    def _conversation_chars(self) -> int:
        return sum(len(str(item)) for item in self.items)

    def _request(self) -> tuple[list[ModelCall], str | None, Usage]:
        errors = openai
        try:
            response = self.client.responses.create(
                model=self.model,
                instructions=self._system_prompt(),
                input=self.items,
                tools=self.tool_definitions("openai_responses"),
                **self.params,
            )
        except errors.APIError as exc:
            raise translate_api_error(errors, exc) from exc
        calls, texts = [], []
        for item in response.output:
            self.items.append(item.model_dump(exclude_none=True))
            if item.type == "function_call":
                calls.append(ModelCall(item.call_id, item.name, item.arguments))
            elif item.type == "message":
                texts += [part.text for part in item.content if getattr(part, "type", "") == "output_text"]
        usage = response.usage
        turn = Usage(
            input_tokens=getattr(usage, "input_tokens", 0) or 0,
            output_tokens=getattr(usage, "output_tokens", 0) or 0,
            cached_tokens=getattr(getattr(usage, "input_tokens_details", None), "cached_tokens", 0) or 0,
        )
        finish = response.status
        if not calls:
            text = "\n".join(texts)
            details = getattr(response, "incomplete_details", None)
            if finish == "incomplete" and getattr(details, "reason", "") == "max_output_tokens":
                text += "\n[the reply was cut off by max_tokens]"
            calls = [ModelCall(None, text=text)]
        return calls, finish, turn
