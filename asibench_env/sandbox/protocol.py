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


def wait_fd(fd: int, timeout: float, *, write: bool = False) -> bool:
    """Wait until ``fd`` is readable (or writable), or ``timeout`` seconds pass; True when it is ready.

    Uses ``poll``, not ``select``: a process with hundreds of sandboxes has descriptors past
    ``select``'s limit of 1024.
    """
    poller = select.poll()
    poller.register(fd, select.POLLOUT if write else select.POLLIN)
    return bool(poller.poll(max(0.0, timeout) * 1000))


class ShellGone(Exception):
    """The shell exited, or did not come back after its command was killed."""


def _no_op() -> None:
    return None


class ShellExchange:
    """One command's exchange with the shell server (assets/shell_server.sh), without the waiting.

    The sync loop (:func:`shell_roundtrip`) and the event-loop one (``sandbox/aio.py``) both drive it:
    send :attr:`request`, then feed what the shell prints to :meth:`feed` until it returns the result;
    when :meth:`expired` says so, kill the command's processes (the shell then has :data:`KILL_GRACE_S`).
    """

    def __init__(self, command: str, timeout: float, output_bytes: int):
        token = f"__asb_{secrets.token_hex(8)}"
        data = command.replace("\x00", "").encode("utf-8", errors="replace")
        self.request = f"{token} {len(data)}\n".encode() + data
        self.started = time.monotonic()
        self.timed_out = False
        self._marker = f"\n{token}:".encode()
        self._out = CappedOutput(output_bytes)
        self._window = b""
        self._deadline = self.started + timeout

    def remaining(self) -> float:
        """Seconds to wait for output before checking :meth:`expired` again (at most :data:`TICK_S`)."""
        return max(0.0, min(self._deadline - time.monotonic(), TICK_S))

    def expired(self) -> bool:
        """True once, when the command's time is up and it must be killed now.

        Raises :class:`ShellGone` when the shell did not report the killed command within the grace time.
        """
        if self._deadline - time.monotonic() > 0:
            return False
        if self.timed_out:
            raise ShellGone("the shell did not come back after its command was killed")
        self.timed_out = True
        self._deadline = time.monotonic() + KILL_GRACE_S
        return True

    def feed(self, chunk: bytes) -> ExecResult | None:
        """Take output read from the shell; the result once its end marker arrived, else None.

        Raises :class:`ShellGone` on end of file (the shell exited).
        """
        if not chunk:
            raise ShellGone("the shell exited")
        self._out.add(chunk)
        marker = self._marker
        self._window = window = (self._window + chunk)[-(len(marker) + 16) :]
        at = window.find(marker)
        if at < 0 or not window.endswith(b"\n") or window.count(b"\n", at + 1) < 1:
            return None
        tail = window[at:]
        code = int(tail[len(marker) :].split(b"\n", 1)[0] or b"1")
        self._out.trim_end(len(tail))
        return ExecResult(
            exit_code=124 if self.timed_out else code,
            output=self._out.text(),
            duration_s=time.monotonic() - self.started,
            timed_out=self.timed_out,
            truncated_bytes=self._out.cut,
        )


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
    exchange = ShellExchange(command, timeout, output_bytes)
    try:
        write(exchange.request)
    except OSError as exc:
        raise ShellGone(f"the shell exited ({exc})") from exc
    while True:
        if exchange.expired():
            kill_command()
            continue
        ready = wait_fd(read_fd, exchange.remaining())
        tick()
        if not ready:
            continue
        result = exchange.feed(os.read(read_fd, 1 << 16))
        if result is not None:
            return result


class ReplyLine:
    """Collects one reply line of the interpreter from chunks, up to a byte cap."""

    def __init__(self, timeout: float, cap: int):
        self.deadline = time.monotonic() + timeout
        self.cap = cap
        self.data = b""

    def complete(self) -> bool:
        """Whether a whole line (or more than the cap) has arrived."""
        return b"\n" in self.data or len(self.data) > self.cap

    def remaining(self) -> float:
        """Seconds left before the deadline (0 when it passed)."""
        return max(0.0, self.deadline - time.monotonic())

    def line(self) -> bytes:
        """The line, without its newline (partial when the deadline or the end of file came first)."""
        return self.data.split(b"\n", 1)[0]


def read_reply_line(read_fd: int, timeout: float, cap: int, tick: Callable[[], None] = _no_op) -> tuple[bytes, bool]:
    """One reply line from the interpreter, or (partial, True) at the deadline; never blocks past it."""
    reply = ReplyLine(timeout, cap)
    while not reply.complete():
        remaining = reply.remaining()
        if remaining <= 0:
            return reply.data, True
        ready = wait_fd(read_fd, min(remaining, TICK_S))
        tick()
        if not ready:
            continue
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        reply.data += chunk
    return reply.line(), False


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
