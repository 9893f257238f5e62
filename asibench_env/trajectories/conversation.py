"""Rebuild an episode's conversation from its trajectory rows (schema 3).

Two views:

- :func:`agent_messages`: exactly what the agent's last model request sent, plus the model's last reply,
  in the agent's own wire format (``message_format``: ``openai_chat``, ``anthropic_messages``,
  ``openai_responses``). Each model turn logged the messages its request added (``request_messages_json``;
  the whole request when ``request_full``, after the agent shortened older messages) and its reply
  (``assistant_message_json``), on the first step of the turn.
- :func:`chat_messages`: the episode as an OpenAI chat conversation (system, user prompt, assistant
  turns with ``tool_calls``, ``tool`` results), whatever the agent spoke, for SFT data; for agents that
  logged no model turns (the oracle, scripted agents) it is built from the steps' actions and observations.

:func:`chat_tools` gives the episode's tools in the OpenAI function format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

Row = Mapping[str, Any]


class ConversationError(ValueError):
    """The rows do not hold a conversation that can be rebuilt (say which episode and why)."""


def _ordered(steps: Sequence[Row]) -> list[Row]:
    return sorted(steps, key=lambda s: s["step_index"])


def model_turns(steps: Sequence[Row]) -> list[Row]:
    """The steps that carry a model turn's record (the first step of each turn), in order."""
    return [s for s in _ordered(steps) if s.get("assistant_message_json") is not None]


def agent_messages(steps: Sequence[Row]) -> list[Any]:
    """The last request's messages plus the last reply, in the agent's format; [] when no turn was logged.

    For ``openai_responses`` the items are the Responses API's input and output items.
    """
    messages: list[Any] = []
    for step in model_turns(steps):
        delta = json.loads(step["request_messages_json"] or "[]")
        messages = list(delta) if step.get("request_full") else messages + list(delta)
        reply = json.loads(step["assistant_message_json"])
        messages += reply if isinstance(reply, list) else [reply]
    return messages


def chat_messages(episode: Row, steps: Sequence[Row], *, reasoning: bool = False) -> list[dict[str, Any]]:
    """The episode as OpenAI chat messages, ending with the last assistant message.

    ``reasoning`` keeps the assistant's reasoning (as ``reasoning_content``) where the agent logged it.
    Raises :class:`ConversationError` for a message format this module does not know.
    """
    fmt = episode.get("message_format")
    if fmt is None or not model_turns(steps):
        return _from_steps(episode, steps)
    messages = agent_messages(steps)
    if fmt == "openai_chat":
        out = [_chat_message(m) for m in messages]
    elif fmt == "anthropic_messages":
        out = _from_anthropic(episode, messages)
    elif fmt == "openai_responses":
        out = _from_responses(episode, messages)
    else:
        raise ConversationError(f"episode {episode.get('episode_id')}: unknown message format {fmt!r}")
    if not reasoning:
        for message in out:
            message.pop("reasoning_content", None)
    return out


def chat_tools(episode: Row) -> list[dict[str, Any]]:
    """The episode's tools as OpenAI function specs (``{"type": "function", "function": {...}}``)."""
    tools = json.loads(episode.get("tools_json") or "[]")
    fmt = episode.get("tool_format")
    out = []
    for spec in tools:
        if fmt == "openai" or "function" in spec:
            out.append(spec)
            continue
        schema = spec.get("parameters", spec.get("input_schema", {"type": "object", "properties": {}}))
        function = {"name": spec["name"], "description": spec.get("description", ""), "parameters": schema}
        out.append({"type": "function", "function": function})
    return out


