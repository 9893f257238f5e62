"""The ``submit`` tool: ends the episode; the outputs are collected and scored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from asibench_env.envs.tools.base import Tool, ToolContext

SUBMITTED = "Submitted. Your outputs were collected and scored."


class SubmitArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubmitTool(Tool[SubmitArgs]):
    """Ends the episode (``ends_episode``): the environment scores the outputs after it runs."""

    name = "submit"
    args_model = SubmitArgs
    description = "Finish the task. Your output files are collected and scored; no further actions are possible."
    ends_episode = True

    def run(self, context: ToolContext, args: SubmitArgs) -> str:
        return SUBMITTED

    async def run_async(self, context: ToolContext, args: SubmitArgs) -> str:
        return SUBMITTED
