"""The host's end of the supervisor channel: the container's attach stream, framed.

Docker multiplexes a non-TTY container's stdout and stderr on the attach socket as
``<stream byte> 0 0 0 <4-byte big-endian size><data>`` records; the supervisor's stdout carries our
own frames (``<4-byte length><bytes>``): a message is a JSON frame, payload frames and an empty
frame. Everything read from the container is treated as hostile: sizes are capped and every read
has a deadline.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import tempfile
import time
from collections.abc import Iterable
from typing import IO, Any

from asibench_env.sandbox.aio import wait_readable, wait_writable
from asibench_env.sandbox.base import SandboxError
from asibench_env.sandbox.protocol import wait_fd

logger = logging.getLogger(__name__)

HEADER_MAX_BYTES = 64 * 1024 * 1024
CHUNK_BYTES = 1 << 20
SEND_TIMEOUT_S = 60.0
"""How long a send may wait for the container to read its input."""


class ChannelClosed(SandboxError):
    """The container's end of the channel went away (the container stopped)."""


class ChannelTimeout(SandboxError):
    """The supervisor did not answer in time."""


class SupervisorChannel:
    """Request/response messages with the in-container supervisor."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.keepalive: Any = None
        self.sock.setblocking(False)
        self._stdout = bytearray()
        self._raw = bytearray()
        self._stderr_tail = bytearray()

    # ------------------------------------------------------------------ sending
    def send(self, header: dict[str, Any], payload: bytes | Iterable[bytes] = b"") -> None:
        self._sendall(self._encode(header, payload))

    async def send_async(self, header: dict[str, Any], payload: bytes | Iterable[bytes] = b"") -> None:
        """:meth:`send` on the event loop (waits for the socket to drain without a thread)."""
        view = memoryview(self._encode(header, payload))
        deadline = time.monotonic() + SEND_TIMEOUT_S
        while view := self._send_some(view, deadline):
            await wait_writable(self.sock.fileno(), 1.0)

    @staticmethod
    def _encode(header: dict[str, Any], payload: bytes | Iterable[bytes]) -> bytes:
        body = json.dumps(header).encode()
        pieces: list[bytes | memoryview] = [struct.pack(">I", len(body)), body]
        chunks = [payload] if isinstance(payload, bytes | bytearray | memoryview) else payload
        for chunk in chunks:
            view = memoryview(chunk)
            for start in range(0, len(view), CHUNK_BYTES):
                piece = view[start : start + CHUNK_BYTES]
                pieces += [struct.pack(">I", len(piece)), piece]
        pieces.append(struct.pack(">I", 0))
        return b"".join(pieces)

    def _sendall(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + SEND_TIMEOUT_S
        while view := self._send_some(view, deadline):
            wait_fd(self.sock.fileno(), 1.0, write=True)

    def _send_some(self, view: memoryview, deadline: float) -> memoryview:
        """Send what the socket takes now; return the rest (empty when all is sent)."""
        try:
            sent = self.sock.send(view)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            raise ChannelClosed(f"the sandbox container is gone ({exc})") from exc
        rest = view[sent:]
        if rest and time.monotonic() > deadline:
            raise ChannelTimeout("the sandbox container stopped reading its input")
        return rest

    # ------------------------------------------------------------------ receiving
    def _fill(self, deadline: float) -> None:
        """Read more of the attach stream into the stdout buffer (demultiplexed)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ChannelTimeout("the sandbox supervisor did not answer in time")
        if wait_fd(self.sock.fileno(), remaining):
            self._recv()

    async def _fill_async(self, deadline: float) -> None:
        """:meth:`_fill` on the event loop."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ChannelTimeout("the sandbox supervisor did not answer in time")
        if await wait_readable(self.sock.fileno(), remaining):
            self._recv()

    def _recv(self) -> None:
        """Read what the socket has and demultiplex it (the socket was reported readable)."""
        try:
            data = self.sock.recv(1 << 20)
        except BlockingIOError:
            return
        except OSError as exc:
            raise ChannelClosed(f"the sandbox container is gone ({exc})") from exc
        if not data:
            tail = self._stderr_tail.decode(errors="replace").strip()
            raise ChannelClosed("the sandbox container stopped" + (f": {tail[-2000:]}" if tail else ""))
        self._raw += data
        while len(self._raw) >= 8:
            stream, size = self._raw[0], struct.unpack(">I", self._raw[4:8])[0]
            if len(self._raw) < 8 + size:
                break
            record = bytes(self._raw[8 : 8 + size])
            del self._raw[: 8 + size]
            if stream == 1:
                self._stdout += record
            else:
                self._stderr_tail = (self._stderr_tail + record)[-8192:]
                logger.debug("sandbox supervisor: %s", record.decode(errors="replace").rstrip())

    def _read_exact(self, count: int, deadline: float) -> bytes:
        while len(self._stdout) < count:
            self._fill(deadline)
        data = bytes(self._stdout[:count])
        del self._stdout[:count]
        return data

    def _read_frame_length(self, deadline: float) -> int:
        return struct.unpack(">I", self._read_exact(4, deadline))[0]

    def receive(self, timeout: float, max_payload: int) -> tuple[dict[str, Any], bytes]:
        """One message with its payload in memory (for small payloads: outputs, file reads)."""
        header, spool = self.receive_to_file(timeout, max_payload)
        with spool:
            spool.seek(0)
            return header, spool.read()

    def receive_to_file(self, timeout: float, max_payload: int) -> tuple[dict[str, Any], IO[bytes]]:
        """One message; the payload is spooled (to disk past 8 MiB) and capped at ``max_payload`` bytes."""
        deadline = time.monotonic() + timeout
        length = self._read_frame_length(deadline)
        if length > HEADER_MAX_BYTES:
            raise SandboxError(f"the sandbox supervisor sent a {length}-byte header; the channel is broken")
        header = json.loads(self._read_exact(length, deadline))
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned to the caller
        total = 0
        try:
            while length := self._read_frame_length(deadline):
                total += length
                if total > max_payload:
                    raise SandboxError(f"the sandbox sent more than {max_payload} bytes; the channel is broken")
                spool.write(self._read_exact(length, deadline))
        except BaseException:
            spool.close()
            raise
        if not isinstance(header, dict):
            spool.close()
            raise SandboxError("the sandbox supervisor sent a malformed message")
        return header, spool

    async def receive_async(self, timeout: float, max_payload: int) -> tuple[dict[str, Any], bytes]:
        """:meth:`receive` on the event loop: the payload is kept in memory (use it for small payloads)."""
        deadline = time.monotonic() + timeout
        while (message := self._take_message(max_payload)) is None:
            await self._fill_async(deadline)
        return message

    def _take_message(self, max_payload: int) -> tuple[dict[str, Any], bytes] | None:
        """A whole message from the buffer (consumed), or None while part of it is still to come."""
        buffer = self._stdout
        if len(buffer) < 4:
            return None
        length = struct.unpack(">I", buffer[:4])[0]
        if length > HEADER_MAX_BYTES:
            raise SandboxError(f"the sandbox supervisor sent a {length}-byte header; the channel is broken")
        at = 4 + length
        frames: list[tuple[int, int]] = []
        total = 0
        while True:
            if len(buffer) < at + 4:
                return None
            size = struct.unpack(">I", buffer[at : at + 4])[0]
            at += 4
            if not size:
                break
            total += size
            if total > max_payload:
                raise SandboxError(f"the sandbox sent more than {max_payload} bytes; the channel is broken")
            frames.append((at, at + size))
            at += size
        header = json.loads(bytes(buffer[4 : 4 + length]))
        payload = b"".join(bytes(buffer[a:b]) for a, b in frames)
        del buffer[:at]
        if not isinstance(header, dict):
            raise SandboxError("the sandbox supervisor sent a malformed message")
        return header, payload

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
