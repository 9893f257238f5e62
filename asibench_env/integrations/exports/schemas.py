"""The Arrow schemas of the exported files: fixed types, so every file of a kind has the same columns."""

from __future__ import annotations

import pyarrow as pa

TOOL_CALL = pa.struct(
    [
        ("id", pa.string()),
        ("type", pa.string()),
        ("function", pa.struct([("name", pa.string()), ("arguments", pa.string())])),
    ]
)
MESSAGE = pa.struct(
    [
        ("role", pa.string()),
        ("content", pa.string()),
        ("tool_calls", pa.list_(TOOL_CALL)),
        ("tool_call_id", pa.string()),
        ("reasoning_content", pa.string()),
    ]
)
MESSAGES = pa.list_(MESSAGE)
PROMPT = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
"""A prompt: system and user messages only, so no null tool fields reach a trainer's chat template."""

_IDENTITY = [
    ("run_id", pa.string()),
    ("episode_id", pa.string()),
    ("task_id", pa.string()),
    ("instance_id", pa.string()),
    ("prompt_level", pa.string()),
    ("seed", pa.int64()),
    ("agent", pa.string()),
    ("model", pa.string()),
]

SFT = pa.schema([*_IDENTITY, ("messages", MESSAGES), ("tools", pa.string()), ("final_score", pa.float64())])

DPO = pa.schema(
    [
        ("task_id", pa.string()),
        ("instance_id", pa.string()),
        ("prompt_level", pa.string()),
        ("seed", pa.int64()),
        ("prompt", PROMPT),
        ("chosen", MESSAGES),
        ("rejected", MESSAGES),
        ("tools", pa.string()),
        ("dimension", pa.string()),
        ("score_chosen", pa.float64()),
        ("score_rejected", pa.float64()),
        ("chosen_episode_id", pa.string()),
        ("rejected_episode_id", pa.string()),
        ("chosen_run_id", pa.string()),
        ("rejected_run_id", pa.string()),
    ]
)

KTO = pa.schema(
    [
        *_IDENTITY,
        ("prompt", PROMPT),
        ("completion", MESSAGES),
        ("tools", pa.string()),
        ("label", pa.bool_()),
        ("final_score", pa.float64()),
    ]
)

INSTANCE_INFO = pa.struct(
    [
        ("task_id", pa.string()),
        ("task_version", pa.string()),
        ("level", pa.string()),
        ("seed", pa.int64()),
        ("param_mode", pa.string()),
        ("params_json", pa.string()),
        ("instance_id", pa.string()),
        ("source", pa.string()),
        ("index", pa.int64()),
    ]
)

VERL = pa.schema(
    [
        ("data_source", pa.string()),
        ("prompt", PROMPT),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
        ("extra_info", INSTANCE_INFO),
        ("agent_name", pa.string()),
    ]
)

SKYRL = pa.schema(
    [
        ("data_source", pa.string()),
        ("prompt", PROMPT),
        ("env_class", pa.string()),
        ("reward_spec", pa.struct([("method", pa.string()), ("ground_truth", pa.string())])),
        ("extra_info", INSTANCE_INFO),
    ]
)
