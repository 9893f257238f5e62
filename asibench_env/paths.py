"""Where asibench-env keeps its caches on the host (never visible inside a sandbox)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUILTIN_TASKS_DIR = PACKAGE_DIR / "tasks" / "builtin"


def cache_root() -> Path:
    """The cache root: ``$ASIBENCH_ENV_CACHE``, else ``$XDG_CACHE_HOME/asibench-env``, else ``~/.cache/...``."""
    explicit = os.environ.get("ASIBENCH_ENV_CACHE")
    if explicit:
        return Path(explicit).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return (base / "asibench-env").resolve()


def instances_cache_dir() -> Path:
    """Content-addressed cache of generated instances (holds ground truth)."""
    return cache_root() / "instances"


def runtimes_dir() -> Path:
    """Cached task-runtime virtual environments, keyed on their package list.

    ``$ASIBENCH_ENV_RUNTIMES`` moves them apart from the rest of the cache (tests point the instance
    cache at a temporary folder but keep the slow-to-build runtimes).
    """
    explicit = os.environ.get("ASIBENCH_ENV_RUNTIMES")
    return Path(explicit).expanduser().resolve() if explicit else cache_root() / "runtimes"
