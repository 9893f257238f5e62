"""A small, deterministic TOML writer for the flat documents Harbor's ``task.toml`` needs.

Values are strings, booleans, integers, finite floats, lists of those, and tables (nested dicts).
Keys keep the order they are given in; tables follow the plain keys of their parent.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML value {value!r} is not a finite number")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, Sequence):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as a TOML value")


def _table(path: list[str], table: Mapping[str, Any], lines: list[str]) -> None:
    plain = [(k, v) for k, v in table.items() if v is not None and not isinstance(v, Mapping)]
    nested = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
    if path and (plain or not nested):
        if lines:
            lines.append("")
        lines.append("[" + ".".join(_key(part) for part in path) + "]")
    lines.extend(f"{_key(k)} = {_value(v)}" for k, v in plain)
    for name, sub in nested:
        _table([*path, name], sub, lines)


def dumps(document: Mapping[str, Any]) -> str:
    """The TOML text of ``document`` (``None`` values are left out), ending with a newline."""
    lines: list[str] = []
    _table([], document, lines)
    return "\n".join(lines) + "\n"
