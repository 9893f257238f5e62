"""The bounded instance cache: LRU eviction under a size cap, leases, cross-process safety, and prefetch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from asibench_env.agents.null import NullAgent
from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.paths import DEFAULT_CACHE_MAX_BYTES, instance_cache_max_bytes, parse_size
from asibench_env.runs.batch import run_batch
from asibench_env.runs.runner import EpisodeSpec
from asibench_env.tasks.instances import InstanceCache, InstanceGenerationError, sample_params
from asibench_env.tasks.loading import Task, load_task
from asibench_env.tasks.prefetch import Prefetcher
from asibench_env.tasks.registry import TaskRegistry

BLOB_BYTES = 20_000
"""Each fake instance's data: about 20 kB, so a cap of N * 21 kB holds N instances."""
ENTRY_BYTES = BLOB_BYTES + 1_000

# A generator without numpy (fast to start) that writes its data slowly, in chunks, so that a reader
# of a half-written instance would see a short file; it logs every call beside itself; seed 13 fails.
FAKE_GENERATOR = textwrap.dedent(
    f"""
    import argparse, json, os, sys, time
    from pathlib import Path
    parser = argparse.ArgumentParser()
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--params", default="{{}}")
    args = parser.parse_args()
    params = json.loads(args.params)
    seed = int(params["seed"])
    with open(Path(__file__).parent / "calls.log", "a") as log:
        log.write(f"{{seed}}\\n")
    if seed == 13:
        print("seed 13 is unlucky", file=sys.stderr)
        sys.exit(5)
    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "blob.bin", "wb") as handle:
        for _ in range(4):
            handle.write(bytes([seed % 256]) * ({BLOB_BYTES} // 4))
            handle.flush()
            time.sleep(float(params.get("delay", 0.01)))
    (out / "reference" / "answer.txt").write_text(str(seed))
    (out / "instance_meta.json").write_text(json.dumps({{"task_id": "demo.line_fit", "params_used": params}}))
    """
)


def _host_python(_task: Task) -> str:
    return sys.executable


@pytest.fixture
def fake_task(copy_task) -> Task:
    task_dir = copy_task()
    (task_dir / "generate_gt.py").write_text(FAKE_GENERATOR)
    return load_task(task_dir)


def _calls(task: Task) -> list[int]:
    log = task.task_dir / "calls.log"
    return [int(line) for line in log.read_text().split()] if log.exists() else []


def _cache(root: Path, entries: float, **kwargs) -> InstanceCache:
    return InstanceCache(
        root,
        python_for=_host_python,
        max_bytes=int(entries * ENTRY_BYTES),
        grace_s=0.0,
        prefetcher=Prefetcher(2),
        **kwargs,
    )


def _cached_seeds(cache: InstanceCache) -> set[int]:
    return {
        int(
            e.path.joinpath(next(p.name for p in e.path.iterdir() if p.is_dir()), "reference", "answer.txt").read_text()
        )
        for e in cache.store.entries()
    }


# ---------------------------------------------------------------------- the cap and LRU eviction
def test_size_settings():
    assert parse_size("20G") == 20 * 1024**3 and parse_size("512 MiB") == 512 * 1024**2 and parse_size("1000") == 1000
    assert parse_size("none") is None
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")
    assert instance_cache_max_bytes() == DEFAULT_CACHE_MAX_BYTES


def test_size_cap_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("ASIBENCH_ENV_CACHE_MAX_BYTES", "3M")
    assert InstanceCache(tmp_path).max_bytes == 3 * 1024**2
    monkeypatch.setenv("ASIBENCH_ENV_CACHE_MAX_BYTES", "unlimited")
    assert InstanceCache(tmp_path).max_bytes is None
    monkeypatch.setenv("ASIBENCH_ENV_CACHE_MAX_BYTES", "twenty")
    with pytest.raises(ValueError, match="ASIBENCH_ENV_CACHE_MAX_BYTES"):
        InstanceCache(tmp_path)
    assert InstanceCache(tmp_path, max_bytes="1K").max_bytes == 1024


def test_least_recently_used_instances_are_evicted_first(tmp_path: Path, fake_task: Task):
    cache = _cache(tmp_path / "cache", 2.5)
    for seed in (0, 1):
        cache.get(fake_task, sample_params(fake_task, seed))
        time.sleep(0.02)
    cache.get(fake_task, sample_params(fake_task, 0))  # 0 is now more recent than 1
    time.sleep(0.02)
    cache.get(fake_task, sample_params(fake_task, 2))
    assert _cached_seeds(cache) == {0, 2}
    assert cache.usage() <= cache.max_bytes
    time.sleep(0.02)
    cache.get(fake_task, sample_params(fake_task, 3))
    assert _cached_seeds(cache) == {2, 3}
    # a used instance is not generated again, an evicted one is
    assert cache.get(fake_task, sample_params(fake_task, 3))[1] is True
    assert cache.get(fake_task, sample_params(fake_task, 0))[1] is False
    assert _calls(fake_task) == [0, 1, 2, 3, 0]


