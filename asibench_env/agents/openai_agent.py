"""A tool-calling agent on the OpenAI Chat Completions API (or any OpenAI-compatible server: vLLM, SGLang, Ollama).

The SDK retries 429, 5xx, timeouts and dropped connections with exponential backoff and jitter,
honouring Retry-After; when its tries run out the episode ends as ``infra_error``, never as a 0.

For training data the agent can also ask for token logprobs (``logprobs``, ``top_logprobs``) and, from
vLLM, the token ids (``return_token_ids``: vLLM then adds ``prompt_token_ids`` to the response and
``token_ids`` to each choice); it hands them, with the turn's request messages and reply, to the runner
through ``pop_turn`` and so into the trajectory's step rows.
"""

from __future__ import annotations

import json
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
    message_format = "openai_chat"
    tool_format = "openai"

    def __init__(
        self,
        model: str,
        *,
        top_p: float | None = None,
        logprobs: bool = False,
        top_logprobs: int | None = None,
        return_token_ids: bool = False,
        extra_body: dict[str, Any] | None = None,
        **settings: Any,
    ):
        """The settings of :class:`ModelAgent`, plus what a trainer's rollouts need.

        ``top_p`` is sent as is; ``logprobs`` asks for each completion token's logprob (``top_logprobs``:
        also that many alternatives, kept in ``logprobs_json``); ``return_token_ids`` asks vLLM for the
        prompt and completion token ids; ``extra_body`` is merged into every request body (server
        extensions).
        """
        if top_logprobs is not None and not logprobs:
            raise ValueError("top_logprobs needs logprobs=True")
        self.top_p = top_p
        self.logprobs = logprobs
        self.top_logprobs = top_logprobs
        self.return_token_ids = return_token_ids
        self.extra_body = dict(extra_body or {})
        self._extras: dict[str, Any] = {}
        super().__init__(model, **settings)

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

    def config(self) -> dict[str, Any]:
        """Request parameters for run metadata (never the API key), with the rollout settings that are set."""
        extra: dict[str, Any] = {"top_p": self.top_p, "top_logprobs": self.top_logprobs}
        extra = {k: v for k, v in extra.items() if v is not None}
        if self.logprobs:
            extra["logprobs"] = True
        if self.return_token_ids:
            extra["return_token_ids"] = True
        if self.extra_body:
            extra["extra_body"] = self.extra_body
        return {**super().config(), **extra}

    def _system_prompt(self) -> str:
        return SYSTEM_PROMPT if self.native_tools else text_protocol_prompt(self.tools)

    def _conversation(self) -> list[dict[str, Any]]:
        return self.messages

    def _assistant_parts(self, message: dict[str, Any]) -> tuple[str | None, str | None]:
        # Reasoning servers name it differently: DeepSeek and vLLM ``reasoning_content``, others ``reasoning``.
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        return message.get("content") or None, reasoning if isinstance(reasoning, str) else None

    def _start(self, prompt: str) -> None:
        self.messages = [{"role": "system", "content": self._system_prompt()}, {"role": "user", "content": prompt}]
        self._extras = {}

    def _sampling(self) -> dict[str, Any]:
        """The request's optional parameters beyond :attr:`params`: top_p, logprobs and the extra body."""
        out: dict[str, Any] = {}
        if self.top_p is not None:
            out["top_p"] = self.top_p
        if self.logprobs:
            out["logprobs"] = True
            if self.top_logprobs is not None:
                out["top_logprobs"] = self.top_logprobs
        body = dict(self.extra_body)
        if self.return_token_ids:
            body["return_token_ids"] = True
        if body:
            out["extra_body"] = body
        return out

    def _turn_extras(self) -> dict[str, Any]:
        extras, self._extras = self._extras, {}
        return extras

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
                model=self.model, messages=self.messages, **tools, **self.params, **self._sampling()
            )
        except errors.APIError as exc:
            raise translate_api_error(errors, exc) from exc
        choice = response.choices[0]
        message = choice.message
        self.messages.append(message.model_dump(exclude_none=True))
        self._extras = self._token_columns(response, choice)
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

    def _token_columns(self, response: Any, choice: Any) -> dict[str, Any]:
        """The step columns of the token data the server returned (none when it returned none)."""
        out: dict[str, Any] = {}
        prompt_ids = getattr(response, "prompt_token_ids", None)  # vLLM, with return_token_ids
        completion_ids = getattr(choice, "token_ids", None)
        if isinstance(prompt_ids, list):
            out["prompt_token_ids"] = [int(t) for t in prompt_ids]
        if isinstance(completion_ids, list):
            out["completion_token_ids"] = [int(t) for t in completion_ids]
        content = getattr(getattr(choice, "logprobs", None), "content", None)
        if content:
            out["completion_logprobs"] = [float(t.logprob) for t in content]
            if self.top_logprobs:
                out["logprobs_json"] = json.dumps(
                    [
                        {
                            "token": t.token,
                            "logprob": t.logprob,
                            "top_logprobs": [{"token": a.token, "logprob": a.logprob} for a in t.top_logprobs or []],
                        }
                        for t in content
                    ],
                    ensure_ascii=False,
                )
        return out
