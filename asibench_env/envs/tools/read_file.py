"""The ``read_file`` tool: a workspace text file, cut at 256 KiB; binary files are only described."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from asibench_env.envs.tools.base import Tool, ToolContext

READ_FILE_MAX_BYTES = 256 * 1024


class ReadFileArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="File path relative to the workspace root.")


def decode_file(path: str, data: bytes) -> str:
    """The observation of a file's first bytes: its text (with a truncation note), or a binary-file note."""
    if b"\x00" in data[:8192]:
        return f"[{path} is a binary file of at least {len(data)} bytes; inspect it with the python tool]"
    text = data.decode("utf-8", errors="replace")
    if len(data) >= READ_FILE_MAX_BYTES:
        text += f"\n[file truncated at {READ_FILE_MAX_BYTES} bytes; use bash or python to read the rest]"
    return text


class ReadFileTool(Tool[ReadFileArgs]):
    """Reads a text file of the workspace (missing files, folders and bad paths are ``[error]`` text)."""

    name = "read_file"
    args_model = ReadFileArgs
    description = "Read a text file from the workspace."

    def run(self, context: ToolContext, args: ReadFileArgs) -> str:
        return decode_file(args.path, context.sandbox.read_file(args.path, max_bytes=READ_FILE_MAX_BYTES))

    async def run_async(self, context: ToolContext, args: ReadFileArgs) -> str:
        data = await context.sandbox.read_file_async(args.path, max_bytes=READ_FILE_MAX_BYTES)
        return decode_file(args.path, data)
