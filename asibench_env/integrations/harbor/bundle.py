"""The scoring bundle under an exported task's ``tests/lib``: what the verifier imports in the container.

The sandbox image has Python with numpy, scipy, pandas and matplotlib, but none of asibench-env. The
bundle adds the modules scoring needs and their pure dependencies, copied from this installation:

- asibench-env's scoring subset (:data:`PACKAGE_FILES`): the rewards engine, the task models it reads,
  and the sandbox's safe output collection. ``asibench_env/`` and ``asibench_env/sandbox/`` have no
  ``__init__.py`` there (namespace packages), so importing the scorer does not import the whole
  package (the Gymnasium env, the sandboxes, the built-in tasks and their reference solvers);
- pydantic (with its compiled core), PyYAML's Python part and their small dependencies; the
  official ``ai4sci_bench`` package when the task has a custom scorer.

The compiled pydantic core must match the image's Python (CPython 3.11 on the host's architecture):
:func:`check_compatible` refuses an export from another Python.
"""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
"""The installed ``asibench_env`` folder."""

PACKAGE_FILES: tuple[str, ...] = (
    "errors.py",
    "paths.py",
    "rewards",
    "tasks/__init__.py",
    "tasks/figures.py",
    "tasks/loading.py",
    "tasks/models.py",
    "tasks/runnability.py",
    "tasks/runtime.py",
    "sandbox/base.py",
    "sandbox/fsops.py",
)
"""asibench-env's files in the bundle, relative to the package folder (a folder means its ``*.py``)."""

DEPENDENCIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pydantic", ("pydantic",)),
    ("pydantic-core", ("pydantic_core",)),
    ("typing-extensions", ("typing_extensions.py",)),
    ("typing-inspection", ("typing_inspection",)),
    ("annotated-types", ("annotated_types",)),
    ("PyYAML", ("yaml",)),
)
"""Distributions copied into the bundle, each with the top-level names taken from it."""

OFFICIAL_DEPENDENCY = ("asibench", ("ai4sci_bench",))
"""The official package, bundled for tasks with a ``custom_scorer.py`` (it registers their scorers)."""

IMAGE_PYTHON = (3, 11)
"""The Python of the sandbox image (Debian bookworm's), which runs the verifier."""


class BundleError(RuntimeError):
    """The scoring bundle cannot be made from this installation."""


def check_compatible() -> None:
    """Refuse to bundle compiled modules built for another Python than the image's."""
    if sys.version_info[:2] != IMAGE_PYTHON or sys.implementation.name != "cpython":
        wanted = ".".join(map(str, IMAGE_PYTHON))
        raise BundleError(
            f"the Harbor export copies pydantic's compiled core from this Python "
            f"({sys.implementation.name} {platform.python_version()}) into each task, but the sandbox image "
            f"runs CPython {wanted}: run the export from asibench-env installed on CPython {wanted}"
        )


def _package_sources() -> Iterable[tuple[Path, str]]:
    for entry in PACKAGE_FILES:
        source = PACKAGE_ROOT / entry
        files = sorted(source.rglob("*.py")) if source.is_dir() else [source]
        for path in files:
            yield path, "asibench_env/" + path.relative_to(PACKAGE_ROOT).as_posix()


def _distribution_sources(dist_name: str, top_level: tuple[str, ...]) -> Iterable[tuple[Path, str]]:
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError as exc:
        raise BundleError(
            f"{dist_name} is not installed; the scoring bundle needs it (pip install {dist_name})"
        ) from exc
    found = False
    for item in sorted(dist.files or [], key=str):
        parts = item.parts
        if parts[0] not in top_level or "__pycache__" in parts or item.suffix == ".pyc":
            continue
        if parts[0] == "yaml" and item.suffix == ".so":  # PyYAML runs without its optional C speed-up
            continue
        found = True
        yield Path(str(item.locate())), item.as_posix()
    if not found:
        raise BundleError(f"the installed {dist_name} lists no files of {', '.join(top_level)}; reinstall it")


def bundle_files(with_official: bool) -> list[tuple[Path, str]]:
    """Every (source file, path in the bundle), sorted by bundle path."""
    files = list(_package_sources())
    deps = [*DEPENDENCIES, OFFICIAL_DEPENDENCY] if with_official else list(DEPENDENCIES)
    for dist_name, top_level in deps:
        files += _distribution_sources(dist_name, top_level)
    return sorted(files, key=lambda item: item[1])


def write_bundle(dest: Path, with_official: bool) -> None:
    """Copy the scoring bundle into ``dest`` (a new folder)."""
    check_compatible()
    for source, relative in bundle_files(with_official):
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
