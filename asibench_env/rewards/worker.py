"""The scoring worker: a long-lived process that forks one child per scoring request.

Run as ``python -m asibench_env.rewards.worker``; it reads one JSON request per line on stdin and
answers one JSON line on stdout. numpy and the scorers are imported once, so each request costs a
fork. The child runs under memory and CPU limits in its own process group; at the time limit the
whole group is killed and the answer says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

from asibench_env.rewards.engine import evaluate
from asibench_env.rewards.judge import JudgeRequest, official_judge_scorers


def _run_child(request: dict[str, Any], write_fd: int) -> None:
    os.setpgid(0, 0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):  # a scorer that prints must not write into the worker's answer channel
        os.dup2(devnull, fd)
    memory = request.get("memory_bytes")
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(request["timeout_s"]) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    # The task runtime's packages, after ours: a custom scorer finds what it needs there, ours win.
    sys.path.extend(str(path) for path in request.get("extra_paths") or [])
    try:
        report = evaluate(
            request["evaluation"],
            Path(request["pred_dir"]),
            Path(request["ref_dir"]),
            request["parameters"],
            prompt_level=request.get("prompt_level"),
            task_dir=Path(request["task_dir"]) if request.get("task_dir") else None,
            judge=JudgeRequest.model_validate(request["judge"]) if request.get("judge") else None,
        )
        answer = {"ok": True, "report": json.loads(report.model_dump_json())}
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
        answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-2000:]}
    data = json.dumps(answer).encode()
    view = memoryview(data)
    while view:
        written = os.write(write_fd, view)
        view = view[written:]


def _read_all(read_fd: int, pid: int, timeout_s: float) -> tuple[bytes, bool]:
    """Everything the child writes before it closes the pipe, or (partial, True) at the time limit."""
    import time

    deadline = time.monotonic() + timeout_s
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"".join(chunks), True
        ready, _, _ = select.select([read_fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)


def handle(request: dict[str, Any]) -> dict[str, Any]:
    if request.get("judge"):
        official_judge_scorers()  # imported once in the worker (seconds), so each child inherits them
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            _run_child(request, write_fd)
        finally:
            os._exit(0)
    os.close(write_fd)
    try:
        data, timed_out = _read_all(read_fd, pid, float(request["timeout_s"]))
    finally:
        os.close(read_fd)
    if timed_out:
        for target in (-pid, pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return {"ok": False, "error": f"scoring timed out after {request['timeout_s']:g} s"}
    if not data:
        code = os.waitstatus_to_exitcode(status)
        return {"ok": False, "error": f"scorer process crashed (exit status {code})"}
    return json.loads(data)


def main() -> None:
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = handle(json.loads(line))
        except Exception as exc:  # noqa: BLE001 - a bad request must not kill the worker
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
