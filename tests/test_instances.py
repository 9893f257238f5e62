"""Instance generation: seeds to parameters, the content-addressed cache, and failing generators."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from asibench_env.tasks.instances import InstanceCache, InstanceGenerationError, instance_id_for, sample_params
from asibench_env.tasks.loading import load_task


def _host_python(_task) -> str:
    return sys.executable


def test_sample_params_is_seeded(fixture_tasks_dir: Path):
    task = load_task(fixture_tasks_dir / "demo" / "line_fit")
    assert sample_params(task, 3) == {"n_points": 200, "n_coef": 2, "noise": 0.05, "seed": 3}
    first, again, other = (sample_params(task, s, "random") for s in (7, 7, 8))
    assert first == again and first != other
    assert 50 <= first["n_points"] <= 400 and 0.01 <= first["noise"] <= 0.2


def test_instance_id_format():
    assert instance_id_for("a.b", {"seed": 4, "n": 3, "x": 0.5}) == "a.b__n3_seed4_x0.50"
    long_id = instance_id_for("a.b", {f"param_{i}": i for i in range(20)} | {"seed": 1})
    assert len(long_id.split("__", 1)[1]) <= 80


def test_cache_generates_once_and_reuses(tmp_path: Path, fixture_tasks_dir: Path):
    task = load_task(fixture_tasks_dir / "demo" / "line_fit")
    cache = InstanceCache(tmp_path / "cache", python_for=_host_python)
    params = sample_params(task, 0)
    first, cached = cache.get(task, params)
    assert not cached
    assert (first.path / "data" / "x.npy").is_file() and first.has_reference
    for level in ("b1", "b2", "b3", "b4"):  # templates were copied in as the rendered prompts
        assert (first.path / f"prompt_{level}.md").is_file()
    stamp = (first.path / "data" / "x.npy").stat().st_mtime_ns
    second, cached = cache.get(task, params)
    assert cached and second.path == first.path
    assert (second.path / "data" / "x.npy").stat().st_mtime_ns == stamp  # not regenerated
    other, _ = cache.get(task, sample_params(task, 1))
    assert other.path != first.path
    assert (other.path / "data" / "x.npy").read_bytes() != (first.path / "data" / "x.npy").read_bytes()


def test_crashing_generator_reports_stderr(tmp_path: Path, copy_task):
    task_dir = copy_task()
    (task_dir / "generate_gt.py").write_text("import sys\nprint('boom: bad parameter', file=sys.stderr)\nsys.exit(3)\n")
    task = load_task(task_dir)
    cache = InstanceCache(tmp_path / "cache", python_for=_host_python)
    with pytest.raises(InstanceGenerationError) as err:
        cache.get(task, sample_params(task, 0))
    assert "exit code 3" in str(err.value) and "boom: bad parameter" in str(err.value)
    assert not any((tmp_path / "cache").rglob(".complete"))


def test_hanging_generator_times_out(tmp_path: Path, copy_task):
    task_dir = copy_task()
    (task_dir / "generate_gt.py").write_text("import time\ntime.sleep(60)\n")
    ev = (task_dir / "task_eval.yaml").read_text().replace("timeout_seconds: 60", "timeout_seconds: 1")
    (task_dir / "task_eval.yaml").write_text(ev)
    task = load_task(task_dir)
    with pytest.raises(InstanceGenerationError, match="timed out after 1 s"):
        InstanceCache(tmp_path / "cache", python_for=_host_python).get(task, sample_params(task, 0))


def test_generator_without_reference_folder(tmp_path: Path, copy_task):
    task_dir = copy_task()
    (task_dir / "generate_gt.py").write_text(
        "import sys, pathlib\nout = pathlib.Path(sys.argv[sys.argv.index('--output-dir') + 1])\n"
        "(out / 'data').mkdir(parents=True)\n"
    )
    task = load_task(task_dir)
    with pytest.raises(InstanceGenerationError, match="no reference/ folder"):
        InstanceCache(tmp_path / "cache", python_for=_host_python).get(task, sample_params(task, 0))
