"""The agent registry, the typed agent settings, and the optional protocols the runner reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from asibench_env.agents import (
    AgentSettings,
    AgentSettingsError,
    AgentSpecError,
    Describable,
    NaiveAgent,
    OracleAgent,
    ReportsTurns,
    ReportsUsage,
    SyncAdapter,
    UnknownAgentError,
    register_agent,
    registered_agents,
    resolve_agent,
)
from asibench_env.agents import registry as registry_module
from asibench_env.agents.pricing import ModelPrice, Usage
from asibench_env.runs.baselines import BaselineConfig, BaselineError, load_baseline, with_overrides

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def clean_registry():
    saved = dict(registry_module._REGISTRY)
    yield
    registry_module._REGISTRY.clear()
    registry_module._REGISTRY.update(saved)


def test_builtins_are_registered_without_importing_the_sdks():
    code = (
        "import sys\n"
        "sys.modules['openai'] = None\n"  # as if the SDKs were not installed
        "sys.modules['anthropic'] = None\n"
        "import asibench_env.agents as a\n"
        "from asibench_env.agents import AgentSettings, AgentSpecError, resolve_agent\n"
        "print(','.join(a.AGENT_NAMES))\n"
        "try:\n"
        "    resolve_agent('openai').build(AgentSettings(agent='openai', model='gpt-4o'))\n"
        "except AgentSpecError as exc:\n"
        "    print(exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    names, error = proc.stdout.splitlines()
    assert names == "oracle,null,naive,openai,openai-responses,anthropic"
    assert "pip install 'asibench-env[openai]'" in error


def test_unknown_names_list_every_choice():
    with pytest.raises(UnknownAgentError) as info:
        resolve_agent("nobody")
    message = str(info.value)
    assert "oracle, null, naive, openai, openai-responses, anthropic" in message
    assert "package.module:ClassName" in message and "asibench_env.agents" in message


def test_module_colon_class_errors_are_clear():
    settings = AgentSettings(agent="x")
    with pytest.raises(AgentSpecError, match="cannot import 'no_such_module_x'.*PYTHONPATH"):
        resolve_agent("no_such_module_x:Agent").build(settings)
    with pytest.raises(AgentSpecError, match="has no 'Nope'"):
        resolve_agent("asibench_env.agents.null:Nope").build(settings)
    with pytest.raises(AgentSpecError, match="lacks the agent protocol"):
        resolve_agent("collections:OrderedDict").build(settings)
    with pytest.raises(AgentSpecError, match="package.module:ClassName"):
        resolve_agent(":Agent")
    assert resolve_agent("asibench_env.agents.null:NullAgent").build(settings).name == "null"


def test_register_agent(clean_registry):
    def factory(settings: AgentSettings, *, registry: Any = None) -> NaiveAgent:
        return NaiveAgent(mode="mean", registry=registry)

    register_agent("mine", factory, summary="a test agent")
    assert "mine" in registered_agents() and registered_agents()["mine"].origin == "registered"
    assert resolve_agent("mine").build(AgentSettings(agent="mine")).name == "naive-mean"
    with pytest.raises(ValueError, match="already registered"):
        register_agent("mine", factory, summary="again")
    with pytest.raises(ValueError, match="without ':'"):
        register_agent("a:b", factory, summary="bad")
    register_agent("oracle", factory, summary="replaced", replace=True)
    assert resolve_agent("oracle").summary == "replaced"


def test_builtin_reference_agents_from_settings(registry):
    assert isinstance(resolve_agent("oracle").build(AgentSettings(agent="oracle"), registry=registry), OracleAgent)
    assert resolve_agent("naive").build(AgentSettings(agent="naive")).name == "naive-zeros"
    with pytest.raises(AgentSettingsError, match="must be one of zeros, mean") as info:
        resolve_agent("naive").build(AgentSettings(agent="naive", options={"mode": "max"}))
    assert info.value.field == "options"
    with pytest.raises(AgentSettingsError, match="has no option colour; it takes none"):
        resolve_agent("null").build(AgentSettings(agent="null", options={"colour": "red"}))


def test_settings_validation():
    with pytest.raises(ValidationError, match="extra"):
        AgentSettings(agent="openai", modle="gpt-4o")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="MODEL=INPUT,OUTPUT"):
        AgentSettings(agent="openai", prices=["gpt-4o=1"])
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        AgentSettings(agent="openai", temperature=-1)
    with pytest.raises(ValidationError):
        AgentSettings(agent="")
    table = AgentSettings(agent="openai", prices=["my-model=1,2,0.5"]).price_table()
    assert table.price("my-model") == ModelPrice(input=1, output=2, cached_input=0.5)


def test_model_agents_share_construction_from_settings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-secret")
    settings = AgentSettings(
        agent="openai", model="m1", base_url="http://127.0.0.1:9/v1", temperature=0, seed=3, prices=["m1=1,2"]
    )
    agent = resolve_agent("openai").build(settings)
    assert agent.config() == {  # type: ignore[union-attr]
        "agent": "openai",
        "model": "m1",
        "base_url": "http://127.0.0.1:9/v1/",
        "native_tools": True,
        "temperature": 0.0,
        "seed": 3,
    }
    assert "sk-secret" not in str(agent.config())  # type: ignore[union-attr]
    with pytest.raises(AgentSettingsError, match="needs --model") as info:
        resolve_agent("anthropic").build(AgentSettings(agent="anthropic"))
    assert info.value.field == "model"
    claude = AgentSettings(agent="anthropic", model="claude-sonnet-4-20250514", seed=1)
    with pytest.raises(AgentSettingsError, match="has no seed setting") as info:
        resolve_agent("anthropic").build(claude)
    assert info.value.field == "seed"
    monkeypatch.setenv("OTHER_KEY", "k")
    responses = AgentSettings(agent="openai-responses", model="gpt-4o", api_key_env="OTHER_KEY", max_tokens=64)
    monkeypatch.delenv("OPENAI_API_KEY")
    built = resolve_agent("openai-responses").build(responses)
    assert built.config()["max_output_tokens"] == 64  # type: ignore[union-attr]


def test_baselines_are_agent_settings_plus_run_settings(tmp_path: Path):
    config = load_baseline(REPO / "baselines" / "gpt-4.1.yaml")
    assert isinstance(config, AgentSettings) and config.agent == "openai" and config.seed == 1234
    assert config.agent_settings() == AgentSettings(
        agent="openai", model="gpt-4.1", temperature=0.0, seed=1234, max_tokens=8192, max_cost_usd=5.0
    )
    merged = with_overrides(config, {"seeds": "0", "temperature": None, "agent": "my_pkg.mod:Agent"})
    assert merged.seeds == "0" and merged.temperature == 0.0 and merged.agent == "my_pkg.mod:Agent"
    with pytest.raises(BaselineError, match="temperature") as info:
        with_overrides(config, {"temperature": "hot"})
    assert info.value.field == "temperature"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nagent: oracle\nmodle: y\n")
    with pytest.raises(BaselineError, match="field 'modle': unknown setting"):
        load_baseline(bad)
    assert BaselineConfig(name="n", agent="anything-at-all").agent == "anything-at-all"


class _AsyncReporter:
    name = "async-reporter"

    def __init__(self) -> None:
        self.usage = Usage(input_tokens=5)
        self.cost_usd = 0.5
        self.turn = {"input_tokens": 5}

    def pop_turn(self) -> dict[str, Any]:
        turn, self.turn = self.turn, {}
        return turn

    def config(self) -> dict[str, Any]:
        return {"kind": "async"}

    async def reset(self, observation: str, info: dict[str, Any]) -> None:
        pass

    async def act(self, observation: str, info: dict[str, Any]) -> Any:
        return {"tool": "submit", "arguments": {}}

    async def end(self, reward: float, info: dict[str, Any]) -> None:
        pass


class _AsyncPlain:
    name = "async-plain"

    async def reset(self, observation: str, info: dict[str, Any]) -> None:
        pass

    async def act(self, observation: str, info: dict[str, Any]) -> Any:
        return "submit"

    async def end(self, reward: float, info: dict[str, Any]) -> None:
        pass


def test_sync_adapter_forwards_exactly_the_protocols_the_agent_has():
    reporter = SyncAdapter(_AsyncReporter())
    plain = SyncAdapter(_AsyncPlain())
    try:
        assert isinstance(reporter, SyncAdapter) and isinstance(plain, SyncAdapter)
        assert isinstance(reporter, ReportsUsage) and isinstance(reporter, ReportsTurns)
        assert isinstance(reporter, Describable)
        assert reporter.usage.input_tokens == 5 and reporter.cost_usd == 0.5  # type: ignore[attr-defined]
        assert reporter.pop_turn() == {"input_tokens": 5} and reporter.pop_turn() == {}  # type: ignore[attr-defined]
        assert reporter.config() == {"kind": "async"}  # type: ignore[attr-defined]
        assert not isinstance(plain, ReportsUsage | ReportsTurns | Describable)
    finally:
        reporter.close()
        plain.close()
