"""The Ray executor: each attempt of an episode is a Ray task with declared resources, on any node of a cluster.

Why tasks and not actors: an episode is independent work with no state worth keeping between episodes
(instances live in each node's file cache, which every task on that node shares), and Ray re-runs a
task whose node or worker died by itself (``max_retries``), where an actor would need restart logic and
would lose its state anyway. Ray reuses its worker processes, so imports and per-process envs (with
their sandbox warm pools) are paid once per worker, not per episode.

The task returns the attempt's whole product (result, trajectory rows, output bytes) to the driver,
which writes every file: nodes need no shared filesystem. Ray is imported lazily, here only.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import replace
from typing import Any

from asibench_env.runs.executors.base import EpisodeJob, EpisodeRecord, Executor
from asibench_env.runs.executors.unit import EnvPool, close_envs, harness_failure, run_attempt
from asibench_env.runs.runner import EpisodeSpec
from asibench_env.tasks.instances import GenerationStatus, InstanceCache

logger = logging.getLogger(__name__)

DOCKER_RESOURCE = "docker_sandbox"
"""The custom resource a node declares for each Docker sandbox it can run (``ray start --resources``)."""

INSTALL_HINT = "pip install 'asibench-env[ray]'"


class RayUnavailableError(RuntimeError):
    """Ray is not installed, the cluster cannot be reached, or it lacks the resources an episode needs."""


def import_ray() -> Any:
    """The ``ray`` module, or a :class:`RayUnavailableError` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailableError(f"--executor ray needs Ray, which is not installed here; {INSTALL_HINT}") from exc
    return ray


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast (Ray itself retries for minutes) when nothing listens at a ``HOST:PORT`` cluster address.

    ``auto`` (the cluster started on this machine with ``ray start``) is left to Ray.
    """
    if address == "auto":
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise RayUnavailableError(
            f"--ray-address {address!r} is not HOST:PORT; give the address `ray start --head` printed "
            "(e.g. 10.0.0.5:6379), or 'auto' for the cluster started on this machine"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise RayUnavailableError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start it with `ray start --head` "
            "on that machine and pass the address it prints, or leave --ray-address out to run on a Ray "
            "started on this machine"
        ) from exc


# ----------------------------------------------------------------- the node side
_NODE_ENVS: dict[str, EnvPool] = {}
_NODE_CACHE: list[InstanceCache] = []


def _node_envs(run_id: str) -> EnvPool:
    """This worker process's envs for the run (envs of an earlier run are closed)."""
    for old in [key for key in _NODE_ENVS if key != run_id]:
        close_envs(_NODE_ENVS.pop(old))
    return _NODE_ENVS.setdefault(run_id, {})


def _node_cache() -> InstanceCache:
    """This node's own instance cache (``$ASIBENCH_ENV_CACHE`` of the node), one per worker process."""
    if not _NODE_CACHE:
        _NODE_CACHE.append(InstanceCache())
    return _NODE_CACHE[0]


def attempt_on_node(job: EpisodeJob, spec: EpisodeSpec, attempt: int) -> EpisodeRecord:
    """The body of the Ray task: one attempt on this node, with this node's instance cache."""
    ray = import_ray()
    node = ray.get_runtime_context().get_node_id()
    options = {**job.env_kwargs, "instance_cache": _node_cache()}
    return run_attempt(job, spec, attempt, envs=_node_envs(job.run_id), env_options=options, node=node)


