"""The ``bash`` tool: a command in the sandbox's persistent shell."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from asibench_env.envs.tools._format import format_exec
from asibench_env.envs.tools.base import Tool, ToolContext
from asibench_env.sandbox.base import ExecResult


class BashArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: str = Field(description="The bash command to run in the persistent shell.")
    timeout: float | None = Field(default=None, gt=0, description="Seconds before the command is killed.")


class BashTool(Tool[BashArgs]):
    """Runs a command in the persistent shell; adds ``exit_code``, ``timed_out``, ``duration_s`` to info."""

    name = "bash"
    args_model = BashArgs
    description = (
        "Run a bash command in a persistent shell inside the sandbox. The working directory and exported "
        "variables persist between calls. Returns combined stdout and stderr and the exit code."
    )

    def run(self, context: ToolContext, args: BashArgs) -> str:
        result = context.sandbox.exec(args.command, timeout=context.timeout(args.timeout))
        return self._observation(context, result)

    async def run_async(self, context: ToolContext, args: BashArgs) -> str:
        result = await context.sandbox.exec_async(args.command, timeout=context.timeout(args.timeout))
        return self._observation(context, result)

    @staticmethod
    def _observation(context: ToolContext, result: ExecResult) -> str:
        context.info.update(exit_code=result.exit_code, timed_out=result.timed_out, duration_s=result.duration_s)
        return format_exec(result, "shell")
