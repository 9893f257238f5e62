"""code_analysis: regular-expression and import checks over a code file the agent wrote."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from asibench_env.rewards.results import ScorerResult
from asibench_env.rewards.scorers._common import failure_message, fraction_score, weight_of

_FILE_LITERAL = re.compile(r"([A-Za-z0-9_./-]+)\\\.(png|jpe?g|csv|npy|json|txt|pdf|svg)")


def _without_line_comments(line: str) -> str:
    """Drop a ``#`` comment, respecting quotes opened on the same line."""
    quote: str | None = None
    i = 0
    while i < len(line):
        char = line[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:i]
        i += 1
    return line


def strip_comments_and_docstrings(code: str) -> str:
    """The code with comments removed and every bare string statement blanked (line numbers kept)."""
    lines = [_without_line_comments(line) for line in code.splitlines()]
    text = "\n".join(lines)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    blank: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            blank.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return "\n".join("" if number in blank else line for number, line in enumerate(lines, 1))


def _imported_modules(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def _forbidden_imports(code: str, check: dict[str, Any]) -> dict[str, Any]:
    forbidden = [str(m).strip() for m in check.get("forbidden_imports", []) if str(m).strip()]
    outcome: dict[str, Any] = {
        "check": "forbidden_imports",
        "forbidden_imports": forbidden,
        "matched_imports": [],
        "count": 0,
        "passed": True,
    }
    if not forbidden:
        return outcome
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        outcome.update(
            passed=False,
            message=f"Could not parse Python for forbidden_imports: {exc.msg}",
            syntax_error={"lineno": exc.lineno, "offset": exc.offset},
        )
        return outcome
    matched = sorted(
        {name for name in _imported_modules(tree) for bad in forbidden if name == bad or name.startswith(bad + ".")}
    )
    if matched:
        outcome.update(
            matched_imports=matched,
            count=len(matched),
            passed=False,
            message=f"Forbidden import found: {', '.join(matched)}",
        )
    return outcome


def _produced_file_for(pred_dir: Path, pattern: str) -> str | None:
    """A required pattern that names a file (``plot\\.png``) also counts as met when that file exists."""
    for stem, suffix in _FILE_LITERAL.findall(pattern):
        candidate = f"{stem}.{suffix}"
        if (pred_dir / candidate).is_file():
            return (pred_dir / candidate).relative_to(pred_dir).as_posix()
        for path in pred_dir.rglob(Path(candidate).name):
            if path.is_file():
                return path.relative_to(pred_dir).as_posix()
    return None


def _pattern_check(code: str, check: dict[str, Any], pred_dir: Path) -> dict[str, Any]:
    pattern = check.get("pattern", "")
    count = len(re.findall(pattern, code))
    outcome: dict[str, Any] = {"pattern": pattern, "count": count, "passed": True}
    min_count = check.get("min_count")
    if check.get("required", False) and count == 0:
        produced = _produced_file_for(pred_dir, pattern)
        if produced:
            outcome["satisfied_by_file"] = produced
        else:
            outcome.update(passed=False, message=f"Required pattern not found: {pattern}")
    elif check.get("forbidden", False) and count > 0:
        in_code = len(re.findall(pattern, strip_comments_and_docstrings(code)))
        if in_code:
            outcome.update(passed=False, message=f"Forbidden pattern found: {pattern} ({in_code} occurrences in code)")
        else:
            outcome["message"] = f"Forbidden pattern only in comments or docstrings ({count}), ignored"
    elif min_count is not None and count < min_count:
        outcome.update(passed=False, message=f"Pattern '{pattern}' found {count} times, need >= {min_count}")
    return outcome


def score_code_analysis(pred_dir: Path, ref_dir: Path, config: dict[str, Any]) -> ScorerResult:
    """Static checks over ``config['target_file']``."""
    weight = weight_of(config)
    target = config.get("target_file", "simulation.py")
    mode = config.get("scoring_mode", "all_or_nothing")
    path = pred_dir / target
    if not path.exists():
        return ScorerResult(
            scorer_name="code_analysis",
            score=0.0,
            max_score=weight,
            passed=False,
            details={"error": f"File not found: {target}"},
            message=f"Target file not found: {target}",
        )
    code = path.read_text(encoding="utf-8")
    results = []
    for check in config.get("checks", []):
        if "forbidden_imports" in check:
            results.append(_forbidden_imports(code, check))
        else:
            results.append(_pattern_check(code, check, pred_dir))
    if "min_lines" in config or "max_lines" in config:
        lines = len(code.splitlines())
        line_check: dict[str, Any] = {"check": "line_count", "lines": lines, "passed": True}
        if "min_lines" in config and lines < config["min_lines"]:
            line_check.update(passed=False, message=f"Too few lines: {lines} < {config['min_lines']}")
        if "max_lines" in config and lines > config["max_lines"]:
            line_check.update(passed=False, message=f"Too many lines: {lines} > {config['max_lines']}")
        results.append(line_check)
    all_passed = all(r["passed"] for r in results)
    return ScorerResult(
        scorer_name="code_analysis",
        score=fraction_score(results, weight, mode),
        max_score=weight,
        passed=all_passed,
        details={"checks": results, "scoring_mode": mode},
        message=failure_message(results, all_passed, "Some code analysis checks failed"),
    )
