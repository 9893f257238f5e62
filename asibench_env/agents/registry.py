"""Agents by name: the built-ins, classes given as ``package.module:ClassName``, and installed plug-ins.

A target is what builds an agent: a class with ``from_settings(settings, *, registry)``, any other class
(built with no arguments), or a factory function ``f(settings, *, registry)``. Built-ins are registered
as ``"module:attr"`` strings, so the provider SDKs are imported only when their agent is used.
Plug-in packages declare targets in the ``asibench_env.agents`` entry-point group.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Protocol

from asibench_env.agents.base import Agent, AsyncAgent
from asibench_env.agents.settings import AgentSettings
from asibench_env.tasks.registry import TaskRegistry

ENTRY_POINT_GROUP = "asibench_env.agents"


class AgentFactory(Protocol):
    """Builds an agent from its settings; ``registry`` holds the run's tasks (the oracle reads it)."""

    def __call__(self, settings: AgentSettings, *, registry: TaskRegistry | None = None) -> Agent | AsyncAgent: ...


AgentTarget = AgentFactory | type | str


class AgentSpecError(ValueError):
    """An agent spec names nothing usable: an unknown name, or a module or class that does not load."""


class UnknownAgentError(AgentSpecError):
    """No registered agent, plug-in or ``module:Class`` matches the name."""


@dataclass(frozen=True)
class AgentEntry:
    """One resolvable agent: its name, a one-line summary and its (possibly not yet imported) target."""

    name: str
    summary: str
    target: AgentTarget
    origin: str = "built-in"
    """``built-in``, ``registered``, ``plug-in (DIST)`` or ``module``."""
    install_hint: str | None = None
    """What to install when the target's module is missing (e.g. ``pip install 'asibench-env[openai]'``)."""

    def factory(self) -> AgentFactory:
        """The target as a factory, importing it first when it is a ``module:attr`` string.

        Raises :class:`AgentSpecError` when the module or attribute does not load.
        """
        target = self.target
        if isinstance(target, str):
            target = _import_target(target, self.name, self.install_hint)
        return _as_factory(target, self.name)

    def build(self, settings: AgentSettings, *, registry: TaskRegistry | None = None) -> Agent | AsyncAgent:
        """A new agent from ``settings``.

        Raises :class:`AgentSpecError` when the target does not load or does not build an agent, and
        whatever the target raises for settings it cannot use (e.g.
        :class:`~asibench_env.agents.settings.AgentSettingsError`).
        """
        agent = self.factory()(settings, registry=registry)
        if not isinstance(agent, Agent | AsyncAgent):
            raise AgentSpecError(
                f"agent {self.name!r} built a {type(agent).__name__}, which lacks the agent protocol "
                "(a name attribute and reset, act, end methods)"
            )
        return agent


_REGISTRY: dict[str, AgentEntry] = {}


def register_agent(
    name: str, factory: AgentTarget, *, summary: str, replace: bool = False, install_hint: str | None = None
) -> AgentEntry:
    """Register an agent under ``name`` (a class, a factory function or a ``"module:attr"`` string).

    Raises :class:`ValueError` for an empty name, one with ``:`` (that form means module:Class), or a
    name already taken unless ``replace``.
    """
    return _add(AgentEntry(name, summary, factory, "registered", install_hint), replace=replace)


def _add(entry: AgentEntry, *, replace: bool) -> AgentEntry:
    name = entry.name
    if not name or ":" in name or name != name.strip():
        raise ValueError(f"agent name {name!r} must be non-empty, without ':' or surrounding spaces")
    if name in _REGISTRY and not replace:
        raise ValueError(f"agent {name!r} is already registered; pass replace=True to replace it")
    _REGISTRY[name] = entry
    return entry


def registered_agents() -> dict[str, AgentEntry]:
    """The registered agents by name, in registration order (built-ins first)."""
    return dict(_REGISTRY)


