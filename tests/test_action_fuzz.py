"""The action parser under hostile input: property-based fuzzing, pathological shapes, and env.step.

Whatever it is given, the parser returns a ToolCall or raises ActionParseError, and the env turns the
latter into an observation (the step counts). Linear time is proven structurally, not by a timed
assertion: every pathological case runs under a per-test timeout of a few seconds (pytest-timeout), and
the quadratic regex the parser used before took 51-69 s on the 64 KB shape alone (1 MB: hours). The
real numbers are in benchmarks/bench_parser.py.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from asibench_env.envs.action_scan import (
    MAX_ACTION_CHARS,
    MAX_NESTING,
    find_fenced_block,
    find_tool_call_block,
    safe_repr,
)
from asibench_env.envs.actions import ActionParseError, ToolCall, parse_action

pytestmark = pytest.mark.fault  # part of the fault battery (docs/security.md)

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None)

# The regular expressions the parser used before: the new scanners must find exactly what they found.
OLD_TOOL_CALL_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
OLD_FENCED_BLOCK = re.compile(r"```[ \t]*(bash|sh|shell|python|py)[ \t]*\n(.*?)```", re.DOTALL)

PIECES = [
    "<tool_call>",
    "</tool_call>",
    "<tool_call",
    "```",
    "`",
    "bash",
    "sh",
    "shell",
    "python",
    "py",
    "pyth",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\u2003",
    "{",
    "}",
    "[",
    "]",
    '"',
    ":",
    ",",
    '{"name": "bash", "arguments": {"command": "ls"}}',
    '"tool"',
    '"arguments"',
    "x",
]
tag_soup = st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=40).map("".join)

json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
call_like = st.fixed_dictionaries(
    {"tool": st.sampled_from(["bash", "python", "read_file", "write_file", "list_files", "nope", ""])},
    optional={"arguments": json_values, "name": json_values, "command": json_values, "function": json_values},
)


def _mutations(text: str) -> st.SearchStrategy[str]:
    n = len(text)
    return st.sampled_from(
        [text, text[: n // 2], text[1:], text + "}", "<tool_call>" + text, "```bash\n" + text, text.replace('"', "")]
    )


json_text = (json_values | call_like).map(lambda v: json.dumps(v, allow_nan=True)).flatmap(_mutations)


class Weird:
    """An object whose every dunder a parser might call raises."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no eq")

    def __hash__(self) -> int:
        return 1