# ----------------------------------------------------------------- the driver side
class RayExecutor(Executor):
    """Episodes as Ray tasks on a cluster (``address``) or on a Ray started here (``address=None``).

    Each task asks for ``num_cpus`` CPUs and ``memory_bytes`` of memory, plus one ``docker_sandbox``
    resource when the sandbox is Docker (so episodes go only to nodes with an engine). A task whose
    node or worker dies is re-run by Ray on another node up to ``node_retries`` times; after that it
    comes back as an ``infra_error`` record, which the driver retries like any infrastructure error.
    """

    name = "ray"

    def __init__(
        self,
        max_in_flight: int = 1,
        *,
        address: str | None = None,
        num_cpus: float = 1.0,
        memory_bytes: int = 1024**3,
        node_retries: int = 3,
    ):
        super().__init__(max_in_flight)
        if num_cpus <= 0:
            raise ValueError(f"num_cpus per episode must be positive, got {num_cpus}")
        self.address = address
        self.num_cpus = num_cpus
        self.memory_bytes = memory_bytes
        self.node_retries = node_retries
        self._ray: Any = None
        self._owns_ray = False
        self._job: EpisodeJob | None = None
        self._job_ref: Any = None
        self._remote: Any = None
        self._refs: dict[Any, tuple[EpisodeSpec, int]] = {}

    def start(self, job: EpisodeJob, on_generation: Callable[[GenerationStatus], None] | None = None) -> None:
        """Connect to (or start) Ray, check the cluster can run an episode, ship the job once."""
        docker = job.env_kwargs.get("sandbox") == "docker"
        ray = self.connect(docker)
        env_kwargs = {k: v for k, v in job.env_kwargs.items() if k != "instance_cache"}  # each node has its own
        self._job = replace(job, env_kwargs=env_kwargs)
        self._job_ref = ray.put(self._job)
        self._remote = ray.remote(attempt_on_node).options(**self.task_options(docker))

    def connect(self, docker: bool) -> Any:
        """Connect to (or start) Ray and check the cluster can run one unit of work; returns ``ray``."""
        ray = self._ray = import_ray()
        if not ray.is_initialized():
            if self.address is not None:
                check_reachable(self.address)
            options: dict[str, Any] = {
                "address": self.address,
                "log_to_driver": False,
                "logging_level": logging.WARNING,
            }
            if self.address is None:
                options.update(include_dashboard=False, resources={DOCKER_RESOURCE: 1024} if docker else {})
            try:
                ray.init(**options)
            except (ConnectionError, RuntimeError) as exc:
                raise RayUnavailableError(
                    f"cannot connect to Ray at {self.address or 'a new local Ray'}: {exc}"
                ) from exc
            self._owns_ray = True
        self._check_resources(ray.cluster_resources(), docker)
        return ray

    def task_options(self, docker: bool) -> dict[str, Any]:
        """The Ray task options of one unit of work: declared resources and node-loss re-runs."""
        return {
            "num_cpus": self.num_cpus,
            "memory": self.memory_bytes,
            "resources": {DOCKER_RESOURCE: 1} if docker else {},
            "max_retries": self.node_retries,
            "retry_exceptions": False,  # the units never raise; only lost workers and nodes are re-run by Ray
        }

    def futures(self, docker: bool) -> RayFutures:
        """A ``concurrent.futures.Executor`` running functions as Ray tasks with this executor's resources.

        For work other than run's episodes (grouped rollouts); closing it closes this executor.
        """
        ray = self.connect(docker)
        return RayFutures(ray, self.task_options(docker), self.close)

    def _check_resources(self, total: dict[str, float], docker: bool) -> None:
        if docker and total.get(DOCKER_RESOURCE, 0) < 1:
            raise RayUnavailableError(
                f"no node of the Ray cluster declares the {DOCKER_RESOURCE!r} resource that --sandbox docker "
                f"episodes ask for; start the nodes that have a Docker engine and the sandbox image with "
                f"`ray start ... --resources '{{\"{DOCKER_RESOURCE}\": N}}'` (N: Docker sandboxes at once)"
            )
        if total.get("CPU", 0) < self.num_cpus:
            raise RayUnavailableError(
                f"the Ray cluster has {total.get('CPU', 0):g} CPU(s) in all, an episode asks for {self.num_cpus:g}; "
                "add nodes or ask for fewer CPUs per episode"
            )

    def submit(self, spec: EpisodeSpec, attempt: int) -> None:
        """Start one attempt as a Ray task (queued by Ray until a node has the resources)."""
        ref = self._remote.remote(self._job_ref, spec, attempt)
        self._refs[ref] = (spec, attempt)

    def wait(self, timeout: float) -> list[EpisodeRecord]:
        """Records of finished tasks; a task lost for good becomes an infra_error record."""
        if not self._refs:
            time.sleep(timeout)
            return []
        ray = self._ray
        ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(list(self._refs), num_returns=len(self._refs), timeout=0)
        records = []
        for ref in ready:
            entry = self._refs.pop(ref, None)
            if entry is None:  # cancelled meanwhile
                continue
            spec, attempt = entry
            try:
                records.append(ray.get(ref))
            except Exception as exc:  # noqa: BLE001 - any Ray error (node died, worker crashed, object lost)
                logger.warning("Ray lost %s (attempt %d): %s", spec, attempt, exc)
                assert self._job is not None
                error = f"lost on the Ray cluster after {self.node_retries} re-run(s): {type(exc).__name__}: {exc}"
                records.append(
                    EpisodeRecord(
                        spec=spec,
                        attempt=attempt,
                        result=harness_failure(spec, self._job.registry, error[:2000]),
                        agent_name=str((self._job.agent_config or {}).get("name", "unknown")),
                    )
                )
        return records

    def in_flight(self) -> int:
        """Tasks submitted and not yet returned."""
        return len(self._refs)

    def cancel(self) -> None:
        """Kill the running tasks (their episodes are abandoned; nothing of them was written)."""
        for ref in list(self._refs):
            try:
                self._ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - a task that just finished cannot be cancelled
                logger.debug("could not cancel %s", ref)
        self._refs.clear()

    def describe(self) -> dict[str, Any]:
        """The executor, the cluster address and what each episode asks for."""
        return {
            **super().describe(),
            "address": self.address,
            "num_cpus": self.num_cpus,
            "memory_bytes": self.memory_bytes,
        }

    def close(self) -> None:
        """Disconnect from Ray (and stop it when this executor started it)."""
        if self._owns_ray and self._ray is not None and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_ray = False


class RayFutures(futures.Executor):
    """``submit(fn, *args)`` runs module-level ``fn`` as a Ray task with ``options``; its future is Ray's.

    A task Ray lost for good (after its re-runs on other nodes) raises from ``future.result()``; the
    caller turns that into an infra_error. ``fn`` must never raise for its own failures.
    """

    def __init__(self, ray: Any, options: dict[str, Any], on_shutdown: Callable[[], None]):
        self._ray = ray
        self._options = options
        self._on_shutdown = on_shutdown
        self._remotes: dict[Callable[..., Any], Any] = {}
        self._refs: dict[futures.Future[Any], Any] = {}

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> futures.Future[Any]:
        """Start ``fn(*args, **kwargs)`` as a Ray task (queued by Ray until a node has the resources)."""
        remote = self._remotes.get(fn)
        if remote is None:
            remote = self._remotes[fn] = self._ray.remote(fn).options(**self._options)
        ref = remote.remote(*args, **kwargs)
        future: futures.Future[Any] = ref.future()
        self._refs[future] = ref
        future.add_done_callback(lambda done: self._refs.pop(done, None))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Cancel the tasks not finished when ``cancel_futures``, then release Ray (idempotent)."""
        if cancel_futures:
            for ref in list(self._refs.values()):
                try:
                    self._ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - a task that just finished cannot be cancelled
                    logger.debug("could not cancel %s", ref)
        self._refs.clear()
        self._on_shutdown()