def plugin_agents() -> dict[str, EntryPoint]:
    """Installed plug-ins: the entry points of the ``asibench_env.agents`` group, by name (not imported)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def resolve_agent(spec: str) -> AgentEntry:
    """The agent ``spec`` names: a registered name, then ``package.module:ClassName``, then a plug-in.

    Nothing is imported yet except the plug-in list; :meth:`AgentEntry.build` imports the target.
    Raises :class:`UnknownAgentError` when nothing matches, naming every choice.
    """
    spec = spec.strip()
    if spec in _REGISTRY:
        return _REGISTRY[spec]
    if ":" in spec:
        module, _, attr = spec.partition(":")
        if not module or not attr:
            raise AgentSpecError(f"agent {spec!r} must look like package.module:ClassName")
        return AgentEntry(spec, f"{attr} from {module}", spec, "module")
    plugins = plugin_agents()
    if spec in plugins:
        ep = plugins[spec]
        dist = ep.dist.name if ep.dist is not None else "?"
        return AgentEntry(spec, f"plug-in from {dist}", ep.value, f"plug-in ({dist})")
    raise UnknownAgentError(
        f"unknown agent {spec!r}; use one of {', '.join(_REGISTRY)}"
        + (f", an installed plug-in ({', '.join(sorted(plugins))})" if plugins else "")
        + ", a class as package.module:ClassName, or the name of a plug-in installed in the "
        f"{ENTRY_POINT_GROUP!r} entry-point group"
    )


def _import_target(path: str, name: str, install_hint: str | None) -> Any:
    module_name, _, attr_path = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        hint = f"; {install_hint}" if install_hint else " (is its folder on PYTHONPATH, or is it installed?)"
        raise AgentSpecError(f"agent {name!r}: cannot import {module_name!r}: {exc}{hint}") from exc
    except Exception as exc:  # noqa: BLE001 - any error while importing a user's module is reported the same way
        raise AgentSpecError(f"agent {name!r}: importing {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise AgentSpecError(
                f"agent {name!r}: module {module_name!r} has no {attr_path!r}; check the name after ':'"
            ) from exc
    return obj


def _as_factory(target: Any, name: str) -> AgentFactory:
    from_settings = getattr(target, "from_settings", None)
    if callable(from_settings):
        return from_settings
    if isinstance(target, type):
        cls = target

        def build(settings: AgentSettings, *, registry: TaskRegistry | None = None) -> Agent | AsyncAgent:
            settings.refuse_options()
            return cls()

        return build
    if callable(target):
        return target
    raise AgentSpecError(f"agent {name!r} is a {type(target).__name__}, not a class or a factory function")


_OPENAI_HINT = "pip install 'asibench-env[openai]'"
_BUILTINS = (
    ("oracle", "asibench_env.agents.oracle:OracleAgent", "runs each task's reference solver", None),
    ("null", "asibench_env.agents.null:NullAgent", "submits at once (the score floor)", None),
    ("naive", "asibench_env.agents.naive:NaiveAgent", "oracle outputs, numbers blanked (option mode=zeros|mean)", None),
    (
        "openai",
        "asibench_env.agents.openai_agent:OpenAIChatAgent",
        "OpenAI Chat Completions or any OpenAI-compatible server (needs --model)",
        _OPENAI_HINT,
    ),
    (
        "openai-responses",
        "asibench_env.agents.openai_responses_agent:OpenAIResponsesAgent",
        "OpenAI Responses API (needs --model)",
        _OPENAI_HINT,
    ),
    (
        "anthropic",
        "asibench_env.agents.anthropic_agent:AnthropicAgent",
        "Anthropic Messages API (needs --model)",
        "pip install 'asibench-env[anthropic]'",
    ),
)
for _name, _target, _summary, _hint in _BUILTINS:
    _add(AgentEntry(_name, _summary, _target, "built-in", _hint), replace=False)
