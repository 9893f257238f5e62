"""The sandbox conformance suite: the contract every backend must pass, as pytest tests.

Run it on a backend by subclassing :class:`SandboxConformance` in a test file (the subclass's name
must start with ``Test``) and implementing :meth:`SandboxConformance.open_sandbox`::

    from asibench_env.sandbox import SandboxLimits, open_sandbox
    from asibench_env.sandbox.conformance import SandboxConformance

    class TestMyBackend(SandboxConformance):
        backend = "mine"                # what isolation.backend reports
        isolation_level = "container"   # what isolation.level reports

        def open_sandbox(self, seed_dir, **limits):
            return open_sandbox("mine", seed_dir, limits=SandboxLimits(**limits), my_option=1)

The tests start real sandboxes and run hostile code in them: persistent shell and Python state,
timeouts that kill every process, output caps, file operations that refuse escaping paths and links,
collection that refuses links, FIFOs and oversize files, process listing and stopping, idempotent
close, agent memory files dropped, no ground truth, host files or network visible; and the async
methods (``exec_async`` and the like) with the same results as the sync ones. The workspace is
expected at :attr:`SandboxConformance.workspace_path` inside the sandbox.

This module needs pytest; nothing in the package imports it (only test files do).
"""

from __future__ import annotations

import abc
import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from asibench_env.errors import InfraError
from asibench_env.paths import PACKAGE_DIR, runtimes_dir
from asibench_env.sandbox.base import IsolationLevel, ProcessInfo, Sandbox, SandboxError, SandboxPathError

SandboxFactory = Callable[..., Sandbox]


