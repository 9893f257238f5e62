"""Recognising figure files by their structure (asibench_env.tasks.figures), and the figure check of scoring."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import matplotlib
import pytest

from asibench_env.rewards import evaluate
from asibench_env.tasks.figures import NotAFigureError, describe_figure, read_image_header

pytestmark = pytest.mark.fault  # part of the fault battery (docs/security.md)

matplotlib.use("Agg")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int) -> bytes:
    """A real greyscale PNG, written by hand: signature, IHDR, one IDAT, IEND."""
    rows = (b"\x00" + bytes(width)) * height  # filter byte 0, then a black row
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b"")


def _jpeg(width: int, height: int) -> bytes:
    """The segments of a baseline JPEG up to its frame header: SOI, APP0 (JFIF), SOF0."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0


def _matplotlib_figure(path: Path) -> Path:
    """A real figure, written by matplotlib in the format its name says."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(3, 2), dpi=100)
    axes.plot([0, 1, 2], [1, 3, 2])
    figure.savefig(path)
    plt.close(figure)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (_png(640, 480), "PNG 640x480"),
        (_jpeg(320, 200), "JPEG 320x200"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n", "PDF"),
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
        (_jpeg(640, 8), "is only 640x8 pixels"),
    ],
)
def test_anything_else_is_refused_with_the_reason(tmp_path: Path, content: bytes, reason: str):
    path = tmp_path / "plot.png"
    path.write_bytes(content)
    with pytest.raises(NotAFigureError) as error:
        describe_figure(path)
    assert str(error.value) == f"plot.png {reason}"


@pytest.mark.parametrize(
    ("suffix", "kind"), [(".png", "PNG 300x200"), (".jpg", "JPEG 300x200"), (".pdf", "PDF"), (".svg", "SVG")]
)
def test_real_matplotlib_figures_are_images(tmp_path: Path, suffix: str, kind: str):
    path = _matplotlib_figure(tmp_path / f"plot{suffix}")
    assert str(read_image_header(path)) == kind
    assert describe_figure(path) == kind


def test_the_official_one_pixel_placeholder_is_an_image_but_not_a_readable_figure(tmp_path: Path):
    """The official oracle writes a 1x1 PNG when it has no reference figure: scoring accepts it."""
    path = tmp_path / "plot.png"
    path.write_bytes(_png(1, 1))
    assert str(read_image_header(path)) == "PNG 1x1"
    with pytest.raises(NotAFigureError, match="only 1x1 pixels"):
        describe_figure(path)


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE svg [\n<!ENTITY a "ha">\n'
    + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n'.encode() for i in range(9))
    + b']>\n<svg xmlns="http://www.w3.org/2000/svg">&j;</svg>'
)
png_ihdr = _png(64, 64)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"x", "is not a PNG, JPEG, SVG or PDF image"),
        (png_ihdr[:20], "has a PNG signature but no image header"),
        (png_ihdr[:29] + b"\x00\x00\x00\x00" + png_ihdr[33:], "corrupt image header"),
        (
            b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 64, 8, 0, 0, 0, 0)),
            "impossible size (0x64)",
        ),
        (b"\xff\xd8\xff", "has a JPEG start marker but no frame header"),
        (_jpeg(64, 64)[:-12], "has a JPEG start marker but no frame header"),
        (b"\xff\xd8" + b"\xff\x01" * 100_000, "has a JPEG start marker but no frame header"),
        (b"%PDF-1.4\n1 0 obj\n", "no %%EOF trailer"),
        (b"%PDF-x\n%%EOF\n", "no valid PDF version header"),
        (BILLION_LAUGHS, "declares XML entities"),
        (b"<html><body><svg></svg></body></html>", "root element is <html>, not <svg>"),
        (b"<svg width=10>", "not well-formed XML"),
        (b"<!-- <svg -->", "no <svg> root element"),
    ],
)
def test_non_images_named_like_figures_are_refused(tmp_path: Path, content: bytes, reason: str):
    path = tmp_path / "plot.png"
    path.write_bytes(content)
    with pytest.raises(NotAFigureError, match=re.escape(reason)):
        read_image_header(path)


def test_a_folder_named_like_a_figure_is_refused(tmp_path: Path):
    (tmp_path / "plot.png").mkdir()
    with pytest.raises(NotAFigureError, match="cannot be read"):
        read_image_header(tmp_path / "plot.png")


# ------------------------------------------------------------------ scoring
FIGURE_GATE = {
    "gates": [{"scorer": "file_match", "severity": "hard", "config": {"checks": [{"file": "results/plot.png"}]}}],
    "scoring": [
        {
            "scorer": "file_match",
            "weight": 100,
            "config": {"scoring_mode": "per_check", "checks": [{"file": "results/plot.png"}, {"file": "notes.txt"}]},
        }
    ],
}


def _outputs(folder: Path, figure: bytes | None) -> Path:
    (folder / "results").mkdir(parents=True)
    (folder / "notes.txt").write_text("done")
    if figure is not None:
        (folder / "results" / "plot.png").write_bytes(figure)
    return folder


def test_a_one_byte_figure_scores_like_a_missing_one(tmp_path: Path):
    ref = tmp_path / "ref"
    ref.mkdir()
    fake = evaluate(FIGURE_GATE, _outputs(tmp_path / "fake", b"x"), ref, {})
    missing = evaluate(FIGURE_GATE, _outputs(tmp_path / "missing", None), ref, {})
    assert fake.final_score == missing.final_score == 0 and not fake.hard_gates_passed
    (check,) = fake.gate_results[0].details["checks"]
    assert check == {
        "passed": False,
        "file": "results/plot.png",
        "message": "Not a figure: plot.png is not a PNG, JPEG, SVG or PDF image (it starts with b'x')",
    }
    assert "Not a figure: plot.png" in fake.gate_results[0].message


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".pdf", ".svg"])
def test_a_real_figure_passes_the_figure_gate(tmp_path: Path, suffix: str):
    ref = tmp_path / "ref"
    ref.mkdir()
    evaluation = {"gates": [{"scorer": "file_match", "config": {"checks": [{"file": f"plot{suffix}"}]}}], "scoring": []}
    pred = tmp_path / "pred"
    pred.mkdir()
    _matplotlib_figure(pred / f"plot{suffix}")
    report = evaluate(evaluation, pred, ref, {})
    assert report.hard_gates_passed and report.gate_results[0].details["checks"] == [
        {"passed": True, "file": f"plot{suffix}"}
    ]
