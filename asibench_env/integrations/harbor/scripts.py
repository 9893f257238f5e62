"""The fixed texts of an exported folder: the environment's Dockerfile, ``tests/test.sh``, ``solution/solve.sh``."""

from __future__ import annotations

from asibench_env.integrations.harbor.config import AGENT_UID

SOLVER_PATH = ".oracle/solve.py"
"""Where the solver runs from in the workspace: the same place as the oracle agent's."""

TEST_SH = f"""#!/bin/bash
# Harbor verifier of an asibench-env task: scores the agent's /workspace with asibench-env's scoring
# engine (tests/lib, tests/verify.py) against tests/reference, and writes /logs/verifier/reward.json:
# "reward" = final score / 100, "scorer.<name>" = each scorer's score / its maximum.
set -euo pipefail
PYTHON=/opt/runtime/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
mkdir -p /logs/verifier
exec "$PYTHON" -I -B "$(dirname "$0")/verify.py" --workspace /workspace --logs /logs/verifier --agent-uid {AGENT_UID}
"""

SOLVE_SH = f"""#!/bin/bash
# The reference solution of an asibench-env task: runs the task's solver (solution/solve.py) in the
# workspace, as asibench-env's oracle agent does.
set -euo pipefail
cd /workspace
mkdir -p "$(dirname {SOLVER_PATH})"
cp "$(dirname "$0")/solve.py" {SOLVER_PATH}
exec python3 {SOLVER_PATH}
"""


def dockerfile(image: str, task_id: str, level: str, seed: int) -> str:
    """The environment: the sandbox image with the instance's starting workspace, owned by the agent's user."""
    return f"""# asibench-env task {task_id}, level {level}, seed {seed}: the sandbox image (Python and the task
# runtime, no network) with the instance's starting workspace. Ground truth, scorer and solver are not
# here: Harbor copies tests/ in after the agent has finished.
FROM {image}
USER root
COPY workspace/ /workspace/
RUN chown -R 1000:1000 /workspace
USER 1000:1000
WORKDIR /workspace
"""
