"""Bounded capture of command output: the head and the tail, with a marker for what was cut."""

from __future__ import annotations


class CappedOutput:
    """Collects a byte stream, keeping at most ``limit`` bytes: half from the start, half from the end."""

    def __init__(self, limit: int):
        self.head_limit = limit // 2
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * self.tail_limit:  # trim in batches, not on every chunk
                del self.tail[: len(self.tail) - self.tail_limit]

    def trim_end(self, count: int) -> None:
        """Drop the last ``count`` bytes (the protocol marker)."""
        self.total -= count
        from_tail = min(count, len(self.tail))
        if from_tail:
            del self.tail[len(self.tail) - from_tail :]
        rest = count - from_tail
        if rest:
            del self.head[len(self.head) - rest :]

    @property
    def cut(self) -> int:
        kept = len(self.head) + min(len(self.tail), self.tail_limit)
        return max(0, self.total - kept)

    def text(self) -> str:
        tail = bytes(self.tail[-self.tail_limit :]) if self.tail_limit else b""
        if self.cut:
            middle = f"\n[... {self.cut} bytes cut ...]\n".encode()
            data = bytes(self.head) + middle + tail
        else:
            data = bytes(self.head) + tail
        return data.decode("utf-8", errors="replace")
