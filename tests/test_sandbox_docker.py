"""What only the Docker sandbox has, and the security properties it must hold against a hostile agent.

These run against the real Docker engine of this machine and the real sandbox image (the session
fixture builds it offline when missing); they are never skipped.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from asibench_env.sandbox.base import SandboxError, SandboxLimits
from asibench_env.sandbox.container import launcher
from asibench_env.sandbox.container.images import default_image, find_image
from asibench_env.sandbox.container.options import DockerSandboxOptions
from asibench_env.sandbox.container.pool import ContainerPools, shutdown_pools
from asibench_env.sandbox.container.sandbox import DockerSandbox

CAPS = {"workspace_bytes": 64 * 1024**2, "tmp_bytes": 32 * 1024**2}


@pytest.fixture
def box(docker_client, seed_dir: Path):
    sandbox = DockerSandbox(seed_dir, limits=SandboxLimits(memory_bytes=512 * 1024**2, max_processes=64), **CAPS)
    yield sandbox
    sandbox.close()


def _inspect(client, box: DockerSandbox) -> dict:
    return client.api.inspect_container(box.container_id)


def test_the_container_is_locked_down(docker_client, box: DockerSandbox):
    attrs = _inspect(docker_client, box)
    host = attrs["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["ReadonlyRootfs"] is True
    assert host["Privileged"] is False
    assert host["Memory"] == 512 * 1024**2 and host["MemorySwap"] == 512 * 1024**2
    assert host["PidsLimit"] == 64 and host["NanoCpus"] == 2 * 10**9
    assert host["AutoRemove"] is True and host["LogConfig"]["Type"] == "none"
    assert not host["Binds"] and not attrs["Mounts"]  # no host mounts at all
    assert set(host["Tmpfs"]) == {"/workspace", "/tmp"}
    assert "size=65536k" in host["Tmpfs"]["/workspace"] and "size=32768k" in host["Tmpfs"]["/tmp"]
    assert attrs["Config"]["User"] == "1000:1000"
    assert attrs["Config"]["Labels"][launcher.LABEL] == "1"
    assert attrs["Config"]["Labels"][launcher.OWNER_LABEL] == launcher.owner_id()
    status = box.exec("id -u; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status").output.split()
    assert status == ["1000", "CapEff:", "0000000000000000", "NoNewPrivs:", "1"]


def test_isolation_details_name_the_image(docker_client, box: DockerSandbox):
    image = find_image(docker_client, default_image())
    assert image is not None
    details = box.isolation.details
    assert details["image_id"] == image.image_id and details["image"] == default_image()
    assert details["container"] == box.container_id[:12]


def test_no_network_egress(docker_client, box: DockerSandbox):
    ipam = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    gateway = ipam.get("Gateway") or str(next(ipaddress.ip_network(ipam["Subnet"]).hosts()))
    probe = textwrap.dedent(
        f"""
        import socket
        for host, port in (("1.1.1.1", 443), ("8.8.8.8", 53), ("{gateway}", 2375), ("{gateway}", 22),
                           ("169.254.169.254", 80)):
            s = socket.socket(); s.settimeout(2)
            try:
                s.connect((host, port)); print("CONNECTED", host)
            except OSError as exc:
                print("blocked", host, exc.errno)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.sendto(b"x", ("8.8.8.8", 53)); print("SENT")
        except OSError as exc:
            print("blocked udp", exc.errno)
        try:
            socket.getaddrinfo("pypi.org", 443); print("RESOLVED")
        except OSError:
            print("blocked dns")
        """
    )
    out = box.run_python(probe).output
    assert "CONNECTED" not in out and "SENT" not in out and "RESOLVED" not in out, out
    assert out.count("blocked") == 7
    interfaces = box.exec("ls /sys/class/net").output.split()
    assert interfaces == ["lo"]


def test_no_docker_socket_and_no_host_files(box: DockerSandbox, tmp_path: Path):
    secret = tmp_path / "host_secret.txt"
    secret.write_text("ground truth")
    listing = box.exec("ls /var/run/docker.sock /run/docker.sock 2>&1; echo rc=$?").output
    assert "rc=2" in listing
    probe = box.run_python(
        "import socket\nfor path in ('/var/run/docker.sock', '/run/docker.sock'):\n"
        "    s = socket.socket(socket.AF_UNIX)\n"
        "    try:\n        s.connect(path); print('CONNECTED')\n"
        "    except OSError as exc:\n        print('no socket', exc.errno)\n"
    ).output
    assert "CONNECTED" not in probe and probe.count("no socket") == 2
    assert box.exec(f"cat {secret}").exit_code != 0
    assert box.exec("grep -c . /proc/1/environ 2>&1; ls /proc/1/fd 2>&1").exit_code != 0  # the supervisor is off limits


def test_cannot_write_outside_the_workspace(box: DockerSandbox):
    for target in ("/evil", "/etc/evil", "/usr/evil", "/opt/runtime/evil", "/opt/runtime/lib/evil", "/root/evil"):
        result = box.exec(f"touch {target} 2>&1; echo rc=$?")
        assert "rc=1" in result.output, (target, result.output)
    assert box.exec("touch /workspace/ok /tmp/ok && echo fine").output.strip() == "fine"


@pytest.mark.fault
def test_memory_bomb_kills_only_the_bomb(box: DockerSandbox):
    box.run_python("kept = 41")
    bomb = box.exec("python3 -c 'x = bytearray(2 * 1024**3); print(len(x))'", timeout=60)
    assert bomb.exit_code != 0 and "2147483648" not in bomb.output
    assert box.exec("echo alive").output.strip() == "alive"
    assert box.run_python("kept + 1").output.strip() == "42"  # the interpreter outlived the bomb
    in_cell = box.run_python("chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 1024**2))", timeout=60)
    assert in_cell.exit_code != 0
    assert box.exec("echo still alive").output.strip() == "still alive"


@pytest.mark.fault
def test_disk_fill_stops_at_the_workspace_cap(box: DockerSandbox):
    result = box.exec("dd if=/dev/zero of=fill.bin bs=1M count=200 2>&1; echo rc=$?", timeout=60)
    assert "No space left on device" in result.output and "rc=1" in result.output
    size = int(box.exec("stat -c %s fill.bin").output.strip())
    assert size <= CAPS["workspace_bytes"]
    tmp = box.exec("dd if=/dev/zero of=/tmp/fill bs=1M count=100 2>&1; echo rc=$?", timeout=60)
    assert "No space left on device" in tmp.output
    box.exec("rm -f fill.bin /tmp/fill")
    assert box.write_file("after.txt", "space again") == 11


@pytest.mark.fault
def test_the_supervisor_cannot_be_killed_or_traced(box: DockerSandbox):
    result = box.exec("kill -9 1; kill -STOP 1; kill -TERM 1; echo sent")
    assert result.output.strip().endswith("sent")
    assert box.exec("echo alive").output.strip() == "alive"
    traced = box.run_python(
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print('attach', libc.ptrace(16, 1, 0, 0), ctypes.get_errno())"  # PTRACE_ATTACH
    ).output
    assert "attach -1" in traced


@pytest.mark.fault
def test_a_crashed_owner_leaves_no_container(docker_client, seed_dir: Path, tmp_path: Path):
    ready = tmp_path / "ready"
    script = textwrap.dedent(
        f"""
        import pathlib, time
        from asibench_env.sandbox.container.sandbox import DockerSandbox
        box = DockerSandbox(pathlib.Path({str(seed_dir)!r}))
        box.exec("sleep 1000 &")
        pathlib.Path({str(ready)!r}).write_text(box.container_id)
        time.sleep(1000)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        container_id = ready.read_text()
        assert container_id in {c.id for c in launcher.our_containers(docker_client)}
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert launcher.wait_until_gone(docker_client, {container_id}, timeout=30) == set()


