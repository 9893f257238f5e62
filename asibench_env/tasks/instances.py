"""Instances: pick parameters from a seed, run a task's generator once, and cache the result by content."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from asibench_env.errors import InfraError
from asibench_env.paths import instance_cache_max_bytes, instances_cache_dir, parse_size
from asibench_env.tasks.cache_store import CacheStore, Lease, tree_bytes
from asibench_env.tasks.loading import Task
from asibench_env.tasks.models import LEVELS, InstanceMeta
from asibench_env.tasks.prefetch import Prefetcher
from asibench_env.tasks.registry import InstanceRef, TaskRegistry
from asibench_env.tasks.runtime import ensure_runtime

ParamMode = Literal["default", "random"]
DEFAULT_GENERATOR_TIMEOUT_S = 600.0
CACHE_LAYOUT_VERSION = "1"
PROGRESS_INTERVAL_S = 1.0
DEFAULT_GRACE_S = 60.0
"""An instance used in the last minute is never evicted (what protects callers of the lease-less ``get``)."""
MAX_EVICTED_RETRIES = 5
PREFETCH_NICENESS = 10
"""Prefetch runs generators at this lower CPU priority, so they do not slow down running episodes."""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationStatus:
    """Where a running instance generation is: reported when it starts, about every second, and when it ends."""

    task_id: str
    seed: Any
    elapsed_s: float
    timeout_s: float
    done: bool = False

    @property
    def text(self) -> str:
        """``generating physics.x seed 3 ... 35 s`` (``... done in 35 s`` at the end)."""
        state = f"done in {self.elapsed_s:.0f} s" if self.done else f"{self.elapsed_s:.0f} s"
        return f"generating {self.task_id} seed {self.seed} ... {state} (limit {self.timeout_s:.0f} s)"


GenerationProgress = Callable[[GenerationStatus], None]


class InstanceGenerationError(InfraError):
    """A task's generator failed, timed out, or wrote an incomplete instance."""


def sample_params(task: Task, seed: int, mode: ParamMode = "default") -> dict[str, Any]:
    """Parameters for the instance a seed picks.

    ``default`` keeps every parameter at its default and varies only the seed (the official splits
    work this way); ``random`` also draws each parameter from its declared range, so every seed
    is a different physical system.
    """
    params: dict[str, Any] = {}
    specs = task.generation.parameters if task.generation else {}
    rng = random.Random(f"{task.id}:{seed}")
    for name, spec in sorted(specs.items()):
        if mode == "random" and spec.type == "int" and spec.range:
            params[name] = rng.randint(int(spec.range[0]), int(spec.range[1]))
        elif mode == "random" and spec.type == "float" and spec.range:
            params[name] = round(rng.uniform(float(spec.range[0]), float(spec.range[1])), 6)
        elif mode == "random" and spec.type == "choice" and spec.options:
            params[name] = rng.choice(spec.options)
        elif spec.default is not None:
            params[name] = spec.default
    params["seed"] = int(seed)
    return params


def instance_id_for(task_id: str, params: dict[str, Any]) -> str:
    """An official-style instance id: ``<task_id>__<key><value>_..._seed<N>``."""
    parts = []
    for key, value in sorted(params.items()):
        if key == "seed":
            parts.append(f"seed{value}")
        elif isinstance(value, float):
            parts.append(f"{key}{value:.2f}")
        else:
            parts.append(f"{key}{value}")
    text = "_".join(parts)
    if len(text) > 80:
        text = text[:60] + "_" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{task_id}__{text}"


