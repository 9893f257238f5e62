"""The ``list_files`` tool: a recursive listing of a workspace folder."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from asibench_env.envs.tools.base import Tool, ToolContext


class ListFilesArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(default=".", description="Folder relative to the workspace root.")


class ListFilesTool(Tool[ListFilesArgs]):
    """Lists a workspace folder recursively (at most 200 entries)."""

    name = "list_files"
    args_model = ListFilesArgs
    description = "List files under a workspace folder, recursively."

    def run(self, context: ToolContext, args: ListFilesArgs) -> str:
        return context.listing(args.path)

    async def run_async(self, context: ToolContext, args: ListFilesArgs) -> str:
        return await context.listing_async(args.path)
