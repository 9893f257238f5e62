"""A scripted model server on 127.0.0.1 that speaks the OpenAI Chat Completions wire format."""

from __future__ import annotations

import json
import threading
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
