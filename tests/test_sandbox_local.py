"""What only the local sandbox has: namespaces, its host workspace, the fallback without isolation.

The sandbox contract itself (both backends) is in test_sandbox.py."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from asibench_env.sandbox.base import SandboxError, SandboxLimits
from asibench_env.sandbox.local import LocalSandbox, namespaces_available


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
