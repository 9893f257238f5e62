"""The task runtime: a cached virtual environment that the sandbox's ``python3`` runs.

It is built from the base interpreter (never the environment that has asibench-env installed),
without system site packages, from the tasks' ``runtime.packages`` plus a scientific core, and
keyed on that package list so that every task with the same needs shares one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from asibench_env.paths import runtimes_dir

logger = logging.getLogger(__name__)

CORE_PACKAGES = ("numpy", "scipy", "pandas", "matplotlib")
COMPLETE_MARKER = ".asibench-runtime.json"
BUILD_TIMEOUT_S = 1800


class RuntimeBuildError(RuntimeError):
    """The task runtime could not be built (the message holds the installer's output)."""


def base_python() -> Path:
    """The interpreter the runtime is built from: the base of the current one, not its venv."""
    return Path(getattr(sys, "_base_executable", sys.executable)).resolve()


def requirements(packages: Sequence[str]) -> list[str]:
    """The normalised requirement list: the scientific core plus the given ones, sorted, unique."""
    named = {
        p.split("[")[0].split("=")[0].split(">")[0].split("<")[0].split("~")[0].split("!")[0].strip().lower()
        for p in packages
    }
    extra = [core for core in CORE_PACKAGES if core not in named]
    return sorted({*(p.strip() for p in packages if p.strip()), *extra})


def runtime_key(packages: Sequence[str]) -> str:
    """The cache key of a runtime: a hash of the base Python and the normalised requirements."""
    text = json.dumps({"python": str(base_python()), "requirements": requirements(packages)})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _uv() -> str | None:
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.is_file() else shutil.which("uv")


def _build(target: Path, reqs: list[str]) -> None:
    uv = _uv()
    python = str(base_python())
    if uv:
        steps = [
            [uv, "venv", "--quiet", "--python", python, str(target)],
            [uv, "pip", "install", "--quiet", "--python", str(target / "bin" / "python"), *reqs],
        ]
    else:
        steps = [
            [python, "-m", "venv", str(target)],
            [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", *reqs],
        ]
    for step in steps:
        proc = subprocess.run(step, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
        if proc.returncode != 0:
            raise RuntimeBuildError(
                f"building the task runtime failed at `{' '.join(step[:3])} ...`:\n{proc.stderr[-4000:]}"
            )


def ensure_runtime(packages: Sequence[str] = ()) -> Path:
    """The runtime for these requirements, built on first use (safe across processes)."""
    reqs = requirements(packages)
    target = runtimes_dir() / runtime_key(packages)
    if (target / COMPLETE_MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / COMPLETE_MARKER).is_file():
            return target
        if target.exists():
            shutil.rmtree(target)
        logger.warning("building the task runtime %s (%s); this happens once", target.name, ", ".join(reqs))
        try:
            _build(target, reqs)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        (target / COMPLETE_MARKER).write_text(json.dumps({"requirements": reqs, "python": str(base_python())}))
    return target


def site_packages(target: Path) -> Path:
    """The ``site-packages`` folder of a runtime; ``FileNotFoundError`` when it has none."""
    found = sorted((target / "lib").glob("python*/site-packages"))
    if not found:
        raise FileNotFoundError(f"the task runtime {target} has no lib/python*/site-packages")
    return found[0]


def describe_runtime(target: Path) -> dict[str, object]:
    """Path, Python version and installed packages of a runtime, for run metadata."""
    python = target / "bin" / "python"
    proc = subprocess.run(
        [
            str(python),
            "-c",
            "import sys, json, importlib.metadata as m; print(json.dumps({'python': sys.version.split()[0], "
            "'packages': sorted(f'{d.metadata[\"Name\"]}=={d.version}' for d in m.distributions())}))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    info: dict[str, object] = {"path": str(target)}
    if proc.returncode == 0:
        info.update(json.loads(proc.stdout))
    return info
