"""Build the static benchmark site: an index, one page per task and one page per run folder.

Plain HTML and one CSS file, rendered with Jinja2 templates shipped in this package; plots are
matplotlib SVG files. Nothing is fetched at view time (no CDN, no web font, no server): a run page links
to copies of the run's result files, outputs and trajectories inside the site, so the folder can be
opened from disk, archived or served as it is.

The leaderboard numbers come from elsewhere (``asibench-env leaderboard``): the site takes its rows as
plain dicts (a JSON list, or an object with ``rows``) and shows them as they are; without them the index
says that no runs are ranked yet.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow.parquet as pq
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from asibench_env._version import __version__
from asibench_env.runs.site.plots import level_bar_chart, level_profile_chart, score_cost_chart
from asibench_env.tasks.catalog import evaluation_summary, goal_excerpt
from asibench_env.tasks.loading import Task
from asibench_env.tasks.models import LEVELS
from asibench_env.tasks.registry import TaskRegistry

MARKER = ".asibench-site"
"""A file at the root of a built site: a folder holding it may be rebuilt (emptied) without asking."""

COPIED = ("run_metadata.json", "results", "trajectories", "batch_records")
"""What of a run folder is copied beside its page (so every link of the page stays inside the site)."""


class SiteError(ValueError):
    """A site cannot be built as asked (a run folder without results, an output folder in the way)."""


@dataclass
class Episode:
    """One row of a run page: a result file's fields, and the site-relative links to its files."""

    instance_id: str
    task_id: str
    level: str
    seed: Any
    attempt: int
    status: str
    episode_status: str
    end_reason: str
    score: float | None
    steps: Any
    seconds: float | None
    cost: float | None
    error: str
    result_href: str
    outputs: list[tuple[str, str]] = field(default_factory=list)
    trajectories: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class RunPage:
    """A run folder as the site shows it."""

    slug: str
    name: str
    source: Path
    metadata: dict[str, Any]
    episodes: list[Episode]
    level_means: dict[str, float | None]
    chart: str | None
    files: list[tuple[str, str]]

    @property
    def agent(self) -> str:
        agent = self.metadata.get("agent") or {}
        return str(agent.get("model") or agent.get("name") or "?") if isinstance(agent, dict) else str(agent)

    @property
    def started(self) -> str:
        return str(self.metadata.get("timestamp") or "")

    @property
    def has_cost(self) -> bool:
        """Whether any episode reports a cost (model agents); the table then has a cost column."""
        return any(e.cost is not None for e in self.episodes)

    @property
    def mean(self) -> float | None:
        scores = [e.score for e in self.episodes if e.score is not None]
        return sum(scores) / len(scores) if scores else None


@dataclass
class SiteBuild:
    """What :func:`build_site` wrote."""

    out: Path
    index: Path
    pages: list[Path]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "run"


