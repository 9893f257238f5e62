"""asibench-env: ASI-Bench scientific-workflow tasks as multi-turn Gymnasium environments."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("asibench-env")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
