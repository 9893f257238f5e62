"""``python -m asibench_env`` runs the command line."""

from asibench_env.cli import main

main()
