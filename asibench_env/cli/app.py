"""The ``asibench-env`` application: its command groups and the console entry point."""

from __future__ import annotations

import logging

import typer

from asibench_env.cli.docker import image_app, sandbox_app
from asibench_env.cli.report import report
from asibench_env.cli.run import run
from asibench_env.cli.tasks import tasks_app

app = typer.Typer(
    help="ASI-Bench scientific-workflow tasks as multi-turn Gymnasium environments.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.command()(run)
app.command()(report)
app.add_typer(tasks_app, name="tasks")
app.add_typer(image_app, name="image")
app.add_typer(sandbox_app, name="sandbox")


def main() -> None:  # pragma: no cover - console entry
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