def test_a_leased_instance_is_never_evicted_and_the_cap_holds_once_released(tmp_path: Path, fake_task: Task):
    cache = _cache(tmp_path / "cache", 1.5)
    lease = cache.acquire(fake_task, sample_params(fake_task, 0))
    for seed in (1, 2):
        time.sleep(0.02)
        cache.get(fake_task, sample_params(fake_task, seed))
        assert _cached_seeds(cache) == {0}  # the leased one stays, the others go as soon as they are returned
    other = cache.acquire(fake_task, sample_params(fake_task, 3))
    assert _cached_seeds(cache) == {0, 3} and cache.usage() > cache.max_bytes  # both in use: over the cap
    assert (tmp_path / "cache" / ".over-cap").exists()
    assert (lease.ref.path / "data" / "blob.bin").read_bytes() == bytes([0]) * BLOB_BYTES
    lease.release()
    lease.release()  # idempotent
    assert _cached_seeds(cache) == {3} and cache.usage() <= cache.max_bytes  # trimmed when the lease ended
    assert not (tmp_path / "cache" / ".over-cap").exists()
    other.release()
    assert _cached_seeds(cache) == {3}


def test_grace_period_protects_instances_returned_without_a_lease(tmp_path: Path, fake_task: Task):
    cache = InstanceCache(tmp_path / "cache", python_for=_host_python, max_bytes=ENTRY_BYTES, grace_s=3600)
    for seed in (0, 1):
        cache.get(fake_task, sample_params(fake_task, seed))
    assert _cached_seeds(cache) == {0, 1} and cache.usage() > cache.max_bytes
    assert cache.trim() == 0


def test_entries_from_before_size_records_are_counted(tmp_path: Path, fake_task: Task):
    cache = _cache(tmp_path / "cache", 10)
    ref, _ = cache.get(fake_task, sample_params(fake_task, 0))
    (ref.path.parent / ".entry").unlink()  # as an older version left it
    assert cache.usage() == sum(p.stat().st_size for p in ref.path.rglob("*") if p.is_file())
    assert (ref.path.parent / ".entry").is_file()


# ---------------------------------------------------------------------- two real processes
WORKER = textwrap.dedent(
    """
    import json, random, sys, time
    from pathlib import Path
    from asibench_env.tasks.instances import InstanceCache, sample_params
    from asibench_env.tasks.loading import load_task
    root, task_dir, cap, rounds, worker = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    task = load_task(Path(task_dir))
    cache = InstanceCache(Path(root), python_for=lambda _t: sys.executable, max_bytes=cap, grace_s=0.0)
    rng = random.Random(worker)
    problems = []
    for _ in range(rounds):
        seed = rng.randrange(6)
        with cache.acquire(task, sample_params(task, seed)) as lease:
            for _check in range(2):
                blob = lease.ref.path / "data" / "blob.bin"
                data = blob.read_bytes() if blob.exists() else b""
                if data != bytes([seed]) * 20000:
                    problems.append(f"seed {seed}: data of {len(data)} bytes")
                answer = lease.ref.reference_dir / "answer.txt"
                if not answer.exists() or answer.read_text() != str(seed):
                    problems.append(f"seed {seed}: reference vanished")
                time.sleep(rng.uniform(0, 0.02))
    print(json.dumps(problems))
    """
)


@pytest.mark.slow
def test_two_processes_hammering_a_small_cache(tmp_path: Path, fake_task: Task):
    root = tmp_path / "cache"
    cap = int(2.5 * ENTRY_BYTES)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(root), str(fake_task.task_dir), str(cap), "40", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    outputs = [proc.communicate(timeout=600) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-3000:]
        assert json.loads(out.strip().splitlines()[-1]) == [], out
    cache = _cache(root, 2.5)
    assert 0 < cache.usage() <= cap  # at rest, the cap holds
    assert not list(root.rglob(".gen-*"))  # no staging leftovers
    assert not any((root / ".trash").iterdir()) if (root / ".trash").exists() else True
    assert len(_calls(fake_task)) > 6  # instances were evicted and generated again


@pytest.mark.slow
def test_two_processes_asking_for_the_same_new_instance_generate_it_once(tmp_path: Path, fake_task: Task):
    root = tmp_path / "cache"
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from asibench_env.tasks.instances import InstanceCache, sample_params
        from asibench_env.tasks.loading import load_task
        task = load_task(Path(sys.argv[2]))
        params = {**sample_params(task, 7), "delay": 0.3}
        ref, cached = InstanceCache(Path(sys.argv[1]), python_for=lambda _t: sys.executable).get(task, params)
        print(ref.path, cached)
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(root), str(fake_task.task_dir)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    lines = [proc.communicate(timeout=120)[0].split() for proc in procs]
    assert lines[0][0] == lines[1][0]
    assert sorted(line[1] for line in lines) == ["False", "True"]
    assert _calls(fake_task) == [7]