@pytest.mark.fault
def test_the_sweeper_removes_orphans_only(docker_client):
    def sleeper(owner: str) -> str:
        created = docker_client.api.create_container(
            image=default_image(),
            command=["sleep", "600"],
            labels={launcher.LABEL: "1", launcher.OWNER_LABEL: owner},
            host_config=docker_client.api.create_host_config(network_mode="none", auto_remove=True),
        )
        docker_client.api.start(created["Id"])
        return created["Id"]

    dead = launcher.owner_id().rsplit(":", 2)[0] + ":999999999:0"
    orphan, live = sleeper(dead), sleeper(launcher.owner_id())
    try:
        assert launcher.sweep_orphans(docker_client) >= 1
        present = {c.id for c in launcher.our_containers(docker_client)}
        assert orphan not in present and live in present
    finally:
        docker_client.api.remove_container(live, force=True)
    assert launcher.wait_until_gone(docker_client, {orphan, live}) == set()


def test_the_backend_lifecycle_sweeps_and_shuts_down(docker_client, seed_dir: Path):
    DockerSandbox.start()  # idempotent: connects and sweeps once per process
    dead = launcher.owner_id().rsplit(":", 2)[0] + ":999999999:0"
    created = docker_client.api.create_container(
        image=default_image(),
        command=["sleep", "600"],
        labels={launcher.LABEL: "1", launcher.OWNER_LABEL: dead},
        host_config=docker_client.api.create_host_config(network_mode="none", auto_remove=True),
    )
    docker_client.api.start(created["Id"])
    assert DockerSandbox.sweep() >= 1
    assert launcher.wait_until_gone(docker_client, {created["Id"]}) == set()
    with DockerSandbox(seed_dir, options=DockerSandboxOptions(warm_pool=1, **CAPS)) as box:
        assert box.options.warm_pool == 1 and ContainerPools.default().warm_pools()
        DockerSandbox.shutdown()
        assert ContainerPools.default().warm_pools() == []
        assert box.exec("echo open").output.strip() == "open"  # open sandboxes stay usable


