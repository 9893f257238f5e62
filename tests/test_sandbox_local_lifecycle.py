"""The local sandbox really ends and is really bounded (issue 16, reproductions 1 to 3), with real processes.

Its init is PID 1 of its pid namespace, so closing kills everything the agent started; a watchdog pipe
ends it when the driver dies; orphaned folders are swept; a cgroup bounds memory, processes and CPU;
the workspace is a size-capped tmpfs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import CLI, cli_env

from asibench_env.sandbox import local_limits
from asibench_env.sandbox.base import SandboxError, SandboxLimits
from asibench_env.sandbox.cgroups import CgroupSupport
from asibench_env.sandbox.local import LocalSandbox
from asibench_env.sandbox.local_sweep import FOLDER_PREFIX, chrooted_into, sweep_folders
from asibench_env.sandbox.owner import FolderRecord, ProcessRef, current_owner, read_record, write_record

pytestmark = pytest.mark.fault  # part of the fault battery (docs/security.md)


def _uid_processes(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def _wait_for(condition, what: str, limit: float = 60.0) -> None:
    """Wait for a condition the kernel makes true asynchronously (a generous bound, not a timing check)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.05)


# ---------------------------------------------------------------------- reproduction 1
def test_setsid_exec_cannot_outlive_the_sandbox(seed_dir: Path):
    box = LocalSandbox(seed_dir)
    uid, base = box._uid, box.workspace.parent
    assert uid is not None and box._pid1 is not None
    result = box.exec("exec setsid sleep 100000", timeout=3)
    assert result.exit_code != 0  # the shell replaced itself: a new one is started
    assert not any(b"100000" in Path(f"/proc/{pid}/cmdline").read_bytes() for pid in _uid_processes(uid))
    box.exec(
        "(setsid bash -c 'while :; do date >> /workspace/writer.log; sleep 0.05; done' "
        "</dev/null >/dev/null 2>&1 &); exec setsid sleep 100000 </dev/null >/dev/null 2>&1 &"
    )
    _wait_for(lambda: (box.workspace / "writer.log").exists(), "the writer's first line")
    survivors = [ProcessRef.of(pid) for pid in [*box._pids(), box._pid1, box._shell_pid]]
    assert len(survivors) >= 4
    box.close()
    assert not base.exists()
    assert all(ref is None or not ref.alive() for ref in survivors)
    assert _uid_processes(uid) == [] and chrooted_into(base / "root") == []


def test_env_close_after_setsid_exec_leaves_no_process(make_env):
    env = make_env(sandbox="local")
    _, info = env.reset(seed=0)
    assert info["sandbox"]["details"]["limits"] == "whole sandbox"
    box = env.sandbox
    assert isinstance(box, LocalSandbox) and box._uid is not None
    uid, base = box._uid, box.workspace.parent
    env.step({"tool": "bash", "arguments": {"command": "exec setsid sleep 100000", "timeout": 3}})
    env.close()
    assert _uid_processes(uid) == [] and not base.exists()


def test_restart_kills_the_old_namespace_and_keeps_the_workspace(seed_dir: Path):
    with LocalSandbox(seed_dir) as box:
        box.exec("echo kept > kept.txt; (setsid sleep 100001 &)")
        old_init = ProcessRef.of(box._pid1 or 0)
        assert old_init is not None
        ended = box.exec("exit 3")
        assert ended.restarted and not old_init.alive()
        assert box.exec("cat kept.txt").output.strip() == "kept"
        assert not any(b"100001" in Path(f"/proc/{p}/cmdline").read_bytes() for p in box._pids())


