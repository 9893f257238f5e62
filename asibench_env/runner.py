"""Deprecated alias of :mod:`asibench_env.runs.runner`, kept for one release (removed in 0.3)."""

import sys
import warnings

import asibench_env.runs.runner as _moved

warnings.warn(
    "asibench_env.runner moved to asibench_env.runs.runner; import it from there",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
