"""What a tool is: a name, an argument model, a description, and how it runs against the sandbox."""

from __future__ import annotations

import abc
import asyncio
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from asibench_env.envs.tools._format import format_listing, format_listing_async
from asibench_env.sandbox.base import Sandbox, SandboxPathError

ArgsT = TypeVar("ArgsT", bound=BaseModel)


@dataclass(frozen=True)
class ToolContext:
    """What a tool sees while it runs: the episode's sandbox, its time left, and the step's ``info``."""

    sandbox: Sandbox
    default_timeout_s: float
    """The sandbox limits' default timeout of one command."""
    remaining_s: float
    """Seconds left of the episode's wall-time budget (at least 1)."""
    info: dict[str, Any]
    """The step's info dict; a tool may add keys (``exit_code``, ``timed_out``, ...)."""

    def timeout(self, requested: float | None = None) -> float:
        """The timeout of one command: ``requested`` (or the default), never beyond the time left."""
        return min(float(requested or self.default_timeout_s), self.remaining_s)

    def listing(self, path: str = ".") -> str:
        """A workspace folder listed as the ``list_files`` tool shows it (errors as ``[error] ...`` text)."""
        return format_listing(self.sandbox, path)

    async def listing_async(self, path: str = ".") -> str:
        """:meth:`listing` through the sandbox's async API."""
        return await format_listing_async(self.sandbox, path)


class Tool(abc.ABC, Generic[ArgsT]):
    """One tool the agent may call. Subclass it, set the class attributes, implement :meth:`run`.

    ``name`` is what the agent calls (letters, digits, ``_`` and ``-``, at most 64 characters: every
    model API accepts that); ``args_model`` is the pydantic model of the arguments (use
    ``ConfigDict(extra="forbid")`` so unknown arguments are refused, and ``Field(description=...)``: the
    descriptions reach the model); ``description`` tells the model what the tool does. A tool with
    ``ends_episode = True`` (like ``submit``) ends the episode after it runs: the outputs are scored and
    the step is ``terminated`` with end reason ``submit``.
    """

    name: str
    description: str
    args_model: type[ArgsT]
    ends_episode: bool = False

    @abc.abstractmethod
    def run(self, context: ToolContext, args: ArgsT) -> str:
        """Run the tool with validated arguments; return the observation text.

        May raise :class:`~asibench_env.sandbox.base.SandboxPathError`, ``OSError`` or ``ValueError``
        for the agent's mistakes (:func:`run_tool` turns them into ``[error] ...`` observations);
        :class:`~asibench_env.sandbox.base.SandboxError` is an infrastructure failure that ends the episode.
        """

    async def run_async(self, context: ToolContext, args: ArgsT) -> str:
        """:meth:`run` for ``AsiBenchEnv.step_async``: same result, same exceptions.

        The built-in tools override it with the sandbox's async methods (``context.sandbox.exec_async``
        and the like), so a waiting step holds no thread. The default runs :meth:`run` in a worker
        thread, so a tool that only has :meth:`run` works unchanged.
        """
        return await asyncio.to_thread(self.run, context, args)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'name', '?')!r}>"


def run_tool(tool: Tool[ArgsT], context: ToolContext, args: ArgsT) -> str:
    """Run ``tool``, turning the agent's path and file mistakes into ``[error] ...`` observations.

    Path errors, missing files and other ``OSError``/``ValueError`` are recorded as the step's
    ``info["action_error"]`` (except a folder given where a file was expected). Raises
    :class:`~asibench_env.sandbox.base.SandboxError` (an infrastructure failure) unchanged.
    """
    try:
        return tool.run(context, args)
    except (OSError, ValueError) as exc:
        return tool_error(exc, context, args)


async def run_tool_async(tool: Tool[ArgsT], context: ToolContext, args: ArgsT) -> str:
    """:func:`run_tool` through :meth:`Tool.run_async` (same observations, same exceptions)."""
    try:
        return await tool.run_async(context, args)
    except (OSError, ValueError) as exc:
        return tool_error(exc, context, args)


def tool_error(exc: OSError | ValueError, context: ToolContext, args: BaseModel) -> str:
    """The ``[error] ...`` observation of an agent's mistake (recorded in ``info["action_error"]``)."""
    path = getattr(args, "path", None) if "path" in type(args).model_fields else None
    if isinstance(exc, IsADirectoryError):
        return f"[error] {path} is a folder; use list_files to see what it holds"
    context.info["action_error"] = str(exc)
    if isinstance(exc, FileNotFoundError) and not isinstance(exc, SandboxPathError):
        return f"[error] no such file or folder: {path}"
    return f"[error] {exc}"
