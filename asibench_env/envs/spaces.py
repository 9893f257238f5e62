"""Text spaces for tool-call actions and tool-output observations."""

from __future__ import annotations

import string
from typing import Any

from gymnasium import spaces

PRINTABLE = string.printable


class FreeText(spaces.Text):
    """A text space that contains any string up to ``max_length`` characters.

    Tool output and model completions hold arbitrary Unicode, so membership checks only the type and
    length; :meth:`sample` still draws from printable ASCII.
    """

    def __init__(self, max_length: int, *, min_length: int = 0, seed: int | None = None):
        super().__init__(max_length=max_length, min_length=min_length, charset=PRINTABLE, seed=seed)

    def contains(self, x: Any) -> bool:
        """Any string within the length bounds (every character is allowed, unlike ``Text``)."""
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"FreeText({self.min_length}, {self.max_length})"
