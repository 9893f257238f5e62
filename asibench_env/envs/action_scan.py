"""Bounded, linear-time reading of untrusted actions: size and nesting limits, and block scanning.

Everything here runs on model output before it is trusted, so every function is linear in its input
and recursion-free: tool-call blocks and fenced blocks are found with ``str.find`` (no regular
expression), and nested values are walked with an explicit stack under a depth and a size limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "FENCE_LANGUAGES",
    "MAX_ACTION_CHARS",
    "MAX_NESTING",
    "MAX_VALUES",
    "find_fenced_block",
    "find_tool_call_block",
    "safe_repr",
    "structure_problem",
]

MAX_ACTION_CHARS = 1 << 20
"""The longest action accepted (1 MiB: characters of text, bytes of a ``bytes`` action, or the strings of
a dict action together). Longer actions are refused before any parsing; write big files in parts."""
MAX_NESTING = 64
"""The deepest nesting of objects and arrays accepted in an action (tool arguments are shallow)."""
MAX_VALUES = 100_000
"""The most values (objects, arrays, strings, numbers) one action may hold."""
_MAX_INT_BITS = 4096
"""Integers beyond 2**4096 in absolute value are refused (they cannot be written as JSON anyway)."""

FENCE_LANGUAGES: dict[str, str] = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python", "py": "python"}
"""The fenced-block languages accepted, and the tool each one calls."""
# Longest first, so "python" is not read as "py" followed by "thon" (which would not match anyway).
_FENCE_WORDS = sorted(FENCE_LANGUAGES, key=len, reverse=True)

_OPEN_TAG = "<tool_call>"
_CLOSE_TAG = "</tool_call>"
_FENCE = "```"


def find_tool_call_block(text: str) -> str | None:
    """The stripped body of the first ``<tool_call>`` block (closed, or running to the end), or None."""
    start = text.find(_OPEN_TAG)
    if start < 0:
        return None
    start += len(_OPEN_TAG)
    end = text.find(_CLOSE_TAG, start)
    return text[start : len(text) if end < 0 else end].strip()


def find_fenced_block(text: str) -> tuple[str, str] | None:
    """The first closed fenced block in an accepted language: ``(language, body)``, or None.

    A fence is three backticks, optional spaces or tabs, a language of :data:`FENCE_LANGUAGES`,
    optional spaces or tabs and a newline; the body runs to the next three backticks. The scan visits
    each run of backticks and each run of blanks once, at C speed (``str.find``, ``str.lstrip``).
    """
    if not any(word in text for word in _FENCE_WORDS):
        return None
    end = len(text)
    position = text.find(_FENCE)
    while position >= 0:
        cursor = position + len(_FENCE)
        if cursor < end and text[cursor] == "`":  # a longer run: only its last three can open a block
            cursor = _run_end(text, cursor, "`")
        if cursor < end and text[cursor] in " \t":
            cursor = _run_end(text, cursor, " \t")
        if cursor < end and text[cursor] in "bps":
            word = next((w for w in _FENCE_WORDS if text.startswith(w, cursor)), None)
            if word is not None:
                after = _run_end(text, cursor + len(word), " \t")
                if after < end and text[after] == "\n":
                    close = text.find(_FENCE, after + 1)
                    if close < 0:  # no closing fence after this opening: none after any later one either
                        return None
                    return word, text[after + 1 : close]
        # No opening starts inside the backticks and blanks just skipped.
        position = text.find(_FENCE, cursor)
    return None


def _run_end(text: str, start: int, chars: str) -> int:
    """The index after the run of ``chars`` starting at ``start``, in time linear in the run's length."""
    size = 16
    while True:
        chunk = text[start : start + size]
        rest = chunk.lstrip(chars)
        if rest or len(chunk) < size:
            return start + len(chunk) - len(rest)
        start += size
        size *= 2


def structure_problem(value: Any) -> str | None:
    """Why a decoded action cannot be taken (too deep, too big, odd keys or numbers), or None if it can.

    Walks dicts, lists and tuples with an explicit stack (no recursion, so cycles and deep nesting end
    at :data:`MAX_NESTING`), counting values against :data:`MAX_VALUES` and the characters of strings and
    keys against :data:`MAX_ACTION_CHARS`.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    values = 0
    chars = 0
    while stack:
        item, depth = stack.pop()
        values += 1
        if values > MAX_VALUES:
            return f"the action holds more than {MAX_VALUES:,} values"
        if isinstance(item, str | bytes | bytearray):
            chars += len(item)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if item.bit_length() > _MAX_INT_BITS:
                return f"the action holds an integer of more than {_MAX_INT_BITS} bits"
        elif isinstance(item, float):
            continue
        elif isinstance(item, Mapping | list | tuple):
            if depth > MAX_NESTING:
                return f"the action nests objects or arrays deeper than {MAX_NESTING} levels"
            if isinstance(item, Mapping):
                for key, child in item.items():
                    if not isinstance(key, str):
                        return f"object keys must be strings, not {type(key).__name__}"
                    chars += len(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        if chars > MAX_ACTION_CHARS:
            return f"the action's text is longer than {MAX_ACTION_CHARS:,} characters"
    return None


def safe_repr(value: Any, limit: int = 500) -> str:
    """A short description of any value for logs and transcripts; never raises."""
    try:
        if isinstance(value, str | bytes | bytearray):
            return repr(value[:limit])[: limit + 20]
        if isinstance(value, float) and not math.isfinite(value):
            return repr(value)
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
            return f"<int of {value.bit_length()} bits>"
        if structure_problem(value) is not None:
            return f"<{type(value).__name__} that cannot be shown>"
        return repr(value)[:limit]
    except Exception:  # noqa: BLE001 - an object whose repr fails is still described
        return f"<{type(value).__name__}>"
