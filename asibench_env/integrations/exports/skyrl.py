"""SkyRL-gym prompt rows: ``data_source``, ``prompt``, ``env_class``, ``reward_spec``, ``extra_info``.

The ``asibench`` env class rebuilds the instance from ``extra_info`` and scores the episode itself;
``reward_spec`` is ``{"method": "rule", "ground_truth": None}``: the key SkyRL's envs check for is
there, null (no reference in the data). ``extra_info`` has the fields the SkyRL env reads.
"""

from __future__ import annotations

from collections.abc import Sequence

from asibench_env.integrations.exports.instances import FreshInstance
from asibench_env.integrations.exports.models import SkyrlRewardSpec, SkyrlRow
from asibench_env.integrations.exports.verl import DATA_SOURCE_PREFIX

ENV_CLASS = "asibench"


def skyrl_rows(instances: Sequence[FreshInstance], *, env_class: str = ENV_CLASS) -> list[SkyrlRow]:
    """One SkyRL row per instance, in the instances' order."""
    return [
        SkyrlRow(
            data_source=DATA_SOURCE_PREFIX + item.info.task_id,
            prompt=item.messages,
            env_class=env_class,
            reward_spec=SkyrlRewardSpec(),
            extra_info=item.info,
        )
        for item in instances
    ]
