"""What a sandbox tells the agent when its shell or interpreter had to be replaced (same on every backend)."""

from __future__ import annotations

from asibench_env.sandbox.base import ExecResult

FRESH_INTERPRETER = "[the previous Python interpreter had stopped; this ran in a fresh one]\n"


def shell_replaced(reason: str, duration_s: float) -> ExecResult:
    """The shell ended during a command (``exit``, killed, gone): a new one was started."""
    return ExecResult(
        exit_code=137,
        output=f"[the shell ended ({reason}); a new shell was started: the working directory, variables "
        "and background jobs are reset]",
        duration_s=duration_s,
        timed_out="killed" in reason,
        restarted=True,
    )


def interpreter_lost(timeout: float, timed_out: bool, duration_s: float, restarted: bool) -> ExecResult:
    """The interpreter timed out or crashed during a cell; the next cell gets a fresh one."""
    reason = f"the Python interpreter was killed after {timeout:g} s" if timed_out else "the Python interpreter crashed"
    return ExecResult(
        exit_code=137 if timed_out else 1,
        output=f"[{reason}; variables are lost, a fresh interpreter starts on the next call]",
        duration_s=duration_s,
        timed_out=timed_out,
        restarted=restarted,
    )
