"""The source of the in-container supervisor, bundled with the host's sandbox modules it reuses.

The supervisor runs inside the container, where asibench-env is not installed (and must not be).
It needs the workspace file operations and the output cap of the local sandbox, so that both
backends speak the same shell and interpreter protocols and refuse the same paths with the same
messages; this module concatenates those modules'
sources (they import only the standard library and each other, and the error base of
:mod:`asibench_env.errors`) ahead of the supervisor's own.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

SANDBOX_DIR = Path(__file__).resolve().parents[1]
PACKAGE_DIR = SANDBOX_DIR.parent
BUNDLED_MODULES = (
    PACKAGE_DIR / "errors.py",
    SANDBOX_DIR / "base.py",
    SANDBOX_DIR / "output.py",
    SANDBOX_DIR / "protocol.py",
    SANDBOX_DIR / "fsops.py",
)
SUPERVISOR = SANDBOX_DIR / "assets" / "supervisor.py"


def _strip_package_imports(source: str) -> str:
    kept = []
    for line in source.splitlines():
        if line.startswith("from __future__ import") or line.startswith("from asibench_env"):
            continue
        kept.append(line)
    return "\n".join(kept)


@cache
def supervisor_source() -> str:
    """One Python program: the bundled modules, then the supervisor (compiled here to fail early)."""
    parts = ["from __future__ import annotations"]
    for path in BUNDLED_MODULES:
        parts.append(f"# ---- {path.name}\n" + _strip_package_imports(path.read_text()))
    parts.append("# ---- supervisor.py\n" + SUPERVISOR.read_text())
    source = "\n\n".join(parts) + "\n"
    compile(source, "<asibench-supervisor>", "exec")
    return source


def shell_source() -> str:
    return (SANDBOX_DIR / "assets" / "shell_server.sh").read_text()


def kernel_source() -> str:
    return (SANDBOX_DIR / "assets" / "kernel.py").read_text()
