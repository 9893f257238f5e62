"""Deprecated alias of :mod:`asibench_env.runs.batch`, kept for one release (removed in 0.3)."""

import sys
import warnings

import asibench_env.runs.batch as _moved

warnings.warn(
    "asibench_env.batch moved to asibench_env.runs.batch; import it from there",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
