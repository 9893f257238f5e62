"""Whose failure is it: the line between a scored 0 (the agent's outputs) and an infrastructure error.

Only the agent's outputs can score 0: a missing or invalid artifact, wrong values, or an artifact so
broken that a scorer raises on it. Every failure on our side gives a report with ``infra_error`` set,
which the env turns into the episode status ``infra_error`` (no score; the batch runner retries it):

- the scoring worker dies or stops answering, or cannot be started;
- the scoring process ends without an answer, whatever the cause (killed by a signal, e.g. the kernel's
  OOM killer or an operator's ``kill -9``, a segfault, an ``os._exit``) or sends an unreadable one: our
  scoring code catches every exception a scorer raises, so a silent end is never a verdict on the
  outputs (the official local scoring treats silent exits the same way, as invalid evaluations);
- an ``OSError`` while copying the outputs for scoring, and an ``OSError`` of the host's resources
  (:data:`HOST_ERRNOS`: disk full, quota, I/O error, out of memory or descriptors, read-only file
  system) inside a scorer or the scoring process;
- the scoring time limit when the scorer was *waiting*: at the limit no thread of any process of the
  scoring process group was running or runnable, and they had used less than
  :data:`WAITING_CPU_FRACTION` of the limit on the CPU (a sleep, a lock, a slow model judge or
  network, slow host I/O), not the outputs.

The scoring time limit (the env's ``scoring_timeout_s``; the ASI-Bench contract sets none) is the
agent's when the scorer was *computing* (a thread running or waiting for a CPU at the limit, or at
least that fraction of the limit spent on the CPU), and so is the CPU limit set to match it: the
reference outputs score in milliseconds, so a scorer that computes for minutes does so because of the
artifact it was given (a huge or adversarial file, or the agent's own code that a task scorer runs).
A busy host only slows scoring down by a small factor, far from the limit, and a runnable scorer
counts as computing however starved, so the verdict does not depend on the host's load. Counting
this as an infrastructure error would let an agent escape a 0 (infra errors are retried, then left out
of the means) by writing an artifact that makes scoring slow. The memory limit of the scoring process
works the same way: a ``MemoryError`` is a scorer raising on the outputs (the limit is per process, not
the host's memory; the host running out kills with a signal, which is ours).
"""

from __future__ import annotations

import errno
import signal

HOST_ERRNOS: frozenset[int] = frozenset(
    code
    for code in (
        errno.ENOSPC,
        getattr(errno, "EDQUOT", None),
        errno.EIO,
        errno.ENOMEM,
        errno.EMFILE,
        errno.ENFILE,
        errno.EROFS,
        errno.EAGAIN,
    )
    if code is not None
)
"""``OSError`` numbers that mean the host ran short (disk, memory, descriptors, processes) or failed."""

WAITING_CPU_FRACTION = 0.5
"""A scorer stopped at the time limit having used less CPU than this fraction of it was waiting."""

CPU_LIMIT_SIGNALS: frozenset[int] = frozenset({signal.SIGXCPU, signal.SIGKILL})
"""How the kernel ends a process over its CPU-time limit (the soft, then the hard limit)."""


def is_host_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is the host's failure (an ``OSError`` of :data:`HOST_ERRNOS`), not the outputs'."""
    return isinstance(exc, OSError) and exc.errno in HOST_ERRNOS


def timeout_is_ours(cpu_s: float, timeout_s: float, running: bool | None) -> bool:
    """Whether a scorer stopped at ``timeout_s`` was waiting (ours) rather than computing (the outputs').

    ``running``: whether a thread of the scoring process group was running or runnable at the limit
    (None when that could not be seen); ``cpu_s``: the CPU time the scorer had used.
    """
    return not running and cpu_s < WAITING_CPU_FRACTION * timeout_s
