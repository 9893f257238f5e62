"""The leaderboard as a terminal table (rich), JSON, CSV, Markdown and HTML."""

from __future__ import annotations

import csv
import html
import io
from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from asibench_env.runs.leaderboard.model import Estimate, Leaderboard, Row

FORMATS = ("table", "json", "csv", "md", "html")
FILE_SUFFIX = {"json": "json", "csv": "csv", "md": "md", "html": "html"}


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ci(est: Estimate) -> str:
    return "-" if est.ci95 is None else f"[{est.ci95.low:.1f}, {est.ci95.high:.1f}]"


def _coverage(row: Row) -> str:
    return f"{row.coverage.episodes_counted}/{row.coverage.episodes_planned}"


def _marks(row: Row) -> str:
    return "".join(mark for mark, on in (("*", row.partial), ("~", row.mixed)) if on)


def flat_rows(board: Leaderboard) -> list[dict[str, Any]]:
    """One flat dict per row (the CSV columns)."""
    out = []
    for row in board.rows:
        flat: dict[str, Any] = {
            "rank": row.rank,
            "config_id": row.config_id,
            "name": row.name,
            "agent": row.configuration.agent,
            "model": row.configuration.model,
            "provider": row.configuration.provider,
            "base_url_host": row.configuration.base_url_host,
            "mean": row.overall.mean,
            "ci95_low": row.overall.ci95.low if row.overall.ci95 else None,
            "ci95_high": row.overall.ci95.high if row.overall.ci95 else None,
        }
        for level in board.levels:
            flat[level] = row.levels[level].mean if level in row.levels else None
        for domain in board.domains:
            flat[f"domain:{domain}"] = row.domains[domain].mean if domain in row.domains else None
        flat.update(
            episodes_counted=row.coverage.episodes_counted,
            episodes_planned=row.coverage.episodes_planned,
            tasks_counted=row.coverage.tasks_counted,
            tasks_planned=row.coverage.tasks_planned,
            partial=row.partial,
            mixed=row.mixed,
            infra_errors=row.infra_errors,
            produced=row.produced,
            agent_errors=row.agent_errors,
            mean_cost_usd=row.mean_cost_usd,
            mean_tokens=row.mean_tokens,
            mean_steps=row.mean_steps,
            mean_wall_time_s=row.mean_wall_time_s,
            package_versions=" ".join(row.package_versions),
            benchmark_versions=" ".join(row.benchmark_versions),
            task_set_sha256=" ".join(row.task_set_sha256),
            evaluated_from=row.evaluated_from,
            evaluated_to=row.evaluated_to,
            trust=row.trust,
        )
        out.append(flat)
    return out


def to_csv(board: Leaderboard) -> str:
    rows = flat_rows(board)
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def _header(board: Leaderboard) -> list[str]:
    return ["#", "configuration", "id", "mean", "95% CI", *board.levels, "episodes", "infra", "produced", "trust"]


def _cells(board: Leaderboard, row: Row) -> list[str]:
    return [
        str(row.rank or "-"),
        row.name + _marks(row),
        row.config_id,
        _num(row.overall.mean),
        _ci(row.overall),
        *(_num(row.levels[lv].mean) if lv in row.levels else "-" for lv in board.levels),
        _coverage(row),
        str(row.infra_errors),
        str(row.produced),
        row.trust,
    ]


def _footnote(board: Leaderboard) -> str:
    compared = (
        f"compared on the {board.common_episodes} episodes every row counted"
        if board.compared_on == "common" and board.common_episodes is not None
        else "each row on its own episodes"
    )
    return (
        f"Scores 0-100; mean over tasks of instance means; 95% CI by hierarchical bootstrap "
        f"(seed {board.seed}, {board.resamples} resamples); {compared}; cost, tokens and steps are means per "
        "problem. * partial, ~ mixed versions."
    )


def to_markdown(board: Leaderboard) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    header = _header(board)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in _cells(board, row)) + " |" for row in board.rows]
    lines += ["", _footnote(board), ""]
    for row in board.rows:
        lines.append(f"- **{esc(row.name)}** (`{row.config_id}`): {row.trust}")
        lines += [f"  - {esc(reason)}" for reason in row.trust_reasons]
    lines += [f"- warning: {esc(w)}" for w in board.warnings]
    return "\n".join(lines) + "\n"


def to_html(board: Leaderboard) -> str:
    header = "".join(f"<th>{html.escape(h)}</th>" for h in _header(board))
    body = []
    for row in board.rows:
        cells = "".join(f"<td>{html.escape(c)}</td>" for c in _cells(board, row))
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in row.trust_reasons)
        body.append(f'<tr title="{html.escape(row.trust)}">{cells}</tr>')
        body.append(f'<tr class="reasons"><td colspan="{len(_header(board))}"><ul>{reasons}</ul></td></tr>')
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8"><title>asibench-env leaderboard</title></head><body>\n'
        f"<table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>\n"
        f"<p>{html.escape(_footnote(board))}</p>\n</body></html>\n"
    )


def to_table(board: Leaderboard) -> Group:
    """Two rich tables that read well at 80 columns: the ranking, then levels and costs."""
    ranking = Table(title="Leaderboard (0-100)", box=box.SIMPLE_HEAD, padding=(0, 1), title_justify="left")
    ranking.add_column("#", justify="right")
    ranking.add_column("configuration", overflow="fold", min_width=14)
    ranking.add_column("mean", justify="right")
    ranking.add_column("95% CI", justify="right", no_wrap=True)
    ranking.add_column("episodes", justify="right", no_wrap=True)
    ranking.add_column("infra", justify="right")
    ranking.add_column("trust", no_wrap=True)
    for row in board.rows:
        label = Text(row.name + _marks(row), overflow="fold")
        label.append(f"\n{row.config_id}", style="dim")
        ranking.add_row(
            str(row.rank or "-"),
            label,
            _num(row.overall.mean),
            _ci(row.overall),
            _coverage(row),
            str(row.infra_errors + row.produced),
            row.trust,
        )
    detail = Table(box=box.SIMPLE_HEAD, padding=(0, 1))
    detail.add_column("#", justify="right")
    detail.add_column("id", no_wrap=True)
    for level in board.levels:
        detail.add_column(level, justify="right")
    detail.add_column("cost $", justify="right")
    detail.add_column("tokens", justify="right")
    detail.add_column("steps", justify="right")
    for row in board.rows:
        detail.add_row(
            str(row.rank or "-"),
            row.config_id,
            *(_num(row.levels[lv].mean) if lv in row.levels else "-" for lv in board.levels),
            _num(row.mean_cost_usd, 4),
            _num(row.mean_tokens, 0),
            _num(row.mean_steps),
        )
    return Group(ranking, detail, Text(_footnote(board), style="dim"))


def render(board: Leaderboard, fmt: str) -> str:
    """The board as text in ``fmt`` (json, csv, md, html); ``table`` is printed with :func:`to_table`."""
    if fmt == "json":
        return board.model_dump_json(indent=2) + "\n"
    if fmt == "csv":
        return to_csv(board)
    if fmt == "md":
        return to_markdown(board)
    if fmt == "html":
        return to_html(board)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
