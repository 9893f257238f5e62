"""The row formats of the exports, as pydantic models (one per dataset kind) and their chat messages.

Messages follow the OpenAI chat format (``role``, ``content``, ``tool_calls`` with JSON-string
``arguments``, ``tool_call_id``; ``reasoning_content`` when asked for). ``tools`` columns hold the OpenAI
function specs as one JSON string: Arrow would merge the tools' different parameter objects into one
struct, giving every tool the others' properties as nulls, so a chat template would render wrong schemas.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class RowModel(BaseModel):
    """A row of an exported dataset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def record(self) -> dict[str, Any]:
        """The row as a plain dict, messages without their unset (None) fields."""
        return self.model_dump()


class FunctionCall(BaseModel):
    """The function a tool call names, with its arguments as a JSON string."""

    model_config = ConfigDict(extra="ignore")
    name: str
    arguments: str


class ToolCall(BaseModel):
    """One tool call of an assistant message."""

    model_config = ConfigDict(extra="ignore")
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(BaseModel):
    """An OpenAI chat message as chat templates read it."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None


def messages_record(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Messages as dicts without their None fields but ``content`` (null in the OpenAI format when unset)."""
    return [{"role": m.role, "content": m.content, **m.model_dump(exclude_none=True)} for m in messages]


class EpisodeIdentity(RowModel):
    """The columns that say where a row came from."""

    run_id: str
    episode_id: str
    task_id: str
    instance_id: str
    prompt_level: str
    seed: int | None
    agent: str | None
    model: str | None

    @classmethod
    def fields_of(cls, episode_row: dict[str, Any]) -> dict[str, Any]:
        """These columns taken from an episodes-table row."""
        return {name: episode_row[name] for name in EpisodeIdentity.model_fields}


class SftRow(EpisodeIdentity):
    """One successful episode: its whole conversation and its tools."""

    messages: list[ChatMessage]
    tools: str
    final_score: float

    def record(self) -> dict[str, Any]:
        """The row as a plain dict, messages without their None fields."""
        return {**self.model_dump(exclude={"messages"}), "messages": messages_record(self.messages)}


class DpoRow(RowModel):
    """A preference pair: the shared prompt, the chosen and rejected continuations, their scores and ids."""

    task_id: str
    instance_id: str
    prompt_level: str
    seed: int | None
    prompt: list[ChatMessage]
    chosen: list[ChatMessage]
    rejected: list[ChatMessage]
    tools: str
    dimension: str
    score_chosen: float
    score_rejected: float
    chosen_episode_id: str
    rejected_episode_id: str
    chosen_run_id: str
    rejected_run_id: str

    def record(self) -> dict[str, Any]:
        """The row as a plain dict, messages without their None fields."""
        out = self.model_dump(exclude={"prompt", "chosen", "rejected"})
        for name in ("prompt", "chosen", "rejected"):
            out[name] = messages_record(getattr(self, name))
        return out


class KtoRow(EpisodeIdentity):
    """One episode as an unpaired preference: prompt, completion, and whether its score reached the threshold."""

    prompt: list[ChatMessage]
    completion: list[ChatMessage]
    tools: str
    label: bool
    final_score: float

    def record(self) -> dict[str, Any]:
        """The row as a plain dict, messages without their None fields."""
        out = self.model_dump(exclude={"prompt", "completion"})
        out["prompt"], out["completion"] = messages_record(self.prompt), messages_record(self.completion)
        return out


class InstanceInfo(BaseModel):
    """What an env needs to rebuild an instance (task, level, seed, parameters); never the reference.

    The field names are those the SkyRL env (``integrations.skyrl_rows.SkyRLInstance``) reads.
    ``params_json`` is the generator parameters as JSON text (one column type for every task), None
    for a downloaded instance (``source = "instances"``; ``instance_id`` names it and ``seed`` is None).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    task_id: str
    task_version: str
    level: str
    seed: int | None
    param_mode: str
    params_json: str | None
    instance_id: str
    source: Literal["generator", "instances"]
    index: int


class VerlRewardModel(BaseModel):
    """verl's ``reward_model``: ``style`` and the ``ground_truth`` key its reward managers read (always null)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    style: str = "rule"
    ground_truth: str | None = None


class VerlRow(RowModel):
    """A verl prompt row: the reward comes from the env's score, never from a reference in the row."""

    data_source: str
    prompt: list[ChatMessage]
    ability: str
    reward_model: VerlRewardModel
    extra_info: InstanceInfo
    agent_name: str

    def record(self) -> dict[str, Any]:
        """The row as a plain dict, messages without their None fields."""
        return {**self.model_dump(exclude={"prompt"}), "prompt": messages_record(self.prompt)}


class SkyrlRewardSpec(BaseModel):
    """SkyRL's ``reward_spec``: the env computes the reward; ``ground_truth`` is there (envs check it), null."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    method: str = "rule"
    ground_truth: str | None = None


class SkyrlRow(RowModel):
    """A SkyRL-gym prompt row for the ``asibench`` env class."""

    data_source: str
    prompt: list[ChatMessage]
    env_class: str
    reward_spec: SkyrlRewardSpec
    extra_info: InstanceInfo

    def record(self) -> dict[str, Any]:
        """The row as a plain dict, messages without their None fields."""
        return {**self.model_dump(exclude={"prompt"}), "prompt": messages_record(self.prompt)}
