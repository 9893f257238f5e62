"""The ``asibench-env`` application: its command groups and the console entry point."""

from __future__ import annotations

import inspect
import logging
import signal
import sys
import threading
from collections.abc import Sequence

import typer

from asibench_env.cli import exit_codes
from asibench_env.cli.docker import image_app
from asibench_env.cli.export import export_app
from asibench_env.cli.instances import instances_app
from asibench_env.cli.leaderboard import leaderboard
from asibench_env.cli.report import report
from asibench_env.cli.rollouts import rollouts
from asibench_env.cli.run import run
from asibench_env.cli.sandbox import sandbox_app
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
app.command(epilog=exit_codes.EPILOG)(run)
app.command(epilog=exit_codes.EPILOG)(rollouts)
app.command()(report)
app.command()(score)
app.command()(leaderboard)
app.add_typer(submission_app, name="submission")
app.add_typer(tasks_app, name="tasks")
app.add_typer(instances_app, name="instances")
app.add_typer(image_app, name="image")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(site_app, name="site")
app.add_typer(export_app, name="export")


def reflow_help(text: str) -> str:
    """A docstring as help text: each paragraph on one line, so the terminal wraps it (typer keeps the
    docstring's own line breaks, which look ragged in a narrow terminal); a ``\\b`` paragraph stays as is."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split()) for p in paragraphs)


def _reflow_commands(typer_app: typer.Typer) -> None:
    for info in typer_app.registered_commands:
        if info.help is None and info.callback is not None and info.callback.__doc__:
            info.help = reflow_help(info.callback.__doc__)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _reflow_commands(group.typer_instance)


_reflow_commands(app)


def one_line_error(exc: typer.TyperException) -> str:
    """A usage error as one line: the command, what was wrong and (in the message) what to type instead."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "asibench-env"
    message = " ".join(exc.format_message().split())
    if ctx is not None:
        message += f" (see: {where} --help)"
    return f"{where}: error: {message}"


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM as Ctrl-C: the first stops submitting and finishes running episodes, a second abandons them."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> None:
    """The console entry point: usage errors print one line and exit 2; Ctrl-C and SIGTERM exit 130."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main_thread else None
    try:
        code = _run_app(argv)
    finally:
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)
    sys.exit(code)


def _run_app(argv: Sequence[str] | None) -> int:
    try:
        code = app(args=list(argv) if argv is not None else None, prog_name="asibench-env", standalone_mode=False)
    except typer.TyperException as exc:
        show = getattr(exc, "show", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and show is not None:  # a bare group: its help
            show()
        else:
            print(one_line_error(exc), file=sys.stderr)
        return exc.exit_code
    except typer.Abort:
        print("asibench-env: interrupted", file=sys.stderr)
        return exit_codes.INTERRUPTED
    return code if isinstance(code, int) else 0
