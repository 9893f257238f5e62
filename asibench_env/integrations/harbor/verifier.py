"""The verifier of an exported Harbor task: scores the agent's workspace inside the task's container.

The export copies this file to ``tests/verify.py`` beside the scoring bundle (``tests/lib``: the
scoring modules of asibench-env and their pure dependencies) and the instance's reference; Harbor
copies ``tests/`` into the container only after the agent has finished. It collects the declared
outputs from the workspace with the sandbox's rules (regular files, no links, size caps), scores
them with the same engine as ``AsiBenchEnv`` and writes ``reward.json``: ``reward`` (the final score
/ 100) and each scorer's sub-score (its score / its maximum). Scoring that could not run (a missing
module, a host failure) writes no reward and exits 2, so Harbor records an error, never a 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # in the container: the bundle beside this file, nothing else of the package
    sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from asibench_env.rewards.engine import evaluate
from asibench_env.rewards.results import ScoreReport
from asibench_env.sandbox.fsops import collect_files

SCORING_FILE = "scoring.json"
REPORT_FILE = "score_report.json"
MAX_FILE_BYTES = 512 * 1024**2
MAX_TOTAL_BYTES = 2 * 1024**3
AGENT_UID = 1000
"""The sandbox image's ``agent`` user, which task.toml's ``[agent] user`` names."""
STOP_ROUNDS = 20


CONTAINER_SESSION = "1"
"""The session of the container's own command (PID 1): ``docker exec`` starts every other process,
the agent's included, in a session of its own, and a process cannot move into another session."""


def _agent_process(pid: str, uid: int) -> bool:
    """Whether ``pid`` is a live process of ``uid`` outside the container's own command."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    uids = next((line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")), [])
    state, session = fields[0], fields[3]
    return str(uid) in uids and state not in ("Z", "X") and session != CONTAINER_SESSION


def kill_agent_processes(uid: int = AGENT_UID) -> int:
    """Kill every process the agent's user left running, as our sandboxes do before collecting outputs.

    Nothing the agent started can then change its outputs, or read ``/tests``, while scoring runs.
    The container's own command (PID 1's session, e.g. Harbor's ``sh -c "sleep infinity"``, which
    runs as the same user) is left alone: it keeps the container up. Needs root (``[verifier]
    user``); as another user it does nothing. Returns how many processes were killed.
    """
    if os.geteuid() != 0:
        return 0
    killed = 0
    for _ in range(STOP_ROUNDS):  # a process forking while we kill is caught in a later round
        found = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid() and _agent_process(p, uid)]
        for pid in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        killed += len(found)
        if not found:
            break
    return killed


def rewards_of(report: ScoreReport) -> dict[str, float]:
    """``reward`` (final score / 100) and one ``scorer.<name>`` sub-score (0-1) per scorer, in order."""
    rewards: dict[str, float] = {"reward": report.final_score / 100.0}
    for result in report.score_results:
        key = f"scorer.{result.scorer_name}"
        number = 2
        while key in rewards:
            key, number = f"scorer.{result.scorer_name}.{number}", number + 1
        rewards[key] = result.score / result.max_score if result.max_score > 0 else 0.0
    rewards["gates_passed"] = 1.0 if report.gates_passed else 0.0
    return rewards


def score_workspace(scoring: dict[str, Any], workspace: Path, tests_dir: Path) -> tuple[ScoreReport, dict[str, Any]]:
    """Collect the declared outputs of ``workspace`` and score them against ``tests_dir/reference``."""
    with tempfile.TemporaryDirectory(prefix="asibench-outputs-") as pred:
        collected = collect_files(workspace, list(scoring["outputs"]), Path(pred), MAX_FILE_BYTES, MAX_TOTAL_BYTES)
        task_dir = tests_dir / "task"
        report = evaluate(
            scoring["evaluation"],
            Path(pred),
            tests_dir / "reference",
            dict(scoring["params"]),
            prompt_level=scoring["level"],
            task_dir=task_dir if task_dir.is_dir() else None,
        )
    outputs = {"missing": list(collected.missing), "refused": dict(collected.refused)}
    return report, outputs


def main(argv: list[str] | None = None) -> int:
    """Score the workspace; write ``reward.json`` and the full report into the verifier's log folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=Path("/workspace"))
    parser.add_argument("--logs", type=Path, default=Path("/logs/verifier"))
    parser.add_argument("--agent-uid", type=int, default=AGENT_UID)
    args = parser.parse_args(argv)
    killed = kill_agent_processes(args.agent_uid)
    if killed:
        print(f"killed {killed} process(es) the agent left running")
    tests_dir = Path(__file__).resolve().parent
    scoring = json.loads((tests_dir / SCORING_FILE).read_text(encoding="utf-8"))
    report, outputs = score_workspace(scoring, args.workspace, tests_dir)
    args.logs.mkdir(parents=True, exist_ok=True)
    full = {**report.model_dump(mode="json"), "outputs": outputs}
    (args.logs / REPORT_FILE).write_text(json.dumps(full, indent=2, sort_keys=True), encoding="utf-8")
    if report.infra_error:
        print(f"scoring could not run: {report.infra_error}", file=sys.stderr)
        return 2
    rewards = rewards_of(report)
    (args.logs / "reward.json").write_text(json.dumps(rewards, indent=2), encoding="utf-8")
    print(f"final score {report.final_score:.4f} / 100" + (f" (scoring error: {report.error})" if report.error else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
