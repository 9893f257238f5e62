"""The ``asibench-env`` application: its command groups and the console entry point."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import typer

from asibench_env.cli.docker import image_app, sandbox_app
from asibench_env.cli.instances import instances_app
from asibench_env.cli.leaderboard import leaderboard
from asibench_env.cli.report import report
from asibench_env.cli.rollouts import rollouts
from asibench_env.cli.run import run
from asibench_env.cli.score import score
from asibench_env.cli.site import site_app
from asibench_env.cli.submission import submission_app
from asibench_env.cli.tasks import tasks_app

app = typer.Typer(
    help="ASI-Bench scientific-workflow tasks as multi-turn Gymnasium environments.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.command()(run)
app.command()(rollouts)
app.command()(report)
app.command()(score)
app.command()(leaderboard)
app.add_typer(submission_app, name="submission")
app.add_typer(tasks_app, name="tasks")
app.add_typer(instances_app, name="instances")
app.add_typer(image_app, name="image")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(site_app, name="site")


def one_line_error(exc: typer.TyperException) -> str:
    """A usage error as one line: the command, what was wrong and (in the message) what to type instead."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "asibench-env"
    message = " ".join(exc.format_message().split())
    if ctx is not None:
        message += f" (see: {where} --help)"
    return f"{where}: error: {message}"


def main(argv: Sequence[str] | None = None) -> None:
    """The console entry point: usage errors print one line and exit 2; Ctrl-C exits 130."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = app(args=list(argv) if argv is not None else None, prog_name="asibench-env", standalone_mode=False)
    except typer.TyperException as exc:
        show = getattr(exc, "show", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and show is not None:  # a bare group: its help
            show()
        else:
            print(one_line_error(exc), file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("asibench-env: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
