"""An exported episode's conversation, tools and prompt split, from the trajectory rows (schema 3)."""

from __future__ import annotations

import json

from asibench_env.integrations.exports.models import ChatMessage
from asibench_env.integrations.exports.report import SKIP_NO_CONVERSATION, SKIP_NO_TURN, ExportReport
from asibench_env.integrations.exports.source import RunEpisode
from asibench_env.trajectories import chat_messages, chat_tools
from asibench_env.trajectories.conversation import ConversationError


def conversation(episode: RunEpisode, report: ExportReport, *, reasoning: bool = False) -> list[ChatMessage] | None:
    """The episode as OpenAI chat messages, or None (counted) when its rows cannot rebuild it (schema < 3)
    or it has no assistant turn (an agent that failed before its first action)."""
    try:
        messages = chat_messages(episode.row, episode.steps, reasoning=reasoning)
    except ConversationError:
        report.skip(SKIP_NO_CONVERSATION)
        return None
    if not any(m["role"] == "user" for m in messages) or messages[-1]["role"] != "assistant":
        report.skip(SKIP_NO_TURN)
        return None
    return [ChatMessage.model_validate(m) for m in messages]


def tools_json(episode: RunEpisode) -> str:
    """The episode's tools as OpenAI function specs, in one JSON string."""
    return json.dumps(chat_tools(episode.row), ensure_ascii=False)


def split_prompt(messages: list[ChatMessage]) -> tuple[list[ChatMessage], list[ChatMessage]]:
    """The prompt (the system messages and the task prompt, the first user message) and the rest."""
    first_user = next(i for i, m in enumerate(messages) if m.role == "user")
    return messages[: first_user + 1], messages[first_user + 1 :]
