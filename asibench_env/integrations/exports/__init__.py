"""Training datasets from runs (SFT, DPO preference pairs, KTO) and prompt rows for fresh seeds (verl, SkyRL).

Every export is a pure function of the run folders (and the task files): the same inputs give the same
bytes. Episodes that ended in ``infra_error``, were produced but not scored, or have no final score never
enter a dataset; duplicates are dropped; each :class:`ExportReport` says what was left out and why.
"""

from asibench_env.integrations.exports.dimensions import FINAL_SCORE, available_dimensions, dimension_scores
from asibench_env.integrations.exports.errors import ExportError, UnknownDimensionError
from asibench_env.integrations.exports.instances import FreshInstance, InstanceRequest, fresh_instances
from asibench_env.integrations.exports.kto import kto_rows
from asibench_env.integrations.exports.models import DpoRow, KtoRow, SftRow, SkyrlRow, VerlRow
from asibench_env.integrations.exports.preference import dpo_rows
from asibench_env.integrations.exports.report import ExportReport
from asibench_env.integrations.exports.sft import sft_rows
from asibench_env.integrations.exports.skyrl import skyrl_rows
from asibench_env.integrations.exports.source import RunEpisode, read_episodes
from asibench_env.integrations.exports.verl import verl_rows
from asibench_env.integrations.exports.writer import FORMATS, write_dataset, write_rows

__all__ = [
    "FINAL_SCORE",
    "FORMATS",
    "DpoRow",
    "ExportError",
    "ExportReport",
    "FreshInstance",
    "InstanceRequest",
    "KtoRow",
    "RunEpisode",
    "SftRow",
    "SkyrlRow",
    "UnknownDimensionError",
    "VerlRow",
    "available_dimensions",
    "dimension_scores",
    "dpo_rows",
    "fresh_instances",
    "kto_rows",
    "read_episodes",
    "sft_rows",
    "skyrl_rows",
    "verl_rows",
    "write_dataset",
    "write_rows",
]
