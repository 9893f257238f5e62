"""The sandbox image: its default name, finding it, checking tasks' requirements against it, building it.

The image is built from ``image/Dockerfile``. With a registry the base is ``python:3.11-slim`` and pip
reaches PyPI from inside the build. Offline (``asibench-env image build --offline``) the base is a
Debian root filesystem bootstrapped from the Debian mirror of the host's apt sources and imported
with ``docker import``; the wheels are downloaded by the host (which has PyPI, and trusts its own
certificates) and served to the build from 127.0.0.1. Both use Docker's classic builder (the SDK's).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from asibench_env.sandbox.base import SandboxError
from asibench_env.sandbox.container import debian, wheelhouse
from asibench_env.sandbox.container.debian import BASE_PACKAGES
from asibench_env.tasks.registry import builtin_registry
from asibench_env.tasks.runtime import requirements

logger = logging.getLogger(__name__)

IMAGE_DIR = Path(__file__).resolve().parent / "image"
REPOSITORY = "asibench-env/runtime"
IMAGE_ENV_VAR = "ASIBENCH_ENV_IMAGE"
PACKAGES_LABEL = "org.asibench-env.requirements"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ImageInfo:
    """A sandbox image as the engine knows it."""

    reference: str
    image_id: str
    digest: str | None
    """The registry digest when the image came from a registry; None for a locally built image."""
    labels: dict[str, str]


@cache
def default_requirements() -> tuple[str, ...]:
    """The scientific core plus every built-in task's ``runtime.packages``."""
    packages: list[str] = []
    for task in builtin_registry():
        packages += task.runtime_packages
    return tuple(requirements(packages))


def image_tag(packages: Sequence[str] | None = None) -> str:
    """The default tag for an image with these requirements: it changes when they or the Dockerfile do."""
    reqs = requirements(packages) if packages else list(default_requirements())
    text = json.dumps(
        {"dockerfile": (IMAGE_DIR / "Dockerfile").read_text(), "requirements": reqs, "debian": BASE_PACKAGES}
    )
    return f"{REPOSITORY}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def default_image() -> str:
    """``$ASIBENCH_ENV_IMAGE`` when set, else the default tag."""
    return os.environ.get(IMAGE_ENV_VAR) or image_tag()


def _info(reference: str, image: Any) -> ImageInfo:
    digests = image.attrs.get("RepoDigests") or []
    return ImageInfo(
        reference=reference,
        image_id=image.id,
        digest=digests[0] if digests else None,
        labels=dict(image.labels or {}),
    )


def find_image(client: Any, reference: str) -> ImageInfo | None:
    """The image ``reference`` on the engine, or None when it is not there."""
    import docker.errors

    try:
        return _info(reference, client.images.get(reference))
    except docker.errors.ImageNotFound:
        return None


def resolve_image(client: Any, image: str | None = None) -> ImageInfo:
    """The image a sandbox will use, or a clear error saying how to get it."""
    reference = image or default_image()
    found = find_image(client, reference)
    if found is None:
        raise SandboxError(
            f"the sandbox image {reference} is not on this Docker engine. Build it with "
            "`asibench-env image build --offline` (from Debian's packages, no registry needed) or "
            "`asibench-env image build` (from python:3.11-slim), or name another with --image"
        )
    return found


def check_requirements(info: ImageInfo, manifest: dict[str, Any] | None, packages: Sequence[str]) -> None:
    """Fail clearly when the image lacks a package (or version) that the task's runtime asks for."""
    if not packages:
        return
    if not manifest or not isinstance(manifest.get("packages"), dict):
        logger.warning("image %s has no package manifest; the task's requirements cannot be checked", info.reference)
        return
    installed = {canonicalize_name(k): str(v) for k, v in manifest["packages"].items()}
    problems = []
    for text in packages:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            problems.append(f"{text!r} is not a valid requirement ({exc})")
            continue
        have = installed.get(canonicalize_name(req.name))
        if have is None:
            problems.append(f"{text} (not installed)")
        elif req.specifier and not req.specifier.contains(have, prereleases=True):
            problems.append(f"{text} (the image has {have})")
    if problems:
        wanted = " ".join(f"--package '{p}'" for p in packages)
        raise SandboxError(
            f"the sandbox image {info.reference} does not meet the task's runtime requirements: "
            f"{'; '.join(problems)}. Build one that does with `asibench-env image build --offline {wanted}` "
            "and pass its tag with --image (or sandbox_options={'image': TAG})"
        )


# ---------------------------------------------------------------------- building
def build_image(
    client: Any,
    *,
    offline: bool,
    packages: Sequence[str] = (),
    tag: str | None = None,
    base_image: str = "python:3.11-slim",
    mirror: str | None = None,
    suite: str | None = None,
    progress: Progress = logger.info,
) -> ImageInfo:
    """Build the sandbox image (see the module docstring) and return it."""
    reqs = requirements(packages) if packages else list(default_requirements())
    tag = tag or image_tag(reqs)
    with tempfile.TemporaryDirectory(prefix="asibench-image-") as context:
        shutil.copy(IMAGE_DIR / "Dockerfile", Path(context) / "Dockerfile")
        (Path(context) / "requirements.txt").write_text("\n".join(reqs) + "\n")
        labels = {PACKAGES_LABEL: json.dumps(reqs), "org.asibench-env.offline": str(offline).lower()}
        if not offline:
            progress(f"building {tag} from {base_image} (pip reaches PyPI from the build)")
            _docker_build(client, context, tag, {"BASE_IMAGE": base_image}, labels, None, progress)
        else:
            base = debian.ensure_base_image(client, mirror=mirror, suite=suite, progress=progress)
            python_version = debian.python_version(client, base)
            wheels = wheelhouse.download(reqs, python_version, progress=progress)
            with wheelhouse.serve(wheels) as url:
                args = {"BASE_IMAGE": base, "PIP_ARGS": f"--no-index --find-links {url}"}
                labels["org.asibench-env.base"] = base
                progress(f"building {tag} from {base} with {len(list(wheels.glob('*.whl')))} wheels")
                _docker_build(client, context, tag, args, labels, "host", progress)
    info = find_image(client, tag)
    if info is None:
        raise SandboxError(f"the build finished but {tag} is not on the engine")
    progress(f"built {tag} ({info.image_id[:19]})")
    return info


def _docker_build(
    client: Any,
    context: str,
    tag: str,
    buildargs: dict[str, str],
    labels: dict[str, str],
    network_mode: str | None,
    progress: Progress,
) -> None:
    """Docker's classic builder (what the SDK speaks), with its log streamed to ``progress``."""
    stream = client.api.build(
        path=context,
        tag=tag,
        buildargs=buildargs,
        labels=labels,
        network_mode=network_mode,
        rm=True,
        forcerm=True,
        decode=True,
    )
    tail: list[str] = []
    for event in stream:
        if "error" in event:
            raise SandboxError(f"building {tag} failed: {event['error'].strip()}\n" + "".join(tail[-30:]))
        text = event.get("stream", "")
        if text:
            tail.append(text)
            if text.startswith("Step "):
                progress(text.strip())
