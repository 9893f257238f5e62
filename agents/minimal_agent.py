"""A minimal agent: look around, then submit. Run: python agents/minimal_agent.py [TASK_ID]."""

from __future__ import annotations

import sys
from typing import Any

from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.runs.runner import EpisodeSpec, run_episode
from asibench_env.tasks.registry import builtin_registry


class LookThenSubmit:
    """Lists the workspace, reads the prompt, then submits (it solves nothing: expect a low score)."""

    name = "look-then-submit"

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self.plan = [
            {"tool": "list_files", "arguments": {"path": "data"}},
            {"tool": "read_file", "arguments": {"path": "task_info.json"}},
            {"tool": "submit", "arguments": {}},
        ]

    def act(self, observation: str, info: dict[str, Any]) -> dict[str, Any]:
        return self.plan.pop(0)

    def end(self, reward: float, info: dict[str, Any]) -> None:
        print(f"episode over: reward {reward:.3f}, status {info['status']}, steps {info['steps']}")


def main() -> None:
    task_id = sys.argv[1] if len(sys.argv) > 1 else builtin_registry().ids()[0]
    env = AsiBenchEnv(task_id, level="B3")
    result = run_episode(env, LookThenSubmit(), EpisodeSpec(task_id=task_id, level="B3", seed=0))
    print(result.model_dump_json(indent=2, include={"task_id", "instance_id", "final_score", "status"}))


if __name__ == "__main__":
    main()
