"""The ``python`` tool: a cell in the sandbox's persistent interpreter."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from asibench_env.envs.tools._format import format_exec
from asibench_env.envs.tools.base import Tool, ToolContext
from asibench_env.sandbox.base import ExecResult


class PythonArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="Python code to run in the persistent interpreter.")


class PythonTool(Tool[PythonArgs]):
    """Runs code in the persistent interpreter; adds ``exit_code``, ``timed_out``, ``duration_s`` to info."""

    name = "python"
    args_model = PythonArgs
    description = (
        "Run Python code in a persistent interpreter inside the sandbox, like a notebook cell: imports and "
        "variables persist between calls. Returns what the code printed, or the traceback."
    )

    def run(self, context: ToolContext, args: PythonArgs) -> str:
        result = context.sandbox.run_python(args.code, timeout=context.timeout())
        return self._observation(context, result)

    async def run_async(self, context: ToolContext, args: PythonArgs) -> str:
        result = await context.sandbox.run_python_async(args.code, timeout=context.timeout())
        return self._observation(context, result)

    @staticmethod
    def _observation(context: ToolContext, result: ExecResult) -> str:
        context.info.update(exit_code=result.exit_code, timed_out=result.timed_out, duration_s=result.duration_s)
        return format_exec(result, "python")