def cache_key(task: Task, params: dict[str, Any]) -> str:
    """Content address of an instance: task id and version, generator bytes, parameters and seed."""
    digest = hashlib.sha256()
    digest.update(CACHE_LAYOUT_VERSION.encode())
    digest.update(task.id.encode())
    digest.update(task.version.encode())
    digest.update(task.generator_path.read_bytes())
    digest.update(json.dumps(params, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:20]


def _generator_env() -> dict[str, str]:
    keep = {"PATH", "LANG", "LC_ALL", "TZ"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update({"PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    return env


def _tail(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else "[...]\n" + text[-limit:]


class InstanceLease:
    """An instance held in use: the cache does not evict it until :meth:`release` (idempotent).

    Use it as a context manager, or release it once done with the instance's files (an env holds it
    from reset until the episode is scored).
    """

    def __init__(self, ref: InstanceRef, cached: bool, lease: Lease):
        self.ref = ref
        self.cached = cached
        """False when this call generated the instance."""
        self._lease = lease

    @property
    def held(self) -> bool:
        """Whether the lease is still held."""
        return self._lease.held

    def release(self) -> None:
        """Let the cache evict the instance again (and trim it if an earlier eviction fell short)."""
        self._lease.release()

    def __enter__(self) -> InstanceLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class InstanceCache:
    """Generated instances on disk, one directory per content address, under a size cap with LRU eviction.

    ``progress`` is called while a generator runs (at its start, about every ``progress_interval_s``
    and at its end) with a :class:`GenerationStatus`; a cached instance calls nothing. The generator's
    time limit is the task's ``generation.timeout_seconds`` (default 600 s).

    ``max_bytes`` caps the bytes of cached instances: an int, a size text (``"20G"``), None for no
    cap, or ``"env"`` (the default): ``$ASIBENCH_ENV_CACHE_MAX_BYTES``, else 20 GiB. After every
    generation the least-recently-used instances are evicted until the cache is under the cap, except
    instances in use (an :class:`InstanceLease` is held on them, in any process) and instances used in
    the last ``grace_s`` seconds. Safe for many threads and processes sharing one root: an instance
    is generated once, and never removed while leased or half-written (see
    :mod:`asibench_env.tasks.cache_store`).

    :meth:`prefetch` generates instances ahead in the background (``prefetcher``, default the
    process's shared pool); :meth:`acquire` and :meth:`get` wait for an instance in flight rather
    than generating it twice, and raise the error of a failed prefetch.
    """

    def __init__(
        self,
        root: Path | None = None,
        python_for: Callable[[Task], str] | None = None,
        progress: GenerationProgress | None = None,
        progress_interval_s: float = PROGRESS_INTERVAL_S,
        *,
        max_bytes: int | str | None = "env",
        grace_s: float = DEFAULT_GRACE_S,
        prefetcher: Prefetcher | None = None,
    ):
        self.root = Path(root) if root else instances_cache_dir()
        self._python_for = python_for or _runtime_python
        self.progress = progress
        self.progress_interval_s = float(progress_interval_s)
        if max_bytes == "env":
            cap = instance_cache_max_bytes()
        elif isinstance(max_bytes, str):
            cap = parse_size(max_bytes)
        else:
            cap = max_bytes
        if cap is not None and cap < 0:
            raise ValueError(f"max_bytes must be a size of at least 0 bytes (or None for no cap), got {max_bytes!r}")
        self.max_bytes = cap
        self.store = CacheStore(self.root, cap, grace_s)
        self._prefetcher = prefetcher

    @property
    def prefetcher(self) -> Prefetcher:
        """The pool :meth:`prefetch` uses (the process's shared one unless given)."""
        if self._prefetcher is None:
            self._prefetcher = Prefetcher.default()
        return self._prefetcher

    def path_for(self, task: Task, params: dict[str, Any]) -> Path:
        """Where the instance of these parameters is (or will be) cached."""
        return self.root / task.id / f"{cache_key(task, params)}" / instance_id_for(task.id, params)

    def get(self, task: Task, params: dict[str, Any]) -> tuple[InstanceRef, bool]:
        """The instance for these parameters, generating it on a miss; returns (instance, was_cached).

        No lease is kept: the instance is protected from eviction for ``grace_s`` seconds only. Hold
        an :meth:`acquire` lease while reading its files for longer.
        """
        with self.acquire(task, params) as lease:
            return lease.ref, lease.cached

    def acquire(self, task: Task, params: dict[str, Any]) -> InstanceLease:
        """The instance for these parameters under a lease (generated on a miss); release the lease when done.

        Waits for a prefetch of the same instance in flight rather than generating it again.

        Raises:
            InstanceGenerationError: the generator failed or timed out (here or in the prefetch that
                was generating it), or the task has no generator.
        """
        target = self.path_for(task, params)
        prefetcher = self._prefetcher or Prefetcher.current()
        if prefetcher is not None:  # no pool yet: nothing can be in flight
            error = prefetcher.claim(str(target))
            if error is not None:
                if isinstance(error, InstanceGenerationError):
                    raise error
                raise InstanceGenerationError(
                    f"prefetching the instance of {task.id} (params {params}) failed: {type(error).__name__}: {error}"
                ) from error
        return self._acquire(task, params, target)

    def _acquire(self, task: Task, params: dict[str, Any], target: Path, background: bool = False) -> InstanceLease:
        if not task.has_generator:
            raise InstanceGenerationError(
                f"task {task.id} has no generator ({task.generator_path.name}); "
                "use a downloaded instance (instances_dir=...) instead"
            )
        key = target.parent.name
        generated = False
        for _ in range(MAX_EVICTED_RETRIES):
            lease = self.store.lease(key)
            try:
                if (target / ".complete").is_file():
                    self.store.touch(target.parent)
                    ref = self._ref(task, target, params)
                    if generated:
                        self.store.trim()
                    return InstanceLease(ref, not generated, lease)
            except BaseException:
                lease.release()
                raise
            lease.release()
            target.parent.mkdir(parents=True, exist_ok=True)
            with self.store.generation_lock(key):
                if not (target / ".complete").is_file():  # nobody generated it meanwhile
                    self._generate(task, params, target, background)
                    self.store.record(target.parent, tree_bytes(target))
                    generated = True
        raise InstanceGenerationError(
            f"the instance of {task.id} (params {params}) was evicted {MAX_EVICTED_RETRIES} times right after "
            f"being generated: the cache cap ({self.max_bytes} bytes) is too small for the instances in use; "
            "raise ASIBENCH_ENV_CACHE_MAX_BYTES"
        )

    def prefetch(self, task: Task, params: dict[str, Any]) -> Future[InstanceRef]:
        """Generate this instance in the background (bounded workers); a cached one gives a done future.

        The future's result is the instance; its error (an :class:`InstanceGenerationError`) is also
        raised by the :meth:`acquire` or :meth:`get` that needs the instance, never by the pool.
        """
        target = self.path_for(task, params)
        if (target / ".complete").is_file():
            done: Future[InstanceRef] = Future()
            try:
                done.set_result(self._ref(task, target, params))
                self.store.touch(target.parent)
                return done
            except (OSError, ValueError):
                pass  # evicted meanwhile: generate it again

        def work() -> InstanceRef:
            with self._acquire(task, params, target, background=True) as lease:
                return lease.ref

        return self.prefetcher.submit(str(target), work)

    def usage(self) -> int:
        """Bytes of the complete instances in the cache."""
        return self.store.usage()

    def trim(self) -> int:
        """Evict least-recently-used instances not in use until the cache is under its cap; return how many."""
        return len(self.store.trim())

    def _ref(self, task: Task, path: Path, params: dict[str, Any]) -> InstanceRef:
        meta = InstanceMeta.model_validate(json.loads((path / "instance_meta.json").read_text(encoding="utf-8")))
        used = dict(meta.params_used) or dict(params)
        return InstanceRef(instance_id=path.name, task_id=task.id, path=path, params=used)

    def _generate(self, task: Task, params: dict[str, Any], target: Path, background: bool = False) -> None:
        timeout = (task.generation.timeout_seconds if task.generation else None) or DEFAULT_GENERATOR_TIMEOUT_S
        staging = Path(tempfile.mkdtemp(prefix=".gen-", dir=target.parent))
        out_dir = staging / target.name
        command = [
            self._python_for(task),
            str(task.generator_path),
            "--output-dir",
            str(out_dir),
            "--params",
            json.dumps(params),
        ]
        try:
            returncode, stderr = self._run_generator(task, params, command, timeout, background)
            if returncode != 0:
                raise InstanceGenerationError(
                    f"generator of {task.id} failed with exit code {returncode} (params {params}).\n"
                    f"stderr:\n{_tail(stderr)}"
                )
            self._complete_layout(task, params, out_dir)
            if target.exists():
                shutil.rmtree(target)
            out_dir.rename(target)
            (target / ".complete").write_text("ok\n")
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _run_generator(
        self, task: Task, params: dict[str, Any], command: list[str], timeout: float, background: bool = False
    ) -> tuple[int, str]:
        """Run the generator under its time limit, reporting progress; returns (exit code, stderr).

        A ``background`` (prefetch) generator runs at a lower CPU priority (:data:`PREFETCH_NICENESS`).
        """
        started = time.monotonic()

        def report(done: bool = False) -> None:
            status = GenerationStatus(task.id, params.get("seed"), time.monotonic() - started, timeout, done)
            if self.progress is not None:
                try:
                    self.progress(status)
                except Exception:  # noqa: BLE001 - a display callback must not break generation
                    logger.exception("instance generation progress callback failed")

        logger.info("generating %s with %s (time limit %.0f s)", task.id, params, timeout)
        proc = subprocess.Popen(
            command,
            cwd=task.task_dir,
            env=_generator_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
        )
        if background:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, proc.pid, PREFETCH_NICENESS)
        report()
        while True:
            left = timeout - (time.monotonic() - started)
            try:
                _, stderr = proc.communicate(timeout=max(0.01, min(self.progress_interval_s, left)))
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() - started < timeout:
                    report()
                    continue
                proc.kill()
                _, stderr = proc.communicate()
                report(done=True)
                raise InstanceGenerationError(
                    f"generator of {task.id} timed out after {timeout:.0f} s (params {params}); "
                    f"raise generation.timeout_seconds in task_eval.yaml if it needs longer.\n"
                    f"stderr:\n{_tail(stderr or '')}"
                ) from None
        report(done=True)
        logger.info("generated %s in %.1f s", task.id, time.monotonic() - started)
        return proc.returncode, stderr or ""

    @staticmethod
    def _complete_layout(task: Task, params: dict[str, Any], out_dir: Path) -> None:
        """Check what the generator wrote and fill what the contract lets the task dir provide."""
        for folder in ("data", "reference"):
            if not (out_dir / folder).is_dir():
                raise InstanceGenerationError(
                    f"generator of {task.id} wrote no {folder}/ folder in --output-dir; "
                    "it must write data/ (agent inputs) and reference/ (ground truth)"
                )
        for level in LEVELS:
            rendered = out_dir / f"prompt_{level.lower()}.md"
            if rendered.is_file():
                continue
            template = task.prompt_template(level)
            if not template.is_file():
                raise InstanceGenerationError(
                    f"no {level} prompt for {task.id}: the generator did not render {rendered.name} "
                    f"and the task has no {template.name}"
                )
            shutil.copyfile(template, rendered)
        meta_path = out_dir / "instance_meta.json"
        if not meta_path.is_file():
            meta_path.write_text(json.dumps({"task_id": task.id, "params_used": params}, indent=2))


def _runtime_python(task: Task) -> str:
    return str(Path(ensure_runtime(task.runtime_packages)) / "bin" / "python")


def planned_params(
    registry: TaskRegistry, task: Task, seed: int, mode: ParamMode = "default", overrides: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The generator parameters an env's reset on ``seed`` uses, or None when it takes a downloaded instance."""
    if not task.has_generator or (overrides is None and registry.instances(task.id)):
        return None
    params = sample_params(task, seed, mode)
    params.update(dict(overrides or {}))
    return params
