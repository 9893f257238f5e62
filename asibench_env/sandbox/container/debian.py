"""A Debian base image from Debian's packages alone: bootstrap a root filesystem, ``docker import`` it.

The mirror and suite come from the host's apt sources (one-line ``.list`` files and deb822
``.sources`` files), so the bootstrap reaches whatever mirror this machine is allowed to reach.
mmdebstrap is used when installed (fast, writes the tarball directly), else debootstrap.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asibench_env.sandbox.base import SandboxError

BASE_REPOSITORY = "asibench-env/debian-base"
BASE_PACKAGES = ("python3", "python3-venv", "libstdc++6", "libgomp1", "procps", "ca-certificates")
"""What the Debian base adds to the essential set: Python, the C++ and OpenMP runtimes that scientific
wheels link against, ps/top, and CA certificates."""
APT_DIR = Path("/etc/apt")
BOOTSTRAP_TIMEOUT_S = 1800


@dataclass(frozen=True)
class AptSource:
    """One ``deb`` line: a mirror URI, a suite and its components."""

    uri: str
    suite: str
    components: tuple[str, ...]

    def line(self) -> str:
        return f"deb {self.uri} {self.suite} {' '.join(self.components)}"


def _parse_one_line(text: str) -> list[AptSource]:
    found = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        words = line.split()[1:]
        if words and words[0].startswith("["):  # options such as [signed-by=...]
            while words and not words[0].endswith("]"):
                words.pop(0)
            words = words[1:]
        if len(words) >= 3:
            found.append(AptSource(words[0], words[1], tuple(words[2:])))
    return found


def _parse_deb822(text: str) -> list[AptSource]:
    found = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for raw in stanza.splitlines():
            if raw.startswith("#") or ":" not in raw:
                continue
            key, _, value = raw.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                found.append(AptSource(uri, suite, tuple(fields.get("components", "main").split())))
    return found


def host_sources(apt_dir: Path = APT_DIR) -> list[AptSource]:
    """Every ``deb`` source the host's apt knows."""
    sources: list[AptSource] = []
    main = apt_dir / "sources.list"
    if main.is_file():
        sources += _parse_one_line(main.read_text())
    parts = apt_dir / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            if path.suffix == ".list":
                sources += _parse_one_line(path.read_text())
            elif path.suffix == ".sources":
                sources += _parse_deb822(path.read_text())
    return sources


def host_codename() -> str | None:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("VERSION_CODENAME="):
                return line.split("=", 1)[1].strip().strip('"') or None
    except OSError:
        return None
    return None


def debian_sources(mirror: str | None = None, suite: str | None = None, apt_dir: Path = APT_DIR) -> list[AptSource]:
    """The Debian sources for the bootstrap: the suite, its -updates and -security, from the host's mirrors."""
    suite = suite or host_codename()
    if not suite:
        raise SandboxError("cannot tell this host's Debian suite; pass --suite (e.g. bookworm)")
    if mirror:
        return [AptSource(mirror.rstrip("/"), suite, ("main",))]
    wanted = {suite, f"{suite}-updates", f"{suite}-security"}
    chosen = [s for s in host_sources(apt_dir) if s.suite in wanted and "main" in s.components]
    if not any(s.suite == suite for s in chosen):
        raise SandboxError(
            f"no Debian mirror for {suite!r} in the host's apt sources ({apt_dir}); pass --mirror "
            "http://deb.debian.org/debian (or a mirror this machine can reach)"
        )
    return [AptSource(s.uri, s.suite, ("main",)) for s in chosen]


def base_tag(sources: list[AptSource]) -> str:
    text = "\n".join([*(s.line() for s in sources), *BASE_PACKAGES])
    return f"{BASE_REPOSITORY}:{sources[0].suite}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def bootstrap_tool() -> str:
    """mmdebstrap when installed (preferred), else debootstrap, else a clear error."""
    if shutil.which("mmdebstrap"):
        return "mmdebstrap"
    if shutil.which("debootstrap"):
        if os.geteuid() != 0:
            raise SandboxError("debootstrap needs root; install mmdebstrap (apt-get install mmdebstrap) instead")
        return "debootstrap"
    raise SandboxError("neither mmdebstrap nor debootstrap is installed: apt-get install mmdebstrap")


def bootstrap_command(tool: str, sources: list[AptSource], target: Path) -> list[str]:
    """The command that bootstraps the root filesystem: a tarball (mmdebstrap) or a folder (debootstrap)."""
    suite = sources[0].suite
    include = ",".join(BASE_PACKAGES)
    if tool == "mmdebstrap":
        mode = "root" if os.geteuid() == 0 else "unshare"
        return [
            "mmdebstrap",
            "--variant=essential",
            f"--include={include}",
            f"--mode={mode}",
            "--quiet",
            suite,
            str(target),
            *(s.line() for s in sources),
        ]
    return ["debootstrap", "--variant=minbase", f"--include={include}", suite, str(target), sources[0].uri]


def _has_image(client: Any, tag: str) -> bool:
    import docker.errors  # the docker SDK is an optional extra

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def ensure_base_image(
    client: Any, *, mirror: str | None = None, suite: str | None = None, progress: Any = print
) -> str:
    """The tag of the imported Debian base, bootstrapping and importing it when missing."""
    sources = debian_sources(mirror, suite)
    tag = base_tag(sources)
    if _has_image(client, tag):
        return tag
    progress(f"bootstrapping a Debian {sources[0].suite} root filesystem from {sources[0].uri}")
    with tempfile.TemporaryDirectory(prefix="asibench-rootfs-") as work:
        tarball, folder = Path(work) / "rootfs.tar", Path(work) / "root"
        tool = bootstrap_tool()
        command = bootstrap_command(tool, sources, tarball if tool == "mmdebstrap" else folder)
        proc = subprocess.run(command, capture_output=True, text=True, timeout=BOOTSTRAP_TIMEOUT_S)
        if proc.returncode != 0:
            raise SandboxError(f"{command[0]} failed:\n{(proc.stderr or proc.stdout)[-4000:]}")
        if tool == "debootstrap":
            subprocess.run(["tar", "-C", str(folder), "-cf", str(tarball), "."], check=True)
        repository, _, version = tag.partition(":")
        progress(f"importing the root filesystem as {tag}")
        client.api.import_image(src=str(tarball), repository=repository, tag=version)
    if not _has_image(client, tag):
        raise SandboxError(f"docker import did not produce {tag}")
    return tag


def python_version(client: Any, image: str) -> str:
    """``major.minor`` of the image's python3 (to download matching wheels)."""
    output = client.containers.run(
        image,
        ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        remove=True,
        network_mode="none",
    )
    return output.decode().strip()
