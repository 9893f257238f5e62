"""The site's plots: matplotlib figures written as static SVG (no script, no web font, no network)."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("svg")  # the SVG backend: no display, no GUI toolkit

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: selectable, scalable, no embedded glyph paths
matplotlib.rcParams["svg.hashsalt"] = "asibench-env"  # stable element ids: the same run gives the same bytes
matplotlib.rcParams["font.family"] = "sans-serif"


def level_bar_chart(means: Mapping[str, float | None], levels: Sequence[str], title: str) -> str:
    """A bar chart of the mean score (0-100) per guidance level, as SVG text; a level with no score is ``n/a``."""
    fig, ax = plt.subplots(figsize=(5.6, 3.2), layout="constrained")
    try:
        values = [means.get(level) for level in levels]
        heights = [0.0 if v is None or math.isnan(v) else float(v) for v in values]
        bars = ax.bar(list(levels), heights, color="#2f5d8a", width=0.6)
        for bar, value in zip(bars, values, strict=True):
            label = "n/a" if value is None or math.isnan(value) else f"{value:.1f}"
            ax.annotate(
                label,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=9,
            )
        ax.set_ylim(0, 110)
        ax.set_yticks([0, 25, 50, 75, 100])
        ax.set_ylabel("mean score")
        ax.set_xlabel("guidance level")
        ax.set_title(title, fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    finally:
        plt.close(fig)
    return buffer.getvalue()
