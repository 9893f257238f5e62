"""What only the local sandbox has: namespaces, its host workspace, the fallback without isolation.

The sandbox contract itself (both backends) is in test_sandbox.py."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asibench_env.sandbox import Sandbox, open_sandbox
from asibench_env.sandbox.base import SandboxError, SandboxLimits
from asibench_env.sandbox.conformance import SandboxConformance
from asibench_env.sandbox.local import _POOLS, _RELEASES, LocalSandbox, namespaces_available


@pytest.fixture
def sandbox(seed_dir: Path):
    box = LocalSandbox(seed_dir, limits=SandboxLimits(output_bytes=4096, max_processes=64))
    yield box
    box.close()


def test_namespaces_are_used_on_this_machine(sandbox: LocalSandbox):
    assert namespaces_available()[0]
    assert sandbox.isolation.level == "namespaces" and not sandbox.isolation.network


def test_close_leaves_nothing_behind(seed_dir: Path):
    box = LocalSandbox(seed_dir)
    box.exec("sleep 1000 &")
    box.run_python("x = 1")
    workspace = box.workspace
    box.close()
    box.close()
    assert not workspace.exists()
    ps = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout
    assert str(workspace.parent) not in ps and "sleep 1000" not in ps
    with pytest.raises(SandboxError):
        box.exec("true")


def test_dropped_sandbox_is_cleaned_up(seed_dir: Path):
    import gc

    box = LocalSandbox(seed_dir)
    box.exec("sleep 1001 &")
    base = box.workspace.parent
    del box
    gc.collect()
    time.sleep(0.2)
    assert not base.exists()
    assert "sleep 1001" not in subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout


def test_fallback_without_namespaces_warns(seed_dir: Path, caplog: pytest.LogCaptureFixture):
    with caplog.at_level("WARNING"), LocalSandbox(seed_dir, isolation="none") as box:
        assert box.isolation.level == "none" and box.isolation.network
        assert "WITHOUT isolation" in caplog.text
        result = box.exec("export A=1; cd data; pwd; echo $A")
        assert result.output.split()[-1] == "1" and result.output.split()[0].endswith("/workspace/data")
        assert box.run_python("print(2 + 2)").output.strip() == "4"
        slow = box.exec("sleep 100 & sleep 100", timeout=1)
        assert slow.timed_out
        box.write_file("a/b.txt", "x")
        assert box.read_file("a/b.txt") == b"x"


def test_namespaces_requested_but_unavailable_is_an_error(seed_dir: Path, monkeypatch: pytest.MonkeyPatch):
    import asibench_env.sandbox.local as local

    monkeypatch.setattr(local, "namespaces_available", lambda: (False, "disabled for the test"))
    with pytest.raises(SandboxError, match="disabled for the test"):
        LocalSandbox(seed_dir, isolation="namespaces")


def test_loopback_is_down(sandbox: LocalSandbox):
    out = sandbox.run_python(
        "import socket\ns = socket.socket()\ntry:\n    s.bind(('127.0.0.1', 0)); s.listen(); c = socket.socket()\n"
        "    c.settimeout(1); c.connect(s.getsockname()); print('UP')\nexcept OSError as exc:\n    print('DOWN', exc)"
    ).output
    assert "DOWN" in out


class TestLocalSandboxWarmPool(SandboxConformance):
    """The whole sandbox contract holds for sandboxes taken from the local warm pool."""

    backend = "local"
    isolation_level = "namespaces"

    def open_sandbox(self, seed_dir: Path, **limits: Any) -> Sandbox:
        return open_sandbox("local", seed_dir, limits=SandboxLimits(**limits), warm_pool=2)


@pytest.fixture(autouse=True, scope="module")
def _shutdown_local_pools() -> Iterator[None]:
    yield
    LocalSandbox.shutdown()


def _pooled_box(seed_dir: Path, size: int = 1) -> LocalSandbox:
    """A sandbox that really came from the pool (waits, without timing anything, for the pool to be ready)."""
    LocalSandbox(seed_dir, warm_pool=size).close()  # creates the pool (this first one is started directly)
    pool = next(p for p in _POOLS.pools().values() if p.size == size)
    while pool.ready() < size:
        time.sleep(0.05)
    return LocalSandbox(seed_dir, warm_pool=size)


def test_pooled_sandboxes_are_never_reused_and_seeded_like_fresh_ones(seed_dir: Path):
    try:
        first = _pooled_box(seed_dir, 2)
        fresh = LocalSandbox(seed_dir)
        assert first.isolation.details["warm_pool"] == "2"
        first.write_file("mine.txt", "episode 1")
        first.run_python("secret = 42")
        first_base, first_pid1 = first.workspace.parent, first._pid1
        first.close()
        second = LocalSandbox(seed_dir, warm_pool=2)
        assert second.workspace.parent != first_base and second._pid1 != first_pid1
        _RELEASES.wait()  # a pooled sandbox's folders are removed in the background
        assert not first_base.exists()
        assert "NameError" in second.run_python("secret").output
        assert sorted(e.path for e in second.list_files(".")) == sorted(e.path for e in fresh.list_files("."))
        assert "CLAUDE.md" not in [e.path for e in second.list_files(".")]
        # owned and permissioned exactly like a fresh sandbox's workspace
        stat = lambda box, rel: (box.workspace / rel).stat()  # noqa: E731
        for rel in (".", "data", "data/x.npy", "prompt.md"):
            a, b = stat(second, rel), stat(fresh, rel)
            assert (a.st_mode, a.st_uid != 0) == (b.st_mode, b.st_uid != 0), rel
            assert a.st_uid == second._uid and b.st_uid == fresh._uid
        assert second.exec("echo hi > data/new.txt && cat data/x.npy").output.strip() == "placeholder"
        second.close()
        fresh.close()
    finally:
        LocalSandbox.shutdown()


def test_shutdown_discards_the_pooled_sandboxes(seed_dir: Path):
    box = _pooled_box(seed_dir, 2)
    box.close()
    pooled = [b for p in _POOLS.pools().values() for b in list(p._ready)]
    assert pooled and all(b._alive() for b in pooled)
    LocalSandbox.shutdown()
    assert _POOLS.pools() == {}
    for b in pooled:
        assert not b._alive() and not b.workspace.parent.exists()
    # usable again afterwards: the next sandbox starts a new pool
    with LocalSandbox(seed_dir, warm_pool=1) as again:
        assert again.exec("cat prompt.md").output == "do the task"
    LocalSandbox.shutdown()


def test_cli_warm_pool_option_applies_to_the_local_sandbox():
    import typer

    from asibench_env.cli.run_setup import sandbox_options

    assert sandbox_options("local", None, 2) == {"warm_pool": 2}
    assert sandbox_options("local", None, 0) == {}
    with pytest.raises(typer.BadParameter, match="--image applies to --sandbox docker"):
        sandbox_options("local", "some/image:1", 0)


def test_a_runtime_cached_under_the_hosts_tmp_is_visible_inside(
    seed_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The sandbox's private /tmp must not hide a task runtime that lives under the host's /tmp
    (ASIBENCH_ENV_CACHE or XDG_CACHE_HOME there): its packages were missing and the oracle scored 0."""
    assert str(tmp_path).startswith("/tmp/")
    monkeypatch.setenv("ASIBENCH_ENV_RUNTIMES", str(tmp_path / "runtimes"))
    box = LocalSandbox(seed_dir, runtime_packages=["numpy"])
    try:
        assert box.isolation.details["runtime"].startswith(str(tmp_path))
        result = box.run_python("import numpy\nprint(numpy.arange(3).sum())")
        assert result.exit_code == 0 and result.output.strip() == "3", result.output
        shell = box.exec("python3 -c 'import numpy; print(numpy.__name__)'; ls /tmp | wc -l")
        assert shell.exit_code == 0 and shell.output.splitlines()[0] == "numpy", shell.output
    finally:
        box.close()
