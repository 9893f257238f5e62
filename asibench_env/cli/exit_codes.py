"""The exit codes of ``asibench-env run`` and ``asibench-env rollouts`` (one place, documented in their help)."""

from __future__ import annotations

OK = 0
"""Every planned episode was scored or produced (an ``agent_error`` is a finished episode: the agent's failure)."""
USAGE = 2
"""Bad command line or input (a one-line error says what to change)."""
INFRA_ERROR = 3
"""At least one episode still ended in ``infra_error`` after its retries; ``--resume`` re-runs those."""
WRITE_FAILED = 4
"""Writing into ``--out`` failed (e.g. the disk is full): the run stopped cleanly; free space, then ``--resume``."""
INTERRUPTED = 130
"""Stopped by Ctrl-C or SIGTERM (running episodes were finished first); ``--resume`` continues the run."""

EPILOG = (
    f"Exit codes: {OK} every planned episode scored or produced (an agent_error counts as finished); "
    f"{INFRA_ERROR} some episode ended in an infrastructure error after its retries (--resume re-runs it); "
    f"{WRITE_FAILED} writing into --out failed, e.g. a full disk (free space, then --resume); "
    f"{USAGE} usage error; {INTERRUPTED} interrupted by Ctrl-C or SIGTERM (--resume continues)."
)
