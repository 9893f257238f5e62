"""Static and generator checks of every built-in task: files, determinism, no leaks, distinct prompts."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from asibench_env.sandbox.runtime import ensure_runtime
from asibench_env.tasks.loading import load_task
from asibench_env.tasks.models import LEVELS
from asibench_env.tasks.registry import builtin_registry

TASKS = list(builtin_registry())


def _generate(task, out: Path, params: dict) -> Path:
    python = ensure_runtime(task.runtime_packages) / "bin" / "python"
    subprocess.run(
        [str(python), str(task.generator_path), "--output-dir", str(out), "--params", json.dumps(params)],
        check=True,
        capture_output=True,
        cwd=task.task_dir,
    )
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_task_files(task):
    reloaded = load_task(task.task_dir)
    assert reloaded.meta.status == "final"
    assert sum(entry["weight"] for entry in task.evaluation["scoring"]) == pytest.approx(100)
    assert len(task.evaluation["scoring"]) >= 2
    assert any(g.get("severity", "hard") == "hard" for g in task.evaluation["gates"])
    assert len(task.outputs) >= 2
    assert task.generation is not None and task.generation.mode == "infinite"
    assert task.solution_path.is_file()
    assert set(task.runtime_packages) <= {"numpy>=1.26", "scipy>=1.11", "pandas>=2.0", "matplotlib>=3.7"}
    meta = yaml.safe_load((task.task_dir / "task_meta.yaml").read_text())
    assert "evaluation" not in meta and "generation" not in meta  # the scoring contract stays private


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_generator_is_deterministic_and_leaks_nothing(task, tmp_path: Path):
    first = _files(_generate(task, tmp_path / "a", {"seed": 7}))
    second = _files(_generate(task, tmp_path / "b", {"seed": 7}))
    assert first == second
    other = _files(_generate(task, tmp_path / "c", {"seed": 8}))
    assert first != other
    data = {k: v for k, v in first.items() if k.startswith("data/")}
    references = {k: v for k, v in first.items() if k.startswith("reference/")}
    assert data and references
    assert not set(data.values()) & set(references.values())
    prompts = [first[f"prompt_{level.lower()}.md"].decode() for level in LEVELS]
    assert len(set(prompts)) == 4
    for text in prompts:
        assert "{{" not in text and "}}" not in text
        assert "reference" not in text.lower() or "reference/" not in text
    meta = json.loads(first["instance_meta.json"])
    assert meta["params_used"]["seed"] == 7 and meta["task_id"] == task.id


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_reference_values_do_not_appear_in_prompts_or_data(task, tmp_path: Path):
    import numpy as np

    out = _generate(task, tmp_path / "inst", {"seed": 3})
    texts = [(out / f"prompt_{lvl.lower()}.md").read_text() for lvl in LEVELS]
    texts += [p.read_text() for p in (out / "data").rglob("*") if p.suffix in (".csv", ".json", ".txt")]
    for ref in (out / "reference").glob("*.npy"):
        values = np.load(ref).ravel()
        if values.size > 10:
            continue  # scalar answers are the ones a prompt or a data file could give away
        for value in values:
            for rendered in {f"{value:.3g}", f"{value:.4f}", f"{value:.6f}"}:
                if len(rendered.strip("0.-")) >= 3:
                    assert all(not re.search(rf"(?<![\d.]){re.escape(rendered)}(?!\d)", t) for t in texts), rendered


def test_unknown_parameter_is_refused(tmp_path: Path):
    task = TASKS[0]
    with pytest.raises(subprocess.CalledProcessError) as err:
        _generate(task, tmp_path / "x", {"seed": 1, "no_such_parameter": 3})
    assert b"unknown parameters" in err.value.stderr