def _href(*parts: str) -> str:
    """A relative URL from path parts (each quoted, slashes kept)."""
    return "/".join(quote(part) for part in parts)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SiteError(f"{path}: not readable JSON ({exc})") from exc


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def _trajectory_files(run_dir: Path) -> dict[tuple[str, str], list[str]]:
    """(instance id, level in upper case) -> the episode's Parquet files, relative to the run folder."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    episodes_dir = run_dir / "trajectories" / "episodes"
    if not episodes_dir.is_dir():
        return found
    for path in sorted(episodes_dir.rglob("*.parquet")):
        level = next((p.split("=", 1)[1] for p in path.parent.parts if p.startswith("prompt_level=")), "")
        try:
            instances = pq.read_table(path, columns=["instance_id"]).column("instance_id").to_pylist()
        except Exception:  # noqa: BLE001 - an unreadable file is listed under Files, not linked to a row
            continue
        steps = run_dir / "trajectories" / "steps" / path.relative_to(episodes_dir)
        for instance_id in set(instances):
            found[(str(instance_id), level.upper())].append(path.relative_to(run_dir).as_posix())
            if steps.is_file():
                found[(str(instance_id), level.upper())].append(steps.relative_to(run_dir).as_posix())
    return found


def _episodes(run_dir: Path) -> list[Episode]:
    results = run_dir / "results"
    trajectories = _trajectory_files(run_dir)
    episodes = []
    for path in sorted(results.glob("*.json")):
        doc = _read_json(path)
        if not isinstance(doc, dict) or "instance_id" not in doc:
            continue
        level = str(doc.get("prompt_level", "")).upper()
        persisted = (doc.get("agent_output") or {}).get("persisted_outputs") or {}
        outputs = []
        if persisted.get("dir"):
            for item in persisted.get("files") or []:
                rel = f"{persisted['dir']}/{item.get('path')}"
                if (results / rel).is_file():
                    outputs.append((str(item.get("path")), _href("results", *rel.split("/"))))
        cost = doc.get("cost")
        episodes.append(
            Episode(
                instance_id=str(doc["instance_id"]),
                task_id=str(doc.get("task_id", "")),
                level=level,
                seed=doc.get("seed"),
                attempt=int(doc.get("attempt") or 1),
                status=str(doc.get("status", "")),
                episode_status=str(doc.get("episode_status") or ""),
                end_reason=str(doc.get("end_reason") or ""),
                score=_number(doc.get("final_score")) if doc.get("episode_status") != "produced" else None,
                steps=doc.get("steps"),
                seconds=_number(doc.get("execution_time_seconds")),
                cost=_number(cost.get("estimated_cost_usd")) if isinstance(cost, dict) else None,
                error=str(doc.get("error") or doc.get("score_error") or ""),
                result_href=_href("results", path.name),
                outputs=outputs,
                trajectories=[
                    (rel.split("/")[1], _href(*rel.split("/")))
                    for rel in trajectories.get((str(doc["instance_id"]), level), [])
                ],
            )
        )
    return sorted(episodes, key=lambda e: (e.task_id, e.instance_id, e.level, e.attempt))


def _latest(episodes: Iterable[Episode]) -> list[Episode]:
    """The last attempt of each (instance, level): what the means count."""
    latest: dict[tuple[str, str], Episode] = {}
    for episode in episodes:
        key = (episode.instance_id, episode.level)
        if key not in latest or episode.attempt > latest[key].attempt:
            latest[key] = episode
    return list(latest.values())


def _level_means(episodes: Sequence[Episode]) -> dict[str, float | None]:
    by_level: dict[str, list[float]] = defaultdict(list)
    for episode in _latest(episodes):
        if episode.score is not None:
            by_level[episode.level].append(episode.score)
    return {level: (sum(v) / len(v) if (v := by_level.get(level)) else None) for level in LEVELS}


def _run_files(run_dir: Path) -> list[tuple[str, str]]:
    """Every file of the run the site copies, as (path, href) relative to the run page."""
    files = []
    for name in COPIED:
        for item in _regular_files(run_dir / name):
            rel = item.relative_to(run_dir).as_posix()
            files.append((rel, _href(*rel.split("/"))))
    return files


def read_run(run_dir: Path, slug: str) -> RunPage:
    """A run folder (``asibench-env run --out``) as a page: metadata, episodes, level means, chart."""
    run_dir = Path(run_dir)
    if not (run_dir / "results").is_dir():
        raise SiteError(f"{run_dir} has no results/ folder: give the folder that `asibench-env run --out` wrote")
    metadata_path = run_dir / "run_metadata.json"
    metadata = _read_json(metadata_path) if metadata_path.is_file() else {}
    episodes = _episodes(run_dir)
    means = _level_means(episodes)
    chart = None
    if any(v is not None for v in means.values()):
        chart = level_bar_chart(means, LEVELS, f"{run_dir.name}: mean score per level")
    return RunPage(
        slug=slug,
        name=run_dir.name,
        source=run_dir.resolve(),
        metadata=metadata if isinstance(metadata, dict) else {},
        episodes=episodes,
        level_means=means,
        chart=chart,
        files=_run_files(run_dir),
    )


def load_leaderboard(path: Path | None) -> list[dict[str, Any]]:
    """Leaderboard rows from a JSON file (a list of objects, or an object with ``rows``); none without a file."""
    if path is None or not Path(path).is_file():
        return []
    doc = _read_json(Path(path))
    rows = doc.get("rows") if isinstance(doc, dict) else doc
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise SiteError(f"{path}: expected a list of row objects (or an object with a 'rows' list)")
    return [_display_row(row) if isinstance(row.get("overall"), Mapping) else row for row in rows]


def _display_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of ``asibench-env leaderboard``'s JSON (docs/leaderboard.md) as the site's columns."""
    overall = row.get("overall") or {}
    interval = overall.get("ci95") or {}
    coverage = row.get("coverage") or {}
    levels = row.get("levels") or {}
    return {
        "rank": row.get("rank"),
        "configuration": row.get("name") or row.get("config_id"),
        "trust": row.get("trust"),
        "mean": overall.get("mean"),
        "95% interval": [interval["low"], interval["high"]] if {"low", "high"} <= set(interval) else None,
        **{level: (levels.get(level) or {}).get("mean") for level in LEVELS},
        "episodes": f"{coverage.get('episodes_counted', '?')}/{coverage.get('episodes_planned', '?')}",
        "$ per problem": row.get("mean_cost_usd"),
        "steps": row.get("mean_steps"),
        "infra errors": row.get("infra_errors"),
        "produced": row.get("produced"),
        "_details": dict(row),  # the whole row, for its own page (keys starting with _ are not columns)
    }


