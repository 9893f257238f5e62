"""An agent for the Ray tests: the oracle, except that one chosen episode first parks on its node.

Ray workers import this module by name (the tests put this folder on the cluster's PYTHONPATH), so the
agent factory pickles by reference.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from asibench_env.agents.oracle import OracleAgent
from asibench_env.tasks.registry import TaskRegistry


class ParkingOracle(OracleAgent):
    """The oracle; on the first attempt of ``instance_id`` it records its Ray node and sleeps ``park_s``.

    Later attempts (after its node was killed) record where they ran and solve at once.
    """

    def __init__(self, registry: TaskRegistry, marker_dir: str, instance_id: str, park_s: float = 300.0):
        super().__init__(registry=registry)
        self.marker_dir = Path(marker_dir)
        self.instance_id = instance_id
        self.park_s = park_s

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        """Plan the oracle's actions; park first if this is the chosen episode's first attempt."""
        super().reset(observation, info)
        if info.get("instance_id") != self.instance_id:
            return
        import ray

        node = ray.get_runtime_context().get_node_id()
        parked = self.marker_dir / "parked.json"
        if not parked.exists():
            _write(parked, {"node": node})
            time.sleep(self.park_s)
        else:
            _write(self.marker_dir / "rerun.json", {"node": node})


def _write(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)
