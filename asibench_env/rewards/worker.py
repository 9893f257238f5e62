"""The scoring worker: a long-lived process that forks one child per scoring request.

Run as ``python -m asibench_env.rewards.worker``; it reads one JSON request per line on stdin and
answers one JSON line on stdout. numpy and the scorers are imported once, so each request costs a
fork. The child runs under memory and CPU limits in its own process group, and dies with the worker; at the
time limit the whole group is killed and the answer says so.

An answer is ``{"ok": true, "report": ...}`` or ``{"ok": false, "error": ..., "infra": bool}``, where
``infra`` says the failure is ours, not the outputs' (see :mod:`asibench_env.rewards.failures`).
"""

from __future__ import annotations

import contextlib
import ctypes
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
from asibench_env.rewards.failures import CPU_LIMIT_SIGNALS, is_host_failure, timeout_is_ours
from asibench_env.rewards.judge import JudgeRequest, official_judge_scorers

_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when the worker dies (so no scorer outlives a killed worker)."""
    with contextlib.suppress(Exception):  # Linux only; elsewhere the process group kill still applies
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the worker died before the death signal was armed
        os._exit(1)


def _run_child(request: dict[str, Any], write_fd: int, parent: int) -> None:
    _die_with(parent)
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
        answer = {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "infra": is_host_failure(exc),
            "trace": traceback.format_exc()[-2000:],
        }
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
    """Score one request in a forked child under the request's limits; the child's answer, or why none."""
    if request.get("judge"):
        official_judge_scorers()  # imported once in the worker (seconds), so each child inherits them
    timeout_s = float(request["timeout_s"])
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            _run_child(request, write_fd, parent)
        finally:
            os._exit(0)
    os.close(write_fd)
    try:
        data, timed_out = _read_all(read_fd, pid, timeout_s)
    finally:
        os.close(read_fd)
    running = _group_running(pid) if timed_out else None
    if timed_out:
        for target in (-pid, pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    cpu_s = usage.ru_utime + usage.ru_stime
    if timed_out:
        if timeout_is_ours(cpu_s, timeout_s, running):
            return {
                "ok": False,
                "infra": True,
                "error": f"scoring timed out after {timeout_s:g} s while the scorer was mostly waiting "
                f"({cpu_s:.1f} s of CPU): a slow host or model judge, not the outputs",
            }
        return {
            "ok": False,
            "infra": False,
            "error": f"scoring timed out after {timeout_s:g} s: the scorer computed on these outputs "
            f"for {cpu_s:.1f} s of CPU",
        }
    if not data:
        return _silent_end(status, cpu_s, timeout_s)
    try:
        answer = json.loads(data)
    except ValueError:
        return {"ok": False, "infra": True, "error": "the scoring process sent an unreadable answer"}
    if not isinstance(answer, dict):
        return {"ok": False, "infra": True, "error": "the scoring process sent an unreadable answer"}
    return answer


def _group_running(pgid: int) -> bool | None:
    """Whether any thread of any process in process group ``pgid`` is running or runnable (None: no /proc)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            for task in (entry / "task").iterdir():
                with contextlib.suppress(OSError, IndexError):
                    if (task / "stat").read_text().rsplit(")", 1)[1].split()[0] == "R":
                        return True
    return False


def _silent_end(status: int, cpu_s: float, timeout_s: float) -> dict[str, Any]:
    """The answer for a child that ended without writing one."""
    cpu_limit = int(timeout_s) + 1
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number in CPU_LIMIT_SIGNALS and cpu_s >= cpu_limit:  # the CPU limit matching the time limit
            return {
                "ok": False,
                "infra": False,
                "error": f"scoring timed out: the scorer computed on these outputs beyond its {cpu_limit} s CPU limit",
            }
        how = f"killed by signal {number} ({_signal_name(number)})"
    else:
        how = f"exit status {os.waitstatus_to_exitcode(status)}"
    return {
        "ok": False,
        "infra": True,
        "error": f"scorer process crashed: it ended without an answer ({how})",
    }


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown"


def main() -> None:
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = handle(json.loads(line))
        except Exception as exc:  # noqa: BLE001 - a bad request must not kill the worker
            answer = {"ok": False, "infra": True, "error": f"the scoring worker failed: {type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
