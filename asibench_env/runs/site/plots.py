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


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the (cost, score) points no other point beats: cheaper or as cheap, and better or as good."""
    front = []
    for i, (cost, score) in enumerate(points):
        beaten = any(
            (c <= cost and s >= score) and (c < cost or s > score) for j, (c, s) in enumerate(points) if j != i
        )
        if not beaten:
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


def score_cost_chart(points: Sequence[tuple[str, float, float]]) -> str:
    """Mean score against mean cost per problem, one labelled point per configuration, the Pareto front drawn."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    try:
        costs = [cost for _, cost, _ in points]
        scores = [score for _, _, score in points]
        ax.scatter(costs, scores, color="#2f5d8a", zorder=3)
        for name, cost, score in points:
            ax.annotate(name, (cost, score), xytext=(4, 4), textcoords="offset points", fontsize=8)
        front = pareto_front(list(zip(costs, scores, strict=True)))
        ax.step(
            [costs[i] for i in front], [scores[i] for i in front], where="post", color="#b5562b", label="Pareto front"
        )
        ax.set_xlabel("mean cost per problem (US dollars)")
        ax.set_ylabel("mean score")
        ax.set_ylim(0, 105)
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    finally:
        plt.close(fig)
    return buffer.getvalue()


def level_profile_chart(profiles: Sequence[tuple[str, Mapping[str, float | None]]], levels: Sequence[str]) -> str:
    """Mean score per guidance level, one line per configuration: how much scaffolding each one needs."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    try:
        for name, means in profiles:
            values = [means.get(level) for level in levels]
            ys = [float("nan") if value is None else float(value) for value in values]
            ax.plot(list(levels), ys, marker="o", label=name)
        ax.set_ylim(0, 105)
        ax.set_xlabel("guidance level (B1 full method ... B4 minimal guidance)")
        ax.set_ylabel("mean score")
        ax.legend(fontsize=8, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    finally:
        plt.close(fig)
    return buffer.getvalue()
