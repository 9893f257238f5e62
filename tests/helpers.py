"""Small shared pieces of the tests: the demo task's solver, the environment for CLI subprocesses, a Ray cluster."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from asibench_env.paths import runtimes_dir

CLI = [sys.executable, "-m", "asibench_env"]

DEMO_SOLVE = (
    "import numpy as np, pathlib\n"
    "x, y = np.load('data/x.npy'), np.load('data/y.npy')\n"
    "np.save('coef.npy', np.array(np.polyfit(x, y, 1), dtype=np.float64))\n"
    "pathlib.Path('results').mkdir(exist_ok=True)\n"
    "pathlib.Path('results/fit.py').write_text('np.polyfit')\n"
)
"""A correct solution of the demo task (tests/fixtures/tasks/demo/line_fit), as a Python cell."""


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a CLI subprocess: a private cache, the shared task runtimes, a wide terminal."""
    env = {
        **os.environ,
        "ASIBENCH_ENV_CACHE": str(tmp_path / "cache"),
        "ASIBENCH_ENV_RUNTIMES": str(runtimes_dir()),  # keep the slow-to-build runtimes shared
        "COLUMNS": "200",
    }
    env.pop("OPENAI_API_KEY", None)
    env.pop("ANTHROPIC_API_KEY", None)
    return {**env, **extra}


TESTS_DIR = Path(__file__).parent


@contextmanager
def local_ray_cluster(**node_env: str) -> Iterator[Any]:
    """A real Ray cluster on this machine: a head (no CPUs: it schedules nothing) and two 1-CPU worker nodes.

    The nodes inherit this process's environment plus ``node_env``, and this folder on PYTHONPATH so
    their workers import the test agents; everything is shut down (and the environment restored) at exit.
    """
    from ray.cluster_utils import Cluster

    saved = {name: os.environ.get(name) for name in ("PYTHONPATH", *node_env)}
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS_DIR), saved["PYTHONPATH"]) if p)
    os.environ.update(node_env)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