def _cell(value: Any) -> str:
    """A leaderboard value as text: numbers rounded, intervals as 'low-high', mappings as 'key=value'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3g}"
    if isinstance(value, list | tuple):
        if len(value) == 2 and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            low, high = float(value[0]), float(value[1])
            spec = ".1f" if max(abs(low), abs(high)) >= 1 else ".3g"  # both ends alike: "8.0–17.0"
            return f"{low:{spec}}–{high:{spec}}"
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items() if v is not None)
    return str(value)


def _sort_key(value: Any) -> str:
    """A row cell's ``data-sort`` value: numbers as numbers (the first of an interval), else the text."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        return repr(float(value))
    if isinstance(value, list | tuple) and value and isinstance(value[0], int | float):
        return repr(float(value[0]))
    return _cell(value)


def _code(text: str) -> Markup:
    """Escape, then show `backticked` names as <code>."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def _breakable(text: str) -> Markup:
    """Escape, and let a long identifier wrap after its dots and underscores (not inside its words)."""
    return Markup(re.sub(r"([._])", r"\1<wbr>", str(escape(text))))


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("asibench_env.runs.site", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.tests["number"] = lambda value: isinstance(value, int | float) and not isinstance(value, bool)
    env.filters.update(breakable=_breakable, cell=_cell, sort_key=_sort_key, code=_code, score=_score, href=_href)
    return env


def _static(name: str) -> str:
    return resources.files("asibench_env.runs.site").joinpath("static", name).read_text(encoding="utf-8")


def _task_context(task: Task, registry: TaskRegistry) -> dict[str, Any]:
    try:
        excerpt = goal_excerpt(task)
    except OSError:
        excerpt = ""
    try:
        runs_from = registry.runnability(task.id).label
    except Exception:  # noqa: BLE001 - a label is a nicety: the page is built without it
        runs_from = "-"
    return {
        "task": task,
        "excerpt": excerpt,
        "evaluation": evaluation_summary(task),
        "runs_from": runs_from,
        "parameters": task.generation.parameters if task.generation else {},
    }


def _prepare_out(out: Path) -> None:
    if out.exists():
        if not out.is_dir():
            raise SiteError(f"{out} is a file: give a folder for the site")
        if any(out.iterdir()) and not (out / MARKER).is_file():
            raise SiteError(f"{out} is not empty and holds no site built here: give an empty or new folder")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text(f"built by asibench-env {__version__}\n", encoding="utf-8")


def _regular_files(path: Path) -> list[Path]:
    """``path`` itself or the files under it: regular files only, never through a symbolic link."""
    if path.is_symlink():
        return []
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    found = []
    for folder, _dirs, names in os.walk(path):  # does not descend into linked folders
        found += [p for name in names if (p := Path(folder) / name).is_file() and not p.is_symlink()]
    return sorted(found)


def _copy_run(run: RunPage, dest: Path) -> None:
    """Copy the run's files beside its page (regular files only: a link cannot pull other files in)."""
    for name in COPIED:
        for item in _regular_files(run.source / name):
            target = dest / item.relative_to(run.source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item, target)


