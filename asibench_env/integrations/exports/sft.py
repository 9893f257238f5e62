"""SFT rows: one per successful episode (status ``scored``, final score at least ``min_score``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asibench_env.integrations.exports.dialogue import conversation, tools_json
from asibench_env.integrations.exports.models import SftRow
from asibench_env.integrations.exports.report import SKIP_BELOW_MIN_SCORE, ExportReport
from asibench_env.integrations.exports.source import RunEpisode, read_episodes


def sft_rows_of(
    episodes: Sequence[RunEpisode], report: ExportReport, *, min_score: float = 100.0, reasoning: bool = False
) -> list[SftRow]:
    """The SFT rows of eligible episodes: whole conversations (with reasoning when asked) and their tools."""
    rows = []
    for episode in episodes:
        row = episode.row
        if row["final_score"] < min_score:
            report.skip(SKIP_BELOW_MIN_SCORE)
            continue
        messages = conversation(episode, report, reasoning=reasoning)
        if messages is None:
            continue
        rows.append(
            SftRow(
                **SftRow.fields_of(row),
                messages=messages,
                tools=tools_json(episode),
                final_score=row["final_score"],
            )
        )
    return rows


def sft_rows(
    run_dirs: Sequence[Path], *, min_score: float = 100.0, reasoning: bool = False
) -> tuple[list[SftRow], ExportReport]:
    """SFT rows of the run folders, sorted by task, level, instance and episode id, and the report."""
    report = ExportReport("sft")

    def below(row: dict[str, Any]) -> str | None:
        return SKIP_BELOW_MIN_SCORE if row["final_score"] < min_score else None

    episodes = read_episodes(run_dirs, report, scored_only=True, skip=below)
    rows = sft_rows_of(episodes, report, min_score=min_score, reasoning=reasoning)
    report.rows = len(rows)
    return rows, report
