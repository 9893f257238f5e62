"""The ``write_file`` tool: create or overwrite a workspace file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from asibench_env.envs.tools.base import Tool, ToolContext


class WriteFileArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="File path relative to the workspace root; parent folders are created.")
    content: str = Field(description="The complete new text of the file.")


class WriteFileTool(Tool[WriteFileArgs]):
    """Writes a file of the workspace, creating its parent folders."""

    name = "write_file"
    args_model = WriteFileArgs
    description = "Create or overwrite a file in the workspace with the given content."

    def run(self, context: ToolContext, args: WriteFileArgs) -> str:
        written = context.sandbox.write_file(args.path, args.content)
        return f"Wrote {written} bytes to {args.path}."

    async def run_async(self, context: ToolContext, args: WriteFileArgs) -> str:
        written = await context.sandbox.write_file_async(args.path, args.content)
        return f"Wrote {written} bytes to {args.path}."
