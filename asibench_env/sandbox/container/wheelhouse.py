"""Wheels for an offline image build: downloaded by the host, served to the build from 127.0.0.1.

The host's pip has PyPI (or the host's own index, certificates and find-links); the build's pip then
needs nothing but ``--no-index --find-links http://127.0.0.1:PORT/``, which a ``--network host``
build reaches. The wheels are cached per requirement set.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import platform
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from asibench_env.paths import cache_root
from asibench_env.sandbox.base import SandboxError

DOWNLOAD_TIMEOUT_S = 1800
COMPLETE_MARKER = ".complete"


def platform_tags(machine: str | None = None, max_glibc_minor: int = 36) -> list[str]:
    """manylinux platform tags a glibc Linux of this architecture accepts (oldest to newest)."""
    arch = machine or platform.machine()
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(5, max_glibc_minor + 1)]
    tags += [f"manylinux1_{arch}", f"manylinux2010_{arch}", f"manylinux2014_{arch}", f"linux_{arch}"]
    return tags


def download(reqs: Sequence[str], python_version: str, *, progress: Callable[[str], object] = print) -> Path:
    """A folder of wheels for ``reqs`` on CPython ``python_version`` (cached; downloaded when missing)."""
    key = hashlib.sha256(json.dumps({"reqs": list(reqs), "python": python_version}).encode()).hexdigest()[:16]
    folder = cache_root() / "docker" / "wheels" / key
    if (folder / COMPLETE_MARKER).is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    progress(f"downloading wheels for Python {python_version}: {', '.join(reqs)}")
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--dest", str(folder)]
    command += ["--python-version", python_version, "--implementation", "cp"]
    for tag in platform_tags():
        command += ["--platform", tag]
    proc = subprocess.run([*command, *reqs], capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S)
    if proc.returncode != 0:
        raise SandboxError(f"downloading the image's wheels failed:\n{proc.stderr[-4000:]}")
    (folder / COMPLETE_MARKER).write_text(json.dumps(list(reqs)))
    return folder


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        return


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` read-only on 127.0.0.1 for the duration of the block; yields its URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="asibench-wheelhouse", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
