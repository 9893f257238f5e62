"""The oracle agent: runs a task's reference solver through the ordinary tools.

It reads ``solution/solve.py`` from the task directory on the host (privileged knowledge, which is
what makes it an oracle), writes it into the workspace with ``write_file``, runs it with ``bash``
and submits. It uses the same tool path as any model, so it also tests the sandbox end to end.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Self

from asibench_env.agents.settings import AgentSettings
from asibench_env.tasks.registry import TaskRegistry, builtin_registry

SOLVER_PATH = ".oracle/solve.py"


class OracleAgent:
    """Runs the task's reference solution, then submits."""

    name = "oracle"

    def __init__(self, registry: TaskRegistry | None = None, solve_timeout_s: float = 600.0):
        self.registry = registry or builtin_registry()
        self.solve_timeout_s = solve_timeout_s
        self._plan: deque[dict[str, Any]] = deque()

    @classmethod
    def from_settings(cls, settings: AgentSettings, *, registry: TaskRegistry | None = None) -> Self:
        """The oracle for the tasks of ``registry``; model settings are ignored.

        Raises :class:`~asibench_env.agents.settings.AgentSettingsError` for any agent option.
        """
        settings.refuse_options()
        return cls(registry=registry)

    def solve_actions(self, task_id: str) -> list[dict[str, Any]]:
        """The actions that write and run the task's reference solver, without the final submit.

        Raises :class:`FileNotFoundError` when the task has no ``solution/solve.py`` and
        :class:`~asibench_env.tasks.registry.UnknownTaskError` for an unknown task.
        """
        task = self.registry.get(task_id)
        if not task.solution_path.is_file():
            raise FileNotFoundError(
                f"task {task.id} has no reference solver at {task.solution_path}; the oracle needs one"
            )
        source = task.solution_path.read_text(encoding="utf-8")
        return [
            {"tool": "write_file", "arguments": {"path": SOLVER_PATH, "content": source}},
            {"tool": "bash", "arguments": {"command": f"python3 {SOLVER_PATH}", "timeout": self.solve_timeout_s}},
        ]

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        """Plan the solver's actions for the episode's task, then a submit."""
        self._plan = deque([*self.solve_actions(info["task_id"]), {"tool": "submit", "arguments": {}}])

    def act(self, observation: str, info: dict[str, Any]) -> dict[str, Any]:
        """The next planned action (submit once the plan is used up)."""
        if not self._plan:
            return {"tool": "submit", "arguments": {}}
        return self._plan.popleft()

    def end(self, reward: float, info: dict[str, Any]) -> None:
        """Drop what is left of the plan."""
        self._plan.clear()
