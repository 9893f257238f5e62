"""Group statistics of rollouts: mean, standard deviation and per-rollout advantages (GRPO style)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_EPS = 1e-6


@dataclass(frozen=True)
class GroupStats:
    """The statistics of one group's rewards, and each reward's advantages in the same order.

    ``std`` is the sample standard deviation (n - 1 in the denominator, as ``torch.std`` computes it in
    the GRPO trainers), 0.0 for a single reward. ``advantages`` are ``(r - mean) / (std + eps)``;
    ``centered`` are the plain ``r - mean`` (for Dr. GRPO-style training without the division).
    """

    mean: float
    std: float
    advantages: list[float]
    centered: list[float]


def group_stats(rewards: Sequence[float], eps: float = DEFAULT_EPS) -> GroupStats:
    """The statistics of ``rewards``. Raises :class:`ValueError` for no rewards or a negative ``eps``."""
    if not rewards:
        raise ValueError("a group needs at least one scored rollout for its statistics")
    if eps < 0:
        raise ValueError(f"eps must be >= 0, not {eps}")
    values = [float(r) for r in rewards]
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    centered = [v - mean for v in values]
    return GroupStats(mean, std, [c / (std + eps) for c in centered], centered)
