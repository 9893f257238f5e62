"""Small shared pieces of the tests: the demo task's solver and the environment for CLI subprocesses."""

from __future__ import annotations

import os
import sys
from pathlib import Path

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
