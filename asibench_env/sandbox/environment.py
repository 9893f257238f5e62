"""The environment variables every sandbox gives the agent's processes (nothing of the host's)."""

from __future__ import annotations

import os


def thread_env() -> dict[str, str]:
    """Cap BLAS/OpenMP threads so that one episode does not claim every core."""
    threads = str(min(4, os.cpu_count() or 1))
    return {k: threads for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def agent_env(*, home: str, tmp: str, runtime: str, sandbox_id: str) -> dict[str, str]:
    """The agent's environment: the runtime first on PATH, the workspace as HOME, a private TMPDIR."""
    return {
        "PATH": f"{runtime}/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "ASB_WORKSPACE": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": tmp,
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{tmp}/matplotlib",
        "VIRTUAL_ENV": runtime,
        "ASB_SANDBOX_ID": sandbox_id,
        **thread_env(),
    }