class OddKey:
    """A dict key that cannot be shown (it still compares by identity, so dicts can hold it)."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __str__ = __repr__


class BadMapping(Mapping[str, Any]):
    """A mapping that fails when read."""

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        raise OSError("cannot iterate")

    def __len__(self) -> int:
        return 1


odd_leaf = (
    json_leaf
    | st.binary(max_size=16)
    | st.integers(min_value=10**300, max_value=10**300 + 5).map(lambda v: v**20)  # ~6,000 digits
    | st.sampled_from([math.nan, math.inf, -math.inf, 1e308, ..., int, b"\xff\xfe"])
    | st.builds(Weird)
    | st.builds(BadMapping)
    | st.builds(object)
    | st.frozensets(st.integers(), max_size=3)
    | st.complex_numbers(allow_nan=True)
)
odd_keys = st.text(max_size=6) | st.integers() | st.none() | st.tuples(st.integers()) | st.builds(OddKey)
python_objects = st.recursive(
    odd_leaf,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(odd_keys, inner, max_size=4)
        | st.fixed_dictionaries({"tool": st.sampled_from(["bash", "write_file", "x"]), "arguments": inner})
    ),
    max_leaves=20,
)
any_action = tag_soup | json_text | st.text(max_size=200) | python_objects | st.binary(max_size=64)


def _parse_or_error(action: Any) -> ToolCall | ActionParseError:
    try:
        call = parse_action(action)
    except ActionParseError as exc:
        assert "Valid actions" in str(exc)
        return exc
    assert isinstance(call, ToolCall)
    json.dumps(call.arguments)  # what the env and the logger do with a call must work
    return call


# ------------------------------------------------------------------ the scanners match the old regexes
@FUZZ
@given(tag_soup)
def test_tool_call_scan_finds_what_the_old_regex_found(text: str) -> None:
    old = OLD_TOOL_CALL_BLOCK.search(text)
    assert find_tool_call_block(text) == (old.group(1) if old else None)


@FUZZ
@given(tag_soup)
def test_fence_scan_finds_what_the_old_regex_found(text: str) -> None:
    old = OLD_FENCED_BLOCK.search(text)
    assert find_fenced_block(text) == ((old.group(1), old.group(2)) if old else None)


# ------------------------------------------------------------------ never an exception but ActionParseError
@FUZZ
@given(any_action)
def test_the_parser_gives_a_call_or_a_parse_error(action: Any) -> None:
    _parse_or_error(action)
    safe_repr(action)


@FUZZ
@given(json_values)
def test_a_decoded_call_keeps_its_arguments_json_safe(arguments: Any) -> None:
    for action in ({"tool": "bash", "arguments": arguments}, json.dumps({"tool": "bash", "arguments": arguments})):
        _parse_or_error(action)


def _deep(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def _cycle() -> dict[str, Any]:
    looped: dict[str, Any] = {"tool": "bash"}
    looped["arguments"] = looped
    return looped


HOSTILE = {
    "deep JSON arrays": '{"tool":"bash","arguments":' + "[" * 5000 + "]" * 5000 + "}",
    "deep JSON objects": '{"tool":"bash","arguments":' + '{"a":' * 5000 + "1" + "}" * 5000 + "}",
    "deep block": "<tool_call>" + "[" * 100_000 + "</tool_call>",
    "deep arguments string": {"tool": "bash", "arguments": "[" * 5000 + "]" * 5000},
    "deep Python list": {"tool": "bash", "arguments": {"command": _deep(100_000)}},
    "deep bare list": _deep(100_000),
    "cyclic dict": _cycle(),
    "5000-digit JSON integer": '{"tool":"bash","arguments":{"command":"ls","timeout":' + "7" * 5000 + "}}",
    "5000-digit Python integer": {"tool": "bash", "arguments": {"command": "ls", "timeout": 10**5000}},
    "bare huge integer": 10**5000,
    "huge float": {"tool": "bash", "arguments": {"command": "ls", "timeout": 1e308 * 10}},
    "NaN timeout": {"tool": "bash", "arguments": {"command": "ls", "timeout": math.nan}},
    "JSON NaN": '{"tool": "bash", "arguments": {"command": "ls", "timeout": NaN}}',
    "non-string keys": {"tool": "bash", "arguments": {1: "ls", None: 2, (3,): 4}},
    "non-string top key": {0: "bash", "tool": "bash", "command": "ls"},
    "key with a broken repr": {"tool": "bash", "arguments": {OddKey(): 1}},
    "key with a broken eq": {"tool": "bash", "arguments": {Weird(): 1}},
    "bytes arguments": {"tool": "bash", "arguments": b'{"command": "ls"}'},
    "broken mapping": BadMapping(),
    "broken mapping arguments": {"tool": "bash", "arguments": BadMapping()},
    "object": Weird(),
    "over-long text": "x" * (MAX_ACTION_CHARS + 1),
    "over-long bytes": b"x" * (MAX_ACTION_CHARS + 1),
    "over-long dict": {"tool": "write_file", "arguments": {"path": "a", "content": "x" * (MAX_ACTION_CHARS + 1)}},
    "over-long arguments string": {"tool": "bash", "arguments": " " * (MAX_ACTION_CHARS + 1)},
    "many values": {"tool": "bash", "arguments": {"command": [0] * 200_000}},
    "bad UTF-8": b"\xff\xfe<tool_call>\xc3",
    "surrogates": "<tool_call>\ud800</tool_call>",
}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_actions_are_parse_errors(name: str) -> None:
    outcome = _parse_or_error(HOSTILE[name])
    if name == "huge float":
        assert isinstance(outcome, ToolCall)  # an infinite timeout is valid: the step's time left caps it
    else:
        assert isinstance(outcome, ActionParseError), name
    assert len(safe_repr(HOSTILE[name])) < 600


def test_limits_are_explained() -> None:
    with pytest.raises(ActionParseError, match=r"limited to 1,048,576 characters \(1 MiB\)"):
        parse_action("x" * (MAX_ACTION_CHARS + 1))
    with pytest.raises(ActionParseError, match=f"deeper than {MAX_NESTING} levels"):
        parse_action({"tool": "bash", "arguments": {"command": _deep(MAX_NESTING + 5)}})
    with pytest.raises(ActionParseError, match="too deeply"):
        parse_action(HOSTILE["deep JSON arrays"])
    with pytest.raises(ActionParseError, match="keys must be strings, not int"):
        parse_action(HOSTILE["non-string keys"])
    with pytest.raises(ActionParseError, match="Exceeds the limit"):
        parse_action(HOSTILE["5000-digit JSON integer"])


# ------------------------------------------------------------------ 1 MB pathological completions
N = 1_000_000
CALL = '{"name": "bash", "arguments": {"command": "ls"}}'
PATHOLOGICAL = {
    "tool_call + spaces, unclosed": ("<tool_call>x" + " " * (N - 13) + "y", None),
    "tool_call, whitespace around JSON": (
        "<tool_call>" + " " * (N // 2) + CALL + "\n" * (N // 2) + "</tool_call>",
        "bash",
    ),
    "whitespace, then a block": (" \t\n" * (N // 3) + "<tool_call>" + CALL + "</tool_call>", "bash"),
    "many open tags": ("<tool_call>" * (N // 11), None),
    "newlines between tags": ("<tool_call>" + "\n" * N + "</tool_call>", None),
    "fence + blanks, no newline": ("```bash" + " \t" * (N // 2) + "x", None),
    "blanks between fence and language": ("```" + " " * N + "bash\nls\n```", "bash"),
    "many fences, a block at the end": ("``` " * (N // 4) + "```bash\nls\n```", "bash"),
    "many near-miss fences": ("```ba \n" * (N // 8) + "```python\nprint(1)\n```", "python"),
    "backtick run": ("`" * N, None),
    "fence + long body, unclosed": ("```python\n" + " " * N, None),
    "whitespace before a fence": ("\n" * N + "```sh\nls\n```", "bash"),
    "nested arrays in a block": ("<tool_call>" + "[" * (N // 2) + "]" * (N // 2) + "</tool_call>", None),
    "nested JSON action": ('{"tool":"bash","arguments":' + "[" * (N // 2) + "]" * (N // 2) + "}", None),
    "a huge integer": ('{"tool":"bash","arguments":{"command":"ls","timeout":' + "9" * N + "}}", None),
    "prose": ("word " * (N // 5), None),
}


@pytest.mark.timeout(5)
@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_a_one_megabyte_pathological_completion_parses_in_linear_time(name: str) -> None:
    text, tool = PATHOLOGICAL[name]
    assert len(text) <= MAX_ACTION_CHARS  # parsed, not refused by the size cap
    outcome = _parse_or_error(text)
    if tool is None:
        assert isinstance(outcome, ActionParseError)
    else:
        assert isinstance(outcome, ToolCall) and outcome.tool == tool


# ------------------------------------------------------------------ through env.step of a real local env
def test_env_step_turns_every_bad_action_into_an_observation(make_env) -> None:
    env = make_env(max_steps=100_000, render_mode="ansi")
    env.reset(seed=0)
    steps = 0

    def take(action: Any) -> None:
        nonlocal steps
        observation, reward, terminated, truncated, info = env.step(action)
        steps += 1
        assert observation.startswith("[invalid action]") and "Valid actions" in observation
        assert (reward, terminated, truncated) == (0.0, False, False)
        assert info["step"] == steps and info["tool"] is None and info["action_error"]

    @settings(FUZZ, max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(any_action)
    def fuzz(action: Any) -> None:
        assume(isinstance(_parse_or_error(action), ActionParseError))  # valid calls would run in the sandbox
        take(action)

    fuzz()
    for name, action in HOSTILE.items():
        if isinstance(_parse_or_error(action), ActionParseError):
            take(action)
        else:
            assert name == "huge float"
    assert steps > 150
    transcript = env.render()
    assert transcript is not None and transcript.count("[invalid action]") == steps  # each step's entry was built
