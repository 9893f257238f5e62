"""The verifiers plugin id of asibench-env: ``vf-eval asibench_verifiers ...`` imports this module.

verifiers 0.4 finds a taskset, its harness and its env by importing a top-level module named by the
plugin id and taking the one ``Taskset``, ``Harness`` and ``Env`` subclass each listed in ``__all__``.
Everything lives in :mod:`asibench_env.integrations.verifiers_env`; this module only names it.
"""

from asibench_env.integrations.verifiers_env import (
    AsiBenchHarness,
    AsiBenchTaskset,
    AsiBenchVerifiersEnv,
    load_environment,
)

__all__ = ["AsiBenchHarness", "AsiBenchTaskset", "AsiBenchVerifiersEnv", "load_environment"]
