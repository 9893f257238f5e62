"""``asibench-env sandbox ...``: clean up after runs that died, on both sandbox backends."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from asibench_env.sandbox.base import SandboxError
from asibench_env.sandbox.factory import backend_class

sandbox_app = typer.Typer(help="Manage sandboxes: sweep what killed runs left behind.", no_args_is_help=True)
console = Console()


class SweepBackend(StrEnum):
    """Which backend's leftovers ``sandbox sweep`` removes."""

    LOCAL = "local"
    DOCKER = "docker"
    ALL = "all"


@sandbox_app.command("sweep")
def sandbox_sweep(
    backend: Annotated[
        SweepBackend, typer.Option("--backend", help="Sweep the local sandbox's folders, Docker's containers, or both.")
    ] = SweepBackend.ALL,
    everything: Annotated[
        bool, typer.Option("--all", help="Remove every asibench-env sandbox, not only those of dead processes.")
    ] = False,
) -> None:
    """Remove sandboxes left behind by runs that died: local folders (their processes, cgroups and
    mounts too) and Docker containers whose owner process is gone."""
    names = ["local", "docker"] if backend is SweepBackend.ALL else [backend.value]
    failed = False
    for name in names:
        try:
            removed = backend_class(name).sweep(everything=everything)
        except SandboxError as exc:
            if backend is SweepBackend.ALL:
                console.print(f"[yellow]{name}: not swept[/] ({exc})")
                continue
            console.print(f"[red]{name}: {exc}[/]")
            failed = True
            continue
        unit = "folder(s)" if name == "local" else "container(s)"
        console.print(f"{name}: removed {removed} {unit}")
    if failed:
        raise typer.Exit(1)
