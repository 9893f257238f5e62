"""Tables the commands print."""

from __future__ import annotations

from collections import defaultdict

from rich.table import Table
from rich.text import Text

from asibench_env.envs.episode import EpisodeResult


def score_table(results: list[EpisodeResult], width: int | None = None) -> Table:
    """Mean score per task and level; infra errors and produced (unscored) episodes are counted apart, never as 0.

    When the table would not fit in ``width`` columns, task ids break after their domain
    ("electrical_engineering." over "filter_identification") rather than mid-word.
    """
    by_cell: dict[tuple[str, str], list[float]] = defaultdict(list)
    infra: dict[str, int] = defaultdict(int)
    produced: dict[str, int] = defaultdict(int)
    levels = sorted({r.prompt_level for r in results})
    for r in results:
        if r.status == "produced":
            produced[r.task_id] += 1
        elif r.final_score is None:
            infra[r.task_id] += 1
        else:
            by_cell[(r.task_id, r.prompt_level)].append(r.final_score)
    table = Table(title="Mean score (0-100)")
    table.add_column("task", overflow="fold")
    for level in levels:
        table.add_column(level, justify="right")
    table.add_column("infra errors", justify="right")
    show_produced = bool(produced)
    if show_produced:
        table.add_column("produced", justify="right")
    task_ids = sorted({r.task_id for r in results})
    # every other column is about 8 wide with its borders; "infra errors" about 15
    extra = 12 if show_produced else 0
    break_ids = width is not None and max(map(len, task_ids), default=0) + 8 * len(levels) + 19 + extra > width
    for task_id in task_ids:
        cells = []
        for level in levels:
            scores = by_cell.get((task_id, level))
            cells.append(f"{sum(scores) / len(scores):.1f}" if scores else "")
        label = task_id.replace(".", ".\n", 1) if break_ids else task_id
        counts = [str(infra[task_id])] + ([str(produced[task_id])] if show_produced else [])
        table.add_row(Text(label), *cells, *counts)
    overall = [s for scores in by_cell.values() for s in scores]
    if overall:
        table.add_row(
            "[bold]all[/]",
            *[
                f"{sum(v) / len(v):.1f}"
                if (v := [s for (t, lv), ss in by_cell.items() if lv == level for s in ss])
                else ""
                for level in levels
            ],
            str(sum(infra.values())),
            *([str(sum(produced.values()))] if show_produced else []),
        )
    return table
