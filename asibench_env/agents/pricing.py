"""Token prices and cost accounting: a versioned, dated table shipped with the package, overridable per run."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

PRICES_FILE = Path(__file__).with_name("prices.yaml")


class UnknownPriceError(KeyError):
    """A model has no price: costs are never silently zero."""

    def __str__(self) -> str:
        return str(self.args[0])


class ModelPrice(BaseModel):
    """US dollars per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)


class Usage(BaseModel):
    """Tokens of one model call (cached tokens are part of the input tokens)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
        )


class PriceTable(BaseModel):
    """The prices.yaml document."""

    version: int
    date: str
    currency: str = "USD"
    models: dict[str, ModelPrice]

    def price(self, model: str) -> ModelPrice:
        """The model's price; raises :class:`UnknownPriceError` (saying how to give one) when it is not in the table."""
        if model in self.models:
            return self.models[model]
        raise UnknownPriceError(
            f"no price for model {model!r} in the price table of {self.date} (version {self.version}); "
            f"give one with --price {model}=INPUT,OUTPUT (US dollars per million tokens)"
        )

    def cost(self, model: str, usage: Usage) -> float:
        """The dollar cost of ``usage`` on ``model``; cached input is billed at the cached rate when there is one."""
        price = self.price(model)
        cached_rate = price.cached_input if price.cached_input is not None else price.input
        fresh = max(usage.input_tokens - usage.cached_tokens, 0)
        return (fresh * price.input + usage.cached_tokens * cached_rate + usage.output_tokens * price.output) / 1e6

    def with_override(self, model: str, price: ModelPrice) -> PriceTable:
        """A copy of the table with ``model`` priced at ``price``."""
        return self.model_copy(update={"models": {**self.models, model: price}})


@cache
def default_prices() -> PriceTable:
    """The table shipped with this version of asibench-env."""
    return PriceTable.model_validate(yaml.safe_load(PRICES_FILE.read_text(encoding="utf-8")))


def parse_price(text: str) -> tuple[str, ModelPrice]:
    """'MODEL=INPUT,OUTPUT[,CACHED]' -> (model, price)."""
    try:
        model, numbers = text.split("=", 1)
        values = [float(v) for v in numbers.split(",")]
        if len(values) not in (2, 3):
            raise ValueError
    except ValueError as exc:
        raise ValueError(
            f"price {text!r} must look like MODEL=INPUT,OUTPUT[,CACHED_INPUT] in $ per million tokens"
        ) from exc
    return model.strip(), ModelPrice(
        input=values[0], output=values[1], cached_input=values[2] if len(values) == 3 else None
    )