# ---------------------------------------------------------------------- prefetch
def test_prefetch_generates_ahead_and_a_reset_waits_instead_of_generating_twice(tmp_path: Path, fake_task: Task):
    cache = _cache(tmp_path / "cache", 100)
    params = {**sample_params(fake_task, 5), "delay": 0.2}
    future = cache.prefetch(fake_task, params)
    assert cache.prefetch(fake_task, params) is future  # in flight: the same future
    ref, cached = cache.get(fake_task, params)  # waits for the prefetch
    assert cached and ref == future.result()
    assert _calls(fake_task) == [5]
    assert cache.prefetch(fake_task, params).result() == ref  # cached: done at once


def test_a_failed_prefetch_surfaces_at_the_reset_that_needs_it(tmp_path: Path, fake_task: Task):
    cache = _cache(tmp_path / "cache", 100)
    bad = cache.prefetch(fake_task, sample_params(fake_task, 13))
    good = cache.prefetch(fake_task, sample_params(fake_task, 4))
    assert good.result().instance_id.endswith("seed4")  # the pool survived the failure
    assert isinstance(bad.exception(), InstanceGenerationError)
    with pytest.raises(InstanceGenerationError, match="exit code 5") as err:
        cache.get(fake_task, sample_params(fake_task, 13))
    assert "seed 13 is unlucky" in str(err.value)
    assert _calls(fake_task).count(13) == 1  # the reset got the prefetch's error, it did not generate again
    with pytest.raises(InstanceGenerationError):  # the error was handed over once: the next try generates
        cache.get(fake_task, sample_params(fake_task, 13))
    assert _calls(fake_task).count(13) == 2


def test_env_prefetches_the_next_seeds(tmp_path: Path, fake_task: Task):
    registry = TaskRegistry([fake_task.task_dir.parent.parent])
    cache = _cache(tmp_path / "cache", 100)
    env = AsiBenchEnv(fake_task.id, registry=registry, instance_cache=cache, prefetch=2)
    try:
        _, info = env.reset(seed=10)
        assert info["instance_cached"] is False
        for future in env.prefetch([11, 12]):  # the futures the reset started
            future.result()
        assert sorted(_calls(fake_task)) == [10, 11, 12]
        _, info = env.reset(seed=11)
        assert info["instance_cached"] is True
        env.prefetch([13])[0].exception()  # seed 13's generator fails: nothing raised here
        with pytest.raises(InstanceGenerationError):
            env.reset(seed=13)
        assert env.prefetch([], None) == []
    finally:
        env.close()


def test_env_holds_a_lease_until_the_episode_is_scored(tmp_path: Path, fake_task: Task):
    registry = TaskRegistry([fake_task.task_dir.parent.parent])
    cache = _cache(tmp_path / "cache", 0.5)  # smaller than one instance: only leases keep them
    env = AsiBenchEnv(fake_task.id, registry=registry, instance_cache=cache)
    try:
        env.reset(seed=1)
        assert env._lease is not None and env._lease.held
        cache.get(fake_task, sample_params(fake_task, 2))  # over the cap: evicts all it can
        assert _cached_seeds(cache) == {1}
        env.step({"tool": "submit", "arguments": {}})
        assert env._lease is None and _cached_seeds(cache) == set()
    finally:
        env.close()


@pytest.mark.slow
def test_batch_runner_prefetches_ahead_of_its_workers(tmp_path: Path, fake_task: Task):
    registry = TaskRegistry([fake_task.task_dir.parent.parent])
    threads: list[str] = []
    cache = InstanceCache(
        tmp_path / "cache", python_for=_host_python, progress=lambda _s: threads.append(threading.current_thread().name)
    )
    specs = [EpisodeSpec(fake_task.id, "B1", seed) for seed in range(4)]
    outcome = run_batch(
        specs,
        NullAgent,
        tmp_path / "run",
        registry=registry,
        show_progress=False,
        env_kwargs={"instance_cache": cache},
        concurrency=1,
        prefetch=2,
    )
    assert len(outcome.results) == 4
    assert sorted(_calls(fake_task)) == [0, 1, 2, 3]  # each generated once
    assert any(name.startswith("asibench-prefetch") for name in threads)


def test_a_reset_does_not_wait_behind_queued_prefetches(tmp_path: Path, fake_task: Task):
    cache = InstanceCache(tmp_path / "cache", python_for=_host_python, max_bytes=None, prefetcher=Prefetcher(1))
    busy = cache.prefetch(fake_task, {**sample_params(fake_task, 20), "delay": 1.0})  # 4 s on the only worker
    queued = cache.prefetch(fake_task, sample_params(fake_task, 21))
    ref, cached = cache.get(fake_task, sample_params(fake_task, 21))  # generated now, not after seed 20
    assert not cached and ref.instance_id.endswith("seed21")
    assert queued.cancelled()
    busy.result()
    assert sorted(_calls(fake_task)) == [20, 21]
