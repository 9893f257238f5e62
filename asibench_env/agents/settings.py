"""AgentSettings: one typed model of what builds an agent, shared by baseline files, the CLI and the model agents."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from asibench_env.agents.pricing import PriceTable, default_prices, parse_price

OptionValue = str | int | float | bool


class AgentSettingsError(ValueError):
    """Settings an agent cannot use; ``field`` names the offending setting (e.g. ``"model"``)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class AgentSettings(BaseModel):
    """What an agent is built from: its name, the model and request settings, the budgets and the prices.

    Unknown fields are refused (``extra="forbid"``); a bad value raises :class:`pydantic.ValidationError`
    (use :func:`validation_message` for a one-line account of it).
    """

    model_config = ConfigDict(extra="forbid")

    agent: str = Field(min_length=1, description="A registered name, package.module:ClassName or a plug-in name.")
    model: str | None = Field(default=None, description="The model name, for the model (API) agents.")
    base_url: str | None = Field(default=None, description="An OpenAI- or Anthropic-compatible server URL.")
    api_key_env: str | None = Field(
        default=None, description="The environment variable holding the API key (default: the provider's own)."
    )
    temperature: float | None = Field(default=None, ge=0, le=2)
    seed: int | None = Field(default=None, description="The model's sampling seed, where the API has one.")
    max_tokens: int | None = Field(default=None, gt=0, description="Maximum output tokens per model call.")
    reasoning_effort: str | None = Field(default=None, description="Reasoning effort (OpenAI reasoning models).")
    native_tools: bool = Field(default=True, description="False: the text (ReAct) tool protocol instead.")
    max_total_tokens: int | None = Field(default=None, gt=0, description="Token budget per episode.")
    max_cost_usd: float | None = Field(default=None, gt=0, description="Dollar budget per episode.")
    prices: list[str] = Field(
        default_factory=list, description="Price overrides, each MODEL=INPUT,OUTPUT[,CACHED] in $ per million tokens."
    )
    options: dict[str, OptionValue] = Field(
        default_factory=dict, description="Agent-specific settings (e.g. the naive agent's mode)."
    )

    @field_validator("prices")
    @classmethod
    def _prices_parse(cls, prices: list[str]) -> list[str]:
        for text in prices:
            parse_price(text)  # raises ValueError with the expected form
        return prices

    def price_table(self) -> PriceTable:
        """The shipped price table with this run's overrides applied."""
        table = default_prices()
        for text in self.prices:
            table = table.with_override(*parse_price(text))
        return table

    def agent_settings(self) -> AgentSettings:
        """Only the agent's settings (drops the run-level fields of a subclass such as a baseline file)."""
        return AgentSettings.model_validate(self.model_dump(include=set(AgentSettings.model_fields)))

    def option(self, key: str, default: OptionValue, choices: tuple[OptionValue, ...] = ()) -> OptionValue:
        """One agent-specific option, checked against ``choices`` when given.

        Raises :class:`AgentSettingsError` when the value is not among ``choices``.
        """
        value = self.options.get(key, default)
        if choices and value not in choices:
            raise AgentSettingsError(
                f"the {self.agent} agent's option {key}={value!r} must be one of {', '.join(map(str, choices))}",
                field="options",
            )
        return value

    def refuse_options(self, *allowed: str) -> None:
        """Raise :class:`AgentSettingsError` for options this agent does not take (typos fail loudly)."""
        unknown = sorted(set(self.options) - set(allowed))
        if unknown:
            takes = f"it takes {', '.join(allowed)}" if allowed else "it takes none"
            raise AgentSettingsError(
                f"the {self.agent} agent has no option {', '.join(unknown)}; {takes}", field="options"
            )


def validation_message(exc: ValidationError, *, known: Iterable[str] = ()) -> tuple[str, str]:
    """The first error of a validation failure as (field, one-line message); ``known`` lists the valid fields."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "(document)"
    message = " ".join(str(first["msg"]).split())
    if first.get("type") == "extra_forbidden":
        message = f"unknown setting; use one of {', '.join(known)}" if known else "unknown setting"
    return field, message


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """'KEY=VALUE' strings -> a dict (values stay strings). Raises ValueError for a pair without '='."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"agent option {pair!r} must look like KEY=VALUE")
        options[key.strip()] = value.strip()
    return options
