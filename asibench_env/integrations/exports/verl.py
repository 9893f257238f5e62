"""verl prompt rows: ``data_source``, ``prompt``, ``ability``, ``reward_model``, ``extra_info``, ``agent_name``.

The reward is the env's score of the episode (rebuilt from ``extra_info``); ``reward_model`` carries the
``style`` and ``ground_truth`` keys verl's reward managers read, with no reference (``ground_truth`` null).
"""

from __future__ import annotations

from collections.abc import Sequence

from asibench_env.integrations.exports.instances import FreshInstance
from asibench_env.integrations.exports.models import VerlRewardModel, VerlRow

DATA_SOURCE_PREFIX = "asibench/"
DEFAULT_AGENT_NAME = "tool_agent"


def verl_rows(instances: Sequence[FreshInstance], *, agent_name: str = DEFAULT_AGENT_NAME) -> list[VerlRow]:
    """One verl row per instance, in the instances' order; ``data_source`` is ``asibench/<task_id>``."""
    return [
        VerlRow(
            data_source=DATA_SOURCE_PREFIX + item.info.task_id,
            prompt=item.messages,
            ability=item.domain,
            reward_model=VerlRewardModel(),
            extra_info=item.info,
            agent_name=agent_name,
        )
        for item in instances
    ]
