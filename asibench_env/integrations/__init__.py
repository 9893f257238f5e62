"""Adapters for trainers and their formats: TRL, verifiers, SkyRL-gym, Harbor, and dataset exports of runs.

Each submodule imports its trainer's package only when used; install the matching extra
(``asibench-env[verifiers]``, ``asibench-env[skyrl]``).
"""
