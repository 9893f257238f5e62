"""Event-loop versions of the shell and interpreter protocols, for the sandboxes' ``*_async`` methods.

They drive the same :class:`~asibench_env.sandbox.protocol.ShellExchange` and
:class:`~asibench_env.sandbox.protocol.ReplyLine` as the sync loops, so both give the same results; a
waiting call holds no thread (the pipe is watched by the event loop's selector).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from asibench_env.sandbox.base import ExecResult
from asibench_env.sandbox.protocol import TICK_S, ReplyLine, ShellExchange, ShellGone

PIPE_WRITE_INLINE_BYTES = 16 * 1024
"""Writes up to this size go straight into the pipe (the reader drains it); larger ones use a thread."""


async def wait_readable(fd: int, timeout: float) -> bool:
    """Wait until ``fd`` has data (or end of file) or ``timeout`` passes; True when it is readable."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        done, _ = await asyncio.wait({ready}, timeout=timeout)
    finally:
        loop.remove_reader(fd)
    return bool(done)


async def wait_writable(fd: int, timeout: float) -> bool:
    """Wait until ``fd`` accepts data or ``timeout`` passes; True when it is writable."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_writer(fd, wake)
    try:
        done, _ = await asyncio.wait({ready}, timeout=timeout)
    finally:
        loop.remove_writer(fd)
    return bool(done)


async def write_pipe(write: Callable[[bytes], None], data: bytes) -> None:
    """Write ``data`` with the blocking ``write``: inline when small, in a worker thread when large."""
    if len(data) <= PIPE_WRITE_INLINE_BYTES:
        write(data)
    else:
        await asyncio.to_thread(write, data)


async def shell_roundtrip_async(
    write: Callable[[bytes], None],
    read_fd: int,
    command: str,
    timeout: float,
    output_bytes: int,
    kill_command: Callable[[], Awaitable[object]],
) -> ExecResult:
    """:func:`~asibench_env.sandbox.protocol.shell_roundtrip` on the running event loop.

    Raises :class:`~asibench_env.sandbox.protocol.ShellGone` when the shell is lost.
    """
    exchange = ShellExchange(command, timeout, output_bytes)
    try:
        await write_pipe(write, exchange.request)
    except OSError as exc:
        raise ShellGone(f"the shell exited ({exc})") from exc
    while True:
        if exchange.expired():
            await kill_command()
            continue
        if not await wait_readable(read_fd, exchange.remaining()):
            continue
        result = exchange.feed(os.read(read_fd, 1 << 16))
        if result is not None:
            return result


async def read_reply_line_async(read_fd: int, timeout: float, cap: int) -> tuple[bytes, bool]:
    """:func:`~asibench_env.sandbox.protocol.read_reply_line` on the running event loop."""
    reply = ReplyLine(timeout, cap)
    while not reply.complete():
        remaining = reply.remaining()
        if remaining <= 0:
            return reply.data, True
        if not await wait_readable(read_fd, min(remaining, TICK_S)):
            continue
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        reply.data += chunk
    return reply.line(), False
