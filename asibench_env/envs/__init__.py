"""Gymnasium environments."""

from asibench_env.envs.registration import GENERIC_ID, env_id, register_envs

__all__ = ["GENERIC_ID", "env_id", "register_envs"]
