"""The action parser on pathological completions: milliseconds per parse, now and with the old regexes.

Each shape is built at 64 KB and at 1 MB (1,000,000 characters, under the 1 MiB action cap) and parsed
by ``parse_action``; the result is a ToolCall or an ActionParseError, never anything else. With
``--old``, the regular expressions the parser used before (``<tool_call>\\s*(.*?)\\s*(?:</tool_call>|$)``
and the fenced-block one) are timed on the same texts, at 64 KB only by default: they are quadratic
(the first shape took 69 s at 64 KB), so 1 MB would take hours; ``--old-max`` raises that size.

Run: .venv/bin/python benchmarks/bench_parser.py [--old] [--old-max 65536] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable

from asibench_env.envs.actions import ActionParseError, parse_action

OLD_TOOL_CALL_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
OLD_FENCED_BLOCK = re.compile(r"```[ \t]*(bash|sh|shell|python|py)[ \t]*\n(.*?)```", re.DOTALL)


def shapes(n: int) -> dict[str, str]:
    """Pathological completions of about ``n`` characters each."""
    half = n // 2
    depth = (n - 40) // 2
    call = '{"name": "bash", "arguments": {"command": "ls"}}'
    return {
        "tool_call + spaces, unclosed": "<tool_call>x" + " " * (n - 13) + "y",
        "tool_call, spaces around JSON": "<tool_call>" + " " * half + call + " " * (n - half - 80) + "</tool_call>",
        "many <tool_call> tags": "<tool_call>" * (n // 11),
        "newlines between tags": "<tool_call>" + "\n" * (n - 30) + "</tool_call>",
        "fence + blanks, no newline": "```bash" + " \t" * ((n - 8) // 2) + "x",
        "many fences, no language": "``` " * (n // 4),
        "many fences, a block at the end": "``` " * ((n - 20) // 4) + "```bash\nls\n```",
        "many near-miss fences": "```ba \n" * ((n - 20) // 8) + "```bash\nls\n```",
        "backtick run": "`" * n,
        "fence + long body, unclosed": "```python\n" + " " * (n - 10),
        "nested arrays in arguments": '{"tool":"bash","arguments":' + "[" * depth + "]" * depth + "}",
        "nested arrays in a block": "<tool_call>" + "[" * (depth - 6) + "]" * (depth - 6) + "</tool_call>",
        "a huge integer": '{"tool":"bash","arguments":{"command":"ls","timeout":' + "9" * (n - 60) + "}}",
        "a valid big write_file": json.dumps(
            {"tool": "write_file", "arguments": {"path": "a.txt", "content": "x" * (n - 70)}}
        ),
        "prose, no call": "word " * (n // 5),
    }


def best_ms(function: Callable[[], object], repeat: int) -> tuple[float, str]:
    """The fastest of ``repeat`` runs in milliseconds, and what the last run gave."""
    best, outcome = float("inf"), ""
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            result = function()
            outcome = "call" if result is not None and not isinstance(result, tuple | re.Match) else "no call"
            if isinstance(result, re.Match):
                outcome = "match"
        except ActionParseError:
            outcome = "parse error"
        except Exception as exc:  # noqa: BLE001 - the old parser let these out; we report them
            outcome = f"raised {type(exc).__name__}"
        best = min(best, (time.perf_counter() - started) * 1000)
    return best, outcome


def old_scan(text: str) -> object:
    """What the old parser did with non-JSON text: the two regex searches (the JSON path is json.loads)."""
    if text.lstrip().startswith("{"):
        return json.loads(text)
    return OLD_TOOL_CALL_BLOCK.search(text) or OLD_FENCED_BLOCK.search(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", action="store_true", help="also time the old regexes")
    parser.add_argument("--old-max", type=int, default=65_536, help="largest size the old regexes are timed at")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for size, label in ((65_536, "64 KB"), (1_000_000, "1 MB")):
        print(f"\n{label} ({size:,} characters)")
        print(f"{'shape':34} {'now ms':>9}  {'result':14}" + (f" {'old ms':>10}  old result" if args.old else ""))
        for name, text in shapes(size).items():
            now, outcome = best_ms(lambda text=text: parse_action(text), args.repeat)
            line = f"{name:34} {now:9.2f}  {outcome:14}"
            if args.old:
                if size <= args.old_max:
                    old, old_outcome = best_ms(lambda text=text: old_scan(text), 1)
                    line += f" {old:10.1f}  {old_outcome}"
                else:
                    line += f" {'not run':>10}  (quadratic: hours)"
            print(line)


if __name__ == "__main__":
    main()
