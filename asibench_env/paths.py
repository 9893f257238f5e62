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


DEFAULT_CACHE_MAX_BYTES = 20 * 1024**3
"""Default size cap of the instance cache: 20 GiB (``$ASIBENCH_ENV_CACHE_MAX_BYTES`` overrides it)."""
_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "KIB": 1024, "M": 1024**2, "MB": 1024**2, "MIB": 1024**2}
_UNITS.update({"G": 1024**3, "GB": 1024**3, "GIB": 1024**3, "T": 1024**4, "TB": 1024**4, "TIB": 1024**4})


def parse_size(text: str) -> int | None:
    """Bytes from ``"20G"``, ``"512 MiB"``, ``"1048576"``; None for ``"none"``/``"unlimited"`` (no cap).

    Raises:
        ValueError: the text is not a size (the message says which forms are accepted).
    """
    raw = text.strip().upper()
    if raw in {"NONE", "UNLIMITED", "INF"}:
        return None
    number = raw.rstrip("BKMGTI ")
    unit = raw[len(number) :].strip()
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if value < 0 or unit not in _UNITS:
        raise ValueError(
            f"not a size: {text!r}; write bytes (1073741824), a number with a unit (20G, 512MiB) or 'none' for no cap"
        )
    return int(value * _UNITS[unit])


def instance_cache_max_bytes() -> int | None:
    """The instance cache's size cap: ``$ASIBENCH_ENV_CACHE_MAX_BYTES`` (e.g. ``20G``, ``none``), else 20 GiB.

    Raises:
        ValueError: the variable is set to something that is not a size.
    """
    explicit = os.environ.get("ASIBENCH_ENV_CACHE_MAX_BYTES")
    if not explicit:
        return DEFAULT_CACHE_MAX_BYTES
    try:
        return parse_size(explicit)
    except ValueError as exc:
        raise ValueError(f"ASIBENCH_ENV_CACHE_MAX_BYTES: {exc}") from None
