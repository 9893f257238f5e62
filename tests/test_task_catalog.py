"""The built-in suite's breadth, `asibench-env tasks list`, and docs/tasks.md kept in step with the files."""

from __future__ import annotations

import subprocess
from pathlib import Path

from helpers import CLI, cli_env

from asibench_env.tasks.catalog import render_catalog
from asibench_env.tasks.registry import builtin_registry

REPO = Path(__file__).resolve().parents[1]
DOMAINS = {
    "astronomy", "biology", "chemistry", "computer_science", "earth_science", "electrical_engineering",
    "materials", "mathematics", "medicine", "epidemiology", "physics", "robotics", "statistics",
}  # fmt: skip


def test_the_suite_spans_the_required_domains():
    tasks = list(builtin_registry())
    domains = {t.meta.domain for t in tasks}
    assert len(tasks) >= 16 and len(domains) >= 10, (len(tasks), sorted(domains))
    assert domains <= DOMAINS
    for task in tasks:
        assert task.meta.summary and len(task.meta.summary) <= 200, task.id
        assert task.meta.status == "final" and task.generation and task.generation.mode == "infinite", task.id
        assert set(task.meta.runtime.packages) <= {"numpy>=1.26", "scipy>=1.11", "pandas>=2.0", "matplotlib>=3.7"}, (
            task.id
        )


def test_tasks_list_shows_every_task_with_domain_and_summary(tmp_path: Path):
    proc = subprocess.run([*CLI, "tasks", "list"], capture_output=True, text=True, env=cli_env(tmp_path, COLUMNS="400"))
    assert proc.returncode == 0
    for task in builtin_registry():
        line = next(line for line in proc.stdout.splitlines() if task.id in line)
        assert task.meta.domain in line and task.summary[:40] in line


def test_tasks_list_on_a_narrow_terminal_never_cuts_an_id(tmp_path: Path):
    proc = subprocess.run([*CLI, "tasks", "list"], capture_output=True, text=True, env=cli_env(tmp_path, COLUMNS="70"))
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert "…" not in proc.stdout and max(len(line.rstrip()) for line in lines) <= 70
    for task in builtin_registry():
        at = lines.index(task.id)
        block = " ".join(" ".join(lines[at + 1 : at + 4]).split())
        assert block.startswith(f"{task.meta.domain} (builtin; runs from: generator): {task.summary[:20]}"), task.id


def test_docs_tasks_md_is_generated_from_the_task_files(tmp_path: Path):
    assert (REPO / "docs" / "tasks.md").read_text(encoding="utf-8") == render_catalog(list(builtin_registry())), (
        "docs/tasks.md is out of date: run `asibench-env tasks catalog`"
    )
    proc = subprocess.run(
        [*CLI, "tasks", "catalog", "--output", str(tmp_path / "tasks.md")],
        capture_output=True, text=True, env=cli_env(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0
    text = (tmp_path / "tasks.md").read_text(encoding="utf-8")
    for task in builtin_registry():
        assert f"### `{task.id}`" in text and task.meta.name in text
        for spec in task.outputs:
            assert f"`{spec.name}`" in text
    stale = subprocess.run(
        [*CLI, "tasks", "catalog", "--check", "--output", str(tmp_path / "missing.md")],
        capture_output=True, text=True, env=cli_env(tmp_path),
    )  # fmt: skip
    assert stale.returncode == 1 and "out of date" in stale.stdout


def test_the_catalog_holds_no_reference_values():
    text = render_catalog(list(builtin_registry()))
    assert "_ref.npy" not in text and "reference/" not in text
