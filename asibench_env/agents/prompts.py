"""What the model agents tell the model: the system prompt, the text-only tool protocol, the trim note.

The system prompt and the text protocol live in :mod:`asibench_env.envs.protocol` (trainer
integrations use them too); they are re-exported here.
"""

from __future__ import annotations

from asibench_env.envs.protocol import SYSTEM_PROMPT, text_protocol_prompt

__all__ = ["SUBMIT", "SYSTEM_PROMPT", "TRIM_NOTE", "text_protocol_prompt"]

SUBMIT = {"tool": "submit", "arguments": {}}

TRIM_NOTE = "[older tool output shortened to save context: {chars} characters removed]"
