"""Recognise figure files (PNG, JPEG, SVG, PDF) by their content, for checks of declared figure outputs."""

from __future__ import annotations

import struct
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_PIXELS = 64
"""A PNG narrower or shorter than this is not a readable figure."""


class NotAFigureError(ValueError):
    """The file is not an image of a kind a figure output may take."""


def describe_figure(path: Path) -> str:
    """Return e.g. ``"PNG 880x550"`` for a real figure file; raise :class:`NotAFigureError` otherwise."""
    with path.open("rb") as file:
        head = file.read(4096)  # the signature and header are at the start; the rest may be large
    if not head:
        raise NotAFigureError(f"{path.name} is empty")
    if head.startswith(PNG_SIGNATURE):
        return _describe_png(path.name, head)
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"%PDF-"):
        return "PDF"
    if b"<svg" in head:
        return "SVG"
    raise NotAFigureError(f"{path.name} is not a PNG, JPEG, SVG or PDF image (it starts with {head[:8]!r})")


def _describe_png(name: str, head: bytes) -> str:
    # The first chunk of every PNG is IHDR: length, type, then width and height as big-endian uint32.
    if len(head) < 24 or head[12:16] != b"IHDR":
        raise NotAFigureError(f"{name} has a PNG signature but no image header")
    width, height = struct.unpack(">II", head[16:24])
    if width < MIN_PIXELS or height < MIN_PIXELS:
        raise NotAFigureError(f"{name} is only {width}x{height} pixels")
    return f"PNG {width}x{height}"
