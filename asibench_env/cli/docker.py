"""``asibench-env image ...``: the Docker sandbox's image (``sandbox sweep`` is in cli/sandbox.py)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from asibench_env.sandbox.base import SandboxError
from asibench_env.sandbox.container.images import PACKAGES_LABEL, build_image, default_image, find_image, image_tag
from asibench_env.sandbox.container.launcher import docker_client

image_app = typer.Typer(help="Build and inspect the Docker sandbox image.", no_args_is_help=True)
console = Console()


def _client():
    try:
        return docker_client()
    except SandboxError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc


@image_app.command("build")
def image_build(
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="No registry: bootstrap a Debian base from Debian's packages (mmdebstrap or debootstrap), "
            "docker import it, and install wheels the host downloads.",
        ),
    ] = False,
    package: Annotated[
        list[str] | None,
        typer.Option("--package", help="A runtime requirement (repeatable); default: the built-in tasks' needs."),
    ] = None,
    tag: Annotated[str | None, typer.Option(help="Image tag; default: derived from the requirements.")] = None,
    if_missing: Annotated[bool, typer.Option("--if-missing", help="Do nothing when the image exists.")] = False,
    base_image: Annotated[str, typer.Option(help="Base image when not --offline.")] = "python:3.11-slim",
    mirror: Annotated[
        str | None, typer.Option(help="Debian mirror URL for --offline; default: the host's apt sources.")
    ] = None,
    suite: Annotated[str | None, typer.Option(help="Debian suite for --offline; default: the host's.")] = None,
) -> None:
    """Build the sandbox image (the Dockerfile in asibench_env/sandbox/container/image/)."""
    client = _client()
    target = tag or image_tag(package or None)
    if if_missing and find_image(client, target) is not None:
        console.print(f"{target} is already built")
        return
    try:
        with console.status("building the sandbox image") as status:

            def progress(message: str) -> None:
                line = message if len(message) <= 110 else message[:107] + "..."
                status.update(escape(line))
                console.log(line, markup=False, emoji=False, highlight=False)

            info = build_image(
                client,
                offline=offline,
                packages=package or (),
                tag=target,
                base_image=base_image,
                mirror=mirror,
                suite=suite,
                progress=progress,
            )
    except SandboxError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    console.print(f"[green]built {info.reference}[/] id {info.image_id}")


@image_app.command("show")
def image_show(
    image: Annotated[str | None, typer.Argument(help="Image to show; default: the one the sandbox uses.")] = None,
) -> None:
    """Show the sandbox image: id, digest, requirements and installed packages."""
    import json

    client = _client()
    reference = image or default_image()
    info = find_image(client, reference)
    if info is None:
        console.print(f"[red]{reference} is not built[/]: run `asibench-env image build --offline`")
        raise typer.Exit(1)
    console.print(f"image: {info.reference}\nid: {info.image_id}\ndigest: {info.digest or '- (built locally)'}")
    console.print(f"requirements: {', '.join(json.loads(info.labels.get(PACKAGES_LABEL, '[]'))) or '-'}")


__all__ = ["image_app"]