def _chat_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAI chat message reduced to the fields chat templates read."""
    role = message["role"]
    out: dict[str, Any] = {"role": role, "content": message.get("content")}
    if role == "assistant":
        calls = [
            {"id": c["id"], "type": "function", "function": dict(c["function"])}
            for c in message.get("tool_calls") or []
        ]
        if calls:
            out["tool_calls"] = calls
        thought = message.get("reasoning_content") or message.get("reasoning")
        if isinstance(thought, str) and thought:
            out["reasoning_content"] = thought
    if role == "tool":
        out["tool_call_id"] = message["tool_call_id"]
    return out


def _system(episode: Row) -> list[dict[str, Any]]:
    system = episode.get("system_prompt")
    return [{"role": "system", "content": system}] if system else []


def _from_anthropic(episode: Row, messages: list[Any]) -> list[dict[str, Any]]:
    out = _system(episode)
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            out.append({"role": message["role"], "content": content})
            continue
        if message["role"] == "assistant":
            text = "".join(b.get("text", "") for b in content if b["type"] == "text")
            thinking = "".join(b.get("thinking", "") for b in content if b["type"] == "thinking")
            assistant: dict[str, Any] = {"role": "assistant", "content": text or None}
            calls = [_call(b["id"], b["name"], b.get("input")) for b in content if b["type"] == "tool_use"]
            if calls:
                assistant["tool_calls"] = calls
            if thinking:
                assistant["reasoning_content"] = thinking
            out.append(assistant)
            continue
        for block in content:
            if block["type"] == "tool_result":
                out.append({"role": "tool", "tool_call_id": block["tool_use_id"], "content": _text(block["content"])})
            elif block["type"] == "text":
                out.append({"role": "user", "content": block["text"]})
    return out


def _from_responses(episode: Row, items: list[Any]) -> list[dict[str, Any]]:
    out = _system(episode)
    assistant: dict[str, Any] | None = None
    for item in items:
        kind = item.get("type", "message" if "role" in item else None)
        if kind in ("function_call", "reasoning") or (kind == "message" and item.get("role") == "assistant"):
            if assistant is None:
                assistant = {"role": "assistant", "content": None}
                out.append(assistant)
            if kind == "function_call":
                call = _call(item["call_id"], item["name"], item["arguments"])
                assistant.setdefault("tool_calls", []).append(call)
            elif kind == "reasoning":
                summary = "".join(p.get("text", "") for p in item.get("summary") or [])
                if summary:
                    assistant["reasoning_content"] = summary
            else:
                text = "".join(p.get("text", "") for p in item.get("content", []) if p.get("type") == "output_text")
                assistant["content"] = (assistant["content"] or "") + text
            continue
        assistant = None
        if kind == "function_call_output":
            out.append({"role": "tool", "tool_call_id": item["call_id"], "content": _text(item["output"])})
        else:
            out.append({"role": item["role"], "content": _text(item["content"])})
    return out


def _from_steps(episode: Row, steps: Sequence[Row]) -> list[dict[str, Any]]:
    """A conversation for an agent without logged model turns: one tool call per step."""
    if episode.get("prompt") is None:
        raise ConversationError(
            f"episode {episode.get('episode_id')}: no prompt recorded (a trajectory of schema version < 3, "
            "or an episode whose reset failed)"
        )
    out = [*_system(episode), {"role": "user", "content": episode["prompt"]}]
    ordered = _ordered(steps)
    for index, step in enumerate(ordered):
        if step.get("tool") is not None and step.get("action_error") is None:
            call_id = step.get("tool_call_id") or f"call_{step['step_index']}"
            out.append({"role": "assistant", "content": None, "tool_calls": [_call(call_id, step["tool"], None)]})
            out[-1]["tool_calls"][0]["function"]["arguments"] = step.get("arguments_json") or "{}"
            answer: dict[str, Any] = {"role": "tool", "tool_call_id": call_id, "content": step.get("observation")}
        else:
            out.append({"role": "assistant", "content": step.get("action_raw")})
            answer = {"role": "user", "content": step.get("observation")}
        if index < len(ordered) - 1:
            out.append(answer)
    return out


def _call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments if arguments is not None else {})
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)
