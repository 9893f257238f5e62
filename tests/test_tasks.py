"""Task files: loading, the errors for broken files, the registry and downloaded instances."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from asibench_env.tasks.loading import TaskFileError, load_task
from asibench_env.tasks.registry import TaskRegistry, UnknownTaskError


def test_demo_task_loads(fixture_tasks_dir: Path):
    task = load_task(fixture_tasks_dir / "demo" / "line_fit")
    assert task.id == "demo.line_fit"
    assert task.has_generator
    assert [o.name for o in task.outputs] == ["coef.npy", "results/fit.py"]
    coef = task.outputs[0]
    assert coef.shape == [2] and coef.dtype == "float64"  # merged in from task_eval.yaml
    assert task.expected_outputs() == [
        {"name": "coef.npy", "type": "data"},
        {"name": "results/fit.py", "type": "code"},
    ]
    assert task.generation is not None and task.generation.parameters["n_points"].default == 200


def test_combined_task_yaml(tmp_path: Path, fixture_tasks_dir: Path):
    import yaml

    src = fixture_tasks_dir / "demo" / "line_fit"
    meta = yaml.safe_load((src / "task_meta.yaml").read_text())
    ev = yaml.safe_load((src / "task_eval.yaml").read_text())
    combined = {**meta, "evaluation": ev["evaluation"], "generation": ev["generation"]}
    dest = tmp_path / "demo" / "combined"
    dest.mkdir(parents=True)
    (dest / "task.yaml").write_text(yaml.safe_dump(combined))
    task = load_task(dest)
    assert task.id == "demo.line_fit"
    assert task.evaluation["scoring"][1]["scorer"] == "numerical"


def test_missing_eval_file_names_file_and_fix(copy_task):
    task_dir = copy_task()
    (task_dir / "task_eval.yaml").unlink()
    with pytest.raises(TaskFileError) as err:
        load_task(task_dir)
    message = str(err.value)
    assert "task_eval.yaml" in message and "is missing" in message and "Fix:" in message


def test_invalid_yaml_reports_line(copy_task):
    task_dir = copy_task()
    (task_dir / "task_meta.yaml").write_text("id: demo.x\nname: [unclosed\n")
    with pytest.raises(TaskFileError) as err:
        load_task(task_dir)
    assert "task_meta.yaml" in str(err.value) and "not valid YAML at line" in str(err.value)


def test_missing_field_names_the_field(copy_task):
    task_dir = copy_task()
    text = (task_dir / "task_meta.yaml").read_text().replace("domain: demo\n", "")
    (task_dir / "task_meta.yaml").write_text(text)
    with pytest.raises(TaskFileError) as err:
        load_task(task_dir)
    assert err.value.field_name == "domain"
    assert "add the required field 'domain'" in str(err.value)


def test_bad_task_id_and_bad_gate_severity(copy_task):
    task_dir = copy_task()
    meta = (task_dir / "task_meta.yaml").read_text()
    (task_dir / "task_meta.yaml").write_text(meta.replace("id: demo.line_fit", "id: Demo Line"))
    with pytest.raises(TaskFileError, match="field 'id'"):
        load_task(task_dir)
    (task_dir / "task_meta.yaml").write_text(meta)
    ev = (task_dir / "task_eval.yaml").read_text()
    (task_dir / "task_eval.yaml").write_text(ev.replace("severity: hard", "severity: fatal"))
    with pytest.raises(TaskFileError, match="severity"):
        load_task(task_dir)


def test_mismatched_task_id(copy_task):
    task_dir = copy_task()
    ev = (task_dir / "task_eval.yaml").read_text()
    (task_dir / "task_eval.yaml").write_text(ev.replace("task_id: demo.line_fit", "task_id: demo.other"))
    with pytest.raises(TaskFileError, match="does not match"):
        load_task(task_dir)


def test_registry_keeps_going_past_a_broken_task(copy_task, tmp_path: Path):
    good = copy_task("line_fit")
    broken = copy_task("broken")
    (broken / "task_meta.yaml").write_text("::: not yaml")
    registry = TaskRegistry([tmp_path / "tasks"], include_builtin=False)
    assert registry.ids() == ["demo.line_fit"]
    assert broken.resolve() in registry.errors
    assert registry.get("demo.line_fit").task_dir == good.resolve()
    with pytest.raises(TaskFileError):
        registry.get("demo.broken")


def test_unknown_task_lists_known_ones(registry: TaskRegistry):
    with pytest.raises(UnknownTaskError) as err:
        registry.get("nope.nothing")
    assert "demo.line_fit" in str(err.value) and "--tasks-dir" in str(err.value)


def test_builtin_tasks_are_found():
    registry = TaskRegistry()
    assert len(registry) >= 3
    domains = {task.meta.domain for task in registry}
    assert len(domains) >= 3
    assert all(task.source == "builtin" for task in registry)
    assert not registry.errors


def test_missing_tasks_dir_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        TaskRegistry([tmp_path / "nowhere"])


def test_downloaded_instances(tmp_path: Path, fixture_tasks_dir: Path):
    inst = tmp_path / "instances" / "demo.line_fit__n_points200_seed31415"
    (inst / "data").mkdir(parents=True)
    (inst / "reference").mkdir()
    (inst / "reference" / "coef_ref.npy").write_bytes(b"x")
    (inst / "instance_meta.json").write_text(json.dumps({"params_used": {"n_points": 200, "seed": 31415}}))
    registry = TaskRegistry([fixture_tasks_dir], [tmp_path / "instances"], include_builtin=False)
    refs = registry.instances("demo.line_fit")
    assert [r.instance_id for r in refs] == ["demo.line_fit__n_points200_seed31415"]
    assert refs[0].params == {"n_points": 200, "seed": 31415}
    assert refs[0].has_reference
    assert registry.instance(refs[0].instance_id).path == inst.resolve()
    shutil.rmtree(inst / "reference")
    assert not refs[0].has_reference


def test_downloaded_instances_in_the_official_fixed_seed_layout(tmp_path: Path, fixture_tasks_dir: Path):
    """seed42/seed31415 instances carry no instance_meta.json: parameters come from framework_task_info.json."""
    root = tmp_path / "instances"
    with_info = root / "demo.line_fit__seed42"
    (with_info / "data").mkdir(parents=True)
    (with_info / "prompt_b1.md").write_text("# task")
    (with_info / "framework_task_info.json").write_text(json.dumps({"parameters": {"n_points": 50, "seed": 42}}))
    bare = root / "demo.line_fit__seed7"
    bare.mkdir()
    (bare / "prompt_b3.md").write_text("# task")
    (root / "demo.line_fit__empty").mkdir()  # neither data/ nor prompts: not an instance
    (root / "notes__x").mkdir()  # not '<domain>.<name>__...'
    (root / "notes__x" / "data").mkdir()
    registry = TaskRegistry([fixture_tasks_dir], [root], include_builtin=False)
    refs = {r.instance_id: r for r in registry.instances("demo.line_fit")}
    assert sorted(refs) == ["demo.line_fit__seed42", "demo.line_fit__seed7"]
    assert refs["demo.line_fit__seed42"].params == {"n_points": 50, "seed": 42}
    assert refs["demo.line_fit__seed7"].params == {}
    assert not any(r.has_reference for r in refs.values())
    assert registry.instance_task_ids() == ["demo.line_fit"]
    (with_info / "framework_task_info.json").write_text("{not json")
    broken = TaskRegistry([fixture_tasks_dir], [root], include_builtin=False)
    assert with_info in broken.errors and [r.instance_id for r in broken.instances("demo.line_fit")] == [
        "demo.line_fit__seed7"
    ]
