"""The trajectory tables: one row per step, per episode and per rollout group, with versioned pyarrow schemas.

Version 2 added the token columns of the steps table, the group columns of the episodes table and the
groups table. Version 3 added what rebuilds a conversation exactly: the episode's prompt, system prompt
and tools (episodes), and per model turn its id, the request's new messages and the assistant's reply
(steps). Files of an older version read with these schemas give the new columns as null.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "3"
PARTITION_COLUMNS = ("task_id", "prompt_level")

_META = {b"asibench_env.schema_version": SCHEMA_VERSION.encode()}

STEPS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("episode_id", pa.string(), nullable=False),
        pa.field("task_id", pa.string(), nullable=False),
        pa.field("instance_id", pa.string(), nullable=False),
        pa.field("prompt_level", pa.string(), nullable=False),
        pa.field("seed", pa.int64()),
        pa.field("step_index", pa.int32(), nullable=False),
        pa.field("action_raw", pa.string()),
        pa.field("tool", pa.string()),
        pa.field("arguments_json", pa.string()),
        pa.field("action_error", pa.string()),
        pa.field("observation", pa.string()),
        pa.field("observation_chars", pa.int64()),
        pa.field("observation_truncated", pa.bool_()),
        pa.field("exit_code", pa.int32()),
        pa.field("timed_out", pa.bool_()),
        pa.field("tool_duration_s", pa.float64()),
        pa.field("reward", pa.float64(), nullable=False),
        pa.field("terminated", pa.bool_(), nullable=False),
        pa.field("truncated", pa.bool_(), nullable=False),
        pa.field("started_at", pa.timestamp("us", tz="UTC")),
        pa.field("ended_at", pa.timestamp("us", tz="UTC")),
        pa.field("model", pa.string()),
        pa.field("model_messages_json", pa.string()),
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("cached_tokens", pa.int64()),
        pa.field("cost_usd", pa.float64()),
        pa.field("logprobs_json", pa.string()),
        pa.field("prompt_token_ids", pa.list_(pa.int32())),
        pa.field("completion_token_ids", pa.list_(pa.int32())),
        pa.field("completion_logprobs", pa.list_(pa.float32())),
        pa.field("turn_id", pa.int32()),
        pa.field("tool_call_id", pa.string()),
        pa.field("finish_reason", pa.string()),
        pa.field("request_messages_json", pa.string()),
        pa.field("request_full", pa.bool_()),
        pa.field("assistant_message_json", pa.string()),
        pa.field("assistant_text", pa.string()),
        pa.field("reasoning", pa.string()),
    ],
    metadata=_META,
)

EPISODES_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("episode_id", pa.string(), nullable=False),
        pa.field("task_id", pa.string(), nullable=False),
        pa.field("task_version", pa.string()),
        pa.field("instance_id", pa.string(), nullable=False),
        pa.field("prompt_level", pa.string(), nullable=False),
        pa.field("seed", pa.int64()),
        pa.field("parameters_json", pa.string()),
        pa.field("agent", pa.string()),
        pa.field("model", pa.string()),
        pa.field("agent_config_json", pa.string()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("end_reason", pa.string()),
        pa.field("final_score", pa.float64()),
        pa.field("max_possible_score", pa.float64()),
        pa.field("hard_gates_passed", pa.bool_()),
        pa.field("soft_gate_failures", pa.int32()),
        pa.field("gate_results_json", pa.string()),
        pa.field("score_results_json", pa.string()),
        pa.field("score_error", pa.string()),
        pa.field("error", pa.string()),
        pa.field("steps", pa.int32()),
        pa.field("wall_time_s", pa.float64()),
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("cost_usd", pa.float64()),
        pa.field("sandbox_backend", pa.string()),
        pa.field("sandbox_isolation", pa.string()),
        pa.field("package_version", pa.string()),
        pa.field(
            "artifacts",
            pa.list_(pa.struct([("path", pa.string()), ("size", pa.int64()), ("sha256", pa.string())])),
        ),
        pa.field("finished_at", pa.timestamp("us", tz="UTC")),
        pa.field("judge_calls", pa.int64()),
        pa.field("judge_input_tokens", pa.int64()),
        pa.field("judge_output_tokens", pa.int64()),
        pa.field("judge_cost_usd", pa.float64()),
        pa.field("group_id", pa.string()),
        pa.field("rollout_index", pa.int32()),
        pa.field("group_size", pa.int32()),
        pa.field("reward", pa.float64()),
        pa.field("group_complete", pa.bool_()),
        pa.field("group_scored", pa.int32()),
        pa.field("group_mean", pa.float64()),
        pa.field("group_std", pa.float64()),
        pa.field("advantage", pa.float64()),
        pa.field("advantage_centered", pa.float64()),
        pa.field("prompt", pa.string()),
        pa.field("system_prompt", pa.string()),
        pa.field("tools_json", pa.string()),
        pa.field("tool_format", pa.string()),
        pa.field("message_format", pa.string()),
    ],
    metadata=_META,
)

GROUPS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("group_id", pa.string(), nullable=False),
        pa.field("task_id", pa.string(), nullable=False),
        pa.field("prompt_level", pa.string(), nullable=False),
        pa.field("seed", pa.int64()),
        pa.field("instance_id", pa.string()),
        pa.field("group_size", pa.int32(), nullable=False),
        pa.field("completed", pa.int32(), nullable=False),
        pa.field("infra_errors", pa.int32(), nullable=False),
        pa.field("complete", pa.bool_(), nullable=False),
        pa.field("mean", pa.float64()),
        pa.field("std", pa.float64()),
        pa.field("eps", pa.float64()),
        pa.field("rewards", pa.list_(pa.float64())),
        pa.field("episode_ids", pa.list_(pa.string())),
        pa.field("reason", pa.string()),
        pa.field("updated_at", pa.timestamp("us", tz="UTC")),
    ],
    metadata=_META,
)

TABLES = {"steps": STEPS_SCHEMA, "episodes": EPISODES_SCHEMA, "groups": GROUPS_SCHEMA}
