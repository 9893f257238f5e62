"""Recognising figure files by their content (asibench_env.tasks.figures)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from asibench_env.tasks.figures import NotAFigureError, describe_figure


def _png(width: int, height: int) -> bytes:
    """A real greyscale PNG, written by hand: signature, IHDR, one IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\x00" + bytes(width)) * height  # filter byte 0, then a black row
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (_png(640, 480), "PNG 640x480"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "JPEG"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "SVG"),
    ],
)
def test_images_are_recognised(tmp_path: Path, content: bytes, expected: str):
    path = tmp_path / "figure"
    path.write_bytes(content)
    assert describe_figure(path) == expected


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "is empty"),
        (b"x,y\n1,2\n", "is not a PNG, JPEG, SVG or PDF image (it starts with b'x,y\\n1,2\\n')"),
        (b"\x89PNG\r\n\x1a\n", "has a PNG signature but no image header"),
        (_png(16, 16), "is only 16x16 pixels"),
    ],
)
def test_anything_else_is_refused_with_the_reason(tmp_path: Path, content: bytes, reason: str):
    path = tmp_path / "plot.png"
    path.write_bytes(content)
    with pytest.raises(NotAFigureError) as error:
        describe_figure(path)
    assert str(error.value) == f"plot.png {reason}"
