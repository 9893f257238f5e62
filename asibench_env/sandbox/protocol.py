"""The wire protocols of the persistent shell and Python interpreter, spoken by both sandboxes.

The local sandbox speaks them from the host; the Docker sandbox's supervisor speaks them inside the
container (this module is bundled into it, so it imports only the standard library and base/output).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import signal
import time
from collections.abc import Callable

from asibench_env.sandbox.base import ExecResult, ProcessInfo
from asibench_env.sandbox.output import CappedOutput

KILL_GRACE_S = 2.0
"""How long the shell has to report a command that was killed at its timeout."""
TICK_S = 0.5


class ShellGone(Exception):
    """The shell exited, or did not come back after its command was killed."""


def _no_op() -> None:
    return None


def shell_roundtrip(
    write: Callable[[bytes], None],
    read_fd: int,
    command: str,
    timeout: float,
    output_bytes: int,
    kill_command: Callable[[], object],
    tick: Callable[[], None] = _no_op,
) -> ExecResult:
    """Run ``command`` in the shell server (assets/shell_server.sh) and collect its capped output.

    At the timeout ``kill_command`` stops the command's processes and the shell gets
    :data:`KILL_GRACE_S` to report it; ``tick`` runs at least every half second (to reap children).
    Raises :class:`ShellGone` when the shell is lost.
    """
    token = f"__asb_{secrets.token_hex(8)}"
    data = command.replace("\x00", "").encode("utf-8", errors="replace")
    started = time.monotonic()
    try:
        write(f"{token} {len(data)}\n".encode() + data)
    except OSError as exc:
        raise ShellGone(f"the shell exited ({exc})") from exc
    marker = f"\n{token}:".encode()
    out = CappedOutput(output_bytes)
    window = b""
    deadline = started + timeout
    timed_out = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 and not timed_out:
            timed_out = True
            kill_command()
            deadline = time.monotonic() + KILL_GRACE_S
            continue
        if remaining <= 0:
            raise ShellGone("the shell did not come back after its command was killed")
        ready, _, _ = select.select([read_fd], [], [], min(remaining, TICK_S))
        tick()
        if not ready:
            continue
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:
            raise ShellGone("the shell exited")
        out.add(chunk)
        window = (window + chunk)[-(len(marker) + 16) :]
        at = window.find(marker)
        if at >= 0 and window.endswith(b"\n") and window.count(b"\n", at + 1) >= 1:
            tail = window[at:]
            code = int(tail[len(marker) :].split(b"\n", 1)[0] or b"1")
            out.trim_end(len(tail))
            return ExecResult(
                exit_code=124 if timed_out else code,
                output=out.text(),
                duration_s=time.monotonic() - started,
                timed_out=timed_out,
                truncated_bytes=out.cut,
            )


def read_reply_line(read_fd: int, timeout: float, cap: int, tick: Callable[[], None] = _no_op) -> tuple[bytes, bool]:
    """One reply line from the interpreter, or (partial, True) at the deadline; never blocks past it."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data and len(data) <= cap:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return data, True
        ready, _, _ = select.select([read_fd], [], [], min(remaining, TICK_S))
        tick()
        if not ready:
            continue
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0], False


def reply_cap(output_bytes: int) -> int:
    """The most an interpreter reply may hold: its capped output, JSON-escaped, plus slack."""
    return 4 * output_bytes + 65536


def kill_until_gone(
    list_pids: Callable[[], list[int]], rounds: int = 50, after_round: Callable[[], object] = _no_op
) -> int:
    """Stop then kill every listed process, again until none is left (forks race the first pass).

    Returns how many kills were sent. Stopped processes cannot fork any more, so each round shrinks the set.
    """
    killed = 0
    for _ in range(rounds):
        pids = list_pids()
        if not pids:
            break
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)
        killed += len(pids)
        time.sleep(0.005)
        after_round()
    return killed


def describe_process(pid: int) -> ProcessInfo:
    """A process's command line from ``/proc`` (its name when the command line is empty or unreadable)."""
    command = ""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as handle:
        command = handle.read().rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", errors="replace")
    if not command:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/comm", "rb") as handle:
            command = "[" + handle.read().strip().decode("utf-8", errors="replace") + "]"
    return ProcessInfo(pid=pid, command=command)


def is_zombie(pid: int) -> bool:
    """Whether a process has exited and waits for its parent to reap it (or is gone already)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True