def _leaderboard_charts(rows: Sequence[Mapping[str, Any]], out: Path) -> list[dict[str, str]]:
    """The score-versus-cost chart (with its Pareto front) and the B1-B4 profiles of the ranked rows.

    Each is written as an SVG file of ``out`` when the rows carry its numbers; returns their file names
    with alt texts, and a note for a chart that could not be drawn.
    """
    charts: list[dict[str, str]] = []
    named = [(str(row.get("configuration") or row.get("rank") or "?"), row) for row in rows]
    points = [
        (name, cost, mean)
        for name, row in named
        if (cost := _number(row.get("$ per problem"))) is not None and (mean := _number(row.get("mean"))) is not None
    ]
    if points:
        (out / "score-cost.svg").write_text(score_cost_chart(points), encoding="utf-8")
        listed = "; ".join(f"{name}: {score:.1f} at ${cost:.4f}" for name, cost, score in points)
        charts.append({"file": "score-cost.svg", "alt": f"Mean score against mean cost per problem: {listed}."})
    elif rows:
        charts.append({"note": "No configuration has a recorded cost per problem (agents that call no model)."})
    profiles = [(name, {level: _number(row.get(level)) for level in LEVELS}) for name, row in named]
    profiles = [(name, means) for name, means in profiles if any(v is not None for v in means.values())]
    if profiles:
        (out / "profiles.svg").write_text(level_profile_chart(profiles, LEVELS), encoding="utf-8")
        listed = "; ".join(
            f"{name}: " + ", ".join(f"{lv} {v:.1f}" for lv, v in means.items() if v is not None)
            for name, means in profiles
        )
        charts.append({"file": "profiles.svg", "alt": f"Mean score per guidance level, per configuration: {listed}."})
    return charts


def build_site(
    run_dirs: Sequence[Path],
    out: Path,
    *,
    registry: TaskRegistry,
    leaderboard: Sequence[Mapping[str, Any]] | None = None,
) -> SiteBuild:
    """Write the site for ``run_dirs`` and the tasks of ``registry`` into ``out`` (rebuilt from scratch)."""
    out = Path(out)
    slugs: set[str] = set()
    runs = []
    for run_dir in run_dirs:
        base = slug = _slug(Path(run_dir).resolve().name)
        n = 2
        while slug in slugs:
            slug, n = f"{base}-{n}", n + 1
        slugs.add(slug)
        runs.append(read_run(Path(run_dir), slug))
    _prepare_out(out)
    env = _environment()
    tasks = sorted(registry, key=lambda t: t.id)
    task_ids = {task.id for task in tasks}
    rows = [dict(row) for row in leaderboard or []]
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns and not str(key).startswith("_")]
    common = {
        "version": __version__,
        "built": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "script": Markup(_static("sort.js")),
        "levels": LEVELS,
        "task_ids": task_ids,
    }
    (out / "style.css").write_text(_static("site.css"), encoding="utf-8")
    pages = []

    def render(template: str, dest: Path, root: str, **context: Any) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        html = env.get_template(template).render(root=root, **common, **context)
        dest.write_text(html, encoding="utf-8")
        pages.append(dest)

    for row in rows:  # each ranked configuration gets its own page when the row carries its provenance
        details = row.get("_details")
        if isinstance(details, Mapping) and details.get("config_id"):
            row["_page"] = f"rows/{_slug(str(details['config_id']))}.html"
    index = out / "index.html"
    charts = _leaderboard_charts(rows, out)
    render("index.html", index, "", runs=runs, tasks=tasks, rows=rows, columns=columns, charts=charts)
    for task in tasks:
        render("task.html", out / "tasks" / f"{task.id}.html", "../", **_task_context(task, registry))
    run_slugs = {str(run.source.resolve()): run.slug for run in runs}
    for row in rows:
        if row.get("_page"):
            render("row.html", out / row["_page"], "../", row=row, details=row["_details"], run_slugs=run_slugs)
    for run in runs:
        run_out = out / "runs" / run.slug
        _copy_run(run, run_out)
        if run.chart is not None:
            (run_out / "levels.svg").write_text(run.chart, encoding="utf-8")
        render("run.html", run_out / "index.html", "../../", run=run)
    return SiteBuild(out=out, index=index, pages=pages)
