"""Deprecated alias of :mod:`asibench_env.envs.tools`, kept for one release (removed in 0.3)."""

import sys
import warnings

import asibench_env.envs.tools as _moved

warnings.warn(
    "asibench_env.tools moved to asibench_env.envs.tools; import it from there",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
