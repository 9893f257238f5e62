"""Agents from outside the package, through the real CLI: a module:Class on PYTHONPATH and an installed plug-in."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

from helpers import CLI, DEMO_SOLVE, cli_env

RUN_DEMO = ["--tasks", "demo.line_fit", "--seeds", "0", "--levels", "B3", "--quiet"]

MODULE_AGENT = '''
from asibench_env.agents.pricing import Usage


class CountingAgent:
    """Submits at once, reporting made-up usage and its settings (the optional protocols)."""

    name = "counting"

    def __init__(self):
        self.usage = Usage()
        self.cost_usd = None

    def config(self):
        return {"style": "scripted"}

    def reset(self, observation, info):
        self.usage = Usage(input_tokens=42, output_tokens=7)
        self.cost_usd = 0.25

    def act(self, observation, info):
        return {"tool": "submit", "arguments": {}}

    def end(self, reward, info):
        pass
'''

PLUGIN_PACKAGE = """
SOLVE = {solve!r}


class SolverAgent:
    \"\"\"Solves the demo task with one Python cell, then submits.\"\"\"

    def __init__(self, greeting):
        self.name = "acme-" + greeting
        self._plan = []

    @classmethod
    def from_settings(cls, settings, *, registry=None):
        return cls(str(settings.options.get("greeting", "hello")))

    def reset(self, observation, info):
        self._plan = [{{"tool": "python", "arguments": {{"code": SOLVE}}}}, {{"tool": "submit", "arguments": {{}}}}]

    def act(self, observation, info):
        return self._plan.pop(0)

    def end(self, reward, info):
        pass
"""


def _with_path(tmp_path: Path, folder: Path) -> dict[str, str]:
    env = cli_env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), env.get("PYTHONPATH", "")) if p)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=300)


def test_a_class_given_as_module_colon_class(tmp_path: Path, fixture_tasks_dir: Path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "my_agents.py").write_text(MODULE_AGENT)
    out = tmp_path / "run"
    env = _with_path(tmp_path, folder)
    args = ["run", "--agent", "my_agents:CountingAgent", "--tasks-dir", str(fixture_tasks_dir), "--out", str(out)]
    proc = _run([*args, *RUN_DEMO], env)
    assert proc.returncode == 0, proc.stderr
    assert "Cost: $0.2500" in proc.stdout
    (doc,) = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert doc["agent_name"] == "counting" and doc["final_score"] == 0.0
    assert doc["cost"]["input_tokens"] == 42 and doc["cost"]["estimated_cost_usd"] == 0.25
    meta = json.loads((out / "run_metadata.json").read_text())
    assert meta["agent"] == {"name": "my_agents:CountingAgent", "style": "scripted"}

    again = _run([*args, *RUN_DEMO, "--resume"], env)
    assert again.returncode == 0, again.stderr
    assert "All 1 planned episode(s) were already finished in" in again.stdout
    assert "Mean score" not in again.stdout

    missing = _run([*args[:2], "my_agents:Nope", *args[3:], *RUN_DEMO], env)
    assert missing.returncode == 2 and "has no 'Nope'" in missing.stderr


def test_a_plugin_package_found_through_its_entry_point(tmp_path: Path, fixture_tasks_dir: Path):
    site = tmp_path / "site"
    package = site / "acme_agents"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(PLUGIN_PACKAGE.format(solve=DEMO_SOLVE))
    dist_info = site / "acme_agents-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-agents\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(
        textwrap.dedent("""
        [asibench_env.agents]
        acme = acme_agents:SolverAgent
        """)
    )
    env = _with_path(tmp_path, site)
    help_text = _run(["run", "--help"], env).stdout
    assert "acme" in help_text and "ClassName" in help_text
    out = tmp_path / "run"
    proc = _run(
        [
            "run",
            "--agent",
            "acme",
            "--agent-option",
            "greeting=hi",
            "--tasks-dir",
            str(fixture_tasks_dir),
            "--out",
            str(out),
            *RUN_DEMO,
        ],
        env,
    )
    assert proc.returncode == 0, proc.stderr
    (doc,) = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert doc["agent_name"] == "acme-hi" and doc["final_score"] >= 99
    assert json.loads((out / "run_metadata.json").read_text())["agent"] == {"name": "acme"}


def test_naive_agent_and_unknown_agent_from_the_cli(tmp_path: Path, fixture_tasks_dir: Path):
    env = cli_env(tmp_path)
    out = tmp_path / "naive"
    common = ["--tasks-dir", str(fixture_tasks_dir), *RUN_DEMO]
    proc = _run(["run", "--agent", "naive", "--agent-option", "mode=mean", "--out", str(out), *common], env)
    assert proc.returncode == 0, proc.stderr
    (doc,) = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert doc["agent_name"] == "naive-mean" and doc["final_score"] < 50

    unknown = _run(["run", "--agent", "nobody", "--out", str(tmp_path / "x"), *common], env)
    assert unknown.returncode == 2
    assert "unknown agent 'nobody'" in unknown.stderr and "module:ClassName" in unknown.stderr
    bad_mode = _run(
        ["run", "--agent", "naive", "--agent-option", "mode=max", "--out", str(tmp_path / "y"), *common], env
    )
    assert bad_mode.returncode == 2 and "--agent-option" in bad_mode.stderr and "zeros" in bad_mode.stderr
