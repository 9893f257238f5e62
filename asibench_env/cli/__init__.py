"""The ``asibench-env`` command line: one module per command group, each thin (parse, call, print)."""

from asibench_env.cli.app import app, main
from asibench_env.cli.tables import score_table

__all__ = ["app", "main", "score_table"]