class SandboxConformance(abc.ABC):
    """The contract tests; subclass it as ``Test...`` and implement :meth:`open_sandbox`."""

    backend: ClassVar[str]
    """The backend name the sandboxes report in ``isolation.backend``."""
    isolation_level: ClassVar[IsolationLevel]
    """The isolation level the sandboxes report (``none`` fails the ground-truth and network tests)."""
    workspace_path: ClassVar[str] = "/workspace"
    """The workspace's path as the agent's processes see it."""

    @abc.abstractmethod
    def open_sandbox(self, seed_dir: Path, **limits: Any) -> Sandbox:
        """Start a sandbox of the backend under test, seeded with ``seed_dir``.

        ``limits`` are :class:`~asibench_env.sandbox.base.SandboxLimits` fields to apply (e.g.
        ``output_bytes=4096``). The suite closes every sandbox it opens.
        """

    # ------------------------------------------------------------------ fixtures
    @pytest.fixture
    def seed_dir(self, tmp_path: Path) -> Path:
        """A small starting workspace, with an agent instruction file that must not reach the sandbox."""
        seed = tmp_path / "seed"
        (seed / "data").mkdir(parents=True)
        (seed / "data" / "x.npy").write_bytes(b"placeholder")
        (seed / "prompt.md").write_text("do the task")
        (seed / "CLAUDE.md").write_text("leaked hints")
        return seed

    @pytest.fixture
    def sandbox_factory(self) -> Iterator[SandboxFactory]:
        """Open sandboxes with :meth:`open_sandbox` (closed after the test)."""
        opened: list[Sandbox] = []

        def factory(seed_dir: Path, **limits: Any) -> Sandbox:
            box = self.open_sandbox(seed_dir, **limits)
            opened.append(box)
            return box

        yield factory
        for box in opened:
            box.close()

    @pytest.fixture
    def sandbox(self, sandbox_factory: SandboxFactory, seed_dir: Path) -> Sandbox:
        """One sandbox with a small output cap and process limit."""
        return sandbox_factory(seed_dir, output_bytes=4096, max_processes=64)

    # ------------------------------------------------------------------ isolation and set-up
    def test_isolation_is_reported(self, sandbox: Sandbox) -> None:
        info = sandbox.isolation
        assert info.backend == self.backend and not info.network
        assert info.level == self.isolation_level

    def test_shell_state_persists(self, sandbox: Sandbox) -> None:
        assert sandbox.exec("export GREETING=hello; mkdir -p work && cd work").exit_code == 0
        result = sandbox.exec("pwd; echo $GREETING")
        assert result.output.split() == [f"{self.workspace_path}/work", "hello"]
        ended = sandbox.exec("exit 3")
        assert ended.restarted and "new shell" in ended.output
        assert sandbox.exec("pwd").output.strip() == self.workspace_path

    def test_exit_codes_and_stdin(self, sandbox: Sandbox) -> None:
        assert sandbox.exec("false").exit_code == 1
        result = sandbox.exec("cat", timeout=5)  # stdin is /dev/null: no hang
        assert result.exit_code == 0 and not result.timed_out

    def test_agent_memory_files_are_removed(self, sandbox: Sandbox) -> None:
        listing = sandbox.exec("ls -a").output
        assert "CLAUDE.md" not in listing and "prompt.md" in listing
        assert sandbox.read_file("data/x.npy") == b"placeholder"

    def test_environment_is_scrubbed(
        self, sandbox_factory: SandboxFactory, seed_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
        box = sandbox_factory(seed_dir)
        env = box.exec("env").output
        assert "sk-very-secret" not in env and "OPENAI_API_KEY" not in env
        assert f"HOME={self.workspace_path}" in env

    def test_python_tool_persists_and_echoes(self, sandbox: Sandbox) -> None:
        sandbox.run_python("import numpy as np\nvalues = np.arange(4)")
        result = sandbox.run_python("values.sum()")
        assert result.exit_code == 0 and "6" in result.output
        error = sandbox.run_python("1 / 0")
        assert error.exit_code == 1 and "ZeroDivisionError" in error.output
        printed = sandbox.run_python("import subprocess; subprocess.run(['echo', 'from a child'])")
        assert "from a child" in printed.output

    def test_python_crash_restarts_with_notice(self, sandbox: Sandbox) -> None:
        sandbox.run_python("kept = 1")
        crash = sandbox.run_python("import os; os._exit(1)")
        assert crash.exit_code != 0 and "crashed" in crash.output
        again = sandbox.run_python("print('alive')")
        assert again.restarted and "fresh" in again.output and "alive" in again.output
        assert "NameError" in sandbox.run_python("kept").output

    def test_python_timeout(self, sandbox: Sandbox) -> None:
        started = time.monotonic()
        result = sandbox.run_python("import time; time.sleep(100)", timeout=1)
        assert result.timed_out and time.monotonic() - started < 10
        assert "alive" in sandbox.run_python("print('alive')").output

    def test_timeout_kills_orphans_and_term_ignorers(self, sandbox: Sandbox) -> None:
        script = "(trap '' TERM; setsid sh -c 'trap \"\" TERM; sleep 1000' & sleep 1000) & sleep 1000"
        started = time.monotonic()
        result = sandbox.exec(script, timeout=1)
        assert result.timed_out and time.monotonic() - started < 10
        assert sandbox.exec("echo survived").output.strip().endswith("survived")  # after bash reports the kill
        remaining = sandbox.exec("ps -eo comm= | grep -c sleep || true").output.strip()
        assert remaining == "0"

    def test_big_output_is_capped_with_a_marker(self, sandbox: Sandbox) -> None:
        started = time.monotonic()
        result = sandbox.exec("head -c 100000000 /dev/zero | tr '\\0' 'x'; echo; echo END", timeout=120)
        assert time.monotonic() - started < 60
        assert result.exit_code == 0
        assert result.truncated_bytes > 99_000_000
        assert "bytes cut" in result.output and result.output.rstrip().endswith("END")
        assert len(result.output) < 10_000
        flood = sandbox.run_python("print('y' * 50_000_000)")
        assert flood.truncated_bytes > 49_000_000 and len(flood.output) < 10_000

    def test_binary_output_is_decoded_safely(self, sandbox: Sandbox) -> None:
        result = sandbox.exec("head -c 2000 /dev/urandom")
        assert isinstance(result.output, str) and result.exit_code == 0

    def test_fork_bomb_is_contained(self, sandbox: Sandbox) -> None:
        # Started in the background, so that the shell itself never waits on a fork the limit refuses.
        result = sandbox.exec("bash -c ':(){ :|:& };:' >/dev/null 2>&1 &", timeout=20)
        assert not result.timed_out
        time.sleep(2)
        alive = len(sandbox.processes())
        assert 10 < alive <= sandbox.limits.max_processes + 2  # the bomb ran, and the process limit capped it
        assert sandbox.stop_processes() > 0
        assert sandbox.processes() == []
        assert sandbox.exec("echo fine").output.strip().endswith("fine")  # after any late output of the bomb

    def test_paths_outside_the_workspace(self, sandbox: Sandbox) -> None:
        for path in ("../../etc/passwd", "/etc/passwd", "data/../../x", "~/x"):
            with pytest.raises(SandboxPathError):
                sandbox.read_file(path)
            with pytest.raises(SandboxPathError):
                sandbox.write_file(path, "x")

    def test_file_operations(self, sandbox: Sandbox) -> None:
        assert sandbox.write_file("out/deep/a.txt", "hello") == 5
        assert sandbox.read_file("out/deep/a.txt") == b"hello"
        assert sandbox.write_file("blob.bin", b"\x00\x01") == 2
        assert sandbox.exec("cat out/deep/a.txt && echo more >> out/deep/a.txt").exit_code == 0  # agent owns it
        listing = {e.path: e.kind for e in sandbox.list_files(".")}
        assert listing["out/deep/a.txt"] == "file" and listing["out"] == "dir"
        sandbox.exec("ln -s /etc/passwd link.txt")
        with pytest.raises(SandboxPathError):
            sandbox.read_file("link.txt")
        with pytest.raises(SandboxPathError):
            sandbox.write_file("link.txt", "overwrite through a link")
        with pytest.raises(FileNotFoundError):
            sandbox.read_file("absent.txt")
        with pytest.raises(IsADirectoryError):
            sandbox.read_file("out")

    def test_collect_refuses_links_fifos_and_oversize(
        self, sandbox_factory: SandboxFactory, seed_dir: Path, tmp_path: Path
    ) -> None:
        box = sandbox_factory(seed_dir, collect_max_file_bytes=1_000_000, file_size_bytes=16 * 1024**3)
        box.exec("mkdir -p results && echo ok > results/good.csv && ln -s /etc/passwd secret.txt")
        box.exec("echo a > orig.txt && ln orig.txt hard.txt && mkfifo pipe.npy")
        made = box.exec(
            "truncate -s 10G sparse.npy && ln -s /etc dirlink && "
            "python3 -c \"open('big.npy','wb').write(b'1'*2000000)\" && ls -l sparse.npy"
        )
        assert made.exit_code == 0, made.output
        dest = tmp_path / "collected"
        report = box.collect(
            [
                "results/good.csv",
                "secret.txt",
                "hard.txt",
                "pipe.npy",
                "sparse.npy",
                "dirlink/passwd",
                "big.npy",
                "absent.npy",
                "../escape",
            ],
            dest,
        )
        assert [f.path for f in report.collected] == ["results/good.csv"]
        assert (dest / "results" / "good.csv").read_text() == "ok\n"
        assert set(report.refused) == {
            "secret.txt",
            "hard.txt",
            "pipe.npy",
            "sparse.npy",
            "dirlink/passwd",
            "big.npy",
            "../escape",
        }
        assert "10737418240 bytes" in report.refused["sparse.npy"]
        assert report.missing == ["absent.npy"]
        assert sorted(p.name for p in dest.rglob("*") if p.is_file()) == ["good.csv"]
        assert not any(p.is_symlink() for p in dest.rglob("*"))

    # ------------------------------------------------------------------ processes and teardown
    def test_processes_are_listed_and_stopped(self, sandbox: Sandbox) -> None:
        assert sandbox.processes() == []  # the sandbox's own shell is not listed
        sandbox.exec("cd data; export KEPT=yes; (sleep 321 &); sleep 322 &")
        sandbox.run_python("x = 1")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and sum("sleep 32" in p.command for p in sandbox.processes()) < 2:
            time.sleep(0.05)
        listed = sandbox.processes()
        assert all(isinstance(p, ProcessInfo) and p.pid > 0 for p in listed)
        commands = [p.command for p in listed]
        assert any("sleep 321" in c for c in commands) and any("sleep 322" in c for c in commands), commands
        assert sandbox.stop_processes() >= 3  # both sleeps and the interpreter
        assert sandbox.processes() == []
        state = sandbox.exec("pwd; echo $KEPT").output.split()  # after any notice of the killed job
        assert state[-2:] == [f"{self.workspace_path}/data", "yes"], state
        assert "NameError" in sandbox.run_python("x").output  # the interpreter was stopped too

    def test_closed_sandbox_refuses_calls(self, sandbox_factory: SandboxFactory, seed_dir: Path) -> None:
        box = sandbox_factory(seed_dir)
        box.close()
        box.close()
        calls = (
            lambda: box.exec("true"),
            lambda: box.run_python("1"),
            lambda: box.read_file("prompt.md"),
            lambda: box.write_file("a.txt", "x"),
            lambda: box.list_files("."),
            lambda: box.processes(),
            lambda: box.stop_processes(),
        )
        for call in calls:
            with pytest.raises(SandboxError):
                call()

    # ------------------------------------------------------------------ the async methods
    def test_async_shell_and_python(self, sandbox: Sandbox) -> None:
        async def calls() -> None:
            assert (await sandbox.exec_async("export K=v; mkdir -p w && cd w")).exit_code == 0
            assert (await sandbox.exec_async("pwd; echo $K")).output.split() == [f"{self.workspace_path}/w", "v"]
            assert sandbox.exec("echo $K").output.strip() == "v"  # one shell behind both APIs
            assert (await sandbox.exec_async("false")).exit_code == 1
            ended = await sandbox.exec_async("exit 3")
            assert ended.restarted and "new shell" in ended.output
            capped = await sandbox.exec_async("head -c 100000 /dev/zero | tr '\\0' 'x'; echo; echo END")
            assert capped.truncated_bytes > 90_000 and capped.output.rstrip().endswith("END")
            started = time.monotonic()
            killed = await sandbox.exec_async("(trap '' TERM; sleep 1000) & sleep 1000", timeout=1)
            assert killed.timed_out and killed.exit_code == 124 and time.monotonic() - started < 10
            await sandbox.run_python_async("values = [1, 2, 3]")
            echoed = await sandbox.run_python_async("sum(values)")
            assert echoed.exit_code == 0 and "6" in echoed.output
            assert "6" in sandbox.run_python("sum(values)").output  # one interpreter behind both APIs
            assert "ZeroDivisionError" in (await sandbox.run_python_async("1 / 0")).output
            crash = await sandbox.run_python_async("import os; os._exit(1)")
            assert crash.exit_code != 0 and "crashed" in crash.output
            again = await sandbox.run_python_async("print('alive')")
            assert again.restarted and "alive" in again.output
            slow = await sandbox.run_python_async("import time; time.sleep(100)", timeout=1)
            assert slow.timed_out

        asyncio.run(calls())

    def test_async_file_operations(self, sandbox: Sandbox) -> None:
        async def calls() -> None:
            assert await sandbox.write_file_async("out/a.txt", "hello") == 5
            assert await sandbox.read_file_async("out/a.txt") == b"hello"
            assert await sandbox.read_file_async("out/a.txt", max_bytes=2) == b"he"
            listing = {e.path: e.kind for e in await sandbox.list_files_async(".")}
            assert listing["out/a.txt"] == "file" and listing["out"] == "dir"
            assert listing == {e.path: e.kind for e in sandbox.list_files(".")}
            for path in ("../../etc/passwd", "/etc/passwd"):
                with pytest.raises(SandboxPathError):
                    await sandbox.read_file_async(path)
                with pytest.raises(SandboxPathError):
                    await sandbox.write_file_async(path, "x")
            with pytest.raises(FileNotFoundError):
                await sandbox.read_file_async("absent.txt")
            with pytest.raises(IsADirectoryError):
                await sandbox.read_file_async("out")
            with pytest.raises(FileNotFoundError):
                await sandbox.list_files_async("nowhere")

        asyncio.run(calls())

    def test_async_calls_of_many_sandboxes_overlap(self, sandbox_factory: SandboxFactory, seed_dir: Path) -> None:
        boxes = [sandbox_factory(seed_dir) for _ in range(4)]

        async def calls() -> list[list[str]]:
            command = "date +%s%N; sleep 1; date +%s%N; echo box-{}"
            results = await asyncio.gather(*(box.exec_async(command.format(i)) for i, box in enumerate(boxes)))
            return [r.output.split() for r in results]

        outputs = asyncio.run(calls())
        assert [out[-1] for out in outputs] == [f"box-{i}" for i in range(4)]
        starts, ends = [int(out[0]) for out in outputs], [int(out[1]) for out in outputs]
        assert max(starts) < min(ends)  # every sleep had begun before any ended: they ran at once

    def test_closed_sandbox_refuses_async_calls(self, sandbox_factory: SandboxFactory, seed_dir: Path) -> None:
        box = sandbox_factory(seed_dir)
        box.close()
        calls = (
            lambda: box.exec_async("true"),
            lambda: box.run_python_async("1"),
            lambda: box.read_file_async("prompt.md"),
            lambda: box.write_file_async("a.txt", "x"),
            lambda: box.list_files_async("."),
        )
        for call in calls:
            with pytest.raises(SandboxError):
                asyncio.run(call())

    def test_failures_have_the_contract_types(self) -> None:
        assert issubclass(SandboxError, InfraError)  # infrastructure: the episode ends as infra_error
        assert issubclass(SandboxPathError, ValueError) and not issubclass(SandboxPathError, InfraError)

    def test_hostile_agent_cannot_reach_ground_truth_or_network(
        self, sandbox_factory: SandboxFactory, tmp_path: Path, seed_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ASIBENCH_ENV_RUNTIMES", str(runtimes_dir()))
        cache = tmp_path / "cache"
        secret = cache / "instances" / "demo.task" / "abc" / "demo.task__seed0" / "reference" / "secret_ref.npy"
        secret.parent.mkdir(parents=True)
        np.save(secret, np.arange(3.0))
        monkeypatch.setenv("ASIBENCH_ENV_CACHE", str(cache))
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        listener.settimeout(0.5)
        try:
            box = sandbox_factory(seed_dir)
            assert box.exec(f"cat {secret}").exit_code != 0
            assert box.exec(f"ls {secret.parent}").exit_code != 0
            names = (
                "secret_ref.npy",
                "*_ref.npy",
                "instance_meta.json",
                "generate_gt.py",
                "task_eval.yaml",
                "solve.py",
            )
            search = " -o ".join(f"-name '{n}'" for n in names)
            found = box.exec(
                f"find / -path /proc -prune -o \\( {search} \\) -print 2>/dev/null | grep -v site-packages; true"
            )
            assert found.output.strip() == ""
            for module in ("asibench_env", "ai4sci_bench"):
                result = box.exec(f"python3 -c 'import {module}'")
                assert result.exit_code != 0 and "ModuleNotFoundError" in result.output
            assert box.exec("ls /work /root/.cache/asibench-env/instances").exit_code != 0
            pkg = PACKAGE_DIR
            assert box.exec(f"ls {pkg}").exit_code != 0
            probe = (
                "import socket\n"
                "for host, port in (('1.1.1.1', 53), ('169.254.169.254', 80), ('127.0.0.1', PORT)):\n"
                "    s = socket.socket(); s.settimeout(1)\n"
                "    try:\n"
                "        s.connect((host, port)); print('CONNECTED', host)\n"
                "    except OSError as exc:\n"
                "        print('refused', host, type(exc).__name__)\n"
            ).replace("PORT", str(port))
            out = box.run_python(probe).output
            assert "CONNECTED" not in out and out.count("refused") == 3
            assert box.exec("getent hosts pypi.org || echo no-dns").output.strip().endswith("no-dns")
            with pytest.raises(TimeoutError):
                listener.accept()  # nothing from the sandbox reached the host's listener
            assert box.exec("touch /usr/evil /etc/evil /evil 2>&1; echo $?").output.strip().endswith("1")
        finally:
            listener.close()
        assert not Path("/usr/evil").exists() and not Path("/etc/evil").exists()

    def test_own_tmp_per_sandbox(self, sandbox_factory: SandboxFactory, seed_dir: Path) -> None:
        first, second = sandbox_factory(seed_dir), sandbox_factory(seed_dir)
        first.exec("echo mine > /tmp/note")
        assert second.exec("cat /tmp/note").exit_code != 0
        assert not Path("/tmp/note").exists() or Path("/tmp/note").read_text() != "mine\n"

    def test_a_process_named_like_the_interpreter_is_still_killed(self, sandbox: Sandbox) -> None:
        sandbox.run_python("x = 1")  # the real interpreter is running
        result = sandbox.exec("(exec -a kernel.py sleep 1000) & sleep 1000", timeout=1)
        assert result.timed_out
        count = sandbox.exec("echo COUNT=$(ps -eo comm= | grep -c '^sleep$')").output  # after bash's kill notice
        assert "COUNT=0" in count
        assert sandbox.run_python("print(x)").output.strip() == "1"  # the interpreter itself was spared

    def test_a_cell_that_writes_into_the_reply_channel_cannot_hang_the_host(self, sandbox: Sandbox) -> None:
        started = time.monotonic()
        code = (
            "import __main__, time\n"
            "__main__.protocol_out.write('{\"ok\"'); __main__.protocol_out.flush()\n"
            "time.sleep(100)"
        )
        result = sandbox.run_python(code, timeout=2)
        assert time.monotonic() - started < 10 and result.exit_code != 0
        forged = sandbox.run_python(
            "import __main__\n__main__.protocol_out.write('not json\\n'); __main__.protocol_out.flush()"
        )
        assert forged.exit_code != 0
        assert sandbox.run_python("print('fresh')").output.strip().endswith("fresh")

    def test_the_interpreter_never_sees_the_host_root(self, sandbox: Sandbox) -> None:
        out = sandbox.run_python(
            "import os\nos.chdir('..'); os.chdir('..'); os.chdir('..')\nprint(sorted(os.listdir('.')))"
        )
        assert "'workspace'" in out.output and "'work'" not in out.output
        cwd = sandbox.run_python("import os\nprint(os.readlink('/proc/self/cwd'))").output.strip()
        assert cwd == "/"

    def test_killing_everything_from_inside_does_not_break_the_sandbox(self, sandbox: Sandbox) -> None:
        sandbox.run_python("x = 1")
        sandbox.exec("kill -9 -1; sleep 5", timeout=20)
        assert sandbox.exec("echo back").output.strip().endswith("back")
        assert sandbox.run_python("print('still here')").output.strip().endswith("still here")
