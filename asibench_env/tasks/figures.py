"""Recognise figure files (PNG, JPEG, SVG, PDF) by their structure, for checks of declared figure outputs.

The files are untrusted (an agent wrote them), so only headers are read, with fixed caps, and no pixel
data is ever decoded: a PNG's signature and its IHDR chunk (CRC-checked, nonzero size); a JPEG's start
marker and a start-of-frame segment found by walking the segment headers; a PDF's ``%PDF-`` header and
``%%EOF`` trailer; an SVG's root element, parsed by expat with entity declarations refused and nothing
fetched, stopping at the root. :func:`read_image_header` is what scoring checks (any real image, even
1x1 pixels, as the official placeholder figure is); :func:`describe_figure` is the stricter check of the
task validator (at least :data:`MIN_PIXELS` a side).
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from xml.parsers import expat

FIGURE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".svg", ".pdf")
"""File name endings that make an output a figure, which must then be a real image."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_PIXELS = 64
"""A raster figure narrower or shorter than this is not a readable figure (the validator's rule)."""
HEADER_MAX_BYTES = 1 << 20
"""At most this much of a file is read to find its image header (a JPEG's metadata, an SVG's prologue)."""
_PDF_TRAILER_BYTES = 2048
_PDF_HEADER = re.compile(rb"%PDF-\d\.\d")  # only ever match()ed at one offset: constant time
_MAX_DIMENSION = 2**31 - 1
# JPEG start-of-frame markers: C0-CF except DHT (C4), JPG (C8) and DAC (CC).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RST0-7 carry no length
_JPEG_SOS, _JPEG_EOI = 0xDA, 0xD9
_JPEG_MAX_SEGMENTS = 4096
"""Real JPEGs have a few dozen segments before the frame header; more is not an image."""


class NotAFigureError(ValueError):
    """The file is not an image of a kind a figure output may take."""


@dataclass(frozen=True)
class ImageHeader:
    """What the header of a real image says: its kind and, for rasters, its size in pixels."""

    kind: str
    width: int | None = None
    height: int | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.width}x{self.height}" if self.width is not None else self.kind


def is_figure_name(name: str) -> bool:
    """Whether an output named ``name`` is a figure (by its ending: .png, .jpg, .jpeg, .svg, .pdf)."""
    return name.lower().endswith(FIGURE_SUFFIXES)


def read_image_header(path: Path) -> ImageHeader:
    """The header of the real PNG, JPEG, PDF or SVG image at ``path``; :class:`NotAFigureError` otherwise."""
    name = path.name
    try:
        with path.open("rb") as file:
            head = file.read(HEADER_MAX_BYTES)
            tail = _tail(file)
    except OSError as exc:
        raise NotAFigureError(f"{name} cannot be read ({exc.strerror or exc})") from exc
    if not head:
        raise NotAFigureError(f"{name} is empty")
    if head.startswith(PNG_SIGNATURE):
        return _png(name, head)
    if head.startswith(b"\xff\xd8\xff"):
        return _jpeg(name, head)
    if b"%PDF-" in head[:1024]:
        return _pdf(name, head, tail)
    if b"<svg" in head:
        return _svg(name, head)
    raise NotAFigureError(f"{name} is not a PNG, JPEG, SVG or PDF image (it starts with {head[:8]!r})")


def describe_figure(path: Path) -> str:
    """Return e.g. ``"PNG 880x550"`` for a readable figure; raise :class:`NotAFigureError` otherwise.

    Stricter than :func:`read_image_header`: a raster must be at least :data:`MIN_PIXELS` on each side.
    """
    header = read_image_header(path)
    if header.width is not None and header.height is not None and min(header.width, header.height) < MIN_PIXELS:
        raise NotAFigureError(f"{path.name} is only {header.width}x{header.height} pixels")
    return str(header)


def _tail(file: BinaryIO) -> bytes:
    """The last bytes of an open file (for a PDF's trailer)."""
    size = file.seek(0, 2)
    file.seek(max(0, size - _PDF_TRAILER_BYTES))
    return file.read(_PDF_TRAILER_BYTES)


def _checked_size(name: str, kind: str, width: int, height: int) -> ImageHeader:
    if not (0 < width <= _MAX_DIMENSION and 0 < height <= _MAX_DIMENSION):
        raise NotAFigureError(f"{name} has a {kind} header with an impossible size ({width}x{height})")
    return ImageHeader(kind, width, height)


def _png(name: str, head: bytes) -> ImageHeader:
    # The first chunk of every PNG is IHDR: length 13, type, width and height (big-endian uint32), depth,
    # colour type, compression, filter, interlace; then a CRC of type and data.
    if len(head) < 33 or head[8:16] != b"\x00\x00\x00\rIHDR":
        raise NotAFigureError(f"{name} has a PNG signature but no image header")
    (crc,) = struct.unpack(">I", head[29:33])
    if zlib.crc32(head[12:29]) != crc:
        raise NotAFigureError(f"{name} has a PNG signature but a corrupt image header")
    width, height = struct.unpack(">II", head[16:24])
    return _checked_size(name, "PNG", width, height)


def _jpeg(name: str, head: bytes) -> ImageHeader:
    position = 2  # after SOI
    for _ in range(_JPEG_MAX_SEGMENTS):
        if position + 4 > len(head):
            break
        if head[position] != 0xFF:
            break
        marker = head[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in _JPEG_STANDALONE:
            position += 2
            continue
        if marker in (_JPEG_SOS, _JPEG_EOI):
            break
        (length,) = struct.unpack(">H", head[position + 2 : position + 4])
        if length < 2:
            break
        if marker in _JPEG_SOF:
            if position + 9 > len(head) or length < 8:
                break
            height, width = struct.unpack(">HH", head[position + 5 : position + 9])
            return _checked_size(name, "JPEG", width, height)
        position += 2 + length
    raise NotAFigureError(f"{name} has a JPEG start marker but no frame header")


def _pdf(name: str, head: bytes, tail: bytes) -> ImageHeader:
    start = head.find(b"%PDF-", 0, 1024)
    if not _PDF_HEADER.match(head, start):
        raise NotAFigureError(f"{name} has no valid PDF version header")
    if b"%%EOF" not in tail:
        raise NotAFigureError(f"{name} starts like a PDF but has no %%EOF trailer (it is cut short)")
    return ImageHeader("PDF")


class _RootFound(Exception):
    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self.tag = tag


def _svg(name: str, head: bytes) -> ImageHeader:
    parser = expat.ParserCreate(namespace_separator=" ")

    def refuse(*_args: object) -> None:
        raise NotAFigureError(f"{name} declares XML entities, which a figure does not need")

    def root(tag: str, _attributes: object) -> None:
        raise _RootFound(tag)

    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    parser.StartElementHandler = root
    try:
        parser.Parse(head, False)
    except _RootFound as found:
        local = found.tag.rsplit(" ", 1)[-1]
        if local != "svg":
            raise NotAFigureError(f"{name} is XML whose root element is <{local}>, not <svg>") from None
        return ImageHeader("SVG")
    except expat.ExpatError as exc:
        raise NotAFigureError(f"{name} mentions <svg but is not well-formed XML ({exc})") from None
    raise NotAFigureError(f"{name} has no <svg> root element in its first {HEADER_MAX_BYTES:,} bytes")
