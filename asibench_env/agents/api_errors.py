"""How the model agents read the provider SDKs' failures and find their API keys."""

from __future__ import annotations

import os
from typing import Any

from asibench_env.errors import InfraError


class MissingAPIKeyError(ValueError):
    """The API key variable is not set."""


class ContextOverflowError(RuntimeError):
    """The provider refused the request because the conversation exceeds the model's context window."""


def translate_api_error(sdk: Any, exc: Exception) -> Exception:
    """The exception a provider SDK error becomes: an overflow to recover from, or an infrastructure error.

    ``sdk`` is the ``openai`` or ``anthropic`` module; both name their errors alike. Their own retries
    (429, 5xx, timeouts, dropped connections) have already run out when this is reached.
    """
    if isinstance(exc, sdk.APIConnectionError | sdk.RateLimitError | sdk.InternalServerError):
        return InfraError(f"model API unavailable after retries: {type(exc).__name__}: {exc}")
    status = getattr(exc, "status_code", 0)
    message = str(getattr(exc, "message", exc))
    if looks_like_context_overflow(status, message):
        return ContextOverflowError(message)
    return InfraError(f"model API refused the request ({status}): {message}")


def looks_like_context_overflow(status: int, message: str) -> bool:
    text = message.lower()
    return status in (400, 413) and ("context" in text or "too long" in text or ("maximum" in text and "token" in text))


def api_key_from(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        raise MissingAPIKeyError(f"set {variable} to your API key (for a local server any value will do)")
    return value