@pytest.fixture
def pooled_sandboxes(docker_client, seed_dir: Path):
    shutdown_pools()  # start from no pool at all
    opened: list[DockerSandbox] = []

    def factory() -> DockerSandbox:
        opened.append(DockerSandbox(seed_dir, warm_pool=1, **CAPS))
        return opened[-1]

    yield factory
    for sandbox in opened:
        sandbox.close()
    shutdown_pools()


def test_warm_pool_hands_out_started_containers(pooled_sandboxes):
    first = pooled_sandboxes()
    pools = ContainerPools.default().warm_pools()
    assert len(pools) == 1
    warm = pools[0]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not warm._ready:
        time.sleep(0.05)
    pooled = warm._ready[0].container_id
    second = pooled_sandboxes()
    assert second.container_id == pooled and second.container_id != first.container_id
    assert second.read_file("prompt.md") == b"do the task"  # seeded after it left the pool
    assert second.exec("ls").output.split() == ["data", "prompt.md"]


def test_unmet_runtime_requirements_fail_clearly(docker_client, seed_dir: Path):
    with pytest.raises(SandboxError) as info:
        DockerSandbox(seed_dir, runtime_packages=["numpy>=99", "surely-not-installed-pkg", "scipy>=1.0"], **CAPS)
    message = str(info.value)
    assert "numpy>=99 (the image has" in message and "surely-not-installed-pkg (not installed)" in message
    assert "scipy" not in message.split("requirements:")[1].split(".")[0]
    assert "asibench-env image build --offline" in message


def test_a_missing_image_is_a_clear_error(docker_client, seed_dir: Path):
    with pytest.raises(SandboxError, match="image build --offline"):
        DockerSandbox(seed_dir, image="asibench-env/runtime:does-not-exist")


def test_the_image_holds_the_runtime_only(docker_client):
    script = (
        "import importlib.util, json, os\n"
        "found = [os.path.join(r, f) for r, _, fs in os.walk('/') if not r.startswith(('/proc', '/sys'))"
        " for f in fs if f in ('solve.py', 'generate_gt.py', 'task_eval.yaml', 'task_meta.yaml')"
        " or f.endswith('_ref.npy')]\n"
        "print(json.dumps({'found': found, 'asibench_env': importlib.util.find_spec('asibench_env') is not None,"
        " 'numpy': importlib.util.find_spec('numpy') is not None}))"
    )
    output = docker_client.containers.run(default_image(), ["python3", "-c", script], remove=True, network_mode="none")
    report = json.loads(output.decode())
    assert report == {"found": [], "asibench_env": False, "numpy": True}
