"""Typed sandbox options: each backend declares a pydantic model, and plain keywords are validated into it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

OptionsT = TypeVar("OptionsT", bound="SandboxOptions")


class SandboxOptionsError(ValueError):
    """An unknown or invalid sandbox option: the caller's configuration, not an infrastructure failure."""


class SandboxOptions(BaseModel):
    """The options of a backend (none here): subclass it and add fields. Unknown options are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def resolve_options(
    model: type[OptionsT],
    options: SandboxOptions | None = None,
    values: Mapping[str, Any] | None = None,
    *,
    backend: str = "this",
) -> OptionsT:
    """The options of a backend, from a model instance, plain keywords, or both (keywords win).

    Args:
        model: the backend's options model.
        options: an instance of ``model`` (or None for its defaults).
        values: plain keyword options, validated into ``model``.
        backend: the backend's name, for error messages.

    Raises:
        SandboxOptionsError: ``options`` is not a ``model``, or an option is unknown or invalid
            (the message names it, and lists the valid ones).
    """
    if options is not None and not isinstance(options, model):
        raise SandboxOptionsError(f"the {backend} sandbox takes {model.__name__} options, not {type(options).__name__}")
    if options is not None and not values:
        return options
    merged = {**(options.model_dump() if options is not None else {}), **dict(values or {})}
    unknown = sorted(set(merged) - set(model.model_fields))
    valid = ", ".join(sorted(model.model_fields)) or "none"
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise SandboxOptionsError(f"unknown option {names} for the {backend} sandbox; valid options: {valid}")
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors(include_url=False)
        )
        raise SandboxOptionsError(
            f"invalid option for the {backend} sandbox: {problems} (valid options: {valid})"
        ) from exc
