"""Harbor task export: one Harbor task folder per seeded instance (task, level, seed).

See ``docs/training/harbor.md``. The folder format is Harbor 0.25.0's (:data:`HARBOR_VERSION`).
"""

from asibench_env.integrations.harbor.config import HARBOR_VERSION, HarborTaskConfig
from asibench_env.integrations.harbor.export import (
    ExportedTask,
    HarborExportError,
    HarborExportOptions,
    HarborExportSpec,
    export_harbor_tasks,
)

__all__ = [
    "HARBOR_VERSION",
    "ExportedTask",
    "HarborExportError",
    "HarborExportOptions",
    "HarborExportSpec",
    "HarborTaskConfig",
    "export_harbor_tasks",
]