# ---------------------------------------------------------------------- reproduction 2
DRIVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from asibench_env.sandbox.local import LocalSandbox
    box = LocalSandbox(Path(sys.argv[1]))
    print(box.workspace.parent, box._pid1, flush=True)
    box.exec("sleep 100000", timeout=100000)
    """
)


@pytest.mark.slow
def test_killed_driver_ends_its_sandbox_and_sweep_removes_the_folder(seed_dir: Path, tmp_path: Path):
    root = tmp_path / "sandboxes"
    root.mkdir()
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(seed_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(root)},
    )
    assert driver.stdout is not None
    base_text, init_text = driver.stdout.readline().split()
    base = Path(base_text)
    assert base.parent == root
    record = read_record(base)
    assert record is not None and record.owner.pid == driver.pid and record.init is not None
    assert record.init.pid == int(init_text)

    def sleeping() -> bool:
        return any(b"100000" in Path(f"/proc/{p}/cmdline").read_bytes() for p in chrooted_into(base / "root"))

    _wait_for(sleeping, "the step's sleep to start")
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    _wait_for(lambda: chrooted_into(base / "root") == [] and not record.init.alive(), "the watchdog to end the sandbox")
    assert base.exists() and not record.owner.alive()
    assert sweep_folders(root) == 1
    assert not base.exists()
    assert all(not Path(p).exists() for p in record.cgroups)


def test_sweep_keeps_live_owners_and_unrecorded_young_folders(tmp_path: Path):
    live, dead, young, old = (tmp_path / f"{FOLDER_PREFIX}{name}" for name in ("live", "dead", "young", "old"))
    for folder in (live, dead, young, old):
        (folder / "workspace").mkdir(parents=True)
    me = current_owner()
    write_record(live, FolderRecord(owner=me))
    write_record(dead, FolderRecord(owner=ProcessRef(pid=me.pid, start_time=me.start_time + 1)))
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert sweep_folders(tmp_path) == 2
    assert live.exists() and young.exists() and not dead.exists() and not old.exists()
    assert sweep_folders(tmp_path, everything=True) == 2
    assert not live.exists() and not young.exists()


def test_cli_sweep_local(tmp_path: Path):
    root = tmp_path / "sandboxes"
    orphan = root / f"{FOLDER_PREFIX}orphan"
    orphan.mkdir(parents=True)
    me = current_owner()
    write_record(orphan, FolderRecord(owner=ProcessRef(pid=me.pid, start_time=me.start_time + 1)))
    env = cli_env(tmp_path, TMPDIR=str(root))
    swept = subprocess.run([*CLI, "sandbox", "sweep", "--backend", "local"], capture_output=True, text=True, env=env)
    assert swept.returncode == 0 and "local: removed 1 folder(s)" in swept.stdout
    assert not orphan.exists()
    wrong = subprocess.run([*CLI, "sandbox", "sweep", "--backend", "nope"], capture_output=True, text=True, env=env)
    assert wrong.returncode == 2


@pytest.mark.slow
def test_cli_sweep_all_backends(docker_client, tmp_path: Path):
    env = cli_env(tmp_path, TMPDIR=str(tmp_path))
    swept = subprocess.run([*CLI, "sandbox", "sweep"], capture_output=True, text=True, env=env, timeout=120)
    assert swept.returncode == 0
    assert "local: removed 0 folder(s)" in swept.stdout and "docker: removed" in swept.stdout


# ---------------------------------------------------------------------- reproduction 3
ALLOCATE = "python -c \"import time; b = b'x' * (612 * 2**20); print('held', flush=True); time.sleep(4)\""


@pytest.mark.slow
def test_memory_is_capped_for_the_whole_sandbox(seed_dir: Path):
    with LocalSandbox(seed_dir, limits=SandboxLimits(memory_bytes=1024**3)) as box:
        assert "whole sandbox" in str(box.isolation.details["memory"])
        result = box.exec(
            f"pids=(); for i in 1 2 3; do {ALLOCATE} & pids+=($!); done; "
            'for p in "${pids[@]}"; do wait $p; echo "rc=$?"; done',
            timeout=120,
        )
        codes = [line for line in result.output.split() if line.startswith("rc=")]
        assert len(codes) == 3 and codes.count("rc=0") < 3, result.output
        assert box.exec("echo alive").output.strip() == "alive"
        assert box._res.cgroup is not None
        peak = box._res.cgroup.memory_peak()
        assert peak is not None and peak <= 1024**3


@pytest.mark.slow
def test_workspace_is_size_capped_and_seen_by_the_host(seed_dir: Path):
    with LocalSandbox(seed_dir, workspace_bytes=256 * 1024**2) as box:
        assert "tmpfs" in str(box.isolation.details["workspace"])
        result = box.exec(
            'for i in 1 2 3; do head -c 1000M /dev/zero > big$i; echo "rc$i=$?"; done; rm -f big*; echo done',
            timeout=120,
        )
        assert "No space left on device" in result.output and "rc1=1" in result.output, result.output
        box.exec("echo from-agent > out.txt")
        assert box.read_file("out.txt") == b"from-agent\n" and box.read_file("prompt.md") == b"do the task"
        box.write_file("from-host.txt", "hi")
        assert box.exec("cat from-host.txt").output == "hi"


def test_limits_are_reported_and_required_limits_refused_when_unavailable(
    seed_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    with LocalSandbox(seed_dir, whole_limits="off") as box:
        details = box.isolation.details
        assert "per process" in str(details["limits"]) and "Docker sandbox" in str(details["limits"])
        assert box._res.cgroup is None and "RLIMIT_AS" in str(details["memory"])
    unavailable = CgroupSupport(version=None, reason="cgroups not writable (disabled for the test)")
    monkeypatch.setattr(local_limits, "cgroup_support", lambda: unavailable)
    with LocalSandbox(seed_dir, workspace_bytes=None) as box:
        limits = str(box.isolation.details["limits"])
        assert "cgroups not writable" in limits and "use the Docker sandbox for untrusted agents" in limits
    with pytest.raises(SandboxError, match="disabled for the test"):
        LocalSandbox(seed_dir, whole_limits="required")


FORK_UNTIL_REFUSED = (
    "import os, time\nn = 0\ntry:\n    while n < 1000:\n        if os.fork() == 0:\n            time.sleep(60)\n"
    "            os._exit(0)\n        n += 1\nexcept OSError as exc:\n    print('refused after', n, exc.errno)\n"
)


def test_processes_and_cpu_are_capped_by_the_sandbox_cgroup(seed_dir: Path):
    with LocalSandbox(seed_dir, cpus=0.5, limits=SandboxLimits(max_processes=300)) as box:
        group = box._res.cgroup
        assert group is not None
        pids, cpu = group.folders["pids"], group.folders["cpu"]
        assert (pids / "pids.max").read_text().strip() == "300"
        quota = "cpu.cfs_quota_us" if group.version == 1 else "cpu.max"
        assert (cpu / quota).read_text().split()[0] == "50000"
        box.write_file("bomb.py", FORK_UNTIL_REFUSED)
        result = box.exec("python bomb.py", timeout=60)
        assert "refused after" in result.output and int(result.output.split()[2]) < 300, result.output
        assert int((pids / "pids.events").read_text().split()[1]) > 0  # the cgroup, not an rlimit, refused
        box.stop_processes()
        assert box.exec("echo alive").output.strip() == "alive"
