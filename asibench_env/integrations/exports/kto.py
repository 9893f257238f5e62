"""KTO rows: one per episode with a score, ``label = final_score >= threshold``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from asibench_env.integrations.exports.dialogue import conversation, split_prompt, tools_json
from asibench_env.integrations.exports.models import KtoRow
from asibench_env.integrations.exports.report import ExportReport
from asibench_env.integrations.exports.source import RunEpisode, read_episodes


def kto_rows_of(episodes: Sequence[RunEpisode], report: ExportReport, *, threshold: float) -> list[KtoRow]:
    """The KTO rows of eligible episodes: prompt, completion (the rest of the conversation), label."""
    rows = []
    for episode in episodes:
        messages = conversation(episode, report)
        if messages is None:
            continue
        prompt, completion = split_prompt(messages)
        row = episode.row
        rows.append(
            KtoRow(
                **KtoRow.fields_of(row),
                prompt=prompt,
                completion=completion,
                tools=tools_json(episode),
                label=row["final_score"] >= threshold,
                final_score=row["final_score"],
            )
        )
    return rows


def kto_rows(run_dirs: Sequence[Path], *, threshold: float) -> tuple[list[KtoRow], ExportReport]:
    """KTO rows of the run folders, sorted by task, level, instance and episode id, and the report."""
    report = ExportReport("kto")
    episodes = read_episodes(run_dirs, report, scored_only=False)
    rows = kto_rows_of(episodes, report, threshold=threshold)
    report.rows = len(rows)
    return rows, report
