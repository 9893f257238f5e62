"""Sandboxes keep working when the process holds more than 1024 descriptors (hundreds of episodes do).

``select`` cannot watch a descriptor numbered 1024 or more; the protocols wait with ``poll`` (sync)
and the event loop's selector (async).
"""

from __future__ import annotations

import asyncio
import os
import resource
from collections.abc import Iterator
from pathlib import Path

import pytest

from asibench_env.sandbox import SandboxLimits, open_sandbox


@pytest.fixture
def high_descriptors() -> Iterator[None]:
    """Hold 1100 descriptors, so that the next ones opened are numbered past 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    yield
    for fd in held:
        os.close(fd)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize("backend", ["local", "docker"])
def test_sandbox_with_descriptors_past_1024(backend: str, high_descriptors: None, seed_dir: Path, request):
    options = {}
    if backend == "docker":
        request.getfixturevalue("docker_client")
        options = {"workspace_bytes": 512 * 1024**2, "tmp_bytes": 256 * 1024**2}
    box = open_sandbox(backend, seed_dir, limits=SandboxLimits(max_processes=64), **options)
    try:
        probe = os.open(os.devnull, os.O_RDONLY)
        os.close(probe)
        assert probe > 1024  # so the sandbox's own pipes and sockets, opened just before, are past 1024 too
        assert box.exec("echo sync").output.strip() == "sync"
        assert "3" in box.run_python("1 + 2").output
        assert box.list_files(".")

        async def calls() -> tuple[str, str]:
            shell = await box.exec_async("echo async")
            cell = await box.run_python_async("2 + 2")
            return shell.output.strip(), cell.output

        shell, cell = asyncio.run(calls())
        assert shell == "async" and "4" in cell
    finally:
        box.close()
