"""A scripted model server on 127.0.0.1 that speaks the OpenAI Chat Completions wire format."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def tool_turn(
    name: str, arguments: dict[str, Any], call_id: str = "call_1", tokens: tuple[int, int] = (100, 20)
) -> dict:
    """A chat completion whose message calls one tool."""
    return {
        "id": f"chatcmpl-{call_id}",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": name, "arguments": json.dumps(arguments)},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1], "total_tokens": sum(tokens)},
    }


def text_turn(text: str, finish_reason: str = "stop") -> dict:
    """A chat completion with a plain text reply."""
    return {
        "id": "chatcmpl-text",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "finish_reason": finish_reason, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
    }


class FakeModelServer:
    """Replays scripted turns: a dict is a 200 JSON body; ("error", status, headers) an HTTP error; "drop" a
    closed connection. Every request body is kept in ``requests``."""

    def __init__(self, script: list[Any]):
        self.script = list(script)
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length", 0))
                server.requests.append(json.loads(self.rfile.read(length) or b"{}"))
                item = server.script.pop(0) if server.script else ("error", 500, {})
                if item == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if isinstance(item, tuple):
                    _, status, headers, *message = item
                    text = message[0] if message else f"scripted {status}"
                    body = json.dumps({"error": {"message": text, "type": "scripted"}}).encode()
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                else:
                    body = json.dumps(item).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeModelServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def anthropic_turn(*blocks: dict, stop_reason: str = "tool_use", tokens: tuple[int, int] = (100, 20)) -> dict:
    """An Anthropic Messages response with the given content blocks."""
    return {
        "id": "msg_scripted",
        "type": "message",
        "role": "assistant",
        "model": "scripted",
        "content": list(blocks),
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
    }


def tool_use(name: str, arguments: dict[str, Any], call_id: str) -> dict:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def text_block(text: str) -> dict:
    return {"type": "text", "text": text}


def responses_turn(*items: dict, tokens: tuple[int, int] = (100, 20), status: str = "completed") -> dict:
    """An OpenAI Responses API response with the given output items."""
    return {
        "id": "resp_scripted",
        "object": "response",
        "created_at": 0,
        "model": "scripted",
        "status": status,
        "output": list(items),
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": tokens[0],
            "output_tokens": tokens[1],
            "total_tokens": sum(tokens),
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }


def function_call(name: str, arguments: dict[str, Any], call_id: str) -> dict:
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": json.dumps(arguments),
        "status": "completed",
    }


STALL_PATH = "no_such_file.txt"
"""The file the ``"stall"`` plan of :class:`ScriptedPolicyServer` keeps reading (it is never there)."""


class ScriptedPolicyServer:
    """An OpenAI-compatible policy on 127.0.0.1 that plays a built-in task, for grouped rollouts.

    Stateless per conversation, so any number of rollouts may run at once: the first request of a
    conversation gets the next plan of ``plans`` (cycled): ``"solve"`` plays ``actions`` (e.g. the
    oracle's ``solve_actions``) one tool call a turn, then submits; ``"submit"`` submits at once (score
    0); ``"stall"`` plays ``actions``, then reads the missing file :data:`STALL_PATH` every turn and
    never submits. The conversation and turn travel in the tool-call ids (``call_c<conv>_t<turn>``). Like vLLM it
    returns ``prompt_token_ids`` and each choice's ``token_ids`` when the body has ``return_token_ids``,
    and logprobs when asked. ``delay_s`` sleeps before every answer; ``faults`` are used up one per
    request before any normal answer: ``"drop"`` closes the connection, ``("error", status)`` answers
    that HTTP error, None answers normally. Request bodies are kept in ``requests``.
    """

    def __init__(
        self,
        actions: list[dict[str, Any]],
        *,
        plans: tuple[str, ...] = ("solve",),
        delay_s: float = 0.0,
        faults: list[Any] | None = None,
    ):
        self.actions = actions
        self.plans = plans
        self.delay_s = delay_s
        self.faults = list(faults or [])
        self.requests: list[dict] = []
        self.conversations = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.requests.append(body)
                    fault = server.faults.pop(0) if server.faults else None
                if server.delay_s:
                    time.sleep(server.delay_s)
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.connection.close()
                    return
                if isinstance(fault, tuple):
                    payload = json.dumps({"error": {"message": f"scripted {fault[1]}", "type": "scripted"}}).encode()
                    self.send_response(fault[1])
                else:
                    payload = json.dumps(server.answer(body)).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """The completion for a request: the next tool call of the conversation's plan."""
        messages = body.get("messages", [])
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        conv = None
        for m in messages:
            for call in m.get("tool_calls") or []:
                conv = int(call["id"].split("_")[1][1:])
        if conv is None:
            with self.lock:
                conv = self.conversations
                self.conversations += 1
        plan = self.plans[conv % len(self.plans)]
        if plan in ("solve", "stall") and turn < len(self.actions):
            action = self.actions[turn]
            name, arguments = action["tool"], action["arguments"]
        elif plan == "stall":
            name, arguments = "read_file", {"path": STALL_PATH}
        else:
            name, arguments = "submit", {}
        response = tool_turn(name, arguments, f"call_c{conv}_t{turn}", tokens=(10 * len(messages), 5))
        choice = response["choices"][0]
        completion_ids = [1000 + conv, turn, 7, 8, 9]
        if body.get("return_token_ids"):
            response["prompt_token_ids"] = list(range(10 * len(messages)))
            choice["token_ids"] = completion_ids
        if body.get("logprobs"):
            top = int(body.get("top_logprobs") or 0)
            choice["logprobs"] = {
                "content": [
                    {
                        "token": f"t{i}",
                        "logprob": -0.125 * (i + 1),
                        "bytes": None,
                        "top_logprobs": [{"token": f"a{j}", "logprob": -1.0 - j, "bytes": None} for j in range(top)],
                    }
                    for i in range(len(completion_ids))
                ]
            }
        return response

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ScriptedPolicyServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
