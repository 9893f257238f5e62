"""Deprecated alias of :mod:`asibench_env.envs.episode`, kept for one release (removed in 0.3)."""

import sys
import warnings

import asibench_env.envs.episode as _moved

warnings.warn(
    "asibench_env.episode moved to asibench_env.envs.episode; import it from there",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
