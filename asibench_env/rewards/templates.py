"""Parameter templates in scorer configs: a whole string ``"{expr}"`` is arithmetic over instance parameters."""

from __future__ import annotations

import ast
import operator
from typing import Any

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}


def evaluate_expression(text: str, parameters: dict[str, Any]) -> Any:
    """Evaluate ``n+1``-style arithmetic over parameter names and numbers, without eval()."""

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in parameters:
                raise KeyError(f"unknown parameter {node.id!r} in template {{{text}}}")
            return parameters[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else +value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"unsupported template expression {{{text}}}")

    return walk(ast.parse(text, mode="eval"))


def resolve_templates(value: Any, parameters: dict[str, Any]) -> Any:
    """A deep copy of ``value`` with every ``"{expr}"`` string replaced by its value ("{a, b}" gives a list)."""
    if isinstance(value, dict):
        return {key: resolve_templates(item, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_templates(item, parameters) for item in value]
    if isinstance(value, str):
        text = value.strip()
        if len(text) >= 2 and text[0] == "{" and text[-1] == "}":
            inner = text[1:-1].strip()
            if "," in inner:
                return [evaluate_expression(part.strip(), parameters) for part in inner.split(",")]
            return evaluate_expression(inner, parameters)
    return value
