"""Old import paths keep working for one release, with a DeprecationWarning; the root exports the public API."""

from __future__ import annotations

import importlib
import sys

import pytest

import asibench_env

MOVED = {
    "asibench_env.actions": "asibench_env.envs.actions",
    "asibench_env.tools": "asibench_env.envs.tools",
    "asibench_env.episode": "asibench_env.envs.episode",
    "asibench_env.runner": "asibench_env.runs.runner",
    "asibench_env.batch": "asibench_env.runs.batch",
}


@pytest.mark.parametrize(("old", "new"), MOVED.items())
def test_old_paths_warn_and_alias_the_new_module(old: str, new: str):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)


def test_public_names_from_the_package_root():
    call = asibench_env.ToolCall(tool="submit")
    assert asibench_env.parse_action({"tool": "submit"}) == call
    assert issubclass(asibench_env.InfraError, RuntimeError)
    assert asibench_env.__version__
    for name in asibench_env.__all__:
        assert getattr(asibench_env, name) is not None
